"""High-precision references for every registry entry, evaluated with mpmath.

These are the mathematical definitions written as plainly as possible (no numerical
tricks: mpmath at 50 significant digits does not need them), so they are an independent
check of the float kernels in :mod:`actlab.catalogue`, which must use stable formulas.

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
from fractions import Fraction

import mpmath
import numpy as np
from mpmath import mp, mpf

__all__ = ["DPS", "Reference", "REFERENCES", "reference", "reference_of", "evaluate", "evaluate_rows", "to_float"]

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


def reference_of(name: str) -> Reference:
    """The reference of a registry entry, or of a formula entry (a defined name or a formula
    spec): that formula as the user wrote it, evaluated by mpmath to the working precision
    (:func:`actlab.formula.mp_reference`, which raises its precision where the formula cancels)."""
    ref = REFERENCES.get(name)
    if ref is not None:
        return ref
    from .. import formula

    return formula.mp_reference(name, mp)  # type: ignore[return-value]  # the same four fields


def evaluate(name: str, which: str, xs: np.ndarray, params: dict[str, float] | None = None) -> list[object]:
    """Reference values of ``f``/``df``/``d2f`` of an elementwise entry at each float in xs."""
    fn = getattr(reference_of(name), which)
    params = {k: mpf(v) for k, v in (params or {}).items()}
    with mp.workdps(DPS):
        return [_at(fn, float(x), params) for x in np.asarray(xs, dtype=np.float64).ravel()]


def evaluate_rows(
    name: str, which: str, rows: np.ndarray, params: dict[str, float] | None = None
) -> list[list[object]]:
    """Reference values of a vector entry's ``f`` (or ``jacobian``) for each row (last axis)."""
    fn = getattr(REFERENCES[name], which)
    params = {k: mpf(v) for k, v in (params or {}).items()}
    with mp.workdps(DPS):
        return [fn([mpf(float(v)) for v in row], **params) for row in np.asarray(rows, dtype=np.float64)]


# Shorthands for the definitions below.
exp, log, sqrt, erf, erfc, tanh, pi = (mpmath.exp, mpmath.log, mpmath.sqrt, mpmath.erf, mpmath.erfc, mpmath.tanh,
                                       mpmath.pi)


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


# The rest of the piecewise family. Derivatives are given on the open pieces (at a kink
# the catalogue's convention is checked instead). Piecewise-linear ones have f'' = 0.


def _zero(x, **params):
    return mpf(0)


def _leaky_f(x, slope):
    return x if x >= 0 else slope * x


def _leaky_df(x, slope):
    return mpf(1) if x > 0 else slope


@reference("identity")
class _identity:
    def f(x):
        return x

    def df(x):
        return mpf(1)

    d2f = _zero


@reference("step")
class _step:
    def f(x):
        return mpf(1) if x > 0 else mpf(0)

    df = _zero
    d2f = _zero


@reference("relu6")
class _relu6:
    def f(x):
        return min(max(x, mpf(0)), mpf(6))

    def df(x):
        return mpf(1) if 0 < x < 6 else mpf(0)

    d2f = _zero


@reference("leaky_relu")
class _leaky_relu:
    f = _leaky_f
    df = _leaky_df
    d2f = _zero


@reference("prelu")
class _prelu:
    f = _leaky_f
    df = _leaky_df
    d2f = _zero


@reference("rrelu")
class _rrelu:
    def f(x, lower, upper):
        return _leaky_f(x, (lower + upper) / 2)

    def df(x, lower, upper):
        return _leaky_df(x, (lower + upper) / 2)

    d2f = _zero


@reference("threshold")
class _threshold:
    def f(x, threshold, value):
        return x if x > threshold else value

    def df(x, threshold, value):
        return mpf(1) if x > threshold else mpf(0)

    d2f = _zero


@reference("thresholded_relu")
class _thresholded_relu:
    def f(x, theta):
        return x if x > theta else mpf(0)

    def df(x, theta):
        return mpf(1) if x > theta else mpf(0)

    d2f = _zero


@reference("hard_tanh")
class _hard_tanh:
    def f(x, min_val, max_val):
        return min(max(x, min_val), max_val)

    def df(x, min_val, max_val):
        return mpf(1) if min_val < x < max_val else mpf(0)

    d2f = _zero


@reference("hard_sigmoid")
class _hard_sigmoid:
    def f(x):
        return min(max(x + 3, mpf(0)), mpf(6)) / 6

    def df(x):
        return mpf(1) / 6 if -3 < x < 3 else mpf(0)

    d2f = _zero


