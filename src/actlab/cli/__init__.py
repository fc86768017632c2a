"""The ``actlab`` command line: a thin layer over the library.

One module per command group (:mod:`~actlab.cli.catalogue`, :mod:`~actlab.cli.data`,
:mod:`~actlab.cli.engine`, :mod:`~actlab.cli.claims`, :mod:`~actlab.cli.bench`), each with
an ``add(subparsers)`` function; a subcommand parses its arguments, calls the library and
prints. Usage errors and any :class:`~actlab.errors.ActlabError` are one line on stderr
and exit status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..errors import ActlabError
from . import bench, catalogue, claims, data, engine, lab
from ._parser import Parser

__all__ = ["build_parser", "main"]

#: the command groups, in the order ``actlab --help`` lists them
GROUPS = (lab, catalogue, data, claims, engine, bench)


def build_parser() -> Parser:
    parser = Parser(
        prog="actlab",
        description="A lab for neural-network activation functions: catalogue, engine, experiments, report.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "define", None):
            from .. import formula

            for text in args.define:
                formula.define_text(text)
        return int(args.func(args) or 0)
    except ActlabError as err:
        print(f"actlab {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"actlab {args.command}: interrupted; finished work is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
