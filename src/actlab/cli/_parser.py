"""The parser every ``actlab`` command shares, and the helpers its modules use."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from typing import Any, NoReturn


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr and exit status 2, like
    an :class:`~actlab.errors.ActlabError` (no usage block). Subcommand parsers inherit it
    (``add_subparsers`` makes parsers of the parent's class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def defaults(fn: Callable[..., Any]) -> dict[str, Any]:
    """The keyword defaults of a library function: the CLI's defaults come from there, never
    from a copy."""
    return {k: p.default for k, p in inspect.signature(fn).parameters.items() if p.default is not p.empty}


def define_option(p: argparse.ArgumentParser) -> None:
    """``--define 'NAME(p=1.0) = FORMULA'`` (repeatable): name a formula activation for this
    command, as ``actlab.define`` does; the command's activation specs may then use it,
    with parameters (``--set activations=NAME(p=2)``). ``main`` defines them before the
    command runs."""
    p.add_argument("--define", action="append", default=[], metavar="'NAME(p=V) = FORMULA'",
                   help="name a formula activation for this command, e.g. 'swish_b(b=1.0) = x * sigmoid(b * x)' "
                        "(repeatable)")


def positive_int(text: str) -> int:
    """An argparse type: a positive integer, also written as ``1e7``."""
    try:
        value = int(float(text)) if "e" in text.lower() else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value
