"""Small kernel building blocks shared by several catalogue families."""

from __future__ import annotations

import threading

import numpy as np


def zeros_keep_nan(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """0 where x is a number (finite or infinite), NaN where x is NaN."""
    out[...] = 0
    np.copyto(out, x, where=np.isnan(x))
    return out


# Kernel temporaries. registry._apply runs large inputs through a kernel in 1 MB blocks;
# a fresh temporary per block is handed back to the system when freed and page-faulted in
# again by the next block (several ns per element, more than a pass of arithmetic: a
# float32 kernel computed in float64 took 30-45x a copy instead of 5-8x). So temporaries up
# to _POOL_MAX bytes are kept, one per (thread, slot, dtype), and reused.
_POOL = threading.local()
_POOL_MAX = 8 << 20


def scratch(like: np.ndarray, slot: str, dtype: np.dtype | type | None = None) -> np.ndarray:
    """An uninitialised array of ``like``'s shape (and ``dtype``, default ``like``'s) for a
    kernel temporary. ``slot`` names the call site: two temporaries alive at the same time
    must use different slots, and the array must not outlive the kernel call (never return
    it to the caller)."""
    dt = np.dtype(like.dtype if dtype is None else dtype)
    n = like.size
    if n * dt.itemsize > _POOL_MAX:
        return np.empty(like.shape, dt)
    bufs = _POOL.__dict__.setdefault("bufs", {})
    key = (slot, dt)
    buf = bufs.get(key)
    if buf is None or buf.size < n:
        buf = bufs[key] = np.empty(max(n, 1), dt)
    return buf[:n].reshape(like.shape)
