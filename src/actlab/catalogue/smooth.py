"""Smooth squashing and exponential-type activations: the sigmoid and tanh family, the
softplus family, the exponential linear units and a few smooth curiosities.

Every kernel here is exact to a few ulp for *every* float, including the tails where the
textbook formula breaks: 1/(1 + e^{-x}) overflows inside e^{-x}, 1 - tanh(x)^2 and
σ(1 - σ) round to 0 long before the true value does, log(1 + e^x) overflows and then
loses e^x entirely for x < -37, x^2 overflows at |x| > 1.3e154 in float64. The comments
at each kernel say which trap it avoids and how.

Float32 input: single-ufunc kernels (tanh, arctan, sin, exp, expm1 with a multiply)
compute in float32; kernels that chain several rounding steps compute in float64 and
round once (:func:`_wide`), which costs one conversion each way but keeps them at
<= 1 ulp.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ._kernels import scratch, two_prod
from .registry import Param, activation

inf = math.inf
LN2 = math.log(2.0)

# SELU's constants (Klambauer et al. 2017), as in PyTorch's source.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
SELU_SCALE_ALPHA = 1.7580993408473768599402175208123  # their product, correctly rounded


def _wide(kernel):
    """Run a float64 kernel for float32 input and round the result once into ``out``."""

    @functools.wraps(kernel)
    def run(x, out, **params):
        if x.dtype == np.float64:
            return kernel(x, out, **params)
        # pooled float64 arrays: fresh ones per 1 MB block were page-faulted in each time
        wide = scratch(x, "wide_out", np.float64)
        src = scratch(x, "wide_in", np.float64)
        np.copyto(src, x)
        kernel(src, wide, **params)
        with np.errstate(over="ignore"):  # a float64 result beyond float32's range is inf there too
            np.copyto(out, wide, casting="same_kind")
        return out

    return run


def _pow2(c):
    return math.frexp(c)[0] == 0.5


def _wide_unless(exact):
    """Like _wide, but float32 stays native when exact(**params) holds."""

    def deco(kernel):
        wide = _wide(kernel)

        @functools.wraps(kernel)
        def run(x, out, **params):
            return kernel(x, out, **params) if exact(**params) else wide(x, out, **params)

        return run

    return deco


# ---- shared building blocks ----------------------------------------------------------------

# Below this x, σ(x) = e^x / (1 + e^x) equals e^x to within half an ulp in float64 (e^-40 <
# 2^-57), so e^x is used: expit computes 1/(1 + e^{-x}), whose e^{-x} overflows at x < -709.8
# (float64) or -89.4 (float32) and flushes a subnormal result to 0.
_SIG_TAIL = -40.0


def _sigmoid(x, out):
    # 1/(1 + e^{-x}) is within 2 ulp for x >= -40 (e^{-x} may overflow to inf below -709.8,
    # giving 0, which the tail replaces); it is what SciPy's expit computes, but NumPy's
    # vectorised exp makes it 2x faster than expit.
    np.negative(x, out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    np.add(out, 1.0, out=out)
    np.reciprocal(out, out=out)
    # The tail only in blocks that may have one: the masked pass costs a bool mask and a walk
    # of the whole block, more than the read-only np.min (which is NaN, so not >= -40, when
    # the block holds a NaN). The masked exp itself is kept: it keeps subnormal results that
    # NumPy's vectorised float64 exp flushes to 0.
    if x.size and not np.min(x) >= _SIG_TAIL:
        np.exp(x, out=out, where=x < _SIG_TAIL)
    return out


def _dsigmoid(x, out):
    # σ'(x) = e/(1 + e)^2 with e = e^{-|x|} <= 1: nothing overflows, and the tails keep
    # their true size e^{-|x|} (σ(1 - σ) gives 0 once σ rounds to 1).
    np.abs(x, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    t = np.add(out, 1.0, out=scratch(out, "dsigmoid"))  # out=: stays an array for 0-d input
    np.multiply(t, t, out=t)
    return np.divide(out, t, out=out)


def _dtanh(x, out):
    # tanh'(x) = sech^2 x = 4q/(1 + q)^2 with q = e^{-2|x|}: 1 - tanh^2 rounds to 0 for
    # |x| > 19 while the true value is 4e^{-2|x|}; 1/cosh^2 overflows in cosh^2.
    np.abs(x, out=out)
    with np.errstate(over="ignore"):  # -2|x| = -inf for |x| > 9e307 gives exp = 0, the limit
        np.multiply(out, -2.0, out=out)
    np.exp(out, out=out)
    t = np.add(out, 1.0, out=scratch(out, "dtanh"))
    np.multiply(t, t, out=t)
    np.divide(out, t, out=out)
    return np.multiply(out, 4.0, out=out)


def _tanh_sech2(x, out, c):
    # c tanh(x) sech^2(x): tanh'' for c = -2, tanh_shrink'' for c = 2 (sech^2 as in _dtanh)
    _dtanh(x, out)
    t = np.tanh(x, out=np.empty_like(x))
    np.multiply(t, c, out=t)
    return np.multiply(out, t, out=out)


# ---- sigmoid family ------------------------------------------------------------------------


@activation(
    "sigmoid",
    formula=r"\sigma(x) = \frac{1}{1 + e^{-x}}",
    smoothness="Cinf",
    monotonic=True,
    zero_centred=False,
    range=(0.0, 1.0),
    gain=1.0,
    aliases=("logistic", "expit"),
    family="sigmoid",
)
class sigmoid:
    r"""Logistic sigmoid, :math:`\sigma(x) = 1/(1 + e^{-x})`.

    f is 1/(1 + e^{-x}) (what SciPy's ``expit`` computes) for x >= -40 and e^x below:
    there e^{-x} overflows for x < -709.8 (float64) or -89.4 (float32) and so flushes
    results that are still representable subnormals to 0; for x < -40, σ(x) = e^x to within
    half an ulp. f'(x) = e/(1 + e)^2 with e = e^{-|x|}, not σ(1-σ): the latter rounds to 0
    once σ(x) rounds to 1 (x > 37 in float64, > 17 in float32) while the true value is
    about e^{-x}. f''(x) = -σ'(x) tanh(x/2), which avoids the cancellation in 1 - 2σ(x)
    near 0. Limits: f(-inf) = 0, f(inf) = 1, f'(±inf) = f''(±inf) = 0. PyTorch, Keras and
    JAX agree on the function (torch's gain is 1).

    >>> import actlab
    >>> actlab.get("sigmoid")([0.0, 40.0])
    array([0.5, 1. ])
    >>> float(actlab.get("sigmoid").df(40.0))  # σ(1-σ) would give 0.0
    4.248354255291589e-18
    >>> float(actlab.get("sigmoid")(-720.0))  # expit gives 0.0
    2.0322308024e-313
    """

    def f(x, out):
        return _sigmoid(x, out)

    def df(x, out):
        return _dsigmoid(x, out)

    def d2f(x, out):
        _dsigmoid(x, out)
        t = np.multiply(x, 0.5, out=np.empty_like(x))
        np.tanh(t, out=t)
        np.negative(t, out=t)
        return np.multiply(out, t, out=out)


@activation(
    "log_sigmoid",
    formula=r"\log \sigma(x) = -\log(1 + e^{-x})",
    smoothness="Cinf",
    monotonic=True,
    zero_centred=False,
    range=(-inf, 0.0),
    aliases=("logsigmoid", "log_expit"),
    family="sigmoid",
)
class log_sigmoid:
    r"""Log-sigmoid, :math:`f(x) = \log\sigma(x) = -\log(1 + e^{-x}) = -\mathrm{softplus}(-x)`.

    f = min(x, 0) - log1p(e^{-|x|}) (as SciPy's ``log_expit``, x - log1p(e^x) for x < 0
    and -log1p(e^{-x}) otherwise, but vectorised); the
    naive log(1/(1 + e^{-x})) overflows for x < -709.8 and gives log(0) = -inf for
    x < -745 in float64, and rounds to 0 for x > 37 while the true value is -e^{-x}.
    f'(x) = σ(-x), f''(x) = -σ'(x), both without overflow (see sigmoid). Limits:
    f(-inf) = -inf, f(inf) = 0, f'(-inf) = 1, f'(inf) = 0. Same in PyTorch, Keras, JAX.

    >>> import actlab
    >>> actlab.get("log_sigmoid")([-1000.0, 0.0, 40.0])
    array([-1.00000000e+03, -6.93147181e-01, -4.24835426e-18])
    """

    def f(x, out):
        # min(x, 0) - log1p(e^{-|x|}): no overflow, no cancellation (both terms <= 0), and
        # 3x faster than SciPy's log_expit, which evaluates the same branches one by one.
        np.abs(x, out=out)
        np.negative(out, out=out)
        np.exp(out, out=out)
        np.log1p(out, out=out)
        return np.subtract(np.minimum(x, 0.0), out, out=out)

    def df(x, out):
        return _sigmoid(np.negative(x), out)

    def d2f(x, out):
        _dsigmoid(x, out)
        return np.negative(out, out=out)


# ---- tanh family ---------------------------------------------------------------------------


@activation(
    "tanh",
    formula=r"\tanh x = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}",
    smoothness="Cinf",
    monotonic=True,
    zero_centred=True,
    range=(-1.0, 1.0),
    gain=5.0 / 3.0,
    family="tanh",
)
class tanh:
    r"""Hyperbolic tangent, :math:`\tanh x = 2\sigma(2x) - 1`.

    f is NumPy's ``tanh`` (the textbook quotient of exponentials overflows to inf/inf =
    NaN for |x| > 355). f'(x) = sech^2 x, computed as 4q/(1 + q)^2 with q = e^{-2|x|}:
    the common 1 - tanh^2 x rounds to 0 for |x| > 19 (float64) while the true value is
    4e^{-2|x|}. f''(x) = -2 tanh(x) sech^2(x). Limits: f(±inf) = ±1, f'(±inf) =
    f''(±inf) = 0. Gain 5/3 as ``torch.nn.init.calculate_gain('tanh')``.

    >>> import actlab
    >>> actlab.get("tanh")([-1.0, 0.0, 1.0])
    array([-0.76159416,  0.        ,  0.76159416])
    >>> float(actlab.get("tanh").df(20.0))  # 1 - tanh^2 gives 0.0
    1.6993417021166355e-17
    """

    def f(x, out):
        return np.tanh(x, out=out)

    @_wide
    def df(x, out):
        return _dtanh(x, out)

    @_wide
    def d2f(x, out):
        return _tanh_sech2(x, out, -2.0)


# Taylor coefficients of x cosh x - sinh x = sum_k 2k/(2k+1)! x^(2k+1), k = 1..10, all
# positive: for |x| < 1 the sum has no cancellation and the first omitted term is < 1e-20 of
# the first. From |x| = 1 on, x - tanh x is within 2.9 ulp (measured on 5000 points of
# [1, 1.25] against mpmath; f >= 0.238 there, so at most 2 bits cancel).
_TS_COEF = [2.0 * k / math.factorial(2 * k + 1) for k in range(1, 11)]
_TS_SERIES = 1.0


@activation(
    "tanh_shrink",
    formula=r"x - \tanh x",
    smoothness="Cinf",
    monotonic=True,
    zero_centred=True,
    aliases=("tanhshrink",),
    family="tanh",
)
class tanh_shrink:
    r"""Tanh-shrink, :math:`f(x) = x - \tanh x` (PyTorch's ``Tanhshrink``).

    The plain difference cancels near 0, where f(x) ~ x^3/3: it loses about
    log2(3/x^2) bits, all of them for |x| < 1e-8 in float64 (where it returns 0 or
    garbage instead of x^3/3). Here, for |x| < 1, f(x) = (x cosh x - sinh x)/cosh x
    with the numerator summed from its Taylor series, whose terms 2k x^(2k+1)/(2k+1)! are
    all of one sign (no cancellation); beyond, x - tanh x loses at most two bits
    (float32 computes x - tanh x in float64, with a 3-term series below 2^-7).
    f'(x) = tanh^2 x and f''(x) = 2 tanh(x) sech^2(x) are exact forms (1 - sech^2 would
    cancel again). Limits: f(±inf) = ±inf, f'(±inf) = 1, f''(±inf) = 0. PyTorch's
    ``Tanhshrink`` and Keras's ``tanh_shrink`` compute the plain difference; JAX has none.

    >>> import actlab
    >>> float(actlab.get("tanh_shrink")(1e-5))  # x - tanh(x) gives 3.333328757329848e-16
    3.333333333200001e-16
    """

    def f(x, out):
        # The series entries are gathered, evaluated and put back (np.take/np.put), not
        # boolean-indexed, and the temporaries come from the pool: 10x faster on 10^7 entries.
        if x.dtype == np.float32:
            # in float64, x - tanh x loses log2(3/x^2) of 53 bits: fewer than 29 above
            # 2^-7, leaving 24; below, three series terms are exact to 2^-40.
            w = scratch(x, "tsh_w", np.float64)
            np.copyto(w, x)
            r = np.tanh(w, out=scratch(w, "tsh_r"))
            np.subtract(w, r, out=r)
            a = np.abs(w, out=scratch(w, "tsh_a"))
            idx = np.flatnonzero(np.less(a, 2.0**-7, out=scratch(w, "tsh_m", bool)))
            if idx.size:
                ws = np.take(w, idx)
                z = ws * ws
                np.put(r, idx, ws * z * (1 / 3 + z * (-2 / 15 + z * (17 / 315))))
            np.copyto(out, r, casting="same_kind")
            return out
        a = np.abs(x, out=scratch(x, "tsh_a"))
        idx = np.flatnonzero(np.less(a, _TS_SERIES, out=scratch(x, "tsh_m", bool)))
        xs = np.take(x, idx)  # read before out (which may be x) is written
        if np.may_share_memory(x, out):
            x = x.copy()
        np.tanh(x, out=out)
        np.subtract(x, out, out=out)
        if idx.size:
            z = xs * xs
            s = np.full_like(xs, _TS_COEF[-1])
            for c in reversed(_TS_COEF[:-1]):
                s *= z
                s += c
            s *= z * xs
            s /= np.cosh(xs)
            np.put(out, idx, s)
        return out

    def df(x, out):
        np.tanh(x, out=out)
        return np.multiply(out, out, out=out)

    @_wide
    def d2f(x, out):
        return _tanh_sech2(x, out, 2.0)  # (x - tanh x)'' = -tanh''


@activation(
    "softsign",
    formula=r"\frac{x}{1 + |x|}",
    smoothness="C1",
    monotonic=True,
    zero_centred=True,
    range=(-1.0, 1.0),
    aliases=("soft_sign",),
    family="tanh",
)
class softsign:
    r"""Softsign, :math:`f(x) = x/(1 + |x|)`.

    f'(x) = 1/(1 + |x|)^2 is computed as (1/(1 + |x|))^2, so that it underflows gently
    instead of overflowing in the square for |x| > 1.3e154. f''(x) = -2 sign(x)/(1 + |x|)^3
    jumps at 0 (f is C1, not C2); d2f(0) = 0, the mean of the one-sided values. Limits:
    f(±inf) = ±1 (the formula gives inf/inf = NaN there), f'(±inf) = f''(±inf) = 0.
    Same in PyTorch, Keras and JAX.

    >>> import actlab
    >>> actlab.get("softsign")([-1.0, 0.0, 3.0, float("inf")])
    array([-0.5 ,  0.  ,  0.75,  1.  ])
    """

    def f(x, out):
        np.abs(x, out=out)
        np.add(out, 1.0, out=out)
        with np.errstate(invalid="ignore"):  # inf/inf, replaced by the limit below
            np.divide(x, out, out=out)
        return np.sign(x, out=out, where=np.isinf(x))

    def df(x, out):
        np.abs(x, out=out)
        np.add(out, 1.0, out=out)
        np.reciprocal(out, out=out)
        return np.multiply(out, out, out=out)

    def d2f(x, out):
        np.abs(x, out=out)
        np.add(out, 1.0, out=out)
        np.reciprocal(out, out=out)
        r = np.multiply(out, out, out=np.empty_like(out))
        np.multiply(out, r, out=out)
        np.sign(x, out=r)
        np.multiply(r, -2.0, out=r)
        return np.multiply(out, r, out=out)


# Beyond this |x|, 1 + x^2 = x^2 (to < 0.1 ulp) and the derivatives of arctan use r = 1/x,
# whose powers underflow gently (x^2 overflows for |x| > 1.3e154 and (1 + x^2)^-2 underflows
# into the subnormals early: at 1e77 in float64, at 1e10 in float32).
_ATAN_TAIL = {np.dtype(np.float32): 1e5, np.dtype(np.float64): 1e10}


@activation(
    "arctan",
    formula=r"\arctan x",
    smoothness="Cinf",
    monotonic=True,
    zero_centred=True,
    range=(-math.pi / 2, math.pi / 2),
    family="tanh",
)
class arctan:
    r"""Arctangent, :math:`f(x) = \arctan x`, :math:`f'(x) = 1/(1 + x^2)`,
    :math:`f''(x) = -2x/(1 + x^2)^2`.

    For |x| > 1e10 the derivatives are evaluated as 1/x^2 and -2/x^3 through r = 1/x
    (exact there to < 1e-20 relative): 1 + x^2 overflows for |x| > 1.3e154 and
    (1 + x^2)^2 already at 1e77, which would flush representable results to 0. Limits:
    f(±inf) = ±π/2, f'(±inf) = f''(±inf) = 0. (Keras, JAX and PyTorch have no arctan
    activation; the tutorials list it.)

    >>> import actlab
    >>> actlab.get("arctan").df([0.0, 1.0, 1e100])
    array([1.e+000, 5.e-001, 1.e-200])
    """

    def f(x, out):
        return np.arctan(x, out=out)

    def df(x, out):
        with np.errstate(over="ignore"):  # x^2 = inf only where the tail below takes over
            np.multiply(x, x, out=out)
        np.add(out, 1.0, out=out)
        np.reciprocal(out, out=out)
        tail = np.abs(x) > _ATAN_TAIL[x.dtype]
        if tail.any():
            r = 1.0 / x[tail]
            out[tail] = r * r
        return out

    def d2f(x, out):
        arctan.df_kernel(x, out)
        np.multiply(out, out, out=out)
        with np.errstate(invalid="ignore"):  # 0 * inf at x = ±inf, replaced in the tail
            np.multiply(out, x, out=out)
        np.multiply(out, -2.0, out=out)
        tail = np.abs(x) > _ATAN_TAIL[x.dtype]
        if tail.any():
            r = 1.0 / x[tail]
            out[tail] = -2.0 * r * r * r
        return out


# ---- softplus family -----------------------------------------------------------------------


@activation(
    "softplus",
    formula=r"\frac{1}{\beta}\log(1 + e^{\beta x})",
    smoothness="Cinf",
    monotonic=True,
    zero_centred=False,
    range=(0.0, inf),
    params=(Param("beta", 1.0, 0.0, inf, low_open=True, doc="sharpness; the ReLU is the limit beta -> inf"),),
    family="softplus",
)
class softplus:
    r"""Softplus, :math:`f(x) = \frac{1}{\beta}\log(1 + e^{\beta x})` (default β = 1).

    Computed as max(x, 0) + log1p(e^{-β|x|})/β, which never overflows (the naive
    log(1 + e^x) overflows for x > 709.8 and returns 0 for x < -37 instead of e^x).
    f'(x) = σ(βx), f''(x) = β σ'(βx) (see sigmoid). For β not a power of two, βx is
    carried exactly as p + e (Dekker's product; float32 input computes in float64), since
    the rounding of βx would sit in an exponent (100 ulp at βx = -260). Limits: f(-inf) = 0, f(inf) = inf,
    f'(-inf) = 0, f'(inf) = 1. PyTorch's ``Softplus(beta=1, threshold=20)`` returns x
    itself once βx > 20, which is off by log1p(e^{-x}) ~ 2e-9 at x = 20 (about 10^7 ulp in
    float64); actlab has no threshold and is exact for all x. Keras and JAX have no β
    (JAX computes logaddexp(x, 0)).

    >>> import actlab
    >>> actlab.get("softplus")([-800.0, 0.0, 20.0])
    array([ 0.        ,  0.69314718, 20.        ])
    >>> float(actlab.get("softplus")(20.0) - 20.0)  # torch returns exactly 20.0
    2.061153026033935e-09
    >>> float(actlab.get("softplus")(-30.0))  # np.log(1 + np.exp(-30)) gives 9.348e-14
    9.357622968839737e-14
    """

    @_wide_unless(lambda beta: _pow2(beta))
    def f(x, out, beta):
        if _pow2(beta):  # βx is exact (beta = 1 is the common case)
            np.abs(x, out=out)
            if beta != 1.0:
                with np.errstate(over="ignore", under="ignore"):  # -β|x| = -inf: exp = 0, the limit
                    np.multiply(out, beta, out=out)
            np.negative(out, out=out)
            np.exp(out, out=out)
        else:
            p, e = _softplus_arg(x, beta)
            np.multiply(e, np.sign(p), out=e)  # β|x| = |p| + e now
            np.abs(p, out=p)
            np.negative(p, out=p)
            np.exp(p, out=out)
            np.negative(e, out=e)
            np.add(e, 1.0, out=e)
            np.multiply(out, e, out=out)  # e^{-|p| - e} = e^{-|p|} (1 - e)
        np.log1p(out, out=out)
        if beta != 1.0:
            np.divide(out, beta, out=out)
        return np.add(out, np.maximum(x, 0.0), out=out)

    @_wide_unless(lambda beta: _pow2(beta))
    def df(x, out, beta):
        if beta == 1.0:
            return _sigmoid(x, out)
        if _pow2(beta):
            with np.errstate(over="ignore", under="ignore"):
                return _sigmoid(np.multiply(x, beta), out)
        p, e = _softplus_arg(x, beta)
        _sigmoid(p, out)
        np.multiply(e, _dsigmoid(p, np.empty_like(p)), out=e)  # σ(p + e) = σ(p) + σ'(p) e
        return np.add(out, e, out=out)

    @_wide_unless(lambda beta: _pow2(beta))
    def d2f(x, out, beta):
        if beta == 1.0:
            return _dsigmoid(x, out)
        if _pow2(beta):
            with np.errstate(over="ignore", under="ignore"):
                _dsigmoid(np.multiply(x, beta), out)
        else:
            p, e = _softplus_arg(x, beta)
            _dsigmoid(p, out)
            t = np.multiply(p, 0.5, out=p)  # σ'(p + e) = σ'(p) (1 - tanh(p/2) e)
            np.tanh(t, out=t)
            np.multiply(t, e, out=t)
            np.subtract(1.0, t, out=t)
            np.multiply(out, t, out=out)
        return np.multiply(out, beta, out=out)


def _softplus_arg(x, beta):
    """p + e = βx exactly (float64), with x clipped where e^{-β|x|} = 0 anyway."""
    bound = min(1000.0 / beta, 1e290)
    return two_prod(np.clip(x, -bound, bound), beta)


# ---- exponential linear units --------------------------------------------------------------


def _neg_part(x, out, divisor):
    """min(x, 0)/divisor = q + d: q into out, and d (None when exact).

    The exponent of e^{x/alpha} must not carry the rounding of x/alpha: half an ulp of an
    exponent near -700 is 80 ulp of the result. With q = fl(y/alpha) and the exact product
    q*alpha = p + e, the remainder y - q*alpha = (y - p) - e is exact and d = remainder/alpha.
    For alpha a power of two, q is exact. (float64; float32 input computes in float64.)
    """
    np.minimum(x, 0.0, out=out)  # the exp branch sees only x <= 0: no overflow for large x
    if divisor == 1.0:
        return out, None
    # beyond -800 alpha, e^{x/alpha} = 0 whatever the split gives: clip to keep it finite
    np.maximum(out, -min(800.0 * divisor, 1e290), out=out)
    if _pow2(divisor):
        with np.errstate(under="ignore"):
            return np.divide(out, divisor, out=out), None
    q = np.divide(out, divisor, out=np.empty_like(out))
    p, e = two_prod(q, divisor)
    np.subtract(out, p, out=p)  # exact (Sterbenz)
    np.subtract(p, e, out=p)
    np.divide(p, divisor, out=p)
    np.copyto(out, q)
    return out, p


def _elu_kernels(x, out, scale, neg_scale, divisor):
    """scale*x for x > 0, neg_scale*expm1(x/divisor) for x <= 0 (NaN propagates)."""
    y, d = _neg_part(x, out, divisor)
    if d is not None:  # expm1(q + d) = expm1(q) + e^q d
        np.multiply(d, np.exp(y), out=d)
    np.expm1(y, out=out)
    if d is not None:
        np.add(out, d, out=out)
    if neg_scale != 1.0:
        np.multiply(out, neg_scale, out=out)
    # The exp branch is exactly 0 for x > 0, so adding scale*max(x, 0) is exact; this
    # avoids a masked copy, which mispredicts on mixed signs and costs ~20 ns/element.
    p = np.maximum(x, 0.0, out=np.empty_like(x))
    if scale != 1.0:
        with np.errstate(over="ignore"):  # SELU's scale * x rounds to inf near max: the right value
            np.multiply(p, scale, out=p)
    return np.add(out, p, out=out)


def _elu_slope(x, out, pos_value, coef, divisor, at_zero_neg):
    """coef*e^{x/divisor} for x <= 0 (x < 0 if not at_zero_neg), pos_value beyond.

    at_zero_neg=True is f' (torch's backward takes the exp branch at 0); False is f''
    (torch's double backward gives the x > 0 value at 0).
    """
    y, d = _neg_part(x, out, divisor)
    np.exp(y, out=out)
    if d is not None:  # e^{q + d} = e^q (1 + d)
        np.add(d, 1.0, out=d)
        np.multiply(out, d, out=out)
    if coef != 1.0:
        np.multiply(out, coef, out=out)
    pos = np.greater(x, 0.0) if at_zero_neg else np.greater_equal(x, 0.0)
    # select by multiplying with 0/1 (exact; NaN stays NaN) rather than a masked copy,
    # which mispredicts on mixed signs
    np.multiply(out, np.logical_not(pos), out=out)
    if pos_value != 0.0:
        np.add(out, np.multiply(pos, pos_value, out=np.empty_like(x)), out=out)
    return out


def _elu_range(alpha):
    return (-alpha, inf)


@activation(
    "elu",
    formula=r"\begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0 \end{cases}",
    smoothness="C0",
    monotonic=True,
    zero_centred=False,
    range=_elu_range,
    kinks=lambda alpha: {} if alpha == 1.0 else {0.0: alpha},
    params=(Param("alpha", 1.0, 0.0, inf, doc="the negative saturation value is -alpha"),),
    family="elu",
)
class elu:
    r"""Exponential linear unit (Clevert et al. 2015), :math:`x` for x > 0 and
    :math:`\alpha(e^x - 1)` for x <= 0 (default α = 1).

    The negative branch is α expm1(min(x, 0)): expm1 keeps full accuracy near 0 where
    e^x - 1 cancels, and clamping to x <= 0 first means the unused exponential never
    overflows (np.where(x > 0, x, α(e^x - 1)) evaluates e^x for every x and warns at
    x > 709.8). f'(x) = 1 for x > 0, α e^x for x <= 0; at 0, f'(0) = α, PyTorch's
    autograd convention (verified on torch 2.13), so for α != 1 the point 0 is a kink;
    for α = 1 (C1) both sides agree. f''(x) = α e^x for x < 0 and 0 for x >= 0 (torch's
    double backward also gives 0 at 0). Limits: f(-inf) = -α, f(inf) = inf. PyTorch,
    Keras and JAX all default to α = 1.

    >>> import actlab
    >>> actlab.get("elu")([-1e-20, 0.0, 2.0])
    array([-1.e-20,  0.e+00,  2.e+00])
    >>> float(actlab.get("elu", alpha=0.5).df(0.0))
    0.5
    """

    def f(x, out, alpha):
        return _elu_kernels(x, out, 1.0, alpha, 1.0)

    def df(x, out, alpha):
        return _elu_slope(x, out, 1.0, alpha, 1.0, True)

    def d2f(x, out, alpha):
        return _elu_slope(x, out, 0.0, alpha, 1.0, False)


@activation(
    "selu",
    formula=r"\lambda \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0 \end{cases}",
    smoothness="C0",
    monotonic=True,
    zero_centred=False,
    range=(-SELU_SCALE_ALPHA, inf),
    kinks={0.0: SELU_SCALE_ALPHA},
    gain=0.75,
    family="elu",
)
class selu:
    r"""Scaled ELU (Klambauer et al. 2017), :math:`\lambda x` for x > 0 and
    :math:`\lambda\alpha(e^x - 1)` for x <= 0, with PyTorch's constants
    λ = 1.0507009873554804934 and α = 1.6732632423543772848 (the self-normalising fixed
    point). λα is stored correctly rounded (1.7580993408473768); torch's float64 product
    of the two rounded constants is 1 ulp lower. Computed as for elu (expm1 on min(x, 0), no overflow). f'(0) = λα as in
    PyTorch's autograd (so 0 is a kink: λ on the right); f''(0) = 0 as torch's double
    backward. Limits: f(-inf) = -λα, f(inf) = inf. Gain 3/4 as
    ``torch.nn.init.calculate_gain('selu')``; Keras and JAX use the same constants.

    >>> import actlab
    >>> actlab.get("selu")([-1.0, 1.0])
    array([-1.11133074,  1.05070099])
    """

    def f(x, out):
        return _elu_kernels(x, out, SELU_SCALE, SELU_SCALE_ALPHA, 1.0)

    def df(x, out):
        return _elu_slope(x, out, SELU_SCALE, SELU_SCALE_ALPHA, 1.0, True)

    def d2f(x, out):
        return _elu_slope(x, out, 0.0, SELU_SCALE_ALPHA, 1.0, False)


@activation(
    "celu",
    formula=r"\begin{cases} x & x > 0 \\ \alpha (e^{x/\alpha} - 1) & x \le 0 \end{cases}",
    smoothness="C1",
    monotonic=True,
    zero_centred=False,
    range=_elu_range,
    params=(Param("alpha", 1.0, 0.0, inf, low_open=True, doc="the negative saturation value is -alpha"),),
    family="elu",
)
class celu:
    r"""Continuously differentiable ELU (Barron 2017), :math:`x` for x > 0 and
    :math:`\alpha(e^{x/\alpha} - 1)` for x <= 0 (default α = 1, where it equals elu).

    f'(x) = e^{x/α} for x <= 0 is 1 at 0 for every α, so f is C1 with no kink; f''
    jumps from 1/α to 0 at 0 and d2f(0) = 0 as torch's double backward. Computed as
    α expm1(min(x, 0)/α) (no overflow in the unused branch), with x/α split exactly into
    q + d when α is not a power of two (the rounding of x/α would otherwise sit in the
    exponent: 80 ulp at x/α = -700), then expm1(q + d) = expm1(q) + e^q d; float32 input
    computes in float64 then. Limits: f(-inf) = -α,
    f(inf) = inf. PyTorch's ``CELU`` and JAX's ``celu`` default to α = 1.

    >>> import actlab
    >>> actlab.get("celu", alpha=2.0)([-2.0, 0.0, 1.0])
    array([-1.26424112,  0.        ,  1.        ])
    """

    @_wide_unless(lambda alpha: _pow2(alpha))
    def f(x, out, alpha):
        return _elu_kernels(x, out, 1.0, alpha, alpha)

    @_wide_unless(lambda alpha: _pow2(alpha))
    def df(x, out, alpha):
        return _elu_slope(x, out, 1.0, 1.0, alpha, True)

    @_wide_unless(lambda alpha: _pow2(alpha))
    def d2f(x, out, alpha):
        _elu_slope(x, out, 0.0, 1.0, alpha, False)
        if alpha != 1.0:
            np.divide(out, alpha, out=out)
        return out


# ---- exponential and logarithmic -----------------------------------------------------------


@activation(
    "exponential",
    formula=r"e^{x}",
    smoothness="Cinf",
    monotonic=True,
    zero_centred=False,
    range=(0.0, inf),
    gain=math.exp(-1.0),  # 1/sqrt(E[e^{2Z}]) = 1/e in closed form; quadrature of e^{2z} overflows
    family="exponential",
)
class exponential:
    r"""Exponential, :math:`f(x) = f'(x) = f''(x) = e^x` (Keras's ``exponential``).

    e^x overflows to inf for x > 709.78 (float64) or 88.72 (float32): that is the correctly
    rounded value, returned without a warning. Limits: f(-inf) = 0, f(inf) = inf. The
    gain is the derived one, 1/sqrt(E[e^{2Z}]) = 1/e for Z ~ N(0, 1), given in closed form
    because numerical quadrature of e^{2z} overflows (no framework defines one).

    >>> import actlab
    >>> actlab.get("exponential")([0.0, 1.0, 1000.0])
    array([1.        , 2.71828183,        inf])
    """

    def f(x, out):
        with np.errstate(over="ignore"):
            return np.exp(x, out=out)

    df = d2f = f  # e^x is its own derivative


def _neg_expm1_neg(x, out):
    """1 - e^{-x} = -expm1(-x)."""
    np.negative(x, out=out)
    np.expm1(out, out=out)
    return np.negative(out, out=out)


@activation(
    "log1mexp",
    formula=r"\log(1 - e^{-x}), \quad x > 0",
    smoothness="Cinf",
    monotonic=True,
    zero_centred=False,
    range=(-inf, 0.0),
    kinks={0.0: inf},  # the end of the domain: f(0) = -inf, one-sided f'(0) = +inf
    gain=0.7432223483970933,  # 1/sqrt(E[f(Z)^2 | Z > 0]), mpmath quadrature
    family="log1mexp",
    domain=(0.0, inf),
)
class log1mexp:
    r"""Log-one-minus-exp, :math:`f(x) = \log(1 - e^{-x})` for x > 0 (JAX's definition).

    Mächler's switch at log 2: log(-expm1(-x)) for x <= log 2 and log1p(-e^{-x}) beyond;
    each branch is accurate where the other loses digits (the naive log(1 - e^{-x})
    returns 0 for x > 37 instead of -e^{-x} and cancels near 0). Domain: f(0) = -inf,
    f(inf) = 0; x < 0 (and -inf) is outside the domain and gives NaN without a warning.
    f'(x) = 1/expm1(x) (f'(0) = inf, f'(inf) = 0) and f''(x) = -e^{-x}/(1 - e^{-x})^2
    (f''(0) = -inf), NaN for x < 0 too. JAX's ``log1mexp`` has the same definition and
    NaN below 0; PyTorch and Keras have none. 0 is listed in ``kinks`` (f is not
    differentiable there) with the one-sided f'(0) = inf. The derived gain averages over
    the domain only: 1/sqrt(E[f(Z)^2 | Z > 0]) = 0.74322 for Z ~ N(0, 1) (mpmath quadrature),
    since E[f(Z)^2] over the whole line is undefined.

    >>> import actlab
    >>> actlab.get("log1mexp")([1e-10, 2.0, 50.0])
    array([-2.30258509e+01, -1.45413458e-01, -1.92874985e-22])
    """

    def f(x, out):
        # log(0) = -inf at 0; below 0, 1 - e^{-x} < 0 (or overflows) and log gives NaN.
        # The log1p branch is evaluated everywhere (on x clipped to [log 2, inf], so it is
        # finite), and the log(-expm1) branch only at the entries x <= log 2, gathered and
        # put back: masked where= ufuncs cost ~20 ns/element on mixed sides (branch
        # mispredictions), computing both branches everywhere twice the transcendentals.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            idx = np.flatnonzero(np.less_equal(x, LN2, out=scratch(x, "l1me_side", bool)))
            lo = np.take(x, idx)  # read before out is written: out may be x
            hi = np.clip(x, LN2, inf, out=out)
            np.negative(hi, out=hi)
            np.exp(hi, out=hi)
            np.negative(hi, out=hi)
            np.log1p(hi, out=hi)  # log1p(-e^{-x}) for x > log 2 (and NaN)
            if idx.size:
                _neg_expm1_neg(lo, lo)
                np.log(lo, out=lo)  # log(-expm1(-x)) for x <= log 2
                np.put(out, idx, lo)
        return out

    def df(x, out):
        # e^{-x}/(1 - e^{-x}), not 1/expm1(x): expm1 overflows at x > 709.78 while the
        # true value e^{-x} is still a subnormal. f'(0) = 1/(+0) = +inf, the limit.
        # x < 0 is outside the domain: NaN. The mask is taken before out (which may be x) is
        # written, and only when the block's min is below 0 or NaN (one read-only pass).
        below = np.less(x, 0) if x.size and not np.min(x) >= 0 else None
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            e = np.negative(x, out=scratch(x, "l1me_e"))
            np.exp(e, out=e)
            _neg_expm1_neg(x, out)
            np.add(out, 0.0, out=out)  # -0.0 -> +0.0: f'(0) = +inf from either zero
            np.divide(e, out, out=out)
        if below is not None:
            np.copyto(out, np.nan, where=below)
        return out

    def d2f(x, out):
        # -e^{-x}/(1 - e^{-x})^2, in terms of e^{-x} so that nothing overflows for large x.
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            _neg_expm1_neg(x, out)
            np.multiply(out, out, out=out)
            e = np.exp(-np.maximum(x, 0.0))
            np.divide(e, out, out=out)
            np.negative(out, out=out)
        return np.copyto(out, np.nan, where=~(x >= 0)) or out  # x < 0 or NaN


# ---- algebraic smooth units ----------------------------------------------------------------


# Beyond these |x|, x^2 + b = x^2 to far below an ulp; x^2 overflows from 1.3e154 (float64)
# and 1.8e19 (float32).
_SQ_TAIL = {np.dtype(np.float32): 1e15, np.dtype(np.float64): 1e150}


def _sqrt_sq_plus(x, b):
    """|x|, h = sqrt(x^2 + b) without overflow (h = |x| beyond 1e150) and that tail's mask."""
    a = np.abs(x, out=np.empty_like(x))
    with np.errstate(over="ignore"):  # inf only in the tail, replaced there
        h = np.multiply(a, a, out=np.empty_like(a))
        np.add(h, b, out=h)
    np.sqrt(h, out=h)
    tail = a > _SQ_TAIL[x.dtype]
    if tail.any():
        h[tail] = a[tail]
        return a, h, tail
    return a, h, None


def _squareplus(x, out, b):
    """f into out, and h = sqrt(x^2 + b), the tail mask and |x| for f' = f/h.

    One float temporary (a fresh array costs page faults, several ns per element, on top
    of the arithmetic): out holds |x| then f, t holds h then s = h + |x|.
    """
    a, h, tail = _sqrt_sq_plus(x, b)  # a and h are fresh arrays
    with np.errstate(over="ignore", invalid="ignore"):  # inf (and inf * 0) only in the tail
        np.add(h, a, out=a)  # s = h + |x|: f = s/2 for x >= 0, (b/2)/s for x < 0
        np.multiply(a, 0.5, out=out)
        np.divide(b / 2, a, out=a)
        # select by multiplying with 0/1: exact, and unlike a masked divide (~20 ns per
        # element on mixed signs) it does not branch
        neg = np.less(x, 0.0, out=np.empty(x.shape, bool))  # out=: an array for 0-d x too
        np.multiply(a, neg, out=a)
        np.multiply(out, np.logical_not(neg, out=neg), out=out)
        np.add(out, a, out=out)
    if tail is not None:
        xt = x[tail]
        out[tail] = np.where(xt > 0, xt, (b / 4) / np.abs(xt))
    return out, h, tail


@activation(
    "squareplus",
    formula=r"\frac{x + \sqrt{x^2 + b}}{2}",
    smoothness="Cinf",
    monotonic=True,
    zero_centred=False,
    range=(0.0, inf),
    params=(Param("b", 4.0, 0.0, inf, low_open=True, doc="curvature at 0; b -> 0 gives the ReLU"),),
    family="softplus",
)
class squareplus:
    r"""Squareplus (Barron 2021), :math:`f(x) = (x + \sqrt{x^2 + b})/2`, default b = 4
    as JAX's ``squareplus``.

    With h = √(x^2 + b) and s = h + |x|: f = s/2 for x >= 0 and f = (b/2)/s for x < 0,
    where x + h cancels (the naive form gives 0 for x < -1e8 instead of b/(4|x|)).
    x^2 overflows for |x| > 1.3e154, so beyond |x| = 1e150 (where h = |x| to 1e-300)
    f = x or (b/4)/|x|. f'(x) = f(x)/h, which equals (1 + x/h)/2 without its cancellation
    for x < 0; f''(x) = (b/2)/h^3, evaluated as (b/2)(1/h)^3 so that it underflows
    gently. (np.hypot would avoid the overflow too but is 10x slower than sqrt.) Limits: f(-inf) = 0, f(inf) = inf,
    f'(-inf) = 0, f'(inf) = 1.

    >>> import actlab
    >>> actlab.get("squareplus")([-1e10, 0.0, 1.0])
    array([1.00000000e-10, 1.00000000e+00, 1.61803399e+00])
    """

    def f(x, out, b):
        return _squareplus(x, out, b)[0]

    def df(x, out, b):
        out, h, tail = _squareplus(x, out, b)
        with np.errstate(invalid="ignore"):  # inf/inf at x = inf, fixed in the tail
            np.divide(out, h, out=out)
        if tail is not None:
            xt = x[tail]
            at = np.abs(xt)
            out[tail] = np.where(xt > 0, 1.0, (b / 4) / at / at)
        return out

    def d2f(x, out, b):
        _, h, _ = _sqrt_sq_plus(x, b)
        np.reciprocal(h, out=out)
        np.multiply(out, out, out=h)  # (1/h)^2: h^2 itself would overflow
        np.multiply(out, h, out=out)
        return np.multiply(out, b / 2, out=out)


@activation(
    "bent_identity",
    formula=r"\frac{\sqrt{x^2 + 1} - 1}{2} + x",
    smoothness="Cinf",
    monotonic=True,
    zero_centred=False,
    family="softplus",
)
class bent_identity:
    r"""Bent identity, :math:`f(x) = (\sqrt{x^2 + 1} - 1)/2 + x`.

    √(x^2 + 1) - 1 cancels near 0 (all digits for |x| < 1e-8) and x^2 overflows for
    |x| > 1.3e154, so with h = √(x^2 + 1) (h = |x| beyond |x| = 1e150):
    f(x) = x (1 + (x/2)/(h + 1)), using
    √(x^2 + 1) - 1 = x^2/(h + 1); the factor lies in (1/2, 3/2), so nothing cancels in
    either tail. f'(x) = 1 + (x/2)/h (in [1/2, 3/2]), f''(x) = (1/2)(1/h)^3. Limits:
    f(±inf) = ±inf, f'(-inf) = 1/2, f'(inf) = 3/2, f''(±inf) = 0. None of PyTorch, Keras
    or JAX defines it.

    >>> import actlab
    >>> actlab.get("bent_identity")([-1.0, 0.0, 1.0])
    array([-0.79289322,  0.        ,  1.20710678])
    """

    def f(x, out):
        a, h, tail = _sqrt_sq_plus(x, 1.0)
        np.add(h, 1.0, out=out)
        np.multiply(x, 0.5, out=h)
        # inf/inf at ±inf and overflow of 1.5 x near max happen only in the tail, fixed there
        with np.errstate(invalid="ignore", over="ignore"):
            np.divide(h, out, out=out)
            np.add(out, 1.0, out=out)
            np.multiply(out, x, out=out)
            if tail is not None:  # includes ±inf, where (x/2)/(h + 1) = inf/inf
                xt = x[tail]
                out[tail] = xt * np.where(xt > 0, 1.5, 0.5)  # rounds to inf above max/1.5: right
        return out

    def df(x, out):
        a, h, tail = _sqrt_sq_plus(x, 1.0)
        np.multiply(x, 0.5, out=out)
        with np.errstate(invalid="ignore"):  # inf/inf at ±inf, fixed in the tail
            np.divide(out, h, out=out)
        np.add(out, 1.0, out=out)
        if tail is not None:
            out[tail] = np.where(x[tail] > 0, 1.5, 0.5)
        return out

    def d2f(x, out):
        return squareplus.d2f_kernel(x, out, b=1.0)


# ---- periodic and bump ---------------------------------------------------------------------


@activation(
    "sinusoid",
    formula=r"\sin x",
    smoothness="Cinf",
    monotonic=False,
    zero_centred=True,
    range=(-1.0, 1.0),
    family="sinusoid",
)
class sinusoid:
    r"""Sine activation (SIREN-style), :math:`f(x) = \sin x`, f' = cos, f'' = -sin.

    sin has no limit at ±inf, so f, f' and f'' return NaN there (without NumPy's
    "invalid value" warning). Accuracy for huge |x| relies on NumPy's exact argument
    reduction. SIREN (Sitzmann et al. 2020) uses sin(ω0 x) with ω0 = 30 in its first
    layer; the catalogue entry is the plain sine. No framework ships it as an activation.

    >>> import actlab
    >>> actlab.get("sinusoid")([0.0, float("inf")])
    array([ 0., nan])
    """

    def f(x, out):
        with np.errstate(invalid="ignore"):
            return np.sin(x, out=out)

    def df(x, out):
        with np.errstate(invalid="ignore"):
            return np.cos(x, out=out)

    def d2f(x, out):
        with np.errstate(invalid="ignore"):
            np.sin(x, out=out)
        return np.negative(out, out=out)


# Splitting x^2 exactly. For |x| <= 30 < 2^5, xh = (x + C) - C rounds x to a multiple of
# 2^-21, so xh has at most 26 significant bits and xh^2 is exact; xl = x - xh is exact too
# and x^2 = xh^2 + r with r = xl (x + xh) tiny (|r| < 2^-16), so
# e^{-x^2} = e^{-xh^2} e^{-r} with both exponents exact to the last bit of a double.
_G_SPLIT = 1.5 * 2.0**31
_G_CLIP = 30.0  # e^{-900} = 0 in float64: beyond, any value of the split gives the limit 0
# e^{-x^2} is a subnormal float64 from |x| = 26.6 on; the derivatives multiply e^{64 - xh^2}
# (64 - xh^2 is exact: both are multiples of 2^-42 below 2^10) by their polynomial factor
# and e^{-64} last, so that only the final product rounds into the subnormals.
_G_SCALE = 64.0
_G_UNSCALE = math.exp(-_G_SCALE)


def _gauss64(x, out, which):
    """e^{-x^2} (which 0), -2x e^{-x^2} (1) or (4x^2 - 2) e^{-x^2} (2) for float64 x.

    The plain exp(-x*x) is off by about x^2 * 2^-53 relative, because the rounding error
    of x*x lands in the exponent: about 370 ulp at x = 27 in float64.
    """
    xc = np.clip(x, -_G_CLIP, _G_CLIP, out=scratch(x, "g64_xc"))  # NaN stays NaN; ±inf -> ±30 (result 0)
    p = np.add(xc, _G_SPLIT, out=out)
    nxh = np.subtract(_G_SPLIT, p, out=scratch(p, "g64_nxh"))  # -xh (out=: arrays even for 0-d x)
    np.subtract(p, _G_SPLIT, out=p)  # xh
    nr = np.subtract(p, xc, out=scratch(p, "g64_nr"))  # -xl
    np.add(p, xc, out=p)  # xh + x
    np.multiply(nr, p, out=nr)  # -r
    np.negative(nxh, out=p)
    np.multiply(nxh, p, out=nxh)  # -xh^2, exact
    if which == 2:
        # 4x^2 - 2 = -2((1 - 2 xh^2) - 2r), where 1 - 2 xh^2 is exact near the zeros ±1/√2
        # (Sterbenz), so f'' keeps its full relative accuracy there.
        poly = np.multiply(nxh, 2.0, out=scratch(p, "g64_poly"))
        np.add(poly, 1.0, out=poly)
        np.add(poly, np.multiply(nr, 2.0, out=scratch(p, "g64_t")), out=poly)
        np.multiply(poly, -2.0, out=poly)
    if which:
        np.add(nxh, _G_SCALE, out=nxh)
    np.exp(nxh, out=out)
    np.exp(nr, out=nr)
    np.multiply(out, nr, out=out)
    if which == 1:
        np.multiply(out, np.multiply(xc, -2.0, out=nr), out=out)
    elif which == 2:
        np.multiply(out, poly, out=out)
    if which:
        np.multiply(out, _G_UNSCALE, out=out)
    return out


def _gauss(x, out, which):
    if x.dtype == np.float64:
        return _gauss64(x, out, which)
    # float32: x*x is exact in float64 (48 bits), so the plain formula there is exact to
    # the last bit of a float32 and the subnormal float32 results are normal float64.
    w = scratch(x, "gauss_w", np.float64)
    np.copyto(w, x)
    sq = np.multiply(w, w, out=scratch(w, "gauss_sq"))
    e = np.negative(sq, out=scratch(w, "gauss_e"))
    with np.errstate(over="ignore"):  # inf * 0 cannot occur: x is finite or clipped below
        np.exp(e, out=e)
    if which == 1:
        c = np.clip(w, -30.0, 30.0, out=sq)  # sq is not needed for f'
        np.multiply(e, np.multiply(c, -2.0, out=c), out=e)
    elif which == 2:
        np.multiply(sq, 4.0, out=sq)
        np.subtract(sq, 2.0, out=sq)
        np.clip(sq, -inf, 4000.0, out=sq)  # beyond |x| = 30 e is 0: keep inf out of 0 * inf
        np.multiply(e, sq, out=e)
    with np.errstate(over="ignore", under="ignore"):
        np.copyto(out, e, casting="same_kind")
    return out


@activation(
    "gaussian",
    formula=r"e^{-x^2}",
    smoothness="Cinf",
    monotonic=False,
    zero_centred=False,
    range=(0.0, 1.0),
    family="gaussian",
)
class gaussian:
    r"""Gaussian bump, :math:`f(x) = e^{-x^2}`, :math:`f'(x) = -2x e^{-x^2}`,
    :math:`f''(x) = (4x^2 - 2) e^{-x^2}`.

    The naive exp(-x**2) has two traps: x**2 overflows (with a warning) for
    |x| > 1.3e154, and its rounding error moves the exponent, so the result is off by
    about x^2 * 2^-53 relative, hundreds of ulp near x = 27. Here x^2 = xh^2 + r is split
    exactly (xh on 26 bits) and f = e^{-xh^2} e^{-r}; the derivatives are scaled by e^64
    while multiplied by their polynomial factor so that subnormal results are rounded only
    once. Float32 computes in float64, where x^2 is exact. This costs about 11 passes over
    the data instead of the naive formula's 3. No framework ships it as an activation.
    Limits: f(±inf) = f'(±inf) = f''(±inf) = 0.

    >>> import actlab
    >>> actlab.get("gaussian")([0.0, 1.0, 1e200])
    array([1.        , 0.36787944, 0.        ])
    """

    def f(x, out):
        return _gauss(x, out, 0)

    def df(x, out):
        return _gauss(x, out, 1)

    def d2f(x, out):
        return _gauss(x, out, 2)

