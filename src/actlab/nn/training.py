"""Training and evaluation: :func:`fit`, :func:`evaluate`, :class:`History`.

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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._io import write_atomic
from ..errors import ActlabError, check_int, check_real
from . import persist
from .hooks import Recorder
from .init import as_rng
from .losses import Loss, loss_for
from .model import Sequential
from . import optim
from .optim import Optimizer

__all__ = ["History", "fit", "evaluate", "confusion_matrix"]


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
    :mod:`actlab.nn.persist`). If it exists when ``fit`` starts, training continues after
    its last epoch and ends with the same weights and history, bit for bit, as an
    uninterrupted run (timings aside); ``model`` must then be freshly built exactly as for
    the first run. A checkpoint of a different run (other data, hyperparameters, initial
    weights, ...) raises an ActlabError naming the differences; ``restart=True`` deletes
    it and starts over. With the constant schedule ``epochs`` may grow between runs
    (continue training). A recorder only sees the steps run in this call.
    """
    from tqdm import tqdm

    X, y = _check_data(model, X, y, "the training set")
    if val is not None:
        val = _check_data(model, val[0], val[1], "the validation set")
    lr = check_real(lr, "lr", "fit", 0)
    epochs = check_int(epochs, "epochs", "fit", low=1)
    batch_size = check_int(batch_size, "batch_size", "fit", low=1)
    if max_steps is not None:
        max_steps = check_int(max_steps, "max_steps", "fit", low=0)
    loss = loss if loss is not None else loss_for(model.output)
    opt = optim.make_optimizer(optimizer, model.parameters(), lr, momentum, nesterov, weight_decay)
    n = len(X)
    steps_per_epoch = math.ceil(n / batch_size)
    total = steps_per_epoch * epochs if max_steps is None else min(max_steps, steps_per_epoch * epochs)
    sched = optim.schedule(schedule, opt.lr, total)
    rng = as_rng(seed)
    resumed = None
    if checkpoint is not None:
        checkpoint = os.fspath(checkpoint)
        key = persist.run_key(model, opt, loss, X=X, y=y, val=val, schedule=schedule, batch_size=batch_size, seed=seed,
                           shuffle_state=rng.bit_generator.state, shuffle=shuffle, epochs=epochs, max_steps=max_steps)
        if restart and os.path.exists(checkpoint):
            os.unlink(checkpoint)
        resumed = persist.load_checkpoint(checkpoint)
        if resumed is not None:
            diff = persist.differences(resumed["key"], key)
            if resumed["step"] > total:
                diff.append(f"it is at step {resumed['step']} (epoch {resumed['epoch']}), beyond this run's {total} steps")
            if diff:
                raise persist.CheckpointMismatch(checkpoint, diff, "Use another checkpoint path, or restart=True.")
            persist.restore(resumed, model, opt, rng)
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
                    persist.save_checkpoint(checkpoint, key=key, model=model, opt=opt, rng=rng, epochs=hist.epochs,
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


