"""PyTorch equivalents of the catalogue entries: the peer that accuracy, speed and kink
conventions are compared against.

Each peer is torch's own function (``torch.nn.functional`` or a native ``torch`` op), not
a formula rewritten with torch ops, so that comparing against it says something about
torch. Derivatives come from autograd. torch is imported lazily and is optional: every
function here returns None when it is not installed.

Entries torch has no function for are listed in :data:`TORCH_LACKS` with the reason.

>>> from actlab.verify import peers
>>> peers.TORCH_LACKS["squareplus"]
'no torch function (Keras 3 and JAX have one)'
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..catalogue.registry import REGISTRY, Bound
from ..errors import ActlabError

__all__ = ["Peer", "TORCH_LACKS", "torch_available", "peer", "peers", "f", "df", "jacobian"]

#: Catalogue entries without a torch function, and why (how torch users would get them).
TORCH_LACKS: dict[str, str] = {
    "step": "torch.heaviside has no autograd formula",
    "thresholded_relu": "no torch function (Keras 2 had ThresholdedReLU)",
    "squareplus": "no torch function (Keras 3 and JAX have one)",
    "sparse_plus": "no torch function (Keras 3 and JAX have one)",
    "sparse_sigmoid": "no torch function (Keras 3 and JAX have one)",
    "log1mexp": "no torch function (JAX has one)",
    "bent_identity": "no torch function",
    "gaussian": "no torch function",
    "sparsemax": "no torch function (Keras 3 has one)",
}


@dataclass(frozen=True)
class Peer:
    """torch's version of one entry.

    ``call(t, **params)`` gives f of a tensor (vector entries along ``dim=-1``), with the
    parameters named as in the registry; ``out(t, o, **params)`` writes f into a
    preallocated tensor ``o`` when torch has an ``out=`` variant (else None); ``torch_name``
    says which torch function it is.
    """

    name: str
    call: Callable[..., Any]
    torch_name: str
    out: Callable[..., Any] | None = None
    vector: bool = False


@functools.lru_cache(maxsize=1)
def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def torch_available() -> bool:
    return _torch() is not None


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, Peer]:
    torch = _torch()
    if torch is None:
        return {}
    F = torch.nn.functional
    nn = torch._C._nn  # the native kernels behind F, which accept out=
    table: dict[str, Peer] = {}

    def add(name, call, torch_name, out=None, vector=False):
        table[name] = Peer(name, call, torch_name, out, vector)

    add("identity", torch.nn.Identity(), "torch.nn.Identity")
    add("sigmoid", torch.sigmoid, "torch.sigmoid", lambda t, o: torch.sigmoid(t, out=o))
    add("hard_sigmoid", F.hardsigmoid, "F.hardsigmoid", lambda t, o: nn.hardsigmoid(t, out=o))
    add("log_sigmoid", F.logsigmoid, "F.logsigmoid", lambda t, o: nn.log_sigmoid(t, out=o))
    add("tanh", torch.tanh, "torch.tanh", lambda t, o: torch.tanh(t, out=o))
    add("hard_tanh", lambda t, min_val=-1.0, max_val=1.0: F.hardtanh(t, min_val, max_val), "F.hardtanh",
        lambda t, o, min_val=-1.0, max_val=1.0: nn.hardtanh(t, min_val, max_val, out=o))
    add("relu", F.relu, "F.relu", lambda t, o: torch.clamp_min(t, 0, out=o))
    add("relu6", F.relu6, "F.relu6", lambda t, o: torch.clamp(t, 0, 6, out=o))
    add("leaky_relu", lambda t, slope=0.01: F.leaky_relu(t, slope), "F.leaky_relu",
        lambda t, o, slope=0.01: nn.leaky_relu(t, slope, out=o))
    add("prelu", lambda t, slope=0.25: F.prelu(t, torch.tensor([slope], dtype=t.dtype)), "F.prelu")
    add("rrelu", lambda t, lower=1 / 8, upper=1 / 3: F.rrelu(t, lower, upper, training=False),
        "F.rrelu(training=False)")
    add("threshold", lambda t, threshold=0.0, value=0.0: F.threshold(t, threshold, value), "F.threshold",
        lambda t, o, threshold=0.0, value=0.0: torch.threshold(t, threshold, value, out=o))
    add("elu", lambda t, alpha=1.0: F.elu(t, alpha), "F.elu", lambda t, o, alpha=1.0: nn.elu(t, alpha, out=o))
    add("selu", F.selu, "F.selu")
    add("celu", lambda t, alpha=1.0: F.celu(t, alpha), "F.celu")
    add("gelu", F.gelu, "F.gelu", lambda t, o: nn.gelu(t, out=o))
    add("gelu_tanh", lambda t: F.gelu(t, approximate="tanh"), "F.gelu(approximate='tanh')",
        lambda t, o: nn.gelu(t, approximate="tanh", out=o))
    add("silu", _fixed(F.silu, beta=1.0), "F.silu", _fixed(lambda t, o: nn.silu(t, out=o), beta=1.0))
    add("hard_silu", F.hardswish, "F.hardswish", lambda t, o: nn.hardswish(t, out=o))
    add("mish", F.mish, "F.mish", lambda t, o: nn.mish(t, out=o))
    add("softplus", lambda t, beta=1.0: F.softplus(t, beta), "F.softplus",
        lambda t, o, beta=1.0: nn.softplus(t, beta, 20.0, out=o))
    add("softsign", F.softsign, "F.softsign")
    add("tanh_shrink", F.tanhshrink, "F.tanhshrink")
    add("hard_shrink", lambda t, lambd=0.5: F.hardshrink(t, lambd), "F.hardshrink",
        lambda t, o, lambd=0.5: torch.hardshrink(t, lambd, out=o))
    add("soft_shrink", lambda t, lambd=0.5: F.softshrink(t, lambd), "F.softshrink",
        lambda t, o, lambd=0.5: nn.softshrink(t, lambd, out=o))
    add("exponential", torch.exp, "torch.exp", lambda t, o: torch.exp(t, out=o))
    add("arctan", torch.atan, "torch.atan", lambda t, o: torch.atan(t, out=o))
    add("sinusoid", torch.sin, "torch.sin", lambda t, o: torch.sin(t, out=o))
    add("softmax", lambda t: F.softmax(t, dim=-1), "F.softmax", vector=True)
    add("log_softmax", lambda t: F.log_softmax(t, dim=-1), "F.log_softmax", vector=True)
    add("softmin", lambda t: F.softmin(t, dim=-1), "F.softmin", vector=True)
    add("glu", lambda t: F.glu(t, dim=-1), "F.glu", vector=True)
    return table


def _fixed(fn: Callable[..., Any], **fixed: float) -> Callable[..., Any]:
    """``fn`` for an actlab entry with parameters torch does not have: only at the given values."""

    def call(*args: Any, **params: float) -> Any:
        for key, value in params.items():
            if value != fixed[key]:
                raise ActlabError(f"torch has no {key!r} parameter here: its peer exists only at {key}={fixed[key]!r}.")
        return fn(*args)

    return call


def peers() -> dict[str, Peer]:
    """The torch peers of the registry entries that exist (empty when torch is absent)."""
    return {n: p for n, p in _table().items() if n in REGISTRY}


def peer(name: str) -> Peer | None:
    """torch's version of a registry entry, or None (torch absent, or torch lacks it)."""
    return _table().get(name)


