"""Load on ``actlab lab``: K WebSocket clients training the Playground for T seconds.

Usage: .venv/bin/python benchmarks/lab_load.py [--clients 8] [--seconds 60] [--url URL] [--cpus 0]

Starts the lab (``actlab.lab.app.serve``, a separate process on a free port; or uses
``--url`` of a running one), opens K WebSocket sessions, sends each the issue's
reference run (2-8-8-2 tanh, batch 10, circle, learning rate 0.03) and "play", and reads
frames for T seconds. Only the frame header is parsed (the step counter), so the client
costs little of the CPU it shares with the server. It prints, per session and overall:

* steps/s: training steps per wall-clock second, from the step counters of the frames;
* frames/s and the gaps between frames: median, p99 and maximum (ms);
* the server's memory: resident set of the server process and all its children (the
  fork server and the session workers), sampled every second: first, last, maximum and
  the slope of a straight line fitted to the samples (MB per minute; flat is about 0);
* for reference, this machine's engine alone on the same net (steps/s of a bare loop of
  ``model.forward`` / ``loss`` / ``backward`` / ``optimizer.step``, in this process),
  the load average and the core count, because on a shared machine every figure moves.

``--cpus 0`` runs the server under ``taskset -c 0`` (one core, as the issue's single
session figure asks).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CONFIG = {"kind": "playground", "dataset": "circle", "features": ["x1", "x2"], "batch": 10, "lr": 0.03,
          "layers": [{"units": 8, "activation": "tanh"}, {"units": 8, "activation": "tanh"}], "seed": 0}


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def rss_tree(pid: int) -> float:
    """Resident memory (MB) of ``pid`` and all its descendants."""
    total = 0
    for p in _tree(pid):
        try:
            m = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{p}/status").read_text())
            total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total / 1024


def cpu_tree(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each process of the tree."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for p in _tree(pid):
        try:
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            out[p] = (int(f[11]) + int(f[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return out


async def client(url: str, seconds: float, out: dict, started: asyncio.Barrier, measured: asyncio.Barrier,
                 release: asyncio.Event) -> None:
    import websockets

    ws_url = url.replace("http://", "ws://").rstrip("/") + "/ws"
    origin = url.rstrip("/")
    async with websockets.connect(ws_url, origin=origin, max_size=2**24) as ws:
        await ws.send(json.dumps({"type": "config", "config": CONFIG}))
        await ws.send(json.dumps({"type": "play"}))
        times, steps = [], []
        end = None
        while True:
            msg = await ws.recv()
            now = time.perf_counter()
            if isinstance(msg, str):
                raise RuntimeError(f"the lab answered: {msg}")
            (n,) = struct.unpack("<I", msg[4:8])
            meta = json.loads(msg[8:8 + n])
            if meta.get("type") != "frame" or not meta.get("playing"):
                continue
            if end is None:
                # the window opens when every session trains (its worker started, warmed up)
                await started.wait()
                await asyncio.sleep(0)
                end = time.perf_counter() + seconds
                continue
            times.append(now)
            steps.append(meta["step"])
            if now >= end:
                break
        out.update(times=times, steps=steps)
        # keep the session open until the CPU counters are read (a closed one has no process)
        await measured.wait()
        await release.wait()


def summary(out: dict) -> dict:
    t, s = np.array(out["times"]), np.array(out["steps"])
    gaps = np.diff(t) * 1e3
    span = t[-1] - t[0]
    return {"steps_per_s": (s[-1] - s[0]) / span, "frames_per_s": (len(t) - 1) / span,
            "gap_median_ms": float(np.median(gaps)), "gap_p99_ms": float(np.percentile(gaps, 99)),
            "gap_max_ms": float(gaps.max())}


def engine_alone(seconds: float = 3.0) -> float:
    """Steps/s of the bare engine loop on the reference net (this process, one thread)."""
    from actlab import nn
    from actlab.data import playground

    X, y = playground("circle", 500, 0.0, seed=0)
    X = X[:250].astype(np.float32)
    y = y[:250]
    m = nn.mlp("2-8-8-2", activation="tanh", output="softmax", init="xavier_uniform", seed=0)
    loss, opt = nn.SoftmaxCrossEntropy(), nn.make_optimizer("sgd", m.parameters(), 0.03)
    rng = np.random.default_rng(0)
    xb, yb = np.empty((10, 2), np.float32), np.empty(10, np.int64)
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        order = rng.permutation(250)
        for s in range(0, 250, 10):
            idx = order[s:s + 10]
            X.take(idx, axis=0, out=xb, mode="clip")
            y.take(idx, axis=0, out=yb, mode="clip")
            lv = loss.forward(m.forward(xb, True, copy=False), yb)
            m.backward(loss.backward())
            opt.step()
            steps += 1
    del lv
    return steps / (time.perf_counter() - t0)


async def run(url: str, k: int, seconds: float, pid: int | None) -> tuple[list[dict], list[tuple[float, float]], dict]:
    outs = [{} for _ in range(k)]
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    started = asyncio.Barrier(k + 1)
    measured = asyncio.Barrier(k + 1)
    release = asyncio.Event()
    cpu: dict = {}

    async def sample() -> None:
        await started.wait()
        await asyncio.sleep(1.0)  # past the first slices
        t0 = time.perf_counter()
        cpu["before"] = cpu_tree(pid) if pid is not None else {}
        cpu["t0"] = t0
        while not stop.is_set():
            if pid is not None:
                samples.append((time.perf_counter() - t0, rss_tree(pid)))
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass

    sampler = asyncio.create_task(sample())
    clients = asyncio.ensure_future(asyncio.gather(*(client(url, seconds, o, started, measured, release)
                                                     for o in outs)))
    waiting = asyncio.ensure_future(measured.wait())
    await asyncio.wait([clients, waiting], return_when=asyncio.FIRST_COMPLETED)
    if clients.done():  # a client failed (busy, refused, an error message): report it
        waiting.cancel()
        sampler.cancel()
        clients.result()
    if pid is not None:
        cpu["after"], cpu["t1"] = cpu_tree(pid), time.perf_counter()
    release.set()
    await clients
    stop.set()
    await sampler
    return outs, samples, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--url", default=None, help="a running lab (default: start one)")
    ap.add_argument("--cpus", default=None, help="run the started server under taskset -c CPUS (e.g. 0)")
    a = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    proc = None
    url = a.url
    if url is None:
        code = ("from actlab.lab.app import serve; "
                f"serve(open_browser=False, max_sessions={max(a.clients, 1)}, report=None)")
        cmd = [sys.executable, "-c", code]
        if a.cpus is not None:
            cmd = ["taskset", "-c", a.cpus, *cmd]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
    try:
        base = engine_alone()
        outs, samples, cpu = asyncio.run(run(url, a.clients, a.seconds, proc.pid if proc else None))
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGINT)
            proc.wait(15)
    rows = [summary(o) for o in outs]
    print(f"actlab lab under load: {a.clients} session(s) x {a.seconds:g} s, 2-8-8-2 tanh batch 10 "
          f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}"
          f"{', server on CPUs ' + a.cpus if a.cpus else ''})")
    print(f"engine alone, this process: {base:,.0f} steps/s")
    print(f"{'session':>7} {'steps/s':>9} {'frames/s':>9} {'gap p50':>8} {'gap p99':>8} {'gap max':>8}")
    for i, r in enumerate(rows):
        print(f"{i + 1:7d} {r['steps_per_s']:9,.0f} {r['frames_per_s']:9.1f} {r['gap_median_ms']:7.0f}ms "
              f"{r['gap_p99_ms']:6.0f}ms {r['gap_max_ms']:6.0f}ms")
    print(f"{'min':>7} {min(r['steps_per_s'] for r in rows):9,.0f} {min(r['frames_per_s'] for r in rows):9.1f} "
          f"{'':>8} {max(r['gap_p99_ms'] for r in rows):6.0f}ms")
    print(f"{'total':>7} {sum(r['steps_per_s'] for r in rows):9,.0f} {sum(r['frames_per_s'] for r in rows):9.1f}")
    if cpu.get("after"):
        used = {p: c - cpu["before"].get(p, 0.0) for p, c in cpu["after"].items()}
        server = used.get(proc.pid, 0.0)
        workers = sum(v for p, v in used.items() if p != proc.pid)
        wall = cpu["t1"] - cpu["t0"]
        steps = sum(r["steps_per_s"] for r in rows) * wall
        print(f"CPU over the window: server process {server / wall:.0%} of a core, session workers "
              f"{workers / wall:.0%} of a core in all; {steps / max(workers, 1e-9):,.0f} training steps per "
              "CPU-second of the workers (frames included)")
    if samples:
        t, mb = np.array(samples).T
        slope = np.polyfit(t / 60, mb, 1)[0] if len(t) > 2 else 0.0
        print(f"server memory (server + fork server + workers): first {mb[0]:.0f} MB, last {mb[-1]:.0f} MB, "
              f"max {mb.max():.0f} MB, slope {slope:+.2f} MB/min over {t[-1]:.0f} s "
              f"({statistics.mean(mb):.0f} MB mean)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
