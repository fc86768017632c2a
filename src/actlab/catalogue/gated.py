"""Self-gated activations x·g(x): GELU (exact and tanh approximation), SiLU/Swish, Mish,
and their relatives.

Every one of them is x times a gate that tends to 0 as x -> -inf, so three numerical
traps are shared, and handled the same way throughout this module:

* ``-inf * 0``: the limits at +-inf are returned (f(-inf) = -0.0, f'(-inf) = ±0.0): x is
  clamped where the gate is already 0, never left to compute ``-inf * 0`` = NaN (which
  torch.nn.functional.silu returns; Keras and JAX form the same x·sigmoid(x) product);
* cancellation in the derivative: f' = g(x) + x g'(x) has a zero (the minimum of f), near
  which the two terms cancel. Each f' is rewritten around that zero with the zero stored
  as a double-double constant (``_*_ZERO``), so the result keeps full relative accuracy;
* subnormal gates: x·e^x with e^x subnormal (x < -708 in float64) loses precision before
  the product with x rounds back up into the normal range. There the product is formed
  as (x·e^{x/2})·e^{x/2}, which rounds once into the subnormal range (:func:`_scaled`).

float16 and float32 inputs are computed in float64 and rounded once, except for the fast
float32 GELU (see :func:`_gelu_f32`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special

from ._kernels import flat_blocks, scratch, split, two_prod, two_sum
from .registry import Param, activation

inf = math.inf

# ---- float64 helpers (the error-free transformations are in _kernels) --------------------


def _f64(x: np.ndarray) -> np.ndarray:
    return x if x.dtype == np.float64 else x.astype(np.float64)


_BLOCK = 1 << 17


def _blocked(kernel: Callable[..., np.ndarray], x: np.ndarray, out: np.ndarray, *args: float) -> np.ndarray:
    """Apply a float64 kernel of 1-d arrays (it returns its result) blockwise, each block of x
    converted to float64 and the result rounded into out: its many temporaries then stay in
    cache instead of being fresh 80 MB arrays (1.5x faster on 10^7 elements)."""

    def run(o: np.ndarray, xs: np.ndarray) -> None:
        o[...] = kernel(_f64(xs), *args)

    return flat_blocks(run, _BLOCK, x, out)


def _gauss_halves(u: np.ndarray, rel: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(E, F) with exp(-u^2/2) * (1 + rel) = F * E * E for 0 <= u <= 40, to about 1 ulp.

    u^2 is split exactly as hi + lo (hi = uh^2 with uh the 26-bit head of u), so the
    exponent carries no rounding error (a plain exp(-u*u/2) is off by u^2/2 * 2^-53
    relative: 300 ulp at u = 37). E = exp(-hi/4) stays normal where exp(-u^2/2) would
    be subnormal, so products (y*E)*E round once into the subnormal range.
    """
    uh, ul = split(u)
    E = np.exp(-0.25 * (uh * uh))
    F = np.exp(-0.5 * (ul * (u + uh)) + rel)
    return E, F


def _scaled(y: np.ndarray, e: np.ndarray, h: np.ndarray, delta: np.ndarray | None = None) -> np.ndarray:
    """y e^{-a} (1 + delta), given e = e^{-a} and h = e^{-a/2} (delta: a tiny exponent
    correction, e.g. the low part of a double-double exponent).

    Formed as y*e + (y*e)*delta (e within 0.5 ulp; h*h would be 1 ulp, and a factor
    1 + delta would round), except where e^{-a} is subnormal or nearly so: there
    (y*h*(1 + delta))*h keeps full precision until the last rounding.
    """
    res = y * e
    if delta is not None:
        res += res * delta
    tiny = np.flatnonzero(e < 1e-290)
    if tiny.size:
        yt = y[tiny] * h[tiny]
        if delta is not None:
            yt += yt * delta[tiny]
        res[tiny] = yt * h[tiny]
    return res


# 1/sqrt(2 pi) as a double-double: the head, and the tail relative to it (passed to
# _gauss_halves as ``rel``, so the constant costs no rounding).
_INV_SQRT_2PI = 0.3989422804014327
_INV_SQRT_2PI_REL = -2.49232720227773e-17 / 0.3989422804014327
_SQRT2 = (1.4142135623730951, -9.667293313452913e-17)
_SQRT_HALF_PI = 1.2533141373155003


# ---- GELU (exact) -----------------------------------------------------------------------

