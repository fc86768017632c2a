"""Piecewise-linear activations and their relatives: the step, identity and ReLU family.

Kink conventions are PyTorch's (its autograd's choice of subgradient, checked against
torch 2.13 in tests/test_piecewise.py), so that a network trained here and one trained
there take the same steps. Where torch has no such function, the convention of the torch
expression that builds it from hardtanh/threshold is used, and the docstring says so.

Speed: these kernels are memory-bound, so each one makes as few passes over the data as
it can, with ufuncs writing into ``out`` (no fresh temporaries of the input's size except
1-byte masks). Measured on NumPy 2.4 (AMD EPYC), in units of one ``np.copyto``:

* ``np.clip`` with scalar bounds runs at ~0.8 in float32 and float64, while
  ``np.maximum(x, scalar)`` takes 2-8 in float32 (no SIMD loop for a broadcast scalar), so
  every max/min against a constant is written as a clip;
* ``np.copyto(out, c, where=mask)`` and ``np.where`` take 5-20 on a random mask (branch
  mispredictions), and ``np.heaviside`` 10-30, so none is used on a hot path: a comparison
  into a bool mask (~0.3) copied to float (~0.3) and multiplied or added instead;
* NaN, which a comparison maps to False, is put back by :func:`_nan_back`, which costs a
  read-only ``np.min`` (~0.2) when the input holds no NaN.

A kernel that reads ``x`` after writing ``out`` first makes sure the two do not share
memory, so ``f(x, out=x)`` works in place.
"""

from __future__ import annotations

import math

import numpy as np

from .registry import Param, activation

inf = math.inf


# ---- kernel building blocks -----------------------------------------------------------


