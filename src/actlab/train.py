"""Training loop, evaluation, history and the recorder of the engine (see :mod:`actlab.nn`).

The loop is plain mini-batch SGD with everything preallocated: the shuffled batch is
gathered with ``np.take(..., out=)`` into a reused buffer, the model reuses its layer
buffers, the optimiser updates one flat parameter array in place. Non-finite losses
stop training with a message naming the step, the first layer where non-finite values
appeared, and the likely cause.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .accuracy import write_atomic  # noqa: F401  (re-exported for engine_bench)
from .errors import ActlabError, check_int, check_real

if TYPE_CHECKING:  # pragma: no cover
    from .nn import Loss, Optimizer, Sequential

__all__ = ["History", "Recorder", "record", "summarize", "fit", "evaluate", "confusion_matrix"]


# --------------------------------------------------------------------------- recorder


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
        from .errors import check_choice

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
        from .nn import Activation, PReLU

        out, k = {}, 0
        for i, l in enumerate(model.layers):
            if isinstance(l, (Activation, PReLU)):
                out[i] = k
                k += 1
        return out

    def _forward(self, model: Sequential, x: np.ndarray, train: bool) -> np.ndarray:
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

    def _backward(self, model: Sequential, grad: np.ndarray) -> np.ndarray | None:
        from .nn import Dense

        cur = self._current
        if cur is None:
            for layer in reversed(model.layers):
                grad = layer.backward(grad)
            return grad
        hidden = self._hidden(model)
        dense_k = {}
        for i, l in enumerate(model.layers):
            if isinstance(l, Dense):
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


# --------------------------------------------------------------------------- history


@dataclass
class History:
    """What :func:`fit` returns: per-epoch metrics, the loss of every step, why it stopped."""

    epochs: list[dict[str, Any]] = field(default_factory=list)
    step_loss: np.ndarray = field(default_factory=lambda: np.empty(0))
    stopped: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    #: the epoch of the checkpoint this run continued from (0: trained from the start)
    resumed_from: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config, "epochs": self.epochs, "stopped": self.stopped,
                "step_loss": [float(v) if math.isfinite(v) else str(v) for v in self.step_loss]}

    def to_json(self, path: str | os.PathLike) -> None:
        write_atomic(path, json.dumps(self.to_dict(), indent=1))

    @property
    def final(self) -> dict[str, Any]:
        return self.epochs[-1] if self.epochs else {}




# --------------------------------------------------------------------------- evaluation


def confusion_matrix(y: Any, yhat: Any, n_classes: int | None = None) -> np.ndarray:
    """C[i, j] = number of examples of true class i predicted as j.

    >>> confusion_matrix([0, 1, 1], [0, 1, 0])
    array([[1, 0],
           [1, 1]])
    """
    y = np.asarray(y, dtype=np.int64)
    yhat = np.asarray(yhat, dtype=np.int64)
    k = n_classes if n_classes is not None else int(max(y.max(initial=0), yhat.max(initial=0))) + 1
    return np.bincount(y * k + yhat, minlength=k * k).reshape(k, k)


def _is_labels(y: np.ndarray) -> bool:
    return y.ndim == 1 and y.dtype.kind in "iu"


def evaluate(model: Sequential, X: Any, y: Any, loss: Loss | None = None, batch_size: int = 2000) -> dict[str, Any]:
    """Mean loss and accuracy (classification) over a data set, in chunks (bounded memory)."""
    from .nn import loss_for

    loss = loss if loss is not None else loss_for(model.output)
    X = model._as_input(X)
    y = np.asarray(y)
    if len(y) != len(X):
        raise ActlabError(f"X has {len(X)} rows but y has {len(y)}.")
    total, correct = 0.0, 0
    classify = _is_labels(y) or model.output != "identity"
    with np.errstate(all="ignore"):
        for i in range(0, len(X), batch_size):
            z = model.forward(X[i:i + batch_size], copy=False)
            yb = y[i:i + batch_size]
            total += loss.forward(z, yb) * len(yb)
            if classify:
                pred = (z[:, 0] > 0).astype(np.int64) if z.shape[1] == 1 else np.argmax(z, axis=1)
                truth = yb if _is_labels(yb) else (np.argmax(yb, axis=1) if yb.ndim == 2 and yb.shape[1] > 1 else yb.reshape(-1) > 0.5)
                correct += int(np.count_nonzero(pred == truth))
    n = max(len(X), 1)
    return {"loss": total / n, "acc": correct / n if classify else None, "n": len(X)}


# --------------------------------------------------------------------------- training


def _diagnose(model: Sequential, xb: np.ndarray) -> str:
    """Where non-finite values first appear: a parameter, or a layer's output."""
    for i, layer in enumerate(model.layers):
        for p in layer.params():
            if not np.all(np.isfinite(p.value)):
                return f"parameter {p.name} of layer {i} ({layer!r})"
    x = xb
    if not np.all(np.isfinite(x)):
        return "the input batch"
    with np.errstate(all="ignore"):
        for i, layer in enumerate(model.layers):
            x = layer.forward(x, True)
            if not np.all(np.isfinite(x)):
                return f"the output of layer {i} ({layer!r})"
    return "the loss (layers are finite: the logits overflow the loss)"


