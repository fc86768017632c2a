"""Layers of the engine (imported through :mod:`actlab.nn`).

Every layer has ``forward(x, train) -> y``, ``backward(grad_y) -> grad_x`` and
``params() -> list[Parameter]``. Two rules make the engine fast without hiding anything:

* output and gradient arrays are allocated once per input shape and reused on every call
  (``Buffers``), so a training step allocates nothing. The array a layer returns is
  therefore overwritten by its next call with the same shape: copy it to keep it.
* ``backward`` *writes* (does not accumulate) the parameter gradients, straight into
  ``Parameter.grad`` with ``np.matmul(..., out=)``.

Activations come from the registry (``actlab.get``): a layer calls the entry's ``f`` and
``df``/``vjp`` and never re-writes a formula.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..catalogue import registry
from ..errors import ActlabError, check_int, check_real
from .init import Seed, as_rng, check_dtype, initialize


class Parameter:
    """A learnable array with its gradient (same shape and dtype) and a name."""

    __slots__ = ("value", "grad", "name")

    def __init__(self, value: np.ndarray, name: str) -> None:
        self.value = value
        self.grad = np.zeros_like(value)
        self.name = name

    def __repr__(self) -> str:
        return f"Parameter({self.name}, shape={self.value.shape}, dtype={self.value.dtype})"


class Buffers:
    """Arrays reused across calls, one set per (input shape): no allocation per step.

    Keeps the few most recent shapes (training batch, last partial batch, evaluation
    chunk) so that memory stays bounded whatever shapes a caller feeds.
    """

    __slots__ = ("_sets", "keep")

    def __init__(self, keep: int = 4) -> None:
        self._sets: dict[tuple, dict[str, np.ndarray]] = {}
        self.keep = keep

    def get(self, key: tuple, name: str, shape: tuple, dtype: np.dtype,
            init: Any = None) -> np.ndarray:
        """The array ``name`` of the set ``key``; created with ``np.empty`` (then filled by
        ``init(array)`` if given, once) on first use."""
        s = self._sets.get(key)
        if s is None:
            if len(self._sets) >= self.keep:
                self._sets.pop(next(iter(self._sets)))
            s = self._sets[key] = {}
        a = s.get(name)
        if a is None:
            a = s[name] = np.empty(shape, dtype)
            if init is not None:
                init(a)
        return a

    def group(self, key: tuple, make: Any) -> Any:
        """An object holding a whole set of arrays for ``key``, built by ``make()`` on first
        use: one dictionary lookup per call instead of one per array."""
        g = self._sets.get(key)
        if g is None:
            if len(self._sets) >= self.keep:
                self._sets.pop(next(iter(self._sets)))
            g = self._sets[key] = make()
        return g

    def clear(self) -> None:
        self._sets.clear()


def ones(buf: Buffers, key: tuple, n: int, dtype: np.dtype) -> np.ndarray:
    """A cached vector of n ones (column sums as a matrix-vector product)."""
    return buf.get(key, "ones", (n,), dtype, init=_fill_ones)


def _fill_ones(a: np.ndarray) -> None:
    a.fill(1)


class Layer:
    """Base class: a layer without parameters that passes its input through."""

    #: False for the first layer of a network: its input gradient is never needed.
    needs_input_grad = True

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_y: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def params(self) -> list[Parameter]:
        return []

    def state(self) -> dict[str, np.ndarray]:
        """Arrays to save: parameters and running statistics."""
        return {p.name: p.value for p in self.params()}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        for p in self.params():
            p.value[...] = arrays[p.name]

    def config(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"


# --------------------------------------------------------------------------- layers


class Dense(Layer):
    """Fully connected layer, y = x W + b with W of shape (n_in, n_out) (the book's layout).

    Backward: dW = xᵀ g, db = Σ_rows g, dx = g Wᵀ (skipped for the first layer).
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        *,
        init: str | float = "he",
        gain: float | None = None,
        seed: Seed = None,
        dtype: Any = np.float32,
        bias: bool = True,
        bias_init: float = 0.0,
    ) -> None:

        self.n_in = check_int(n_in, "n_in", "Dense", low=1)
        self.n_out = check_int(n_out, "n_out", "Dense", low=1)
        self.dtype = check_dtype(dtype)
        self.init = init
        self.weight = Parameter(initialize(init, n_in, n_out, gain=gain, seed=seed, dtype=self.dtype), "W")
        self.bias = Parameter(np.full(n_out, bias_init, dtype=self.dtype), "b") if bias else None
        self._buf = Buffers()
        self._x: np.ndarray | None = None

    @property
    def W(self) -> np.ndarray:
        return self.weight.value

    @W.setter
    def W(self, value: np.ndarray) -> None:
        self.weight.value[...] = value

    @property
    def b(self) -> np.ndarray | None:
        return None if self.bias is None else self.bias.value

    @b.setter
    def b(self, value: np.ndarray) -> None:
        self.bias.value[...] = value  # type: ignore[union-attr]

    def params(self) -> list[Parameter]:
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        self._x = x
        y = self._buf.get(x.shape, "y", (x.shape[0], self.n_out), self.dtype)
        np.matmul(x, self.weight.value, out=y)
        if self.bias is not None:
            y += self.bias.value
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        x = self._x
        np.matmul(x.T, grad_y, out=self.weight.grad)
        if self.bias is not None:
            # column sums as ones @ g: a BLAS call, ~20x faster than np.sum(axis=0) here
            np.matmul(ones(self._buf, x.shape, x.shape[0], self.dtype), grad_y, out=self.bias.grad)
        if not self.needs_input_grad:
            return None  # type: ignore[return-value]
        gx = self._buf.get(x.shape, "gx", x.shape, self.dtype)
        return np.matmul(grad_y, self.weight.value.T, out=gx)

    def config(self) -> dict[str, Any]:
        return {"type": "Dense", "n_in": self.n_in, "n_out": self.n_out, "bias": self.bias is not None}


