"""The 2-D data sets of the TensorFlow Playground.

:func:`playground` generates the 2-D sets of the TensorFlow Playground (circle, xor,
gauss, spiral; regression plane and multigauss) plus moons, from a seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import check_int, check_real, unknown
from .idx import _generator

__all__ = ["PLAYGROUND", "playground"]


def _split_counts(n: int) -> tuple[int, int]:
    return (n + 1) // 2, n // 2


def _circle(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Disc r in [0, 2.5] (label +1), ring r in [3.5, 5] (label -1); label from the noisy point."""
    radius = 5.0
    parts = []
    for m, (lo, hi) in zip(_split_counts(n), ((0.0, radius * 0.5), (radius * 0.7, radius))):
        r = rng.uniform(lo, hi, m)
        angle = rng.uniform(0.0, 2 * math.pi, m)
        parts.append(np.column_stack([r * np.sin(angle), r * np.cos(angle)]))
    X = np.concatenate(parts)
    noisy = X + rng.uniform(-radius, radius, X.shape) * noise
    y = np.where(np.hypot(noisy[:, 0], noisy[:, 1]) < radius * 0.5, 1.0, -1.0)
    return X, y


def _xor(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Uniform on [-5, 5]^2 pushed 0.3 away from the axes; label sign(x*y) of the noisy point."""
    X = rng.uniform(-5.0, 5.0, (n, 2))
    X += np.where(X > 0, 0.3, -0.3)
    noisy = X + rng.uniform(-5.0, 5.0, X.shape) * noise
    y = np.where(noisy[:, 0] * noisy[:, 1] >= 0, 1.0, -1.0)
    return X, y


def _gauss(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two isotropic Gaussians at (2, 2) (+1) and (-2, -2) (-1), variance 0.5 + 7 * noise."""
    variance = 0.5 + 7.0 * noise  # d3 linear scale: noise [0, 0.5] -> variance [0.5, 4]
    a, b = _split_counts(n)
    X = np.concatenate([rng.normal(2.0, math.sqrt(variance), (a, 2)), rng.normal(-2.0, math.sqrt(variance), (b, 2))])
    return X, np.concatenate([np.ones(a), -np.ones(b)])


def _spiral(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals r = 5 i/m, t = 1.75 * 2 pi i/m (+ pi for -1), noise U(-1,1)*noise."""
    parts, labels = [], []
    for m, delta, label in zip(_split_counts(n), (0.0, math.pi), (1.0, -1.0)):
        i = np.arange(m, dtype=np.float64)
        r = i / m * 5
        t = 1.75 * i / m * 2 * math.pi + delta
        xy = np.column_stack([r * np.sin(t), r * np.cos(t)])
        parts.append(xy + rng.uniform(-1.0, 1.0, xy.shape) * noise)
        labels.append(np.full(m, label))
    return np.concatenate(parts), np.concatenate(labels)


def _moons(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's make_moons: upper arc (cos t, sin t) (-1), lower (1 - cos t, 0.5 - sin t) (+1)."""
    n_out, n_in = n // 2, n - n // 2
    t_out, t_in = np.linspace(0, math.pi, n_out), np.linspace(0, math.pi, n_in)
    X = np.concatenate([np.column_stack([np.cos(t_out), np.sin(t_out)]),
                        np.column_stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5])])
    if noise:
        X += rng.normal(0.0, noise, X.shape)
    return X, np.concatenate([-np.ones(n_out), np.ones(n_in)])


