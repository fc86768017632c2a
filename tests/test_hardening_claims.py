"""The claims room under hostile use (issue 9): results that do not depend on ``--workers``,
no process left behind by ``kill -9`` or Ctrl-C, settings and folders checked before any work,
and the report's cell counts."""

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import threadpoolctl

from actlab import claims as E
from actlab import cli
from actlab.claims import framework, report
from actlab.claims import runner as R
from actlab.errors import ActlabError

# ---------------------------------------------------------------- helpers


@contextlib.contextmanager
def blas_threads(n: int):
    """This process's BLAS at ``n`` threads, as in a shell without OPENBLAS_NUM_THREADS."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: the thread count cannot change a product's rounding")
    with threadpoolctl.threadpool_limits(limits=n, user_api="blas"):
        yield


def _blas_threads() -> int:
    return max(lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas")


def product_cell(c: dict) -> dict:
    """A product whose rounding changes with OpenBLAS's thread count (checked in the test)."""
    rng = np.random.default_rng(c["seed"])
    a, b = rng.standard_normal((64, 784)), rng.standard_normal((784, 64))
    return {"sha": hashlib.sha256((a @ b).tobytes()).hexdigest()}


# ---------------------------------------------------------------- 1. results do not depend on --workers


def test_every_path_runs_cells_with_one_blas_thread(tmp_path, monkeypatch):
    cells = [{"seed": s} for s in range(4)]
    with blas_threads(1):
        reference = [product_cell(c) for c in cells]
    with blas_threads(2):
        assert [product_cell(c) for c in cells] != reference  # else this machine cannot show the difference
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # a user's setting does not change the results either
        got = {}
        for label, kw in [("workers=1", {"workers": 1}), ("workers=2", {"workers": 2}),
                          ("serial executor", {"executor": R.SerialExecutor()})]:
            with R.Runner(tmp_path / label / "c.sqlite", progress=False, **kw) as runner:
                got[label] = runner.map(product_cell, cells)
                assert runner.stats["computed"] == 4
        assert _blas_threads() == 2  # restored after the in-process cells
    assert got == dict.fromkeys(got, reference)


def test_dying_relu_numbers_do_not_depend_on_workers(tmp_path):
    """The case of the issue, shrunk: these settings still changed with the BLAS threads."""
    cfg = E.make_config("dying_relu", "quick", overrides={"activations": "relu", "batchnorm": "0", "checkpoints": "2",
                                                          "steps": "20", "lrs": "0.5,1.0"})
    numbers = []
    with blas_threads(2):
        for i, kw in enumerate([{"workers": 1}, {"workers": 2}, {"executor": R.SerialExecutor()}]):
            with R.Runner(tmp_path / str(i) / "c.sqlite", progress=False, **kw) as runner:
                numbers.append(E.run("dying_relu", "quick", runner=runner, config=cfg).outcome.numbers)
    assert numbers[0] == numbers[1] == numbers[2]


def test_threading_is_part_of_the_code_version(monkeypatch):
    before = R.code_version(product_cell)
    R._source_hash.cache_clear()
    monkeypatch.setattr(R, "THREADING", "cells run with all the threads")
    try:
        assert R.code_version(product_cell) != before
    finally:
        R._source_hash.cache_clear()


# ---------------------------------------------------------------- 2. no process left behind


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from the state on (the name may hold spaces)


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and (st := _stat(int(d))) is not None and int(st[1]) == pid:
            out.append(int(d))
    return out


def _descendants(pid: int) -> dict[int, str]:
    """pid -> start time (to tell a reused pid) of every process below ``pid``."""
    out, todo = {}, [pid]
    while todo:
        for c in _children(todo.pop()):
            if (st := _stat(c)) is not None:
                out[c] = st[19]
                todo.append(c)
    return out


def _alive(pid: int, start: str) -> bool:
    st = _stat(pid)
    return st is not None and st[19] == start and st[0] != "Z"  # a zombie has exited


