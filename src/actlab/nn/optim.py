"""Optimisers (SGD with momentum or Nesterov, Adam) and learning-rate schedules."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..catalogue.registry import parse_spec
from ..errors import ActlabError, check_choice, check_int, check_real, unknown
from .layers import Parameter


def _flat(params: list[Parameter]) -> tuple[np.ndarray, np.ndarray] | None:
    """The (value, grad) flat arrays if ``params`` are, in order, exactly the views a
    :class:`Sequential` packed; else None (then the optimiser loops over parameters)."""
    if not params:
        return None
    vb, gb = params[0].value.base, params[0].grad.base
    if vb is None or gb is None or vb.ndim != 1 or sum(p.value.size for p in params) != vb.size:
        return None
    off = 0
    start_v, start_g = vb.ctypes.data, gb.ctypes.data
    item = vb.itemsize
    for p in params:
        if p.value.base is not vb or p.grad.base is not gb:
            return None
        if p.value.ctypes.data != start_v + off * item or p.grad.ctypes.data != start_g + off * item:
            return None
        off += p.value.size
    return vb, gb


class Optimizer:
    """Base class: holds parameters and the learning rate ``lr`` (settable)."""

    def __init__(self, params: Iterable[Parameter], lr: float, weight_decay: float = 0.0) -> None:
        self.params = list(params)
        if not self.params:
            raise ActlabError("The optimiser got no parameters.")
        self.lr = check_real(lr, "lr", type(self).__name__, 0, low_open=False)
        self.weight_decay = check_real(weight_decay, "weight_decay", type(self).__name__, 0)
        flat = _flat(self.params)
        # one group: the packed flat arrays, or one (value, grad) pair per parameter
        self.groups = [flat] if flat is not None else [(p.value, p.grad) for p in self.params]
        self.t = 0

    def zero_grad(self) -> None:
        for _, g in self.groups:
            g[...] = 0

    def step(self) -> None:
        self.t += 1
        for i, (w, g) in enumerate(self.groups):
            self._update(i, w, g)

    def _update(self, i: int, w: np.ndarray, g: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    #: names of the per-group state arrays (e.g. SGD's "velocity", Adam's "m" and "v")
    STATE: tuple[str, ...] = ()

    def state_dict(self) -> dict[str, Any]:
        """The optimiser's running state: step count ``t``, learning rate, and its
        per-group arrays (momentum buffers, Adam moments), as ``"name.i"`` -> array.
        What a checkpoint needs to continue bit for bit."""
        out: dict[str, Any] = {"t": self.t, "lr": self.lr}
        for name in self.STATE:
            arrays = getattr(self, name)
            if arrays is not None:
                out.update({f"{name}.{i}": a for i, a in enumerate(arrays)})
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (arrays are copied into the existing buffers)."""
        self.t = int(state["t"])
        self.lr = float(state["lr"])
        for name in self.STATE:
            arrays = getattr(self, name)
            for i, a in enumerate(arrays or ()):
                key = f"{name}.{i}"
                if key not in state or np.shape(state[key]) != a.shape:
                    raise ActlabError(f"The optimiser state has no {key} of shape {a.shape}.")
                a[...] = state[key]


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's formulation (dampening 0):

    g <- grad + wd w;  v <- mu v + g;  step = g + mu v (Nesterov) or v;  w <- w - lr step.
    With momentum 0 this is w <- w - lr (grad + wd w).
    """

    STATE = ("velocity",)

    def __init__(self, params: Iterable[Parameter], lr: float = 0.1, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = check_real(momentum, "momentum", "SGD", 0, 1)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ActlabError("Nesterov momentum needs momentum > 0.")
        self.velocity = [np.zeros_like(w) for w, _ in self.groups] if self.momentum else None
        self._tmp = [np.empty_like(w) for w, _ in self.groups]
        self._tmp2 = [np.empty_like(w) for w, _ in self.groups] if self.nesterov else None

    def _update(self, i: int, w: np.ndarray, g: np.ndarray) -> None:
        tmp = self._tmp[i]
        dt = w.dtype.type
        if self.weight_decay:
            np.multiply(w, dt(self.weight_decay), out=tmp)
            tmp += g
            g = tmp
        if self.velocity is not None:
            v = self.velocity[i]
            v *= dt(self.momentum)
            v += g
            if self.nesterov:
                tmp2 = self._tmp2[i]
                np.multiply(v, dt(self.momentum), out=tmp2)
                tmp2 += g
                g = tmp2
            else:
                g = v
        np.multiply(g, dt(self.lr), out=tmp)
        w -= tmp


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), PyTorch's formulation (L2 weight decay added to grad):

    m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
    w <- w - (lr / (1-b1^t)) m / (sqrt(v) / sqrt(1-b2^t) + eps).
    """

    STATE = ("m", "v")

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.betas = (check_real(betas[0], "beta1", "Adam", 0, 1, high_open=True),
                      check_real(betas[1], "beta2", "Adam", 0, 1, high_open=True))
        self.eps = check_real(eps, "eps", "Adam", 0)
        self.m = [np.zeros_like(w) for w, _ in self.groups]
        self.v = [np.zeros_like(w) for w, _ in self.groups]
        self._tmp = [np.empty_like(w) for w, _ in self.groups]
        self._tmp2 = [np.empty_like(w) for w, _ in self.groups]

    def _update(self, i: int, w: np.ndarray, g: np.ndarray) -> None:
        b1, b2 = self.betas
        dt = w.dtype.type
        tmp, tmp2, m, v = self._tmp[i], self._tmp2[i], self.m[i], self.v[i]
        if self.weight_decay:
            np.multiply(w, dt(self.weight_decay), out=tmp2)
            tmp2 += g
            g = tmp2
        m *= dt(b1)
        np.multiply(g, dt(1 - b1), out=tmp)
        m += tmp
        v *= dt(b2)
        np.multiply(g, g, out=tmp)
        tmp *= dt(1 - b2)
        v += tmp
        bc1 = 1 - b1 ** self.t
        bc2 = 1 - b2 ** self.t
        np.sqrt(v, out=tmp)
        tmp *= dt(1 / math.sqrt(bc2))
        tmp += dt(self.eps)
        np.divide(m, tmp, out=tmp)
        tmp *= dt(self.lr / bc1)
        w -= tmp


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str | Optimizer, params: Iterable[Parameter], lr: float, momentum: float = 0.0,
                   nesterov: bool = False, weight_decay: float = 0.0) -> Optimizer:
    """An optimiser by name ("sgd", "momentum", "nesterov", "adam")."""
    if isinstance(name, Optimizer):
        return name
    key = check_choice(name, "optimizer", "fit", ("sgd", "momentum", "nesterov", "adam"))
    if key == "adam":
        return Adam(params, lr=lr, weight_decay=weight_decay)
    if key == "momentum" and not momentum:
        momentum = 0.9
    if key == "nesterov":
        momentum, nesterov = momentum or 0.9, True
    return SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)


