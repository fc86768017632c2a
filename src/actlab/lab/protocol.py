"""Every message the page sends, as pydantic models with bounded sizes.

The page talks to the lab in two ways: plain HTTP requests (the Activations and Claims
views, the CSV upload) and one WebSocket per training session. Every WebSocket message
from the page is a JSON text of at most :data:`MAX_MESSAGE_BYTES` bytes that must parse as
one :data:`ClientMessage`; anything else is answered with an ``error`` message naming
the field, and the session goes on. Nothing from the page is ever evaluated: activation
specs go through the catalogue's parser (``ast`` literals only), numbers through range
checks, names through fixed lists.

>>> msg = parse_message('{"type": "step", "count": 3}')
>>> msg.type, msg.count
('step', 3)
>>> try:
...     parse_message('{"type": "config", "config": {"kind": "playground", "lr": 50}}')
... except ProtocolError as err:
...     print(err.field, "|", err.message)
config.lr | Input should be less than or equal to 10
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, ValidationError, field_validator

from ..catalogue import registry
from ..errors import ActlabError
from ..formula.parse import MAX_CHARS

__all__ = [
    "LIMITS", "MAX_MESSAGE_BYTES", "MAX_CSV_BYTES", "MAX_ROWS", "FEATURES", "INITS", "OPTIMIZERS",
    "PLAYGROUND_SETS", "Layer", "PlaygroundConfig", "MnistConfig", "ClientMessage", "ProtocolError",
    "parse_message", "hidden_activation",
]

#: The bounds the page and the server share (the page reads them from ``/api/limits``).
MAX_MESSAGE_BYTES = 64 * 1024
MAX_CSV_BYTES = 1024 * 1024
MAX_ROWS = 10_000
MAX_LAYERS = 8
MAX_UNITS = 32
MNIST_MAX_LAYERS = 3
MNIST_MAX_UNITS = 256
LR_RANGE = (1e-5, 10.0)
BATCH_RANGE = (1, 1000)
MNIST_BATCH_RANGE = (1, 1024)
SPEC_CHARS = MAX_CHARS  # a typed formula's limit

#: Input features of the Playground, in the order the network sees them.
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2")
#: Initialisers offered: engine names, plus "normal" whose std is the ``init_std`` field
#: (the tutorials' 0.01 and 1) and "playground" (uniform on [-0.5, 0.5], TF Playground's).
INITS = ("xavier_uniform", "xavier_normal", "he_normal", "he_uniform", "lecun_normal", "orthogonal", "normal",
         "playground", "zeros")
OPTIMIZERS = ("sgd", "momentum", "adam")
PLAYGROUND_SETS = ("circle", "xor", "gauss", "spiral", "moons", "plane", "multigauss")

LIMITS = {
    "max_message_bytes": MAX_MESSAGE_BYTES, "max_csv_bytes": MAX_CSV_BYTES, "max_rows": MAX_ROWS,
    "max_layers": MAX_LAYERS, "max_units": MAX_UNITS, "mnist_max_layers": MNIST_MAX_LAYERS,
    "mnist_max_units": MNIST_MAX_UNITS, "lr": LR_RANGE, "batch": BATCH_RANGE, "mnist_batch": MNIST_BATCH_RANGE,
    "features": FEATURES, "inits": INITS, "optimizers": OPTIMIZERS, "datasets": PLAYGROUND_SETS,
}


def hidden_activation(spec: str) -> str:
    """The canonical spec of a catalogue entry or a typed formula usable as a hidden layer,
    or ValueError (a formula's reason, when it does not build).

    Every entry is allowed except GLU, which halves its input (the layer after it would
    not match the units asked for); vector entries (softmax, ...) act along the layer.

    >>> hidden_activation("leaky_relu(slope=0.2)")
    'leaky_relu(slope=0.2)'
    >>> hidden_activation("prelu")
    'prelu(slope=0.25)'
    """
    if not isinstance(spec, str) or len(spec) > SPEC_CHARS:
        raise ValueError(f"an activation is a catalogue spec or a formula in x of at most {SPEC_CHARS} characters")
    try:
        bound = registry.get(spec)
    except ActlabError as err:
        raise ValueError(str(err)) from None
    if bound.name == "glu":
        raise ValueError("glu halves its input, so it cannot be a hidden layer of a given width; pick another entry")
    return bound.spec


Spec = Annotated[str, Field(max_length=SPEC_CHARS)]


class _Strict(BaseModel):
    # unknown keys are errors: a misspelt field must not be silently ignored
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Layer(_Strict):
    """One hidden layer: its width and its activation (a catalogue spec with parameters)."""

    units: int = Field(4, ge=1, le=MAX_UNITS)
    activation: Spec = "tanh"

    @field_validator("activation")
    @classmethod
    def _known(cls, v: str) -> str:
        return hidden_activation(v)


class MnistLayer(Layer):
    units: int = Field(64, ge=1, le=MNIST_MAX_UNITS)
    activation: Spec = "relu"


class _Training(_Strict):
    """The settings the Playground and MNIST share."""

    init: Literal[INITS] = "xavier_uniform"  # type: ignore[valid-type]
    init_std: float = Field(0.01, gt=0, le=10)
    optimizer: Literal[OPTIMIZERS] = "sgd"  # type: ignore[valid-type]
    lr: float = Field(0.03, ge=LR_RANGE[0], le=LR_RANGE[1])
    l1: float = Field(0.0, ge=0, le=10)
    l2: float = Field(0.0, ge=0, le=10)
    batchnorm: bool = False
    dropout: float = Field(0.0, ge=0, le=0.9)
    seed: int = Field(0, ge=0, le=2**31 - 1)

    @property
    def init_spec(self) -> str:
        """The engine's initialiser string for this choice."""
        if self.init == "normal":
            return f"normal(std={self.init_std!r})"
        if self.init == "playground":
            return "uniform(limit=0.5)"
        return self.init


class PlaygroundConfig(_Training):
    """One Playground run: data, features, network, training. Defaults: the Playground's."""

    kind: Literal["playground"] = "playground"
    dataset: str = Field("circle", max_length=40)
    n: int = Field(500, ge=10, le=MAX_ROWS)
    noise: float = Field(0.0, ge=0, le=0.5)
    train_frac: float = Field(0.5, ge=0.1, le=0.9)
    features: tuple[Literal[FEATURES], ...] = Field(("x1", "x2"), min_length=1, max_length=len(FEATURES))  # type: ignore[valid-type]
    layers: tuple[Layer, ...] = Field((Layer(units=4), Layer(units=2)), max_length=MAX_LAYERS)
    batch: int = Field(10, ge=BATCH_RANGE[0], le=BATCH_RANGE[1])

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, v: str) -> str:
        if v in PLAYGROUND_SETS:
            return v
        if v.startswith("csv:") and len(v) == 20 and all(c in "0123456789abcdef" for c in v[4:]):
            return v
        raise ValueError(f"the dataset is one of {', '.join(PLAYGROUND_SETS)} or 'csv:' and the 16 hex digits "
                         "of an uploaded file")

    @field_validator("features")
    @classmethod
    def _unique(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v):
            raise ValueError("each feature at most once")
        return tuple(f for f in FEATURES if f in v)  # one order, whatever the page sent