def _start_run(tmp_path, command: str = "run") -> subprocess.Popen:
    """``actlab run`` (or ``report``) with enough cells to be busy for seconds, once its two
    workers exist."""
    what = ["run", "dying_relu"] if command == "run" else ["report", "--out", str(tmp_path / "report")]
    p = subprocess.Popen([sys.executable, "-m", "actlab", *what, "--quick", "--workers", "2",
                          "--cache", str(tmp_path / "c.sqlite")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cmds = [Path(f"/proc/{c}/cmdline").read_bytes() for c in _children(p.pid) if Path(f"/proc/{c}").exists()]
        if sum(b"spawn_main" in c for c in cmds) == 2 and any(b"resource_tracker" in c for c in cmds):
            return p
        if p.poll() is not None:
            break
        time.sleep(0.05)
    p.kill()
    pytest.fail(f"no workers started: {p.communicate()}")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("command", ["run", "report"])
def test_workers_and_resource_tracker_exit_when_the_parent_is_killed(tmp_path, command):
    p = _start_run(tmp_path, command)
    time.sleep(0.5)  # workers past their start-up, computing
    below = _descendants(p.pid)
    assert len(below) >= 3
    p.kill()
    p.wait()
    deadline = time.monotonic() + 10
    while (left := [pid for pid, start in below.items() if _alive(pid, start)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:  # clean up before failing
        os.kill(pid, signal.SIGKILL)
    p.communicate()
    assert left == [], "processes left behind"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_ctrl_c_prints_one_line_and_leaves_nothing(tmp_path):
    p = _start_run(tmp_path)
    below = _descendants(p.pid)
    os.killpg(p.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole process group
    try:
        out, err = p.communicate(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
    assert err == "actlab run: interrupted; finished work is kept\n"
    assert p.returncode == 130
    deadline = time.monotonic() + 10
    while [pid for pid, start in below.items() if _alive(pid, start)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid, start in below.items() if _alive(pid, start)] == []


# ---------------------------------------------------------------- 3. settings checked before any work


LRS = "The 'lrs' setting of dying_relu must be a non-empty list of floats in (0, inf)."


@pytest.mark.parametrize("argv,match", [
    (["--set", "lrs="], f"{LRS} Got () instead."),
    (["--set", "lrs=-1"], f"{LRS} Got (-1.0,) instead."),
    (["--set", "lrs=0.1,nan"], "'lrs' setting of dying_relu must be"),
    (["--set", "width=0"], "The 'width' setting of dying_relu must be an int in [1, inf). Got 0 instead."),
    (["--set", "batchnorm=0,2"], "The 'batchnorm' setting of dying_relu must be a non-empty list of ints in [0, 1]."),
    (["--set", "activations=relu,relux"], "The 'activations' setting of dying_relu: Unknown activation"),
    (["--seeds", "0"], "'seeds'"),
    (["--seeds", "-1"], "'seeds'"),
])
def test_cli_refuses_bad_settings_before_any_work(argv, match, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(framework, "run", lambda *a, **k: pytest.fail("work started"))
    assert cli.main(["run", "dying_relu", *argv, "--cache", str(tmp_path / "c.sqlite")]) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c.sqlite").exists()


def _fields():
    import dataclasses
    import typing

    for name in E.names():
        cls = E.get(name).config
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            yield name, f.name, hints[f.name]


@pytest.mark.parametrize("name,key,tp", [pytest.param(*f, id=f"{f[0]}.{f[1]}") for f in _fields()])
def test_every_setting_refuses_a_bad_value(name, key, tp):
    """An empty list, an empty name, a negative count or rate: refused for every field."""
    import typing

    inner = typing.get_args(tp)[0] if typing.get_origin(tp) is tuple else tp
    bad = "" if typing.get_origin(tp) is tuple or inner is str else "-1"
    with pytest.raises(ActlabError, match=f"The '{key}' (setting|parameter) of {name}"):
        E.make_config(name, overrides={key: bad})


def test_every_size_validates_and_a_setting_keeps_its_type():
    for name in E.names():
        for size in E.SIZES:
            framework.validate_config(name, E.make_config(name, size))
    cfg = E.make_config("vanishing_gradients", "quick", overrides={"inits": "normal(mean=0, std=1), he_normal"})
    assert cfg.inits == ("normal(mean=0, std=1)", "he_normal")  # a comma inside a spec's parentheses is kept
    assert E.make_config("linear_collapse", overrides={"noise": "0", "momentum": "0"}).noise == 0.0
    assert E.make_config("relu_compute_cost", overrides={"warmup": "0"}).warmup == 0


# ---------------------------------------------------------------- 4. --out and --cache checked before any work


@pytest.fixture
def afile(tmp_path):
    f = tmp_path / "afile"
    f.write_text("not a folder")
    return f


def _unwritable() -> Path | None:
    """A folder this process cannot write into, even as root: /sys refuses new files."""
    try:
        fd, probe = tempfile.mkstemp(dir="/sys")
    except OSError:
        return Path("/sys") if Path("/sys").is_dir() else None
    os.close(fd)
    os.unlink(probe)
    return None


@pytest.mark.parametrize("where", ["file", "under a file", "read-only"])
@pytest.mark.parametrize("command", ["run", "report"])
def test_out_that_cannot_be_written_is_refused_before_any_work(command, where, afile, tmp_path, capsys, monkeypatch):
    out = {"file": afile, "under a file": afile / "sub", "read-only": _unwritable()}[where]
    if out is None:
        pytest.skip("no read-only folder here")
    monkeypatch.setattr(framework, "run", lambda *a, **k: pytest.fail("work started"))
    argv = ["run", "softmax_overflow"] if command == "run" else ["report"]
    assert cli.main([*argv, "--quick", "--out", str(out), "--cache", str(tmp_path / "c" / "c.sqlite")]) == 2
    err = capsys.readouterr().err
    what = "--out" if command == "run" else "report"
    assert len(err.strip().splitlines()) == 1 and f"Cannot write into the {what} folder" in err
    assert ("is a file" in err) if where != "read-only" else ("Permission denied" in err or "Read-only" in err)


def test_report_build_checks_its_folder_first(afile, monkeypatch):
    monkeypatch.setattr(framework, "run", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(ActlabError, match="Cannot write into the report folder .* is a file"):
        report.build(afile / "sub", "quick", names=["softmax_overflow"], runner=R.Runner(None, progress=False))


@pytest.mark.parametrize("where", ["under a file", "a folder", "not sqlite", "read-only"])
def test_cache_that_cannot_be_used_is_refused_before_any_work(where, afile, tmp_path, capsys, monkeypatch):
    if where == "read-only" and _unwritable() is None:
        pytest.skip("no read-only folder here")
    cache = {"under a file": afile / "sub" / "c.sqlite", "a folder": tmp_path, "not sqlite": afile,
             "read-only": (_unwritable() or tmp_path) / "c.sqlite"}[where]
    monkeypatch.setattr(framework, "run", lambda *a, **k: pytest.fail("work started"))
    assert cli.main(["run", "softmax_overflow", "--quick", "--cache", str(cache)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cache" in err and "Traceback" not in err
    assert afile.read_text() == "not a folder"  # an existing file is never overwritten


# ---------------------------------------------------------------- 5. the report's cell counts


def test_report_prints_computed_and_cached_counts(tmp_path, capsys, monkeypatch):
    def build(out, size, *, runner, **kw):  # stands in for the whole report: one experiment and 2 catalogue cells
        res = [E.run("softmax_overflow", size, runner=runner)]
        runner.map(R._square, [{"x": 1}, {"x": 2}])
        return {"results": res, "paths": {"html": "h", "markdown": "m"}, "seconds": 0.0}

    monkeypatch.setattr(report, "build", build)
    argv = ["report", "--quick", "--workers", "1", "--cache", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "r")]
    assert cli.main(argv) == 0
    first = capsys.readouterr().out
    n = E.run("softmax_overflow", "quick").cells["computed"]
    assert f"({n} computed, 0 from the cache)" in first
    assert f"cells: {n + 2} computed, 0 from the cache in all (the catalogue's figures: 2 computed, 0 from" in first
    assert cli.main(argv) == 0
    second = capsys.readouterr().out
    assert f"(0 computed, {n} from the cache)" in second and f"cells: 0 computed, {n + 2} from the cache" in second
