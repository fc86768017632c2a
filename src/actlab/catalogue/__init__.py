"""The activation catalogue: one registry (:mod:`~actlab.catalogue.registry`) filled by the
family modules :mod:`~actlab.catalogue.piecewise`, :mod:`~actlab.catalogue.smooth`,
:mod:`~actlab.catalogue.gated` and :mod:`~actlab.catalogue.vector`, with their shared float
helpers in :mod:`~actlab.catalogue._kernels`. Importing this package registers every entry.
"""

from . import gated, piecewise, smooth, vector  # noqa: F401  (registration side effects)
from .registry import REGISTRY, ULP_BOUNDS, Activation, Bound, Param, get, iter_bound, lookup, names, parse_spec

__all__ = ["REGISTRY", "ULP_BOUNDS", "Activation", "Bound", "Param", "get", "iter_bound", "lookup", "names",
           "parse_spec"]