# The zero of gelu' (the minimum of gelu) as a double-double, and
# q(u) = (R(u) - u) / (u - u0) on u in [0.35, 1.15], R the Mills ratio Phi(-u)/phi(u),
# u0 = -(zero): Chebyshev fit of degree 14 in s = (u - 0.75)/0.4 (mpmath, relative
# error 3e-19; checked against mpmath in tests/test_gated.py), highest power first.
_GELU_ZERO = (-0.7517915246935645, 1.4956759177009883e-17)
_GELU_Q_CENTRE, _GELU_Q_HALF = 0.75, 0.4
_GELU_Q = (
    -8.129019321317238e-14, 8.827967066169497e-13, -9.00106596400979e-12, 9.172360894038117e-11,
    -9.036619838454822e-10, 8.576464300822563e-09, -7.820481783926421e-08, 6.826358085541668e-07,
    -5.678723268155022e-06, 4.477720911708387e-05, -0.00033238231112772, 0.0023022032986172152,
    -0.014702325689917813, 0.08511264450849923, -1.435190412191515,
)
_GELU_MIN = -0.16997120747990369  # gelu(zero), rounded down
# T(u) = u Phi(-u) / phi(u) / sqrt(2 pi) = u Phi(-u) e^{u^2/2} on u in [2^j, 2^(j+1)], j = 0..5:
# Chebyshev fits (mpmath, relative error < 1.1e-18; checked against mpmath in tests/test_gated.py)
# as polynomials in s = (u - 1.5 * 2^j) / 2^(j-1), highest power first. Then for x = -u < -1,
# gelu(x) = -T(u) e^{-u^2/2}: SciPy's erfcx is up to 4.2 ulp off, these at most 1 ulp.
_GELU_T = (
    (
        9.37302118755703e-14, -8.619191066497787e-13, 7.321225124070592e-12, -6.314121672413105e-11,
        5.267700937573736e-10, -4.229681136086218e-09, 3.2605923344380865e-08, -2.4030254185540847e-07,
        1.6841964780529074e-06, -1.1149487645440336e-05, 6.909082652867599e-05, -0.00039571681909992613,
        0.002055173590301934, -0.00937274240738825, 0.03518687353719186, 0.308671000466092
    ),
    (
        -1.6710024631650797e-13, 9.835853420050685e-13, -4.880147813592675e-12, 2.7370398891211977e-11,
        -1.5158250276286633e-10, 8.113694936832123e-10, -4.2293878845046e-09, 2.144506978776897e-08,
        -1.054980676985535e-07, 5.021746028149973e-07, -2.30535372765098e-06, 1.0165006165816706e-05,
        -4.282061734325253e-05, 0.00017110019598075285, -0.0006418535766610634, 0.002224849367900977,
        -0.006931471807760721, 0.01831264235132364, 0.3645418450666865
    ),
    (
        -8.520623328715025e-13, 3.495160046419573e-12, -9.683796502237968e-12, 3.824518852109294e-11,
        -1.5890676477264502e-10, 6.116553031968892e-10, -2.3047993101823943e-09, 8.583234258049191e-09,
        -3.1409468663953854e-08, 1.1273703456597392e-07, -3.963989557997463e-07, 1.362927702342761e-06,
        -4.571803586369194e-06, 1.4917332353318597e-05, -4.7158653507055455e-05, 0.00014364110744943164,
        -0.00041805108552563406, 0.0011469637127175755, -0.002894206667758038, 0.006361895191874711,
        0.3886758859466811
    ),
    (
        1.8644367742325786e-12, -6.1269926848245734e-12, 9.746035163711083e-12, -3.1137144251425464e-11,
        1.2301484410662503e-10, -3.8993029503288616e-10, 1.1929632466186089e-09, -3.7109523354879332e-09,
        1.1459843135603006e-08, -3.494607231849356e-08, 1.0535537285532773e-07, -3.1374950313708483e-07,
        9.215320009413887e-07, -2.664621394800128e-06, 7.566422136658606e-06, -2.102762981995058e-05,
        5.690845651879156e-05, -0.0001488422756289708, 0.0003714485756327828, -0.0008636672218536854,
        0.0017737655156616014, 0.3962276529265744
    ),
    (
        1.7432712089035286e-12, -5.2074196112025755e-12, 5.912270828073254e-12, -1.7324220773584528e-11,
        7.328522692584706e-11, -2.145210761311945e-10, 5.942933518285346e-10, -1.7190303383327162e-09,
        4.967766035408598e-09, -1.4189903979370118e-08, 4.021366433388507e-08, -1.1302558356675998e-07,
        3.145393306855038e-07, -8.651506639925809e-07, 2.3463849448564114e-06, -6.253886292698123e-06,
        1.6301395593210515e-05, -4.124207385334348e-05, 9.999981446609665e-05, -0.00022693280476045056,
        0.00045699060372310157, 0.39825324867077366
    ),
    (
        6.394843203788487e-13, -1.855382798801896e-12, 1.8529418714517363e-12, -5.297612468984674e-12,
        2.3441826740431464e-11, -6.702945966364156e-11, 1.797301536532179e-10, -5.091089403501517e-10,
        1.444409582782294e-09, -4.0497914084810336e-09, 1.127771447966223e-08, -3.118762590225279e-08,
        8.549932010643067e-08, -2.31944633691943e-07, 6.211905373142969e-07, -1.6369673915555561e-06,
        4.223903915247331e-06, -1.0591731807935401e-05, 2.5486154835277584e-05, -5.746797023648117e-05,
        0.00011513505105766378, 0.39876935334058744
    ),
)


def _horner(coefs: tuple[float, ...], s: np.ndarray) -> np.ndarray:
    acc = np.full_like(s, coefs[0])
    for c in coefs[1:]:
        acc *= s
        acc += c
    return acc


def _mills(u: np.ndarray) -> np.ndarray:
    """R(u) = Phi(-u)/phi(u) = sqrt(pi/2) erfcx(u/sqrt 2), u >= 0 (SciPy's erfcx, no underflow)."""
    return _SQRT_HALF_PI * special.erfcx(u * (1 / _SQRT2[0]))


def _gelu_f64(x: np.ndarray) -> np.ndarray:
    xm = np.maximum(x, -40.0)  # gelu(-40) = -0.0 in float64; avoids -inf * 0 (NaN passes)
    res = xm.copy()  # NaN stays NaN: it is in neither part below
    head = np.flatnonzero(xm >= -1.0)
    xh = xm[head]
    res[head] = xh * special.ndtr(xh)  # ndtr is within 1 ulp for x >= -1
    tail = np.flatnonzero(xm < -1.0)
    if tail.size:  # x < -1: -T(u) e^{-u^2/2}, u = -x, with T per octave 2^j <= u <= 2^(j+1)
        u = -xm[tail]
        octave = np.frexp(u)[1] - 1
        vals = np.empty_like(u)
        for j, coefs in enumerate(_GELU_T):
            sel = np.flatnonzero(octave == j)
            if not sel.size:
                continue
            us = u[sel]
            t = _horner(coefs, (us - 1.5 * 2.0**j) * 2.0 ** (1 - j))  # s is exact
            uh, ul = split(us)  # u^2 = uh^2 + ul (u + uh), the first term exact
            F = np.exp(-0.5 * (ul * (us + uh)))
            if j < 5:  # e^{-u^2/2} is normal for u < 32
                vals[sel] = -((t * F) * np.exp(-0.5 * (uh * uh)))
            else:  # may be subnormal: (y e^{-a/2}) e^{-a/2} rounds once into it
                E = np.exp(-0.25 * (uh * uh))
                vals[sel] = -(((t * F) * E) * E)
        res[tail] = vals
    return res


def _gelu_df64(x: np.ndarray) -> np.ndarray:
    xm = np.clip(x, -40.0, 40.0)  # phi(40) = 0: keeps inf out of the products (NaN passes)
    # x >= -0.35: Phi(x) + x phi(x), no cancellation (at most a factor 1.6). A plain
    # exp(-x^2/2) suffices: its error (x^2/2 ulp) is negligible next to Phi(x) >= 0.36.
    res = np.exp(-0.5 * (xm * xm))
    res *= xm * _INV_SQRT_2PI
    res += special.ndtr(xm)
    far = np.flatnonzero(xm < -1.15)
    if far.size:  # phi(u) (R(u) - u): R(u) < 0.6 u, no cancellation; phi with exact u^2
        u = -xm[far]
        E, F = _gauss_halves(u, _INV_SQRT_2PI_REL)
        res[far] = ((_INV_SQRT_2PI * F * (_mills(u) - u)) * E) * E
    near = np.flatnonzero((xm < -0.35) & (xm >= -1.15))
    if near.size:  # around the zero: phi(u) (u - u0) q(u), u - u0 in double-double
        u = -xm[near]
        E, F = _gauss_halves(u, _INV_SQRT_2PI_REL)
        d = (u + _GELU_ZERO[0]) + _GELU_ZERO[1]
        q = _horner(_GELU_Q, (u - _GELU_Q_CENTRE) * (1 / _GELU_Q_HALF))
        res[near] = _INV_SQRT_2PI * F * d * q * E * E
    return res


