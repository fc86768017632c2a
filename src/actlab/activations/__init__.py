"""The activation catalogue, by family. Importing this package registers every entry."""

from . import piecewise, smooth, gated, vector  # noqa: F401  (registration side effects)
