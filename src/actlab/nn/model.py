"""Models: :class:`Sequential`, and the builders :func:`mlp`, :func:`from_architecture`
and :func:`from_weights`.

All parameters of a :class:`Sequential` are views into one flat array (and their
gradients into another), so an optimiser step is a handful of whole-array operations.
The network returns logits: the output activation is fused into the loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._memory import MemoryEstimate, check_memory
from ..catalogue import registry
from ..errors import ActlabError, check_int, check_real, shorten, unknown
from .init import GAINED, as_rng, check_dtype, parse_init
from .layers import LAYER_TYPES, Activation, BatchNorm, Dense, Dropout, Layer, Parameter, PReLU

IDENTITY_NAMES = ("identity", "linear", "none")
#: the format of :meth:`Sequential.architecture` records
FORMAT = "actlab.nn/1"
#: the arguments each layer type takes in an architecture record (name -> required)
LAYER_ARGS: dict[str, dict[str, bool]] = {
    "Dense": {"n_in": True, "n_out": True, "bias": False},
    "Activation": {"spec": True, "derivative_at_zero": False, "formula": False},
    "PReLU": {"n": True, "shared": False, "init": False},
    "BatchNorm": {"n": True, "momentum": False, "eps": False},
    "Dropout": {"p": True},
}


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
        return {"format": FORMAT, "output": self.output, "dtype": str(self.dtype),
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
    bad = ActlabError(f"An architecture is sizes joined by '-', e.g. '784-64-10'. Got {shorten(arch)} instead.")
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


def _width_after(bound: registry.Bound, n: int, where: str) -> int:
    """The width after a hidden activation fed ``n`` units: ``n``, or what a vector entry
    that changes it gives (glu: n / 2)."""
    shape_of = bound.definition.out_shape
    if shape_of is None:
        return n
    try:
        return int(shape_of((1, n))[-1])
    except ActlabError as err:
        raise ActlabError(f"{where} has {n} units, which {bound.spec} cannot take ({str(err).rstrip('.')}); "
                          f"{bound.spec} changes the width and the next layer takes its output width.") from None


def _mlp_plan(arch: str | Sequence[int], activation: str | Sequence[str], output: str | None,
              dropout: float, dtype: Any) -> dict[str, Any]:
    """Everything :func:`mlp` checks before drawing a weight (nothing is allocated)."""
    sizes = parse_arch(arch)
    n_hidden = len(sizes) - 2
    acts = [activation] * n_hidden if isinstance(activation, str) else list(activation)
    if len(acts) != n_hidden:
        raise ActlabError(
            f"mlp {'-'.join(map(str, sizes))} has {n_hidden} hidden layers: give one activation or {n_hidden}. "
            f"Got {len(acts)} instead."
        )
    dt = check_dtype(dtype)
    dropout = check_real(dropout, "dropout", "mlp", 0, 1, high_open=True)
    out_spec = None if output is None or output in IDENTITY_NAMES else registry.get(output).spec
    bounds = [None if a == "prelu" else registry.get(a) for a in acts]
    name = "-".join(map(str, sizes))
    # the width each hidden activation passes on: its layer's size, or half of it after glu
    widths = [sizes[i + 1] if b is None else _width_after(b, sizes[i + 1], f"mlp {name}: hidden layer {i + 1}")
              for i, b in enumerate(bounds)]
    return {"sizes": sizes, "acts": acts, "bounds": bounds, "widths": widths, "dtype": dt, "dropout": dropout,
            "out_spec": out_spec}


def mlp_architecture(
    arch: str | Sequence[int],
    *,
    activation: str | Sequence[str] = "relu",
    output: str | None = "softmax",
    batchnorm: bool = False,
    dropout: float = 0.0,
    dtype: Any = np.float32,
) -> dict[str, Any]:
    """The architecture record of ``mlp(arch, ...)`` (what :meth:`Sequential.architecture`
    returns), computed without building the model: what :func:`memory_estimate` sizes.

    >>> [layer["type"] for layer in mlp_architecture("4-8-3", batchnorm=True)["layers"]]
    ['Dense', 'BatchNorm', 'Activation', 'Dense']
    """
    plan = _mlp_plan(arch, activation, output, dropout, dtype)
    sizes, widths = plan["sizes"], plan["widths"]
    layers: list[dict[str, Any]] = []
    for i in range(len(sizes) - 1):
        n_in = sizes[0] if i == 0 else widths[i - 1]
        layers.append({"type": "Dense", "n_in": n_in, "n_out": sizes[i + 1], "bias": True})
        if i == len(sizes) - 2:
            break
        n = sizes[i + 1]
        if batchnorm:
            layers.append({"type": "BatchNorm", "n": n, "momentum": 0.9, "eps": 1e-5})
        b = plan["bounds"][i]
        layers.append({"type": "PReLU", "n": n, "shared": False, "init": 0.25} if b is None
                      else {"type": "Activation", "spec": b.spec})
        if plan["dropout"] > 0:
            layers.append({"type": "Dropout", "p": plan["dropout"]})
    return {"format": FORMAT, "output": "identity" if plan["out_spec"] is None else plan["out_spec"],
            "dtype": str(plan["dtype"]), "layers": layers}


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
    max_memory: int | str | None = None,
) -> Sequential:
    """A multilayer perceptron: [Dense, (BatchNorm), activation, (Dropout)] per hidden
    layer, then a Dense output layer giving logits.

    ``activation`` is one spec or one per hidden layer ("prelu" makes a PReLU layer).
    He/orthogonal initialisation takes its gain from the registry entry of the activation
    after each Dense layer (``actlab.get(spec).gain``; sqrt(2) for ReLU, 1 for the output
    layer's softmax); ``gain=`` overrides it everywhere.

    A vector activation that changes the width passes its output width on: with glu
    (which gates one half of its input with the other) ``"784-64-10"`` is Dense 784->64,
    glu -> 32 units, Dense 32->10, and every glu layer needs an even size.

    The memory the model needs is estimated first (:func:`memory_estimate`) and an
    architecture that does not fit ``max_memory`` (bytes or e.g. ``"4G"``; default: the
    memory available) is refused before anything is allocated.

    >>> mlp("784-64-10")
    Sequential([
      Dense(n_in=784, n_out=64, bias=True),
      Activation(spec='relu'),
      Dense(n_in=64, n_out=10, bias=True)
    ], output='softmax')
    """
    plan = _mlp_plan(arch, activation, output, dropout, dtype)
    sizes, acts, bounds, widths, dt = plan["sizes"], plan["acts"], plan["bounds"], plan["widths"], plan["dtype"]
    n_hidden, dropout, out_spec = len(sizes) - 2, plan["dropout"], plan["out_spec"]
    kind, _ = parse_init(init)
    bias_init = check_real(bias_init, "bias_init", "mlp")
    est = memory_estimate(mlp_architecture(sizes, activation=acts, output=output, batchnorm=batchnorm,
                                           dropout=dropout, dtype=dt), build=True)
    check_memory(est, f"mlp {'-'.join(map(str, sizes))} ({dt})", max_memory,
                 "use smaller layers, or pass max_memory= to set the budget")
    # validate everything before drawing anything
    rng = as_rng(seed)
    layers: list[Layer] = []
    for i in range(n_hidden + 1):
        n_in, n_out = sizes[0] if i == 0 else widths[i - 1], sizes[i + 1]
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


# --------------------------------------------------------------------------- architecture records


def _formula_record(v: Any, where: str) -> dict[str, Any]:
    """The ``formula`` of an Activation record (a named formula the model uses): its name,
    text and parameter defaults, checked; it is defined again when the record is read."""
    if not (isinstance(v, dict) and set(v) == {"name", "formula", "defaults"} and isinstance(v["name"], str)
            and isinstance(v["formula"], str) and isinstance(v["defaults"], dict)
            and all(isinstance(k, str) for k in v["defaults"])):
        raise ActlabError(f"The 'formula' parameter of {where} must be an object with 'name', 'formula' and "
                          f"'defaults'. Got {shorten(v)} instead.")
    defaults = {k: check_real(x, k, f"the formula of {where}") for k, x in v["defaults"].items()}
    return {"name": v["name"], "formula": v["formula"], "defaults": defaults}


def _arg(cfg: dict[str, Any], key: str, where: str, kind: str) -> Any:
    """One argument of a layer record, checked to be of ``kind`` ("size", "bool", "real", "str", "formula")."""
    v = cfg[key]
    if v is None and key == "derivative_at_zero":
        return None
    if kind == "formula":
        return _formula_record(v, where)
    expected = {"size": "a positive int", "bool": "true or false", "str": "a string", "real": "a finite number"}[kind]
    ok = {"size": isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 2**62,
          "bool": isinstance(v, bool), "str": isinstance(v, str),
          "real": isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) <= 1e300}[kind]
    if not ok:
        raise ActlabError(f"The {key!r} parameter of {where} must be {expected}. Got {shorten(v)} instead.")
    return check_real(v, key, where) if kind == "real" else v


_ARG_KINDS = {"n_in": "size", "n_out": "size", "n": "size", "bias": "bool", "shared": "bool", "spec": "str",
              "derivative_at_zero": "real", "init": "real", "momentum": "real", "eps": "real", "p": "real",
              "formula": "formula"}


def check_architecture(arch: Any) -> dict[str, Any]:
    """A validated copy of an architecture record (:meth:`Sequential.architecture`): known
    keys and layer types, the arguments each layer takes and nothing else, sizes that fit
    together (each layer takes the width the one before gives), at least one Dense layer.
    Every fault is one ActlabError; nothing is allocated.
    """
    if not isinstance(arch, dict):
        raise ActlabError(f"An architecture record is a JSON object. Got {shorten(arch)} instead.")
    extra = sorted(set(arch) - {"format", "output", "dtype", "layers"}, key=str)
    if extra:
        raise unknown("key of the architecture record", shorten(extra[0]), ["format", "output", "dtype", "layers"])
    if arch.get("format", FORMAT) != FORMAT:
        raise ActlabError(f"The architecture record has format {shorten(arch['format'])}; this actlab reads "
                          f"{FORMAT!r}.")
    dtype = arch.get("dtype", "float32")
    if not isinstance(dtype, str):
        raise ActlabError(f"The dtype of an architecture record is 'float32' or 'float64'. Got {shorten(dtype)}.")
    dt = check_dtype(dtype)
    output = arch.get("output", "softmax")
    if output is not None and not isinstance(output, str):
        raise ActlabError(f"The output of an architecture record is an activation spec. Got {shorten(output)}.")
    output = "identity" if output is None or output in IDENTITY_NAMES else registry.get(output).spec
    layers = arch.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ActlabError(f"The architecture record needs a non-empty list of layers. Got {shorten(layers)} instead.")
    out: list[dict[str, Any]] = []
    width: int | None = None
    for i, cfg in enumerate(layers):
        if not isinstance(cfg, dict):
            raise ActlabError(f"Layer {i} of the architecture record is not a JSON object: {shorten(cfg)}.")
        kind = cfg.get("type")
        if not isinstance(kind, str) or kind not in LAYER_ARGS:
            raise unknown("layer type", shorten(kind), LAYER_ARGS)
        where = f"layer {i} ({kind})"
        allowed = LAYER_ARGS[kind]
        for key in cfg:
            if key != "type" and key not in allowed:
                raise unknown("argument", shorten(key), allowed, owner=where)
        missing = [k for k, required in allowed.items() if required and k not in cfg]
        if missing:
            raise ActlabError(f"The architecture record's {where} has no {missing[0]!r}.")
        c: dict[str, Any] = {"type": kind, **{k: _arg(cfg, k, where, _ARG_KINDS[k]) for k in allowed if k in cfg}}
        if kind == "Dense":
            if width is not None and c["n_in"] != width:
                raise ActlabError(f"The architecture record's {where} takes {c['n_in']} inputs but the layer "
                                  f"before gives {width}.")
            width = c["n_out"]
        elif kind == "Activation":
            if "formula" in c:  # a named formula: define it (again) before its spec is read
                from .. import formula

                rec = c["formula"]
                formula.define(rec["formula"], name=rec["name"], **rec["defaults"])
            bound = registry.get(c["spec"])
            c["spec"] = bound.spec
            if width is not None:
                width = _width_after(bound, width, f"The architecture record's {where}: its input")
            elif bound.definition.out_shape is not None:
                raise ActlabError(f"The architecture record's {where}: {bound.spec} changes the width, so a layer "
                                  f"of known size must come before it.")
        elif kind in ("PReLU", "BatchNorm"):
            if width is not None and c["n"] != width:
                raise ActlabError(f"The architecture record's {where} has {c['n']} units but the layer before "
                                  f"gives {width}.")
            width = c["n"]
        elif not 0 <= c["p"] < 1:
            raise ActlabError(f"The 'p' parameter of {where} must be a float in the range [0, 1). "
                              f"Got {c['p']!r} instead.")
        out.append(c)
    if not any(c["type"] == "Dense" for c in out):
        raise ActlabError("The architecture record has no Dense layer: a model needs at least one.")
    return {"format": FORMAT, "output": output, "dtype": str(dt), "layers": out}


def state_shapes(arch: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The arrays :meth:`Sequential.state` holds for a (validated) architecture record,
    name -> shape, as :func:`~actlab.nn.persist.save` writes them."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, c in enumerate(arch["layers"]):
        if c["type"] == "Dense":
            shapes[f"layer{i}.W"] = (c["n_in"], c["n_out"])
            if c.get("bias", True):
                shapes[f"layer{i}.b"] = (c["n_out"],)
        elif c["type"] == "PReLU":
            shapes[f"layer{i}.alpha"] = (1 if c.get("shared", False) else c["n"],)
        elif c["type"] == "BatchNorm":
            for k in ("gamma", "beta", "running_mean", "running_var"):
                shapes[f"layer{i}.{k}"] = (c["n"],)
    return shapes


def arch_name(arch: dict[str, Any]) -> str:
    """``"784-64-10"``: the Dense sizes of a (validated) architecture record."""
    dense = [c for c in arch["layers"] if c["type"] == "Dense"]
    return "-".join(str(n) for n in [dense[0]["n_in"], *(c["n_out"] for c in dense)])


# --------------------------------------------------------------------------- memory

#: per layer: the Python objects (layer, buffers dictionaries, a Dropout generator)
LAYER_OVERHEAD = 8 * 2**10
#: per training step: the step-loss record, its copy in the History, its JSON
STEP_BYTES = 72
#: optimiser arrays per parameter: SGD's step buffer, + velocity (momentum), + Nesterov's
_OPT_ARRAYS = {None: 0, "sgd": 1, "momentum": 2, "nesterov": 3, "adam": 4}


def _row_items(arch: dict[str, Any], train: bool) -> float:
    """Array entries the layers (and the loss) keep per row of a batch."""
    items, width, first = 0.0, None, True
    size = np.dtype(arch["dtype"]).itemsize
    for c in arch["layers"]:
        kind = c["type"]
        if kind == "Dense":
            items += c["n_out"] + (1 if train else 0)  # y, the ones of the bias gradient
            if train and not first:
                items += c["n_in"]  # gx
            first, width = False, c["n_out"]
            continue
        w = width or c.get("n", 0)
        if kind == "Activation":
            bound = registry.get(c["spec"])
            out = _width_after(bound, w, "") if w else w
            items += out + (w if bound.definition.vector else 0) + (2 * w if train else 0)
            width = out
        elif kind == "PReLU":
            items += w + w / size + (2 * w if train else 0)  # y, the bool mask; tmp, gx
        elif kind == "BatchNorm":
            items += 2 * w + (w + 1 if train else 0)  # xhat, y; gx, ones
        elif kind == "Dropout" and train:
            items += 3 * w  # mask, y, gx
    return items + 2 * (width or 0) + 9  # the loss: probabilities, transposed logits, row vectors


def memory_estimate(
    arch: Sequential | dict[str, Any],
    *,
    batch_size: int = 0,
    n_train: int = 0,
    n_eval: int = 0,
    optimizer: str | None = None,
    momentum: float = 0.0,
    epochs: int = 1,
    max_steps: int | None = None,
    eval_batch: int = 2000,
    checkpoint: bool = False,
    build: bool = False,
) -> MemoryEstimate:
    """Bytes a model, its training or its evaluation needs at the peak, by part, from the
    architecture alone (a :class:`Sequential` or its :meth:`~Sequential.architecture`
    record; nothing is allocated):

    * ``parameters`` (and BatchNorm's running statistics), ``gradients``, ``layers`` (the
      Python objects), with ``build=True`` the ``construction`` copies (the per-layer
      arrays before they are packed into one flat array, and the float64 draw of the
      biggest weight matrix);
    * ``optimiser``: its arrays per parameter (``optimizer`` "sgd", "momentum",
      "nesterov" or "adam"; "sgd" with ``momentum`` > 0 counts as "momentum");
    * ``layer buffers``: what the layers and the loss keep per batch shape (a full and a
      last partial batch of ``batch_size`` rows for training, chunks of ``eval_batch``
      rows for the ``n_eval`` held-out or evaluated examples), and the ``batch`` buffer;
    * ``data``: ``n_train`` + ``n_eval`` rows in the model's dtype and int64 labels;
    * ``history``: per training step (``epochs`` epochs, at most ``max_steps``), and with ``checkpoint`` the
      serialised checkpoint (model, optimiser state, step losses, twice: the archive and
      its bytes).

    >>> est = memory_estimate(mlp_architecture("784-100000000-10"), optimizer="sgd")
    >>> est.describe()
    'about 888.5 GiB (parameters 296.2 GiB, gradients 296.2 GiB, optimiser 296.2 GiB, ...)'
    """
    a = check_architecture(arch.architecture() if isinstance(arch, Sequential) else arch)
    size = np.dtype(a["dtype"]).itemsize
    shapes = state_shapes(a)
    n_values = sum(math.prod(s) for s in shapes.values())
    n_stats = sum(math.prod(s) for k, s in shapes.items() if k.endswith(("running_mean", "running_var")))
    n_params = n_values - n_stats
    n_in = next(c["n_in"] for c in a["layers"] if c["type"] == "Dense")
    est = MemoryEstimate()
    est.add("parameters", n_values * size)
    est.add("gradients", n_params * size)
    est.add("layers", LAYER_OVERHEAD * len(a["layers"]))
    if build:
        biggest = max((math.prod(s) for s in shapes.values()), default=0)
        est.add("construction", n_params * size + 8 * biggest)
    opt = "momentum" if optimizer == "sgd" and momentum else optimizer
    if opt not in _OPT_ARRAYS:
        raise ActlabError(f"memory_estimate: unknown optimizer {shorten(opt)}; one of sgd, momentum, nesterov, adam.")
    opt_bytes = _OPT_ARRAYS[opt] * n_params * size
    est.add("optimiser", opt_bytes)
    batch_size, n_train, n_eval = int(batch_size), int(n_train), int(n_eval)
    steps = 0
    if batch_size > 0:
        rows = min(batch_size, n_train) if n_train else batch_size
        last = n_train % rows if n_train else 0
        est.add("layer buffers", (rows + last) * _row_items(a, True) * size)
        est.add("batch", rows * (n_in * size + 8))
        steps = math.ceil(n_train / rows) * max(int(epochs), 1) if n_train else 0
        if max_steps is not None:
            steps = min(steps, int(max_steps))
    if n_eval:
        chunk = min(eval_batch, n_eval)
        est.add("layer buffers", (chunk + n_eval % chunk) * _row_items(a, False) * size)
    est.add("data", (n_train + n_eval) * (n_in * size + 8))
    est.add("history", STEP_BYTES * steps)
    if checkpoint and batch_size > 0:
        est.add("checkpoint", 2 * (n_values * size + opt_bytes + 8 * steps))
    return est


def from_architecture(arch: dict[str, Any], dtype: Any = None, max_memory: int | str | None = None) -> Sequential:
    """Rebuild a model (fresh weights) from :meth:`Sequential.architecture`.

    The record is validated first (:func:`check_architecture`: every fault is one
    ActlabError) and the model's memory estimated: one that does not fit ``max_memory``
    (default: the memory available) is refused before anything is allocated."""
    a = check_architecture(arch)
    dt = check_dtype(dtype if dtype is not None else a["dtype"])
    a["dtype"] = str(dt)
    check_memory(memory_estimate(a, build=True), f"the model {arch_name(a)} ({dt})", max_memory,
                 "pass max_memory= to set the budget")
    layers: list[Layer] = []
    for cfg in a["layers"]:
        cfg = dict(cfg)
        kind = cfg.pop("type")
        if kind == "Dense":
            layers.append(Dense(cfg["n_in"], cfg["n_out"], init="zeros", dtype=dt, bias=cfg.get("bias", True)))
        elif kind == "Activation":
            layers.append(Activation(cfg["spec"], derivative_at_zero=cfg.get("derivative_at_zero")))
        else:
            layers.append(LAYER_TYPES[kind](**cfg, dtype=dt))
    return Sequential(layers, output=a["output"])


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


