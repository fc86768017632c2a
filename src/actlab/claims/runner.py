"""Run the cells of an experiment in parallel, caching each finished cell in SQLite.

An experiment is a grid of independent *cells* (activation x depth x init x lr x seed
...). Each cell is a JSON-able dict of settings handed to a top-level function
``fn(cell) -> JSON-able result``. :meth:`Runner.map` computes the cells that are not in
the cache yet, in worker processes (all cores by default), shows a tqdm progress bar
with an ETA, and stores every finished cell at once, so that a re-run, or a run after
an interrupt (Ctrl-C, a crash, a killed machine), computes only what is missing.

The cache key of a cell is the SHA-256 of its function's name, its settings and the
*code version*: a hash of the source of the actlab modules a result can depend on (the
catalogue, the engine, the data loaders, the shared experiment helpers) and of the
module that defines the cell function. Editing an experiment recomputes only that
experiment; editing the engine recomputes everything; editing the report does not.

The executor is pluggable: anything with the :class:`concurrent.futures.Executor`
interface (``submit`` returning futures). :class:`SerialExecutor` runs cells in this
process (tests, debugging); by default a spawn-context process pool is used.

>>> import tempfile, os
>>> with tempfile.TemporaryDirectory() as d:
...     r = Runner(os.path.join(d, "c.sqlite"), executor=SerialExecutor(), progress=False)
...     r.map(_square, [{"x": 2}, {"x": 3}]), r.stats["computed"]
...     r.map(_square, [{"x": 2}, {"x": 3}]), r.stats["cached"]
([{'y': 4}, {'y': 9}], 2)
([{'y': 4}, {'y': 9}], 2)
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import hashlib
import importlib
import json
import multiprocessing
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .._io import to_jsonable

__all__ = ["Runner", "Cache", "SerialExecutor", "code_version", "cell_key", "to_jsonable", "default_cache_path"]

CellFn = Callable[[dict], Any]

# Source that does not influence any cell result (presentation and plumbing), by path
# inside the package; a folder ends in "/".
_NOT_IN_VERSION = ("claims/report.py", "claims/runner.py", "cli/", "__main__.py")


def default_cache_path() -> Path:
    """``$ACTLAB_CACHE`` or ``./.actlab-cache/cells.sqlite``."""
    return Path(os.environ.get("ACTLAB_CACHE", Path(".actlab-cache") / "cells.sqlite"))


@functools.cache
def _source_hash(module_file: str) -> str:
    pkg = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    files = []
    for p in sorted(pkg.rglob("*.py")):
        rel = p.relative_to(pkg).as_posix()
        if rel.startswith(_NOT_IN_VERSION) and str(p) != module_file:
            continue
        # of the claims, only the cell's own module counts
        if rel.startswith("claims/experiments/") and p.name != "__init__.py" and str(p) != module_file:
            continue
        files.append((rel, p))
    for rel, p in files:
        h.update(rel.encode())
        h.update(p.read_bytes())
    if module_file and not module_file.startswith(str(pkg)):
        h.update(Path(module_file).read_bytes())  # cell functions defined outside actlab (tests)
    return h.hexdigest()[:16]


def code_version(fn: CellFn) -> str:
    """A hash of the source a cell function's results depend on (see the module docstring)."""
    mod = sys.modules.get(fn.__module__)
    path = getattr(mod, "__file__", None) or ""
    return _source_hash(str(Path(path).resolve()) if path else "")


