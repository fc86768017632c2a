"""The recorder: the engine's hook for seeing inside a model while it runs.

A :class:`Recorder` attached to a model (``model.recorder = rec`` or ``with record(model)
as rec:``) receives every forward and backward pass through :meth:`Recorder.forward` and
:meth:`Recorder.backward`, and keeps per-layer pre-activations, activations and gradients.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import check_choice, check_int
from .layers import Activation, Dense, PReLU

if TYPE_CHECKING:  # pragma: no cover
    from .model import Sequential


def summarize(a: np.ndarray) -> dict[str, float]:
    """mean, std, fraction of zeros, fraction of negatives, max |a| and L2 norm of an array."""
    a = np.asarray(a)
    n = a.size or 1
    return {
        "mean": float(np.mean(a, dtype=np.float64)),
        "std": float(np.std(a, dtype=np.float64)),
        "frac_zero": float(np.count_nonzero(a == 0) / n),
        "frac_neg": float(np.count_nonzero(a < 0) / n),
        "abs_max": float(np.max(np.abs(a))) if a.size else 0.0,
        "norm": float(np.linalg.norm(a.ravel().astype(np.float64))),
    }


class Recorder:
    """Collects, per forward pass (a "step") and per hidden layer k, any of

    * ``pre``: the input of the k-th hidden nonlinearity (pre-activation),
    * ``post``: its output (activation),
    * ``grad_pre``: d loss / d pre-activation (filled by the following backward),
    * ``grad_W``: d loss / d W of the Dense layer feeding it,

    as summaries (:func:`summarize`; ``summary=True``) or full copies. ``rec.records[s][k]``
    is the dict of step s, layer k. Attach with ``model.recorder = rec`` or
    ``with record(model) as rec:``; a detached recorder costs nothing. ``every=n`` records
    every n-th forward only; ``paused = True`` suspends recording (``fit`` pauses it
    during evaluation).
    """

    WHAT = ("pre", "post", "grad_pre", "grad_W")

    def __init__(self, model: Sequential, *, what: Iterable[str] = WHAT, summary: bool = True, every: int = 1) -> None:
        self.model = model
        self.what = tuple(check_choice(w, "what", "Recorder", self.WHAT) for w in what)
        self.summary = bool(summary)
        self.every = check_int(every, "every", "Recorder", low=1)
        self.records: list[list[dict[str, Any]]] = []
        self.steps: list[int] = []
        self.paused = False
        self._count = 0
        self._current: list[dict[str, Any]] | None = None

    def _keep(self, a: np.ndarray) -> Any:
        return summarize(a) if self.summary else np.array(a, copy=True)

    def _hidden(self, model: Sequential) -> dict[int, int]:
        out, k = {}, 0
        for i, layer in enumerate(model.layers):
            if isinstance(layer, (Activation, PReLU)):
                out[i] = k
                k += 1
        return out

    def forward(self, model: Sequential, x: np.ndarray, train: bool) -> np.ndarray:
        active = not self.paused and self._count % self.every == 0
        self._count += 1
        if not active:
            self._current = None
            for layer in model.layers:
                x = layer.forward(x, train)
            return x
        hidden = self._hidden(model)
        cur: list[dict[str, Any]] = [{} for _ in hidden]
        for i, layer in enumerate(model.layers):
            y = layer.forward(x, train)
            k = hidden.get(i)
            if k is not None:
                if "pre" in self.what:
                    cur[k]["pre"] = self._keep(x)
                if "post" in self.what:
                    cur[k]["post"] = self._keep(y)
            x = y
        self.records.append(cur)
        self.steps.append(self._count - 1)
        self._current = cur
        return x

    def backward(self, model: Sequential, grad: np.ndarray) -> np.ndarray | None:
        cur = self._current
        if cur is None:
            for layer in reversed(model.layers):
                grad = layer.backward(grad)
            return grad
        hidden = self._hidden(model)
        dense_k = {}
        for i, layer in enumerate(model.layers):
            if isinstance(layer, Dense):
                later = [k for j, k in hidden.items() if j > i]
                if later:
                    dense_k[i] = min(later)
        for i in range(len(model.layers) - 1, -1, -1):
            layer = model.layers[i]
            grad = layer.backward(grad)
            k = hidden.get(i)
            if k is not None and "grad_pre" in self.what:
                cur[k]["grad_pre"] = self._keep(grad)
            k = dense_k.get(i)
            if k is not None and "grad_W" in self.what:
                cur[k]["grad_W"] = self._keep(layer.weight.grad)
        return grad

    def series(self, what: str, stat: str = "std") -> np.ndarray:
        """An array (steps, layers) of one summary statistic (summary mode)."""
        return np.array([[r.get(what, {}).get(stat, np.nan) for r in step] for step in self.records])


class record:
    """``with record(model, ...) as rec:`` attaches a :class:`Recorder` for the block."""

    def __init__(self, model: Sequential, **kw: Any) -> None:
        self.rec = Recorder(model, **kw)
        self.model = model

    def __enter__(self) -> Recorder:
        self._prev = self.model.recorder
        self.model.recorder = self.rec
        return self.rec

    def __exit__(self, *exc: object) -> None:
        self.model.recorder = self._prev