@reference("hard_silu")
class _hard_silu:
    def f(x):
        return x * min(max(x + 3, mpf(0)), mpf(6)) / 6

    def df(x):
        if x <= -3:
            return mpf(0)
        return (2 * x + 3) / 6 if x < 3 else mpf(1)

    def d2f(x):
        return mpf(1) / 3 if -3 < x < 3 else mpf(0)


@reference("hard_shrink")
class _hard_shrink:
    def f(x, lambd):
        return x if abs(x) > lambd else mpf(0)

    def df(x, lambd):
        return mpf(1) if abs(x) > lambd else mpf(0)

    d2f = _zero


@reference("soft_shrink")
class _soft_shrink:
    def f(x, lambd):
        if x > lambd:
            return x - lambd
        return x + lambd if x < -lambd else mpf(0)

    def df(x, lambd):
        return mpf(1) if abs(x) > lambd else mpf(0)

    d2f = _zero


@reference("sparse_sigmoid")
class _sparse_sigmoid:
    def f(x):
        if x <= -1:
            return mpf(0)
        return (x + 1) / 2 if x < 1 else mpf(1)

    def df(x):
        return mpf(1) / 2 if -1 < x < 1 else mpf(0)

    d2f = _zero


@reference("sparse_plus")
class _sparse_plus:
    def f(x):
        if x <= -1:
            return mpf(0)
        return (x + 1) ** 2 / 4 if x < 1 else x

    def df(x):
        return _sparse_sigmoid.f(x)

    def d2f(x):
        return _sparse_sigmoid.df(x)


# ---- smooth family ----------------------------------------------------------------------


@reference("sigmoid")
class _sigmoid:
    def f(x):
        return _sig(x)

    def df(x):
        return _sig(x) * _sig(-x)  # = s(1 - s) without cancelling for large x

    def d2f(x):
        return _sig(x) * _sig(-x) * (_sig(-x) - _sig(x))


def _sech2(x: mpf) -> mpf:
    return 1 / mpmath.cosh(x) ** 2


@reference("log_sigmoid")
class _log_sigmoid:
    def f(x):
        return -mpmath.log1p(exp(-x))

    def df(x):
        return _sig(-x)

    def d2f(x):
        return -_sig(x) * _sig(-x)


@reference("tanh")
class _tanh:
    def f(x):
        return tanh(x)

    def df(x):
        return _sech2(x)

    def d2f(x):
        return -2 * tanh(x) * _sech2(x)


@reference("tanh_shrink")
class _tanh_shrink:
    def f(x):
        # x - tanh x ~ x^3/3 cancels 2*log10(1/|x|) digits; evaluate() adds only half of them.
        extra = max(0, -int(mpmath.floor(mpmath.log10(abs(x))))) if x != 0 else 0
        with mp.extradps(2 * extra + 10):
            return x - tanh(x)

    def df(x):
        return tanh(x) ** 2

    def d2f(x):
        return 2 * tanh(x) * _sech2(x)


@reference("softsign")
class _softsign:
    def f(x):
        return x / (1 + abs(x))

    def df(x):
        return 1 / (1 + abs(x)) ** 2

    def d2f(x):
        return -2 * mpmath.sign(x) / (1 + abs(x)) ** 3


@reference("arctan")
class _arctan:
    def f(x):
        return mpmath.atan(x)

    def df(x):
        return 1 / (1 + x**2)

    def d2f(x):
        return -2 * x / (1 + x**2) ** 2


@reference("softplus")
class _softplus:
    def f(x, beta):
        return mpmath.log1p(exp(beta * x)) / beta

    def df(x, beta):
        return _sig(beta * x)

    def d2f(x, beta):
        return beta * _sig(beta * x) * _sig(-beta * x)


def _elu(x: mpf, scale: mpf, alpha: mpf, input_scale: mpf) -> mpf:
    return scale * x if x > 0 else scale * alpha * mpmath.expm1(x * input_scale)


@reference("elu")
class _elu_ref:
    def f(x, alpha):
        return _elu(x, 1, alpha, 1)

    def df(x, alpha):
        return mpf(1) if x > 0 else alpha * exp(x)

    def d2f(x, alpha):  # 0 at x = 0, as torch's double backward
        return mpf(0) if x >= 0 else alpha * exp(x)


SELU_ALPHA = mpf("1.6732632423543772848170429916717")
SELU_SCALE = mpf("1.0507009873554804934193349852946")


@reference("selu")
class _selu:
    def f(x):
        return _elu(x, SELU_SCALE, SELU_ALPHA, 1)

    def df(x):
        return SELU_SCALE if x > 0 else SELU_SCALE * SELU_ALPHA * exp(x)

    def d2f(x):
        return mpf(0) if x >= 0 else SELU_SCALE * SELU_ALPHA * exp(x)