def _gelu_d2f64(x: np.ndarray) -> np.ndarray:
    u = np.minimum(np.abs(x), 40.0)
    E, F = _gauss_halves(u, _INV_SQRT_2PI_REL)
    two_minus_u2 = ((_SQRT2[0] - u) + _SQRT2[1]) * (_SQRT2[0] + u)  # 2 - u^2 without cancelling at sqrt 2
    return ((_INV_SQRT_2PI * F * two_minus_u2) * E) * E


# ---- GELU, fast float32 kernel ----------------------------------------------------------
#
# float32 needs Phi to about 1e-9 relative (4 float32 ulp are 2.4e-7), so instead of an
# erfc per element (SciPy's ndtr costs about 15 ns) the float32 kernel interpolates two
# smooth tabulated functions, in float64 and in cache-sized chunks:
#   B(x) = log Phi(x)       (B''' is bounded: Phi = exp(B) keeps relative accuracy in
#                            the left tail, where Phi itself spans 50 decades), and
#   G(x) = gelu'(x)/Phi(x) = 1 + x B'(x),
# each by its quadratic Taylor polynomial at the nearest node of a grid of step 2^-9 on
# [-16, 6] (truncation error below 3e-10). Then gelu = x exp(B), gelu' = exp(B) G. The grid
# has a node at the zero of gelu' (x0 in double precision), where G = 0: near x0 the
# interpolated G keeps its relative accuracy, so gelu' does too. Beyond -16 both round to
# -0.0 in float32, beyond 6 gelu = x and gelu' = 1 in float32, so x is clamped for the
# lookup. Measured against mpmath on 6000 random float32 in [-16, 6] and 600 next to x0:
# at most 0.50 ulp (f) and 0.85 ulp (f'); tests/test_gated.py checks <= 1 ulp.

_T_STEP = 2.0**-9
_T_LO, _T_HI = -16.0, 6.0
_T_K0 = int(round((_GELU_ZERO[0] - _T_LO) / _T_STEP))  # index of the node at x0
_T_CHUNK = 1 << 14


def _gelu_tables() -> tuple[np.ndarray, ...]:
    k = np.arange(-1, int((_T_HI - _T_LO) / _T_STEP) + 2)
    x = _GELU_ZERO[0] + (k - _T_K0) * _T_STEP  # x[_T_K0 + 1] == x0 exactly (k starts at -1)
    B = special.log_ndtr(x)
    lam = np.exp(-0.5 * x * x - B) * _INV_SQRT_2PI  # B' = phi/Phi, the inverse Mills ratio
    lam1 = -lam * (x + lam)  # B''
    lam2 = -lam1 * (x + lam) - lam * (1.0 + lam1)  # B'''
    G = 1.0 + x * lam
    G1 = lam + x * lam1
    G2 = 2.0 * lam1 + x * lam2
    h = _T_STEP
    cols = (B, lam * h, lam1 * h * h / 2, G, G1 * h, G2 * h * h / 2)
    return tuple(np.ascontiguousarray(c) for c in cols)


_GELU_TABLES = _gelu_tables()


def _gelu_table_kernel(x: np.ndarray, out: np.ndarray, derivative: bool) -> np.ndarray:
    b0, b1, b2, g0, g1, g2 = _GELU_TABLES
    m = min(x.size, _T_CHUNK)
    bufs = [np.empty(m) for _ in range(5)] + [np.empty(m, dtype=np.intp)]  # reused by every chunk
    offset = _T_K0 + 1  # node index of x0 (the table starts one node early)

    def chunk(o: np.ndarray, xs: np.ndarray) -> None:
        xc, t, s, a, g, k = bufs if xs.size == m else [v[: xs.size] for v in bufs]
        np.maximum(xs, _T_LO, out=xc)  # -inf -> -16 (f = -0.0 there); NaN stays NaN
        np.fmin(xc, _T_HI, out=t)  # NaN -> 6, a valid node: the NaN comes back through xc
        t -= _GELU_ZERO[0]
        t *= 1.0 / _T_STEP
        t += offset
        np.rint(t, out=s)  # the nearest node (float ops: a mixed int/float subtract is slower)
        k[...] = s
        np.subtract(t, s, out=s)  # position from the node in steps, |s| <= 1/2
        np.take(b2, k, out=a, mode="clip")
        a *= s
        a += np.take(b1, k, out=g, mode="clip")
        a *= s
        a += np.take(b0, k, out=g, mode="clip")
        np.exp(a, out=a)  # Phi(x)
        if derivative:
            np.take(g2, k, out=g, mode="clip")
            g *= s
            g += np.take(g1, k, out=t, mode="clip")
            g *= s
            g += np.take(g0, k, out=t, mode="clip")
            a *= g
            a[np.isnan(xc)] = np.nan
        else:
            a *= xc
        o[...] = a

    return flat_blocks(chunk, _T_CHUNK, x, out)


