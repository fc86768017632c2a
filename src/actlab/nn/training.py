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
from .._memory import check_memory
from ..errors import ActlabError, check_int, check_real
from . import optim, persist
from .hooks import Recorder
from .init import as_rng
from .losses import Loss, loss_for
from .model import Sequential, memory_estimate
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
                if _is_labels(yb):
                    truth = yb
                elif yb.ndim == 2 and yb.shape[1] > 1:
                    truth = np.argmax(yb, axis=1)
                else:
                    truth = yb.reshape(-1) > 0.5
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
        raise ActlabError(f"The model {model.arch} has {model.n_out} outputs; "
                          f"labels must be in [0, {model.n_out - 1}]. Got labels in [{y.min()}, {y.max()}] instead.")
    if X.dtype != model.dtype:
        X = X.astype(model.dtype)
    return X, y


class _Run:
    """The state of one :func:`fit` call, shared by its phases, in the order fit calls them:
    ``__init__`` (checks and setup), :meth:`resume` (from a checkpoint), :meth:`begin`
    (the History and the step counter), :meth:`allocate` (the batch buffers), then per
    epoch :meth:`epoch` (the batch loop) and :meth:`end_epoch` (the history row)."""

    def __init__(self, model: Sequential, X: Any, y: Any, *, val: tuple[Any, Any] | None, loss: Loss | None,
                 optimizer: str | Optimizer, lr: float, momentum: float, nesterov: bool, weight_decay: float,
                 epochs: int, batch_size: int, seed: int | np.random.Generator | None,
                 schedule: str | Callable[[int], float], max_steps: int | None, shuffle: bool,
                 max_memory: int | str | None = None, checkpoint: bool = False) -> None:
        X, y = _check_data(model, X, y, "the training set")
        if val is not None:
            val = _check_data(model, val[0], val[1], "the validation set")
        lr = check_real(lr, "lr", "fit", 0)
        epochs = check_int(epochs, "epochs", "fit", low=1)
        batch_size = check_int(batch_size, "batch_size", "fit", low=1)
        if max_steps is not None:
            max_steps = check_int(max_steps, "max_steps", "fit", low=0)
        # sized before the optimiser, the step-loss record and the batch buffers exist
        # (the model and the data are already there: they are not counted again)
        opt_name = optimizer if isinstance(optimizer, str) else None
        steps = math.ceil(len(X) / batch_size) * epochs
        if max_steps is not None:
            steps = min(steps, max_steps)
        try:
            est = memory_estimate(model, batch_size=batch_size, n_train=len(X), optimizer=opt_name,
                                  momentum=momentum, epochs=epochs, max_steps=max_steps, checkpoint=checkpoint)
        except ActlabError:  # layers the estimate does not know (a hand-made Layer subclass)
            est = None
        if est is not None:
            for part in ("parameters", "gradients", "data"):
                est.parts.pop(part, None)
            check_memory(est, f"training {model.arch} (batch size {batch_size}, {steps:,} steps)", max_memory,
                         "use a smaller batch size or fewer epochs, or pass max_memory= to set the budget")
        self.model, self.X, self.y, self.val = model, X, y, val
        self.loss = loss = loss if loss is not None else loss_for(model.output)
        self.opt = opt = optim.make_optimizer(optimizer, model.parameters(), lr, momentum, nesterov, weight_decay)
        self.n = n = len(X)
        self.epochs, self.batch_size, self.max_steps, self.shuffle = epochs, batch_size, max_steps, shuffle
        self.steps_per_epoch = math.ceil(n / batch_size)
        self.total = total = (self.steps_per_epoch * epochs if max_steps is None
                              else min(max_steps, self.steps_per_epoch * epochs))
        # the arguments as given are kept too: the run key and the History config record them
        self.seed, self.schedule = seed, schedule
        self.sched = optim.schedule(schedule, opt.lr, total)
        self.lr = opt.lr  # the lr asked for (a restored optimiser holds its last scheduled one)
        self.rng = as_rng(seed)
        self.checkpoint: str | None = None
        self.key: dict[str, Any] | None = None

    def resume(self, checkpoint: str | os.PathLike, restart: bool,
               max_memory: int | str | None = None) -> dict[str, Any] | None:
        """The checkpoint at ``checkpoint`` (None if absent), with the model, optimiser and
        shuffling generator put in its state; a checkpoint of another run raises."""
        self.checkpoint = checkpoint = os.fspath(checkpoint)
        # the key is taken before restore(): it describes the run's start (initial weights,
        # generator state), which is what a checkpoint of the same run was keyed on
        self.key = key = persist.run_key(
            self.model, self.opt, self.loss, X=self.X, y=self.y, val=self.val, schedule=self.schedule,
            batch_size=self.batch_size, seed=self.seed, shuffle_state=self.rng.bit_generator.state,
            shuffle=self.shuffle, epochs=self.epochs, max_steps=self.max_steps)
        if restart and os.path.exists(checkpoint):
            os.unlink(checkpoint)
        resumed = persist.load_checkpoint(checkpoint, max_memory=max_memory)
        if resumed is not None:
            diff = persist.differences(resumed["key"], key)
            if resumed["step"] > self.total:
                diff.append(f"it is at step {resumed['step']} (epoch {resumed['epoch']}), "
                            f"beyond this run's {self.total} steps")
            if diff:
                raise persist.CheckpointMismatch(checkpoint, diff, "Use another checkpoint path, or restart=True.")
            persist.restore(resumed, self.model, self.opt, self.rng)
        return resumed

    def begin(self, resumed: dict[str, Any] | None) -> History:
        """The History (with the epochs of the checkpoint ``resumed``); sets the step counter
        and the first epoch to run."""
        model, loss, opt, schedule = self.model, self.loss, self.opt, self.schedule
        self.classify = classify = _is_labels(self.y) and model.output != "identity"
        self.fast_acc = classify and hasattr(loss, "n_correct")
        self.hist = hist = History(config={
            "arch": model.arch, "layers": [layer.config() for layer in model.layers], "output": model.output,
            "loss": repr(loss), "optimizer": type(opt).__name__, "lr": self.lr,
            "momentum": getattr(opt, "momentum", None), "weight_decay": opt.weight_decay, "epochs": self.epochs,
            "batch_size": self.batch_size, "seed": self.seed if isinstance(self.seed, int) else None,
            "schedule": schedule if isinstance(schedule, str) else "custom",
            "dtype": str(model.dtype), "n_train": self.n,
        })
        self.step_loss = np.full(self.total, np.nan)
        self.step, self.first_epoch = 0, 1
        if resumed is not None:
            hist.epochs = resumed["epochs"]
            hist.resumed_from = resumed["epoch"]
            self.first_epoch = resumed["epoch"] + 1
            self.step = resumed["step"]
            self.step_loss[:self.step] = resumed["arrays"]["step_loss"][:self.total]
        return hist

    def allocate(self) -> None:
        """The batch buffers every step gathers into (the last, short batch into a view)."""
        # never more rows than the data has: a batch size beyond it is one full batch
        rows = max(min(self.batch_size, self.n), 1)
        self.xbuf = np.empty((rows, self.X.shape[1]), self.X.dtype)
        self.ybuf = np.empty((rows, *self.y.shape[1:]), self.y.dtype)

    def epoch(self, epoch: int, show: bool,
              callback: Callable[[int, Sequential, float], bool | None] | None) -> tuple[float, int, int, float]:
        """Run the batches of one epoch (until ``total`` steps, a non-finite loss or the
        callback stop it): (sum of loss x batch size, correct, examples seen, seconds)."""
        from tqdm import tqdm

        # The batch loop runs per step and is benchmarked: everything it uses is bound to a
        # local here, once per epoch, so a step costs no attribute lookup on self.
        X, y, xbuf, ybuf, model, loss, opt, sched = (self.X, self.y, self.xbuf, self.ybuf, self.model,
                                                     self.loss, self.opt, self.sched)
        step_loss, hist, classify, fast_acc = self.step_loss, self.hist, self.classify, self.fast_acc
        n, batch_size, total, step = self.n, self.batch_size, self.total, self.step
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        t0 = time.perf_counter()
        sum_loss, correct, seen = 0.0, 0, 0
        bar = tqdm(total=min(self.steps_per_epoch, total - step), desc=f"epoch {epoch}/{self.epochs}",
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
        self.step = step
        return sum_loss, correct, seen, time.perf_counter() - t0

    def end_epoch(self, epoch: int, sum_loss: float, correct: int, seen: int, seconds: float,
                  recorder: Recorder | None, show: bool) -> None:
        """Append the epoch's row to the History (with the held-out evaluation), write the
        checkpoint after a whole epoch, print the progress line."""
        from tqdm import tqdm

        hist = self.hist
        row: dict[str, Any] = {
            "epoch": epoch, "steps": self.step, "loss": sum_loss / seen if seen else float("nan"),
            "acc": correct / seen if self.classify and seen else None,
            "seconds": seconds, "examples_per_s": seen / seconds if seconds > 0 else None,
        }
        if self.val is not None:
            # the held-out forward passes are not training steps: keep them out of the recorder
            if recorder is not None:
                recorder.paused, was = True, recorder.paused
            ev = evaluate(self.model, self.val[0], self.val[1], self.loss)
            if recorder is not None:
                recorder.paused = was
            row["val_loss"], row["val_acc"] = ev["loss"], ev["acc"]
        hist.epochs.append(row)
        if self.checkpoint is not None and not hist.stopped and seen == self.n:  # only whole epochs
            persist.save_checkpoint(self.checkpoint, key=self.key, model=self.model, opt=self.opt, rng=self.rng,
                                    epochs=hist.epochs, step_loss=self.step_loss[:self.step])
        if show:
            extra = f" val_acc {row['val_acc']:.4f}" if row.get("val_acc") is not None else ""
            tqdm.write(f"epoch {epoch}: loss {row['loss']:.4f}{extra} ({row['examples_per_s'] or 0:,.0f} ex/s)",
                       file=sys.stderr)


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
    max_memory: int | str | None = None,
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

    What training adds to the model and the data (optimiser state, layer buffers at the
    batch size, the batch, the per-step record, the checkpoint) is estimated first
    (:func:`~actlab.nn.model.memory_estimate`) and refused beyond ``max_memory`` (bytes or
    e.g. ``"4G"``; default: the memory available) before anything is allocated.
    """
    from tqdm import tqdm

    run = _Run(model, X, y, val=val, loss=loss, optimizer=optimizer, lr=lr, momentum=momentum, nesterov=nesterov,
               weight_decay=weight_decay, epochs=epochs, batch_size=batch_size, seed=seed, schedule=schedule,
               max_steps=max_steps, shuffle=shuffle, max_memory=max_memory, checkpoint=checkpoint is not None)
    resumed = run.resume(checkpoint, restart, max_memory) if checkpoint is not None else None
    hist = run.begin(resumed)
    run.allocate()  # before the recorder is attached: a failed allocation leaves the model as it was
    prev_rec = model.recorder
    if recorder is not None:
        model.recorder = recorder
    show = bool(progress) and sys.stderr.isatty()
    if resumed is not None and show:
        tqdm.write(f"resuming after epoch {resumed['epoch']} from {run.checkpoint}", file=sys.stderr)
    try:
        with np.errstate(all="ignore"):
            for epoch in range(run.first_epoch, run.epochs + 1):
                if run.step >= run.total:
                    break
                sum_loss, correct, seen, seconds = run.epoch(epoch, show, callback)
                run.end_epoch(epoch, sum_loss, correct, seen, seconds, recorder, show)
                if hist.stopped:
                    break
    finally:
        model.recorder = prev_rec
    # a non-finite stop keeps the loss of the step that stopped it
    hist.step_loss = run.step_loss[:run.step + (1 if hist.stopped and "loss is" in hist.stopped else 0)]
    if hist.stopped and show:
        print(hist.stopped, file=sys.stderr)
    return hist