class Activation(Layer):
    """An activation from the registry, e.g. ``Activation("leaky_relu(slope=0.1)")``.

    Elementwise entries: y = f(x), grad_x = f'(x) ⊙ grad_y (the registry's ``df``).
    Vector entries (softmax, ...): along the last axis, grad_x = the registry's ``vjp``.
    ``derivative_at_zero`` replaces f'(0) (for experiments on the ReLU kink).
    """

    def __init__(self, spec: str | registry.Bound, *, derivative_at_zero: float | None = None) -> None:
        self.act = registry.get(spec)
        self.spec = self.act.spec
        self.vector = self.act.definition.vector
        self.derivative_at_zero = None if derivative_at_zero is None else check_real(
            derivative_at_zero, "derivative_at_zero", "Activation"
        )
        if self.vector and derivative_at_zero is not None:
            raise ActlabError(f"derivative_at_zero applies to elementwise activations, not {self.spec}.")
        self._buf = Buffers()
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        self._x = x
        if self.vector:
            return self.act.f(x, axis=-1)
        return self.act.f(x, out=self._buf.get(x.shape, "y", x.shape, x.dtype))

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        x = self._x
        if self.vector:
            return self.act.vjp(x, grad_y, axis=-1)
        gx = self.act.df(x, out=self._buf.get(x.shape, "gx", x.shape, x.dtype))
        if self.derivative_at_zero is not None:
            gx[x == 0] = self.derivative_at_zero
        return np.multiply(gx, grad_y, out=gx)

    def config(self) -> dict[str, Any]:
        c: dict[str, Any] = {"type": "Activation", "spec": self.spec}
        if self.derivative_at_zero is not None:
            c["derivative_at_zero"] = self.derivative_at_zero
        if self.act.definition.family == "formula":
            from .. import formula

            source = formula.source(self.act)  # a named formula: what defines it again on load
            if source is not None:
                c["formula"] = source
        return c


class PReLU(Layer):
    """Parametric ReLU (He et al. 2015): y = x for x > 0, a x otherwise, a learnable.

    ``a`` has one entry per unit, or one shared by all units (``shared=True``).
    grad_x = 1 (x > 0) or a (x <= 0; PyTorch's value at 0); grad_a = Σ x g over x <= 0.
    """

    def __init__(self, n: int, *, shared: bool = False, init: float = 0.25, dtype: Any = np.float32) -> None:

        self.n = check_int(n, "n", "PReLU", low=1)
        self.shared = bool(shared)
        self.dtype = check_dtype(dtype)
        self.init = check_real(init, "init", "PReLU")
        self.alpha = Parameter(np.full(1 if shared else n, init, dtype=self.dtype), "alpha")
        self._buf = Buffers()

    def params(self) -> list[Parameter]:
        return [self.alpha]

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        self._x = x
        neg = self._buf.get(x.shape, "neg", x.shape, np.bool_)
        np.less_equal(x, 0, out=neg)
        y = self._buf.get(x.shape, "y", x.shape, x.dtype)
        np.multiply(x, self.alpha.value, out=y)
        np.copyto(y, x, where=~neg)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        x, neg = self._x, self._buf.get(self._x.shape, "neg", self._x.shape, np.bool_)
        tmp = self._buf.get(x.shape, "tmp", x.shape, x.dtype)
        np.multiply(x, grad_y, out=tmp)
        tmp[~neg] = 0
        s = tmp.sum(axis=0)
        self.alpha.grad[...] = s.sum() if self.shared else s
        gx = self._buf.get(x.shape, "gx", x.shape, x.dtype)
        np.multiply(grad_y, self.alpha.value, out=gx)
        np.copyto(gx, grad_y, where=~neg)
        return gx

    def config(self) -> dict[str, Any]:
        return {"type": "PReLU", "n": self.n, "shared": self.shared, "init": self.init}