def _check_data(model: Sequential, X: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != model.n_in:
        raise ActlabError(f"The model {model.arch} takes {model.n_in} inputs. Got {what} of shape {X.shape} instead.")
    y = np.asarray(y)
    if len(y) != len(X):
        raise ActlabError(f"{what} has {len(X)} rows but its targets have {len(y)}.")
    if _is_labels(y) and model.n_out > 1 and len(y) and (y.min() < 0 or y.max() >= model.n_out):
        raise ActlabError(f"The model {model.arch} has {model.n_out} outputs; labels must be in [0, {model.n_out - 1}]. "
                          f"Got labels in [{y.min()}, {y.max()}] instead.")
    if X.dtype != model.dtype:
        X = X.astype(model.dtype)
    return X, y


def fit(
    model: Sequential,
    X: Any,
    y: Any,
    *,
    loss: Loss | None = None,
    optimizer: str | Optimizer = "sgd",
    lr: float = 0.1,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    epochs: int = 5,
    batch_size: int = 128,
    seed: int | np.random.Generator | None = 0,
    val: tuple[Any, Any] | None = None,
    schedule: str | Callable[[int], float] = "constant",
    recorder: Recorder | None = None,
    progress: bool = True,
    callback: Callable[[int, Sequential, float], bool | None] | None = None,
    max_steps: int | None = None,
    shuffle: bool = True,
    checkpoint: str | os.PathLike | None = None,
    restart: bool = False,
) -> History:
    """Train ``model`` with mini-batches; see the module docstring.

    Each epoch draws a permutation from ``seed`` (same seed, same batches, same losses,
    bit for bit). After each epoch the held-out set ``val`` is evaluated. ``callback(step,
    model, loss)`` returning True stops training. A progress bar (tqdm) is shown when
    ``progress`` and stderr is a terminal.

    ``checkpoint``: a ``.npz`` path written (atomically) at the end of every completed
    epoch with the model, optimiser state, shuffling-generator state and history (see
    :mod:`actlab._checkpoint`). If it exists when ``fit`` starts, training continues after
    its last epoch and ends with the same weights and history, bit for bit, as an
    uninterrupted run (timings aside); ``model`` must then be freshly built exactly as for
    the first run. A checkpoint of a different run (other data, hyperparameters, initial
    weights, ...) raises an ActlabError naming the differences; ``restart=True`` deletes
    it and starts over. With the constant schedule ``epochs`` may grow between runs
    (continue training). A recorder only sees the steps run in this call.
    """
    from tqdm import tqdm

    from . import _checkpoint as ckpt
    from . import nn
    from ._layers import as_rng

    X, y = _check_data(model, X, y, "the training set")
    if val is not None:
        val = _check_data(model, val[0], val[1], "the validation set")
    lr = check_real(lr, "lr", "fit", 0)
    epochs = check_int(epochs, "epochs", "fit", low=1)
    batch_size = check_int(batch_size, "batch_size", "fit", low=1)
    if max_steps is not None:
        max_steps = check_int(max_steps, "max_steps", "fit", low=0)
    loss = loss if loss is not None else nn.loss_for(model.output)
    opt = nn.make_optimizer(optimizer, model.parameters(), lr, momentum, nesterov, weight_decay)
    n = len(X)
    steps_per_epoch = math.ceil(n / batch_size)
    total = steps_per_epoch * epochs if max_steps is None else min(max_steps, steps_per_epoch * epochs)
    sched = nn.schedule(schedule, opt.lr, total)
    rng = as_rng(seed)
    resumed = None
    if checkpoint is not None:
        checkpoint = os.fspath(checkpoint)
        key = ckpt.run_key(model, opt, loss, X=X, y=y, val=val, schedule=schedule, batch_size=batch_size, seed=seed,
                           shuffle_state=rng.bit_generator.state, shuffle=shuffle, epochs=epochs, max_steps=max_steps)
        if restart and os.path.exists(checkpoint):
            os.unlink(checkpoint)
        resumed = ckpt.load(checkpoint)
        if resumed is not None:
            diff = ckpt.differences(resumed["key"], key)
            if resumed["step"] > total:
                diff.append(f"it is at step {resumed['step']} (epoch {resumed['epoch']}), beyond this run's {total} steps")
            if diff:
                raise ckpt.CheckpointMismatch(checkpoint, diff, "Use another checkpoint path, or restart=True.")
            ckpt.restore(resumed, model, opt, rng)
    classify = _is_labels(y) and model.output != "identity"
    fast_acc = classify and hasattr(loss, "n_correct")
    hist = History(config={
        "arch": model.arch, "layers": [l.config() for l in model.layers], "output": model.output,
        "loss": repr(loss), "optimizer": type(opt).__name__, "lr": opt.lr, "momentum": getattr(opt, "momentum", None),
        "weight_decay": opt.weight_decay, "epochs": epochs, "batch_size": batch_size,
        "seed": seed if isinstance(seed, int) else None, "schedule": schedule if isinstance(schedule, str) else "custom",
        "dtype": str(model.dtype), "n_train": n,
    })
    step_loss = np.full(total, np.nan)
    step, first_epoch = 0, 1
    if resumed is not None:
        hist.epochs = resumed["epochs"]
        hist.resumed_from = first_epoch = resumed["epoch"]
        first_epoch += 1
        step = resumed["step"]
        step_loss[:step] = resumed["arrays"]["step_loss"][:total]
    prev_rec = model.recorder
    if recorder is not None:
        model.recorder = recorder
    show = bool(progress) and sys.stderr.isatty()
    if resumed is not None and show:
        tqdm.write(f"resuming after epoch {resumed['epoch']} from {checkpoint}", file=sys.stderr)
    xbuf = np.empty((batch_size, X.shape[1]), X.dtype)
    ybuf = np.empty((batch_size, *y.shape[1:]), y.dtype)
    try:
        with np.errstate(all="ignore"):
            for epoch in range(first_epoch, epochs + 1):
                if step >= total:
                    break
                order = rng.permutation(n) if shuffle else np.arange(n)
                t0 = time.perf_counter()
                sum_loss, correct, seen = 0.0, 0, 0
                bar = tqdm(total=min(steps_per_epoch, total - step), desc=f"epoch {epoch}/{epochs}",
                           disable=not show, leave=False, unit="step")
                for start in range(0, n, batch_size):
                    if step >= total:
                        break
                    idx = order[start:start + batch_size]
                    m = len(idx)
                    xb, yb = (xbuf, ybuf) if m == batch_size else (xbuf[:m], ybuf[:m])
                    # mode="clip": the default mode="raise" gathers into a temporary copy
                    # of the batch and then copies it into out (NumPy buffers out to be able
                    # to raise midway); a permutation's indices are always in range
                    X.take(idx, axis=0, out=xb, mode="clip")
                    y.take(idx, axis=0, out=yb, mode="clip")
                    z = model.forward(xb, True, copy=False)
                    lv = loss.forward(z, yb)
                    step_loss[step] = lv
                    if not math.isfinite(lv):
                        where = _diagnose(model, xb)
                        hist.stopped = (f"Stopped at step {step} (epoch {epoch}): the loss is {lv}. "
                                        f"First non-finite values in {where}. Learning rate too high? (lr={opt.lr:g})")
                        break
                    if fast_acc:
                        correct += loss.n_correct()
                    elif classify:
                        pred = np.argmax(z, axis=1) if z.shape[1] > 1 else (z[:, 0] > 0)
                        correct += int(np.count_nonzero(pred == yb))
                    model.backward(loss.backward())
                    opt.lr = sched(step)
                    opt.step()
                    sum_loss += lv * m
                    seen += m
                    step += 1
                    bar.update()
                    if callback is not None and callback(step, model, lv):
                        hist.stopped = f"Stopped by the callback at step {step}."
                        break
                bar.close()
                seconds = time.perf_counter() - t0
                row: dict[str, Any] = {
                    "epoch": epoch, "steps": step, "loss": sum_loss / seen if seen else float("nan"),
                    "acc": correct / seen if classify and seen else None,
                    "seconds": seconds, "examples_per_s": seen / seconds if seconds > 0 else None,
                }
                if val is not None:
                    if recorder is not None:
                        recorder.paused, was = True, recorder.paused
                    ev = evaluate(model, val[0], val[1], loss)
                    if recorder is not None:
                        recorder.paused = was
                    row["val_loss"], row["val_acc"] = ev["loss"], ev["acc"]
                hist.epochs.append(row)
                if checkpoint is not None and not hist.stopped and seen == n:  # only whole epochs
                    ckpt.save(checkpoint, key=key, model=model, opt=opt, rng=rng, epochs=hist.epochs,
                              step_loss=step_loss[:step])
                if show:
                    extra = f" val_acc {row['val_acc']:.4f}" if row.get("val_acc") is not None else ""
                    tqdm.write(f"epoch {epoch}: loss {row['loss']:.4f}{extra} ({row['examples_per_s'] or 0:,.0f} ex/s)",
                               file=sys.stderr)
                if hist.stopped:
                    break
    finally:
        model.recorder = prev_rec
    hist.step_loss = step_loss[:step + (1 if hist.stopped and "loss is" in hist.stopped else 0)]
    if hist.stopped and show:
        print(hist.stopped, file=sys.stderr)
    return hist


# --------------------------------------------------------------------------- runs (the CLI's library side)


def _data_arg(data: str | None) -> str | None:
    """``"mnist"`` means the default MNIST copy (``$ACTLAB_DATA`` or the bundled one)."""
    return None if data in (None, "", "mnist") else data


def check_run_args(*, arch: str, activation: list[str] | str, output: str, init: str, optimizer: str, lr: float,
                   momentum: float, epochs: int, batch_size: int, schedule: str, dropout: float,
                   n_inputs: int | None = None, n_classes: int | None = None) -> list[int]:
    """Validate a training configuration before any work (each fault is one ActlabError)."""
    from . import nn, registry

    sizes = nn.parse_arch(arch)
    acts = [activation] if isinstance(activation, str) else list(activation)
    for a in acts:
        if a != "prelu":
            registry.get(a)
    if len(acts) not in (1, len(sizes) - 2):
        raise ActlabError(f"The architecture {arch} has {len(sizes) - 2} hidden layers: give one activation or "
                          f"{len(sizes) - 2}. Got {len(acts)} instead.")
    if output not in nn.IDENTITY_NAMES:
        registry.get(output)
    nn.parse_init(init)
    from .errors import check_choice

    check_choice(optimizer, "optimizer", "train", ("sgd", "momentum", "nesterov", "adam"))
    check_real(lr, "lr", "train", 0)
    check_real(momentum, "momentum", "train", 0, 1)
    check_real(dropout, "dropout", "train", 0, 1, high_open=True)
    check_int(epochs, "epochs", "train", low=1)
    check_int(batch_size, "batch_size", "train", low=1)
    nn.schedule(schedule, lr, 1)
    if n_inputs is not None and sizes[0] != n_inputs:
        raise ActlabError(f"The architecture {arch} takes {sizes[0]} inputs but the data has {n_inputs} "
                          f"(e.g. {'-'.join(map(str, [n_inputs, *sizes[1:]]))}).")
    if n_classes is not None and sizes[-1] != n_classes and not (output == "sigmoid" and n_classes == 2 and sizes[-1] == 1):
        raise ActlabError(f"The architecture {arch} has {sizes[-1]} outputs but the data has {n_classes} classes "
                          f"(e.g. {'-'.join(map(str, [*sizes[:-1], n_classes]))}).")
    return sizes


def plot_history(hist: History, path: str | os.PathLike) -> None:
    """Loss per step and accuracy per epoch (train and held-out), written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    a1.plot(np.arange(1, len(hist.step_loss) + 1), hist.step_loss, lw=0.6, label="mini-batch loss")
    a1.set_xlabel("step")
    a1.set_ylabel("loss")
    a1.set_yscale("log")
    ep = [r["epoch"] for r in hist.epochs]
    if any(r.get("acc") is not None for r in hist.epochs):
        a2.plot(ep, [r["acc"] for r in hist.epochs], "o-", label="train (running)")
    if any(r.get("val_acc") is not None for r in hist.epochs):
        a2.plot(ep, [r["val_acc"] for r in hist.epochs], "s-", label="held-out")
    a2.set_xlabel("epoch")
    a2.set_ylabel("accuracy")
    a2.legend()
    a1.legend()
    fig.suptitle(f"{hist.config.get('arch', '')} {hist.config.get('layers', [{}])[1].get('spec', '') if len(hist.config.get('layers', [])) > 1 else ''}")
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)


def run(
    out: str | os.PathLike,
    *,
    data: str | None = "mnist",
    arch: str = "784-64-10",
    activation: list[str] | str = "relu",
    output: str = "softmax",
    init: str = "he",
    optimizer: str = "sgd",
    lr: float = 0.1,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
    schedule: str = "constant",
    epochs: int = 5,
    batch_size: int = 128,
    seed: int = 0,
    batchnorm: bool = False,
    dropout: float = 0.0,
    dtype: str = "float32",
    limit: int | None = None,
    progress: bool = True,
    restart: bool = False,
) -> dict[str, Any]:
    """Train an MLP on MNIST-format data and write ``out``/history.json, model.npz and
    curves.png. Every argument is checked before data is loaded or anything trained.

    ``out``/checkpoint.npz is written after every epoch: re-running with the same
    arguments continues from the last finished epoch (bit-identical result); with other
    arguments it is an error unless ``restart`` (start over)."""
    from . import data as data_mod
    from . import nn
    from ._checkpoint import CheckpointMismatch

    kw = dict(arch=arch, activation=activation, output=output, init=init, optimizer=optimizer, lr=lr,
              momentum=momentum, epochs=epochs, batch_size=batch_size, schedule=schedule, dropout=dropout)
    known = (784, 10) if _data_arg(data) is None else (None, None)
    check_run_args(**kw, n_inputs=known[0], n_classes=known[1])
    if limit is not None:
        limit = check_int(limit, "limit", "train", low=1)
    ds = data_mod.load_dataset(_data_arg(data), dtype=np.dtype(dtype))
    X, y = ds.X_train, ds.y_train
    check_run_args(**kw, n_inputs=X.shape[1], n_classes=ds.num_classes)
    if limit is not None:
        X, y = X[:limit], y[:limit]
    acts = activation if isinstance(activation, str) or len(activation) != 1 else activation[0]
    model = nn.mlp(arch, activation=acts, output=output, init=init, batchnorm=batchnorm, dropout=dropout,
                   seed=seed, dtype=np.dtype(dtype))
    ck = os.path.join(out, "checkpoint.npz")
    try:
        hist = fit(model, X, y, optimizer=optimizer, lr=lr, momentum=momentum, weight_decay=weight_decay,
                   epochs=epochs, batch_size=batch_size, seed=seed, val=(ds.X_test, ds.y_test), schedule=schedule,
                   progress=progress, checkpoint=ck, restart=restart)
    except CheckpointMismatch as err:
        raise CheckpointMismatch(err.path, err.differences, "Use a new --out, or --restart to start over.") from None
    hist.config["data"] = str(ds.directory)
    os.makedirs(out, exist_ok=True)
    hist.to_json(os.path.join(out, "history.json"))
    nn.save(model, os.path.join(out, "model.npz"))
    if len(hist.step_loss):
        plot_history(hist, os.path.join(out, "curves.png"))
    return {"history": hist, "model": model, "out": os.fspath(out)}


def evaluate_file(model_path: str | os.PathLike, data: str | None = "mnist", split: str = "test") -> dict[str, Any]:
    """Accuracy, loss and confusion matrix of a saved model on one split."""
    from . import data as data_mod
    from . import nn

    model = nn.load(model_path)
    X, y = data_mod.load_mnist(_data_arg(data), split=split, dtype=model.dtype)
    if X.shape[1] != model.n_in:
        raise ActlabError(f"The model {model.arch} takes {model.n_in} inputs but the data has {X.shape[1]}.")
    res = evaluate(model, X, y)
    res["confusion"] = confusion_matrix(y, model.predict(X), n_classes=max(model.n_out, int(y.max()) + 1))
    res["arch"] = model.arch
    return res
