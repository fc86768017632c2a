"""Run the cells of an experiment in parallel, caching each finished cell in SQLite.

An experiment is a grid of independent *cells* (activation x depth x init x lr x seed
...). Each cell is a JSON-able dict of settings handed to a top-level function
``fn(cell) -> JSON-able result``. :meth:`Runner.map` computes the cells that are not in
the cache yet, in worker processes (all cores by default), shows a tqdm progress bar
with an ETA, and stores every finished cell at once, so that a re-run, or a run after
an interrupt (Ctrl-C, a crash, a killed machine), computes only what is missing.

The cache key of a cell is the SHA-256 of its function's name, its settings and the
*code version*: a hash of the source of the actlab modules a result can depend on (the
catalogue, the engine, the data loaders, the shared experiment helpers), of the module
that defines the cell function and of the claim modules it imports (zero_centring takes
claim 4's crossing rule). Editing an experiment or a calibration recomputes only the
cells that run its code; editing the engine recomputes everything; editing the report
does not.

The executor is pluggable: anything with the :class:`concurrent.futures.Executor`
interface (``submit`` returning futures). :class:`SerialExecutor` runs cells in this
process (tests, debugging); by default a spawn-context process pool is used;
:func:`actlab.claims.cluster.connect` sends the cells to a Dask cluster. A cell sent to
an executor carries the code version its result will be cached under, and the worker
that runs it checks that its own code has the same (:func:`_timed`): a worker with
another actlab refuses the cell instead of mixing its results into the cache.

Every path runs a cell under the same threading, so that a result does not depend on
``workers`` or on the executor: the BLAS (OpenBLAS, MKL) computes with **one thread**
(:func:`one_blas_thread`): worker processes start with ``OPENBLAS_NUM_THREADS=1`` and the
like, and a cell run in this process sets the thread count of every loaded BLAS to 1
through its C API while it runs. A multi-threaded OpenBLAS splits some products
differently and rounds differently: 20 numbers of ``dying_relu --quick`` changed. The
rule is part of the code version (:data:`THREADING`), so results cached before it are
not reused.

Worker processes ignore Ctrl-C (the parent cancels the work and stops them) and exit by
themselves when their parent dies, even by ``kill -9`` (a thread watches the parent).

>>> import tempfile, os
>>> with tempfile.TemporaryDirectory() as d:
...     r = Runner(os.path.join(d, "c.sqlite"), executor=SerialExecutor(), progress=False)
...     r.map(_square, [{"x": 2}, {"x": 3}]), r.stats["computed"]
...     r.map(_square, [{"x": 2}, {"x": 3}]), r.stats["cached"]
([{'y': 4}, {'y': 9}], 2)
([{'y': 4}, {'y': 9}], 2)
"""

from __future__ import annotations

import ast
import concurrent.futures as cf
import contextlib
import functools
import hashlib
import importlib
import json
import multiprocessing
import os
import signal
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import threadpoolctl

from .._io import to_jsonable
from ..errors import ActlabError

__all__ = [
    "Runner", "Cache", "SerialExecutor", "code_version", "cell_key", "to_jsonable", "default_cache_path",
    "one_blas_thread", "writable_dir", "THREADING",
]

CellFn = Callable[[dict], Any]

# Source that does not influence any cell result (presentation and plumbing), by path
# inside the package; a folder ends in "/".
_NOT_IN_VERSION = ("claims/report.py", "claims/runner.py", "cli/", "lab/", "torch/", "templates/", "__main__.py")


#: How every cell runs, whatever the executor: part of the code version, so that a change of
#: this rule recomputes the cells (and results cached before the rule are not reused).
THREADING = "cells run with one BLAS thread (threadpoolctl limits=1, thread env vars 1 in workers)"


def default_cache_path() -> Path:
    """``$ACTLAB_CACHE`` or ``./.actlab-cache/cells.sqlite``."""
    return Path(os.environ.get("ACTLAB_CACHE", Path(".actlab-cache") / "cells.sqlite"))


@functools.cache
def _package_sources() -> tuple[tuple[str, str, bytes], ...]:
    """``(path inside the package, absolute path, bytes)`` of every module of the package,
    read once per process, at its first code version: as close as can be to when the
    process imported actlab (``actlab.claims`` imports every experiment at once). A
    long-lived process (a Dask worker) thus hashes the code it has loaded, not files
    edited on disk since, which it does not run."""
    pkg = Path(__file__).resolve().parents[1]
    return tuple((p.relative_to(pkg).as_posix(), str(p), p.read_bytes()) for p in sorted(pkg.rglob("*.py")))


