"""High-precision references for every registry entry, evaluated with mpmath.

These are the mathematical definitions written as plainly as possible (no numerical
tricks: mpmath at 50 significant digits does not need them), so they are an independent
check of the float kernels in :mod:`actlab.activations`, which must use stable formulas.

Formulas must not cancel more digits than the working precision holds anywhere on the
test grid (|x| <= 1e4): use exact identities such as 1 - sigma(x) = sigma(-x), expm1 and
log1p where a plain form would cancel for large |x|. Near 0, :func:`evaluate` raises the
precision by -log10|x| digits itself, so small-x cancellation needs no care.

An elementwise entry gives ``f``, ``df`` and (where the catalogue has one) ``d2f`` as
functions of one ``mpf`` and the parameters. Values at +-inf are the limits of f at
+-10^400 when those agree with the values at +-10^401 after rounding to float64, NaN
otherwise (no limit, e.g. sin). At a kink, ``df`` is not consulted: the catalogue's
convention is checked instead. A vector entry gives ``f`` (and ``jacobian``) as functions
of a list of ``mpf`` along the axis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import mpmath
import numpy as np
from mpmath import mp, mpf

__all__ = ["DPS", "Reference", "REFERENCES", "reference", "evaluate", "evaluate_rows", "to_float"]

DPS = 50
HUGE = mpf(10) ** 400

MpFn = Callable[..., mpf]


@dataclass(frozen=True)
class Reference:
    f: Callable[..., object]
    df: Callable[..., object] | None = None
    d2f: Callable[..., object] | None = None
    jacobian: Callable[..., object] | None = None  # vector entries: list -> list of rows


REFERENCES: dict[str, Reference] = {}


def reference(name: str, *, vector: bool = False) -> Callable[[type], Reference]:
    """Register the class body below (``f``, ``df``, ``d2f`` or ``jacobian``) as the reference of ``name``."""

    def register(cls: type) -> Reference:
        body = vars(cls)
        ref = Reference(body["f"], body.get("df"), body.get("d2f"), body.get("jacobian"))
        REFERENCES[name] = ref
        return ref

    return register


def to_float(values: Sequence[object], dtype: np.dtype | type) -> np.ndarray:
    """Round mpf values (or None for NaN) to ``dtype``, correctly rounded to float64 first."""
    out = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):  # rounding to float32 may over/underflow
        return out.astype(dtype)


def _at(fn: MpFn, x: float, params: dict[str, float]) -> object:
    """fn at a float x (an exact binary value), with limits at +-inf and NaN at NaN."""
    if np.isnan(x):
        return None
    if np.isinf(x):
        sign = 1 if x > 0 else -1
        a, b = fn(sign * HUGE, **params), fn(sign * HUGE * 10, **params)
        fa, fb = float(a), float(b)
        if fa == fb or (np.isnan(fa) and np.isnan(fb)):
            return a
        return None
    # Near 0 a formula like 1/(1 + e^-x) - 1/2 cancels about -log10|x| digits: add them.
    extra = max(0, -int(mpmath.floor(mpmath.log10(abs(x))))) if x != 0 else 0
    with mp.workdps(DPS + extra):
        value = fn(mpf(x), **params)
    return +value  # rounded back to DPS digits


def evaluate(name: str, which: str, xs: np.ndarray, params: dict[str, float] | None = None) -> list[object]:
    """Reference values of ``f``/``df``/``d2f`` of an elementwise entry at each float in xs."""
    fn = getattr(REFERENCES[name], which)
    params = {k: mpf(v) for k, v in (params or {}).items()}
    with mp.workdps(DPS):
        return [_at(fn, float(x), params) for x in np.asarray(xs, dtype=np.float64).ravel()]


def evaluate_rows(name: str, which: str, rows: np.ndarray, params: dict[str, float] | None = None) -> list[list[object]]:
    """Reference values of a vector entry's ``f`` (or ``jacobian``) for each row (last axis)."""
    fn = getattr(REFERENCES[name], which)
    params = {k: mpf(v) for k, v in (params or {}).items()}
    with mp.workdps(DPS):
        return [fn([mpf(float(v)) for v in row], **params) for row in np.asarray(rows, dtype=np.float64)]


# Shorthands for the definitions below.
exp, log, sqrt, erf, erfc, tanh, pi = mpmath.exp, mpmath.log, mpmath.sqrt, mpmath.erf, mpmath.erfc, mpmath.tanh, mpmath.pi


def _sig(x: mpf) -> mpf:
    return 1 / (1 + exp(-x))


# ---- piecewise family -------------------------------------------------------------------


@reference("relu")
class _relu:
    def f(x):
        return max(x, mpf(0))

    def df(x):
        return mpf(1) if x > 0 else mpf(0)

    def d2f(x):
        return mpf(0)


# ---- smooth family ----------------------------------------------------------------------


@reference("sigmoid")
class _sigmoid:
    def f(x):
        return _sig(x)

    def df(x):
        return _sig(x) * _sig(-x)  # = s(1 - s) without cancelling for large x

    def d2f(x):
        return _sig(x) * _sig(-x) * (_sig(-x) - _sig(x))


# ---- gated family -----------------------------------------------------------------------


# ---- vector family ----------------------------------------------------------------------


@reference("softmax", vector=True)
class _softmax:
    def f(row):
        m = max(row)
        e = [exp(v - m) for v in row]
        total = mpmath.fsum(e)
        return [v / total for v in e]

    def jacobian(row):
        s = _softmax.f(row)
        return [[s[i] * ((1 if i == j else 0) - s[j]) for j in range(len(s))] for i in range(len(s))]
