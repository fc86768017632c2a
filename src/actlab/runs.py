"""Training runs on disk: what ``actlab train``, ``evaluate`` and ``diagnose`` do.

:func:`run` trains an MLP on an MNIST-format data set into a folder (``history.json``,
``model.npz``, ``curves.png`` and a ``checkpoint.npz`` that lets a re-run resume);
:func:`evaluate_file` and :func:`diagnose_file` load a saved model and measure it. Every
argument is validated before any data is loaded or anything trained, and the memory the
work needs is estimated from the settings, the data files' headers and the model file's
headers (:func:`actlab.nn.memory_estimate`) and refused beyond ``max_memory`` (bytes or
e.g. ``"4G"``; default: the memory available) before anything is allocated. This module
joins the engine (:mod:`actlab.nn`) with the data (:mod:`actlab.data`) and the figures
(:mod:`actlab.plots`); the command line only parses and prints.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from . import data as data_mod
from . import nn, plots
from .catalogue import registry
from .errors import ActlabError, check_choice, check_int, check_real
from .nn.diagnostics import DEAD_EPS, SAT_EPS, SAT_MOST, dead_units, definitions, gradient_summary

__all__ = ["run", "check_run_args", "evaluate_file", "diagnose_file", "OPTIMIZERS"]

#: the optimiser names ``actlab train`` takes ("momentum" and "nesterov" are SGD variants)
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
#: rows per chunk when a saved model is evaluated (nn.evaluate: 2000) or diagnosed
#: (dead_units: 2048): what the estimate counts
EVAL_ROWS = 2048


def _data_arg(data: str | None) -> str | None:
    """``"mnist"`` means the default MNIST copy (``$ACTLAB_DATA`` or the bundled one)."""
    return None if data in (None, "", "mnist") else data


def _budget(max_memory: int | str | None, owner: str) -> int | None:
    return None if max_memory is None else nn.parse_memory(max_memory, "max_memory", owner)


def _data_bytes(shapes: dict[str, tuple[int, ...]], roles: list[str]) -> int:
    """What the loader keeps of the files: their decoded (uint8) arrays."""
    return sum(math.prod(shapes[r]) for r in roles)


def check_run_args(*, arch: str, activation: list[str] | str, output: str, init: str, optimizer: str, lr: float,
                   momentum: float, epochs: int, batch_size: int, schedule: str, dropout: float,
                   n_inputs: int | None = None, n_classes: int | None = None, seed: int = 0,
                   weight_decay: float = 0.0, batchnorm: bool = False, dtype: str = "float32") -> list[int]:
    """Validate a training configuration before any work (each fault is one ActlabError)."""
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
    check_choice(optimizer, "optimizer", "train", OPTIMIZERS)
    check_real(lr, "lr", "train", 0)
    check_real(momentum, "momentum", "train", 0, 1)
    check_real(weight_decay, "weight_decay", "train", 0)
    check_real(dropout, "dropout", "train", 0, 1, high_open=True)
    check_int(epochs, "epochs", "train", low=1)
    check_int(batch_size, "batch_size", "train", low=1)
    check_int(seed, "seed", "train", low=0)
    nn.schedule(schedule, lr, 1)
    # the network as mlp will build it: widths that fit (glu halves its layer's), dtype
    nn.mlp_architecture(sizes, activation=acts if len(acts) > 1 else acts[0], output=output,
                        batchnorm=batchnorm, dropout=dropout, dtype=dtype)
    if n_inputs is not None and sizes[0] != n_inputs:
        raise ActlabError(f"The architecture {arch} takes {sizes[0]} inputs but the data has {n_inputs} "
                          f"(e.g. {'-'.join(map(str, [n_inputs, *sizes[1:]]))}).")
    if n_classes is not None and sizes[-1] != n_classes and not (
        output == "sigmoid" and n_classes == 2 and sizes[-1] == 1
    ):
        raise ActlabError(f"The architecture {arch} has {sizes[-1]} outputs but the data has {n_classes} classes "
                          f"(e.g. {'-'.join(map(str, [*sizes[:-1], n_classes]))}).")
    return sizes


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
    max_memory: int | str | None = None,
) -> dict[str, Any]:
    """Train an MLP on MNIST-format data and write ``out``/history.json, model.npz and
    curves.png. Every argument is checked before data is loaded or anything trained, and
    the memory of the whole run (model, optimiser, layer buffers at the batch size, the
    data in ``dtype``, the per-step record) is estimated from the settings and the data
    files' headers and refused beyond ``max_memory`` (default: the memory available).

    ``out``/checkpoint.npz is written after every epoch: re-running with the same
    arguments continues from the last finished epoch (bit-identical result); with other
    arguments it is an error unless ``restart`` (start over)."""
    kw = dict(arch=arch, activation=activation, output=output, init=init, optimizer=optimizer, lr=lr,
              momentum=momentum, epochs=epochs, batch_size=batch_size, schedule=schedule, dropout=dropout,
              seed=seed, weight_decay=weight_decay, batchnorm=batchnorm, dtype=dtype)
    known = (784, 10) if _data_arg(data) is None else (None, None)
    check_run_args(**kw, n_inputs=known[0], n_classes=known[1])
    if limit is not None:
        limit = check_int(limit, "limit", "train", low=1)
    budget = _budget(max_memory, "train")
    # sized from the headers, before any data is decoded or any weight drawn
    shapes = data_mod.data_shapes(_data_arg(data))
    n_inputs = math.prod(shapes["train_images"][1:])
    check_run_args(**kw, n_inputs=n_inputs)
    n_train = min(shapes["train_images"][0], limit or math.inf)
    acts = activation if isinstance(activation, str) or len(activation) != 1 else activation[0]
    est = nn.memory_estimate(
        nn.mlp_architecture(arch, activation=acts, output=output, batchnorm=batchnorm, dropout=dropout, dtype=dtype),
        batch_size=batch_size, n_train=n_train, n_eval=shapes["test_images"][0], optimizer=optimizer,
        momentum=momentum, epochs=epochs, checkpoint=True, build=True)
    est.add("data files", _data_bytes(shapes, list(shapes)))
    nn.check_memory(est, f"training {arch} ({dtype}, batch size {batch_size}, {n_train:,} examples)", budget,
                    "use a smaller --arch, --batch-size or --epochs, or set --max-memory")
    ds = data_mod.load_dataset(_data_arg(data), dtype=np.dtype(dtype), max_memory=budget)
    X, y = ds.X_train, ds.y_train
    check_run_args(**kw, n_inputs=X.shape[1], n_classes=ds.num_classes)
    if limit is not None:
        X, y = X[:limit], y[:limit]
    model = nn.mlp(arch, activation=acts, output=output, init=init, batchnorm=batchnorm, dropout=dropout,
                   seed=seed, dtype=np.dtype(dtype), max_memory=budget)
    ck = os.path.join(out, "checkpoint.npz")
    try:
        hist = nn.fit(model, X, y, optimizer=optimizer, lr=lr, momentum=momentum, weight_decay=weight_decay,
                   epochs=epochs, batch_size=batch_size, seed=seed, val=(ds.X_test, ds.y_test), schedule=schedule,
                   progress=progress, checkpoint=ck, restart=restart, max_memory=budget)
    except nn.CheckpointMismatch as err:
        raise nn.CheckpointMismatch(err.path, err.differences, "Use a new --out, or --restart to start over.") from None
    except nn.CheckpointUnreadable as err:
        raise nn.CheckpointUnreadable(err.path, err.reason, "delete it or use --restart") from None
    hist.config["data"] = str(ds.directory)
    os.makedirs(out, exist_ok=True)
    hist.to_json(os.path.join(out, "history.json"))
    nn.save(model, os.path.join(out, "model.npz"))
    if len(hist.step_loss):
        plots.training_curves(hist, os.path.join(out, "curves.png"))
    return {"history": hist, "model": model, "out": os.fspath(out)}


def _load_for(model_path: str | os.PathLike, data: str | None, split: str, owner: str,
              max_memory: int | str | None) -> tuple[nn.Sequential, np.ndarray, np.ndarray]:
    """A saved model and one split of the data, each sized (model file headers, IDX headers)
    and refused beyond the budget before it is read."""
    check_choice(split, "split", owner, data_mod.SPLITS)
    budget = _budget(max_memory, owner)
    arch = nn.read_architecture(model_path)
    shapes = data_mod.data_shapes(_data_arg(data))
    n = shapes[f"{split}_images"][0]  # the whole split is loaded (and converted), even with a limit
    est = nn.memory_estimate(arch, n_eval=n, eval_batch=EVAL_ROWS)
    est.add("data files", _data_bytes(shapes, list(shapes)))
    verb = {"evaluate": "evaluating", "diagnose": "diagnosing"}[owner]
    nn.check_memory(est, f"{verb} the model {nn.model.arch_name(arch)} ({model_path}) on {n:,} {split} examples",
                    budget, "set --max-memory to change the budget")
    model = nn.load(model_path, max_memory=budget)
    X, y = data_mod.load_mnist(_data_arg(data), split=split, dtype=model.dtype, max_memory=budget)
    if X.shape[1] != model.n_in:
        raise ActlabError(f"The model {model.arch} takes {model.n_in} inputs but the data has {X.shape[1]}.")
    return model, X, y


def evaluate_file(model_path: str | os.PathLike, data: str | None = "mnist", split: str = "test",
                  max_memory: int | str | None = None) -> dict[str, Any]:
    """Accuracy, loss and confusion matrix of a saved model on one split. A model file
    that is damaged, or whose weights are not finite, is refused (one ActlabError naming
    the file)."""
    model, X, y = _load_for(model_path, data, split, "evaluate", max_memory)
    res = nn.evaluate(model, X, y)
    res["confusion"] = nn.confusion_matrix(y, model.predict(X), n_classes=max(model.n_out, int(y.max()) + 1))
    res["arch"] = model.arch
    return res


def diagnose_file(model_path: str, data: str | None = "mnist", split: str = "test", limit: int | None = None,
                  dead_eps: float = DEAD_EPS, sat_eps: float = SAT_EPS, sat_most: float = SAT_MOST,
                  max_memory: int | str | None = None) -> dict[str, Any]:
    """The CLI's library side: a saved model (``nn.save``) diagnosed on an MNIST-format split."""
    if limit is not None:
        limit = check_int(limit, "limit", "diagnose", low=1)
    model, X, y = _load_for(model_path, data, split, "diagnose", max_memory)
    if limit is not None:
        X, y = X[:limit], y[:limit]
    units = dead_units(model, X, dead_eps=dead_eps, sat_eps=sat_eps, sat_most=sat_most)
    grads = gradient_summary(model, X[:1000], y[:1000]) if model.output != "identity" else []
    return {"model": model, "units": units, "gradients": grads, "samples": len(X),
            "definitions": definitions(dead_eps, sat_eps, sat_most)}
