"""Weight initialisers, and the engine's conventions for seeds and dtypes.

Randomness comes only from a ``seed`` (an int or an ``np.random.Generator``): the same seed
gives bit-identical weights. The engine computes in float32 or float64.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..catalogue.registry import parse_spec
from ..errors import ActlabError, check_choice, check_real, unknown

Seed = int | np.random.Generator | None


def as_rng(seed: Seed) -> np.random.Generator:
    """``np.random.default_rng(seed)``, passing a Generator through unchanged."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool):
        raise ActlabError(f"A seed is a non-negative int, a np.random.Generator or None. Got {seed!r} instead.")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError, OverflowError):
        text = repr(seed)
        text = text if len(text) <= 80 else text[:77] + "..."
        raise ActlabError(f"A seed is a non-negative int, a np.random.Generator or None. Got {text} instead.") from None


def check_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as a NumPy dtype if it is float32 or float64 (else one ActlabError)."""
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        text = repr(dtype)
        text = text if len(text) <= 80 else text[:77] + "..."
        raise ActlabError(f"The engine computes in float32 or float64. Got dtype {text} instead.") from None
    if dt not in (np.float32, np.float64):
        raise ActlabError(f"The engine computes in float32 or float64. Got dtype {dt} instead.")
    return dt


INITS = (
    "zeros", "constant", "normal", "uniform", "xavier_normal", "xavier_uniform",
    "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "orthogonal",
)
INIT_ALIASES = {
    "he": "he_normal", "kaiming": "he_normal", "kaiming_normal": "he_normal", "kaiming_uniform": "he_uniform",
    "glorot": "xavier_uniform", "xavier": "xavier_uniform", "glorot_uniform": "xavier_uniform",
    "glorot_normal": "xavier_normal", "lecun": "lecun_normal", "selu": "lecun_normal", "zero": "zeros",
}
#: The schemes whose scale is multiplied by the gain of the activation that follows.
GAINED = ("he_normal", "he_uniform", "orthogonal")


def parse_init(init: str | float) -> tuple[str, dict[str, Any]]:
    """``"normal(std=0.01)"`` -> ``("normal", {"std": 0.01})``; a float means normal std.

    >>> parse_init("he")
    ('he_normal', {})
    >>> parse_init(0.01)
    ('normal', {'std': 0.01})
    """
    if isinstance(init, (int, float)) and not isinstance(init, bool):
        return "normal", {"std": check_real(init, "init", "the initialiser", low=0)}
    if not isinstance(init, str):
        raise ActlabError(f"An initialiser is a name such as 'he' or a float std. Got {init!r} instead.")
    try:
        name, kw = parse_spec(init)
    except ActlabError:
        raise ActlabError(f"Cannot read initialiser {init!r}: expected NAME or NAME(param=number, ...).") from None
    name = INIT_ALIASES.get(name, name)
    if name not in INITS:
        raise unknown("initialiser", name, [*INITS, *INIT_ALIASES])
    return name, kw


def initialize(
    name: str | float,
    fan_in: int,
    fan_out: int,
    *,
    gain: float | None = None,
    seed: Seed = None,
    dtype: Any = np.float32,
) -> np.ndarray:
    """A (fan_in, fan_out) weight matrix drawn from the named scheme.

    ``std`` below is the standard deviation of the entries; uniform schemes use
    U(-a, a) with a = sqrt(3) std (same variance).

    * ``zeros``; ``constant(value=c)``;
    * ``normal(std=0.01, mean=0)``; ``uniform(limit=a)`` or ``uniform(low=, high=)``;
    * ``xavier_normal/uniform``: std = gain sqrt(2 / (fan_in + fan_out)) (Glorot & Bengio
      2010; gain 1 unless given);
    * ``he_normal/uniform(mode="fan_in"|"fan_out")``: std = gain / sqrt(fan) (He et al.
      2015; gain sqrt(2) unless given: PyTorch's kaiming with ReLU);
    * ``lecun_normal/uniform``: std = 1 / sqrt(fan_in) (the SELU initialisation);
    * ``orthogonal``: Q of the QR of a Gaussian matrix, signs fixed by diag(R), times gain.

    >>> w = initialize("he", 784, 64, seed=0)
    >>> w.shape, w.dtype, round(float(w.std()) * math.sqrt(784 / 2), 1)
    ((784, 64), dtype('float32'), 1.0)
    """
    kind, kw = parse_init(name)
    dt = check_dtype(dtype)
    rng = as_rng(seed)
    shape = (fan_in, fan_out)
    owner = f"the {kind} initialiser"

    def take(key: str, default: Any) -> Any:
        return kw.pop(key, default)

    if kind == "zeros":
        w = np.zeros(shape)
    elif kind == "constant":
        w = np.full(shape, check_real(take("value", 0.0), "value", owner))
    elif kind == "normal":
        std = check_real(take("std", 0.01), "std", owner, low=0)
        w = rng.normal(check_real(take("mean", 0.0), "mean", owner), std, size=shape)
    elif kind == "uniform":
        if "low" in kw or "high" in kw:
            lo = check_real(take("low", -0.05), "low", owner)
            hi = check_real(take("high", 0.05), "high", owner, low=lo)
        else:
            hi = check_real(take("limit", 0.05), "limit", owner, low=0)
            lo = -hi
        w = rng.uniform(lo, hi, size=shape)
    else:
        g = 1.0 if gain is None else float(gain)
        if kind.startswith("xavier"):
            std = g * math.sqrt(2.0 / (fan_in + fan_out))
        elif kind.startswith("he"):
            mode = check_choice(take("mode", "fan_in"), "mode", owner, ("fan_in", "fan_out"))
            g = math.sqrt(2.0) if gain is None else g
            std = g / math.sqrt(fan_in if mode == "fan_in" else fan_out)
        elif kind.startswith("lecun"):
            std = 1.0 / math.sqrt(fan_in)
        else:  # orthogonal
            a = rng.normal(size=(max(shape), min(shape)))
            q, r = np.linalg.qr(a)
            q *= np.sign(np.diag(r))
            w = g * (q if fan_in >= fan_out else q.T)
            std = None
        if std is not None:
            if kind.endswith("uniform"):
                w = rng.uniform(-math.sqrt(3.0) * std, math.sqrt(3.0) * std, size=shape)
            else:
                w = rng.normal(0.0, std, size=shape)
    if kw:
        raise unknown("parameter", next(iter(kw)), [], owner=owner)
    return np.ascontiguousarray(w, dtype=dt)