def schedule(kind: str | Callable[[int], float], lr: float, total_steps: int, **kw: Any) -> Callable[[int], float]:
    """A learning-rate schedule: step index (0-based) -> lr.

    * ``constant``: lr;
    * ``step(step_size=total/3, gamma=0.1)``: lr gamma^floor(t / step_size);
    * ``cosine(min_lr=0)``: min_lr + (lr - min_lr) (1 + cos(pi t / total)) / 2.

    >>> f = schedule("cosine", 0.1, 100)
    >>> f(0), round(f(50), 6), f(100)
    (0.1, 0.05, 0.0)
    """
    if callable(kind):
        return kind
    if isinstance(kind, str) and "(" in kind:
        kind, extra = parse_spec(kind)
        kw = {**extra, **kw}
    kind = check_choice(kind, "schedule", "fit", ("constant", "step", "cosine"))
    lr = check_real(lr, "lr", "schedule", 0)
    total = max(int(total_steps), 1)
    if kind == "constant":
        if kw:
            raise unknown("parameter", next(iter(kw)), [], owner="the constant schedule")
        return lambda t: lr
    if kind == "step":
        size = check_int(kw.pop("step_size", max(total // 3, 1)), "step_size", "the step schedule", low=1)
        gamma = check_real(kw.pop("gamma", 0.1), "gamma", "the step schedule", 0)
        if kw:
            raise unknown("parameter", next(iter(kw)), ["step_size", "gamma"], owner="the step schedule")
        return lambda t: lr * gamma ** (t // size)
    min_lr = check_real(kw.pop("min_lr", 0.0), "min_lr", "the cosine schedule", 0)
    if kw:
        raise unknown("parameter", next(iter(kw)), ["min_lr"], owner="the cosine schedule")
    return lambda t: min_lr + (lr - min_lr) * (1 + math.cos(math.pi * min(t, total) / total)) / 2