@reference("celu")
class _celu:
    def f(x, alpha):
        return _elu(x, 1, alpha, 1 / alpha)

    def df(x, alpha):
        return mpf(1) if x > 0 else exp(x / alpha)

    def d2f(x, alpha):  # 0 at x = 0, as torch's double backward
        return mpf(0) if x >= 0 else exp(x / alpha) / alpha


@reference("exponential")
class _exponential:
    def f(x):
        return exp(x)

    def df(x):
        return exp(x)

    def d2f(x):
        return exp(x)


@reference("log1mexp")
class _log1mexp:
    # Domain x > 0: NaN below 0 and the one-sided limits at 0.
    def f(x):
        if x < 0:
            return mpmath.nan
        if x == 0:
            return -mpmath.inf
        return mpmath.log1p(-exp(-x))  # log(1 - e^-x) would round 1 - e^-x to 1 for x > 115

    def df(x):
        if x < 0:
            return mpmath.nan
        return mpmath.inf if x == 0 else 1 / mpmath.expm1(x)

    def d2f(x):
        if x < 0:
            return mpmath.nan
        return -mpmath.inf if x == 0 else -exp(-x) / mpmath.expm1(-x) ** 2


@reference("squareplus")
class _squareplus:
    # For x < 0, x + sqrt(x^2 + b) cancels all digits at x = -1e308: use b/(2(sqrt(x^2 + b) - x)).
    def f(x, b):
        h = sqrt(x**2 + b)
        return (x + h) / 2 if x >= 0 else b / (2 * (h - x))

    def df(x, b):
        return _squareplus.f(x, b) / sqrt(x**2 + b)  # = (1 + x/h)/2 without its cancellation

    def d2f(x, b):
        return b / (2 * sqrt(x**2 + b) ** 3)


@reference("bent_identity")
class _bent_identity:
    def f(x):
        return (sqrt(x**2 + 1) - 1) / 2 + x

    def df(x):
        return 1 + x / (2 * sqrt(x**2 + 1))

    def d2f(x):
        return 1 / (2 * sqrt(x**2 + 1) ** 3)


@reference("sinusoid")
class _sinusoid:
    def f(x):
        return mpmath.sin(x)

    def df(x):
        return mpmath.cos(x)

    def d2f(x):
        return -mpmath.sin(x)


@reference("gaussian")
class _gaussian:
    def f(x):
        return exp(-(x**2))

    def df(x):
        return -2 * x * exp(-(x**2))

    def d2f(x):
        return (4 * x**2 - 2) * exp(-(x**2))


# ---- gated family -----------------------------------------------------------------------


def _ncdf(x: mpf) -> mpf:
    # mpmath's erfc overflows a float internally for |x| > 1e154: beyond 1e10 use the
    # asymptotic series (relative error 15/x^6 < 1e-59) and 1 (error < e^-(5e19)).
    if x > 10**10:
        return mpf(1)
    if x < -(10**10):
        return _npdf(x) / -x * (1 - 1 / x**2 + 3 / x**4)
    return erfc(-x / sqrt(2)) / 2  # erfc, not 1 + erf: no cancellation for x << 0


def _npdf(x: mpf) -> mpf:
    return exp(-x * x / 2) / sqrt(2 * pi)


@reference("gelu")
class _gelu:
    def f(x):
        return x * _ncdf(x)

    def df(x):
        return _ncdf(x) + x * _npdf(x)

    def d2f(x):
        return _npdf(x) * (2 - x * x)


def _gelu_tanh_v(x: mpf) -> tuple[mpf, mpf, mpf]:
    """v = 2 sqrt(2/pi) (x + 0.044715 x^3) and its first two derivatives: (1 + tanh(v/2))/2 = sigma(v)."""
    a = mpf("0.044715")
    c = 2 * sqrt(2 / pi)  # at the working precision (a module constant would have 15 digits)
    return c * (x + a * x**3), c * (1 + 3 * a * x * x), c * 6 * a * x


@reference("gelu_tanh")
class _gelu_tanh:
    def f(x):
        return x * _sig(_gelu_tanh_v(x)[0])

    def df(x):
        v, v1, _ = _gelu_tanh_v(x)
        return _sig(v) + x * _sig(v) * _sig(-v) * v1

    def d2f(x):
        v, v1, v2 = _gelu_tanh_v(x)
        s, t = _sig(v), _sig(-v)
        return s * t * (2 * v1 + x * v2 + x * v1 * v1 * (t - s))


_ONE = mpf(1)