def _tensor(x: np.ndarray, grad: bool = False):
    torch = _torch()
    return torch.tensor(np.asarray(x), requires_grad=grad)


def f(act: Bound, x: np.ndarray) -> np.ndarray | None:
    """torch's f at x (same dtype; vector entries along the last axis), or None."""
    p = peer(act.name)
    if p is None:
        return None
    torch = _torch()
    with torch.no_grad():
        return p.call(_tensor(x), **act.params).numpy()


def df(act: Bound, x: np.ndarray) -> np.ndarray | None:
    """torch's f'(x) by autograd (the gradient of sum f(x)), or None. Elementwise entries."""
    p = peer(act.name)
    if p is None or p.vector:
        return None
    torch = _torch()
    t = _tensor(x, grad=True)
    y = p.call(t, **act.params)
    (g,) = torch.autograd.grad(y, t, torch.ones_like(y), allow_unused=True)
    return (torch.zeros_like(t) if g is None else g).detach().numpy()


def jacobian(act: Bound, row: np.ndarray) -> np.ndarray | None:
    """torch's Jacobian of a vector entry at one 1-D row, axes (output, input), or None."""
    p = peer(act.name)
    if p is None or not p.vector:
        return None
    torch = _torch()
    return torch.autograd.functional.jacobian(lambda t: p.call(t, **act.params), _tensor(row)).numpy()
