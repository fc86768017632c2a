"""``actlab list``, ``plot``, ``gallery`` and ``accuracy``: the catalogue and its checks."""

from __future__ import annotations

import argparse
import os

from .. import plots
from ..catalogue import iter_bound
from ._parser import defaults, define_option, positive_int


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list the activation catalogue with its properties and aliases")
    p.set_defaults(func=_list)

    p = sub.add_parser("plot", help="plot activations with their derivatives")
    p.add_argument("names", nargs="+", metavar="NAME", help="registry entries or specs, e.g. 'elu(alpha=0.5)'")
    p.add_argument("--derivative", action="store_true", help="add a panel with f'")
    p.add_argument("--second", action="store_true", help="add a panel with f''")
    p.add_argument("--param", action="append", default=[], metavar="NAME=V1,V2",
                   help="sweep a parameter: one curve per value (repeatable)")
    p.add_argument("--xlim", nargs=2, type=float, default=defaults(plots.plot)["xlim"], metavar=("LO", "HI"))
    p.add_argument("--out", default="activation.png", metavar="FILE", help=".png or .svg")
    define_option(p)
    p.set_defaults(func=_plot)

    p = sub.add_parser("gallery", help="one figure per registry entry")
    p.add_argument("--out", default="results/gallery", metavar="DIR")
    p.add_argument("--names", nargs="+", metavar="NAME", help="registry entries (default: all)")
    p.add_argument("--format", default=defaults(plots.gallery)["fmt"], choices=["png", "svg"])
    define_option(p)
    p.set_defaults(func=_gallery)

    p = sub.add_parser("accuracy", help="max ulp error of f and f' vs mpmath, beside naive and torch")
    p.add_argument("--names", nargs="+", metavar="NAME", help="registry entries (default: all)")
    p.add_argument("--out", default="results/accuracy", metavar="DIR", help="writes accuracy.md and accuracy.json")
    p.add_argument("--jobs", type=positive_int, default=None, help="worker processes (default: min(2, cpus))")
    define_option(p)
    p.set_defaults(func=_accuracy)


def _list(a: argparse.Namespace) -> int:
    for b in iter_bound():
        d = b.definition
        kind = "vector" if d.vector else d.smoothness
        props = " ".join(w for w, on in (("monotonic", d.monotonic), ("zero-centred", d.zero_centred)) if on)
        aliases = f"  aliases: {', '.join(d.aliases)}" if d.aliases else ""
        print(f"{b.spec:28s} {kind:8s} range={b.range}  {props}{aliases}".rstrip())
    return 0


def _plot(a: argparse.Namespace) -> int:
    fig = plots.plot(a.names, derivative=a.derivative, second=a.second, params=plots.parse_sweeps(a.param),
                     xlim=tuple(a.xlim))
    print(f"wrote {plots.save(fig, a.out)}")
    return 0


def _gallery(a: argparse.Namespace) -> int:
    for path in plots.gallery(a.out, names=a.names, fmt=a.format, progress=True):
        print(f"wrote {path}")
    return 0


def _accuracy(a: argparse.Namespace) -> int:
    from ..verify import accuracy  # loads mpmath: only for this command

    jobs = a.jobs or min(2, os.cpu_count() or 1)
    partial = os.path.join(a.out, ".accuracy.partial.json")
    result = accuracy.table(a.names, jobs=jobs, partial=partial, progress=True)
    print(accuracy.text(result))
    cmd = "actlab accuracy" + (f" --names {' '.join(a.names)}" if a.names else "") + f" --out {a.out}"
    for path in accuracy.write_table(result, a.out, command=cmd):
        print(f"wrote {path}")
    os.remove(partial)
    return 0
