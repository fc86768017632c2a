"""The Claims view: the tutorials' claims with their verdicts, from the runner's cache or
from a quick run started in the page.

Verdicts come from :func:`actlab.claims.run` through a :class:`~actlab.claims.runner.Runner`
on the usual cell cache (``$ACTLAB_CACHE`` or ``.actlab-cache/cells.sqlite``, the one
``actlab report`` fills), in one background process (:class:`ClaimsJob`):

* ``mode="cached"`` computes nothing: its executor refuses every cell, so a claim whose
  cells are all in the cache gets its verdict in a moment and any other is marked
  "not in the cache";
* ``mode="run"`` computes the missing cells (one process, serially: the lab's training
  sessions keep the other cores), with progress per cell and per claim.

Only one job runs at a time; the page polls :meth:`ClaimsJob.status`.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import queue
import threading
import time
from pathlib import Path
from typing import Any

from .. import claims
from ..claims.report import flatten
from ..claims.runner import Runner, SerialExecutor, default_cache_path

__all__ = ["claims_list", "ClaimsJob", "NotCached", "SIZES", "MODES"]

SIZES = ("quick", "default")
MODES = ("cached", "run")


class NotCached(Exception):
    """A cell that is not in the cache (raised in ``cached`` mode instead of computing it)."""


class _CacheOnly(cf.Executor):
    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        raise NotCached


class _Counting(SerialExecutor):
    """Runs cells here, one by one, and reports each finished cell on ``progress``."""

    def __init__(self, progress: Any, name: str) -> None:
        self.progress, self.name, self.cells = progress, name, 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        fut = super().submit(fn, *args, **kwargs)
        self.cells += 1
        self.progress.put({"event": "cell", "name": self.name, "cells": self.cells})
        return fut


def claims_list() -> list[dict[str, Any]]:
    """Every registered claim, then every calibration (number order): name, kind, number and
    its label (a calibration's is C1, C2, ...), title, claim, tutorial (a calibration's
    paper), Korean."""
    out = []
    for n in claims.names():
        e = claims.get(n)
        out.append({"name": n, "kind": e.kind, "number": e.number,
                    "label": str(e.number) if e.kind == "claim" else f"C{e.number}", "title": e.title,
                    "claim": e.claim, "tutorial": e.tutorial, "korean": e.korean})
    return out


def _summary(res: claims.Result) -> dict[str, Any]:
    rows = flatten(res.outcome.numbers)
    return {"verdict": res.verdict.verdict, "key": res.verdict.key, "reasoning": res.verdict.reasoning,
            "numbers": [[k, v] for k, v in rows[:8]], "size": res.size, "seconds": round(res.seconds, 2),
            "computed": res.cells.get("computed", 0), "cached": res.cells.get("cached", 0)}


def job_main(names: list[str], size: str, mode: str, cache: str, progress: Any) -> None:
    """The job process: run each claim and put its outcome on ``progress``."""
    import warnings

    warnings.simplefilter("ignore")  # a claim's figures may warn; the page shows verdicts only
    for name in names:
        progress.put({"event": "start", "name": name})
        executor = _CacheOnly() if mode == "cached" else _Counting(progress, name)
        try:
            with Runner(cache, executor=executor, progress=False) as runner:
                res = claims.run(name, size, runner=runner)
            progress.put({"event": "done", "name": name, "result": _summary(res)})
        except NotCached:
            progress.put({"event": "done", "name": name, "result": None})
        except Exception as err:  # one failing claim must not hide the others' verdicts
            progress.put({"event": "done", "name": name, "error": f"{type(err).__name__}: {err}"})
    progress.put({"event": "end"})


class ClaimsJob:
    """At most one background claims job; thread-safe :meth:`start` and :meth:`status`."""

    def __init__(self, cache: str | Path | None = None) -> None:
        self.cache = str(cache if cache is not None else default_cache_path())
        self._lock = threading.Lock()
        self._proc: multiprocessing.Process | None = None
        self._queue: Any = None
        self.state: dict[str, Any] = {"running": False, "mode": None, "size": None, "total": 0, "done": 0,
                                      "current": None, "cells": 0, "results": {}, "errors": {}, "started": None}

    def start(self, size: str = "quick", mode: str = "cached", names: list[str] | None = None) -> bool:
        """Start a job (False if one is running). ``names`` defaults to every claim."""
        with self._lock:
            self._drain()
            if self.state["running"]:
                return False
            chosen = list(names) if names else claims.names()
            ctx = multiprocessing.get_context("spawn")
            self._queue = ctx.Queue()
            self._proc = ctx.Process(target=job_main, args=(chosen, size, mode, self.cache, self._queue),
                                     daemon=True, name="actlab-lab-claims")
            self._proc.start()
            self.state.update(running=True, mode=mode, size=size, total=len(chosen), done=0, current=None, cells=0,
                              started=time.time())
            for n in chosen:
                self.state["results"].pop(f"{size}:{n}", None)
                self.state["errors"].pop(n, None)
            return True

    def _drain(self) -> None:
        if self._queue is None:
            return
        while True:
            try:
                ev = self._queue.get_nowait()
            except (queue.Empty, OSError, ValueError):
                break
            kind = ev["event"]
            if kind == "start":
                self.state["current"], self.state["cells"] = ev["name"], 0
            elif kind == "cell":
                self.state["cells"] = ev["cells"]
            elif kind == "done":
                self.state["done"] += 1
                if ev.get("error"):
                    self.state["errors"][ev["name"]] = ev["error"]
                else:
                    self.state["results"][f"{self.state['size']}:{ev['name']}"] = ev["result"]
            elif kind == "end":
                self._finish()
                return
        if self._proc is not None and not self._proc.is_alive() and self.state["running"]:
            self._finish()

    def _finish(self) -> None:
        self.state["running"], self.state["current"] = False, None
        if self._proc is not None:
            self._proc.join(1)
            self._proc.close()
        self._proc = None
        if self._queue is not None:
            self._queue.close()
            self._queue.join_thread()
        self._queue = None

    def status(self) -> dict[str, Any]:
        with self._lock:
            self._drain()
            return {**self.state, "results": dict(self.state["results"]), "errors": dict(self.state["errors"])}

    def stop(self) -> None:
        """End a running job (server shutdown)."""
        with self._lock:
            if self._proc is not None and self._proc.is_alive():
                self._proc.terminate()
                with contextlib.suppress(Exception):
                    self._proc.join(2)
            if self._proc is not None or self._queue is not None:
                self.state["running"] = True  # so that _finish closes everything
                self._finish()
