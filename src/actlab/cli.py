"""The ``actlab`` command line: a thin layer over the library.

Each subcommand parses its arguments, calls one library function and prints. Any
:class:`~actlab.errors.ActlabError` becomes one line on stderr and exit status 2, like
argparse's own usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .errors import ActlabError

Handler = Callable[[argparse.Namespace], int | None]


def _catalogue(sub: argparse._SubParsersAction) -> None:
    from . import registry

    p = sub.add_parser("list", help="list the activation catalogue with its properties")
    p.set_defaults(func=lambda a: _print_catalogue(registry))


def _print_catalogue(registry) -> int:
    for b in registry.iter_bound():
        d = b.definition
        kind = "vector" if d.vector else d.smoothness
        print(f"{b.spec:28s} {kind:8s} range={b.range}  {'monotonic ' if d.monotonic else ''}"
              f"{'zero-centred' if d.zero_centred else ''}")
    return 0


# Each concern adds its subcommands here, in its own function.
SECTIONS: list[Callable[[argparse._SubParsersAction], None]] = [_catalogue]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="actlab",
        description="A lab for neural-network activation functions: catalogue, engine, experiments, report.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SECTIONS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ActlabError as err:
        print(f"actlab {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"actlab {args.command}: interrupted; finished work is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
