"""Smooth squashing and exponential-type activations: the sigmoid and tanh family, the
softplus family and the exponential linear units."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from ..registry import activation

inf = math.inf


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

    f is SciPy's ``expit`` (no overflow for any x). f'(x) = σ(x)σ(-x), not σ(1-σ): the
    latter rounds to 0 once σ(x) rounds to 1 (x > 37 in float64, > 17 in float32) while
    the true value is about e^{-x}. f''(x) = -σ'(x) tanh(x/2), which avoids the
    cancellation in 1 - 2σ(x) near 0. Limits: f(-inf) = 0, f(inf) = 1, f'(±inf) = 0.

    >>> import actlab
    >>> actlab.get("sigmoid")([0.0, 40.0])
    array([0.5, 1. ])
    >>> float(actlab.get("sigmoid").df(40.0))  # σ(1-σ) would give 0.0
    4.248354255291589e-18
    """

    def f(x, out):
        return special.expit(x, out=out)

    def df(x, out):
        special.expit(x, out=out)
        return np.multiply(out, special.expit(-x), out=out)

    def d2f(x, out):
        sigmoid.df_kernel(x, out)
        return np.multiply(out, -np.tanh(x / 2), out=out)
