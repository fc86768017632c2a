"""Diagnostics of a network's hidden units: dead units, saturation, gradient norms.

The definitions (printed by :func:`definitions`, shown in every report that uses them):

* **dead unit**: a hidden unit whose activation derivative is (near) zero on *every*
  probe sample, max over samples of |f'(z)| <= ``dead_eps`` (default 1e-3), where z is the
  unit's pre-activation. Such a unit passes back no gradient, so the weights feeding it
  receive none: on the probe set it cannot learn. For ReLU, f'(z) is 0 or 1, so this is
  exactly "the output is 0 on every sample" (z <= 0 everywhere, f'(0) = 0); for leaky ReLU
  and PReLU f' >= slope on the negative side, so a unit is dead only if the slope is below
  ``dead_eps``; for ELU (f' = alpha e^z) it means z <= ln(dead_eps / alpha) everywhere
  (about -6.9); for sigmoid / tanh it means |z| is large on every sample. The layer's own
  derivative is used, including an overridden f'(0) (``nn.Activation(derivative_at_zero=)``)
  and PReLU's learned slopes.
* **inactive unit**: z <= 0 on every probe sample (the negative regime everywhere). For
  ReLU this is the same set as the dead units; for leaky ReLU / PReLU / ELU such a unit
  still learns through its non-zero negative-side slope, which is how it can recover.
* **saturated unit**: |f'(z)| < ``sat_eps`` (default 0.01) on at least a fraction
  ``sat_most`` (default 0.9) of the probe samples: the sigmoid / tanh tails, where the
  gradient is mostly squashed without being exactly zero.
* **gradient flags** (:func:`gradient_summary`): the norm of dL/dW of each Dense layer,
  relative to the last (output) layer's: below 1e-2 the layer's gradient *vanishes*, above
  1e2 it *explodes* (two decades either way, as in the vanishing-gradient experiment).

Inputs are a model plus data (forward passes in evaluation mode, in chunks, through
:class:`actlab.nn.Recorder`) or a Recorder that kept full pre-activation arrays
(``summary=False``), e.g. one attached during training.

>>> import numpy as np
>>> from actlab import nn
>>> model = nn.mlp("3-4-2", activation="relu", seed=0)
>>> model.dense_layers[0].b[:] = [-100.0, 0.0, 0.0, 0.0]   # unit 0 can never be positive
>>> X = np.random.default_rng(0).uniform(-1, 1, size=(64, 3)).astype(np.float32)
>>> rep = dead_units(model, X)
>>> rep[0].dead.tolist(), rep[0].dead_frac
([True, False, False, False], 0.25)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ActlabError, check_int, check_real
from .hooks import record
from .layers import Activation, PReLU
from .losses import loss_for

__all__ = ["LayerUnits", "GradientLayer", "DEAD_EPS", "SAT_EPS", "SAT_MOST", "definitions", "unit_derivative",
           "dead_units", "from_recorder", "gradient_summary", "format_units", "format_gradients"]

DEAD_EPS = 1e-3
SAT_EPS = 0.01
SAT_MOST = 0.9
VANISH, EXPLODE = 1e-2, 1e2


def definitions(dead_eps: float = DEAD_EPS, sat_eps: float = SAT_EPS, sat_most: float = SAT_MOST) -> str:
    """The definitions used, in one paragraph (for reports and the CLI)."""
    return (f"A unit is dead if |f'(z)| <= {dead_eps:g} on every probe sample (ReLU: its output is exactly 0 on "
            f"every sample); inactive if z <= 0 on every sample; saturated if |f'(z)| < {sat_eps:g} on at least "
            f"{sat_most:.0%} of the samples. z is the unit's pre-activation, f' the layer's own derivative "
            f"(overridden f'(0) and PReLU's learned slopes included).")


@dataclass
class LayerUnits:
    """Per-unit statistics of one hidden nonlinearity over the probe samples."""

    layer: int  # index of the hidden nonlinearity (0 = first hidden layer)
    spec: str
    samples: int
    dead: np.ndarray  # bool per unit
    inactive: np.ndarray  # bool per unit: z <= 0 on every sample
    saturated: np.ndarray  # bool per unit
    frac_zero_out: float  # fraction of (sample, unit) entries with f'(z) exactly 0
    max_abs_df: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))

    @property
    def units(self) -> int:
        return int(self.dead.size)

    @property
    def dead_frac(self) -> float:
        return float(self.dead.mean()) if self.dead.size else 0.0

    @property
    def inactive_frac(self) -> float:
        return float(self.inactive.mean()) if self.inactive.size else 0.0

    @property
    def saturated_frac(self) -> float:
        return float(self.saturated.mean()) if self.saturated.size else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "spec": self.spec, "units": self.units, "samples": self.samples,
                "dead_frac": self.dead_frac, "inactive_frac": self.inactive_frac,
                "saturated_frac": self.saturated_frac, "frac_zero_derivative": self.frac_zero_out}


def _hidden_layers(model) -> list:
    return list(model.activation_layers)


def unit_derivative(layer, z: np.ndarray) -> np.ndarray:
    """|f'(z)| of a hidden nonlinearity (an ``nn.Activation`` or ``nn.PReLU``) at ``z``.

    Uses the registry's derivative (never a re-written formula), the layer's
    ``derivative_at_zero`` override, and PReLU's current slopes.
    """
    z = np.asarray(z)
    if isinstance(layer, PReLU):
        return np.where(z > 0, np.ones((), z.dtype), np.abs(layer.alpha.value).astype(z.dtype))
    if not isinstance(layer, Activation) or layer.vector:
        raise ActlabError(f"Unit diagnostics need an elementwise hidden activation. Got {layer!r} instead.")
    with np.errstate(all="ignore"):
        d = np.abs(layer.act.df(z))
    if layer.derivative_at_zero is not None:
        d[z == 0] = abs(layer.derivative_at_zero)
    return d


class _Acc:
    """Running per-unit counts for one layer, fed chunk by chunk."""

    def __init__(self, layer, index: int, dead_eps: float, sat_eps: float) -> None:
        self.layer, self.index = layer, index
        self.dead_eps, self.sat_eps = dead_eps, sat_eps
        self.n = 0
        self.max_df: np.ndarray | None = None
        self.max_z: np.ndarray | None = None
        self.sat_count: np.ndarray | None = None
        self.zero_df = 0

    def add(self, z: np.ndarray) -> None:
        z = np.asarray(z)
        z = z.reshape(-1, z.shape[-1])
        d = unit_derivative(self.layer, z)
        mz, md = z.max(axis=0), np.nan_to_num(d, nan=np.inf).max(axis=0)
        sat = np.count_nonzero(d < self.sat_eps, axis=0)
        if self.max_df is None:
            self.max_df, self.max_z, self.sat_count = md, mz, sat
        else:
            np.maximum(self.max_df, md, out=self.max_df)
            np.maximum(self.max_z, mz, out=self.max_z)
            self.sat_count += sat
        self.zero_df += int(np.count_nonzero(d == 0))
        self.n += z.shape[0]

    def result(self, sat_most: float) -> LayerUnits:
        if self.n == 0 or self.max_df is None:
            raise ActlabError("No probe samples were given: the diagnostics need at least one input row.")
        units = self.max_df.size
        return LayerUnits(
            layer=self.index, spec=getattr(self.layer, "spec", "prelu"), samples=self.n,
            dead=self.max_df <= self.dead_eps, inactive=self.max_z <= 0,
            saturated=self.sat_count >= sat_most * self.n,
            frac_zero_out=self.zero_df / (self.n * units), max_abs_df=self.max_df.astype(np.float64),
        )


def _check(dead_eps: float, sat_eps: float, sat_most: float) -> None:
    check_real(dead_eps, "dead_eps", "the unit diagnostics", 0)
    check_real(sat_eps, "sat_eps", "the unit diagnostics", 0)
    check_real(sat_most, "sat_most", "the unit diagnostics", 0, 1, low_open=True)


def dead_units(model, X: Any, *, dead_eps: float = DEAD_EPS, sat_eps: float = SAT_EPS, sat_most: float = SAT_MOST,
               batch_size: int = 2048) -> list[LayerUnits]:
    """Dead / inactive / saturated units of every hidden layer of ``model`` over the probe
    inputs ``X`` (evaluation mode: BatchNorm uses its running statistics, no dropout).

    Runs in chunks of ``batch_size`` rows through a :class:`actlab.nn.Recorder`, so memory
    stays bounded; the model's parameter gradients are not touched.
    """
    _check(dead_eps, sat_eps, sat_most)
    batch_size = check_int(batch_size, "batch_size", "dead_units", low=1)
    X = model._as_input(X)
    accs = [_Acc(layer, k, dead_eps, sat_eps) for k, layer in enumerate(_hidden_layers(model))]
    if not accs:
        raise ActlabError(f"The model {model.arch} has no hidden nonlinearity to diagnose.")
    with np.errstate(all="ignore"):
        for i in range(0, len(X), batch_size):
            with record(model, what=("pre",), summary=False) as rec:
                model.forward(X[i:i + batch_size], train=False, copy=False)
            for acc, r in zip(accs, rec.records[-1]):
                acc.add(r["pre"])
    return [a.result(sat_most) for a in accs]


def from_recorder(rec, *, dead_eps: float = DEAD_EPS, sat_eps: float = SAT_EPS, sat_most: float = SAT_MOST,
                  steps: Iterable[int] | None = None) -> list[LayerUnits]:
    """The same statistics from a Recorder that kept full pre-activations
    (``nn.Recorder(model, what=("pre",), summary=False)``): every recorded batch (or those
    at the record indices ``steps``) counts as probe samples. The derivative is evaluated
    with the layers' *current* parameters (matters only for PReLU's learned slopes)."""
    _check(dead_eps, sat_eps, sat_most)
    if "pre" not in rec.what or rec.summary:
        raise ActlabError("from_recorder needs a Recorder with what=('pre', ...) and summary=False "
                          "(full pre-activation arrays).")
    if not rec.records:
        raise ActlabError("The Recorder holds no records yet: run a forward pass with it attached.")
    accs = [_Acc(layer, k, dead_eps, sat_eps) for k, layer in enumerate(_hidden_layers(rec.model))]
    idx = range(len(rec.records)) if steps is None else list(steps)
    for s in idx:
        for acc, r in zip(accs, rec.records[s]):
            acc.add(r["pre"])
    return [a.result(sat_most) for a in accs]


@dataclass
class GradientLayer:
    """Norm of dL/dW of one Dense layer and its flag relative to the output layer."""

    layer: int  # Dense layer index (0 = first)
    norm: float
    ratio: float  # norm / norm of the last Dense layer
    flag: str  # "ok", "vanishing", "exploding", "non-finite", "zero"

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "norm": self.norm, "ratio": self.ratio, "flag": self.flag}


def _flag(norm: float, ratio: float) -> str:
    if not math.isfinite(norm) or not math.isfinite(ratio):
        return "non-finite"
    if norm == 0.0:
        return "zero"
    if ratio < VANISH:
        return "vanishing"
    if ratio > EXPLODE:
        return "exploding"
    return "ok"


def gradient_summary(model, X: Any = None, y: Any = None, loss=None, *, norms: Sequence[float] | None = None
                     ) -> list[GradientLayer]:
    """Per-Dense-layer ||dL/dW|| with vanishing / exploding flags.

    Either from one forward/backward pass on (``X``, ``y``) in training mode (this
    overwrites the model's parameter gradients, nothing else), or from given ``norms``
    (e.g. a Recorder's ``rec.series("grad_W", "norm")[step]`` plus the output layer's).
    A layer is *vanishing* if its norm is below 1e-2 times the output layer's, *exploding*
    above 1e2 times.

    >>> gradient_summary(None, norms=[1e-5, 0.5, 1.0])[0].flag
    'vanishing'
    """
    if norms is None:
        if X is None or y is None:
            raise ActlabError("gradient_summary needs data (X, y) or the gradient norms.")
        loss = loss if loss is not None else loss_for(model.output)
        Xc = model._as_input(X)
        with np.errstate(all="ignore"):
            loss.forward(model.forward(Xc, train=True, copy=False), np.asarray(y))
            model.backward(loss.backward())
        norms = [float(np.linalg.norm(d.weight.grad.astype(np.float64))) for d in model.dense_layers]
    norms = [float(v) for v in norms]
    if not norms:
        raise ActlabError("gradient_summary got no layers.")
    last = norms[-1]
    out = []
    for k, v in enumerate(norms):
        with np.errstate(all="ignore"):
            ratio = v / last if last != 0 else (math.inf if v else math.nan)
        out.append(GradientLayer(k, v, float(ratio), _flag(v, ratio)))
    return out


def format_units(reports: Sequence[LayerUnits]) -> str:
    """A fixed-width table: one row per hidden layer."""
    lines = [f"{'layer':>5}  {'activation':24s} {'units':>5}  {'dead':>7}  {'inactive':>8}  {'saturated':>9}"]
    for r in reports:
        lines.append(f"{r.layer + 1:5d}  {r.spec:24s} {r.units:5d}  {r.dead_frac:7.1%}  {r.inactive_frac:8.1%}  "
                     f"{r.saturated_frac:9.1%}")
    return "\n".join(lines)


def format_gradients(layers: Sequence[GradientLayer]) -> str:
    lines = [f"{'dense':>5}  {'||dL/dW||':>10}  {'/ output':>9}  flag"]
    for g in layers:
        lines.append(f"{g.layer + 1:5d}  {g.norm:10.3g}  {g.ratio:9.3g}  {g.flag}")
    return "\n".join(lines)
