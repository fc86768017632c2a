"""actlab: a lab for neural-network activation functions.

>>> import actlab
>>> relu = actlab.get("relu")
>>> relu([-1.0, 2.0]), relu.df([-1.0, 2.0])
(array([0., 2.]), array([0., 1.]))
"""

from . import activations as _activations  # noqa: F401  (fills the registry)
from .errors import ActlabError, InvalidParameterError, UnknownNameError
from .registry import REGISTRY, Activation, Bound, Param, get, lookup, names, parse_spec

__version__ = "0.1.0"

__all__ = [
    "REGISTRY",
    "Activation",
    "ActlabError",
    "Bound",
    "InvalidParameterError",
    "Param",
    "UnknownNameError",
    "get",
    "lookup",
    "names",
    "parse_spec",
]