class BatchNorm(Layer):
    """Batch normalisation (Ioffe & Szegedy 2015) over the batch axis.

    Train: x̂ = (x - mean_batch) / sqrt(var_batch + eps), y = gamma x̂ + beta, and the
    running statistics move as r <- momentum r + (1 - momentum) batch (Keras convention;
    the running variance uses the unbiased batch variance, as PyTorch). Eval: the running
    statistics replace the batch ones.
    Backward (train): dx = (gamma / (N sigma)) (N g - Σg - x̂ Σ(g x̂)).
    """

    def __init__(self, n: int, *, momentum: float = 0.9, eps: float = 1e-5, dtype: Any = np.float32) -> None:

        self.n = check_int(n, "n", "BatchNorm", low=1)
        self.momentum = check_real(momentum, "momentum", "BatchNorm", 0, 1)
        self.eps = check_real(eps, "eps", "BatchNorm", 0, low_open=True)
        self.dtype = check_dtype(dtype)
        self.gamma = Parameter(np.ones(n, self.dtype), "gamma")
        self.beta = Parameter(np.zeros(n, self.dtype), "beta")
        self.running_mean = np.zeros(n, self.dtype)
        self.running_var = np.ones(n, self.dtype)
        self._buf = Buffers()
        self._train = False

    def params(self) -> list[Parameter]:
        return [self.gamma, self.beta]

    def state(self) -> dict[str, np.ndarray]:
        return {**super().state(), "running_mean": self.running_mean, "running_var": self.running_var}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        super().load_state(arrays)
        self.running_mean[...] = arrays["running_mean"]
        self.running_var[...] = arrays["running_var"]

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        self._train = train
        xhat = self._buf.get(x.shape, "xhat", x.shape, x.dtype)
        y = self._buf.get(x.shape, "y", x.shape, x.dtype)
        if train:
            n = x.shape[0]
            o = ones(self._buf, x.shape, n, x.dtype)
            inv_n = self.dtype.type(1.0 / n)
            mean = np.matmul(o, x)  # column sums as a BLAS product (see Dense.backward)
            mean *= inv_n
            np.subtract(x, mean, out=xhat)
            np.square(xhat, out=y)
            var = np.matmul(o, y)
            var *= inv_n
            m = self.dtype.type(self.momentum)
            self.running_mean *= m
            self.running_mean += (1 - m) * mean
            self.running_var *= m
            self.running_var += (1 - m) * var * self.dtype.type(n / max(n - 1, 1))
        else:
            mean, var = self.running_mean, self.running_var
            np.subtract(x, mean, out=xhat)
        self._inv_std = 1.0 / np.sqrt(var + self.dtype.type(self.eps))
        xhat *= self._inv_std
        np.multiply(xhat, self.gamma.value, out=y)
        y += self.beta.value
        self._xhat = xhat
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        xhat = self._xhat
        n = xhat.shape[0]
        o = ones(self._buf, xhat.shape, n, xhat.dtype)
        gx = self._buf.get(xhat.shape, "gx", xhat.shape, xhat.dtype)
        np.matmul(o, grad_y, out=self.beta.grad)
        np.multiply(grad_y, xhat, out=gx)
        np.matmul(o, gx, out=self.gamma.grad)
        scale = self.gamma.value * self._inv_std
        if not self._train:  # running statistics are constants
            return np.multiply(grad_y, scale, out=gx)
        np.multiply(xhat, self.gamma.grad, out=gx)
        np.subtract(n * grad_y, gx, out=gx)
        gx -= self.beta.grad
        gx *= scale / self.dtype.type(n)
        return gx

    def config(self) -> dict[str, Any]:
        return {"type": "BatchNorm", "n": self.n, "momentum": self.momentum, "eps": self.eps}


class Dropout(Layer):
    """Inverted dropout: in training each unit is kept with probability 1 - p and scaled
    by 1 / (1 - p), so that eval (identity) sees the same expected activation."""

    def __init__(self, p: float, *, seed: Seed = None, dtype: Any = np.float32) -> None:
        self.p = check_real(p, "p", "Dropout", 0, 1, high_open=True)
        self.dtype = check_dtype(dtype)
        self.rng = as_rng(seed)
        self._buf = Buffers()
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        if not train or self.p == 0:
            self._mask = None
            return x
        mask = self._buf.get(x.shape, "mask", x.shape, x.dtype)
        self.rng.random(out=mask, dtype=x.dtype)
        np.greater_equal(mask, self.p, out=mask)  # 1.0 where kept
        mask *= x.dtype.type(1.0 / (1.0 - self.p))
        self._mask = mask
        y = self._buf.get(x.shape, "y", x.shape, x.dtype)
        return np.multiply(x, mask, out=y)

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        if self._mask is None:
            return grad_y
        gx = self._buf.get(grad_y.shape, "gx", grad_y.shape, grad_y.dtype)
        return np.multiply(grad_y, self._mask, out=gx)

    def config(self) -> dict[str, Any]:
        return {"type": "Dropout", "p": self.p}


LAYER_TYPES: dict[str, type[Layer]] = {c.__name__: c for c in (Dense, Activation, PReLU, BatchNorm, Dropout)}

