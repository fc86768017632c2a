"""Symbolic work under a time limit that can actually stop it: one warm worker process.

SymPy is pure Python, and a ``limit`` or ``simplify`` can run for minutes on a formula a
few characters long. A thread cannot be stopped from outside and ``SIGALRM`` works only
on the main thread (the lab's web server answers on others), so the work runs in one
child process (``python -m actlab.formula.worker``), kept warm between formulas. The
parent sends one request (a JSON line: the checked formula tree, never text to
evaluate), waits at most the time limit for the answer, and kills the child if it
overruns; the next formula starts a fresh one. The child pays SymPy's import (about 1 s)
once, before the clock starts.

A subprocess, not ``multiprocessing``: the spawn start method re-imports the parent's
``__main__``, which in a user's script without a ``__main__`` guard would run the script
again. Inside a daemonic process (which may not have children) or when
``ACTLAB_FORMULA_WORKER=inline``, the work runs in this process instead, limited by
``SIGALRM`` where that is available (main thread, POSIX) and unlimited otherwise.

Inside the child, optional steps (simplify, a limit, a solve) get a share of the time
left and are skipped when they overrun it (:mod:`.derive`), so most formulas finish with
a partial result rather than a refusal.
"""

from __future__ import annotations

import atexit
import json
import multiprocessing
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from ..errors import ActlabError
from ._ir import from_json

__all__ = ["run", "TimeLimitError", "shutdown"]

#: seconds the child may take to start (import SymPy) before it is given up
STARTUP_LIMIT = 120.0


class TimeLimitError(ActlabError):
    """The symbolic work on a formula took longer than its time limit."""


def _encode(obj: Any) -> str:
    return json.dumps(obj, allow_nan=True, separators=(",", ":"))


class _Child:
    """The worker process and a thread that reads its answers into a queue."""

    def __init__(self) -> None:
        import actlab

        root = os.path.dirname(os.path.dirname(os.path.abspath(actlab.__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "actlab.formula.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
            text=True, bufsize=1,
        )
        self.answers: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True, name="actlab-formula-reader").start()
        ready = self._next(STARTUP_LIMIT)
        try:
            ok = bool(ready) and json.loads(ready).get("status") == "ready"
        except (ValueError, AttributeError):
            ok = False
        if not ok:
            self.kill()
            raise ActlabError("The formula worker process did not start (is SymPy installed?).")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.answers.put(line)
        self.answers.put(None)

    def _next(self, timeout: float) -> str | None:
        """The next line; "" when the child closed its output (it exited), None on timeout."""
        try:
            line = self.answers.get(timeout=timeout)
        except queue.Empty:
            return None
        return "" if line is None else line

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(_encode(request) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return {"status": "crash", "message": "the worker process exited"}
        line = self._next(timeout)
        if line is None:
            return None
        if not line:
            self.proc.wait(timeout=10)
            return {"status": "crash", "message": f"the worker process stopped (exit code {self.proc.returncode})"}
        try:
            return json.loads(line)
        except ValueError:
            return {"status": "crash", "message": "the worker process answered garbage"}

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # this process's own child, by its handle
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:  # pragma: no cover
                pass


_lock = threading.Lock()
_child: _Child | None = None


def shutdown() -> None:
    """Stop the worker process (it is started again on the next formula)."""
    global _child
    with _lock:
        if _child is not None:
            _child.kill()
            _child = None


atexit.register(shutdown)


def _inline() -> bool:
    return os.environ.get("ACTLAB_FORMULA_WORKER") == "inline" or multiprocessing.current_process().daemon


def run(request: dict[str, Any], time_limit: float) -> dict[str, Any]:
    """The answer of :func:`actlab.formula.derive.safe_analyze` to ``request``, computed
    within ``time_limit`` seconds, or an ActlabError (TimeLimitError when it overran)."""
    request = {**request, "time_limit": time_limit}
    if _inline():
        return _run_inline(request, time_limit)
    global _child
    with _lock:
        if _child is None or not _child.alive():
            _child = _Child()
        # the child's own clock stops optional steps in time; the margin covers the
        # round trip and the last step that was already running
        answer = _child.ask(request, time_limit + 0.25 + 0.1 * time_limit)
        if answer is None or answer.get("status") == "crash":
            _child.kill()  # a fresh one for the next formula
            _child = None
        if answer is None:
            raise TimeLimitError(f"The symbolic work on this formula took longer than its time limit of "
                                 f"{time_limit:g} s; simplify the formula or raise time_limit.")
    return _unpack(answer)


def _unpack(answer: dict[str, Any]) -> dict[str, Any]:
    status = answer.get("status")
    if status == "ok":
        return _restore(answer["result"])
    if status == "error":
        raise ActlabError(answer["message"])
    raise ActlabError(f"The symbolic work on this formula failed: {answer.get('message', 'no answer')}.")


def _restore(result: dict[str, Any]) -> dict[str, Any]:
    """Trees back as tuples after JSON (the rest of the answer stays as it is)."""
    out = dict(result)
    for key in ("kernels", "reference"):
        if key in out:
            out[key] = {k: None if v is None else from_json(v) for k, v in out[key].items()}
    out["points"] = {k: [(float(p), bool(e)) for p, e in v] for k, v in out["points"].items()}
    return out


def _run_inline(request: dict[str, Any], time_limit: float) -> dict[str, Any]:
    """In this process: the optional steps are still cut at their shares of the time (on
    the main thread), but a step that is not optional cannot be stopped; the total is
    checked at the end, so an overrun is still refused."""
    from .derive import safe_analyze

    start = time.monotonic()
    result = safe_analyze(request)
    if time.monotonic() - start > time_limit + 0.25 + 0.1 * time_limit:
        raise TimeLimitError(f"The symbolic work on this formula took longer than its time limit of "
                             f"{time_limit:g} s; simplify the formula or raise time_limit.")
    return _restore(json.loads(_encode(result)))


# ---- the child's side ---------------------------------------------------------------------


def _serve() -> None:
    # the protocol owns the real stdout; anything SymPy prints goes to stderr
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is for the parent
    from .derive import safe_analyze

    out.write(_encode({"status": "ready"}) + "\n")
    for line in sys.stdin:
        try:
            req = json.loads(line)
            req["tree"] = from_json(req["tree"])
            answer = {"status": "ok", "result": safe_analyze(req)}
        except ActlabError as err:
            answer = {"status": "error", "message": str(err)}
        except Exception as err:  # noqa: BLE001 (reported to the parent, which raises)
            answer = {"status": "crash", "message": f"{type(err).__name__}: {str(err)[:200]}"}
        try:
            text = _encode(answer)
        except (TypeError, ValueError) as err:
            text = _encode({"status": "crash", "message": f"unencodable answer ({err})"})
        out.write(text + "\n")


if __name__ == "__main__":
    _serve()
