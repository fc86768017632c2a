"""A lab run: one network training on actlab's engine, advanced in slices and snapshotted.

:class:`PlaygroundRun` and :class:`MnistRun` hold everything of one run (data, model,
loss, optimiser, shuffling generator) and know three things: :meth:`Run.advance` trains
until a wall-clock deadline or a log point, :meth:`Run.frame` snapshots what the page
draws (a binary frame, :mod:`~actlab.lab.frames`), :meth:`Run.ready` describes the run
once (data points, domain, architecture). They do no I/O: a worker process
(:mod:`~actlab.lab.sessions`) drives them, and the tests drive them directly.

Determinism. Every random draw comes from the config's ``seed`` through one
``np.random.SeedSequence``: the data (noise, split), the initial weights and dropout
masks, the batch order. The training trajectory depends on the config and the step count
only, never on when frames are taken: snapshots run the model in evaluation mode (no
dropout draw, BatchNorm's running statistics untouched) and read the last step's
gradients (and, at log points, whole-set gradients in evaluation mode). So the loss at
each log point (each epoch in the Playground, every
:data:`MNIST_LOG_EVERY` steps on MNIST) is the same, bit for bit, for the same config;
that is what makes a shared link reproduce a run, and "reset" go back to the same
initial weights.

The training step is the engine's own (``model.forward``, ``loss.forward``,
``model.backward``, ``optimizer.step``), as in :func:`actlab.nn.fit`; the lab adds only
L1/L2 penalties on the Dense weights (the Playground's regularisation: weights, not
biases), as terms added to their gradients.

Dead and saturated units use :mod:`actlab.nn.diagnostics`' definitions (its
``unit_derivative`` and its thresholds ``DEAD_EPS``, ``SAT_EPS``, ``SAT_MOST``), the ones
``actlab diagnose`` prints, over the training points (Playground) or a fixed probe of
1,000 training images (MNIST).

>>> from actlab.lab.protocol import PlaygroundConfig
>>> run = PlaygroundRun(PlaygroundConfig(dataset="xor", seed=3))
>>> run.advance(max_log=2)
>>> [round(r[0]) for r in run.log], run.step == 2 * run.log_every
([0, 1, 2], True)
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from .. import nn
from ..data import load_mnist
from ..nn.diagnostics import DEAD_EPS, SAT_EPS, SAT_MOST, unit_derivative
from ..nn.layers import Activation, PReLU
from .frames import encode, rows_to_u8_signed, to_u8, to_u8_signed
from .inputs import CsvStore, Points, features, playground_points
from .protocol import FEATURES, MnistConfig, PlaygroundConfig

__all__ = ["Run", "PlaygroundRun", "MnistRun", "make_run", "unit_stats", "GRID", "UNIT_GRID", "MNIST_LOG_EVERY"]

GRID = 64  # cells per side of the decision boundary
UNIT_GRID = 20  # cells per side of each unit's heatmap
HIST_BINS = 24
MNIST_LOG_EVERY = 50
MNIST_EVAL = 2000  # test images evaluated at each log point (a fixed subset: the first ones)
MNIST_PROBE = 1000  # training images the unit diagnostics look at
MNIST_STRIP = 16  # test digits shown with their predictions
MNIST_WEIGHT_IMAGES = 64


def unit_stats(layer: Any, pre: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(dead, saturated) booleans per unit of a hidden nonlinearity over the samples ``pre``
    (its pre-activations), with the definitions of :mod:`actlab.nn.diagnostics`; None for
    a vector layer (softmax along the layer has no per-unit derivative)."""
    if isinstance(layer, Activation) and layer.vector:
        return None
    if not isinstance(layer, (Activation, PReLU)):
        return None
    d = unit_derivative(layer, pre)
    with np.errstate(invalid="ignore"):
        dead = np.nan_to_num(d, nan=np.inf).max(axis=0) <= DEAD_EPS
        sat = np.count_nonzero(d < SAT_EPS, axis=0) >= SAT_MOST * pre.shape[0]
    return dead, sat


