"""A transparent NumPy neural-network engine: layers, losses, optimisers, training.

Everything an experiment needs is here (``from actlab import nn``), one module per part:
:mod:`~actlab.nn.layers`, :mod:`~actlab.nn.init` (initialisers, seeds),
:mod:`~actlab.nn.model` (Sequential, mlp, from_weights), :mod:`~actlab.nn.losses`,
:mod:`~actlab.nn.optim`, :mod:`~actlab.nn.hooks` (the recorder), :mod:`~actlab.nn.training` (fit, evaluate),
:mod:`~actlab.nn.persist` (save, load, checkpoints), :mod:`~actlab.nn.gradient_check` and
:mod:`~actlab.nn.diagnostics`; memory estimates (``memory_estimate`` in model, checked
by :mod:`actlab._memory` before anything is allocated). The engine imports the catalogue
and nothing above it.
Conventions:

* weights are ``W`` of shape (n_in, n_out) and ``y = x W + b`` (the book's layout);
* float32 by default, float64 on request (``dtype=``); no silent upcast on the way;
* randomness only from ``seed`` (an int or an ``np.random.Generator``): the same seed
  gives bit-identical weights, batches and losses;
* the network returns logits: the output activation (softmax, sigmoid, identity) is fused
  into the loss, whose gradient is then exact and cheap, e.g. softmax(z) - onehot(y);
* all parameters of a :class:`Sequential` are views into one flat array (and their
  gradients into another), so an optimiser step is a handful of whole-array operations.

>>> import numpy as np
>>> from actlab import nn
>>> model = nn.mlp("4-8-3", activation="relu", seed=0)
>>> X = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
>>> y = np.arange(16) % 3
>>> loss = nn.SoftmaxCrossEntropy()
>>> opt = nn.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> first = loss.forward(model.forward(X, train=True), y)
>>> for _ in range(50):
...     l = loss.forward(model.forward(X, train=True), y)
...     model.backward(loss.backward())
...     opt.step()
>>> bool(l < first)
True
"""

from .._memory import MemoryEstimate, available_memory, check_memory, parse_memory
from . import diagnostics
from .gradient_check import gradcheck, gradcheck_layer
from .hooks import Recorder, record, summarize
from .init import GAINED, INITS, as_rng, initialize, parse_init
from .layers import LAYER_TYPES, Activation, BatchNorm, Dense, Dropout, Layer, Parameter, PReLU
from .losses import MSE, Loss, SigmoidBCE, SoftmaxCrossEntropy, loss_for
from .model import (
    IDENTITY_NAMES,
    Sequential,
    check_architecture,
    from_architecture,
    from_weights,
    memory_estimate,
    mlp,
    mlp_architecture,
    parse_arch,
)
from .optim import OPTIMIZERS, SGD, Adam, Optimizer, make_optimizer, schedule
from .persist import CheckpointMismatch, CheckpointUnreadable, load, read_architecture, save
from .training import History, confusion_matrix, evaluate, fit

__all__ = [
    "Parameter", "Layer", "Dense", "Activation", "PReLU", "BatchNorm", "Dropout", "LAYER_TYPES",
    "Sequential", "mlp", "from_weights", "from_architecture", "parse_arch", "IDENTITY_NAMES",
    "mlp_architecture", "check_architecture", "memory_estimate", "MemoryEstimate", "available_memory",
    "check_memory", "parse_memory",
    "initialize", "parse_init", "as_rng", "INITS", "GAINED",
    "Loss", "SoftmaxCrossEntropy", "SigmoidBCE", "MSE", "loss_for",
    "Optimizer", "SGD", "Adam", "OPTIMIZERS", "schedule", "make_optimizer",
    "save", "load", "read_architecture", "CheckpointMismatch", "CheckpointUnreadable", "gradcheck", "gradcheck_layer",
    "fit", "evaluate", "confusion_matrix", "History", "Recorder", "record", "summarize", "diagnostics",
]
