"""Accuracy of the catalogue against mpmath, in units in the last place (ulp).

The error of a float result ``a`` against the exact value ``r`` is ``|a - r| / ulp(r)``,
where ``ulp(r)`` is the spacing of the dtype at ``r`` rounded to that dtype (the smallest
subnormal when it rounds to 0). A correctly rounded result has error <= 0.5; a result
that is inf or NaN where the reference is not (or the other way round) has error inf.
"""

from __future__ import annotations

import numpy as np
from mpmath import mp, mpf

from . import reference
from .registry import Bound

__all__ = ["ulp_errors", "grid", "vector_rows"]


def ulp_errors(actual: np.ndarray, exact: list[object], dtype: np.dtype | type) -> np.ndarray:
    """Elementwise error of ``actual`` (in ``dtype``) against mpf values (None = NaN), in ulp."""
    dtype = np.dtype(dtype)
    actual = np.asarray(actual, dtype=dtype).ravel()
    rounded = reference.to_float(exact, dtype)
    errors = np.zeros(actual.size)
    with mp.workdps(reference.DPS):
        for i, (a, r, e) in enumerate(zip(actual, rounded, exact)):
            if np.isnan(r) or np.isinf(r) or np.isnan(a) or np.isinf(a):
                same = (np.isnan(a) and np.isnan(r)) or a == r
                errors[i] = 0.0 if same else np.inf
                continue
            # exact value of the spacing of dtype at |r| (spacing(0) is the smallest subnormal)
            with np.errstate(under="ignore"):  # spacing of a subnormal is a subnormal
                spacing = mpf(float(np.spacing(np.abs(r).astype(dtype))))
            errors[i] = float(abs(mpf(float(a)) - e) / spacing)
    return errors


@np.errstate(over="ignore", under="ignore")  # the grid holds subnormals and overflows on purpose
def grid(dtype: np.dtype | type, act: Bound | None = None, n: int = 400) -> np.ndarray:
    """The dense test grid of the accuracy contract, as exact values of ``dtype``.

    It holds a uniform grid on [-10, 10], both signs of 10^k for k from the smallest
    normal up to the largest finite power, +-0, +-tiny, +-1e-300 (float64), the
    overflow edges of exp (+-88.7 float32, +-709.8 float64, with neighbours), +-1e4,
    +-inf, NaN, and each kink of ``act`` with its two neighbouring floats.
    """
    dtype = np.dtype(dtype)
    fi = np.finfo(dtype)
    pts: list[float] = list(np.linspace(-10.0, 10.0, n))
    for k in range(int(np.log10(fi.tiny)), int(np.log10(fi.max)) + 1):
        pts += [10.0**k, -(10.0**k)]
    for k in np.linspace(-3, 3, 25):  # log-spaced magnitudes around the interesting range
        pts += [10.0**k, -(10.0**k)]
    edge = 88.7 if dtype == np.float32 else 709.8
    for v in (edge, 88.72283, 89.4, 103.97, 709.78, 710.0, 745.13, 1e4, 1e-300, 37.0, 17.0, 20.0, 30.0, 3.0):
        pts += [v, -v]
    pts += [0.0, -0.0, float(fi.tiny), -float(fi.tiny), float(fi.smallest_subnormal), np.inf, -np.inf, np.nan]
    x = np.array(pts, dtype=np.float64)
    x = x.astype(dtype)
    x = x[np.isfinite(x) | np.isinf(np.array(pts)) | np.isnan(np.array(pts))]
    if act is not None:
        for k in act.kinks:
            kk = np.array(k, dtype=dtype)
            x = np.concatenate([x, [kk, np.nextafter(kk, dtype.type(np.inf)), np.nextafter(kk, dtype.type(-np.inf))]])
    # unique, keeping -0.0 and one NaN
    finite = np.unique(x[~np.isnan(x)])
    extra = [dtype.type(-0.0)] if 0.0 in finite else []
    return np.concatenate([finite, np.array(extra, dtype=dtype), np.array([np.nan], dtype=dtype)]).astype(dtype)


def vector_rows(dtype: np.dtype | type, seed: int = 0) -> list[np.ndarray]:
    """Rows for the vector functions: random rows of length 2 to 1000 at several scales,
    plus rows with entries beyond the overflow edge of exp."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    rows = []
    for n, scale in ((2, 1.0), (3, 10.0), (10, 1.0), (10, 100.0), (100, 3.0), (1000, 1.0), (1000, 30.0)):
        rows.append(rng.normal(0.0, scale, size=n))
    rows.append(np.array([800.0, 799.0, -800.0, 0.0]))
    rows.append(np.array([100.0, 0.0, -100.0, 50.0]))
    rows.append(np.array([0.3, 2.9, 4.0]))  # tutorial 003's example
    return [r.astype(dtype) for r in rows]
