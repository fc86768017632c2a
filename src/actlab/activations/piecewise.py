"""Piecewise-linear activations and their relatives: the step, identity and ReLU family.

Kink conventions are PyTorch's (its autograd's choice of subgradient), so that a network
trained here and one trained there take the same steps.
"""

from __future__ import annotations

import math

import numpy as np

from ..registry import activation
from ._common import zeros_keep_nan

inf = math.inf


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
    relu(-0.0) = 0.0, relu(+inf) = +inf, relu(-inf) = 0; NaN propagates in f, f' and f''.

    >>> import actlab
    >>> actlab.get("relu")([-2.0, 0.0, 3.0])
    array([0., 0., 3.])
    """

    def f(x, out):
        # np.maximum propagates NaN; adding +0.0 turns relu(-0.0) = -0.0 into +0.0.
        np.maximum(x, 0, out=out)
        return np.add(out, 0, out=out)

    def df(x, out):
        return np.heaviside(x, 0, out=out)  # heaviside(nan) is nan

    def d2f(x, out):
        return zeros_keep_nan(x, out)
