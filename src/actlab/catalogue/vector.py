"""Vector activations: functions of a whole axis (softmax and relatives, GLU, sparsemax).

Their kernels take ``axis`` (default -1); instead of ``df`` they define ``vjp`` (the
vector-Jacobian product vᵀJ, what backpropagation needs, computed without forming J) and
``jacobian`` (the full matrix, shape (..., m, n) with the last two axes (output, input)).

The metadata of the elementwise entries means, for a function of a vector:

* ``monotonic``: order-preserving along the axis, x_i <= x_j implies f(x)_i <= f(x)_j
  (equivalently here: each output is non-decreasing in its own input);
* ``zero_centred``: f is odd, f(-x) = -f(x). No entry below is.

Accuracy (checked against mpmath on :func:`actlab.verify.accuracy.vector_rows`, rows of up to
1000 entries): f and every Jacobian entry within 4 ulp, float32 and float64. Float32
(and float16) rows are computed in float64 and rounded once. Float64 rows carry the
rounding error of ``x - max`` along exactly (an error-free transformation, TwoSum) since
exp turns an absolute error δ in its argument into a relative error δ: for a row with
entries 30 apart, ``x - max`` rounds by up to 2^-48 and the naive result is off by 50-100 ulp.
Rows are processed in blocks of about 2^16 entries, so the temporaries stay in cache, and
the scratch arrays of one call are reused from block to block (a fresh array per block is
page-faulted in again each time, which cost more than softmax's arithmetic).

Speed (rows of 1000, 10^7 entries, ``actlab bench kernels``): softmax, softmin and their VJPs
exponentiate a block whose entries lie in [-700, 600] directly (no max shift, so no rounding
in exp's argument) and sum its rows exactly (:func:`_row_sums`): within 1.7 ulp in float64,
at 4 ns/element instead of 150-180 for the x87 extended-precision exp they used before;
log_softmax uses float64's exp (log1p damps its error: within 1.1 ulp). The Jacobians,
which are not on any hot path, keep the extended-precision exp (0.5 ulp).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import ActlabError, shorten
from ._kernels import fast_two_sum, for_blocks, split, two_sum
from .registry import activation

inf = math.inf

_BLOCK = 1 << 16  # entries per block of rows: the float64 temporaries then fit in L2


# ---- shared machinery ---------------------------------------------------------------------


def _axis(ndim: int, axis: object, owner: str) -> int:
    """``axis`` as a non-negative int, or a clear error."""
    if ndim == 0:
        raise ActlabError(f"{owner} is a function of a vector: it needs an array with at least one axis. Got a scalar.")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ActlabError(
            f"The 'axis' argument of {owner} must be an int in the range [{-ndim}, {ndim - 1}] for an array "
            f"with {ndim} axes. Got {shorten(axis)} instead."
        )
    return int(axis) % ndim


def _rowwise(owner: str, out: np.ndarray, axis: object, fn: Callable[..., object], *arrays: np.ndarray,
             block: int = _BLOCK) -> np.ndarray:
    """Call ``fn(o, *blocks)`` on 2-D blocks of rows (the ``axis`` of each array made the last
    one); ``fn`` writes its result into the block ``o`` of ``out`` (casting float64 to out's dtype).

    The loop is :func:`._kernels.for_blocks`, as for the elementwise kernels, but a block
    here is a whole number of rows along ``axis`` (moved last first), not a flat slice, and
    the arrays may differ in length along it (glu's x and its half-length v).
    An empty input (no rows, or rows of length 0) has nothing to compute: ``out`` (empty too,
    of the shape the caller gave it) is returned as it is, as PyTorch and JAX do.
    """
    ax = _axis(arrays[0].ndim, axis, owner)
    if arrays[0].size == 0:
        return out
    last = ax == arrays[0].ndim - 1
    flat = [(a if last else np.moveaxis(a, ax, -1)).reshape(-1, a.shape[ax]) for a in arrays]
    om = out if last else np.moveaxis(out, ax, -1)
    direct = om.flags.c_contiguous
    o2 = om.reshape(-1, om.shape[-1]) if direct else np.empty((flat[0].shape[0], om.shape[-1]), out.dtype)
    for_blocks(fn, max(1, block // flat[0].shape[1]), o2, *flat)
    if not direct:
        om[...] = o2.reshape(om.shape)
    return out


def _into(fn: Callable[..., np.ndarray]) -> Callable[..., None]:
    """A block function for :func:`_rowwise` from one that returns its result."""

    def write(o: np.ndarray, *blocks: np.ndarray) -> None:
        o[...] = fn(*blocks)

    return write


def _last(x: np.ndarray, axis: object, owner: str) -> np.ndarray:
    """``x`` with ``axis`` moved last, as float64 (the Jacobians are computed in float64 for float32)."""
    return np.moveaxis(x, _axis(x.ndim, axis, owner), -1).astype(np.float64, copy=False)


# The Jacobians (and softmax rows outside the direct range) exponentiate float64 rows in x87
# extended precision (64-bit significand) where the platform's long double has it: NumPy's
# float64 exp is off by up to 0.7 ulp, which with a plain sum and the division leaves softmax
# at 2.7 ulp and products s_i s_j in the Jacobian at 4.6 ulp (rows of 100-1000 entries);
# extended precision brings both to ~0.5 ulp. It costs a scalar (non-SIMD) exp, ~150 ns per
# entry, so f and the VJPs avoid it (see _softmax_rows); elsewhere float64 is used with the
# TwoSum correction alone.
_WIDE = np.longdouble if np.finfo(np.longdouble).nmant >= 63 else np.float64


def _exp_rows(x: np.ndarray, wide: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """For a 2-D block (rows along the last axis): ``d + lo = x - max`` exactly (lo is None
    for float32 input, whose differences are exact in float64) and ``e = exp(x - max)`` in
    the working precision (float64 for float32 rows, ``_WIDE`` for float64 rows), with the
    row limits of the docstrings: a row whose max is +-inf gets d = 0 at its max entries and
    -inf elsewhere."""
    m = np.max(x, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf rows are replaced below
        if x.dtype == np.float32:
            # exact: float32 values differ by a float64 (to 2^-53 relative, harmless)
            d = np.subtract(x, m, dtype=np.float64)
            lo = None
        else:
            d = x - m
            bp = d - x
            lo = (x - (d - bp)) - (m + bp)  # TwoSum of x and -m
            lo[np.isnan(lo)] = 0.0  # where d = -inf (an entry at -inf, or x - m below -max): e = 0 there
    inf_rows = np.isinf(m[:, 0])
    if inf_rows.any():
        d[inf_rows] = np.where(x[inf_rows] == m[inf_rows], 0.0, -inf)
        if lo is not None:
            lo[inf_rows] = 0.0
    if lo is None:
        e = np.exp(d)
    else:
        e = np.exp(d.astype(_WIDE)) if wide else np.exp(d)
        e += e * lo  # exp(d + lo) = exp(d)(1 + lo + O(lo^2)), |lo| <= 2^-53 |d|
    return e, d, lo


class _Work:
    """Float64 scratch arrays reused by the blocks of one call: a fresh array per block is
    returned to the system when freed and page-faulted in again by the next block, which
    costs ~6 ns/element (more than the arithmetic of softmax)."""

    def __init__(self) -> None:
        self._bufs: dict[str, np.ndarray] = {}

    def get(self, slot: str, shape: tuple[int, ...]) -> np.ndarray:
        n = math.prod(shape)
        buf = self._bufs.get(slot)
        if buf is None or buf.size < n:
            buf = self._bufs[slot] = np.empty(n)
        return buf[:n].reshape(shape)


def _row_sums(e: np.ndarray, work: _Work) -> np.ndarray:
    """Row sums of a 2-D block of positive normal floats, correctly rounded but for a
    relative 2^-90 (a plain float64 sum of 1000 entries is off by up to a few ulp, which
    took softmax to 3.3 ulp).

    Each entry is split as hi + lo with hi = (e + c) - c, c = 1.5·2^(E + 12) and the row
    sum below 2^E: every hi is a multiple of q = ulp(c) = 2^(E - 40) and their sum stays
    below 2^53 q, so it is exact; lo = e - hi is exact and at most q/2, so its rounded sum
    is off by far less than an ulp of the total.
    """
    approx = np.sum(e, axis=-1, keepdims=True)
    c = np.ldexp(1.5, np.frexp(approx)[1] + 12)
    t = np.add(e, c, out=work.get("sum", e.shape))
    np.subtract(t, c, out=t)  # hi
    high = np.sum(t, axis=-1, keepdims=True)
    np.subtract(e, t, out=t)  # lo
    return high + np.sum(t, axis=-1, keepdims=True)


# A block whose entries all lie in [-700, 600] is exponentiated as it is: e^x is then a normal
# float64 (e^-700 > 1e-305) that cannot overflow, nor can a sum of fewer than e^100 of them,
# so the shift by the row max is not needed, and exp sees x itself instead of the rounded
# x - max: 0.7 ulp per exp and no TwoSum correction, and with the exact row sum softmax is
# within 1.7 ulp (float64). Other blocks take _exp_rows (x87 extended exp where available).
_DIRECT_LO, _DIRECT_HI = -700.0, 600.0


def _direct(x: np.ndarray) -> bool:
    return bool(x.size) and np.min(x) >= _DIRECT_LO and np.max(x) <= _DIRECT_HI  # False for NaN


def _softmax_rows(x: np.ndarray, out: np.ndarray | None = None, work: _Work | None = None,
                  negate: bool = False) -> np.ndarray:
    """softmax (softmin if ``negate``) of the rows of a 2-D block, into ``out`` if given."""
    if work is None:
        work = _Work()
    if _direct(x):
        e = out if out is not None and out.dtype == np.float64 else work.get("e", x.shape)
        if negate:
            np.negative(x, out=e, dtype=np.float64)
            np.exp(e, out=e)
        else:
            np.exp(x, out=e, dtype=np.float64)
        total = _row_sums(e, work) if x.dtype == np.float64 else np.sum(e, axis=-1, keepdims=True)
        return np.divide(e, total, out=e if out is None else out, casting="unsafe")
    e, _, _ = _exp_rows(-x if negate else x)
    # the sum is >= 1 (the max entry gives exactly 1); the division rounds once into out
    return np.divide(e, np.sum(e, axis=-1, keepdims=True), out=e if out is None else out, casting="unsafe")


def _softmax_vjp_rows(o: np.ndarray, x: np.ndarray, v: np.ndarray, work: _Work, negate: bool) -> None:
    """s ⊙ (v - <s, v>) into o (softmin, ``negate``: s ⊙ (<s, v> - v) with s = softmin)."""
    s = _softmax_rows(x, work.get("s", x.shape), work, negate)
    t = np.multiply(s, v, out=work.get("t", x.shape))
    dot = np.sum(t, axis=-1, keepdims=True)
    if negate:
        np.subtract(dot, v, out=t)
    else:
        np.subtract(v, dot, out=t)
    np.multiply(s, t, out=o, casting="unsafe")


def _log_softmax_rows(o: np.ndarray, x: np.ndarray, work: _Work) -> None:
    """log_softmax of the rows of a 2-D block into o: (x - m) - log1p(R), R the sum of
    e^{x - m} without one max entry (no cancellation when R << 1), plus the TwoSum error of
    x - m (float64 rows). The exp is float64's: log1p damps its error, within 1.1 ulp."""
    lim = 1e300 if x.dtype == np.float64 else 1e38  # x - m stays finite
    if not (x.size and np.min(x) >= -lim and np.max(x) <= lim):  # inf, NaN or huge: the general path
        e, d, lo = _exp_rows(x, wide=False)
        np.put_along_axis(e, np.argmax(x, axis=-1)[:, None], 0.0, axis=-1)
        d = d - np.log1p(np.sum(e, axis=-1, keepdims=True))  # both terms <= 0: no cancellation
        if lo is not None:
            d += lo
        o[...] = d
        return
    m = np.max(x, axis=-1, keepdims=True)
    d = o if o.dtype == np.float64 else work.get("d", x.shape)
    np.subtract(x, m, out=d, dtype=np.float64)  # exact for float32 rows
    e = work.get("e", x.shape)
    lo = None
    if x.dtype == np.float64:  # the rounding error of x - m (TwoSum)
        lo = work.get("lo", x.shape)
        bp = np.subtract(d, x, out=e)
        np.subtract(d, bp, out=lo)
        np.subtract(x, lo, out=lo)
        np.add(bp, m, out=bp)
        np.subtract(lo, bp, out=lo)
    np.exp(d, out=e)
    if lo is not None:  # exp(d + lo) = exp(d)(1 + lo + O(lo^2)): R carries the error of x - m too
        np.add(e, np.multiply(e, lo, out=work.get("t", x.shape)), out=e)
    e[np.arange(x.shape[0]), np.argmax(x, axis=-1)] = 0.0
    lse = np.log1p(np.sum(e, axis=-1, keepdims=True))
    np.subtract(d, lse, out=d)  # both terms <= 0
    if lo is not None:
        np.add(d, lo, out=d)
        if x.shape[1] > 1 and not lse.all():
            # R underflowed to 0: the max entry's value -log1p(R) is a negative number that
            # rounds to -0.0 (what an extended-precision R gives), not +0.0
            under = np.flatnonzero(lse[:, 0] == 0)
            sub = d[under]
            sub[sub == 0] = -0.0
            d[under] = sub
    if d is not o:
        np.copyto(o, d, casting="unsafe")


def _softmax_and_others(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """softmax s of rows (last axis, any leading axes) and 1 - s computed as the sum of the
    other entries (1 - s cancels when s ~ 1)."""
    shape = x.shape
    x2 = x.reshape(-1, shape[-1]) if x.size else x.reshape(0, shape[-1])
    e, _, _ = _exp_rows(x2)
    total = np.sum(e, axis=-1, keepdims=True)
    others = np.broadcast_to(e[:, None, :], (*e.shape, e.shape[-1])).copy()
    idx = np.arange(e.shape[-1])
    others[:, idx, idx] = 0.0
    return (e / total).reshape(shape), (np.sum(others, axis=-1) / total).reshape(shape)


def _softmax_jacobian(x: np.ndarray) -> np.ndarray:
    """diag(s) - s sᵀ with the diagonal s_i (1 - s_i) computed as s_i * (sum of the others)."""
    s, others = _softmax_and_others(x)
    jac = -s[..., :, None] * s[..., None, :]
    idx = np.arange(x.shape[-1])
    jac[..., idx, idx] = s * others
    return jac


def _log_softmax_jacobian(x: np.ndarray) -> np.ndarray:
    """I - 1 sᵀ with the diagonal 1 - s_j computed as the sum of the others."""
    s, others = _softmax_and_others(x)
    jac = np.repeat(-s[..., None, :], x.shape[-1], axis=-2)
    idx = np.arange(x.shape[-1])
    jac[..., idx, idx] = others
    return jac


# ---- softmax family -----------------------------------------------------------------------

@activation(
    "softmax",
    formula=r"\mathrm{softmax}(x)_i = \frac{e^{x_i - \max_j x_j}}{\sum_k e^{x_k - \max_j x_j}}",
    smoothness="Cinf",
    monotonic=True,
    zero_centred=False,
    range=(0.0, 1.0),
    family="softmax",
)
class softmax:
    r"""Softmax along ``axis`` (default -1), :math:`e^{x_i} / \sum_k e^{x_k}`: a probability vector.

    The row max m is subtracted first; the rounding error of x - m is carried exactly
    (float64) or avoided by computing in float64 (float32), because exp amplifies it: the
    tutorial's exp(x - max) / sum is off by up to 56-94 ulp on rows of 1000 entries.
    The sum includes the max entry's exact 1, so it is never 0.

    Monotonic here means order-preserving (x_i <= x_j gives s_i <= s_j); not odd.

    VJP: s ⊙ (v - <s, v>). Jacobian diag(s) - s sᵀ, its diagonal s_i(1 - s_i) computed as
    s_i times the sum of the other entries (1 - s_i cancels when s_i ~ 1).

    PyTorch: torch.softmax (same values to rounding on finite rows).

    Limits (no RuntimeWarning for any input): entries at +inf share the mass equally and
    every other entry gets 0; entries at -inf get 0; a row of -inf only is uniform, 1/n
    (the limit of n equal entries, as softmax is shift-invariant; PyTorch and
    scipy.special.softmax return NaN there, as they do for any row holding +inf); a NaN
    anywhere makes the whole row NaN. The naive e^x / sum e^x overflows to inf/inf = NaN
    from x = 88.7 in float32 and 709.8 in float64; subtracting the row max avoids that.

    >>> import actlab
    >>> actlab.get("softmax")([1000.0, 1000.0])
    array([0.5, 0.5])
    >>> actlab.get("softmax")([[0.0, -np.inf], [np.inf, 1.0]])
    array([[1., 0.],
           [1., 0.]])
    """

    def f(x, out, axis=-1):
        work = _Work()
        return _rowwise("softmax", out, axis, lambda o, x: _softmax_rows(x, o, work), x)

    def vjp(x, out, v, axis=-1):
        work = _Work()
        return _rowwise("softmax", out, axis, lambda o, x, v: _softmax_vjp_rows(o, x, v, work, False), x, v)

    def jacobian(x, axis=-1):
        return _softmax_jacobian(_last(x, axis, "softmax"))


@activation(
    "log_softmax",
    formula=r"\mathrm{log\_softmax}(x)_i = (x_i - m) - \log\sum_k e^{x_k - m},\ m = \max_j x_j",
    smoothness="Cinf",
    monotonic=True,
    zero_centred=False,
    range=(-inf, 0.0),
    family="softmax",
)
class log_softmax:
    r"""Log of softmax along ``axis`` (default -1): :math:`x_i - \log\sum_k e^{x_k}`, what a
    cross-entropy loss needs (log of a softmax that underflowed to 0 would be -inf).

    Computed as (x_i - m) - log1p(R), R the sum of e^{x_k - m} over all entries but one
    max entry: both terms are <= 0, so nothing cancels, and the max entry's value -log1p(R)
    stays accurate when the row is dominated (log(1 + R) would round R away).

    Limits follow softmax: log_softmax of an entry at -inf (in a row with a larger entry)
    is -inf; with k entries at +inf those get -log k and the rest -inf; a row of -inf only
    gives -log n at every entry (log of the uniform softmax; PyTorch gives NaN); NaN
    anywhere makes the row NaN. No RuntimeWarning for any input.

    Monotonic means order-preserving; not odd. VJP: v - s·sum(v); Jacobian I - 1 sᵀ
    (its diagonal 1 - s_j computed as the sum of the other entries of s).

    PyTorch: torch.log_softmax.

    >>> import actlab
    >>> actlab.get("log_softmax")([0.0, -800.0])  # log(softmax) would give -inf; -0.: -e^-800 rounded
    array([  -0., -800.])
    >>> actlab.get("log_softmax")([1.0, 1.0, -np.inf])
    array([-0.69314718, -0.69314718,        -inf])
    """

    def f(x, out, axis=-1):
        work = _Work()
        return _rowwise("log_softmax", out, axis, lambda o, x: _log_softmax_rows(o, x, work), x)

    def vjp(x, out, v, axis=-1):
        work = _Work()

        def rows(o, x, v):
            s = _softmax_rows(x, work.get("s", x.shape), work)
            np.multiply(s, np.sum(v, axis=-1, keepdims=True), out=s)
            np.subtract(v, s, out=o, casting="unsafe")

        return _rowwise("log_softmax", out, axis, rows, x, v)

    def jacobian(x, axis=-1):
        return _log_softmax_jacobian(_last(x, axis, "log_softmax"))


@activation(
    "softmin",
    formula=r"\mathrm{softmin}(x) = \mathrm{softmax}(-x)",
    smoothness="Cinf",
    monotonic=False,
    zero_centred=False,
    range=(0.0, 1.0),
    family="softmax",
)
class softmin:
    r"""Softmin along ``axis`` (default -1): softmax(-x), the mass goes to the smallest entries.

    Negation is exact, so it has softmax's accuracy and limits with the signs swapped:
    entries at -inf share the mass, a row of +inf only is uniform, NaN makes the row NaN.
    Not monotonic (order-reversing), not odd. Jacobian -J_softmax(-x); VJP
    -s ⊙ (v - <s, v>) with s = softmin(x).

    PyTorch: torch.nn.functional.softmin.

    >>> import actlab
    >>> actlab.get("softmin")([0.0, np.log(3.0)])
    array([0.75, 0.25])
    """

    def f(x, out, axis=-1):
        work = _Work()
        return _rowwise("softmin", out, axis, lambda o, x: _softmax_rows(x, o, work, negate=True), x)

    def vjp(x, out, v, axis=-1):
        work = _Work()
        return _rowwise("softmin", out, axis, lambda o, x, v: _softmax_vjp_rows(o, x, v, work, True), x, v)

    def jacobian(x, axis=-1):
        return -_softmax_jacobian(-_last(x, axis, "softmin"))


# ---- GLU ----------------------------------------------------------------------------------


def _sigmoid_parts(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sigma(b) and sigma'(b) = sigma(b) sigma(-b) in float64, from t = e^-|b| <= 1 (no overflow,
    no cancellation): sigma(|b|) = 1/(1 + t), sigma(-|b|) = t/(1 + t), sigma' = t/(1 + t)^2."""
    t = np.exp(-np.abs(b))
    u = 1.0 + t
    sig = np.where(b >= 0, 1.0, t) / u
    return sig, t / (u * u)


def _glu_halves(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = x.astype(np.float64, copy=False)
    h = x.shape[-1] // 2
    return x[..., :h], x[..., h:]


@activation(
    "glu",
    formula=r"\mathrm{glu}(x) = a \odot \sigma(b),\ x = [a, b] \text{ split in halves along the axis}",
    smoothness="Cinf",
    monotonic=False,
    zero_centred=False,
    family="glu",
)
class glu:
    r"""Gated linear unit (Dauphin et al. 2017) along ``axis`` (default -1), as PyTorch's
    F.glu: the axis (of even length n) is split into halves a, b and the result a ⊙ σ(b)
    has n/2 entries along it. Jacobian (..., n/2, n): [diag σ(b) | diag a σ(b) σ(-b)].

    σ(b) = 1/(1 + t), t = e^{-|b|} for b >= 0 and t/(1 + t) below, so nothing overflows
    and σ(b) σ(-b) = t/(1 + t)^2 does not cancel. Limits: b = +inf passes a, b = -inf gives
    0 unless a = +-inf, where a·σ(b) has no limit and gives NaN (as in PyTorch); NaN
    propagates to its output entry. An odd length raises ActlabError (PyTorch: RuntimeError).

    Not monotonic (an output decreases in b where a < 0; the halves mix), not odd.

    >>> import actlab
    >>> actlab.get("glu")([2.0, -1.0, 0.0, np.inf])
    array([ 1., -1.])
    """

    def out_shape(shape, axis=-1):
        ax = _axis(len(shape), axis, "glu")
        if shape[ax] % 2:
            raise ActlabError(
                f"glu splits its axis into two halves, so the axis needs an even length. "
                f"Got length {shape[ax]} along axis {axis} instead."
            )
        return tuple(n // 2 if i == ax else n for i, n in enumerate(shape))

    def f(x, out, axis=-1):
        def rows(x):
            a, b = _glu_halves(x)
            with np.errstate(invalid="ignore"):  # inf * 0 = NaN: no limit (docstring)
                return a * _sigmoid_parts(b)[0]

        return _rowwise("glu", out, axis, _into(rows), x)

    def vjp(x, out, v, axis=-1):
        # (Bound.vjp has checked the axis, the even length and v's shape, glu(x)'s)
        def rows(x, v):
            a, b = _glu_halves(x)
            sig, dsig = _sigmoid_parts(b)
            with np.errstate(invalid="ignore"):
                return np.concatenate([v * sig, v * a * dsig], axis=-1)

        return _rowwise("glu", out, axis, _into(rows), x, v)

    def jacobian(x, axis=-1):
        glu.out_shape(x.shape, axis)
        a, b = _glu_halves(_last(x, axis, "glu"))
        sig, dsig = _sigmoid_parts(b)
        h = a.shape[-1]
        jac = np.zeros((*a.shape, 2 * h))
        idx = np.arange(h)
        jac[..., idx, idx] = sig
        with np.errstate(invalid="ignore"):
            jac[..., idx, h + idx] = a * dsig
        return jac


# ---- sparsemax ----------------------------------------------------------------------------


def _dd_times_int(h, lo, k):
    """(h + lo)·k as a normalised double-double, k an integer below 2^26: each 26-bit half of
    h times k is exact (Dekker's split)."""
    hh, hl = split(h)  # |h| <= 2 here, so no overflow
    s, t = fast_two_sum(k * hh, k * hl)
    return s, t + k * lo


def _dd_sub(ah, al, bh, bl):
    """(ah + al) - (bh + bl) as a double-double, relative error <= 3·2^-106 even when it
    cancels (Joldes, Muller & Popescu 2017, AccurateDWPlusDW)."""
    s, t = two_sum(ah, -bh)
    u, v = two_sum(al, -bl)
    s, t = fast_two_sum(s, t + u)
    return fast_two_sum(s, t + v)


def _sparsemax_rows(x: np.ndarray, out: np.ndarray | None = None, need_mask: bool = True
                    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """p = sparsemax of each row of a 2-D block (written into ``out`` if given, else a new
    float64 array), the support mask (None unless ``need_mask``), its size k, and the
    support as (row, column) index arrays.

    With y = x - max (kept exactly as the double-double yh + yl) sorted decreasingly, entry j
    (1-based) is in the support iff N_j = j·y_(j) - A_j > 0 with A_j = sum_{i<=j} y_(i) - 1;
    k is the last such j and p_i = max(k·y_i - A_k, 0)/k. N is evaluated in double-double
    arithmetic, so the support is decided exactly (barring a 2^-100 relative tie) and
    p_i = (x_i - tau) keeps its accuracy when x_i is just above tau.

    Only entries with y > -1 can be in the support (tau >= max - 1), so after one pass over
    the rows all work is confined to the candidates, y > -2 (a margin that also covers the
    rounding of a float32 x - max): they are gathered (in row order, so ties keep the order
    of a stable sort) into a (rows, C) block, C the most candidates any row has, padded with
    -2, which is sorted and scanned; p is formed in double-double at the candidates only and
    is 0 elsewhere. Rows of 1000 standard normals have a few dozen candidates at most.
    """
    rows, n = x.shape
    m = np.max(x, axis=-1, keepdims=True)
    bad = ~np.isfinite(m[:, 0])  # a NaN, or a max at +-inf: set below
    with np.errstate(invalid="ignore", over="ignore"):
        cand = np.subtract(x, m) > -2.0  # -inf, overflowed differences and NaN are not candidates
    cand[bad] = False
    r, col = np.nonzero(cand)
    counts = np.bincount(r, minlength=rows)
    c = max(1, int(counts.max()) if rows else 1)
    cz = x[r, col].astype(np.float64)
    cm = m[r, 0].astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        ch = cz - cm
        if x.dtype == np.float64:
            bp = ch - cz
            cl = (cz - (ch - bp)) - (cm + bp)  # TwoSum of x and -m
        else:
            cl = np.zeros_like(ch)  # float32 values differ by a float64: exact
    pos = np.arange(r.size) - (np.cumsum(counts) - counts)[r]
    th, tl = np.full((rows, c), -2.0), np.zeros((rows, c))
    th[r, pos], tl[r, pos] = ch, cl
    # the entries below max - 2 are never in the support: -2 keeps them out of it
    far = ~(th > -2.0)
    th[far], tl[far] = -2.0, 0.0
    th[bad, 0] = 0.0  # the bad rows get one max entry so the loop below stays finite
    order = np.argsort(-th, axis=-1, kind="stable")
    sh, sl = np.take_along_axis(th, order, axis=-1), np.take_along_axis(tl, order, axis=-1)
    ah, al = np.full(rows, -1.0), np.zeros(rows)
    k, akh, akl = np.zeros(rows), np.zeros(rows), np.zeros(rows)
    for j in range(c):
        ah, e = two_sum(ah, sh[:, j])
        ah, al = fast_two_sum(ah, al + e + sl[:, j])
        nh, _ = _dd_sub(*_dd_times_int(sh[:, j], sl[:, j], j + 1), ah, al)
        inside = nh > 0
        if not inside.any():
            break  # the condition holds for j <= k and fails for every j > k
        k[inside], akh[inside], akl[inside] = j + 1, ah[inside], al[inside]
    kr = k[r]
    nh, _ = _dd_sub(*_dd_times_int(ch, cl, kr), akh[r], akl[r])
    inside = nh > 0
    if out is None:
        out = np.zeros((rows, n))
    else:
        out[...] = 0.0
    out[r, col] = np.where(inside, nh, 0.0) / kr
    mask = None
    if need_mask:
        mask = np.zeros((rows, n), dtype=bool)
        mask[r, col] = inside
    k = k[:, None]
    sup = (r[inside], col[inside])
    if bad.any():
        # +-inf max: the entries at the max share the mass (the limit of equal entries running
        # off to +-inf; a row of -inf is uniform); NaN anywhere: NaN row
        # (k = NaN and a full support make the VJP and the Jacobian of a NaN row NaN as well)
        nan_rows = np.isnan(m[:, 0])
        top = (x[bad] == m[bad]) | nan_rows[bad, None]
        if mask is not None:
            mask[bad] = top
        k[bad, 0] = np.where(nan_rows[bad], np.nan, np.sum(top, axis=-1))
        out[bad] = top / k[bad]
        rb, cb = np.nonzero(top)
        sup = (np.concatenate([sup[0], np.flatnonzero(bad)[rb]]), np.concatenate([sup[1], cb]))
    return out, mask, k, sup


@activation(
    "sparsemax",
    formula=r"\mathrm{sparsemax}(x) = \arg\min_{p \in \Delta} \lVert p - x \rVert^2 = \max(x - \tau, 0),"
    r"\ \sum_i \max(x_i - \tau, 0) = 1",
    smoothness="C0",
    monotonic=True,
    zero_centred=False,
    range=(0.0, 1.0),
    family="sparsemax",
)
class sparsemax:
    r"""Sparsemax along ``axis`` (default -1; Martins & Astudillo 2016): the Euclidean
    projection of x onto the probability simplex, max(x - τ, 0) with the threshold τ making
    the entries sum to 1. Unlike softmax it gives exact zeros.

    With x sorted decreasingly, the support is the first k entries, k the largest j with
    1 + j x_(j) > sum_{i<=j} x_(i), and τ = (sum_{i<=k} x_(i) - 1)/k. Traps handled: the
    support may be a single entry (p = 1 exactly even for x ~ 1e20, where the naive
    x - (x - 1) gives 0) and ties (equal entries enter or leave the support together; an
    entry exactly at τ is outside, p = 0). τ is never rounded before use: p_i = (k·y_i - A)/k
    is formed in double-double arithmetic from y = x - max, so an entry just above τ keeps
    its relative accuracy and the support is decided exactly.

    Piecewise linear, continuous (C0): the Jacobian diag(s) - s sᵀ/|S|, s the 0/1 indicator
    of the support S, i.e. δ_ij - 1/k on S×S and 0 elsewhere, jumps where the support
    changes (an entry crosses τ; there the smaller support, entries > τ only, is used).
    VJP: s ⊙ (v - sum_S v / k).

    Limits: entries at +inf share the mass equally (the rest 0); a row of -inf only is
    uniform (shift invariance, as for softmax); -inf entries get 0; NaN makes the row NaN;
    no RuntimeWarning for any input. Monotonic means order-preserving; not odd.

    Peers: not in PyTorch core; the entmax package (entmax.sparsemax) and TensorFlow Addons
    (tfa.activations.sparsemax) implement it with a sort and a float cumsum, so τ carries
    the cumsum's rounding.

    >>> import actlab
    >>> actlab.get("sparsemax")([1.0, 0.5, -1.0])
    array([0.75, 0.25, 0.  ])
    >>> actlab.get("sparsemax")([1e20, 0.0])
    array([1., 0.])
    """

    def f(x, out, axis=-1):
        return _rowwise("sparsemax", out, axis, lambda o, x: _sparsemax_rows(x, o, need_mask=False), x, block=1 << 20)

    def vjp(x, out, v, axis=-1):
        def rows(o, x, v):
            # s ⊙ (v - sum_S v / k), formed at the support only (0 elsewhere)
            _, _, k, (rs, cs) = _sparsemax_rows(x, np.empty(x.shape), need_mask=False)
            vs = v[rs, cs].astype(np.float64)
            total = np.bincount(rs, weights=vs, minlength=x.shape[0])
            o[...] = 0.0
            o[rs, cs] = vs - total[rs] / k[rs, 0]

        return _rowwise("sparsemax", out, axis, rows, x, v, block=1 << 20)

    def jacobian(x, axis=-1):
        xl = _last(x, axis, "sparsemax")
        n = xl.shape[-1]
        _, mask, k, _ = _sparsemax_rows(xl.reshape(-1, n))
        mask = mask.reshape(xl.shape)
        k = k.reshape((*xl.shape[:-1], 1, 1))
        both = mask[..., :, None] & mask[..., None, :]
        jac = np.where(both, -1.0 / k, 0.0)
        idx = np.arange(n)
        jac[..., idx, idx] = np.where(mask, (k[..., 0] - 1.0) / k[..., 0], 0.0)
        return jac

