"""Small kernel building blocks shared by several catalogue families."""

from __future__ import annotations

import numpy as np


def zeros_keep_nan(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """0 where x is a number (finite or infinite), NaN where x is NaN."""
    out[...] = 0
    np.copyto(out, x, where=np.isnan(x))
    return out
