"""The cell runner: cache keys, resume after an interrupt, parallel execution."""

import concurrent.futures as cf
import json

import numpy as np
import pytest

from actlab.claims import runner as R
from actlab.errors import ActlabError

CALLS: list[int] = []


def count_cell(c: dict) -> dict:
    """A cell that records each computation, so a test can see nothing is computed twice."""
    CALLS.append(c["i"])
    return {"sq": np.int64(c["i"]) ** 2, "arr": np.arange(c["i"] % 3)}


class InterruptAfter(cf.Executor):
    """Runs k cells, then raises KeyboardInterrupt as Ctrl-C would in the parent."""

    def __init__(self, k):
        self.k = k
        self.inner = R.SerialExecutor()

    def submit(self, fn, /, *args, **kw):
        if self.k == 0:
            raise KeyboardInterrupt
        self.k -= 1
        return self.inner.submit(fn, *args, **kw)


def test_interrupt_then_resume_computes_each_cell_once(tmp_path):
    CALLS.clear()
    cells = [{"i": i} for i in range(10)]
    db = tmp_path / "cells.sqlite"
    with pytest.raises(KeyboardInterrupt):
        R.Runner(db, executor=InterruptAfter(4), progress=False).map(count_cell, cells)
    assert sorted(CALLS) == [0, 1, 2, 3]
    assert len(R.Cache(db)) == 4  # finished cells were stored before the interrupt
    r = R.Runner(db, executor=R.SerialExecutor(), progress=False)
    out = r.map(count_cell, cells)
    assert sorted(CALLS) == list(range(10))  # each cell computed exactly once overall
    assert r.stats == {"computed": 6, "cached": 4, "seconds": r.stats["seconds"]}
    assert [o["sq"] for o in out] == [i * i for i in range(10)]
    assert out[5]["arr"] == [0, 1]
    # a third run computes nothing
    assert R.Runner(db, executor=R.SerialExecutor(), progress=False).map(count_cell, cells) == out
    assert len(CALLS) == 10


def failing_cell(c: dict) -> dict:
    if c["i"] == 3:
        raise ZeroDivisionError("cell 3 fails")
    return {"i": c["i"]}


def test_exception_in_a_cell_keeps_finished_cells(tmp_path):
    r = R.Runner(tmp_path / "c.sqlite", executor=R.SerialExecutor(), progress=False)
    with pytest.raises(ZeroDivisionError):
        r.map(failing_cell, [{"i": i} for i in range(6)])
    assert len(r.cache) == 5  # every cell but the failing one (the serial executor ran them all)
    CALLS.clear()


def test_duplicate_cells_computed_once():
    CALLS.clear()
    r = R.Runner(None, executor=R.SerialExecutor(), progress=False)
    out = r.map(count_cell, [{"i": 7}, {"i": 7}, {"i": 2}])
    assert CALLS == [7, 2] and [o["sq"] for o in out] == [49, 49, 4]


def test_key_depends_on_cell_function_and_code_version():
    k = R.cell_key(count_cell, {"i": 1}, "v1")
    assert k == R.cell_key(count_cell, {"i": 1}, "v1")
    assert k != R.cell_key(count_cell, {"i": 2}, "v1")
    assert k != R.cell_key(count_cell, {"i": 1}, "v2")
    assert k != R.cell_key(failing_cell, {"i": 1}, "v1")
    assert len(R.code_version(count_cell)) == 16


def test_process_pool_matches_serial(tmp_path):
    cells = [{"x": i} for i in range(6)]
    with R.Runner(tmp_path / "p.sqlite", workers=2, progress=False) as r:
        out = r.map(R._square, cells)
    assert out == [{"y": i * i} for i in range(6)] and r.stats["computed"] == 6


def test_any_executor_works():
    with cf.ThreadPoolExecutor(2) as ex:
        out = R.Runner(None, executor=ex, progress=False).map(R._square, [{"x": 3}, {"x": 4}])
    assert out == [{"y": 9}, {"y": 16}]


def test_results_must_be_jsonable():
    assert json.loads(json.dumps(R.to_jsonable({"a": np.float32(0.5), "b": (1, np.nan)})))["a"] == 0.5
    with pytest.raises(ActlabError, match="JSON-able"):
        R.to_jsonable({"a": object()})


def _version_with(monkeypatch, fn, edited: str) -> str:
    """fn's code version after appending a comment to the package module at path *edited*."""
    real = R._package_sources()
    doctored = tuple((rel, path, data + b"\n# edited\n" if rel == edited else data) for rel, path, data in real)
    monkeypatch.setattr(R, "_package_sources", lambda: doctored)
    R._source_hash.cache_clear()
    try:
        return R.code_version(fn)
    finally:
        monkeypatch.setattr(R, "_package_sources", lambda: real)
        R._source_hash.cache_clear()


def test_code_version_follows_the_claim_modules_a_cell_imports(monkeypatch):
    from actlab.claims.experiments import dying_relu, relu_convergence, zero_centring

    R._source_hash.cache_clear()
    zc, dr = R.code_version(zero_centring.cell), R.code_version(dying_relu.cell)
    # zero_centring imports claim 4's crossing rule: editing claim 4 recomputes it
    assert _version_with(monkeypatch, zero_centring.cell, "claims/experiments/relu_convergence.py") != zc
    claim4 = R.code_version(relu_convergence.cell)
    assert _version_with(monkeypatch, relu_convergence.cell, "claims/experiments/relu_convergence.py") != claim4
    # ... but not dying_relu, and a calibration's edit recomputes no claim that does not import it
    assert _version_with(monkeypatch, dying_relu.cell, "claims/experiments/relu_convergence.py") == dr
    assert _version_with(monkeypatch, dying_relu.cell, "claims/calibrations/glorot_bengio.py") == dr
    assert _version_with(monkeypatch, zero_centring.cell, "claims/calibrations/krizhevsky_race.py") == zc
    # the engine is shared by every cell
    assert _version_with(monkeypatch, dying_relu.cell, "nn/model.py") != dr