def _plane(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Uniform on [-6, 6]^2; target (x + y) / 10 of the noisy point (noise U(-6, 6) * noise)."""
    X = rng.uniform(-6.0, 6.0, (n, 2))
    noisy = X + rng.uniform(-6.0, 6.0, X.shape) * noise
    return X, (noisy[:, 0] + noisy[:, 1]) / 10.0


_GAUSSIANS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]], float)


def _multigauss(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Six signed bumps s * max(0, 1 - d/2) at (+-4 or 0, +-2.5); target: the largest in |.|."""
    X = rng.uniform(-6.0, 6.0, (n, 2))
    noisy = X + rng.uniform(-6.0, 6.0, X.shape) * noise
    d = np.hypot(noisy[:, None, 0] - _GAUSSIANS[:, 0], noisy[:, None, 1] - _GAUSSIANS[:, 1])
    bumps = _GAUSSIANS[:, 2] * np.clip(1.0 - d / 2.0, 0.0, 1.0)
    # Playground keeps the first bump with the strictly largest |value|: argmax's first hit.
    pick = np.argmax(np.abs(bumps), axis=1)
    return X, bumps[np.arange(n), pick]


#: name -> (generator, task). Playground keys "reg-plane"/"reg-gauss" are aliases.
PLAYGROUND: dict[str, tuple[Callable[..., tuple[np.ndarray, np.ndarray]], str]] = {
    "circle": (_circle, "classification"),
    "xor": (_xor, "classification"),
    "gauss": (_gauss, "classification"),
    "spiral": (_spiral, "classification"),
    "moons": (_moons, "classification"),
    "plane": (_plane, "regression"),
    "multigauss": (_multigauss, "regression"),
}
_PLAYGROUND_ALIASES = {"reg-plane": "plane", "reg-gauss": "multigauss"}


def playground(
    name: str,
    n: int = 500,
    noise: float = 0.0,
    seed: int | np.random.Generator = 0,
    *,
    signed: bool = False,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: a 2-D dataset of the TensorFlow Playground, from ``seed``.

    Follows ``src/dataset.ts`` of github.com/tensorflow/playground (Math.random replaced by
    ``np.random.Generator``; loops vectorised). ``noise`` is the Playground's slider / 100
    (0 to 0.5 there). Classification (two classes, n/2 each; an odd n gives the extra
    point to the positive class):

    * ``circle``: +1 uniform in radius on r < 2.5, -1 on 3.5 < r < 5, at a uniform angle;
      the label is that of the point moved by U(-5, 5) * noise per axis (x is unmoved).
    * ``xor``: uniform on [-5, 5]^2, pushed 0.3 away from both axes; label sign(x y) of the
      point moved by U(-5, 5) * noise.
    * ``gauss``: N((2, 2), v I) (+1) and N((-2, -2), v I) (-1), v = 0.5 + 7 noise.
    * ``spiral``: point i of m per class at r = 5 i/m, t = 3.5 pi i/m (+ pi for -1),
      (r sin t, r cos t) + U(-1, 1) * noise per axis.
    * ``moons`` (not in the Playground; scikit-learn's make_moons): -1 on (cos t, sin t),
      +1 on (1 - cos t, 0.5 - sin t), t evenly spaced in [0, pi], plus N(0, noise^2).

    Regression: ``plane``, (x + y)/10 on [-6, 6]^2 (unclamped, as in the Playground: within
    +-1.2 (1 + noise)); ``multigauss``, six signed cones s max(0, 1 - d/2) at x in {-4, 0, 4},
    y = +-2.5, target the largest in magnitude (in [-1, 1]); both evaluated at the point
    moved by U(-6, 6) * noise per axis.

    ``y``: classification labels as int64 0/1 (1 = the Playground's +1), or float ±1 as in
    the Playground with ``signed=True``; regression targets float64. ``X`` is float64
    ``(n, 2)``, shuffled unless ``shuffle=False`` (the Playground shuffles too).

    >>> X, y = playground("xor", n=4, seed=0)
    >>> X.shape, y.dtype, bool(np.all((X[:, 0] * X[:, 1] >= 0) == (y == 1)))
    ((4, 2), dtype('int64'), True)
    """
    key = _PLAYGROUND_ALIASES.get(name, name)
    if key not in PLAYGROUND:
        raise unknown("playground dataset", name, list(PLAYGROUND) + list(_PLAYGROUND_ALIASES))
    gen, task = PLAYGROUND[key]
    n = check_int(n, "n", f"playground {key}", low=2)
    noise = check_real(noise, "noise", f"playground {key}", low=0)
    rng = _generator(seed, f"playground {key}")
    X, y = gen(rng, n, noise)
    if shuffle:
        perm = rng.permutation(n)
        X, y = X[perm], y[perm]
    if task == "classification" and not signed:
        y = (y > 0).astype(np.int64)
    return X, y