def _hist(a: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Counts of ``a`` in HIST_BINS bins over its finite range (uint16, saturating)."""
    a = a[np.isfinite(a)]
    if a.size == 0:
        return np.zeros(HIST_BINS, np.uint16), 0.0, 0.0
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:  # one value (a dead ReLU layer: all 0): one full bar in the middle, lo == hi says so
        counts = np.zeros(HIST_BINS, np.int64)
        counts[HIST_BINS // 2] = a.size
        return np.minimum(counts, 65535).astype(np.uint16), lo, hi
    counts, _ = np.histogram(a, bins=HIST_BINS, range=(lo, hi))
    return np.minimum(counts, 65535).astype(np.uint16), lo, hi


class Run:
    """What the two kinds of run share: the engine objects, the loop, the log."""

    kind = "run"
    #: steps between two log points
    log_every = 1

    def __init__(self, config: PlaygroundConfig | MnistConfig) -> None:
        self.config = config
        seq = np.random.SeedSequence(config.seed)
        self._data_seq, self._init_seq, self._shuffle_seq = seq.spawn(3)
        self.step = 0
        self.stopped: str | None = None
        self.log: list[list[float]] = []  # rows since the last frame (the page keeps the history)
        self.gnorm: list[list[float]] = []
        self._order = np.empty(0, np.intp)
        self._pos = 0
        self.epoch = 0
        self._step_seconds = 1e-4
        self._frames = 0

    # -- set-up shared by both kinds -------------------------------------------------

    def _build(self, sizes: list[int], output: str) -> None:
        c = self.config
        acts = [layer.activation for layer in c.layers]
        self.model = nn.mlp(sizes, activation=acts, output=output, init=c.init_spec, batchnorm=c.batchnorm,
                            dropout=c.dropout, seed=np.random.default_rng(self._init_seq))
        self.loss = nn.loss_for(self.model.output)
        self.eval_loss = nn.loss_for(self.model.output)
        self.opt = nn.make_optimizer(c.optimizer, self.model.parameters(), c.lr)
        self.rng = np.random.default_rng(self._shuffle_seq)
        self.dense = self.model.dense_layers
        self.hidden = self.model.activation_layers
        self._reg = [(d.weight.value, d.weight.grad) for d in self.dense] if (c.l1 or c.l2) else []
        self._l1 = np.float32(c.l1)
        self._l2 = np.float32(c.l2)

    def _batch(self, m: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _n_train(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _log_row(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _loss_and_grads(self, X: np.ndarray, y: np.ndarray, grads: bool = True) -> tuple[float, list[float]]:
        """The mean loss on (X, y) and, if ``grads``, ||dL/dW|| of each Dense layer there,
        in evaluation mode.

        Evaluation mode changes no state (no dropout draw, BatchNorm's running statistics
        untouched), so the training trajectory is the same whether or not this runs; the
        gradients it leaves behind are overwritten by the next training step's backward.
        A whole-set gradient is smooth where the last batch's would be mostly noise.
        """
        with np.errstate(all="ignore"):
            lv = self.eval_loss.forward(self.model.forward(X, train=False, copy=False), y)
            if not grads:
                return lv, []
            self.model.backward(self.eval_loss.backward())
            return lv, [float(np.linalg.norm(d.weight.grad.astype(np.float64))) for d in self.dense]

    # -- the loop ---------------------------------------------------------------------

    def _steps(self, k: int) -> None:
        """``k`` training steps (never past the end of the current epoch)."""
        model, loss, opt, reg, l1, l2 = self.model, self.loss, self.opt, self._reg, self._l1, self._l2
        bs = self.config.batch
        for _ in range(k):
            if self._pos >= self._order.size:
                self._order = self.rng.permutation(self._n_train())
                self._pos = 0
            idx = self._order[self._pos:self._pos + bs]
            self._pos += idx.size
            xb, yb = self._batch(idx)
            z = model.forward(xb, True, copy=False)
            lv = loss.forward(z, yb)
            if not math.isfinite(lv):
                self.stopped = (f"The training loss is {lv} at step {self.step + 1}: the weights overflowed. "
                                f"Lower the learning rate (now {self.config.lr:g}) or change the initialisation, "
                                "then reset.")
                return
            self._after_loss(z, yb, lv, idx.size)
            model.backward(loss.backward())
            for w, g in reg:
                if l2:
                    g += l2 * w
                if l1:
                    g += l1 * np.sign(w)
            opt.step()
            self.step += 1

    def _after_loss(self, z: np.ndarray, yb: np.ndarray, lv: float, m: int) -> None:
        """Hook for per-step bookkeeping (MNIST's running training loss)."""

    def advance(self, until: float | None = None, max_log: int | None = None) -> None:
        """Train until ``time.perf_counter()`` passes ``until``, or ``max_log`` more log points
        are reached (at least one of them is given), or the loss turns non-finite."""
        target = None if max_log is None else (self.step // self.log_every + max_log) * self.log_every
        with np.errstate(all="ignore"):
            while self.stopped is None:
                if target is not None and self.step >= target:
                    return
                now = time.perf_counter()
                if until is not None and now >= until:
                    return
                to_log = self.log_every - self.step % self.log_every
                # slices of about 4 ms between clock reads and command checks
                k = max(1, min(to_log, int(0.004 / self._step_seconds)))
                if until is not None:
                    k = max(1, min(k, int((until - now) / self._step_seconds)))
                t0 = time.perf_counter()
                self._steps(k)
                self._step_seconds = 0.8 * self._step_seconds + 0.2 * (time.perf_counter() - t0) / k
                if self.stopped is None and self.step % self.log_every == 0:
                    self._log_row()

    def take_log(self) -> tuple[np.ndarray, np.ndarray]:
        """The log rows (and gradient norms) since the last call, as float64 arrays."""
        width = len(self.log[0]) if self.log else self._log_width
        log = np.array(self.log, np.float64).reshape(-1, width)
        g = np.array(self.gnorm, np.float64).reshape(-1, len(self.dense))
        self.log, self.gnorm = [], []
        return log, g

    _log_width = 3

    def _weights(self) -> dict[str, np.ndarray]:
        """Every Dense layer's weights and biases, quantised to int8 with a scale per layer."""
        out: dict[str, np.ndarray] = {}
        scales = []
        ws, bs = [], []
        for d in self.dense:
            w, b = d.W.astype(np.float64), d.b.astype(np.float64)
            s = float(max(np.abs(w).max(initial=0), np.abs(b).max(initial=0)))
            s = s if math.isfinite(s) and s > 0 else 1.0
            scales.append(s)
            ws.append(np.clip(np.round(np.nan_to_num(w) / s * 127), -127, 127).astype(np.int8).ravel())
            bs.append(np.clip(np.round(np.nan_to_num(b) / s * 127), -127, 127).astype(np.int8))
        out["weights"] = np.concatenate(ws)
        out["biases"] = np.concatenate(bs)
        out["wscale"] = np.array(scales, np.float32)
        return out

    def _units(self, X: np.ndarray) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Per-layer dead / saturated fractions and activation histograms over the probe ``X``,
        and the per-unit flags (bit 0 dead, bit 1 saturated, bit 2 not diagnosable)."""
        with np.errstate(all="ignore"), nn.record(self.model, what=("pre", "post"), summary=False) as rec:
            self.model.forward(X, train=False, copy=False)
        layers, flags, hists = [], [], []
        for layer, r in zip(self.hidden, rec.records[-1]):
            st = unit_stats(layer, r["pre"])
            h, lo, hi = _hist(r["post"])
            hists.append(h)
            n = r["pre"].shape[1]
            if st is None:
                layers.append({"dead": None, "sat": None, "lo": lo, "hi": hi})
                flags.append(np.full(n, 4, np.uint8))
                continue
            dead, sat = st
            layers.append({"dead": float(dead.mean()), "sat": float(sat.mean()), "lo": lo, "hi": hi})
            flags.append(dead.astype(np.uint8) | (sat.astype(np.uint8) << 1))
        blobs = {"uflags": np.concatenate(flags) if flags else np.zeros(0, np.uint8),
                 "hist": np.array(hists, np.uint16).reshape(-1, HIST_BINS)}
        return {"layers": layers}, blobs

    def _meta(self, playing: bool, sps: float) -> dict[str, Any]:
        return {"type": "frame", "kind": self.kind, "step": self.step, "epoch": self.step / self.log_every
                if self.kind == "playground" else self.step / max(1, self._steps_per_epoch),
                "playing": playing, "sps": round(sps, 1), "stopped": self.stopped}

    _steps_per_epoch = 1


# ------------------------------------------------------------------------------ Playground


def _domain(points: Points) -> tuple[float, float, float, float]:
    """The square of the input plane drawn: the Playground's [-6, 6]^2 for its sets, else
    the data's bounding box with a margin."""
    if points.name in ("circle", "xor", "gauss", "spiral", "plane", "multigauss"):
        return (-6.0, 6.0, -6.0, 6.0)
    lo, hi = points.X.min(axis=0), points.X.max(axis=0)
    c = (lo + hi) / 2
    half = float(max(hi - lo)) / 2 * 1.15 or 1.0
    return (float(c[0] - half), float(c[0] + half), float(c[1] - half), float(c[1] + half))


def _grid(domain: tuple[float, float, float, float], n: int) -> np.ndarray:
    """Cell centres of an n x n grid over ``domain``, row 0 at the top (largest x2)."""
    x0, x1, y0, y1 = domain
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y1 - (np.arange(n) + 0.5) * (y1 - y0) / n
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


class PlaygroundRun(Run):
    """A Playground run: a 2-D set, its input features, a small network, one epoch per log
    point (the Playground's unit of time)."""

    kind = "playground"

    def __init__(self, config: PlaygroundConfig, csv: CsvStore | Points | None = None) -> None:
        super().__init__(config)
        data_rng = np.random.default_rng(self._data_seq)
        if config.dataset.startswith("csv:"):
            pts = csv.get(config.dataset) if isinstance(csv, CsvStore) else csv
            if pts is None or pts.name != config.dataset:
                raise LookupError(f"The data set {config.dataset} is not on this lab (it was uploaded elsewhere, "
                                  "or long ago): upload the CSV file again.")
            perm = data_rng.permutation(len(pts.y))
            pts = Points(pts.X[perm], pts.y[perm], pts.task, pts.name)
        else:
            pts = playground_points(config.dataset, config.n, config.noise, data_rng)
        self.points = pts
        self.task = pts.task
        n = len(pts.y)
        self.n_train = n_train = min(max(1, round(n * config.train_frac)), n - 1)
        F = features(pts.X, config.features)
        if self.task == "classification":
            y = pts.y.astype(np.int64)
            out, output = 2, "softmax"
        else:
            y = pts.y.astype(np.float32).reshape(-1, 1)
            out, output = 1, "identity"
        self.Xtr, self.ytr, self.Xte, self.yte = F[:n_train], y[:n_train], F[n_train:], y[n_train:]
        self.sizes = [F.shape[1], *(layer.units for layer in config.layers), out]
        self._build(self.sizes, output)
        self.log_every = self._steps_per_epoch = math.ceil(n_train / config.batch)
        self.domain = _domain(pts)
        self.grid = features(_grid(self.domain, GRID), config.features)
        self.unit_grid = features(_grid(self.domain, UNIT_GRID), config.features)
        self._yscale = float(np.abs(pts.y).max()) if self.task == "regression" else 1.0
        self._xbuf = np.empty((config.batch, F.shape[1]), np.float32)
        self._ybuf = np.empty((config.batch, *y.shape[1:]), y.dtype)
        self._log_row()

    def _n_train(self) -> int:
        return self.n_train

    def _batch(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = idx.size
        xb, yb = (self._xbuf, self._ybuf) if m == self._xbuf.shape[0] else (self._xbuf[:m], self._ybuf[:m])
        self.Xtr.take(idx, axis=0, out=xb, mode="clip")
        self.ytr.take(idx, axis=0, out=yb, mode="clip")
        return xb, yb

    def _log_row(self) -> None:
        tr, g = self._loss_and_grads(self.Xtr, self.ytr)
        te, _ = self._loss_and_grads(self.Xte, self.yte, grads=False)
        self.log.append([self.step / self.log_every, tr, te])
        self.gnorm.append(g)

    def _output(self, grid: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            if self.task == "classification":
                return to_u8(self.model.predict_proba(grid)[:, 1], 0.0, 1.0)
            return to_u8_signed(self.model.forward(grid)[:, 0], self._yscale)

    def ready(self) -> bytes:
        """The run's description: data points, domain, sizes, and the input features' maps."""
        c = self.config
        # every feature's map, chosen or not: the page shows them all as toggles
        ug = _grid(self.domain, UNIT_GRID)
        fmaps = features(ug, FEATURES).T.reshape(len(FEATURES), UNIT_GRID, UNIT_GRID)
        fscale = np.abs(fmaps).reshape(len(FEATURES), -1).max(axis=1)
        fmaps_u8 = rows_to_u8_signed(fmaps.reshape(len(FEATURES), -1), fscale).reshape(fmaps.shape)
        meta = {"type": "ready", "kind": self.kind, "config": c.model_dump(mode="json"), "task": self.task,
                "domain": self.domain, "sizes": self.sizes, "n_train": self.n_train, "n_test": len(self.yte),
                "features": list(c.features), "all_features": list(FEATURES),
                "activations": [layer.activation for layer in c.layers],
                "log_every": self.log_every, "grid": GRID, "unit_grid": UNIT_GRID, "yscale": self._yscale,
                "log_columns": ["epoch", "train_loss", "test_loss"]}
        blobs = {"points": self.points.X.astype(np.float32), "labels": self.points.y.astype(np.float32),
                 "fmaps": fmaps_u8, "fscale": fscale.astype(np.float32)}
        return encode(meta, blobs)

    def frame(self, playing: bool = False, sps: float = 0.0) -> bytes:
        """A snapshot: boundary, unit heatmaps and flags, weights, histograms, new log rows."""
        log, g = self.take_log()
        meta = self._meta(playing, sps)
        blobs: dict[str, np.ndarray] = {"log": log, "gnorm": g, "boundary": self._output(self.grid).reshape(GRID, GRID)}
        if self.hidden:
            info, ub = self._units(self.Xtr)
            meta.update(info)
            blobs.update(ub)
            with np.errstate(all="ignore"), nn.record(self.model, what=("post",), summary=False) as rec:
                self.model.forward(self.unit_grid, train=False, copy=False)
            maps = np.concatenate([r["post"] for r in rec.records[-1]], axis=1).T  # (units, cells)
            with np.errstate(all="ignore"):
                scale = np.nan_to_num(np.abs(maps).max(axis=1), nan=0.0, posinf=0.0)
            blobs["units"] = rows_to_u8_signed(maps, scale).reshape(-1, UNIT_GRID, UNIT_GRID)
            blobs["uscale"] = scale.astype(np.float32)
        else:
            meta["layers"] = []
        blobs.update(self._weights())
        return encode(meta, blobs)


# ------------------------------------------------------------------------------ MNIST


class MnistRun(Run):
    """An MNIST run on the bundled data set: training images gathered as bytes and scaled
    per batch (so a session holds 47 MB of uint8, not 188 MB of float32), a log point
    every :data:`MNIST_LOG_EVERY` steps with the test loss and accuracy on the first
    :data:`MNIST_EVAL` test images."""

    kind = "mnist"
    log_every = MNIST_LOG_EVERY
    _log_width = 6

    def __init__(self, config: MnistConfig) -> None:
        super().__init__(config)
        Xu, yu = load_mnist(split="train", normalize=False, dtype=np.uint8)
        Xt, yt = load_mnist(split="test", normalize=False, dtype=np.uint8)
        self.Xu, self.yu = Xu[:config.train_size], yu[:config.train_size]
        inv = np.float32(1 / 255)
        self.Xeval, self.yeval = Xt[:MNIST_EVAL].astype(np.float32) * inv, yt[:MNIST_EVAL]
        self.probe = Xu[:MNIST_PROBE].astype(np.float32) * inv
        self.strip = Xt[:MNIST_STRIP]
        self.strip_labels = yt[:MNIST_STRIP]
        self.sizes = [784, *(layer.units for layer in config.layers), 10]
        self._build(self.sizes, "softmax")
        self._steps_per_epoch = math.ceil(len(self.yu) / config.batch)
        self._u8 = np.empty((config.batch, 784), np.uint8)
        self._xbuf = np.empty((config.batch, 784), np.float32)
        self._ybuf = np.empty(config.batch, np.int64)
        self._inv = inv
        self._sum_loss = self._sum_correct = 0.0
        self._seen = 0
        self._log_row()

    def _n_train(self) -> int:
        return len(self.yu)

    def _batch(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = idx.size
        u8, xb, yb = (self._u8, self._xbuf, self._ybuf) if m == self._u8.shape[0] else (
            self._u8[:m], self._xbuf[:m], self._ybuf[:m])
        self.Xu.take(idx, axis=0, out=u8, mode="clip")
        self.yu.take(idx, axis=0, out=yb, mode="clip")
        np.multiply(u8, self._inv, out=xb)
        return xb, yb

    def _after_loss(self, z: np.ndarray, yb: np.ndarray, lv: float, m: int) -> None:
        self._sum_loss += lv * m
        self._sum_correct += self.loss.n_correct()
        self._seen += m

    def _log_row(self) -> None:
        ev = nn.evaluate(self.model, self.Xeval, self.yeval, self.eval_loss)
        if self._seen:
            tr, acc = self._sum_loss / self._seen, self._sum_correct / self._seen
        else:  # step 0: the training loss on the probe images
            p = nn.evaluate(self.model, self.probe, self.yu[:MNIST_PROBE], self.eval_loss)
            tr, acc = p["loss"], p["acc"]
        self.log.append([self.step, self.step / self._steps_per_epoch, tr, acc, ev["loss"], ev["acc"]])
        self.gnorm.append(self._loss_and_grads(self.probe, self.yu[:MNIST_PROBE])[1])
        self._sum_loss = self._sum_correct = 0.0
        self._seen = 0

    def ready(self) -> bytes:
        c = self.config
        meta = {"type": "ready", "kind": self.kind, "config": c.model_dump(mode="json"), "sizes": self.sizes,
                "activations": [layer.activation for layer in c.layers], "n_train": len(self.yu),
                "n_eval": MNIST_EVAL, "log_every": self.log_every, "steps_per_epoch": self._steps_per_epoch,
                "log_columns": ["step", "epoch", "train_loss", "train_acc", "test_loss", "test_acc"]}
        return encode(meta, {"strip": self.strip.reshape(-1, 28, 28),
                             "strip_labels": self.strip_labels.astype(np.uint8)})

    def frame(self, playing: bool = False, sps: float = 0.0) -> bytes:
        log, g = self.take_log()
        meta = self._meta(playing, sps)
        info, blobs = self._units(self.probe)
        meta.update(info)
        with np.errstate(all="ignore"):
            z = self.model.forward(self.Xeval)
        pred = np.argmax(z, axis=1)
        blobs["confusion"] = nn.confusion_matrix(self.yeval, pred, 10).astype(np.uint32)
        with np.errstate(all="ignore"):
            e = np.exp(z[:MNIST_STRIP] - z[:MNIST_STRIP].max(axis=1, keepdims=True))
            conf = (e / e.sum(axis=1, keepdims=True)).max(axis=1)
        blobs["strip_pred"] = pred[:MNIST_STRIP].astype(np.uint8)
        blobs["strip_conf"] = to_u8(conf, 0.0, 1.0)
        W = self.dense[0].W[:, :MNIST_WEIGHT_IMAGES].T.astype(np.float64)  # (units, 784)
        with np.errstate(all="ignore"):
            ws = np.nan_to_num(np.abs(W).max(axis=1), nan=0.0, posinf=0.0)
        blobs["w_images"] = rows_to_u8_signed(W, ws).reshape(-1, 28, 28)
        blobs["log"], blobs["gnorm"] = log, g
        meta["accuracy"] = float(np.mean(pred == self.yeval))
        return encode(meta, blobs)


def make_run(config: PlaygroundConfig | MnistConfig, csv: CsvStore | Points | None = None) -> Run:
    """The run for a validated config (``csv``: where uploaded data sets are looked up)."""
    if isinstance(config, MnistConfig):
        return MnistRun(config)
    return PlaygroundRun(config, csv)
