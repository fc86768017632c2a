"""Models: :class:`Sequential`, and the builders :func:`mlp`, :func:`from_architecture`
and :func:`from_weights`.

All parameters of a :class:`Sequential` are views into one flat array (and their
gradients into another), so an optimiser step is a handful of whole-array operations.
The network returns logits: the output activation is fused into the loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..catalogue import registry
from ..errors import ActlabError, check_int, check_real, unknown
from .init import GAINED, as_rng, check_dtype, parse_init
from .layers import LAYER_TYPES, Activation, BatchNorm, Dense, Dropout, Layer, Parameter, PReLU

IDENTITY_NAMES = ("identity", "linear", "none")


def _output_bound(output: str | None) -> registry.Bound | None:
    """The registry entry of an output activation; None means identity."""
    if output is None or output in IDENTITY_NAMES:
        try:
            return registry.get("identity")
        except ActlabError:
            return None
    return registry.get(output)


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
        dts = {getattr(layer, "dtype", None) for layer in self.layers} - {None}
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
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    @property
    def activation_layers(self) -> list[Layer]:
        """The hidden nonlinearities (Activation and PReLU layers), in order."""
        return [layer for layer in self.layers if isinstance(layer, (Activation, PReLU))]

    @property
    def n_in(self) -> int:
        return self.dense_layers[0].n_in

    @property
    def n_out(self) -> int:
        return self.dense_layers[-1].n_out

    @property
    def arch(self) -> str:
        d = self.dense_layers
        return "-".join(str(n) for n in [d[0].n_in, *(layer.n_out for layer in d)])

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
            x = rec.forward(self, x, train)
        return x.copy() if copy else x

    __call__ = forward

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        """Backpropagate d loss / d logits; fills every ``Parameter.grad`` (overwrites)."""
        rec = self.recorder
        if rec is not None:
            return rec.backward(self, grad)
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
                "layers": [layer.config() for layer in self.layers]}

    def state(self) -> dict[str, np.ndarray]:
        return {f"layer{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.state().items()}

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
    initialisation scheme uses one (:data:`~actlab.nn.init.GAINED`); None = the scheme's default."""
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
    dt = check_dtype(dtype if dtype is not None
                     else (pairs[0][0].dtype if pairs[0][0].dtype.kind == "f" else np.float64))
    acts = [activations] * (len(pairs) - 1) if isinstance(activations, str) else list(activations)
    if len(acts) != len(pairs) - 1:
        raise ActlabError(f"{len(pairs)} weight pairs need {len(pairs) - 1} hidden activations. "
                          f"Got {len(acts)} instead.")
    layers: list[Layer] = []
    for i, (W, b) in enumerate(pairs):
        if W.ndim != 2 or (b is not None and b.shape != (W.shape[1],)):
            raise ActlabError(f"Weight pair {i + 1}: W must be 2-D (n_in, n_out) and b of shape (n_out,). "
                              f"Got W {W.shape}, b {None if b is None else b.shape} instead.")
        if i and W.shape[0] != pairs[i - 1][0].shape[1]:
            raise ActlabError(f"Weight pair {i + 1} takes {W.shape[0]} inputs but pair {i} gives "
                              f"{pairs[i - 1][0].shape[1]}.")
        d = Dense(W.shape[0], W.shape[1], init="zeros", dtype=dt, bias=b is not None)
        d.weight.value[...] = W
        if b is not None:
            d.bias.value[...] = b
        layers.append(d)
        if i < len(acts):
            layers.append(Activation(acts[i]))
    return Sequential(layers, output=output)


