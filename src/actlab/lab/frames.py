"""Compact binary frames: what a training session streams to the page.

A frame is one WebSocket binary message::

    b"ALF1"  u32 (little-endian) length of the meta  meta (UTF-8 JSON, padded)  blobs

The meta holds the few scalars (step, epoch, steps/s, per-layer fractions) and, under
``"blobs"``, ``name -> [dtype, shape, offset, nbytes]`` for each array. Arrays are raw
little-endian bytes, each starting at a multiple of 8 bytes from the frame's start, so the
page views them in place (``new Float32Array(buffer, offset, n)``) without copying or
parsing: a 64x64 decision boundary is 4,096 bytes of uint8, not 4,096 JSON floats.

>>> import numpy as np
>>> data = encode({"step": 3}, {"heat": np.arange(6, dtype=np.uint8).reshape(2, 3)})
>>> meta, arrays = decode(data)
>>> meta["step"], arrays["heat"].tolist(), len(data) % 8
(3, [[0, 1, 2], [3, 4, 5]], 0)
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

__all__ = ["MAGIC", "DTYPES", "encode", "decode", "to_u8", "to_u8_signed", "rows_to_u8_signed"]

MAGIC = b"ALF1"
#: the dtypes a frame may carry, by the short names the page knows
DTYPES = {"u8": np.dtype("<u1"), "i8": np.dtype("<i1"), "u16": np.dtype("<u2"), "u32": np.dtype("<u4"),
          "f32": np.dtype("<f4"), "f64": np.dtype("<f8")}
_NAMES = {v: k for k, v in DTYPES.items()}


def _pad(n: int) -> int:
    return (-n) % 8


def encode(meta: dict[str, Any], blobs: dict[str, np.ndarray]) -> bytes:
    """One frame from JSON-able ``meta`` and arrays of the dtypes in :data:`DTYPES`."""
    arrays = []
    for name, a in blobs.items():
        a = np.ascontiguousarray(a)
        dt = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        if dt not in _NAMES:
            raise TypeError(f"frame blob {name!r}: dtype {a.dtype} is not one of {sorted(DTYPES)}")
        arrays.append((name, a.astype(dt, copy=False)))
    # offsets depend on the meta's length, which depends on the offsets: lay the blobs out
    # after a meta written with room to spare, then pad the final meta to that room
    table: dict[str, list] = {name: [_NAMES[a.dtype], list(a.shape), 0, a.nbytes] for name, a in arrays}
    probe = json.dumps({**meta, "blobs": table}, separators=(",", ":"), allow_nan=False).encode()
    head = 8 + len(probe) + 16 * len(arrays) + 64
    head += _pad(head)
    offset = head
    for name, a in arrays:
        table[name][2] = offset
        offset += a.nbytes + _pad(a.nbytes)
    text = json.dumps({**meta, "blobs": table}, separators=(",", ":"), allow_nan=False).encode()
    if 8 + len(text) > head:  # pragma: no cover - the room above is generous
        raise RuntimeError("frame meta outgrew its room")
    parts = [MAGIC, struct.pack("<I", head - 8), text, b" " * (head - 8 - len(text))]
    for _, a in arrays:
        parts += [a.tobytes(), b"\0" * _pad(a.nbytes)]
    return b"".join(parts)


def decode(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The meta and the arrays of a frame (for tests and the load benchmark)."""
    if data[:4] != MAGIC:
        raise ValueError("not an actlab lab frame")
    (n,) = struct.unpack("<I", data[4:8])
    meta = json.loads(data[8:8 + n])
    arrays = {}
    for name, (dt, shape, offset, nbytes) in meta.pop("blobs").items():
        arrays[name] = np.frombuffer(data, DTYPES[dt], count=nbytes // DTYPES[dt].itemsize,
                                     offset=offset).reshape(shape)
    return meta, arrays


def to_u8(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Values in [lo, hi] as 0..255 (clipped; NaN as 0): heatmaps cost one byte a cell."""
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = (np.asarray(a, dtype=np.float64) - lo) * (255.0 / (hi - lo) if hi > lo else 0.0)
    return np.clip(np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0), 0, 255).round().astype(np.uint8)


def to_u8_signed(a: np.ndarray, scale: float) -> np.ndarray:
    """Values in [-scale, scale] as 0..255 with 0 at 127.5 (the middle of a diverging palette)."""
    s = scale if scale > 0 and np.isfinite(scale) else 1.0
    return to_u8(a, -s, s)


def rows_to_u8_signed(a: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """:func:`to_u8_signed` of each row of ``a`` with its own scale, in one pass.

    >>> rows_to_u8_signed(np.array([[-1.0, 1.0], [0.0, 4.0]]), np.array([1.0, 0.0])).tolist()
    [[0, 255], [128, 255]]
    """
    s = np.where((scales > 0) & np.isfinite(scales), scales, 1.0).astype(np.float64)[:, None]
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = (np.asarray(a, dtype=np.float64) + s) * (127.5 / s)
    return np.clip(np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0), 0, 255).round().astype(np.uint8)
