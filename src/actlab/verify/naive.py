"""The naive NumPy formulas: the baselines actlab's kernels are measured against.

These are the formulas as the five Korean tutorials actlab answers write them
(``1 / (1 + np.exp(-x))``, ``np.maximum(0, x)``, ``np.where(x > 0, x, alpha * (np.exp(x) - 1))``,
``np.exp(a) / np.sum(np.exp(a))``, the derivative ``s * (1 - s)``) and, for the entries
the tutorials do not cover, the textbook definition written the same direct way. They
are deliberately *not* stabilised: they overflow (``np.exp(710.0)``), cancel
(``s * (1 - s)`` is 0 from x = 37) and emit RuntimeWarnings, which is what the accuracy
table and the benchmarks measure. Callers silence the warnings with ``np.errstate``.

Each entry holds ``f(x, **params)`` and ``df(x, **params)`` (elementwise) or
``f(x, axis=-1, **params)`` and ``jacobian(row, **params)`` (vector; the Jacobian of one
1-D row, shape (m, n) with axes (output, input)), with the parameters named as in the
registry. Entries without a naive version are absent.

>>> import numpy as np
>>> from actlab.verify import naive
>>> sig = naive.NAIVE["sigmoid"]
>>> float(sig.df(np.float64(40.0)))  # s*(1-s): the exact value is 4.2e-18
0.0
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = ["Naive", "NAIVE", "naive"]


@dataclass(frozen=True)
class Naive:
    """A naive baseline: ``f`` and ``df`` (or ``jacobian`` for vector entries) and where it comes from."""

    name: str
    f: Callable[..., np.ndarray]
    df: Callable[..., np.ndarray] | None
    jacobian: Callable[..., np.ndarray] | None
    source: str

    @property
    def vector(self) -> bool:
        return self.jacobian is not None


NAIVE: dict[str, Naive] = {}


def naive(name: str, source: str = "textbook") -> Callable[[type], Naive]:
    """Register the class body below (``f`` and ``df``, or ``f`` and ``jacobian``) as the naive
    version of registry entry ``name``; ``source`` names the tutorial it is copied from."""

    def register(cls: type) -> Naive:
        body = vars(cls)
        entry = Naive(name, body["f"], body.get("df"), body.get("jacobian"), source)
        NAIVE[name] = entry
        return entry

    return register


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))  # tutorial 003


def _ones(x):
    return np.ones_like(x)


def _indicator(cond, x):
    """A boolean condition as 0/1 in the dtype of x (how tutorials write a gradient mask)."""
    return cond.astype(np.result_type(x, np.float32))


# ---- from the tutorials ---------------------------------------------------------------


@naive("identity", source="tutorial 003 (identity_function)")
class _identity:
    def f(x):
        return x

    def df(x):
        return _ones(x)


@naive("step", source="tutorial 003 (step_function, np.int -> x.dtype)")
class _step:
    def f(x):
        return np.array(x > 0, dtype=np.result_type(x, np.float32))

    def df(x):
        return np.zeros_like(x)


@naive("sigmoid", source="tutorial 003; derivative s*(1-s) from tutorial 002")
class _sigmoid_:
    def f(x):
        return 1 / (1 + np.exp(-x))

    def df(x):
        s = _sigmoid(x)
        return s * (1 - s)


@naive("relu", source="tutorials 000, 003, 004 (np.maximum(0, x)); derivative from tutorial 002")
class _relu:
    def f(x):
        return np.maximum(0, x)

    def df(x):
        return _indicator(x > 0, x)


@naive("leaky_relu", source="tutorial 004 (max(alpha*x, x), vectorised)")
class _leaky_relu:
    def f(x, slope=0.01):
        return np.maximum(slope * x, x)

    def df(x, slope=0.01):
        return np.where(x > 0, 1, slope).astype(x.dtype)


@naive("elu", source="tutorial 004")
class _elu:
    def f(x, alpha=1.0):
        return np.where(x > 0, x, alpha * (np.exp(x) - 1))

    def df(x, alpha=1.0):
        return np.where(x > 0, 1, alpha * np.exp(x)).astype(x.dtype)


@naive("softmax", source="tutorial 003 (np.exp(a) / np.sum(np.exp(a)), without the max shift)")
class _softmax:
    def f(x, axis=-1):
        e = np.exp(x)
        return e / np.sum(e, axis=axis, keepdims=True)

    def jacobian(row):
        s = _softmax.f(row)
        return np.diag(s) - np.outer(s, s)


# ---- textbook formulas for the rest -----------------------------------------------------


@naive("hard_sigmoid")
class _hard_sigmoid:
    def f(x):
        return np.minimum(np.maximum(0, x + 3), 6) / 6

    def df(x):
        return _indicator((x > -3) & (x < 3), x) / 6


@naive("log_sigmoid")
class _log_sigmoid:
    def f(x):
        return np.log(1 / (1 + np.exp(-x)))

    def df(x):
        return 1 - _sigmoid(x)


@naive("tanh")
class _tanh:
    def f(x):
        return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))

    def df(x):
        t = _tanh.f(x)
        return 1 - t * t


@naive("hard_tanh")
class _hard_tanh:
    def f(x, min_val=-1.0, max_val=1.0):
        return np.minimum(np.maximum(x, min_val), max_val)

    def df(x, min_val=-1.0, max_val=1.0):
        return _indicator((x > min_val) & (x < max_val), x)


@naive("relu6")
class _relu6:
    def f(x):
        return np.minimum(np.maximum(0, x), 6)

    def df(x):
        return _indicator((x > 0) & (x < 6), x)


@naive("prelu")
class _prelu:
    def f(x, slope=0.25):
        return np.where(x > 0, x, slope * x)

    def df(x, slope=0.25):
        return np.where(x > 0, 1, slope).astype(x.dtype)


@naive("rrelu")
class _rrelu:
    """Evaluation mode: the mean slope (lower + upper) / 2 on the negative side."""

    def f(x, lower=1 / 8, upper=1 / 3):
        return np.where(x > 0, x, (lower + upper) / 2 * x)

    def df(x, lower=1 / 8, upper=1 / 3):
        return np.where(x > 0, 1, (lower + upper) / 2).astype(x.dtype)


@naive("threshold")
class _threshold:
    def f(x, threshold=0.0, value=0.0):
        return np.where(x > threshold, x, value).astype(x.dtype)

    def df(x, threshold=0.0, value=0.0):
        return _indicator(x > threshold, x)


@naive("thresholded_relu")
class _thresholded_relu:
    def f(x, theta=1.0):
        return np.where(x > theta, x, 0).astype(x.dtype)

    def df(x, theta=1.0):
        return _indicator(x > theta, x)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@naive("selu")
class _selu:
    def f(x):
        return _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * (np.exp(x) - 1))

    def df(x):
        return _SELU_SCALE * np.where(x > 0, 1, _SELU_ALPHA * np.exp(x))


@naive("celu")
class _celu:
    def f(x, alpha=1.0):
        return np.maximum(0, x) + np.minimum(0, alpha * (np.exp(x / alpha) - 1))

    def df(x, alpha=1.0):
        return np.where(x > 0, 1, np.exp(x / alpha)).astype(x.dtype)


@naive("gelu")
class _gelu:
    def f(x):
        return 0.5 * x * (1 + special.erf(x / math.sqrt(2)))

    def df(x):
        return 0.5 * (1 + special.erf(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)


_C = math.sqrt(2 / math.pi)


@naive("gelu_tanh")
class _gelu_tanh:
    def f(x):
        return 0.5 * x * (1 + np.tanh(_C * (x + 0.044715 * x**3)))

    def df(x):
        t = np.tanh(_C * (x + 0.044715 * x**3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _C * (1 + 3 * 0.044715 * x * x)


@naive("silu")
class _silu:
    def f(x, beta=1.0):
        return x / (1 + np.exp(-beta * x))

    def df(x, beta=1.0):
        s = _sigmoid(beta * x)
        return s + beta * x * s * (1 - s)


@naive("hard_silu")
class _hard_silu:
    def f(x):
        return x * np.minimum(np.maximum(0, x + 3), 6) / 6

    def df(x):
        return np.where(x < -3, 0, np.where(x > 3, 1, (2 * x + 3) / 6)).astype(x.dtype)


@naive("mish")
class _mish:
    def f(x):
        return x * np.tanh(np.log(1 + np.exp(x)))

    def df(x):
        t = np.tanh(np.log(1 + np.exp(x)))
        return t + x * (1 - t * t) * _sigmoid(x)


@naive("softplus")
class _softplus:
    def f(x, beta=1.0):
        return np.log(1 + np.exp(beta * x)) / beta

    def df(x, beta=1.0):
        return _sigmoid(beta * x)


@naive("softsign")
class _softsign:
    def f(x):
        return x / (1 + np.abs(x))

    def df(x):
        return 1 / (1 + np.abs(x)) ** 2


@naive("tanh_shrink")
class _tanh_shrink:
    def f(x):
        return x - np.tanh(x)

    def df(x):
        return np.tanh(x) ** 2


@naive("hard_shrink")
class _hard_shrink:
    def f(x, lambd=0.5):
        return np.where(np.abs(x) > lambd, x, 0).astype(x.dtype)

    def df(x, lambd=0.5):
        return _indicator(np.abs(x) > lambd, x)


@naive("soft_shrink")
class _soft_shrink:
    def f(x, lambd=0.5):
        return np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0)).astype(x.dtype)

    def df(x, lambd=0.5):
        return _indicator(np.abs(x) > lambd, x)


@naive("squareplus")
class _squareplus:
    def f(x, b=4.0):
        return (x + np.sqrt(x * x + b)) / 2

    def df(x, b=4.0):
        return (1 + x / np.sqrt(x * x + b)) / 2


@naive("sparse_plus")
class _sparse_plus:
    def f(x):
        return np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)).astype(x.dtype)

    def df(x):
        return np.where(x <= -1, 0, np.where(x >= 1, 1, (x + 1) / 2)).astype(x.dtype)


@naive("sparse_sigmoid")
class _sparse_sigmoid:
    def f(x):
        return np.clip((x + 1) / 2, 0, 1)

    def df(x):
        return _indicator((x > -1) & (x < 1), x) / 2


@naive("exponential")
class _exponential:
    def f(x):
        return np.exp(x)

    def df(x):
        return np.exp(x)


@naive("log1mexp")
class _log1mexp:
    """log(1 - e^{-x}) for x > 0."""

    def f(x):
        return np.log(1 - np.exp(-x))

    def df(x):
        return np.exp(-x) / (1 - np.exp(-x))


@naive("arctan")
class _arctan:
    def f(x):
        return np.arctan(x)

    def df(x):
        return 1 / (1 + x * x)


@naive("bent_identity")
class _bent_identity:
    def f(x):
        return (np.sqrt(x * x + 1) - 1) / 2 + x

    def df(x):
        return x / (2 * np.sqrt(x * x + 1)) + 1


@naive("sinusoid")
class _sinusoid:
    def f(x):
        return np.sin(x)

    def df(x):
        return np.cos(x)


@naive("gaussian")
class _gaussian:
    def f(x):
        return np.exp(-x * x)

    def df(x):
        return -2 * x * np.exp(-x * x)


@naive("log_softmax")
class _log_softmax:
    def f(x, axis=-1):
        return np.log(_softmax.f(x, axis=axis))

    def jacobian(row):
        s = _softmax.f(row)
        return np.eye(row.size, dtype=row.dtype) - s[None, :]


@naive("softmin")
class _softmin:
    def f(x, axis=-1):
        return _softmax.f(-x, axis=axis)

    def jacobian(row):
        s = _softmin.f(row)
        return np.outer(s, s) - np.diag(s)


@naive("glu")
class _glu:
    def f(x, axis=-1):
        a, b = np.split(x, 2, axis=axis)
        return a * _sigmoid(b)

    def jacobian(row):
        a, b = np.split(row, 2)
        s = _sigmoid(b)
        return np.concatenate([np.diag(s), np.diag(a * s * (1 - s))], axis=1)


@naive("sparsemax")
class _sparsemax:
    """Martins & Astudillo (2016), algorithm 1: sort, cumulative sum, support size k(z)."""

    def f(x, axis=-1):
        z = np.moveaxis(x, axis, -1)
        zs = -np.sort(-z, axis=-1)
        k = np.arange(1, z.shape[-1] + 1, dtype=z.dtype)
        cs = np.cumsum(zs, axis=-1)
        support = 1 + k * zs > cs
        kz = np.sum(support, axis=-1, keepdims=True)
        tau = (np.take_along_axis(cs, kz - 1, axis=-1) - 1) / kz
        return np.moveaxis(np.maximum(z - tau, 0), -1, axis)

    def jacobian(row):
        p = _sparsemax.f(row)
        s = (p > 0).astype(row.dtype)
        return np.diag(s) - np.outer(s, s) / np.sum(s)
