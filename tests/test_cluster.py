"""The runner on a Dask cluster (issue 14): the same results as locally, a complete cache
after a worker is killed mid-cell, another code version refused, an unreachable scheduler
a clean error before any work.

One ``distributed.LocalCluster`` (two worker processes, one thread each) serves the module.
Its workers are spawned with this process's ``sys.path``, so they import this module by
name, like an experiment's: the cell functions below run there.
"""

import collections
import json
import logging
import os
import signal
import socket
import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest

from actlab import cli
from actlab.claims import cluster as C
from actlab.claims import framework
from actlab.claims import runner as R
from actlab.errors import ActlabError

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")


@pytest.fixture(scope="module")
def scheduler():
    """A local cluster: 2 worker processes, 1 thread each; its HTTP server on a free port
    (Dask warns if its 8787 is taken); logs at CRITICAL (a killed worker is logged by its
    nanny and the scheduler); a cell may be on one worker that dies, not two (Dask's
    default: 3). Yields its address."""
    # This process hashes the source as it was at its first code version; the workers as it
    # is now. Hash it again now, so that an edit of the tree since (in a shared checkout)
    # is not a version mismatch.
    R._package_sources.cache_clear()
    R._source_hash.cache_clear()
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
            silence_logs=logging.CRITICAL) as lc:
        with distributed.Client(lc.scheduler_address, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
            client.run(R.package_version)  # the workers import actlab now, not in the first test's timing
        yield lc.scheduler_address


def _two_workers(ex: C.DaskExecutor) -> None:
    """Wait until the nannies have restarted the killed workers: 2 for the next test."""
    ex.client.wait_for_workers(2, timeout=60)


def sleepy_cell(c: dict) -> dict:
    """A cell that marks its start (``i-pid``) in ``c["marks"]``, then sleeps."""
    Path(c["marks"], f"{c['i']}-{os.getpid()}-{time.monotonic_ns()}").touch()
    time.sleep(c["sleep"])
    return {"i": c["i"], "sq": c["i"] ** 2}


def _stderr_lines(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


# ----------------------------------------------------------------------------- same results


def test_quick_experiment_gives_the_local_results(scheduler, tmp_path, capsys):
    common = ["run", "linear_collapse", "--quick"]
    assert cli.main([*common, "--workers", "1", "--cache", str(tmp_path / "l.sqlite"),
                     "--out", str(tmp_path / "l")]) == 0
    assert cli.main([*common, "--workers", "3", "--scheduler", scheduler, "--cache", str(tmp_path / "d.sqlite"),
                     "--out", str(tmp_path / "d")]) == 0
    out = capsys.readouterr()
    assert out.err.splitlines() == [
        "actlab run: note: --workers is ignored with a scheduler (its workers run the cells)",
        f"actlab run: cells go to {scheduler}: 2 workers, 2 threads",
        # the fixture's workers have Dask's default environment
        "actlab run: note: 2 of 2 workers run with MALLOC_TRIM_THRESHOLD_ set (Dask's default), which slows "
        "NumPy-heavy cells (dying_relu: 1.3-1.5x); docs/cluster.md shows how to start the workers without it",
    ]
    assert "(12 cells computed, 0 from the cache" in out.out
    local, remote = (json.loads((tmp_path / d / "linear_collapse.json").read_text()) for d in ("l", "d"))
    for key in ("numbers", "raw", "verdict", "config", "settings"):
        assert remote[key] == local[key], key
    # the cluster's cache holds the same cells under the same keys as the local one
    rows = {}
    for name in ("l", "d"):
        with sqlite3.connect(tmp_path / f"{name}.sqlite") as db:
            rows[name] = dict(db.execute("SELECT key, result FROM cells"))
    assert rows["d"] == rows["l"] and len(rows["d"]) == 12


def test_cached_cells_are_never_sent(scheduler, tmp_path):
    cells = [{"x": i} for i in range(6)]
    with C.connect(scheduler) as ex:
        sent = []
        submit = ex.submit
        ex.submit = lambda fn, *a: sent.append(a[1]) or submit(fn, *a)  # type: ignore[method-assign]
        with R.Runner(tmp_path / "c.sqlite", executor=ex, progress=False) as r:
            assert r.map(R._square, cells[:4]) == [{"y": i * i} for i in range(4)]
            assert r.map(R._square, cells) == [{"y": i * i} for i in range(6)]
        assert sent == cells and r.stats["computed"] == 6 and r.stats["cached"] == 4


def test_timing_cells_run_here_one_at_a_time():
    """``serial_here``: the cells that time themselves never go to the executor."""

    class Refuse(R.SerialExecutor):
        def submit(self, fn, /, *args, **kwargs):
            raise AssertionError("a timing cell was sent to the cluster")

    r = R.Runner(None, executor=Refuse(), workers=1, progress=False, serial_here=True)
    assert r.map(R._square, [{"x": 2}, {"x": 3}], serial=True) == [{"y": 4}, {"y": 9}]
    with pytest.raises(AssertionError, match="sent to the cluster"):
        r.map(R._square, [{"x": 4}])


# ----------------------------------------------------------------------------- a worker dies


def test_worker_killed_mid_cell_leaves_a_complete_cache(scheduler, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    cells = [{"i": i, "marks": str(marks), "sleep": 0.4} for i in range(8)]
    db = tmp_path / "c.sqlite"
    with C.connect(scheduler) as ex:
        pids = sorted(ex.client.run(os.getpid).values())
        victim = pids[0]
        killed = threading.Event()

        def kill_mid_cell() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if any(m.name.split("-")[1] == str(victim) for m in marks.iterdir()):
                    time.sleep(0.1)  # well inside the 0.4 s cell
                    os.kill(victim, signal.SIGKILL)
                    killed.set()
                    return
                time.sleep(0.01)

        killer = threading.Thread(target=kill_mid_cell, daemon=True)
        killer.start()
        with R.Runner(db, executor=ex, progress=False) as r:
            out = r.map(sleepy_cell, cells)
        killer.join(5)
        _two_workers(ex)
    assert killed.is_set()
    expected = [{"i": i, "sq": i * i} for i in range(8)]
    assert out == expected and r.stats["computed"] == 8
    # the victim was killed in its first cell (0.1 s into 0.4 s), which Dask ran again elsewhere
    starts = [m.name.split("-") for m in marks.iterdir()]
    (lost,) = {int(i) for i, pid, _ in starts if int(pid) == victim}
    assert collections.Counter(int(i) for i, _, _ in starts)[lost] >= 2
    # the cache: every cell once, each with its result, under the key a local run would use
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT key, cell, result FROM cells").fetchall()
    assert len(rows) == 8
    version = R.code_version(sleepy_cell)
    assert sorted(rows) == sorted((R.cell_key(sleepy_cell, c, version), json.dumps(c, sort_keys=True),
                                   json.dumps(e)) for c, e in zip(cells, expected))


def deadly_cell(c: dict) -> dict:
    """A cell that kills its worker (as running out of memory would)."""
    os.kill(os.getpid(), signal.SIGKILL)
    return {}


def test_a_cell_that_kills_its_workers_fails_with_one_line(scheduler, tmp_path):
    with C.connect(scheduler) as ex:
        r = R.Runner(tmp_path / "c.sqlite", executor=ex, progress=False)
        with pytest.raises(ActlabError) as err:
            r.map(deadly_cell, [{"i": 0}])
        r.map(R._square, [{"x": 1}])  # the others' results are still stored
        _two_workers(ex)
    msg = str(err.value)
    assert msg.startswith("A cell was lost: the Dask workers that ran it kept dying (") and "\n" not in msg
    assert len(r.cache) == 1


def test_shutdown_waits_for_or_cancels_the_cells(scheduler, tmp_path):
    cell = {"i": 3, "marks": str(tmp_path), "sleep": 0.3}
    ex = C.connect(scheduler)
    fut = ex.submit(R._timed, f"{__name__}:sleepy_cell", cell)
    ex.shutdown(wait=True)
    assert fut.result()[0] == {"i": 3, "sq": 9}
    with pytest.raises(RuntimeError, match="after shutdown"):
        ex.submit(R._timed, f"{__name__}:sleepy_cell", cell)
    ex = C.connect(scheduler)
    fut = ex.submit(R._timed, f"{__name__}:sleepy_cell", {**cell, "sleep": 3})
    t0 = time.monotonic()
    ex.shutdown(cancel_futures=True)
    assert fut.cancelled() and time.monotonic() - t0 < 2.5
    ex.shutdown()  # twice is fine


# ----------------------------------------------------------------------------- another code version


def test_mismatched_code_version_is_refused_with_one_line(scheduler, tmp_path, capsys, monkeypatch):
    real = R.code_version(R._square)
    monkeypatch.setattr(R, "code_version", lambda fn: "0123456789abcdef")  # this client "runs other code"
    assert cli.main(["run", "linear_collapse", "--quick", "--scheduler", scheduler,
                     "--cache", str(tmp_path / "c.sqlite")]) == 2
    lines = [line for line in _stderr_lines(capsys) if ": note: " not in line]
    assert lines[0].startswith("actlab run: cells go to ")
    assert len(lines) == 2, lines
    err = lines[1]
    assert err.startswith("actlab run: error: Code version mismatch: the worker on ")
    assert "linear_collapse:cell at code version " in err and "the client at 0123456789abcdef" in err
    assert real != "0123456789abcdef"
    assert len(R.Cache(tmp_path / "c.sqlite")) == 0  # no result of the other code was kept


def test_worker_with_another_actlab_is_refused_when_connecting(scheduler, monkeypatch):
    worker_version = R.package_version()
    monkeypatch.setattr(R, "package_version", lambda: "fedcba9876543210")
    with pytest.raises(ActlabError) as err:
        C.connect(scheduler)
    msg = str(err.value)
    assert msg.startswith("Code version mismatch: the Dask worker tcp://")
    assert f"code version {worker_version}, this client at fedcba9876543210 (2 of 2 workers differ)" in msg
    assert "\n" not in msg


# ----------------------------------------------------------------------------- no scheduler


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("how", ["option", "environment"])
def test_unreachable_scheduler_is_a_clean_error_before_any_work(how, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(framework, "run", lambda *a, **k: pytest.fail("work started"))
    address = f"tcp://127.0.0.1:{_free_port()}"
    argv = ["run", "linear_collapse", "--quick", "--scheduler-timeout", "1", "--cache", str(tmp_path / "c.sqlite")]
    if how == "option":
        argv += ["--scheduler", address]
    else:
        monkeypatch.setenv("ACTLAB_SCHEDULER", address)
    t0 = time.monotonic()
    assert cli.main(argv) == 2
    assert time.monotonic() - t0 < 5
    (err,) = _stderr_lines(capsys)
    assert err.startswith(f"actlab run: error: Cannot reach the Dask scheduler at {address!r} (")
    assert err.endswith("); start it with 'dask scheduler' and give its address, e.g. tcp://HOST:8786.")


def test_bad_address_and_missing_dask_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(framework, "run", lambda *a, **k: pytest.fail("work started"))
    argv = ["report", "--quick", "--out", str(tmp_path / "r"), "--cache", str(tmp_path / "c.sqlite")]
    assert cli.main([*argv, "--scheduler", "localhost"]) == 2
    assert _stderr_lines(capsys) == [
        "actlab report: error: 'localhost' is not a Dask scheduler address (missing port number in address "
        "'localhost'); give one like tcp://HOST:8786."]
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if Dask were not installed
    assert cli.main([*argv, "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    assert _stderr_lines(capsys) == [
        "actlab report: error: Running cells on a Dask cluster needs Dask: pip install actlab[dask]"]


def test_empty_scheduler_runs_locally(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ACTLAB_SCHEDULER", "tcp://127.0.0.1:1")
    assert cli.main(["run", "softmax_overflow", "--quick", "--workers", "1", "--scheduler", "",
                     "--cache", str(tmp_path / "c.sqlite")]) == 0
    assert capsys.readouterr().err == ""


def test_describe_and_notes():
    ex = C.DaskExecutor(None, "tcp://h:8786")
    assert ex.describe() == "tcp://h:8786: no worker yet (the cells wait for one)" and ex.notes() == []
    ex.workers, ex.threads = 1, 4
    assert ex.describe() == "tcp://h:8786: 1 worker, 4 threads" and ex.notes() == []
    ex.trimming = 1
    assert ex.notes()[0].startswith("1 of 1 workers run with MALLOC_TRIM_THRESHOLD_ set")