def _src(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """x, copied if it shares memory with out (for kernels that read x after writing out)."""
    return x.copy() if np.may_share_memory(x, out) else x


def _has_nan(x: np.ndarray) -> bool:
    # np.min propagates NaN: one read-only pass, no temporary.
    return bool(x.size) and bool(np.isnan(np.min(x)))


def _nan_back(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Put NaN into out wherever x is NaN."""
    if _has_nan(x):
        np.copyto(out, x, where=np.isnan(x))
    return out


def _const(x: np.ndarray, out: np.ndarray, c: float) -> np.ndarray:
    """c everywhere, NaN where x is NaN (the derivative of a linear piece)."""
    nan = _has_nan(x)
    if nan:
        x = _src(x, out)
    out.fill(c)
    if nan:
        np.copyto(out, x, where=np.isnan(x))
    return out


def _window(x: np.ndarray, out: np.ndarray, lo: float, hi: float = inf, value: float = 1.0) -> np.ndarray:
    """``value`` on the open interval (lo, hi), 0 elsewhere (so 0 at both ends), NaN at NaN.

    This is the derivative of a clamp to [lo, hi] with PyTorch's hardtanh convention.
    """
    x = _src(x, out)
    mask = np.greater(x, lo)
    if hi < inf:
        mask &= np.less(x, hi)
    np.copyto(out, mask)
    if value != 1.0:
        np.multiply(out, value, out=out)
    return _nan_back(x, out)


def _two_slopes(x: np.ndarray, out: np.ndarray, below: float, above: float = 1.0) -> np.ndarray:
    """``above`` for x > 0, ``below`` for x <= 0 (PyTorch's choice at the kink), NaN at NaN."""
    if above == 1.0 and 0.0 < below <= 1.0:
        # ceil maps x > 0 (and +inf) to >= 1, x <= 0 (and -inf) to <= 0, NaN to NaN; the clip
        # then gives {below, 1} and passes NaN: two passes, no mask and no NaN check (1.5x a
        # copy in float32 instead of 2.2x). below > 0 also turns ceil's -0.0 into below.
        with np.errstate(invalid="ignore"):  # ceil signals on a signalling NaN (quietened)
            np.ceil(x, out=out)
        return np.clip(out, below, 1.0, out=out)
    x = _src(x, out)
    mask = np.greater(x, 0)
    np.copyto(out, mask)
    if above == 1.0 and 0.0 <= below <= 1.0:
        np.clip(out, below, inf, out=out)  # {0, 1} -> {below, 1}
    else:  # exact for any values: above * [x > 0] + below * [x <= 0]
        np.multiply(out, above, out=out)
        np.add(out, np.multiply(~mask, below, dtype=out.dtype), out=out)
    return _nan_back(x, out)


def _mask_times_x(x: np.ndarray, out: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """x where mask, 0 elsewhere (also where x is -inf and mask is False); NaN stays NaN."""
    np.copyto(out, mask)
    with np.errstate(invalid="ignore"):  # 0 * -inf, fixed below
        np.multiply(out, x, out=out)
    if x.size and not np.min(x) > -inf:  # min is -inf, or NaN when x holds a NaN
        np.copyto(out, 0.0, where=np.equal(x, -inf) & ~mask)
    return out


def _leaky(x: np.ndarray, out: np.ndarray, slope: float) -> np.ndarray:
    """x for x >= 0, slope*x for x < 0, for any real slope, in two passes.

    slope*x lies below x for x > 0 and above it for x < 0 exactly when slope < 1, so f is
    max(x, slope*x) then; for slope > 1 the order flips and f is min(x, slope*x) (max would
    be wrong there). slope = 0 is relu (0 * -inf would be NaN).
    """
    if slope == 0:
        return relu.f_kernel(x, out)
    x = _src(x, out)
    with np.errstate(over="ignore"):  # |slope| > 1: slope*x may overflow to the right inf
        np.multiply(x, slope, out=out)
    pick = np.maximum if slope <= 1 else np.minimum  # array-array: fast in both dtypes
    return pick(out, x, out=out)


def _select_above(x: np.ndarray, out: np.ndarray, threshold: float, value: float) -> np.ndarray:
    """x where x > threshold, else value; NaN stays NaN."""
    if value == threshold:  # max(x, t) in one pass
        return np.clip(x, threshold, inf, out=out)
    x = _src(x, out)
    above = np.greater(x, threshold)
    _mask_times_x(x, out, above)
    if value != 0:
        np.add(out, np.multiply(~above, value, dtype=out.dtype), out=out)
    return out


def _shrink_df(x: np.ndarray, out: np.ndarray, lambd: float) -> np.ndarray:
    """1 for |x| > lambd, 0 for |x| <= lambd (0 at +-lambd as in PyTorch), NaN at NaN."""
    x = _src(x, out)
    np.abs(x, out=out)
    np.copyto(out, np.greater(out, lambd))
    return _nan_back(x, out)


def _zero(x: np.ndarray, out: np.ndarray, **_: float) -> np.ndarray:
    """The second derivative of a piecewise-linear function: 0 (NaN at NaN)."""
    return _const(x, out, 0.0)


def _slope_range(slope: float) -> tuple[float, float]:
    return (-inf, inf) if slope > 0 else (0.0, inf)


class _LeakyKernels:
    """The kernels of leaky_relu and prelu, which differ only in their metadata (slope's
    default and interval, gain): x for x >= 0, slope*x below; f'(0) = slope."""

    def f(x, out, slope):
        return _leaky(x, out, slope)

    def df(x, out, slope):
        return _two_slopes(x, out, slope)

    d2f = _zero


# ---- entries ----------------------------------------------------------------------------


@activation(
    "identity",
    formula=r"x",
    smoothness="Cinf",
    monotonic=True,
    zero_centred=True,
    range=(-inf, inf),
    gain=1.0,
    aliases=("linear",),
    family="relu",
)
class identity:
    r"""Identity (linear, no activation), :math:`f(x) = x`.

    f'(x) = 1 and f''(x) = 0 everywhere, including +-inf; NaN propagates in all three.
    f(-0.0) = -0.0. Its gain is PyTorch's ``calculate_gain('linear') = 1``. Keras calls it
    ``linear``; a network of identity layers is a single linear map.

    >>> import actlab
    >>> actlab.get("linear")([-2.0, 0.5])
    array([-2. ,  0.5])
    """

    def f(x, out):
        np.copyto(out, x)
        return out

    def df(x, out):
        return _const(x, out, 1.0)

    d2f = _zero


@activation(
    "step",
    formula=r"\begin{cases}1 & x > 0\\ 0 & x \le 0\end{cases}",
    smoothness="discontinuous",
    monotonic=True,
    zero_centred=False,
    range=(0.0, 1.0),
    kinks={0.0: 0.0},
    aliases=("heaviside",),
    family="relu",
)
class step:
    r"""Heaviside step, the perceptron's activation: 1 for x > 0, 0 for x <= 0.

    This is tutorial 003's ``step_function`` (``x > 0``), so step(0) = step(-0.0) = 0
    (``np.heaviside(x, 0)``); step(+inf) = 1, step(-inf) = 0. f'(x) = 0 and f''(x) = 0
    everywhere, including at the jump (kink value 0; torch.heaviside has no gradient at
    all): gradient descent gets no signal through a step, which is why networks trained by
    backpropagation use a continuous activation. NaN propagates in f, f' and f''.

    >>> import actlab
    >>> actlab.get("step")([-1.0, 0.0, 2.0])
    array([0., 0., 1.])
    """

    def f(x, out):
        return _window(x, out, 0.0)  # x > 0 into a bool mask, copied: 10-30x faster than np.heaviside

    df = _zero
    d2f = _zero


@activation(
    "relu",
    formula=r"\max(0, x)",
    smoothness="C0",
    monotonic=True,
    zero_centred=False,
    range=(0.0, inf),
    kinks={0.0: 0.0},
    gain=math.sqrt(2.0),
    family="relu",
)
class relu:
    r"""Rectified linear unit, :math:`f(x) = \max(0, x)`.

    f'(x) is 1 for x > 0 and 0 for x < 0; at the kink, f'(0) = 0 as in PyTorch, JAX and
    Keras. f''(x) = 0 everywhere (the Dirac mass at 0 is not representable).
    relu(-0.0) = -0.0 (the zero passes through, as in PyTorch), relu(+inf) = +inf,
    relu(-inf) = 0; NaN propagates in f, f' and f''. One pass, np.clip(x, 0, inf): about
    the cost of a copy (np.maximum(x, 0) is 2-8x slower than that in float32).

    >>> import actlab
    >>> actlab.get("relu")([-2.0, 0.0, 3.0])
    array([0., 0., 3.])
    """

    def f(x, out):
        return np.clip(x, 0, inf, out=out)  # propagates NaN, keeps -0.0

    def df(x, out):
        return _window(x, out, 0.0)

    d2f = _zero


@activation(
    "relu6",
    formula=r"\min(\max(0, x), 6)",
    smoothness="C0",
    monotonic=True,
    zero_centred=False,
    range=(0.0, 6.0),
    kinks={0.0: 0.0, 6.0: 0.0},
    family="relu",
)
class relu6:
    r"""ReLU capped at 6 (MobileNet), :math:`f(x) = \min(\max(0, x), 6)`.

    f'(x) = 1 on (0, 6) and 0 outside; at both kinks f' = 0, as torch.nn.functional.relu6
    gives (f'(0) = f'(6) = 0). f'' = 0. relu6(+inf) = 6 with f'(+inf) = 0, relu6(-inf) = 0;
    NaN propagates in f, f', f''. relu6(-0.0) = -0.0, as in PyTorch. Same definition in PyTorch, JAX and Keras.

    >>> import actlab
    >>> actlab.get("relu6")([-1.0, 3.0, 8.0])
    array([0., 3., 6.])
    """

    def f(x, out):
        return np.clip(x, 0, 6, out=out)

    def df(x, out):
        return _window(x, out, 0.0, 6.0)

    d2f = _zero


@activation(
    "leaky_relu",
    formula=r"\begin{cases}x & x \ge 0\\ a x & x < 0\end{cases}",
    smoothness="C0",
    monotonic=True,
    zero_centred=False,
    range=_slope_range,
    kinks=lambda slope: {0.0: slope},
    gain=lambda slope: math.sqrt(2.0 / (1.0 + slope**2)),
    params=(Param("slope", 0.01, 0.0, inf, doc="slope a for x < 0"),),
    family="relu",
)
class leaky_relu(_LeakyKernels):
    r"""Leaky ReLU, :math:`f(x) = x` for x >= 0, :math:`a x` for x < 0 (Maas et al. 2013).

    ``slope`` a defaults to 0.01 as in PyTorch (``negative_slope``) and JAX; note that
    Keras 3's ``keras.activations.leaky_relu`` uses ``negative_slope=0.2`` and its
    ``LeakyReLU`` layer 0.3 (Keras 2's ``alpha=0.3``), so "leaky ReLU" results from different
    frameworks differ unless the slope is given. Any a >= 0 is allowed; for a > 1 the
    formula max(x, a x) seen in tutorials is wrong (it picks a x for x > 0), so the
    kernel uses min(x, a x) there. a = 0 is relu, a = 1 the identity.

    f'(x) = 1 for x > 0, a for x < 0, and f'(0) = a as in PyTorch. f'' = 0.
    f(+inf) = +inf, f(-inf) = -inf (a > 0), f(-0.0) = -0.0; NaN propagates.
    Gain: PyTorch's calculate_gain('leaky_relu', a) = sqrt(2 / (1 + a^2)).

    >>> import actlab
    >>> actlab.get("leaky_relu")([-2.0, 0.0, 3.0])
    array([-0.02,  0.  ,  3.  ])
    >>> actlab.get("leaky_relu", slope=2.0)([-2.0, 3.0])
    array([-4.,  3.])
    """


@activation(
    "prelu",
    formula=r"\begin{cases}x & x \ge 0\\ a x & x < 0\end{cases}",
    smoothness="C0",
    monotonic=True,
    zero_centred=False,
    range=_slope_range,
    kinks=lambda slope: {0.0: slope},
    params=(Param("slope", 0.25, doc="learned slope a for x < 0 (initial value)"),),
    family="relu",
)
class prelu(_LeakyKernels):
    r"""Parametric ReLU (He et al. 2015): leaky ReLU whose slope a is learned.

    :math:`f(x) = x` for x >= 0 and :math:`a x` for x < 0. ``slope`` is the initial value,
    0.25 as torch.nn.PReLU's ``init``; the engine learns it like a weight. Any real a is
    allowed, because training may move it anywhere (PyTorch does not constrain it);
    f is monotonic only for a >= 0 (the default), and for a < 0 its range is [0, inf).

    f'(x) = 1 for x > 0, a for x < 0, f'(0) = a as in PyTorch; f'' = 0. The derivative in
    a, x for x < 0 and 0 otherwise, is the engine's business. f(+-inf) = +-inf for a > 0,
    f(-0.0) = -0.0, NaN propagates. The gain is derived (sqrt(2/(1+a^2))); PyTorch's
    calculate_gain has no 'prelu' entry.

    >>> import actlab
    >>> actlab.get("prelu")([-2.0, 0.0, 3.0])
    array([-0.5,  0. ,  3. ])
    """


@activation(
    "rrelu",
    formula=r"\begin{cases}x & x \ge 0\\ \frac{l + u}{2} x & x < 0\end{cases}",
    smoothness="C0",
    monotonic=True,
    zero_centred=False,
    range=lambda lower, upper: _slope_range(lower + upper),
    kinks=lambda lower, upper: {0.0: (lower + upper) / 2},
    params=(
        Param("lower", 1 / 8, 0.0, inf, doc="lower end l of the slope's uniform distribution"),
        Param("upper", 1 / 3, 0.0, inf, doc="upper end u of the slope's uniform distribution"),
    ),
    family="relu",
)
class rrelu:
    r"""Randomized leaky ReLU (Xu et al. 2015), evaluation mode.

    In training mode RReLU samples a slope a ~ U(lower, upper) independently for every
    element and every forward pass (torch.nn.functional.rrelu(training=True)); this entry
    is the deterministic evaluation-mode function that PyTorch uses at inference, a leaky
    ReLU with the mean slope a = (l + u) / 2: f(x) = x for x >= 0, a x for x < 0.
    Defaults l = 1/8, u = 1/3 as PyTorch (a = 11/48).

    f'(x) = 1 for x > 0, a for x < 0 and f'(0) = a as in PyTorch; f'' = 0. f(+-inf) = +-inf,
    f(-0.0) = -0.0, NaN propagates. The gain is derived (sqrt(2/(1+a^2))).

    >>> import actlab
    >>> actlab.get("rrelu", lower=0.1, upper=0.3)([-2.0, 3.0])
    array([-0.4,  3. ])
    """

    def f(x, out, lower, upper):
        return _leaky(x, out, (lower + upper) / 2)

    def df(x, out, lower, upper):
        return _two_slopes(x, out, (lower + upper) / 2)

    d2f = _zero


@activation(
    "threshold",
    formula=r"\begin{cases}x & x > t\\ v & x \le t\end{cases}",
    smoothness="discontinuous",
    monotonic=True,
    zero_centred=False,
    range=lambda threshold, value: (min(threshold, value), inf),
    kinks=lambda threshold, value: {threshold: 0.0},
    params=(
        Param("threshold", 0.0, doc="t: x passes only if x > t"),
        Param("value", 0.0, doc="v: the output for x <= t"),
    ),
    family="relu",
)
class threshold:
    r"""Threshold, as torch.nn.functional.threshold: f(x) = x if x > t else v.

    PyTorch requires both ``threshold`` t and ``value`` v; the defaults here, t = v = 0,
    make it relu (Lua Torch defined ReLU as Threshold(0, 0)). f is discontinuous at t unless
    v = t, and monotonic (the catalogue flag) only while v <= t, which the defaults satisfy;
    its range is [min(t, v), inf). Keras 3 has the same function as
    ``keras.activations.threshold(x, threshold, default_value)``.

    f'(x) = 1 for x > t, 0 for x < t, and f'(t) = 0 as in PyTorch; f'' = 0.
    f(+inf) = +inf, f(-inf) = v; NaN propagates (NaN > t is False, but NaN stays NaN, as in
    PyTorch).

    >>> import actlab
    >>> actlab.get("threshold", threshold=1.0, value=-1.0)([0.5, 1.0, 2.0])
    array([-1., -1.,  2.])
    """

    def f(x, out, threshold, value):
        return _select_above(x, out, threshold, value)

    def df(x, out, threshold, value):
        return _window(x, out, threshold)

    d2f = _zero


@activation(
    "thresholded_relu",
    formula=r"\begin{cases}x & x > \theta\\ 0 & x \le \theta\end{cases}",
    smoothness="discontinuous",
    monotonic=True,
    zero_centred=False,
    range=(0.0, inf),
    kinks=lambda theta: {theta: 0.0},
    params=(Param("theta", 1.0, 0.0, inf, doc="threshold location theta >= 0"),),
    family="relu",
)
class thresholded_relu:
    r"""Thresholded ReLU (Keras' ThresholdedReLU layer): f(x) = x if x > theta else 0.

    ``theta`` defaults to 1.0 and must be >= 0, as in Keras (which rejects a negative theta;
    for theta < 0 f would not be monotonic). It is threshold(t=theta, v=0): f jumps from 0
    to theta at theta, so it is discontinuous for theta > 0.

    f'(x) = 1 for x > theta, 0 for x < theta, and f'(theta) = 0 (Keras multiplies by the
    mask x > theta; torch.nn.functional.threshold(x, theta, 0) gives 0 too); f'' = 0.
    f(+inf) = +inf, f(-inf) = 0; NaN propagates.

    >>> import actlab
    >>> actlab.get("thresholded_relu")([0.5, 1.0, 2.0])
    array([0., 0., 2.])
    """

    def f(x, out, theta):
        return _select_above(x, out, theta, 0.0)

    def df(x, out, theta):
        return _window(x, out, theta)

    d2f = _zero


@activation(
    "hard_tanh",
    formula=r"\min(\max(x, a), b)",
    smoothness="C0",
    monotonic=True,
    zero_centred=True,
    range=lambda min_val, max_val: (min_val, max_val),
    kinks=lambda min_val, max_val: {min_val: 0.0, max_val: 0.0},
    params=(
        Param("min_val", -1.0, doc="lower clamp a"),
        Param("max_val", 1.0, doc="upper clamp b (>= min_val)"),
    ),
    aliases=("hardtanh",),
    family="relu",
)
class hard_tanh:
    r"""Hard tanh, the clamp :math:`f(x) = \min(\max(x, a), b)` with a = -1, b = 1.

    Defaults as torch.nn.functional.hardtanh (min_val=-1, max_val=1); JAX and Keras 3 have
    only the [-1, 1] form. f is odd (zero_centred) for a = -b, as by default.

    f'(x) = 1 on (a, b) and 0 outside; at both kinks f' = 0 as in PyTorch (note that
    torch.clamp, the same function, passes the gradient at the ends: it gives 1 there).
    f'' = 0. f(+-inf) = b, a with f'(+-inf) = 0; f(-0.0) = -0.0; NaN propagates.

    >>> import actlab
    >>> actlab.get("hard_tanh")([-3.0, 0.5, 3.0])
    array([-1. ,  0.5,  1. ])
    """

    def f(x, out, min_val, max_val):
        return np.clip(x, min_val, max_val, out=out)

    def df(x, out, min_val, max_val):
        return _window(x, out, min_val, max_val)

    d2f = _zero


@activation(
    "hard_sigmoid",
    formula=r"\frac{\mathrm{relu6}(x + 3)}{6}",
    smoothness="C0",
    monotonic=True,
    zero_centred=False,
    range=(0.0, 1.0),
    kinks={-3.0: 0.0, 3.0: 0.0},
    aliases=("hardsigmoid",),
    family="relu",
)
class hard_sigmoid:
    r"""Hard sigmoid, :math:`f(x) = \mathrm{relu6}(x + 3)/6`: 0 for x <= -3, x/6 + 1/2
    between, 1 for x >= 3 (MobileNetV3).

    PyTorch (hardsigmoid), JAX (jax.nn.hard_sigmoid) and Keras 3 all use this definition.
    Keras 2 / tf.keras before Keras 3 used a different one, clip(0.2 x + 0.5, 0, 1), with
    its kinks at +-2.5; code ported from it changes behaviour.

    f'(x) = 1/6 on (-3, 3) and 0 outside; f'(-3) = f'(3) = 0 as in PyTorch; f'' = 0.
    f(+inf) = 1, f(-inf) = 0, f'(+-inf) = 0; NaN propagates (PyTorch's gradient at NaN is 0).
    Computed as clip(x + 3, 0, 6) / 6, which is within 1 ulp (x/6 + 1/2 would cancel near
    x = -3).

    >>> import actlab
    >>> actlab.get("hard_sigmoid")([-4.0, 0.0, 1.5, 4.0])
    array([0.  , 0.5 , 0.75, 1.  ])
    """

    def f(x, out):
        np.add(x, 3, out=out)
        np.clip(out, 0, 6, out=out)
        return np.divide(out, 6, out=out)

    def df(x, out):
        return _window(x, out, -3.0, 3.0, 1 / 6)

    d2f = _zero


@activation(
    "hard_silu",
    formula=r"x\,\frac{\mathrm{relu6}(x + 3)}{6}",
    smoothness="C0",
    monotonic=False,
    zero_centred=False,
    range=(-0.375, inf),
    kinks={-3.0: 0.0, 3.0: 1.0},
    aliases=("hard_swish", "hardswish"),
    family="relu",
)
class hard_silu:
    r"""Hard SiLU / hard swish (MobileNetV3), :math:`f(x) = x\,\mathrm{relu6}(x + 3)/6`:
    0 for x <= -3, x (x + 3)/6 between, x for x >= 3.

    Same definition in PyTorch (hardswish), JAX (hard_silu, alias hard_swish) and Keras 3.
    Not monotonic: its minimum is f(-3/2) = -3/8.

    f'(x) = 0 for x < -3, (2x + 3)/6 on (-3, 3), 1 for x > 3. At the kinks PyTorch 2.13
    gives f'(-3) = 0 (the left slope) and f'(3) = 1 (the right slope), and so does this
    entry. f''(x) = 1/3 on (-3, 3), 0 outside and at +-3 (PyTorch's double backward).
    f(+inf) = +inf with f'(+inf) = 1; f(-inf) = 0 with f'(-inf) = 0 (PyTorch returns NaN
    there, from -inf * 0); NaN propagates. f is computed as x * (relu6(x + 3)/6), not
    (x * relu6(x + 3))/6 as PyTorch does, so it does not overflow for x near the largest
    float (PyTorch gives hardswish(1e38) = inf in float32). f' is computed as
    (x + 3/2)/3, which does not cancel near its zero at x = -3/2 as x/3 + 1/2 would.

    >>> import actlab
    >>> actlab.get("hard_swish")([-4.0, -1.5, 0.0, 4.0])
    array([-0.   , -0.375,  0.   ,  4.   ])
    """

    def f(x, out):
        x = _src(x, out)
        hard_sigmoid.f_kernel(x, out)
        with np.errstate(invalid="ignore"):  # -inf * 0, fixed below
            np.multiply(out, x, out=out)
        if x.size and not np.min(x) > -inf:  # min is -inf, or NaN when x holds a NaN
            np.copyto(out, 0.0, where=np.equal(x, -inf))
        return out

    def df(x, out):
        x = _src(x, out)
        np.clip(x, -3, 3, out=out)
        np.add(out, 1.5, out=out)
        np.divide(out, 3, out=out)  # (x + 3/2)/3 on [-3, 3]
        inside = np.greater(x, -3)
        inside &= np.less(x, 3)
        np.multiply(out, inside, out=out)  # 0 outside (NaN stays NaN)
        return np.add(out, np.greater_equal(x, 3), out=out)  # 1 for x >= 3

    def d2f(x, out):
        return _window(x, out, -3.0, 3.0, 1 / 3)


@activation(
    "hard_shrink",
    formula=r"\begin{cases}x & |x| > \lambda\\ 0 & |x| \le \lambda\end{cases}",
    smoothness="discontinuous",
    monotonic=True,
    zero_centred=True,
    range=(-inf, inf),
    kinks=lambda lambd: {-lambd: 0.0, lambd: 0.0},
    params=(Param("lambd", 0.5, 0.0, inf, doc="half-width lambda of the zeroed band"),),
    aliases=("hardshrink",),
    family="relu",
)
class hard_shrink:
    r"""Hard shrinkage, f(x) = x for |x| > lambda, 0 for |x| <= lambda (lambda = 0.5).

    Default and spelling ``lambd`` as torch.nn.functional.hardshrink (Keras 3's
    hard_shrink uses threshold=0.5). f jumps by lambda at +-lambda (discontinuous) and is odd.

    f'(x) = 1 for |x| > lambda, 0 for |x| < lambda, and f'(+-lambda) = 0 as in PyTorch;
    f'' = 0. f(+-inf) = +-inf; NaN propagates. Inside the band f is a zero with the sign
    of x (computed as x * [|x| > lambda], so that f(-x) = -f(x) holds bit for bit).

    >>> import actlab
    >>> actlab.get("hard_shrink")([-1.0, 0.5, 0.7])
    array([-1. ,  0. ,  0.7])
    """

    def f(x, out, lambd):
        x = _src(x, out)
        np.abs(x, out=out)
        np.copyto(out, np.greater(out, lambd))  # 1 outside the band (incl. +-inf), 0 inside
        return np.multiply(out, x, out=out)  # 0 * NaN = NaN

    def df(x, out, lambd):
        return _shrink_df(x, out, lambd)

    d2f = _zero


@activation(
    "soft_shrink",
    formula=r"\operatorname{sign}(x)\max(|x| - \lambda, 0)",
    smoothness="C0",
    monotonic=True,
    zero_centred=True,
    range=(-inf, inf),
    kinks=lambda lambd: {-lambd: 0.0, lambd: 0.0},
    params=(Param("lambd", 0.5, 0.0, inf, doc="half-width lambda of the zeroed band"),),
    aliases=("softshrink",),
    family="relu",
)
class soft_shrink:
    r"""Soft shrinkage (soft thresholding, the proximal map of lambda |x|):
    x - lambda for x > lambda, x + lambda for x < -lambda, 0 between (lambda = 0.5).

    Default and spelling ``lambd`` as torch.nn.functional.softshrink (Keras 3:
    threshold=0.5). Computed as x - clip(x, -lambda, lambda): one rounding, exact 0 inside.

    f'(x) = 1 for |x| > lambda, 0 for |x| < lambda, and f'(+-lambda) = 0 as in PyTorch;
    f'' = 0. f(+-inf) = +-inf; NaN propagates. Inside the band f is +0.0.

    >>> import actlab
    >>> actlab.get("soft_shrink")([-1.0, 0.25, 2.0])
    array([-0.5,  0. ,  1.5])
    """

    def f(x, out, lambd):
        x = _src(x, out)
        np.clip(x, -lambd, lambd, out=out)
        return np.subtract(x, out, out=out)

    def df(x, out, lambd):
        return _shrink_df(x, out, lambd)

    d2f = _zero


@activation(
    "sparse_sigmoid",
    formula=r"\tfrac12 \min(\max(x + 1, 0), 2)",
    smoothness="C0",
    monotonic=True,
    zero_centred=False,
    range=(0.0, 1.0),
    kinks={-1.0: 0.0, 1.0: 0.0},
    family="relu",
)
class sparse_sigmoid:
    r"""Sparse sigmoid (jax.nn.sparse_sigmoid, Keras 3): 0 for x <= -1, (x + 1)/2 on
    (-1, 1), 1 for x >= 1; the derivative of sparse_plus, i.e. (hard_tanh(x) + 1)/2.

    f'(x) = 1/2 on (-1, 1), 0 outside. PyTorch has no sparse_sigmoid; the kink values
    f'(+-1) = 0 are those of its hardtanh, which builds this function as
    0.5 * (hardtanh(x) + 1). JAX's own 0.5 * clip(x + 1, 0, 2) takes another subgradient
    at the ends: jnp.clip is a max and a min, whose derivative at a tie is 1/2 for each
    argument, so jax.grad gives f'(+-1) = 1/4; built on torch.clamp, which passes the
    gradient at its ends, it would be 1/2. f'' = 0.
    f(+inf) = 1, f(-inf) = 0; NaN propagates. Computed as (clip(x, -1, 1) + 1) * 0.5:
    one rounding.

    >>> import actlab
    >>> actlab.get("sparse_sigmoid")([-2.0, 0.0, 0.5, 2.0])
    array([0.  , 0.5 , 0.75, 1.  ])
    """

    def f(x, out):
        np.clip(x, -1, 1, out=out)
        np.add(out, 1, out=out)
        return np.multiply(out, 0.5, out=out)

    def df(x, out):
        return _window(x, out, -1.0, 1.0, 0.5)

    d2f = _zero


@activation(
    "sparse_plus",
    formula=r"\begin{cases}0 & x \le -1\\ \tfrac14 (x + 1)^2 & -1 < x < 1\\ x & x \ge 1\end{cases}",
    smoothness="C1",
    monotonic=True,
    zero_centred=False,
    range=(0.0, inf),
    family="relu",
)
class sparse_plus:
    r"""Sparse plus (jax.nn.sparse_plus, Keras 3), a C1 softplus look-alike that is exactly 0
    for x <= -1: (x + 1)^2/4 on (-1, 1) and x for x >= 1.

    f'(x) = sparse_sigmoid(x) is continuous (0, (x + 1)/2, 1), so f has no kink. f''(x) =
    1/2 on (-1, 1) and 0 outside; at x = +-1, where f'' jumps, it is 0 (the value JAX's
    autodiff of its piecewise definition gives). f(+inf) = +inf with f'(+inf) = 1;
    f(-inf) = 0; NaN propagates. PyTorch has no sparse_plus. Computed without a select as
    max(((clip(x, -1, 1) + 1)/2)^2, x), within 1.5 ulp.

    >>> import actlab
    >>> actlab.get("sparse_plus")([-2.0, 0.0, 2.0])
    array([0.  , 0.25, 2.  ])
    """

    def f(x, out):
        # ((c + 1)/2)^2 with c = clip(x, -1, 1) is f for x < 1 and 1 for x >= 1, and
        # ((x + 1)/2)^2 - x = ((x - 1)/2)^2 >= 0, so max(that, x) is f everywhere: no select.
        # Where rounding makes the max pick x, x is the closer value.
        x = _src(x, out)
        sparse_sigmoid.f_kernel(x, out)
        np.square(out, out=out)
        return np.maximum(out, x, out=out)

    df = sparse_sigmoid.f_kernel  # f' = sparse_sigmoid, so f'' = sparse_sigmoid'
    d2f = sparse_sigmoid.df_kernel

