"""Training sessions: one worker process per session, and the limit on how many run.

A *session* is one WebSocket of the page that trains something (the Playground or
MNIST view). Its run (:mod:`~actlab.lab.training`) lives in a worker process of its own,
so a session's NumPy work never holds up the server's event loop or another session,
and the operating system shares the cores among sessions. Processes come from a fork
server (:mod:`multiprocessing`'s ``forkserver``) that has imported NumPy and the engine
once: a new session starts in milliseconds, and copies nothing of the server.

The server and a worker talk over a pipe. Server to worker: JSON commands (``config``,
``play``, ``pause``, ``step``, ``reset``, ``stop``). Worker to server: a byte ``J`` and a
JSON text (an ``error`` for the page), or a byte ``F`` and a binary frame
(:mod:`~actlab.lab.frames`: the run's ``ready`` description, then its snapshots). While
playing the worker trains in slices of a frame's time (1/32 s in the Playground, 1/8 s
on MNIST), sends a frame, and reads the commands that arrived; paused, it sleeps on the
pipe.

Back-pressure: the server reads a worker's pipe only while fewer than
:data:`QUEUE_FRAMES` messages wait to go out on its socket; if the page reads slowly the
pipe fills and the worker blocks on its next frame, so nothing piles up in memory.

Ending: when the socket closes (tab closed, network gone, server shutting down) the
server closes the pipe and the worker, which sees the end of the file at its next look
(at most a slice of training later), exits; one that has not within a second is
terminated.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from ..errors import ActlabError
from .inputs import Points
from .protocol import MnistConfig, PlaygroundConfig, parse_config
from .training import Run, make_run

__all__ = ["SessionLimit", "Session", "worker_main", "default_max_sessions", "FRAME_SECONDS", "QUEUE_FRAMES"]

#: seconds between frames while training, per kind of run (the Playground's 32/s keeps at
#: least 30 through scheduling jitter)
FRAME_SECONDS = {"playground": 1 / 32, "mnist": 1 / 8}
#: the longest gap between frames the lab stretches to on a busy machine
MAX_FRAME_SECONDS = {"playground": 1 / 12, "mnist": 1 / 3}
#: the share of a session's CPU that building frames may take
FRAME_BUDGET = 0.15
#: messages that may wait for a slow socket before the server stops reading the worker
QUEUE_FRAMES = 4
#: commands that may wait for a worker (a page never needs more than a few)
QUEUE_COMMANDS = 32
_BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def default_max_sessions() -> int:
    """Two training sessions per core (the issue's default)."""
    return 2 * (os.cpu_count() or 1)


# ------------------------------------------------------------------------------ the worker


class _Worker:
    """The worker's state: the run, playing or not, the pending step target."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.run: Run | None = None
        self.config: PlaygroundConfig | MnistConfig | None = None
        self.points: Points | None = None
        self.playing = False
        self.steps_left = 0  # log intervals still to train for "step"
        self._sps = 0.0
        self._mark = (time.perf_counter(), 0)
        self._beat = 0.0  # when the next frame is due
        self._frame_cpu = 0.0  # CPU seconds a frame takes (moving average)
        self._share = 1.0  # the share of a core this worker gets while training (moving average)

    def send_json(self, obj: dict[str, Any]) -> None:
        self.conn.send_bytes(b"J" + json.dumps(obj, allow_nan=False).encode())

    def send_frame(self) -> None:
        assert self.run is not None
        now, step = time.perf_counter(), self.run.step
        t0, s0 = self._mark
        if self.playing and now > t0:
            self._sps = (step - s0) / (now - t0) if self._sps == 0 else 0.7 * self._sps + 0.3 * (step - s0) / (now - t0)
        elif not self.playing:
            self._sps = 0.0
        self._mark = (now, step)
        playing = self.playing or self.steps_left > 0
        self.conn.send_bytes(b"F" + self.run.frame(playing, self._sps))

    def build(self) -> None:
        assert self.config is not None
        self.run = make_run(self.config, self.points)
        self.playing = False
        self.steps_left = 0
        self.conn.send_bytes(b"F" + self.run.ready())
        self.send_frame()

    def handle(self, msg: dict[str, Any]) -> bool:
        """Apply one command; False to stop."""
        cmd = msg.get("cmd")
        if cmd == "stop":
            return False
        if cmd == "config":
            try:
                self.config = parse_config(msg["config"])
                pts = msg.get("points")
                self.points = None if pts is None else Points(np.asarray(pts["X"], np.float64),
                                                               np.asarray(pts["y"]), pts["task"], pts["name"])
                self.build()
            except (ActlabError, LookupError, ValueError) as err:
                self.run = None
                self.send_json({"type": "error", "field": "config", "message": str(err)})
            return True
        if self.run is None:
            self.send_json({"type": "error", "field": "", "message": "Send a configuration first."})
            return True
        if cmd == "reset":
            self.build()
        elif cmd == "play":
            self.playing = True
            self._mark = (time.perf_counter(), self.run.step)
        elif cmd == "pause":
            self.playing = False
            self.steps_left = 0
            self.send_frame()
        elif cmd == "step":
            self.playing = False
            self.steps_left = int(msg.get("count", 1))
            self._mark = (time.perf_counter(), self.run.step)
        return True

    def train_slice(self) -> None:
        """Train one frame's time (or up to the step target), then send a frame."""
        run = self.run
        assert run is not None
        # frames on a wall-clock beat: the slice ends at the next beat, so the time a frame
        # takes to build comes out of training, not out of the frame rate
        now, period = time.perf_counter(), self._period(run.kind)
        cpu0 = time.process_time()
        if not now - period < self._beat <= now + period:
            self._beat = now + period  # (re)starting, or fallen behind: a fresh beat
        until = max(self._beat, now + 0.002)
        self._beat += period
        if self.steps_left > 0:
            before = run.step // run.log_every
            run.advance(until=until, max_log=self.steps_left)
            self.steps_left -= run.step // run.log_every - before
            if run.stopped:
                self.steps_left = 0
        else:
            run.advance(until=until)
        if run.stopped:
            self.playing = False
            self.steps_left = 0
        cpu1 = time.process_time()
        self.send_frame()
        cpu2, wall = time.process_time(), time.perf_counter()
        self._frame_cpu = 0.8 * self._frame_cpu + 0.2 * (cpu2 - cpu1)
        self._share = 0.8 * self._share + 0.2 * min(1.0, (cpu2 - cpu0) / max(wall - now, 1e-6))

    def _period(self, kind: str) -> float:
        """Seconds between frames: FRAME_SECONDS, stretched (to at most MAX_FRAME_SECONDS)
        so that building frames takes at most FRAME_BUDGET of the CPU this session gets.
        On a busy machine (8 sessions on 2 cores, other jobs) a session then keeps training
        instead of spending its share on pictures nobody can see change."""
        want = self._frame_cpu / (FRAME_BUDGET * max(self._share, 0.01))
        return min(MAX_FRAME_SECONDS[kind], max(FRAME_SECONDS[kind], want))

    def loop(self) -> None:
        while True:
            busy = self.run is not None and self.run.stopped is None and (self.playing or self.steps_left > 0)
            # paused: sleep on the pipe; training: just look whether a command arrived
            try:
                if self.conn.poll(0 if busy else None):
                    msg = json.loads(self.conn.recv_bytes())
                    if not self.handle(msg):
                        return
                    continue
                if busy:
                    self.train_slice()
            except (EOFError, OSError):
                raise
            except Exception as err:  # a bug or an engine error: say so, keep the worker
                self.run, self.playing, self.steps_left = None, False, 0
                self.send_json({"type": "error", "field": "",
                                "message": f"The run failed ({type(err).__name__}: {err}). "
                                           "Change a setting or reload to start again."})


def worker_main(conn: Connection) -> None:
    """The worker process: serve commands from ``conn`` until ``stop`` or a closed pipe."""
    try:
        _Worker(conn).loop()
    except (EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass  # the server went away or is shutting down: nothing to report to
    finally:
        conn.close()


# ------------------------------------------------------------------------------ the server side


class SessionLimit:
    """At most ``limit`` sessions at once: :meth:`acquire` is non-blocking (False = busy)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ActlabError(f"The session limit must be at least 1. Got {limit} instead.")
        self.limit = limit
        self.active = 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self.active >= self.limit:
                return False
            self.active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.active = max(0, self.active - 1)

    def busy_message(self) -> str:
        return (f"The lab is busy: {self.active} training sessions are running, the most it runs at once "
                f"(set with --max-sessions; default 2 per core). Close another lab tab, or try again in a minute.")


_start_lock = threading.Lock()
_context: Any = None


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Workers are many per core: keep BLAS single-threaded in them (the fork server, and
    so every worker, takes the environment it starts with)."""
    old = {k: os.environ.get(k) for k in _BLAS_VARS}
    for k in _BLAS_VARS:
        os.environ.setdefault(k, "1")
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _start(conn: Connection) -> multiprocessing.process.BaseProcess:
    """Start a worker process (from the fork server, which imports the engine once)."""
    global _context
    with _start_lock:
        if _context is None:
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(["actlab.lab.sessions"])
        proc = _context.Process(target=worker_main, args=(conn,), daemon=True, name="actlab-lab-session")
        with _one_blas_thread():
            proc.start()
    return proc


class Session:
    """The server's handle on one worker: start it, queue commands, forward its messages.

    ``deliver(kind, data)`` is the coroutine that puts a worker message on the socket
    (``kind`` "text" or "bytes"). Create in the event loop; :meth:`close` always.
    Commands go through a short queue written to the pipe by one task (in a thread, so a
    worker that is slow to read never blocks the event loop); a page that floods commands
    gets False from :meth:`command` once :data:`QUEUE_COMMANDS` wait.
    """

    def __init__(self, deliver: Any) -> None:
        self.deliver = deliver
        self.conn: Connection | None = None
        self.proc: multiprocessing.process.BaseProcess | None = None
        self.queue: asyncio.Queue = asyncio.Queue()
        self.commands: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_COMMANDS)
        self._reading = False
        self._tasks: list[asyncio.Task] = []
        self._loop = asyncio.get_running_loop()
        self.closed = False
        self.dead = False  # the worker ended by itself; the app starts a new session

    async def start(self) -> None:
        parent, child = multiprocessing.Pipe(duplex=True)
        self.conn = parent
        try:
            self.proc = await asyncio.to_thread(_start, child)
        finally:
            child.close()
        self._watch(True)
        self._tasks = [asyncio.create_task(self._forward()), asyncio.create_task(self._commander())]

    def _watch(self, on: bool) -> None:
        if self.conn is None or on == self._reading:
            return
        if on:
            self._loop.add_reader(self.conn.fileno(), self._readable)
        else:
            self._loop.remove_reader(self.conn.fileno())
        self._reading = on

    def _readable(self) -> None:
        """Event-loop callback: move what the worker wrote into the queue."""
        try:
            while self.conn is not None and self.conn.poll(0):
                self.queue.put_nowait(self.conn.recv_bytes())
                if self.queue.qsize() >= QUEUE_FRAMES:
                    self._watch(False)  # back-pressure: the worker blocks on its next send
                    break
        except (EOFError, OSError):
            self._watch(False)
            self.queue.put_nowait(None)

    async def _forward(self) -> None:
        while True:
            data = await self.queue.get()
            if data is None:  # the worker ended (killed, out of memory): tell the page
                self.dead = True
                if not self.closed:
                    await self.deliver("text", json.dumps({
                        "type": "error", "field": "",
                        "message": "The training process ended unexpectedly; change a setting to start a new one."}))
                return
            if not self._reading and self.queue.qsize() < QUEUE_FRAMES // 2 and not self.closed:
                self._watch(True)
            if data[:1] == b"J":
                await self.deliver("text", data[1:].decode())
            else:
                await self.deliver("bytes", data[1:])

    async def _commander(self) -> None:
        while True:
            cmd = await self.commands.get()
            data = json.dumps(cmd, allow_nan=False).encode()
            conn = self.conn
            if conn is None:
                return
            try:
                await asyncio.to_thread(conn.send_bytes, data)
            except (OSError, ValueError):  # the worker is gone (or the pipe closed under us)
                return

    def command(self, cmd: dict[str, Any]) -> bool:
        """Queue a command for the worker; False if too many are waiting."""
        try:
            self.commands.put_nowait(cmd)
        except asyncio.QueueFull:
            return False
        return True

    async def close(self) -> None:
        """Stop the worker: close the pipe (it exits on end-of-file) and wait for it,
        terminating it after a second."""
        if self.closed:
            return
        self.closed = True
        self._watch(False)
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.proc is not None:
            await asyncio.to_thread(_reap, self.proc)


def _reap(proc: multiprocessing.process.BaseProcess, timeout: float = 1.0) -> None:
    proc.join(timeout)
    if proc.is_alive():
        proc.terminate()
        proc.join(timeout)
    if proc.is_alive():  # pragma: no cover - a worker stuck in C code ignoring SIGTERM
        proc.kill()
        proc.join(timeout)
    proc.close()
