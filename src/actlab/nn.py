"""A transparent NumPy neural-network engine: layers, losses, optimisers, training.

Everything an experiment needs is here (``from actlab import nn``); layers and
initialisers live in :mod:`actlab._layers`, the training loop, history and recorder in
:mod:`actlab.train`. Conventions:

* weights are ``W`` of shape (n_in, n_out) and ``y = x W + b`` (the book's layout);
* float32 by default, float64 on request (``dtype=``); no silent upcast on the way;
* randomness only from ``seed`` (an int or an ``np.random.Generator``): the same seed
  gives bit-identical weights, batches and losses;
* the network returns logits: the output activation (softmax, sigmoid, identity) is fused
  into the loss, whose gradient is then exact and cheap, e.g. softmax(z) - onehot(y);
* all parameters of a :class:`Sequential` are views into one flat array (and their
  gradients into another), so an optimiser step is a handful of whole-array operations.

>>> import numpy as np
>>> from actlab import nn
>>> model = nn.mlp("4-8-3", activation="relu", seed=0)
>>> X = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
>>> y = np.arange(16) % 3
>>> loss = nn.SoftmaxCrossEntropy()
>>> opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> first = loss.forward(model.forward(X, train=True), y)
>>> for _ in range(50):
...     l = loss.forward(model.forward(X, train=True), y)
...     model.backward(loss.backward())
...     opt.step()
>>> bool(l < first)
True
"""

from __future__ import annotations

import io
import json
import math
import io
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .accuracy import write_atomic
from . import registry
from ._layers import (
    INITS,
    LAYER_TYPES,
    Activation,
    BatchNorm,
    Buffers,
    Dense,
    Dropout,
    Layer,
    Parameter,
    PReLU,
    ones as _ones,
    as_rng,
    check_dtype,
    initialize,
    parse_init,
)
from .errors import ActlabError, check_choice, check_int, check_real, unknown

__all__ = [
    "Parameter", "Layer", "Dense", "Activation", "PReLU", "BatchNorm", "Dropout", "Sequential",
    "mlp", "from_weights", "initialize", "INITS", "parse_arch",
    "Loss", "SoftmaxCrossEntropy", "SigmoidBCE", "MSE", "loss_for",
    "Optimizer", "SGD", "Adam", "schedule", "make_optimizer",
    "save", "load", "gradcheck", "gradcheck_layer",
    "fit", "evaluate", "confusion_matrix", "History", "Recorder", "record", "summarize",
]

IDENTITY_NAMES = ("identity", "linear", "none")


def _output_bound(output: str | None) -> registry.Bound | None:
    """The registry entry of an output activation; None means identity."""
    if output is None or output in IDENTITY_NAMES:
        try:
            return registry.get("identity")
        except ActlabError:
            return None
    return registry.get(output)


# --------------------------------------------------------------------------- model