#: Folders of claim modules: of these, only the cell's own module and the claim modules it
#: imports count in its code version, so that editing one claim recomputes that claim alone.
_CLAIM_MODULES = ("claims/experiments/", "claims/calibrations/")


def _imported_claim_modules(module_file: str, sources: dict[str, tuple[str, bytes]]) -> set[str]:
    """Absolute paths of the claim modules *module_file* imports, directly or through
    another claim module (``from .relu_convergence import steps_to``, ``from
    ..experiments import relu_convergence``): their source is part of its results."""
    def dotted(rel: str) -> str:
        return "actlab." + rel.removesuffix(".py").replace("/", ".")

    by_dotted = {dotted(rel): path for rel, (path, _) in sources.items() if rel.startswith(_CLAIM_MODULES)}
    found: set[str] = set()
    todo = [module_file]
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found.add(path)
        rel = next((r for r, (p, _) in sources.items() if p == path), None)
        if rel is None:
            continue
        package = dotted(rel).rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(sources[rel][1])):
            if not isinstance(node, ast.ImportFrom):
                continue
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            for candidate in [base] + [f"{base}.{alias.name}" for alias in node.names]:
                if candidate in by_dotted:
                    todo.append(by_dotted[candidate])
    return found


@functools.cache
def _source_hash(module_file: str) -> str:
    pkg = str(Path(__file__).resolve().parents[1])
    sources = {rel: (path, data) for rel, path, data in _package_sources()}
    own = _imported_claim_modules(module_file, sources) if module_file else set()
    h = hashlib.sha256()
    files = []
    for rel, path, data in _package_sources():
        if rel.startswith(_NOT_IN_VERSION) and path != module_file:
            continue
        # of the claims and calibrations, only the cell's own module and those it imports count
        if rel.startswith(_CLAIM_MODULES) and not rel.endswith("/__init__.py") and path not in own:
            continue
        files.append((rel, data))
    h.update(THREADING.encode())
    for rel, data in files:
        h.update(rel.encode())
        h.update(data)
    if module_file and not module_file.startswith(pkg):
        h.update(Path(module_file).read_bytes())  # cell functions defined outside actlab (tests)
    return h.hexdigest()[:16]


def code_version(fn: CellFn) -> str:
    """A hash of the source a cell function's results depend on (see the module docstring)."""
    mod = sys.modules.get(fn.__module__)
    path = getattr(mod, "__file__", None) or ""
    return _source_hash(str(Path(path).resolve()) if path else "")


def package_version() -> str:
    """The code version of the package alone (no experiment module): what a cluster's
    workers are compared on when the client connects (:mod:`actlab.claims.cluster`)."""
    return _source_hash("")