def _gelu_f32(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    return _gelu_table_kernel(x, out, derivative=False)


def _gelu_df32(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    return _gelu_table_kernel(x, out, derivative=True)


@activation(
    "gelu",
    formula=r"\mathrm{GELU}(x) = x\,\Phi(x) = \frac{x}{2}\,\mathrm{erfc}\!\left(-\frac{x}{\sqrt{2}}\right)",
    smoothness="Cinf",
    monotonic=False,
    zero_centred=False,
    range=(_GELU_MIN, inf),
    family="gated",
)
class gelu:
    r"""Gaussian error linear unit (Hendrycks & Gimpel 2016), exact form: :math:`x\Phi(x)`,
    Φ the standard normal CDF. f'(x) = Φ(x) + xφ(x), f''(x) = φ(x)(2 - x²).

    Peer defaults differ: ``torch.nn.functional.gelu`` (``approximate='none'``),
    ``keras.activations.gelu`` (Keras 3, ``approximate=False``) and ``tf.nn.gelu`` default
    to this exact form, while ``jax.nn.gelu`` (and ``keras.ops.gelu``) default to
    ``approximate=True``, the tanh form (``gelu_tanh`` here); the two differ by at most
    4.7e-4 (at x = ±2.70).

    Numerics: the textbook 0.5·x·(1 + erf(x/√2)) cancels for x < -3 (erf → -1) and
    returns 0 for x < -6 where the true value is about -1e-9. Here x·Φ(x) uses SciPy's
    ``ndtr`` for x >= -1 (within 1 ulp there) and, for x = -u < -1, -T(u)·exp(-u²/2) with
    T(u) = u·Φ(-u)/(√(2π)φ(u)) a fitted polynomial per octave of u (ndtr is 1000 ulp off at
    x = -37, erfcx 4 ulp) and u² split exactly, so the exponential carries no rounding
    error (a plain exp(-u²/2) is 300 ulp off at u = 37).
    The minimum, f(-0.75179...) = -0.16997..., is a zero of f' where Φ and xφ cancel:
    there f' is computed as φ(u)(u - u0)q(u) with u0 in double-double and q a fitted
    polynomial. Limits: f(-inf) = 0 (not -inf·0 = NaN), f(inf) = inf, f'(-inf) = 0,
    f'(inf) = 1, f''(±inf) = 0. float32 uses a table-driven kernel, accurate to
    1 ulp: 7.7 ns/element for f (the naive erf formula 18.8, PyTorch 0.5), float64 48
    (naive 19.5, PyTorch 23), CPU time on 10^7 elements, ``benchmarks/gelu.py --clock cpu``.

    >>> import actlab
    >>> g = actlab.get("gelu")
    >>> g([-1.0, 0.0, 1.0])
    array([-0.15865525,  0.        ,  0.84134475])
    >>> float(g(-10.0))  # 0.5*x*(1 + erf(x/sqrt2)) gives -0.0 here
    -7.619853024160526e-23
    >>> float(g(-np.inf)), float(g.df(-np.inf)), float(g.df(0.0))  # -0.0: the limit from below
    (-0.0, -0.0, 0.5)
    """

    def f(x, out):
        if x.dtype == np.float32:
            return _gelu_f32(x, out)
        return _blocked(_gelu_f64, x, out)

    def df(x, out):
        if x.dtype == np.float32:
            return _gelu_df32(x, out)
        return _blocked(_gelu_df64, x, out)

    def d2f(x, out):
        return _blocked(_gelu_d2f64, x, out)


# ---- GELU, tanh approximation -----------------------------------------------------------

# v(x) = 2 sqrt(2/pi) (x + 0.044715 x^3) = C1 x + C3 x^3, so that
# (1 + tanh(v/2))/2 = sigmoid(v); C1, C3 and the zero of f' as double-doubles, and e^{v(zero)}.
_TANH_C1 = (1.5957691216057308, -9.96930880911092e-17)
_TANH_C3 = (0.07135481627260025, -6.175149918155315e-19)
_TANH_ZERO = (-0.7524614220710163, 3.635560509207687e-17)
_TANH_EXP_V_ZERO = 0.29195521191476714
# q(x) = gelu_tanh'(x) / (x - x1) on [-1.25, -0.25]: Chebyshev fit of degree 18 in
# s = (x + 0.75)/0.5 (mpmath, relative error 3e-19; checked in tests/test_gated.py).
_TANH_Q = (
    2.35081443926426e-13, 9.572828386728383e-13, -6.391200774895158e-12, -3.043350850689105e-11,
    1.461810861615712e-10, 7.323336878150115e-10, -3.8476337486965625e-09, -1.729691941537147e-08,
    1.2040960760078939e-07, 5.214341264313141e-07, -3.5998495944765542e-06, -1.9069817707833e-05,
    8.154935460957098e-05, 0.0006174905801596719, -0.0010235386959818612, -0.014263364721145574,
    -0.004156212779848619, 0.19371933879418887, 0.4313538401592927,
)
_TANH_K0, _TANH_K1 = 1.716972025434726, 1.959377833092717  # C1 + 3 C3 x1^2, C1 + 9 C3 x1^2
_TANH_MIN = -0.17004075057125409  # f(zero), rounded down
# the positive zero z of f'' (double-double), and v'(z), z v'(z)^2, tanh(v(z)/2) there
_TANH_D2_ZERO = (1.4185040087908283, 8.089265124388305e-17)
_TANH_D2_DV, _TANH_D2_A, _TANH_D2_T = 2.026499677840473, 5.825371752376956, 0.843630359924267


def _tanh_v(xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """v(x) = C1 x + C3 x^3 as a double-double (vh, vl), for |x| <= 50.

    In the left tail f ~ x e^v, and an error dv in v is a relative error dv in f: a plain
    float evaluation is off by |v| 2^-53 (10 ulp at x = -3, 200 at x = -10), so v is
    carried to about 2^-100 with exact products.
    """
    s, se = two_prod(xc, xc)
    c, ce = two_prod(xc, s)
    ce += xc * se
    p3, e3 = two_prod(c, _TANH_C3[0])
    e3 += _TANH_C3[0] * ce + _TANH_C3[1] * c
    p1, e1 = two_prod(xc, _TANH_C1[0])
    e1 += _TANH_C1[1] * xc
    vh, err = two_sum(p1, p3)
    vl = err + e1 + e3
    s = vh + vl
    return s, vl - (s - vh)


def _tanh_gate(xc: np.ndarray) -> tuple[np.ndarray, ...]:
    """(vh, vl, e, h, dl): e = e^{-|vh|}, h = e^{-|vh|/2}, e^{-|v|} = e (1 + dl) to rounding."""
    vh, vl = _tanh_v(xc)
    a = np.abs(vh)
    dl = np.copysign(1.0, vh) * -vl  # e^{-|vh + vl|} = e^{-|vh|} (1 - sign(vh) vl)
    return vh, vl, np.exp(-a), np.exp(-0.5 * a), dl


def _gelu_tanh_f(x: np.ndarray) -> np.ndarray:
    xc = np.clip(x, -50.0, 50.0)  # sigma(v) is 0 or 1 to float64 beyond |x| = 19
    v, _, e, h, dl = _tanh_gate(xc)
    den = 1.0 + e * (1.0 + dl)
    neg = _scaled(xc, e, h, dl)  # x e^v for v < 0
    res = np.where(v < 0, neg, x)
    res /= den
    return res


def _gelu_tanh_f32(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """GELU-tanh of float32 x: x / (1 + e^{-v}), v = C1 x + C3 x^3, in plain float64 over
    pooled scratch, rounded once.

    v's float64 rounding is a relative error of at most |v| 2^-52 in f, and |v| < 120
    wherever the float32 result is not 0, so this stays far inside float32's half ulp: the
    double-double v of :func:`_gelu_tanh_f` is needed for float64 output only. x is
    clamped to [-50, 50] inside v (x^3 never overflows) and to >= -50 in the numerator
    (-inf gives -50/inf = -0.0).
    """
    t = scratch(x, "gelu_tanh32_t", np.float64)
    s = scratch(x, "gelu_tanh32_s", np.float64)
    np.clip(x, -50.0, 50.0, out=t)
    np.multiply(t, t, out=s)
    np.multiply(s, -_TANH_C3[0], out=s)
    np.subtract(s, _TANH_C1[0], out=s)
    np.multiply(t, s, out=t)  # -v
    with np.errstate(over="ignore"):  # e^{-v} = inf for x < -11: f = x/inf, 0 in float32
        np.exp(t, out=t)
    np.add(t, 1.0, out=t)
    np.clip(x, -50.0, inf, out=s)
    np.divide(s, t, out=t)
    np.copyto(out, t, casting="same_kind")
    # Below x = -20 the float32 result is a zero, whose sign the float64 kernel takes from
    # the rounding residual of v (+0.0 on parts of [-50, -27]): those entries, absent from
    # typical inputs, go through it so the two paths agree bit for bit.
    if x.size and not np.min(x) >= -20.0:
        tail = x < -20.0
        out[tail] = _gelu_tanh_f(x[tail].astype(np.float64))
    return out


def _gelu_tanh_df(x: np.ndarray) -> np.ndarray:
    xc = np.clip(x, -50.0, 50.0)
    v, vl, e0, h, dl = _tanh_gate(xc)
    e = e0 * (1.0 + dl)  # e^{-|v|}
    den = (1.0 + e) ** 2
    x2 = xc * xc
    dv = _TANH_C1[0] + 3.0 * _TANH_C3[0] * x2  # v'(x)
    # x >= 0: f' = sigma(v) (1 + x v' sigma(-v)) = (1 + e + x v' e) / (1 + e)^2, all positive.
    pos = 1.0 + e + xc * dv * e
    # x < 0: f' = e^v N / (1 + e^v)^2, N = 1 + e^v + x v'. N cancels at the zero x1 of f';
    # with d = x - x1, N = e^{v1} expm1(v - v1) + d (C1 + 3 C3 P), v - v1 = d (C1 + C3 P),
    # P = x^2 + x x1 + x1^2: both terms have the sign of d.
    # With P = 3 x1^2 + d (3 x1 + d) the brackets are constants plus small corrections:
    # C1 + C3 P = K0 + C3 r, C1 + 3 C3 P = K1 + 3 C3 r, r = d (3 x1 + d).
    d = (xc - _TANH_ZERO[0]) - _TANH_ZERO[1]
    r = d * (3.0 * _TANH_ZERO[0] + d)
    dvz = np.minimum(d * (_TANH_K0 + _TANH_C3[0] * r), 2.0)  # v - v1 (<= 1.3 where used, x < 0)
    N = _TANH_EXP_V_ZERO * np.expm1(dvz) + d * (_TANH_K1 + 3.0 * _TANH_C3[0] * r)
    # x < -4: N = 1 + e^v + 3v - 2 C1 x (x v' = 3v - 2 C1 x), from the double-double v:
    # this loses only a factor 1.7 to cancellation, the form above accumulates 2.5 ulp.
    A, Ae = two_prod(v, 3.0)
    B, Be = two_prod(xc, 2.0 * _TANH_C1[0])
    tail = (A - B) + ((Ae - Be) + (1.0 + e + 3.0 * vl - 2.0 * _TANH_C1[1] * xc))
    N = np.where(xc < -4.0, tail, N)
    neg = _scaled(N, e0, h, dl)
    res = np.where(xc < 0, neg, pos)
    res /= den
    # around the zero, |x + 0.75| <= 0.5: f' = d q(x), q a fitted polynomial (fewer roundings)
    idx = np.flatnonzero(np.abs(xc + 0.75) <= 0.5)
    if idx.size:
        xi = xc[idx]
        res[idx] = ((xi - _TANH_ZERO[0]) - _TANH_ZERO[1]) * _horner(_TANH_Q, (xi + 0.75) * 2.0)
    return res


def _gelu_tanh_d2f(x: np.ndarray) -> np.ndarray:
    xc = np.clip(x, -50.0, 50.0)
    v, _, e, h, dl = _tanh_gate(xc)
    x2 = xc * xc
    dv = _TANH_C1[0] + 3.0 * _TANH_C3[0] * x2
    # f'' = sigma(v) sigma(-v) M, M = 2 v' + x v'' - x v'^2 T = 2 C1 + 12 C3 x^2 - A T with
    # v'' = 6 C3 x, A = x v'^2, T = tanh(v/2). M is even and cancels at |x| = z. Subtracting
    # M(z) = 0 exactly, with a = |x|, d = a - z: M = 12 C3 d (a + z) - (A - A_z) T
    # - A_z (T - T_z), A - A_z = d v'^2 + 3 C3 z d (a + z)(v' + v'_z) and
    # T - T_z = tanh((v - v_z)/2)(1 - T T_z), v - v_z = d (C1 + C3 (a^2 + a z + z^2)).
    a = np.abs(xc)
    z = _TANH_D2_ZERO[0]
    d = (a - z) - _TANH_D2_ZERO[1]
    t = np.tanh(0.5 * np.abs(v))
    dA = d * dv * dv + (3.0 * _TANH_C3[0] * z) * d * (a + z) * (dv + _TANH_D2_DV)
    dT = np.tanh(0.5 * d * (_TANH_C1[0] + _TANH_C3[0] * (x2 + a * z + z * z))) * (1.0 - t * _TANH_D2_T)
    m = (12.0 * _TANH_C3[0]) * d * (a + z) - dA * t - _TANH_D2_A * dT
    res = _scaled(m, e, h, dl)
    res /= (1.0 + e * (1.0 + dl)) ** 2
    return res


@activation(
    "gelu_tanh",
    formula=r"\frac{x}{2}\left(1 + \tanh\!\left(\sqrt{2/\pi}\,(x + 0.044715\,x^3)\right)\right)",
    smoothness="Cinf",
    monotonic=False,
    zero_centred=False,
    range=(_TANH_MIN, inf),
    family="gated",
    aliases=("gelu_approx",),
)
class gelu_tanh:
    r"""GELU, tanh approximation (Hendrycks & Gimpel 2016; GPT-2, BERT):
    :math:`\tfrac{x}{2}(1 + \tanh(\sqrt{2/\pi}(x + 0.044715x^3)))`.

    The default of ``jax.nn.gelu`` (``approximate=True``; also of ``keras.ops.gelu``);
    ``keras.activations.gelu(x, approximate=True)`` and
    ``torch.nn.functional.gelu(x, approximate='tanh')`` (both default to the exact form,
    ``gelu`` here). It differs from the exact ``gelu`` by at most 4.7e-4 (at x = ±2.70).

    Numerics: (1 + tanh(u))/2 = σ(2u), so f = x·σ(v) with v = 2√(2/π)(x + 0.044715x³);
    1 + tanh(u) itself cancels to 0 for u < -19. For x < 0, f ≈ x·e^v and an error in v is
    a relative error in f, so v is evaluated with exact (Dekker) products, and x is
    clamped to ±50 first so x³ never overflows. The minimum -0.17004 is a zero of f',
    computed there as e^v N/(1 + e^v)² with N rewritten around the zero (no
    cancellation). Limits: f(-inf) = 0, f(inf) = inf, f'(-inf) = 0, f'(inf) = 1.

    >>> import actlab
    >>> g = actlab.get("gelu_tanh")
    >>> g([-1.0, 0.0, 1.0])
    array([-0.15880801,  0.        ,  0.84119199])
    >>> float(g(-10.0)), float(g(-np.inf))
    (-1.204092348209806e-37, -0.0)
    """

    def f(x, out):
        if x.dtype == np.float32:
            return _gelu_tanh_f32(x, out)
        return _blocked(_gelu_tanh_f, x, out)

    def df(x, out):
        return _blocked(_gelu_tanh_df, x, out)

    def d2f(x, out):
        return _blocked(_gelu_tanh_d2f, x, out)


# ---- SiLU / Swish -----------------------------------------------------------------------

# y0: the zero of d/dy [y sigma(y)], i.e. 1 + y + e^y = 0, y0 = -1 - W(1/e), and
# w = e^{y0} = -(1 + y0); y2: the positive zero of 2 - y tanh(y/2) (silu'' = 0 at +-y2/beta).
_SILU_ZERO = (-1.2784645427610737, -1.0946994183093437e-16)
_SILU_W = 0.2784645427610738
_SILU_D2_ZERO = (2.3993572805154675, 1.8464872855353363e-16)
_SILU_MIN = -0.27846454276107384  # min of y sigma(y) = y0 + 1 = -w, rounded down


def _silu_gate(x: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(y, e, h, dl): y = beta x clipped to +-1500, e = e^{-|y|}, h = e^{-|y|/2}, and dl the
    correction e^{-|beta x|} = e (1 + dl) for the rounding of beta x (None when beta = 1):
    in the left tail silu ~ x e^y, so an error dy is a relative error dy, up to 1e-13."""
    if beta == 1.0:
        y, dl = np.clip(x, -1500.0, 1500.0), None
    else:
        with np.errstate(over="ignore"):  # beta x may overflow to +-inf: clipped just below
            y = np.clip(beta * x, -1500.0, 1500.0)
        xs = np.clip(x, -1e290, 1e290)
        yh, yl = two_prod(np.clip(xs, -3000.0 / beta, 3000.0 / beta), beta)  # beta x = yh + yl exactly
        dl = np.copysign(1.0, yh) * -yl  # e^{-|beta x|} = e^{-|y|} (1 - sign(y) yl) where not clipped
    a = np.abs(y)
    return y, np.exp(-a), np.exp(-0.5 * a), dl


def _silu_f(x: np.ndarray, beta: float) -> np.ndarray:
    y, e, h, dl = _silu_gate(x, beta)
    neg = _scaled(np.clip(x, -1e300, 1e300), e, h, dl)  # x e^y for y < 0 (clip keeps inf * 0 out)
    res = np.where(y < 0, neg, x)
    res /= 1.0 + (e if dl is None else e * (1.0 + dl))
    return res


def _silu_f32(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """SiLU (beta = 1) of float32 x: x / (1 + e^{-x}) in float64, rounded once.

    For float32 inputs the float64 quotient is within a few float64 ulp everywhere, so none
    of the float64 traps of :func:`_silu_f` applies: e^{-x} overflows only for x < -709.8,
    where x/inf = -0.0 is what the true value (|f| < 1e-305) rounds to in float32, and a
    subnormal float64 gate never occurs. Five passes over pooled float64 scratch instead
    of about thirty over fresh temporaries.
    """
    w = scratch(x, "silu32_w", np.float64)
    t = scratch(x, "silu32_t", np.float64)
    np.clip(x, -1e4, inf, out=w)  # -inf -> -1e4: -1e4/(1 + inf) = -0.0, not -inf/inf = NaN
    np.negative(w, out=t)
    with np.errstate(over="ignore"):  # e^{-x} = inf for x < -709.8: f = -0.0, the limit
        np.exp(t, out=t)
    np.add(t, 1.0, out=t)
    np.divide(w, t, out=t)
    np.copyto(out, t, casting="same_kind")
    return out


def _silu_df32(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """SiLU' (beta = 1) of float32 x: s (1 + x (1 - s)), s = 1/(1 + e^{-x}), in float64 over
    pooled scratch, rounded once.

    Outside [-1.5, -1] the bracket loses at most a factor 3 to cancellation, far inside
    float32's half ulp; around its zero x0 = -1.278 the entries go through the float64
    kernel :func:`_silu_df`, which expands the bracket around x0. x is clamped to >= -1e4
    (-inf: 0 * (1 - 1e4) = -0.0, the limit).
    """
    w = scratch(x, "silu32_w", np.float64)
    t = scratch(x, "silu32_t", np.float64)
    np.clip(x, -1e4, inf, out=w)
    np.negative(w, out=t)
    with np.errstate(over="ignore"):  # e^{-x} = inf for x < -709.8: s = 0
        np.exp(t, out=t)
    np.add(t, 1.0, out=t)
    np.reciprocal(t, out=t)  # s
    u = scratch(x, "silu32_u", np.float64)
    np.subtract(1.0, t, out=u)
    with np.errstate(invalid="ignore"):  # inf * 0 at x = +inf, fixed below
        np.multiply(u, w, out=u)
    np.add(u, 1.0, out=u)
    np.multiply(u, t, out=u)
    np.copyto(out, u, casting="same_kind")
    if x.size and not np.max(x) < inf:  # f'(inf) = 1 (the max is NaN when x holds a NaN)
        out[x == inf] = 1.0
    near = (x >= -1.5) & (x <= -1.0)
    if near.any():
        out[near] = _silu_df(x[near].astype(np.float64), 1.0)
    return out


def _silu_df(x: np.ndarray, beta: float) -> np.ndarray:
    y, e0, h, dl = _silu_gate(x, beta)
    e = e0 if dl is None else e0 * (1.0 + dl)  # e^{-|y|}
    # f' = sigma(y) (1 + y sigma(-y)). y >= 0: (1 + e (1 + y)) / (1 + e)^2, all positive.
    pos = 1.0 + e * (1.0 + y)
    # y < 0: e^y (1 + y + e^y) / (1 + e^y)^2, and 1 + y + e^y cancels at y0; with
    # d = y - y0 it is d + w expm1(d) exactly (w = e^{y0}), two terms of one sign.
    d = (y - _SILU_ZERO[0]) - _SILU_ZERO[1]
    neg = _scaled(d + _SILU_W * np.expm1(np.minimum(d, 2.0)), e0, h, dl)
    res = np.where(y < 0, neg, pos)
    res /= (1.0 + e) ** 2
    return res


def _silu_d2f(x: np.ndarray, beta: float) -> np.ndarray:
    y, e, h, dl = _silu_gate(x, beta)
    a = np.abs(y)
    t = np.tanh(0.5 * a)
    # f'' = beta sigma(y) sigma(-y) (2 - y tanh(y/2)); the bracket cancels at |y| = y2. With
    # d = |y| - y2 and tanh(y2/2) = 2/y2 it equals -(d t + tanh(d/2)(y2 - 2t)) exactly.
    d = (a - _SILU_D2_ZERO[0]) - _SILU_D2_ZERO[1]
    g = -(d * t + np.tanh(0.5 * d) * (_SILU_D2_ZERO[0] - 2.0 * t))
    res = _scaled(g, e, h, dl)
    res /= (1.0 + (e if dl is None else e * (1.0 + dl))) ** 2
    if beta != 1.0:
        res *= beta
    return res


def _silu_range(beta: float = 1.0) -> tuple[float, float]:
    return (_SILU_MIN / beta, inf)


@activation(
    "silu",
    formula=r"\mathrm{SiLU}(x) = x\,\sigma(\beta x) = \frac{x}{1 + e^{-\beta x}}",
    smoothness="Cinf",
    monotonic=False,
    zero_centred=False,
    range=_silu_range,
    params=(Param("beta", 1.0, low=0.0, low_open=True, doc="gate slope (Swish-beta); 1 gives SiLU"),),
    aliases=("swish",),
    family="gated",
)
class silu:
    r"""Sigmoid linear unit / Swish (Elfwing et al. 2017; Ramachandran et al. 2017):
    :math:`x\,\sigma(\beta x)`, β = 1 by default (SiLU; ``torch.nn.SiLU``,
    ``keras.activations.silu``/``swish`` and ``jax.nn.silu`` have no β).

    f'(x) = σ(βx)(1 + βx σ(-βx)), f''(x) = β σ(βx)σ(-βx)(2 - βx tanh(βx/2)). The minimum
    is -0.27846.../β = -W(1/e)/β at x = -(1 + W(1/e))/β, a zero of f' (there 1 + y + e^y,
    y = βx, is computed as d + W(1/e)·expm1(d), d = y - y0, so it does not cancel); the
    zeros of f'' at |βx| = 2.39936 are handled likewise. The product x·e^{βx} is formed as
    (x·e^{βx/2})·e^{βx/2} so a subnormal gate loses no accuracy (x = -745). Limits:
    f(-inf) = 0 (``torch.nn.functional.silu`` returns NaN: -inf·0), f'(-inf) = 0,
    f'(inf) = 1.
    For β != 1, βx is formed exactly (Dekker) where the gate needs it: its rounding would be
    a relative error of |βx|·2^-53 in the left tail.

    >>> import actlab
    >>> s = actlab.get("silu")
    >>> s([-1.0, 0.0, 1.0])
    array([-0.26894142,  0.        ,  0.73105858])
    >>> float(s(-np.inf)), float(s.df(-np.inf)), float(s.df(0.0))
    (-0.0, -0.0, 0.5)
    >>> actlab.get("swish", beta=2.0).range[0]
    -0.13923227138053693
    """

    def f(x, out, beta):
        if beta == 1.0 and x.dtype == np.float32:
            return _silu_f32(x, out)
        return _blocked(_silu_f, x, out, beta)

    def df(x, out, beta):
        if beta == 1.0 and x.dtype == np.float32:
            return _silu_df32(x, out)
        return _blocked(_silu_df, x, out, beta)

    def d2f(x, out, beta):
        return _blocked(_silu_d2f, x, out, beta)


# ---- Mish -------------------------------------------------------------------------------

# The zero of mish' (its minimum) as a double-double, and e^zero.
_MISH_ZERO = (-1.1924312145154952, -4.8484829848031044e-17)
_MISH_EXP_ZERO = 0.3034825352815289
_MISH_MIN = -0.30884341301725049  # mish(zero), rounded down


def _mish_parts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xc, e, h): x clipped to +-1500 (where h = 0), e = e^{-|x|}, h = e^{-|x|/2}."""
    xc = np.clip(x, -1500.0, 1500.0)
    a = np.abs(xc)
    return xc, np.exp(-a), np.exp(-0.5 * a)


def _mish_f(x: np.ndarray) -> np.ndarray:
    # tanh(softplus(x)) = n/(n + 2), n = e^x (e^x + 2) = (1 + 2u)/(1 + 2u + 2u^2), u = e^-x
    xc, e, h = _mish_parts(x)
    n = e * (e + 2.0)
    # x < 0 (e = e^x): x e (e + 2)/(n + 2), with x e formed as (x h) h (subnormal e^x)
    neg = _scaled(xc, e, h) * (e + 2.0) / (n + 2.0)
    pos = x * (1.0 + 2.0 * e) / (1.0 + 2.0 * e + 2.0 * e * e)
    return np.where(xc < 0, neg, pos)


def _mish_f32(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Mish of float32 x: x n/(n + 2), n = e^x (e^x + 2), in float64 over pooled scratch,
    rounded once.

    For float32 inputs this float64 form is within a few float64 ulp everywhere, so the
    guards of :func:`_mish_f` are not needed: e^x is never a float64 subnormal where the
    float32 result is not 0 (x > -104), and e^x is taken at min(x, 40), beyond which
    n/(n + 2) is 1 in float64. x is clamped to >= -1e4 so -inf gives -1e4 * 0 = -0.0.
    """
    t = scratch(x, "mish32_t", np.float64)
    s = scratch(x, "mish32_s", np.float64)
    np.clip(x, -1e4, 40.0, out=t)
    np.exp(t, out=t)  # e = e^x (0 below x = -745)
    np.add(t, 2.0, out=s)
    np.multiply(t, s, out=t)  # n
    np.add(t, 2.0, out=s)
    np.divide(t, s, out=t)  # tanh(softplus(x)) = n/(n + 2)
    np.clip(x, -1e4, inf, out=s)
    np.multiply(s, t, out=t)
    np.copyto(out, t, casting="same_kind")
    return out


def _mish_df32(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Mish' of float32 x: e ((e + 2)(n + 2) + 4 x (1 + e)) / (n + 2)^2, e = e^x,
    n = e (e + 2), in float64 over pooled scratch, rounded once.

    (tanh(softplus) = n/(n + 2), sech^2(softplus) sigma(x) = 4 e (1 + e)/(n + 2)^2; e is
    factored out so that an underflowed f' keeps its sign, -0.0 for x < -1.19.) The bracket
    cancels only around the zero of f' (x = -1.19); entries in [-1.5, -0.95] go through the
    float64 kernel :func:`_mish_df`, which expands it around the zero. x is clamped to
    [-1e4, 40] (beyond 40, f' is 1 in float64).
    """
    w = scratch(x, "mish32_w", np.float64)
    t = scratch(x, "mish32_t", np.float64)
    s = scratch(x, "mish32_s", np.float64)
    v = scratch(x, "mish32_v", np.float64)
    np.clip(x, -1e4, 40.0, out=w)
    np.exp(w, out=t)  # e
    np.add(t, 1.0, out=s)
    np.multiply(s, w, out=s)
    np.multiply(s, 4.0, out=s)  # 4 x (1 + e)
    np.add(t, 2.0, out=w)  # e + 2
    np.multiply(t, w, out=v)
    np.add(v, 2.0, out=v)  # n + 2
    np.multiply(w, v, out=w)
    np.add(w, s, out=w)
    np.multiply(w, t, out=w)
    np.multiply(v, v, out=v)
    np.divide(w, v, out=w)
    np.copyto(out, w, casting="same_kind")
    near = (x >= -1.5) & (x <= -0.95)
    if near.any():
        out[near] = _mish_df(x[near].astype(np.float64))
    return out


def _mish_df(x: np.ndarray) -> np.ndarray:
    xc, e, h = _mish_parts(x)
    # x >= 0, u = e^-x: f' = [(1 + 2u)(1 + 2u + 2u^2) + 4x u^2 (1 + u)] / (1 + 2u + 2u^2)^2
    D = 1.0 + 2.0 * e + 2.0 * e * e
    pos = ((1.0 + 2.0 * e) * D + 4.0 * xc * e * e * (1.0 + e)) / (D * D)
    # x < 0, e = e^x: f' = e B/(e^2 + 2e + 2)^2, B = 4(1 + x) + e(6 + 4x) + 4e^2 + e^3,
    # which cancels at the zero x1 of f'. With d = x - x1, e1 = e^{x1}, B equals
    # 4d(1 + e1) + (6 + 4x) e1 expm1(d) + 4 e1^2 expm1(2d) + e1^3 expm1(3d), whose terms all
    # have the sign of d for x > -1.5. It is used on [-1.5, -0.95]: outside, the plain form
    # loses at most a factor 1.1 (x < -1.5) or nothing (x > -1, all terms positive).
    d = (xc - _MISH_ZERO[0]) - _MISH_ZERO[1]
    d = np.minimum(d, 2.0)  # the expm1 form is used for x < 0 only
    e1 = _MISH_EXP_ZERO
    near = 4.0 * d * (1.0 + e1) + (6.0 + 4.0 * xc) * e1 * np.expm1(d) + 4.0 * e1 * e1 * np.expm1(2.0 * d)
    near += e1**3 * np.expm1(3.0 * d)
    plain = 4.0 * (1.0 + xc) + e * (6.0 + 4.0 * xc) + 4.0 * e * e + e**3
    B = np.where((xc >= -1.5) & (xc <= -0.95), near, plain)
    Dn = e * e + 2.0 * e + 2.0
    neg = _scaled(B, e, h) / (Dn * Dn)
    return np.where(xc < 0, neg, pos)


def _mish_d2f(x: np.ndarray) -> np.ndarray:
    xc, e, h = _mish_parts(x)
    # x < 0, e = e^x: f'' = e [(B + B') D - 4 e (e + 1) B] / D^3, D = e^2 + 2e + 2, which
    # expands to e [(16 + 8x) + (32 + 8x) e + (24 - 12x) e^2 + (8 - 8x) e^3] / D^3
    # (the e^4 and e^5 terms cancel exactly, so they are not computed).
    num = (16.0 + 8.0 * xc) + e * ((32.0 + 8.0 * xc) + e * ((24.0 - 12.0 * xc) + e * (8.0 - 8.0 * xc)))
    D = e * e + 2.0 * e + 2.0
    neg = _scaled(num, e, h) / D**3
    # x >= 0, u = e^-x: numerator and denominator times u^6 give the reversed polynomial
    # u^2 [8(1 - x) + (24 - 12x) u + (32 + 8x) u^2 + (16 + 8x) u^3] / (1 + 2u + 2u^2)^3.
    u = e
    num = (8.0 - 8.0 * xc) + u * ((24.0 - 12.0 * xc) + u * ((32.0 + 8.0 * xc) + u * (16.0 + 8.0 * xc)))
    Dt = 1.0 + 2.0 * u + 2.0 * u * u
    pos = ((num * u) * u) / Dt**3
    return np.where(xc < 0, neg, pos)


@activation(
    "mish",
    formula=r"\mathrm{Mish}(x) = x \tanh(\mathrm{softplus}(x)) = x \tanh(\ln(1 + e^{x}))",
    smoothness="Cinf",
    monotonic=False,
    zero_centred=False,
    range=(_MISH_MIN, inf),
    family="gated",
)
class mish:
    r"""Mish (Misra 2019): :math:`x\tanh(\ln(1 + e^x))`; ``torch.nn.Mish``,
    ``keras.activations.mish`` (no parameters anywhere).

    Numerics: tanh(softplus(x)) is rational in e^x, n/(n + 2) with n = e^x(e^x + 2), so
    it is computed without log or tanh: with e^x for x < 0 and e^-x for x >= 0 (no
    overflow), f' = e·B/(e² + 2e + 2)² with a polynomial B in e and x, and f'' likewise.
    The minimum -0.30884 at x = -1.19243 is a zero of f' where B cancels; there B is
    rewritten around the zero (double-double) with expm1 terms of one sign. Limits:
    f(-inf) = 0, f(inf) = inf, f'(-inf) = 0, f'(inf) = 1, f''(±inf) = 0.

    >>> import actlab
    >>> m = actlab.get("mish")
    >>> m([-1.0, 0.0, 1.0])
    array([-0.30340146,  0.        ,  0.86509839])
    >>> float(m.df(0.0)), float(m(-np.inf))
    (0.6, -0.0)
    """

    def f(x, out):
        if x.dtype == np.float32:
            return _mish_f32(x, out)
        return _blocked(_mish_f, x, out)

    def df(x, out):
        if x.dtype == np.float32:
            return _mish_df32(x, out)
        return _blocked(_mish_df, x, out)

    def d2f(x, out):
        return _blocked(_mish_d2f, x, out)

