"""Overhead of actlab's torch bridge: ``actlab.torch.Activation`` against torch's native
functions, and ``actlab.torch.watch`` per training step.

Usage: .venv/bin/python benchmarks/torch_overhead.py [--n 10000000] [--repeat 5] [--steps 200]
           [--batch 128] [--threads 1 2] [--watch-threads 1] [--archs 784-64-10 784-256-256-10]
           [--skip-activations] [--clock wall|cpu] [--seed 0]

1. f + backward on ``n`` float32 elements (standard normal times 3, requires_grad), for
   relu, gelu, silu, tanh and softplus: ``y = act(x); y.backward(g)`` with
   ``act = actlab.torch.Activation(name)`` and with torch's own function (the peer of
   :mod:`actlab.verify.peers`), best of ``repeat``, timed round-robin; ratio actlab/torch
   (aim: within 1.5x). actlab's NumPy kernels run on one thread; torch is timed at each
   ``--threads`` count (its default on this machine is the number of cores). The
   ``kernels`` column times actlab's f, f' and the product f' * g on NumPy arrays alone,
   into preallocated arrays; ``bridge`` (actlab.torch / kernels) is what the torch
   wrapping adds: autograd, and allocating fresh outputs (page faults), as torch does too.
2. ``watch`` per training step on the 784-64-10 ReLU MLP of tutorial 004 (and, for scale,
   784-256-256-10; ``--archs``), SGD lr 0.1 momentum 0.9, cross-entropy, batches of
   ``batch`` MNIST training images:
   time per step over ``repeat`` blocks of ``steps`` steps without watch, with
   ``watch(model, optimizer, every=1)`` and with ``every=10``, blocks interleaved so a
   change of machine load hits all three alike; median and fastest block, and their
   ratios to the unwatched step (aim: under 1.10 at every=1). The steps run on
   ``--watch-threads`` torch threads (default 1: a shared machine disturbs it least).

``--clock wall`` (default) times with time.perf_counter; ``--clock cpu`` with
time.process_time (this process's CPU time, summed over torch's threads).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from actlab.data import load_mnist
from actlab.torch import Activation, watch
from actlab.verify import peers

ENTRIES = ("relu", "gelu", "silu", "tanh", "softplus")


def best(fns: dict[str, Callable[[], object]], repeat: int, clock: Callable[[], float]) -> dict[str, float]:
    """Best-of-``repeat`` seconds of each function, round-robin (one call of each per round)."""
    for fn in fns.values():
        fn()
    out = dict.fromkeys(fns, math.inf)
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = clock()
            fn()
            out[name] = min(out[name], clock() - t0)
    return out


def activation_overhead(n: int, repeat: int, threads: list[int], clock: Callable[[], float], seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.normal(size=n).astype(np.float32) * 3).requires_grad_(True)
    g = torch.ones(n)

    def step(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[], None]:
        def run() -> None:
            x.grad = None
            fn(x).backward(g)
        return run

    xn, gn = x.detach().numpy(), g.numpy()
    buf_f, buf_d = np.empty_like(xn), np.empty_like(xn)

    def kernels(b) -> Callable[[], None]:
        def run() -> None:  # what the bridge cannot avoid: actlab's f, f' and the product with g
            b.f(xn, out=buf_f)
            b.df(xn, out=buf_d)
            np.multiply(buf_d, gn, out=buf_d)
        return run

    print(f"f + backward, n = {n:,} float32, best of {repeat}; ms. kernels: actlab's f, f' and f' * g in NumPy "
          "alone; bridge = actlab.torch.Activation / kernels")
    print(f"  {'entry':<10} {'kernels':>8} {'actlab':>8} {'bridge':>6} "
          + " ".join(f"{f'torch {t}thr':>11} {'ratio':>6}" for t in threads))
    for name in ENTRIES:
        act = Activation(name)
        peer = peers.peer(name)
        params = act.act.params
        row = {}
        for t in threads:
            torch.set_num_threads(t)
            row[t] = best({"kernels": kernels(act.act), "actlab": step(act),
                           "torch": step(lambda v: peer.call(v, **params))}, repeat, clock)
        a = min(row[t]["actlab"] for t in threads)
        k = min(row[t]["kernels"] for t in threads)
        cells = " ".join(f"{row[t]['torch'] * 1e3:11.1f} {a / row[t]['torch']:6.2f}" for t in threads)
        print(f"  {name:<10} {k * 1e3:8.1f} {a * 1e3:8.1f} {a / k:6.2f} {cells}")


def mlp(arch: str) -> torch.nn.Module:
    """``"784-64-10"`` as Linear layers with ReLU between them (tutorial 004's network)."""
    sizes = [int(s) for s in arch.split("-")]
    layers: list[torch.nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def watch_overhead(arch: str, steps: int, batch: int, repeat: int, clock: Callable[[], float], seed: int,
                   threads: int) -> None:
    torch.set_num_threads(threads)
    X, y = load_mnist(split="train")
    X, y = torch.tensor(X[: steps * batch]), torch.tensor(y[: steps * batch])  # copies: load_mnist's are read-only
    torch.manual_seed(seed)
    model = mlp(arch)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train() -> None:
        for i in range(steps):
            xb, yb = X[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch]
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()

    def watched(every: int) -> Callable[[], None]:
        def run() -> None:
            with watch(model, optimizer=opt, every=every):
                train()
        return run

    runs = {"no watch": train, "every=1": watched(1), "every=10": watched(10)}
    for fn in runs.values():
        fn()  # warm up (allocations, the fx trace's caches)
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeat):
        for name, fn in runs.items():
            t0 = clock()
            fn()
            times[name].append((clock() - t0) / steps)
    base, fastest = statistics.median(times["no watch"]), min(times["no watch"])
    print(f"\nwatch on {arch} ReLU, SGD momentum, batch {batch}, {threads} torch thread(s); {repeat} blocks of "
          f"{steps} steps each, interleaved; us/step")
    print(f"  {'':<10} {'median':>8} {'ratio':>6} {'min':>8} {'ratio':>6}")
    for name, ts in times.items():
        med, low = statistics.median(ts), min(ts)
        print(f"  {name:<10} {med * 1e6:8.0f} {med / base:6.3f} {low * 1e6:8.0f} {low / fastest:6.3f}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10**7)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, nargs="+", default=[1, torch.get_num_threads()])
    p.add_argument("--watch-threads", type=int, default=1,
                   help="torch threads for the training steps (1: least sensitive to other load)")
    p.add_argument("--skip-activations", action="store_true", help="only the watch part")
    p.add_argument("--archs", nargs="+", default=["784-64-10", "784-256-256-10"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    a = p.parse_args(argv)
    clock = time.perf_counter if a.clock == "wall" else time.process_time
    default_threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {a.clock} clock")
    if not a.skip_activations:
        activation_overhead(a.n, a.repeat, sorted(set(a.threads)), clock, a.seed)
    torch.set_num_threads(default_threads)
    for arch in a.archs:
        watch_overhead(arch, a.steps, a.batch, a.repeat, clock, a.seed, a.watch_threads)


if __name__ == "__main__":
    main()