@reference("silu")
class _silu:
    def f(x, beta=_ONE):
        return x * _sig(beta * x)

    def df(x, beta=_ONE):
        s, t = _sig(beta * x), _sig(-beta * x)
        return s + beta * x * s * t

    def d2f(x, beta=_ONE):
        s, t = _sig(beta * x), _sig(-beta * x)
        return beta * s * t * (2 + beta * x * (t - s))


def _softplus(x: mpf) -> mpf:
    return mpmath.log1p(exp(x)) if x < 0 else x + mpmath.log1p(exp(-x))


@reference("mish")
class _mish:
    def f(x):
        return x * tanh(_softplus(x))

    def df(x):
        sp = _softplus(x)
        return tanh(sp) + x * mpmath.sech(sp) ** 2 * _sig(x)  # sech^2, not 1 - tanh^2 (cancels)

    def d2f(x):
        sp = _softplus(x)
        t, s, sech2 = tanh(sp), _sig(x), mpmath.sech(sp) ** 2
        # d/dx [t + x sech2 s] with t' = sech2 s, sech2' = -2 t sech2 s, s' = s (1 - s)
        return 2 * sech2 * s + x * sech2 * s * (_sig(-x) - 2 * t * s)


# ---- vector family ----------------------------------------------------------------------


@reference("softmax", vector=True)
class _softmax:
    def f(row):
        m = max(row)
        e = [exp(v - m) for v in row]
        total = mpmath.fsum(e)
        return [v / total for v in e]

    def jacobian(row):
        # diag(s) - s s^T; the diagonal s_i (1 - s_i) as s_i times the sum of the others
        s = _softmax.f(row)
        return [[s[i] * _others(s, i) if i == j else -s[i] * s[j] for j in range(len(s))] for i in range(len(s))]


def _others(s: list[mpf], i: int) -> mpf:
    """1 - s_i for a probability vector s, without cancelling when s_i ~ 1."""
    return mpmath.fsum(s[:i] + s[i + 1 :])


@reference("log_softmax", vector=True)
class _log_softmax:
    def f(row):
        # x_i - m - log(sum e^(x_k - m)), the log of a sum 1 + R written log1p(R)
        m = max(row)
        top = row.index(m)
        rest = mpmath.fsum(exp(v - m) for k, v in enumerate(row) if k != top)
        return [v - m - mpmath.log1p(rest) for v in row]

    def jacobian(row):
        s = _softmax.f(row)
        return [[_others(s, j) if i == j else -s[j] for j in range(len(s))] for i in range(len(s))]


@reference("softmin", vector=True)
class _softmin:
    def f(row):
        return _softmax.f([-v for v in row])

    def jacobian(row):
        return [[-v for v in r] for r in _softmax.jacobian([-v for v in row])]


@reference("glu", vector=True)
class _glu:
    def f(row):
        h = len(row) // 2
        return [a * _sig(b) for a, b in zip(row[:h], row[h:])]

    def jacobian(row):
        # d(a_i sigma(b_i))/da_i = sigma(b_i), /db_i = a_i sigma(b_i) sigma(-b_i); (n/2) x n
        h = len(row) // 2
        jac = [[mpf(0)] * len(row) for _ in range(h)]
        for i in range(h):
            a, b = row[i], row[h + i]
            jac[i][i] = _sig(b)
            jac[i][h + i] = a * _sig(b) * _sig(-b)
        return jac


def _sparsemax_support(row: list[mpf]) -> tuple[list[Fraction], Fraction, list[bool]]:
    """Exact sparsemax: the entries as fractions, the threshold tau and the support z_i > tau.
    Rational arithmetic, because tau is a sum of floats of any exponents divided by k."""
    z = [Fraction(float(v)) for v in row]
    zs = sorted(z, reverse=True)
    k, total, cum = 0, Fraction(0), Fraction(0)
    for j, v in enumerate(zs, start=1):
        cum += v
        if 1 + j * v > cum:
            k, total = j, cum
    tau = (total - 1) / k
    return z, tau, [v > tau for v in z]


def _mpf(q: Fraction) -> mpf:
    return mpf(q.numerator) / q.denominator


@reference("sparsemax", vector=True)
class _sparsemax:
    def f(row):
        z, tau, _ = _sparsemax_support(row)
        return [_mpf(max(v - tau, Fraction(0))) for v in z]

    def jacobian(row):
        # Martins & Astudillo (2016): diag(s) - s s^T / |S|, s the 0/1 indicator of the support S
        _, _, inside = _sparsemax_support(row)
        k = sum(inside)
        return [
            [mpf(int(i == j)) - mpf(1) / k if inside[i] and inside[j] else mpf(0) for j in range(len(row))]
            for i in range(len(row))
        ]