class Sequential:
    """Layers applied in order; returns logits (the output activation is in the loss).

    ``output`` names the output activation (a registry spec, e.g. "softmax", "sigmoid",
    or "identity"); :meth:`predict_proba` applies it and :func:`loss_for` picks the fused
    loss. ``recorder`` (None by default, then free) receives per-layer tensors.
    """

    def __init__(self, layers: Sequence[Layer], output: str | None = "softmax") -> None:
        self.layers = list(layers)
        if not self.layers:
            raise ActlabError("A Sequential model needs at least one layer.")
        for layer in self.layers:
            if not isinstance(layer, Layer):
                raise ActlabError(f"Sequential takes Layer objects. Got {layer!r} instead.")
        self.output = "identity" if output is None or output in IDENTITY_NAMES else registry.get(output).spec
        self._out = _output_bound(self.output)
        self.recorder = None
        dts = {getattr(l, "dtype", None) for l in self.layers} - {None}
        if len(dts) > 1:
            raise ActlabError(f"All layers of a model must share one dtype. Got {sorted(map(str, dts))} instead.")
        self.dtype = np.dtype(dts.pop()) if dts else np.dtype(np.float32)
        self.input_grad = False
        self._pack()

    # The parameters live in one flat array so that optimisers update them in one go.
    def _pack(self) -> None:
        params = self.parameters()
        total = sum(p.value.size for p in params)
        self.flat_value = np.empty(total, self.dtype)
        self.flat_grad = np.zeros(total, self.dtype)
        off = 0
        for p in params:
            n = p.value.size
            self.flat_value[off:off + n] = p.value.ravel()
            p.value = self.flat_value[off:off + n].reshape(p.value.shape)
            p.grad = self.flat_grad[off:off + n].reshape(p.value.shape)
            off += n

    @property
    def input_grad(self) -> bool:
        """Whether :meth:`backward` computes the gradient with respect to the input
        (off by default: the first Dense layer then skips its largest product)."""
        return self.layers[0].needs_input_grad

    @input_grad.setter
    def input_grad(self, value: bool) -> None:
        self.layers[0].needs_input_grad = bool(value) or not isinstance(self.layers[0], Dense)

    def parameters(self) -> list[Parameter]:
        return [p for layer in self.layers for p in layer.params()]

    @property
    def dense_layers(self) -> list[Dense]:
        return [l for l in self.layers if isinstance(l, Dense)]

    @property
    def activation_layers(self) -> list[Layer]:
        """The hidden nonlinearities (Activation and PReLU layers), in order."""
        return [l for l in self.layers if isinstance(l, (Activation, PReLU))]

    @property
    def n_in(self) -> int:
        return self.dense_layers[0].n_in

    @property
    def n_out(self) -> int:
        return self.dense_layers[-1].n_out

    @property
    def arch(self) -> str:
        d = self.dense_layers
        return "-".join(str(n) for n in [d[0].n_in, *(l.n_out for l in d)])

    def n_params(self) -> int:
        return int(self.flat_value.size)

    def _as_input(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ActlabError(f"The model takes inputs of shape (N, {self.n_in}). Got shape {x.shape} instead.")
        return x

    def forward(self, x: Any, train: bool = False, *, copy: bool = True) -> np.ndarray:
        """The logits for a batch ``x`` of shape (N, n_in).

        ``train=True`` uses batch statistics (BatchNorm) and drops units (Dropout).
        ``copy=False`` returns the model's internal buffer (overwritten by the next call):
        what the training loop uses.
        """
        x = self._as_input(x)
        rec = self.recorder
        if rec is None:
            for layer in self.layers:
                x = layer.forward(x, train)
        else:
            x = rec._forward(self, x, train)
        return x.copy() if copy else x

    __call__ = forward

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        """Backpropagate d loss / d logits; fills every ``Parameter.grad`` (overwrites)."""
        rec = self.recorder
        if rec is not None:
            return rec._backward(self, grad)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def zero_grad(self) -> None:
        self.flat_grad[...] = 0

    def predict_proba(self, x: Any) -> np.ndarray:
        """The output activation applied to the logits (probabilities for softmax/sigmoid)."""
        z = self.forward(x)
        if self._out is None:
            return z
        if self._out.definition.vector:
            return self._out.f(z, axis=-1)
        return self._out.f(z)

    def predict(self, x: Any) -> np.ndarray:
        """Class indices (softmax: argmax; sigmoid: threshold 0.5 for one output, argmax
        for several) or values (identity)."""
        z = self.forward(x)
        if self.output == "identity":
            return z
        if self.output.startswith("sigmoid") and z.shape[1] == 1:
            return (z[:, 0] > 0).astype(np.int64)
        return np.argmax(z, axis=1)

    def architecture(self) -> dict[str, Any]:
        return {"format": "actlab.nn/1", "output": self.output, "dtype": str(self.dtype),
                "layers": [l.config() for l in self.layers]}

    def state(self) -> dict[str, np.ndarray]:
        return {f"layer{i}.{k}": v for i, l in enumerate(self.layers) for k, v in l.state().items()}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        for i, layer in enumerate(self.layers):
            prefix = f"layer{i}."
            layer.load_state({k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})

    def astype(self, dtype: Any) -> Sequential:
        """A copy of the model (same weights and running statistics) in another dtype."""
        m = from_architecture(self.architecture(), dtype=dtype)
        m.load_state(self.state())
        for src, dst in zip(self.layers, m.layers):
            if isinstance(src, Dropout):
                dst.rng.bit_generator.state = src.rng.bit_generator.state
        return m

    def copy(self) -> Sequential:
        return self.astype(self.dtype)

    def __repr__(self) -> str:
        inner = ",\n  ".join(map(repr, self.layers))
        return f"Sequential([\n  {inner}\n], output={self.output!r})"


def parse_arch(arch: str | Sequence[int]) -> list[int]:
    """``"784-64-10"`` or ``[784, 64, 10]`` -> ``[784, 64, 10]``.

    >>> parse_arch("784-64-10")
    [784, 64, 10]
    """
    bad = ActlabError(f"An architecture is sizes joined by '-', e.g. '784-64-10'. Got {arch!r} instead.")
    if isinstance(arch, str):
        try:
            sizes = [int(s) for s in arch.strip().split("-")]
        except ValueError:
            raise bad from None
    else:
        try:
            sizes = [check_int(s, "arch", "mlp", low=1) for s in arch]
        except (TypeError, ActlabError):
            raise bad from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise bad
    return sizes


def _layer_gain(spec: str | None, kind: str) -> float | None:
    """The catalogue gain of the activation that follows a Dense layer, where the
    initialisation scheme uses one (``_layers.GAINED``); None = the scheme's default."""
    from ._layers import GAINED

    if kind not in GAINED or spec is None:
        return None
    try:
        return registry.get(spec).gain
    except (ActlabError, ArithmeticError):  # no gain known (or it cannot be computed)
        return None


def mlp(
    arch: str | Sequence[int],
    *,
    activation: str | Sequence[str] = "relu",
    output: str | None = "softmax",
    init: str | float = "he",
    gain: float | None = None,
    batchnorm: bool = False,
    dropout: float = 0.0,
    prelu: bool = False,
    seed: int | np.random.Generator | None = 0,
    dtype: Any = np.float32,
    bias_init: float = 0.0,
) -> Sequential:
    """A multilayer perceptron: [Dense, (BatchNorm), activation, (Dropout)] per hidden
    layer, then a Dense output layer giving logits.

    ``activation`` is one spec or one per hidden layer ("prelu" makes a PReLU layer).
    He/orthogonal initialisation takes its gain from the registry entry of the activation
    after each Dense layer (``actlab.get(spec).gain``; sqrt(2) for ReLU, 1 for the output
    layer's softmax); ``gain=`` overrides it everywhere.

    >>> mlp("784-64-10")
    Sequential([
      Dense(n_in=784, n_out=64, bias=True),
      Activation(spec='relu'),
      Dense(n_in=64, n_out=10, bias=True)
    ], output='softmax')
    """
    sizes = parse_arch(arch)
    n_hidden = len(sizes) - 2
    acts = [activation] * n_hidden if isinstance(activation, str) else list(activation)
    if len(acts) != n_hidden:
        raise ActlabError(
            f"mlp {'-'.join(map(str, sizes))} has {n_hidden} hidden layers: give one activation or {n_hidden}. "
            f"Got {len(acts)} instead."
        )
    dt = check_dtype(dtype)
    kind, _ = parse_init(init)
    dropout = check_real(dropout, "dropout", "mlp", 0, 1, high_open=True)
    bias_init = check_real(bias_init, "bias_init", "mlp")
    out_spec = None if output is None or output in IDENTITY_NAMES else registry.get(output).spec
    # validate activations before drawing anything
    bounds = [None if a == "prelu" else registry.get(a) for a in acts]
    rng = as_rng(seed)
    layers: list[Layer] = []
    for i in range(n_hidden + 1):
        n_in, n_out = sizes[i], sizes[i + 1]
        nxt = (acts[i] if bounds[i] is None else bounds[i].spec) if i < n_hidden else out_spec
        g = gain if gain is not None else _layer_gain("leaky_relu(slope=0.25)" if nxt == "prelu" else nxt, kind)
        if i == n_hidden and gain is None and kind in ("he_normal", "he_uniform") and g is None:
            g = 1.0  # output layer into softmax/identity: unit gain
        layers.append(Dense(n_in, n_out, init=init, gain=g, seed=rng, dtype=dt, bias_init=bias_init))
        if i == n_hidden:
            break
        if batchnorm:
            layers.append(BatchNorm(n_out, dtype=dt))
        layers.append(PReLU(n_out, dtype=dt) if bounds[i] is None else Activation(bounds[i]))
        if dropout > 0:
            layers.append(Dropout(dropout, seed=rng.integers(2**63), dtype=dt))
    return Sequential(layers, output=output)


def from_architecture(arch: dict[str, Any], dtype: Any = None) -> Sequential:
    """Rebuild a model (fresh weights) from :meth:`Sequential.architecture`."""
    dt = check_dtype(dtype if dtype is not None else arch.get("dtype", "float32"))
    layers: list[Layer] = []
    for cfg in arch["layers"]:
        cfg = dict(cfg)
        kind = cfg.pop("type")
        if kind not in LAYER_TYPES:
            raise unknown("layer type", kind, LAYER_TYPES)
        if kind == "Dense":
            layers.append(Dense(cfg["n_in"], cfg["n_out"], init="zeros", dtype=dt, bias=cfg.get("bias", True)))
        elif kind == "Activation":
            layers.append(Activation(cfg["spec"], derivative_at_zero=cfg.get("derivative_at_zero")))
        else:
            layers.append(LAYER_TYPES[kind](**cfg, dtype=dt))
    return Sequential(layers, output=arch.get("output", "softmax"))


def from_weights(
    weights: Sequence[tuple[np.ndarray, np.ndarray | None]],
    *,
    activations: str | Sequence[str] = "sigmoid",
    output: str | None = "softmax",
    dtype: Any = None,
) -> Sequential:
    """A model from foreign weights: ``[(W1, b1), (W2, b2), ...]`` with W of shape
    (n_in, n_out) and y = x W + b, e.g. the pretrained network of "Deep Learning from
    Scratch" (sigmoid, sigmoid, softmax).

    >>> W = np.eye(2, dtype=np.float32)
    >>> from_weights([(W, np.zeros(2, np.float32))] * 2, activations="relu").predict([[1.0, 2.0]])
    array([1])
    """
    pairs = [(np.asarray(W), None if b is None else np.asarray(b)) for W, b in weights]
    if not pairs:
        raise ActlabError("from_weights needs at least one (W, b) pair.")
    dt = check_dtype(dtype if dtype is not None else (pairs[0][0].dtype if pairs[0][0].dtype.kind == "f" else np.float64))
    acts = [activations] * (len(pairs) - 1) if isinstance(activations, str) else list(activations)
    if len(acts) != len(pairs) - 1:
        raise ActlabError(f"{len(pairs)} weight pairs need {len(pairs) - 1} hidden activations. Got {len(acts)} instead.")
    layers: list[Layer] = []
    for i, (W, b) in enumerate(pairs):
        if W.ndim != 2 or (b is not None and b.shape != (W.shape[1],)):
            raise ActlabError(f"Weight pair {i + 1}: W must be 2-D (n_in, n_out) and b of shape (n_out,). "
                              f"Got W {W.shape}, b {None if b is None else b.shape} instead.")
        if i and W.shape[0] != pairs[i - 1][0].shape[1]:
            raise ActlabError(f"Weight pair {i + 1} takes {W.shape[0]} inputs but pair {i} gives {pairs[i - 1][0].shape[1]}.")
        d = Dense(W.shape[0], W.shape[1], init="zeros", dtype=dt, bias=b is not None)
        d.weight.value[...] = W
        if b is not None:
            d.bias.value[...] = b
        layers.append(d)
        if i < len(acts):
            layers.append(Activation(acts[i]))
    return Sequential(layers, output=output)


# --------------------------------------------------------------------------- losses


class Loss:
    """A loss on the logits. The fused subclasses below are what training uses; this base
    class itself is the *unfused* pairing of any output activation with cross-entropy or
    squared error (e.g. sigmoid output + MSE), backpropagated through the activation's
    registry ``vjp``:

    * ``kind="ce"``: vector output (softmax): -mean_n Σ_k y log p; elementwise output
      (sigmoid): binary cross-entropy averaged over all entries;
    * ``kind="mse"``: mean over all entries of (p - y)^2.

    ``y`` is integer labels (turned into one-hot) or an array shaped like the logits.
    """

    def __init__(self, output: str | None = "softmax", kind: str = "ce") -> None:
        self.output = "identity" if output is None or output in IDENTITY_NAMES else registry.get(output).spec
        self.act = _output_bound(self.output)
        self.kind = check_choice(kind, "kind", "Loss", ("ce", "mse"))

    def _targets(self, z: np.ndarray, y: Any) -> np.ndarray:
        y = np.asarray(y)
        if y.shape == z.shape:
            return y.astype(z.dtype, copy=False)
        if y.ndim == 1 and y.dtype.kind in "iu":
            if z.shape[1] == 1:
                return y.reshape(-1, 1).astype(z.dtype)
            t = np.zeros_like(z)
            t[np.arange(len(y)), y] = 1
            return t
        if y.ndim == 1 and z.shape[1] == 1 and y.shape[0] == z.shape[0]:
            return y.reshape(-1, 1).astype(z.dtype)
        raise ActlabError(f"Targets must be integer labels of shape ({z.shape[0]},) or an array of shape {z.shape}. "
                          f"Got shape {y.shape} ({y.dtype}) instead.")

    def _p(self, z: np.ndarray) -> np.ndarray:
        if self.act is None:
            return z
        return self.act.f(z, axis=-1) if self.act.definition.vector else self.act.f(z)

    def forward(self, logits: np.ndarray, y: Any) -> float:
        z = logits
        t = self._targets(z, y)
        p = self._p(z)
        self._z, self._t, self._pv = z, t, p
        if self.kind == "mse":
            return float(np.mean(np.square(p - t)))
        if self.act is not None and self.act.definition.vector:
            return float(-np.sum(t * np.log(p)) / z.shape[0])
        return float(-np.mean(t * np.log(p) + (1 - t) * np.log1p(-p)))

    def backward(self) -> np.ndarray:
        z, t, p = self._z, self._t, self._pv
        if self.kind == "mse":
            dp = 2 * (p - t) / p.size
        elif self.act is not None and self.act.definition.vector:
            dp = -t / p / z.shape[0]
        else:
            dp = (p - t) / (p * (1 - p)) / p.size
        if self.act is None:
            return dp.astype(z.dtype, copy=False)
        if self.act.definition.vector:
            return self.act.vjp(z, dp, axis=-1)
        return self.act.vjp(z, dp)

    def __repr__(self) -> str:
        return f"Loss(output={self.output!r}, kind={self.kind!r})"


def _check_labels(y: np.ndarray, k: int) -> None:
    """Integer labels in [0, k): one reduction for int64 (negatives wrap to huge unsigned)."""
    if y.dtype.kind not in "iu":
        raise ActlabError(f"Labels must be integers. Got dtype {y.dtype} instead.")
    if y.size == 0:
        return
    if y.dtype == np.int64:
        ok = int(np.maximum.reduce(y.view(np.uint64))) < k
    else:
        ok = int(np.minimum.reduce(y)) >= 0 and int(np.maximum.reduce(y)) < k
    if not ok:
        raise ActlabError(f"Labels must be in [0, {k - 1}] for {k} logits. Got labels in [{y.min()}, {y.max()}] instead.")


class _SoftmaxBuffers:
    """The arrays of one SoftmaxCrossEntropy shape (n rows, k classes), made once."""

    __slots__ = ("p", "p_flat", "zt", "m", "m_col", "s", "s_col", "ones", "lse", "base", "flat", "zy", "py",
                 "hit", "inv_n")

    def __init__(self, n: int, k: int, dtype: np.dtype) -> None:
        self.p = np.empty((n, k), dtype)
        self.p_flat = self.p.reshape(-1)
        self.zt = np.empty((k, n), dtype)
        self.m, self.s, self.lse, self.zy, self.py = (np.empty(n, dtype) for _ in range(5))
        self.m_col, self.s_col = self.m[:, None], self.s[:, None]
        self.ones = np.ones(k, dtype)
        self.base = np.arange(n, dtype=np.intp) * k  # flat index of row i, column 0
        self.flat = np.empty(n, np.intp)
        self.hit = np.empty(n, np.bool_)
        self.inv_n = dtype.type(1.0 / n)


class SoftmaxCrossEntropy(Loss):
    """Softmax + cross-entropy from logits z, mean over the batch:

    L = (1/N) Σ_n [log Σ_k exp z_nk - z_n,y_n],  dL/dz = (softmax(z) - onehot(y)) / N.

    Computed with the max subtracted (log-sum-exp), so no overflow and no log(0).
    ``y``: integer labels (N,) or a probability array (N, K) (then -Σ_k y_k log p_k).
    """

    output = "softmax"
    kind = "ce"

    def __init__(self) -> None:
        self._buf = Buffers()

    def forward(self, logits: np.ndarray, y: Any) -> float:
        # Row reductions are written as a reduce over axis 0 of the transposed logits and
        # as a matrix-vector product with ones: NumPy's reductions along a short last
        # axis cost tens of microseconds per call, more than the rest of the loss. All
        # arrays come from one reused set per shape (_SoftmaxBuffers): nothing is allocated.
        z = logits
        n, k = z.shape
        b = self._buf.group(z.shape, lambda: _SoftmaxBuffers(n, k, z.dtype))
        p, m = b.p, b.m
        np.copyto(b.zt, z.T)
        np.maximum.reduce(b.zt, axis=0, out=m)  # row maxima: exp never overflows
        np.subtract(z, b.m_col, out=p)
        np.exp(p, out=p)
        np.matmul(p, b.ones, out=b.s)  # row sums, each >= 1
        p /= b.s_col
        lse = np.log(b.s, out=b.lse)
        lse += m  # log sum exp z, per row
        y = np.asarray(y)
        self._b, self._y = b, y
        if y.ndim == 1:
            _check_labels(y, k)
            # z[i, y_i] through flat indices i k + y_i (fancy indexing z[rows, y] would
            # allocate its index and result arrays on every call)
            np.add(b.base, y, out=b.flat)
            zy = z.reshape(-1).take(b.flat, out=b.zy)
            lse -= zy
            return float(np.add.reduce(lse, dtype=np.float64)) / n
        return float(np.sum(y * (lse[:, None] - z), dtype=np.float64) / n)

    def n_correct(self) -> int:
        """How many rows of the last batch have their label's logit at the row maximum
        (ties count as correct): the training accuracy without an argmax."""
        b = self._b
        if self._y.ndim != 1:
            return int(np.count_nonzero(np.argmax(b.p, axis=1) == np.argmax(self._y, axis=1)))
        return int(np.count_nonzero(np.greater_equal(b.zy, b.m, out=b.hit)))

    def backward(self) -> np.ndarray:
        b, y = self._b, self._y
        p = b.p
        if y.ndim == 1:  # p[i, y_i] -= 1 without fancy-indexing temporaries
            b.p_flat.take(b.flat, out=b.py)
            b.py -= 1
            b.p_flat.put(b.flat, b.py)
        else:
            p -= y
        p *= b.inv_n
        return p

    def __repr__(self) -> str:
        return "SoftmaxCrossEntropy()"


class SigmoidBCE(Loss):
    """Sigmoid + binary cross-entropy from logits, mean over all entries (PyTorch's
    ``BCEWithLogitsLoss``):

    L = mean[max(z, 0) - z y + log(1 + exp(-|z|))],  dL/dz = (sigmoid(z) - y) / size.
    """

    output = "sigmoid"
    kind = "ce"

    def __init__(self) -> None:
        self.act = registry.get("sigmoid")
        self._buf = Buffers()

    def forward(self, logits: np.ndarray, y: Any) -> float:
        z = logits
        t = self._targets(z, y)
        self._z, self._t = z, t
        loss = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
        return float(np.mean(loss, dtype=np.float64))

    def backward(self) -> np.ndarray:
        z = self._z
        g = self.act.f(z, out=self._buf.get(z.shape, "g", z.shape, z.dtype))
        g -= self._t
        g *= g.dtype.type(1.0 / g.size)
        return g

    def __repr__(self) -> str:
        return "SigmoidBCE()"


class MSE(Loss):
    """Identity output + squared error, mean over all entries (PyTorch's ``MSELoss``, no
    factor 1/2): L = mean((z - y)^2),  dL/dz = 2 (z - y) / size."""

    output = "identity"
    kind = "mse"

    def __init__(self) -> None:
        self._buf = Buffers()

    def forward(self, logits: np.ndarray, y: Any) -> float:
        z = logits
        t = self._targets(z, y)
        d = self._buf.get(z.shape, "d", z.shape, z.dtype)
        np.subtract(z, t, out=d)
        self._d = d
        return float(np.mean(np.square(d), dtype=np.float64))

    def backward(self) -> np.ndarray:
        d = self._d
        d *= d.dtype.type(2.0 / d.size)
        return d

    def __repr__(self) -> str:
        return "MSE()"


def loss_for(output: str | None) -> Loss:
    """The fused loss for an output activation: softmax -> SoftmaxCrossEntropy, sigmoid
    -> SigmoidBCE, identity -> MSE; any other output gets the unfused :class:`Loss`
    (cross-entropy for vector outputs, squared error otherwise)."""
    name = "identity" if output is None or output in IDENTITY_NAMES else registry.get(output).spec
    if name == "softmax":
        return SoftmaxCrossEntropy()
    if name == "sigmoid":
        return SigmoidBCE()
    if name == "identity":
        return MSE()
    return Loss(name, kind="ce" if registry.get(name).definition.vector else "mse")


# --------------------------------------------------------------------------- optimisers


def _flat(params: list[Parameter]) -> tuple[np.ndarray, np.ndarray] | None:
    """The (value, grad) flat arrays if ``params`` are, in order, exactly the views a
    :class:`Sequential` packed; else None (then the optimiser loops over parameters)."""
    if not params:
        return None
    vb, gb = params[0].value.base, params[0].grad.base
    if vb is None or gb is None or vb.ndim != 1 or sum(p.value.size for p in params) != vb.size:
        return None
    off = 0
    start_v, start_g = vb.ctypes.data, gb.ctypes.data
    item = vb.itemsize
    for p in params:
        if p.value.base is not vb or p.grad.base is not gb:
            return None
        if p.value.ctypes.data != start_v + off * item or p.grad.ctypes.data != start_g + off * item:
            return None
        off += p.value.size
    return vb, gb


class Optimizer:
    """Base class: holds parameters and the learning rate ``lr`` (settable)."""

    def __init__(self, params: Iterable[Parameter], lr: float, weight_decay: float = 0.0) -> None:
        self.params = list(params)
        if not self.params:
            raise ActlabError("The optimiser got no parameters.")
        self.lr = check_real(lr, "lr", type(self).__name__, 0, low_open=False)
        self.weight_decay = check_real(weight_decay, "weight_decay", type(self).__name__, 0)
        flat = _flat(self.params)
        # one group: the packed flat arrays, or one (value, grad) pair per parameter
        self.groups = [flat] if flat is not None else [(p.value, p.grad) for p in self.params]
        self.t = 0

    def zero_grad(self) -> None:
        for _, g in self.groups:
            g[...] = 0

    def step(self) -> None:
        self.t += 1
        for i, (w, g) in enumerate(self.groups):
            self._update(i, w, g)

    def _update(self, i: int, w: np.ndarray, g: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    #: names of the per-group state arrays (e.g. SGD's "velocity", Adam's "m" and "v")
    STATE: tuple[str, ...] = ()

    def state_dict(self) -> dict[str, Any]:
        """The optimiser's running state: step count ``t``, learning rate, and its
        per-group arrays (momentum buffers, Adam moments), as ``"name.i"`` -> array.
        What a checkpoint needs to continue bit for bit."""
        out: dict[str, Any] = {"t": self.t, "lr": self.lr}
        for name in self.STATE:
            arrays = getattr(self, name)
            if arrays is not None:
                out.update({f"{name}.{i}": a for i, a in enumerate(arrays)})
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (arrays are copied into the existing buffers)."""
        self.t = int(state["t"])
        self.lr = float(state["lr"])
        for name in self.STATE:
            arrays = getattr(self, name)
            for i, a in enumerate(arrays or ()):
                key = f"{name}.{i}"
                if key not in state or np.shape(state[key]) != a.shape:
                    raise ActlabError(f"The optimiser state has no {key} of shape {a.shape}.")
                a[...] = state[key]


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's formulation (dampening 0):

    g <- grad + wd w;  v <- mu v + g;  step = g + mu v (Nesterov) or v;  w <- w - lr step.
    With momentum 0 this is w <- w - lr (grad + wd w).
    """

    STATE = ("velocity",)

    def __init__(self, params: Iterable[Parameter], lr: float = 0.1, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = check_real(momentum, "momentum", "SGD", 0, 1)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ActlabError("Nesterov momentum needs momentum > 0.")
        self.velocity = [np.zeros_like(w) for w, _ in self.groups] if self.momentum else None
        self._tmp = [np.empty_like(w) for w, _ in self.groups]
        self._tmp2 = [np.empty_like(w) for w, _ in self.groups] if self.nesterov else None

    def _update(self, i: int, w: np.ndarray, g: np.ndarray) -> None:
        tmp = self._tmp[i]
        dt = w.dtype.type
        if self.weight_decay:
            np.multiply(w, dt(self.weight_decay), out=tmp)
            tmp += g
            g = tmp
        if self.velocity is not None:
            v = self.velocity[i]
            v *= dt(self.momentum)
            v += g
            if self.nesterov:
                tmp2 = self._tmp2[i]
                np.multiply(v, dt(self.momentum), out=tmp2)
                tmp2 += g
                g = tmp2
            else:
                g = v
        np.multiply(g, dt(self.lr), out=tmp)
        w -= tmp


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), PyTorch's formulation (L2 weight decay added to grad):

    m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
    w <- w - (lr / (1-b1^t)) m / (sqrt(v) / sqrt(1-b2^t) + eps).
    """

    STATE = ("m", "v")

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.betas = (check_real(betas[0], "beta1", "Adam", 0, 1, high_open=True),
                      check_real(betas[1], "beta2", "Adam", 0, 1, high_open=True))
        self.eps = check_real(eps, "eps", "Adam", 0)
        self.m = [np.zeros_like(w) for w, _ in self.groups]
        self.v = [np.zeros_like(w) for w, _ in self.groups]
        self._tmp = [np.empty_like(w) for w, _ in self.groups]
        self._tmp2 = [np.empty_like(w) for w, _ in self.groups]

    def _update(self, i: int, w: np.ndarray, g: np.ndarray) -> None:
        b1, b2 = self.betas
        dt = w.dtype.type
        tmp, tmp2, m, v = self._tmp[i], self._tmp2[i], self.m[i], self.v[i]
        if self.weight_decay:
            np.multiply(w, dt(self.weight_decay), out=tmp2)
            tmp2 += g
            g = tmp2
        m *= dt(b1)
        np.multiply(g, dt(1 - b1), out=tmp)
        m += tmp
        v *= dt(b2)
        np.multiply(g, g, out=tmp)
        tmp *= dt(1 - b2)
        v += tmp
        bc1 = 1 - b1 ** self.t
        bc2 = 1 - b2 ** self.t
        np.sqrt(v, out=tmp)
        tmp *= dt(1 / math.sqrt(bc2))
        tmp += dt(self.eps)
        np.divide(m, tmp, out=tmp)
        tmp *= dt(self.lr / bc1)
        w -= tmp


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str | Optimizer, params: Iterable[Parameter], lr: float, momentum: float = 0.0,
                   nesterov: bool = False, weight_decay: float = 0.0) -> Optimizer:
    """An optimiser by name ("sgd", "momentum", "nesterov", "adam")."""
    if isinstance(name, Optimizer):
        return name
    key = check_choice(name, "optimizer", "fit", ("sgd", "momentum", "nesterov", "adam"))
    if key == "adam":
        return Adam(params, lr=lr, weight_decay=weight_decay)
    if key == "momentum" and not momentum:
        momentum = 0.9
    if key == "nesterov":
        momentum, nesterov = momentum or 0.9, True
    return SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)


def schedule(kind: str | Callable[[int], float], lr: float, total_steps: int, **kw: Any) -> Callable[[int], float]:
    """A learning-rate schedule: step index (0-based) -> lr.

    * ``constant``: lr;
    * ``step(step_size=total/3, gamma=0.1)``: lr gamma^floor(t / step_size);
    * ``cosine(min_lr=0)``: min_lr + (lr - min_lr) (1 + cos(pi t / total)) / 2.

    >>> f = schedule("cosine", 0.1, 100)
    >>> f(0), round(f(50), 6), f(100)
    (0.1, 0.05, 0.0)
    """
    if callable(kind):
        return kind
    if isinstance(kind, str) and "(" in kind:
        kind, extra = registry.parse_spec(kind)
        kw = {**extra, **kw}
    kind = check_choice(kind, "schedule", "fit", ("constant", "step", "cosine"))
    lr = check_real(lr, "lr", "schedule", 0)
    total = max(int(total_steps), 1)
    if kind == "constant":
        if kw:
            raise unknown("parameter", next(iter(kw)), [], owner="the constant schedule")
        return lambda t: lr
    if kind == "step":
        size = check_int(kw.pop("step_size", max(total // 3, 1)), "step_size", "the step schedule", low=1)
        gamma = check_real(kw.pop("gamma", 0.1), "gamma", "the step schedule", 0)
        if kw:
            raise unknown("parameter", next(iter(kw)), ["step_size", "gamma"], owner="the step schedule")
        return lambda t: lr * gamma ** (t // size)
    min_lr = check_real(kw.pop("min_lr", 0.0), "min_lr", "the cosine schedule", 0)
    if kw:
        raise unknown("parameter", next(iter(kw)), ["min_lr"], owner="the cosine schedule")
    return lambda t: min_lr + (lr - min_lr) * (1 + math.cos(math.pi * min(t, total) / total)) / 2


# --------------------------------------------------------------------------- save / load


def save(model: Sequential, path: str | os.PathLike) -> None:
    """Write weights, running statistics and architecture (JSON) to one .npz, atomically."""
    path = os.fspath(path)
    arrays = dict(model.state())
    arrays["__architecture__"] = np.array(json.dumps(model.architecture()))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_atomic(path, buf.getvalue())


def load(path: str | os.PathLike) -> Sequential:
    """The model saved by :func:`save`."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ActlabError(f"No model file at {path!r}.")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as err:
        raise ActlabError(f"Cannot read model file {path!r}: {err}") from None
    if "__architecture__" not in arrays:
        raise ActlabError(f"{path!r} is not an actlab model file (no architecture record).")
    arch = json.loads(str(arrays.pop("__architecture__")))
    model = from_architecture(arch)
    model.load_state(arrays)
    return model


# --------------------------------------------------------------------------- gradient check


def _rel_err(a: np.ndarray, b: np.ndarray, floor: float = 0.0) -> float:
    num = float(np.linalg.norm((a - b).ravel()))
    den = max(float(np.linalg.norm(a.ravel()) + np.linalg.norm(b.ravel())), floor)
    return 0.0 if den == 0 else num / den


def gradcheck(model: Sequential, X: Any, y: Any, loss: Loss | None = None, eps: float = 1e-6,
              train: bool = True, max_entries: int | None = None, seed: int = 0) -> float:
    """Largest relative error ||g - g_num|| / (||g|| + ||g_num||) over the parameters,
    between backpropagation and central differences (L(w+eps) - L(w-eps)) / (2 eps),
    computed on a float64 copy of the model. The denominator is at least 1e-3 times the
    norm of the whole gradient, so that a parameter whose gradient is exactly zero (a
    bias before BatchNorm) compares the rounding noise of the differences against the
    model's gradient scale instead of against zero. Dropout masks are held fixed (its
    generator is rewound before each forward). ``max_entries`` checks a random subset
    of each parameter's entries.
    """
    m = model.astype(np.float64)
    loss = loss if loss is not None else loss_for(m.output)
    X = np.asarray(X, np.float64)
    rngs = [(l.rng, l.rng.bit_generator.state) for l in m.layers if isinstance(l, Dropout)]

    def value() -> float:
        for r, s in rngs:
            r.bit_generator.state = s
        return loss.forward(m.forward(X, train, copy=False), y)

    value()
    m.backward(loss.backward())
    analytic = [p.grad.copy() for p in m.parameters()]
    floor = 1e-3 * float(np.linalg.norm(m.flat_grad))
    pick = np.random.default_rng(seed)
    worst = 0.0
    for p, g in zip(m.parameters(), analytic):
        flat = p.value.reshape(-1)
        idx = np.arange(flat.size)
        if max_entries is not None and flat.size > max_entries:
            idx = pick.choice(flat.size, max_entries, replace=False)
        num = np.empty(idx.size)
        for j, k in enumerate(idx):
            old = flat[k]
            flat[k] = old + eps
            lp = value()
            flat[k] = old - eps
            lm = value()
            flat[k] = old
            num[j] = (lp - lm) / (2 * eps)
        worst = max(worst, _rel_err(g.reshape(-1)[idx], num, floor))
    return worst


def gradcheck_layer(layer: Layer, x: np.ndarray, eps: float = 1e-6, train: bool = True, seed: int = 0) -> float:
    """Relative error of a layer's input and parameter gradients against central
    differences, for the scalar L = Σ R ⊙ layer(x) with a fixed random R (float64 x)."""
    x = np.array(x, dtype=np.float64)
    rng = getattr(layer, "rng", None)
    state = rng.bit_generator.state if rng is not None else None

    def out(xx: np.ndarray) -> np.ndarray:
        if rng is not None:
            rng.bit_generator.state = state
        return np.array(layer.forward(xx, train))

    y = out(x)
    R = np.random.default_rng(seed).normal(size=y.shape)
    gx = np.array(layer.backward(R.copy()))
    analytic = [p.grad.copy() for p in layer.params()]

    def L(xx: np.ndarray) -> float:
        return float(np.sum(R * out(xx)))

    worst = 0.0
    num = np.empty_like(x)
    for k in range(x.size):
        xp = x.copy()
        xp.flat[k] += eps
        xm = x.copy()
        xm.flat[k] -= eps
        num.flat[k] = (L(xp) - L(xm)) / (2 * eps)
    worst = _rel_err(gx, num)
    for p, g in zip(layer.params(), analytic):
        flat = p.value.reshape(-1)
        numg = np.empty(flat.size)
        for k in range(flat.size):
            old = flat[k]
            flat[k] = old + eps
            lp = L(x)
            flat[k] = old - eps
            lm = L(x)
            flat[k] = old
            numg[k] = (lp - lm) / (2 * eps)
        worst = max(worst, _rel_err(g.reshape(-1), numg))
    return worst


from .train import History, Recorder, confusion_matrix, evaluate, fit, record, summarize  # noqa: E402
