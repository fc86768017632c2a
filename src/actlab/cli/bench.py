"""``actlab bench kernels`` and ``actlab bench train``: speed, measured (never in tests)."""

from __future__ import annotations

import argparse

from ..bench import kernels, training
from ._parser import defaults, positive_int


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks (speed is measured here, never in tests)")
    bench = p.add_subparsers(dest="bench", required=True, metavar="BENCH")

    k = defaults(kernels.kernels)
    b = bench.add_parser("kernels", help="ns/element of f and f' vs naive NumPy, torch, copy")
    b.add_argument("--n", type=positive_int, default=k["n"], help=f"elements per array (default {k['n']:.0e})")
    b.add_argument("--names", nargs="+", metavar="NAME", help="registry entries (default: all elementwise)")
    b.add_argument("--repeat", type=positive_int, default=k["repeat"],
                   help="timings per measurement; the median is kept")
    b.add_argument("--dtypes", nargs="+", default=list(k["dtypes"]), choices=["float32", "float64"])
    b.add_argument("--out", default="results/bench", metavar="DIR", help="writes kernels.md and kernels.json")
    b.set_defaults(func=_kernels)

    t = defaults(training.run)
    b = bench.add_parser("train", help="training throughput vs PyTorch CPU and the sgemm rate")
    b.add_argument("--arch", nargs="+", default=list(t["archs"]))
    b.add_argument("--batch-sizes", nargs="+", type=positive_int, default=list(t["batch_sizes"]))
    b.add_argument("--steps", type=positive_int, default=t["steps"], help="timed steps per configuration")
    b.add_argument("--repeat", type=positive_int, default=t["repeat"],
                   help="timings per configuration; the best is kept")
    b.add_argument("--clock", default=t["clock"], choices=list(training.CLOCKS),
                   help="wall time, or CPU time of the process (fairer on a machine shared with other jobs)")
    b.add_argument("--out", default="results/bench", metavar="DIR", help="writes train.md and train.json")
    b.set_defaults(func=_train)


def _kernels(a: argparse.Namespace) -> int:
    cmd = f"actlab bench kernels --n {a.n} --repeat {a.repeat}" + (f" --names {' '.join(a.names)}" if a.names else "")
    cmd += f" --dtypes {' '.join(a.dtypes)} --out {a.out}"
    result = kernels.kernels(n=a.n, names=a.names, repeat=a.repeat, dtypes=tuple(a.dtypes), progress=True)
    print(kernels.text(result))
    for path in kernels.write(result, a.out, command=cmd):
        print(f"wrote {path}")
    return 0


def _train(a: argparse.Namespace) -> int:
    result = training.run(archs=a.arch, batch_sizes=a.batch_sizes, steps=a.steps, repeat=a.repeat, clock=a.clock)
    print(training.text(result))
    for path in training.write(result, a.out):
        print(f"wrote {path}")
    return 0
