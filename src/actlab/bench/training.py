"""Training-throughput benchmark of the engine (``actlab bench train``).

For each architecture and batch size, one run measures, on MNIST with real shuffled
batches:

* **actlab**: :func:`actlab.nn.fit` (gather with ``np.take`` into a reused buffer, forward,
  fused softmax cross-entropy, backward, SGD with momentum 0.9), float32;
* **torch**: the same step in PyTorch CPU (``index_select`` gather, ``nn.Linear``/ReLU,
  ``cross_entropy``, ``backward``, ``optim.SGD(momentum=0.9)``), float32, at the same
  number of threads as NumPy's BLAS (:func:`threads`; run with OPENBLAS_NUM_THREADS=1
  for a one-thread comparison, which a machine shared with other jobs disturbs less);
* **sgemm**: the rate of one large float32 matrix product (2048^3) in NumPy, the ceiling
  a BLAS-bound engine can approach on this machine.

Reported: examples/s of both, their ratio, and the engine's achieved FLOP rate (the
products it actually performs: forward x W, backward xᵀ g and g Wᵀ except for the first
layer) as a share of the sgemm rate. Times are the best of ``repeat`` runs, the two
engines interleaved so that load from other processes affects both alike.

``clock="cpu"`` times everything (both engines and sgemm) by the CPU time of the
process (``time.process_time``, all its threads) instead of wall time: on a machine
shared with other jobs the wall time counts the time slices other processes take, the
CPU time does not. At one thread it is the honest measure of the work each engine does;
at several threads it also counts BLAS threads that spin while waiting. The load
average at the start and end is recorded.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._io import write_markdown_json

__all__ = ["sgemm_rate", "step_flops", "run", "text", "write", "CLOCKS"]

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}

TARGET_RATIO = {"784-64-10": 2.0}
TARGET_RATIO_DEFAULT = 1.5
TARGET_SHARE = {"784-64-10": 0.50, "784-256-256-10": 0.85}


def threads() -> int:
    """NumPy's BLAS thread count: $OPENBLAS_NUM_THREADS / $OMP_NUM_THREADS if set (they
    must be set before NumPy starts), else every core this process may use."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def sgemm_rate(n: int = 2048, repeat: int = 5, clock: Any = time.perf_counter) -> float:
    """FLOP/s of a float32 n x n x n product in NumPy (best of ``repeat``, timed by ``clock``)."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    c = np.empty((n, n), np.float32)
    np.matmul(a, b, out=c)
    best = float("inf")
    for _ in range(repeat):
        t = clock()
        np.matmul(a, b, out=c)
        best = min(best, clock() - t)
    return 2.0 * n**3 / best


def step_flops(sizes: Sequence[int], batch: int) -> int:
    """Multiply-adds x 2 of one training step: forward, dW for every layer, dX for all but
    the first (elementwise work is not counted)."""
    total = 0
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        total += 2 * batch * a * b * (2 if i == 0 else 3)
    return total


def _actlab_time(arch: str, X: np.ndarray, y: np.ndarray, batch: int, steps: int, clock: Any) -> float:
    from .. import nn

    model = nn.mlp(arch, seed=0)
    nn.fit(model, X, y, lr=0.01, momentum=0.9, batch_size=batch, epochs=1, max_steps=20, progress=False)  # warm-up
    t = clock()
    nn.fit(model, X, y, lr=0.01, momentum=0.9, batch_size=batch, epochs=1, max_steps=steps, progress=False, seed=1)
    return clock() - t


def _torch_time(arch: str, X: Any, y: Any, batch: int, steps: int, clock: Any) -> float:
    import torch

    sizes = [int(s) for s in arch.split("-")]
    torch.manual_seed(0)
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    n = X.shape[0]

    def epoch(k: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        perm = torch.randperm(n, generator=g)
        for s in range(k):
            idx = perm[s * batch:(s + 1) * batch]
            xb = torch.index_select(X, 0, idx)
            yb = torch.index_select(y, 0, idx)
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()

    epoch(20, 0)
    t = clock()
    epoch(steps, 1)
    return clock() - t


def run(archs: Sequence[str] = ("784-64-10", "784-256-256-10"), batch_sizes: Sequence[int] = (32, 128),
        steps: int = 300, repeat: int = 3, sgemm_size: int = 2048, clock: str = "wall") -> dict[str, Any]:
    """Measure every (arch, batch size); see the module docstring. ``sgemm_size`` is the
    side of the reference product (smaller only to test the command quickly)."""
    import torch

    from .. import nn
    from ..data import load_mnist
    from ..errors import check_choice, check_int

    clock = check_choice(clock, "clock", "bench train", tuple(CLOCKS))
    tick = CLOCKS[clock]
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    steps = check_int(steps, "steps", "bench train", low=1)
    repeat = check_int(repeat, "repeat", "bench train", low=1)
    for b in batch_sizes:
        check_int(b, "batch_size", "bench train", low=1)
    sizes_of = {a: nn.parse_arch(a) for a in archs}
    nthreads = threads()
    torch.set_num_threads(nthreads)
    X, y = load_mnist(split="train")
    steps = min(steps, len(X) // max(batch_sizes))
    Xt, yt = torch.from_numpy(np.array(X)), torch.from_numpy(np.array(y))  # writable copies (the data is read-only)
    sgemm = sgemm_rate(sgemm_size, clock=tick)
    rows = []
    for arch in archs:
        for b in batch_sizes:
            ta = tt = float("inf")
            for _ in range(repeat):
                ta = min(ta, _actlab_time(arch, X, y, b, steps, tick))
                tt = min(tt, _torch_time(arch, Xt, yt, b, steps, tick))
            flops = step_flops(sizes_of[arch], b) * steps
            rows.append({
                "arch": arch, "batch_size": b, "steps": steps,
                "actlab_examples_per_s": b * steps / ta, "torch_examples_per_s": b * steps / tt,
                "ratio": tt / ta, "actlab_gflops": flops / ta / 1e9,
                "target_ratio": TARGET_RATIO.get(arch, TARGET_RATIO_DEFAULT),
                "target_share": TARGET_SHARE.get(arch) if b == 128 else None,
            })
    sgemm2 = sgemm_rate(sgemm_size, clock=tick)  # again at the end: the load may have changed
    for r in rows:  # share of the better of the two: what the machine can do
        r["sgemm_share"] = r["actlab_gflops"] * 1e9 / max(sgemm, sgemm2)
    return {"rows": rows, "sgemm_gflops": max(sgemm, sgemm2) / 1e9,
            "sgemm_gflops_start_end": [sgemm / 1e9, sgemm2 / 1e9],
            "threads": nthreads, "clock": clock,
            "load_average_start_end": [load_start, os.getloadavg()[0] if hasattr(os, "getloadavg") else None],
            "numpy": np.__version__, "torch": torch.__version__,
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "command": ("OPENBLAS_NUM_THREADS=" + os.environ["OPENBLAS_NUM_THREADS"] + " "
                        if "OPENBLAS_NUM_THREADS" in os.environ else "")
                       + f"actlab bench train --arch {' '.join(archs)} "
                         f"--batch-sizes {' '.join(map(str, batch_sizes))} "
                         f"--steps {steps} --repeat {repeat} --clock {clock}"}


def text(result: dict[str, Any]) -> str:
    load = result.get("load_average_start_end") or [None, None]
    loaded = (f"; load average {load[0]:.1f}/{load[1]:.1f} at start/end" if None not in load else "")
    head = (f"training throughput, float32, {result['threads']} threads, {result.get('clock', 'wall')} time; "
            f"sgemm {result['sgemm_gflops']:.0f} GFLOP/s "
            f"(start/end {result['sgemm_gflops_start_end'][0]:.0f}/{result['sgemm_gflops_start_end'][1]:.0f}){loaded}")
    lines = [head, "",
             "| arch | batch | actlab ex/s | torch ex/s | actlab/torch (target) | GFLOP/s | share of sgemm (target) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in result["rows"]:
        share_t = f" ({r['target_share']:.0%})" if r["target_share"] else ""
        lines.append(f"| {r['arch']} | {r['batch_size']} | {r['actlab_examples_per_s']:,.0f} | "
                     f"{r['torch_examples_per_s']:,.0f} | {r['ratio']:.2f}x ({r['target_ratio']:.1f}x) | "
                     f"{r['actlab_gflops']:.1f} | {r['sgemm_share']:.0%}{share_t} |")
    lines.append("")
    lines.append(f"command: {result['command']}")
    return "\n".join(lines)


def write(result: dict[str, Any], out: str | os.PathLike) -> list[str]:
    """Write ``train.md`` (the table of :func:`text`) and ``train.json`` into ``out`` atomically."""
    return write_markdown_json(out, "train", text(result), result)
