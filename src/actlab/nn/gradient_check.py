"""Gradient checks: backpropagation against central differences, for a model or a layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from .layers import Dropout, Layer
from .losses import Loss, loss_for
from .model import Sequential


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
    rngs = [(layer.rng, layer.rng.bit_generator.state) for layer in m.layers if isinstance(layer, Dropout)]

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