def _fn_name(fn: CellFn) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def cell_key(fn: CellFn, cell: dict, version: str | None = None) -> str:
    """The cache key: SHA-256 of the function name, the cell settings and the code version."""
    payload = json.dumps(
        {"fn": _fn_name(fn), "cell": to_jsonable(cell), "code": version or code_version(fn)},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class Cache:
    """Finished cells in one SQLite file (stdlib :mod:`sqlite3`), one row per cell.

    Each row is committed on its own, so an interrupt loses at most the cells in flight.
    ``path=None`` keeps the cache in memory.
    """

    def __init__(self, path: str | os.PathLike | None):
        self.path = None if path is None else Path(path)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(":memory:" if self.path is None else str(self.path), timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL") if self.path is not None else None
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS cells (key TEXT PRIMARY KEY, fn TEXT, cell TEXT, code TEXT,"
            " result TEXT, seconds REAL, created REAL)"
        )
        self._db.commit()

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


def _timed(fn_path: str, cell: dict) -> tuple[Any, float]:
    """Worker side: import the cell function by name (works under spawn), run, time it."""
    module, qualname = fn_path.split(":")
    fn = importlib.import_module(module)
    for part in qualname.split("."):
        fn = getattr(fn, part)
    t0 = time.perf_counter()
    out = to_jsonable(fn(cell))
    return out, time.perf_counter() - t0


def _worker_init() -> None:
    import warnings

    warnings.simplefilter("ignore", category=DeprecationWarning)


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Worker processes are one per core: keep each BLAS single-threaded (inherited env)."""
    keys = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    old = {k: os.environ.get(k) for k in keys}
    for k in keys:
        os.environ.setdefault(k, "1")
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Runner:
    """Maps cell functions over grids of cells with a cache, parallelism and progress.

    ``cache``: a path, a :class:`Cache`, or None (in memory). ``executor``: any
    ``concurrent.futures.Executor`` (kept open, owned by the caller), or None for a process
    pool of ``workers`` processes (default: all cores), started at the first parallel
    :meth:`map` and kept until :meth:`close` (or the end of a ``with`` block);
    ``workers=1`` without an executor runs serially in this process.
    ``stats`` counts cells computed and taken from the cache since creation.
    """

    def __init__(
        self,
        cache: str | os.PathLike | Cache | None = None,
        *,
        executor: cf.Executor | None = None,
        workers: int | None = None,
        progress: bool = True,
    ):
        self.cache = cache if isinstance(cache, Cache) else Cache(cache)
        self.executor = executor
        self.workers = workers or os.cpu_count() or 1
        self.progress = progress
        self.stats = {"computed": 0, "cached": 0, "seconds": 0.0}
        self._own_pool: cf.ProcessPoolExecutor | None = None
        self._serial_pool: cf.ProcessPoolExecutor | None = None

    def _pool(self, n_tasks: int, serial: bool = False) -> contextlib.AbstractContextManager:
        if self.executor is not None:
            return contextlib.nullcontext(self.executor)
        if serial and self.workers > 1:  # one worker process: cells that time themselves run alone
            if self._serial_pool is None:
                ctx = multiprocessing.get_context("spawn")
                self._serial_pool = cf.ProcessPoolExecutor(1, mp_context=ctx, initializer=_worker_init)
            return contextlib.nullcontext(self._serial_pool)
        if self.workers <= 1 or n_tasks <= 1:
            return contextlib.nullcontext(SerialExecutor())
        if self._own_pool is None:  # one pool for the runner's life: workers import actlab once
            with _one_blas_thread():
                ctx = multiprocessing.get_context("spawn")
                self._own_pool = cf.ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_init)
        return contextlib.nullcontext(self._own_pool)

    def close(self) -> None:
        """Shut the worker pool down (if one was started) and close the cache."""
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
        process with ``workers=1`` or the caller's executor): for cells that measure time,
        which parallel cells would perturb.

        Every finished cell is stored immediately. On KeyboardInterrupt or an exception in
        a cell, pending cells are cancelled, finished ones are kept, and the error is raised.
        """
        from tqdm.auto import tqdm

        cells = [to_jsonable(c) for c in cells]
        version = code_version(fn)
        name = _fn_name(fn)
        keys = [cell_key(fn, c, version) for c in cells]
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
                with self._pool(len(first), serial) as pool:
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
                        bar.update(sum(1 for j in todo if keys[j] == keys[i]))

                    try:
                        with _one_blas_thread():  # spawned workers take the environment at submit
                            for i in first.values():
                                futures[pool.submit(_timed, name, cells[i])] = i
                        for fut in cf.as_completed(futures):
                            store(fut)
                    except BaseException:
                        for f in futures:
                            f.cancel()
                        # keep every cell that did finish (an interrupt or a failing cell loses no other)
                        for f, i in futures.items():
                            if i not in stored and f.done() and not f.cancelled() and f.exception() is None:
                                store(f)
                        if pool in (self._own_pool, self._serial_pool):  # workers may be mid-cell: do not wait
                            pool.shutdown(wait=False, cancel_futures=True)
                            self._own_pool = None if pool is self._own_pool else self._own_pool
                            self._serial_pool = None if pool is self._serial_pool else self._serial_pool
                        raise
            for i in todo:
                if results[i] is None:
                    results[i] = results[first[keys[i]]]
        finally:
            bar.close()
        return results


def _square(cell: dict) -> dict:
    """A trivial cell function for the doctest."""
    return {"y": cell["x"] ** 2}

