"""The runner's cells on a Dask cluster: :func:`connect` returns a
:class:`concurrent.futures.Executor` that sends each cell to the workers of a Dask
distributed scheduler (``pip install actlab[dask]``), for :class:`~actlab.claims.runner.Runner`'s
``executor=`` argument (``actlab run/report --scheduler tcp://HOST:8786``).

What stays on the client, what goes to the workers:

- The client keeps the SQLite cache. The runner sends only the cells that are not cached,
  and stores each result as it arrives, so an interrupted cluster run resumes like a local
  one.
- Each cell carries the client's code version; the worker recomputes its own and refuses
  the cell with one line naming both if they differ (:func:`actlab.claims.runner._timed`).
  :func:`connect` already compares the package's version with every worker connected at
  that moment, before any work.
- A cell runs on the worker through the same function as locally, with one BLAS thread.
  A worker with several threads runs several cells in one process; the one-thread rule
  is process-wide and re-entrant, so they do not fight over BLAS threads, but pure-Python
  work shares the GIL: start workers with ``--nthreads 1`` (one process per core).
- A worker that dies mid-cell: Dask reschedules the cell on another worker (up to its
  ``distributed.scheduler.allowed-failures``, then the run fails with one line). The
  client receives each cell's result once, so the cache holds each cell once.

Dask is imported only by :func:`connect`: nothing else in actlab needs it.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import gc
import logging
import math
import os
import threading
import uuid
from typing import Any

from ..errors import ActlabError, shorten
from . import runner as R

__all__ = ["connect", "DaskExecutor", "DEFAULT_TIMEOUT", "INSTALL"]

#: Seconds :func:`connect` waits for the scheduler (and for the workers' versions).
DEFAULT_TIMEOUT = 10.0

#: What to install for a cluster.
INSTALL = "pip install actlab[dask]"


def _probe() -> dict:
    """Run on each worker by :func:`connect`: the code version of its actlab, and whether
    glibc's heap is trimmed eagerly (Dask's nannies set ``MALLOC_TRIM_THRESHOLD_``)."""
    return {"version": R.package_version(), "malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_")}


def connect(address: str, timeout: float = DEFAULT_TIMEOUT) -> DaskExecutor:
    """Connect to the Dask scheduler at ``address`` (``tcp://HOST:8786``) within ``timeout``
    seconds and check that every connected worker runs this actlab; return the executor
    (close it with :meth:`DaskExecutor.shutdown` or a ``with`` block: it owns the client).

    Raises a one-line :class:`ActlabError` if Dask is not installed, the address is not
    one, the scheduler cannot be reached in time, or a worker runs other code."""
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise ActlabError(f"The scheduler timeout must be a positive number of seconds. Got {timeout!r} instead.")
    try:
        import distributed
    except ImportError:
        raise ActlabError(f"Running cells on a Dask cluster needs Dask: {INSTALL}") from None
    failure = None
    try:
        client = distributed.Client(address, timeout=timeout, set_as_default=False)
    except ValueError as exc:  # not an address
        failure = f"{shorten(address)} is not a Dask scheduler address ({_line(exc)}); give one like tcp://HOST:8786."
    except Exception as exc:  # OSError (timed out, refused), ...
        failure = (f"Cannot reach the Dask scheduler at {shorten(address)} ({_line(exc)}); start it with "
                   f"'dask scheduler' and give its address, e.g. tcp://HOST:8786.")
    if failure is not None:
        # The half-built Client is garbage: collect it now (outside the except block, whose
        # traceback holds it), or it closes at exit, with a 4 s wait and a traceback.
        gc.collect()
        raise ActlabError(failure)
    executor = DaskExecutor(client, address)
    try:
        executor.check_workers(timeout)
    except BaseException:
        executor.shutdown(wait=False)
        raise
    return executor


def _line(what: BaseException | str, limit: int = 200) -> str:
    """A message (an exception's) on one line, at most ``limit`` characters."""
    text = " ".join(str(what).split()) or type(what).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _label(fn: Any, args: tuple) -> str:
    """A task name for Dask's dashboard: the experiment and its cell function."""
    if fn is R._timed and args and isinstance(args[0], str):
        return "actlab-" + args[0].rsplit(".", 1)[-1].replace(":", "-")
    return getattr(fn, "__name__", "task")


class DaskExecutor(cf.Executor):
    """A :class:`concurrent.futures.Executor` over a ``distributed.Client`` (which it owns).

    Each ``submit`` is one Dask task (``pure=False``: every call runs, under a fresh key
    named after the experiment). A concurrent future cancelled by the caller cancels its
    task. Failures that are the cluster's, not the cell's, arrive as one-line
    :class:`ActlabError` s: a task whose workers kept dying (``KilledWorker``) and a task
    the scheduler dropped (lost connection); a cell's own exception arrives as it is.
    """

    def __init__(self, client: Any, address: str):
        self.client = client
        self.address = address
        self.workers = 0
        self.threads = 0
        self.trimming = 0  # workers with MALLOC_TRIM_THRESHOLD_ set
        self._lock = threading.Lock()
        # key -> (Dask future, its concurrent future), held until the outcome is passed on
        self._live: dict[str, tuple[Any, cf.Future]] = {}
        self._shutdown = False

    def check_workers(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Compare the package's code version of every connected worker with this one's;
        record how many workers and threads there are."""
        mine = R.package_version()
        try:
            theirs = self.client.run(_probe, on_error="return", callback_timeout=timeout)
        except Exception as exc:  # a worker that does not answer in time
            raise ActlabError(f"The workers of the Dask scheduler at {shorten(self.address)} did not report their "
                              f"actlab version within {timeout:g} s ({type(exc).__name__}: {_line(exc)}).") from None
        for worker, report in sorted(theirs.items()):
            if isinstance(report, BaseException):
                raise ActlabError(f"The Dask worker {worker} cannot run actlab ({type(report).__name__}: "
                                  f"{shorten(str(report))}); install the same actlab on every worker.")
        versions = {w: r.get("version") if isinstance(r, dict) else r for w, r in theirs.items()}
        for worker, version in sorted(versions.items()):
            if version != mine:
                bad = sum(v != mine for v in versions.values())
                raise ActlabError(f"Code version mismatch: the Dask worker {worker} runs actlab at code version "
                                  f"{version}, this client at {mine} ({bad} of {len(theirs)} workers differ); install "
                                  f"the same actlab on the client and every worker, then restart the workers.")
        self.trimming = sum(isinstance(r, dict) and bool(r.get("malloc_trim")) for r in theirs.values())
        nthreads = self.client.nthreads()
        self.workers, self.threads = len(nthreads), sum(nthreads.values())

    def notes(self) -> list[str]:
        """What the user may want to change about the workers, as of :meth:`check_workers`."""
        if not self.trimming:
            return []
        return [f"{self.trimming} of {self.workers} workers run with MALLOC_TRIM_THRESHOLD_ set (Dask's default), "
                f"which slows NumPy-heavy cells (dying_relu: 1.3-1.5x); docs/cluster.md shows how to start the "
                f"workers without it"]

    def describe(self) -> str:
        """``"tcp://...: 2 workers, 2 threads"``, as of :meth:`check_workers`."""
        if not self.workers:
            return f"{self.address}: no worker yet (the cells wait for one)"
        return (f"{self.address}: {self.workers} worker{'s' * (self.workers != 1)}, "
                f"{self.threads} thread{'s' * (self.threads != 1)}")

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        key = f"{_label(fn, args)}-{uuid.uuid4().hex}"
        task = self.client.submit(fn, *args, key=key, pure=False, **kwargs)
        fut: cf.Future = cf.Future()
        with self._lock:
            self._live[key] = (task, fut)
        fut.add_done_callback(functools.partial(self._cancelled, key))
        task.add_done_callback(functools.partial(self._transmit, fut))  # runs in Dask's callback thread
        return fut

    def _cancelled(self, key: str, fut: cf.Future) -> None:
        """The caller cancelled ``fut``: cancel its task (if it is still live)."""
        if not fut.cancelled():
            return
        with self._lock:
            live = self._live.pop(key, None)
        if live is not None:
            with contextlib.suppress(Exception):  # a closing client
                live[0].cancel()

    def _transmit(self, fut: cf.Future, task: Any) -> None:
        """Pass a finished task's outcome to its concurrent future, once."""
        with self._lock:
            self._live.pop(task.key, None)
        if fut.done():  # cancelled by the caller meanwhile
            return
        from distributed import KilledWorker

        result: Any = None
        error: BaseException | None = None
        try:
            if task.status == "finished":
                result = task.result()
            elif task.status == "error":
                error = task.exception()
            else:
                error = self._dropped(f"task {task.status}")
        except BaseException as exc:  # (a callback thread: no KeyboardInterrupt here) the outcome could not be fetched
            error = self._dropped(f"{type(exc).__name__}: {_line(exc)}")
        if isinstance(error, KilledWorker):
            error = ActlabError(f"A cell was lost: the Dask workers that ran it kept dying ({_line(error)}); "
                                f"a cell that kills its worker (out of memory?) fails the run. Finished cells are kept "
                                f"in the cache.")
        with contextlib.suppress(cf.InvalidStateError):  # cancelled between the check and now
            if error is None:
                fut.set_result(result)
            else:
                fut.set_exception(error)

    def _dropped(self, why: str) -> ActlabError:
        return ActlabError(f"The Dask scheduler at {shorten(self.address)} dropped a cell ({_line(why)}: the "
                           f"connection was lost, or the task cancelled elsewhere); finished cells are kept: run the "
                           f"same command again to resume.")

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Wait for the submitted cells (``wait``; cancel those not finished with
        ``cancel_futures`` or ``wait=False``) and close the client. Safe to call twice."""
        if self._shutdown:
            return
        self._shutdown = True
        with self._lock:
            live = list(self._live.values())
        try:
            if live and (cancel_futures or not wait):
                for _, fut in live:
                    fut.cancel()  # and its task (_cancelled)
            elif live:
                cf.wait([fut for _, fut in live])
        finally:
            with contextlib.suppress(Exception), _quiet("distributed"):
                self.client.close()


@contextlib.contextmanager
def _quiet(prefix: str):
    """The loggers ``prefix`` and ``prefix.*`` silent meanwhile: closing a client whose
    scheduler is gone logs the cancelled reconnection as an ERROR with a traceback, after
    the run's own one-line error."""
    loggers = [logging.getLogger(prefix)] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict) if name.startswith(prefix + ".")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
