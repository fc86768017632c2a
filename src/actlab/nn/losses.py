"""Losses on the logits: the fused softmax/sigmoid/identity losses that training uses, and
the unfused pairing of any output activation with cross-entropy or squared error."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..catalogue import registry
from ..errors import ActlabError, check_choice
from .layers import Buffers
from .model import IDENTITY_NAMES, _output_bound


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
        raise ActlabError(f"Labels must be in [0, {k - 1}] for {k} logits. "
                          f"Got labels in [{y.min()}, {y.max()}] instead.")


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


