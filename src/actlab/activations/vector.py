"""Vector activations: functions of a whole axis (softmax and relatives, GLU, sparsemax).

Their kernels take ``axis``; instead of ``df`` they define ``vjp`` (the vector-Jacobian
product, what backpropagation needs) and ``jacobian`` (the full matrix, shape (..., n, n)
with the last two axes (output, input)).
"""

from __future__ import annotations

import math

import numpy as np

from ..registry import activation

inf = math.inf


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
    r"""Softmax along ``axis`` (default -1), :math:`e^{x_i} / \sum_k e^{x_k}`.

    The maximum of the row is subtracted first, so no entry overflows (the naive formula
    gives inf/inf = NaN from x = 88.7 in float32 and 709.8 in float64). Limits: entries at
    +inf share the mass equally and every finite entry gets 0; a row of -inf only is
    uniform (the limit of equal entries); a NaN anywhere makes the row NaN.

    The VJP is s ⊙ (v - <s, v>) and the Jacobian diag(s) - s sᵀ.

    >>> import actlab
    >>> actlab.get("softmax")([1000.0, 1000.0])
    array([0.5, 0.5])
    """

    def f(x, out, axis=-1):
        m = np.max(x, axis=axis, keepdims=True)
        infinite = np.isinf(m)
        if infinite.any():
            # rows whose max is ±inf: ties at the max share the mass (see the docstring)
            z = np.where(x == m, 0.0, -inf).astype(x.dtype)
            np.subtract(x, np.where(infinite, 0, m).astype(x.dtype), out=out)
            np.copyto(out, z, where=np.broadcast_to(infinite, x.shape))
        else:
            np.subtract(x, m, out=out)
        np.exp(out, out=out)
        out /= np.sum(out, axis=axis, keepdims=True)
        return out

    def vjp(x, out, v, axis=-1):
        s = softmax.f_kernel(x, out, axis=axis)
        dot = np.sum(s * v, axis=axis, keepdims=True)
        return np.multiply(s, v - dot, out=out)

    def jacobian(x, axis=-1):
        x = np.moveaxis(x, axis, -1)
        s = softmax.f_kernel(x, np.empty_like(x))
        return np.einsum("...i,ij->...ij", s, np.eye(s.shape[-1], dtype=s.dtype)) - s[..., :, None] * s[..., None, :]
