"""Speed of actlab's exact GELU (f and f') against the naive SciPy formula and PyTorch.

Usage: .venv/bin/python benchmarks/gelu.py [--n 10000000] [--repeat 5] [--seed 0] [--clock wall|cpu]

For float32 and float64 arrays of n standard-normal values (times 3, so the tails are
exercised), it reports the best-of-``repeat`` time in ns/element of:

* ``copyto``      np.copyto of the array into a preallocated buffer (the memory floor);
* ``naive f``     0.5*x*(1 + scipy.special.erf(x/sqrt 2)) (the tutorials' formula, which
                  cancels for x < -3), and ``naive f'`` = ndtr(x) + x*phi(x);
* ``actlab f``    actlab.get("gelu").f(x, out=buf), and ``actlab f'`` likewise;
* ``torch f``     torch.nn.functional.gelu into a preallocated out (aten gelu.out) with
                  1 and 2 threads, and ``torch f'`` (aten gelu_backward with grad = 1);

and the ratios actlab/naive and actlab/torch. PyTorch is optional: without it those rows
are skipped. ``--clock wall`` (default) times with time.perf_counter; ``--clock cpu`` with
time.process_time, this process's CPU time, which a loaded shared machine inflates much
less (but for torch with 2 threads it is the sum over both threads, not elapsed time).
Compare ratios from one run rather than absolute figures across runs.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np
from scipy import special

import actlab


def best_ns(
    fns: dict[str, Callable[[], object]], n: int, repeat: int, clock: Callable[[], float] = time.perf_counter
) -> dict[str, float]:
    """Best-of-``repeat`` ns/element of each function, timed round-robin (one call of each
    per round), so a change of machine load between rounds affects all of them alike."""
    for fn in fns.values():
        fn()  # warm up (allocations, tables, thread pools)
    best = dict.fromkeys(fns, math.inf)
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = clock()
            fn()
            best[name] = min(best[name], clock() - t0)
    return {name: t / n * 1e9 for name, t in best.items()}


def naive_f(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.multiply(x, 1 / math.sqrt(2), out=out)
    special.erf(out, out=out)
    out += 1
    out *= x
    out *= 0.5
    return out


def naive_df(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    special.ndtr(x, out=out)
    out += x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10**7)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = p.parse_args(argv)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    try:
        import torch
    except ImportError:
        torch = None
    g = actlab.get("gelu")
    rng = np.random.default_rng(args.seed)
    base = rng.normal(size=args.n) * 3
    print(f"n = {args.n}, best of {args.repeat}, {args.clock} clock; ns/element")
    for dtype in (np.float32, np.float64):
        x = base.astype(dtype)
        buf = np.empty_like(x)
        fns: dict[str, Callable[[], object]] = {
            "copyto": lambda: np.copyto(buf, x),
            "naive f": lambda: naive_f(x, buf),
            "naive f'": lambda: naive_df(x, buf),
            "actlab f": lambda: g.f(x, out=buf),
            "actlab f'": lambda: g.df(x, out=buf),
        }
        rows = best_ns(fns, args.n, args.repeat, clock)
        if torch is not None:
            tx, tb = torch.from_numpy(x), torch.from_numpy(buf)
            ones = torch.ones_like(tx)
            for threads in (1, 2):
                torch.set_num_threads(threads)
                peer = {
                    f"torch f ({threads} thr)": lambda: torch.ops.aten.gelu.out(tx, out=tb),
                    f"torch f' ({threads} thr)": lambda: torch.ops.aten.gelu_backward.grad_input(
                        ones, tx, grad_input=tb
                    ),
                }
                rows.update(best_ns(peer, args.n, args.repeat, clock))
        print(f"\n{np.dtype(dtype).name}")
        for name, ns in rows.items():
            print(f"  {name:<18} {ns:8.2f}")
        ratios = [("actlab f / naive f", rows["actlab f"] / rows["naive f"]),
                  ("actlab f' / naive f'", rows["actlab f'"] / rows["naive f'"])]
        if torch is not None:
            for threads in (1, 2):
                ratios.append(
                    (f"actlab f / torch f ({threads} thr)", rows["actlab f"] / rows[f"torch f ({threads} thr)"])
                )
                ratios.append(
                    (f"actlab f' / torch f' ({threads} thr)", rows["actlab f'"] / rows[f"torch f' ({threads} thr)"])
                )
        for name, r in ratios:
            print(f"  {name:<30} {r:6.2f}")

if __name__ == "__main__":
    main()
