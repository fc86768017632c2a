"""actlab: a lab for neural-network activation functions.

>>> import actlab
>>> relu = actlab.get("relu")
>>> relu([-1.0, 2.0]), relu.df([-1.0, 2.0])
(array([0., 2.]), array([0., 1.]))

A spec that contains the variable x is a formula (``actlab.get("x * sigmoid(1.702 * x)")``,
``actlab.define("x * sigmoid(b * x)", name="swish_b", b=1.0)``; docs/formula.md).

The façade holds the catalogue's API; the rooms load on first use (``actlab.nn``,
``actlab.data``, ``actlab.claims``, ...), so ``import actlab`` stays light. The map of
the rooms is ``docs/architecture.md``.
"""

import importlib
from typing import Any

from .catalogue import REGISTRY, Activation, Bound, Param, get, lookup, names, parse_spec
from .errors import ActlabError, InvalidParameterError, UnknownNameError
from .formula import define  # importing the room installs the registry's resolver of formula specs

__version__ = "0.1.0"

#: the rooms, loaded when first touched (``actlab.nn`` works without ``import actlab.nn``)
_ROOMS = ("bench", "catalogue", "claims", "cli", "data", "errors", "formula", "lab", "nn", "plots", "runs", "torch",
          "verify")

__all__ = [
    "REGISTRY",
    "Activation",
    "ActlabError",
    "Bound",
    "InvalidParameterError",
    "Param",
    "UnknownNameError",
    "define",
    "get",
    "lookup",
    "names",
    "parse_spec",
]


def __getattr__(name: str) -> Any:
    if name in _ROOMS:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