def _fn_name(fn: CellFn) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def cell_key(fn: CellFn, cell: dict, version: str | None = None, formulas: Sequence[dict] = ()) -> str:
    """The cache key: SHA-256 of the function name, the cell settings and the code version,
    and of the named formulas the settings use (:func:`actlab.formula.definitions`)."""
    record = {"fn": _fn_name(fn), "cell": to_jsonable(cell), "code": version or code_version(fn)}
    if formulas:  # absent otherwise: the keys of cells without named formulas stay as they were
        record["formulas"] = list(formulas)
    payload = json.dumps(record, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


class Cache:
    """Finished cells in one SQLite file (stdlib :mod:`sqlite3`), one row per cell.

    Each row is committed on its own, so an interrupt loses at most the cells in flight.
    ``path=None`` keeps the cache in memory.
    """

    def __init__(self, path: str | os.PathLike | None):
        self.path = None if path is None else Path(path)
        if self.path is not None:  # checked before any work: a one-line error, not a traceback after it
            writable_dir(self.path.parent, "cache")
            if self.path.exists() and not self.path.is_file():
                raise ActlabError(f"The cache {_quote(self.path)} is a folder; give a file name, e.g. "
                                  f"{_quote(str(self.path / 'cells.sqlite'))}.")
            if self.path.exists() and not os.access(self.path, os.R_OK | os.W_OK):
                raise ActlabError(f"The cache {_quote(self.path)} cannot be read and written (permissions).")
        try:
            self._db = sqlite3.connect(":memory:" if self.path is None else str(self.path), timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL") if self.path is not None else None
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS cells (key TEXT PRIMARY KEY, fn TEXT, cell TEXT, code TEXT,"
                " result TEXT, seconds REAL, created REAL)"
            )
            self._db.commit()
        except sqlite3.Error as exc:
            raise ActlabError(f"The cache {_quote(self.path)} is not an SQLite file of actlab cells, or cannot be "
                              f"written ({exc}); choose another file.") from None

    def get(self, key: str) -> Any | None:
        row = self._db.execute("SELECT result FROM cells WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for i in range(0, len(keys), 500):
            chunk = list(keys[i : i + 500])
            q = f"SELECT key, result FROM cells WHERE key IN ({','.join('?' * len(chunk))})"
            for k, r in self._db.execute(q, chunk):
                found[k] = json.loads(r)
        return found

    def put(self, key: str, fn: str, cell: dict, code: str, result: Any, seconds: float) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO cells VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, fn, json.dumps(cell, sort_keys=True), code, json.dumps(result), seconds, time.time()),
        )
        self._db.commit()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM cells").fetchone()[0]

    def close(self) -> None:
        self._db.close()


class SerialExecutor(cf.Executor):
    """An executor that runs each submitted call at once, in this process."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except Exception as exc:  # KeyboardInterrupt propagates, like in a worker pool's parent
            fut.set_exception(exc)
        return fut


def _quote(value: object, limit: int = 80) -> str:
    """``repr(value)`` for a one-line message, at most about ``limit`` characters."""
    text = repr(str(value) if isinstance(value, os.PathLike) else value)
    return text if len(text) <= limit else f"{text[:limit // 2 - 2]}...{text[-(limit // 2 - 2):]}"


def writable_dir(path: str | os.PathLike, what: str) -> Path:
    """Create the folder ``path`` if needed and check that a file can be created in it (one is
    created and removed), or raise a one-line :class:`ActlabError` naming ``what`` (e.g.
    ``"--out"``): the check to run before any work whose result goes there.

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     open(os.path.join(d, "f"), "w").close()
    ...     writable_dir(os.path.join(d, "f", "sub"), "--out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    actlab.errors.ActlabError: Cannot write into the --out folder '.../f/sub': '.../f' is a file.
    """
    p = Path(path)
    blocker = next((a for a in (p, *p.parents) if a.exists() and not a.is_dir()), None)
    if blocker is not None:  # mkdir would say "File exists" or "Not a directory"
        raise ActlabError(f"Cannot write into the {what} folder {_quote(p)}: {_quote(blocker)} is a file.")
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=p, prefix=".actlab-write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ActlabError(f"Cannot write into the {what} folder {_quote(p)}: {exc.strerror or exc}.") from None
    return p


# ----------------------------------------------------------------------------- threading

#: Read by BLAS and OpenMP libraries when they load: spawned workers start with these at 1.
_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS")
def in_process_threading_controlled() -> bool:
    """True if a cell run in this process can be held at one BLAS thread (threadpoolctl finds
    NumPy's BLAS); otherwise the runner runs its serial cells in a one-worker process,
    where the environment does it."""
    import numpy  # noqa: F401  (loads NumPy's BLAS)

    return any(lib["user_api"] == "blas" for lib in threadpoolctl.threadpool_info())


class _OneBlasThread:
    """Process-wide and re-entrant (cells may run in several threads of one process): the
    first cell in sets the environment and every loaded BLAS to one thread, the last one
    out restores them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._env: dict[str, str | None] = {}
        self._limits: threadpoolctl.threadpool_limits | None = None

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._env = {k: os.environ.get(k) for k in _THREAD_ENV}
                os.environ.update(dict.fromkeys(_THREAD_ENV, "1"))  # for libraries loaded from now on
                self._limits = threadpoolctl.threadpool_limits(limits=1, user_api="blas")
            self._depth += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                if self._limits is not None:
                    self._limits.restore_original_limits()
                for k, v in self._env.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
                self._limits, self._env = None, {}


_ONE_BLAS_THREAD = _OneBlasThread()


def one_blas_thread() -> contextlib.AbstractContextManager[None]:
    """While it is active: BLAS libraries in this process compute with one thread, and the
    thread environment variables are 1 (processes spawned meanwhile inherit them)."""
    return _ONE_BLAS_THREAD


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ctrl-C ignored while workers are spawned: they inherit SIG_IGN and Python keeps it,
    so a Ctrl-C can never print a traceback from a worker, even one still starting up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.getsignal(signal.SIGINT)
    if old is None:  # installed outside Python: cannot be restored
        yield
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


# ----------------------------------------------------------------------------- workers

def _timed(fn_path: str, cell: dict, version: str | None = None, formulas: Sequence[dict] = ()) -> tuple[Any, float]:
    """Run one cell (in a worker or in this process) with one BLAS thread, and time it;
    the function is imported by name (works under spawn and on a cluster's workers), and
    the named formulas the cell uses are defined first (a spawned worker knows only the
    catalogue).

    ``version``: the code version the caller computed for the function; a worker running
    other code (another actlab, an edited module) refuses the cell rather than return a
    result that would be cached under the caller's key."""
    module, qualname = fn_path.split(":")
    fn = importlib.import_module(module)
    for part in qualname.split("."):
        fn = getattr(fn, part)
    if version is not None and (mine := code_version(fn)) != version:
        raise ActlabError(
            f"Code version mismatch: the worker on {socket.gethostname()} (pid {os.getpid()}) runs {fn_path} at "
            f"code version {mine}, the client at {version}; install the same actlab on the client and every "
            f"worker, then restart the workers.")
    if formulas:
        from .. import formula

        formula.install(list(formulas))
    with one_blas_thread():
        t0 = time.perf_counter()
        out = to_jsonable(fn(cell))
        seconds = time.perf_counter() - t0
    return out, seconds


def _worker_init(parent: int) -> None:
    import warnings

    warnings.simplefilter("ignore", category=DeprecationWarning)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent cancels the work and stops the workers
    threading.Thread(target=_exit_with_parent, args=(parent,), name="actlab-exit-with-parent", daemon=True).start()


def _exit_with_parent(parent: int, every: float = 0.2) -> None:
    """A worker's watch: once its parent is gone (killed with -9, say) the worker is
    re-parented, ``getppid()`` changes, and the worker exits, mid-cell or idle. Polling the
    parent's pid works on every POSIX system and needs no pipe; ``prctl(PR_SET_PDEATHSIG)``
    is Linux only and fires when the *thread* that started the worker ends."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(1)


def _new_pool(workers: int) -> cf.ProcessPoolExecutor:
    ctx = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),))


def _stop(pool: cf.ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the workers now (they may be mid-cell)."""
    if hasattr(pool, "terminate_workers"):  # Python >= 3.14
        pool.terminate_workers()
        return
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(5)


class Runner:
    """Maps cell functions over grids of cells with a cache, parallelism and progress.

    ``cache``: a path, a :class:`Cache`, or None (in memory). ``executor``: any
    ``concurrent.futures.Executor`` (kept open, owned by the caller), or None for a process
    pool of ``workers`` processes (default: all cores), started at the first parallel
    :meth:`map` and kept until :meth:`close` (or the end of a ``with`` block);
    ``workers=1`` without an executor runs serially in this process (in a one-worker
    process instead where this process's BLAS threads cannot be set: see
    :func:`in_process_threading_controlled`). Every path runs cells with one BLAS thread.
    A cell sent to the caller's executor carries this process's code version, and the
    process that runs it refuses it if its own differs (a cluster's worker with another
    actlab: see :func:`_timed`). ``serial_here=True`` computes the ``serial=True`` cells
    (timings) on this machine, as without ``executor``, instead of through it: for an
    executor whose workers are other machines, whose timings would not compare.
    ``stats`` counts cells computed and taken from the cache since creation.
    """

    def __init__(
        self,
        cache: str | os.PathLike | Cache | None = None,
        *,
        executor: cf.Executor | None = None,
        workers: int | None = None,
        progress: bool = True,
        serial_here: bool = False,
    ):
        self.cache = cache if isinstance(cache, Cache) else Cache(cache)
        self.executor = executor
        self.workers = workers or os.cpu_count() or 1
        self.progress = progress
        self.serial_here = serial_here
        self.stats = {"computed": 0, "cached": 0, "seconds": 0.0}
        self._own_pool: cf.ProcessPoolExecutor | None = None
        self._serial_pool: cf.ProcessPoolExecutor | None = None

    def _pool(self, n_tasks: int, serial: bool = False) -> cf.Executor:
        if self.executor is not None and not (serial and self.serial_here):
            return self.executor
        in_process = self.workers <= 1 or (n_tasks <= 1 and not serial)
        if in_process and in_process_threading_controlled():
            return SerialExecutor()
        if serial or in_process:  # one worker process: cells that time themselves run alone
            if self._serial_pool is None:
                self._serial_pool = _new_pool(1)
            return self._serial_pool
        if self._own_pool is None:  # one pool for the runner's life: workers import actlab once
            self._own_pool = _new_pool(self.workers)
        return self._own_pool

    def close(self) -> None:
        """Shut the worker pools down (if any was started)."""
        for pool in (self._own_pool, self._serial_pool):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._own_pool = self._serial_pool = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def map(self, fn: CellFn, cells: Sequence[dict], desc: str | None = None, *, serial: bool = False) -> list[Any]:
        """``[fn(cell) for cell in cells]``, from the cache where possible.

        ``serial=True`` computes the cells one at a time in a single worker process (in this
        process with ``workers=1``; through the caller's executor unless ``serial_here``): for
        cells that measure time, which parallel cells would perturb.

        Every finished cell is stored immediately. On KeyboardInterrupt or an exception in
        a cell, pending cells are cancelled, finished ones are kept, and the error is raised.
        """
        from tqdm.auto import tqdm

        from ..formula import definitions

        cells = [to_jsonable(c) for c in cells]
        version = code_version(fn)
        formulas = [definitions(c) for c in cells]
        keys = [cell_key(fn, c, version, f) for c, f in zip(cells, formulas)]
        found = self.cache.get_many(keys)
        results: list[Any] = [found.get(k) for k in keys]
        todo = [i for i, k in enumerate(keys) if k not in found]
        # identical cells in one grid are computed once
        first: dict[str, int] = {}
        for i in todo:
            first.setdefault(keys[i], i)
        self.stats["cached"] += len(cells) - len(todo)
        bar = tqdm(
            total=len(cells), initial=len(cells) - len(todo), desc=desc or fn.__module__.rsplit(".", 1)[-1],
            disable=not self.progress, unit="cell", leave=False, dynamic_ncols=True,
        )
        try:
            if first:
                self._compute(fn, [first[k] for k in first], cells, formulas, keys, version, results, serial,
                              lambda i: bar.update(sum(1 for j in todo if keys[j] == keys[i])))
            for i in todo:
                if results[i] is None:
                    results[i] = results[first[keys[i]]]
        finally:
            bar.close()
        return results

    def _compute(self, fn: CellFn, todo: list[int], cells: list[dict], formulas: list[list[dict]],
                 keys: list[str], version: str,
                 results: list[Any], serial: bool, done: Callable[[int], None]) -> None:
        """Compute ``cells[i]`` for ``i in todo``, storing each as it finishes."""
        name = _fn_name(fn)
        pool = self._pool(len(todo), serial)
        own = pool in (self._own_pool, self._serial_pool)
        # the caller's executor may run cells in processes with other code (a cluster's workers):
        # each cell carries the version its result will be cached under, and is checked there
        check = version if pool is self.executor else None
        futures: dict[cf.Future, int] = {}
        stored: set[int] = set()

        def store(fut: cf.Future) -> None:
            i = futures[fut]
            out, seconds = fut.result()
            self.cache.put(keys[i], name, cells[i], version, out, seconds)
            stored.add(i)
            self.stats["computed"] += 1
            self.stats["seconds"] += seconds
            results[i] = out
            done(i)

        spawning = getattr(pool, "_max_workers", self.workers) if own else 0  # submits that may start a worker
        try:
            # workers are spawned at submit: they inherit one BLAS thread and an ignored Ctrl-C
            with one_blas_thread():
                for k, i in enumerate(todo):
                    with _sigint_ignored() if k < spawning else contextlib.nullcontext():
                        futures[pool.submit(_timed, name, cells[i], check, formulas[i])] = i
            for fut in cf.as_completed(futures):
                store(fut)
        except BaseException:
            with _sigint_ignored():  # a second Ctrl-C must not cut the clean-up short
                try:
                    for f in futures:
                        f.cancel()
                    # keep every cell that did finish (an interrupt or a failing cell loses no other)
                    for f, i in futures.items():
                        if i not in stored and f.done() and not f.cancelled() and f.exception() is None:
                            store(f)
                finally:
                    if own:  # workers may be mid-cell: end them now (their results would not be stored)
                        _stop(pool)  # type: ignore[arg-type]
                        self._own_pool = None if pool is self._own_pool else self._own_pool
                        self._serial_pool = None if pool is self._serial_pool else self._serial_pool
            raise


def _square(cell: dict) -> dict:
    """A trivial cell function for the doctest."""
    return {"y": cell["x"] ** 2}