class MnistConfig(_Training):
    """One MNIST run: the tutorials' 784-64-10 network by default, up to 3 hidden layers."""

    kind: Literal["mnist"] = "mnist"
    layers: tuple[MnistLayer, ...] = Field((MnistLayer(),), max_length=MNIST_MAX_LAYERS)
    init: Literal[INITS] = "he_normal"  # type: ignore[valid-type]
    lr: float = Field(0.1, ge=LR_RANGE[0], le=LR_RANGE[1])
    batch: int = Field(64, ge=MNIST_BATCH_RANGE[0], le=MNIST_BATCH_RANGE[1])
    train_size: int = Field(60_000, ge=1000, le=60_000)


def _kind(value: object) -> object:
    # a config without "kind" is a Playground one (the page always says; curl users need not)
    if isinstance(value, dict):
        return value.get("kind", "playground")
    return getattr(value, "kind", None)


RunConfig = Annotated[Annotated[PlaygroundConfig, Tag("playground")] | Annotated[MnistConfig, Tag("mnist")],
                      Discriminator(_kind)]


class ConfigMessage(_Strict):
    """Build (or rebuild) the session's run: paused at step 0 until ``play`` or ``step``."""

    type: Literal["config"]
    config: RunConfig


class PlayMessage(_Strict):
    type: Literal["play"]


class PauseMessage(_Strict):
    type: Literal["pause"]


class StepMessage(_Strict):
    """Train ``count`` log intervals (Playground: epochs; MNIST: 50 steps), then pause."""

    type: Literal["step"]
    count: int = Field(1, ge=1, le=1000)


class ResetMessage(_Strict):
    """Back to step 0 with the same seed: the same initial weights, data and batches."""

    type: Literal["reset"]


ClientMessage = Annotated[ConfigMessage | PlayMessage | PauseMessage | StepMessage | ResetMessage,
                          Field(discriminator="type")]
_ADAPTER: TypeAdapter = TypeAdapter(ClientMessage)
_TYPES = ("config", "play", "pause", "step", "reset")
_KINDS = ("playground", "mnist")


class ProtocolError(ValueError):
    """A message the lab refuses, with the field it is about (dotted path) and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"type": "error", "field": self.field, "message": self.message}


def _first_error(err: ValidationError) -> ProtocolError:
    e = err.errors(include_url=False)[0]
    # pydantic puts the tags of the discriminated unions into the path
    # (config.config.playground.lr): keep the fields only (config.lr)
    loc = [str(p) for p in e["loc"]]
    if loc and loc[0] in _TYPES:
        loc = loc[1:]
    loc = [p for i, p in enumerate(loc) if not (p in _KINDS and (i == 0 or loc[i - 1] == "config"))]
    field = ".".join(loc)
    msg = e["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return ProtocolError(field, msg)


def parse_message(text: str | bytes) -> ClientMessage:
    """One message from the page, validated; :class:`ProtocolError` if it is refused."""
    if isinstance(text, (bytes, bytearray)):
        raise ProtocolError("", "messages are JSON text, not binary")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise ProtocolError("", f"the message is longer than {MAX_MESSAGE_BYTES // 1024} KB")
    try:
        return _ADAPTER.validate_json(text)
    except ValidationError as err:
        raise _first_error(err) from None


def parse_config(data: dict) -> PlaygroundConfig | MnistConfig:
    """A run configuration from a dict (as in a config message), validated."""
    try:
        return TypeAdapter(RunConfig).validate_python(data)
    except ValidationError as err:
        raise _first_error(err) from None

