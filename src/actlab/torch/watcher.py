"""``watch``: actlab's diagnostics on a user's PyTorch model, through hooks.

What is hooked, and why it changes nothing in the model:

* each activation **module** (``nn.ReLU``, ``nn.GELU``, ..., ``actlab.torch.Activation``;
  :mod:`.mapping`) gets a forward hook, which reads the pre-activations z (its input) and
  the activations a, and registers a tensor hook for the gradient dL/da; an in-place
  module also gets a forward pre-hook, which reads z *before* the module overwrites it.
  Hooks return None, so inputs, outputs and gradients are untouched;
* **functional** activations (``F.relu``, ``torch.tanh``, ``x.relu()``) have no module:
  they are found by tracing the model with torch.fx (:mod:`.discover`), and seen at run
  time by a ``TorchFunctionMode`` that is pushed only around sampled forward passes of the
  model and only if fx found such calls. The mode calls the very function with the very
  arguments (nothing is traced or re-executed: data-dependent control flow, dropout and
  the random number stream are as without it) and looks at its input and output. A call
  is matched to its fx site by the module whose forward makes it (the nearest frame whose
  ``self`` is a submodule of the model), the function, and its rank among that module's
  calls of that function in the forward pass;
* with an **optimiser**, its step pre-hook reads ||dL/dp|| of every parameter it steps
  (the gradient the step uses, micro-batches included) and copies the weights, and its
  post-hook computes ||p_after - p_before|| / ||p_before||, the update-to-weight ratio;
  without one, each **parameter** gets a post-accumulate-grad hook for ||dL/dp||.

Statistics stay on the tensors' device as torch tensors (:mod:`.stats`, which also
buffers small batches to reduce many at a time); results are copied to the host only when
asked for (:meth:`Watch.summary`, ``to_dict``, ``to_json``, ``report``, ``units``).
A forward pass of the model is *sampled* when its index (0, 1, ...) is a multiple of
``every``; the others cost one counter increment per hook.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from ..catalogue.registry import get
from ..errors import ActlabError, check_choice, check_int, check_real
from ..nn.diagnostics import DEAD_EPS, SAT_EPS, SAT_MOST
from .discover import Site, discover
from .mapping import Mapped, function_kinds, map_module
from .stats import Derivative, UnitStats

__all__ = ["watch", "Watch", "WARN_FRAC", "RECENT"]

#: a layer gets a warning when at least this fraction of its units is dead or saturated
WARN_FRAC = 0.1
#: units that died during training: dead on every sample of the last RECENT forward passes
RECENT = 100


class _Layer:
    """One activation layer: a module call or a functional call site, and its statistics."""

    def __init__(self, name: str, kind: str, mapped: Mapped, derivative: Derivative | None, w: Watch) -> None:
        self.name, self.kind, self.mapped, self.derivative = name, kind, mapped, derivative
        self.stats = UnitStats(derivative, dead_eps=w.dead_eps, sat_eps=w.sat_eps, unit_dim=w.unit_dim,
                               buffer=not mapped.learned)
        self.grads: list[tuple[int, torch.Tensor]] = []  # (forward index, ||dL/da|| of that batch)

    @property
    def diagnosed(self) -> bool:
        return self.derivative is not None

    def before(self, z: Any, step: int) -> None:
        if self.diagnosed and isinstance(z, torch.Tensor) and z.is_floating_point():
            self.stats.add_input(z, step)

    def after(self, a: Any, step: int) -> None:
        if not (self.diagnosed and isinstance(a, torch.Tensor) and a.is_floating_point()):
            return
        self.stats.add_output(a, step)
        if a.requires_grad:
            a.register_hook(functools.partial(self._grad, step))

    def _grad(self, step: int, g: torch.Tensor) -> None:
        self.grads.append((step, torch.linalg.vector_norm(g.detach())))  # returns None: g is not changed


class _Spy(TorchFunctionMode):
    """Sees the model's functional activation calls (see the module docstring)."""

    def __init__(self, owner: Watch) -> None:
        super().__init__()
        self.owner = owner

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = self.owner._kinds.get(func)
        if name is None:
            return func(*args, **kwargs)
        return self.owner._functional(func, name, args, kwargs)


class Watch:
    """Hooks on a model (and optimiser) while inside ``with``; results afterwards.

    Made by :func:`watch`, which documents the arguments. After the block:
    :meth:`summary` (text), :meth:`to_dict` / :meth:`to_json`, :meth:`report` (HTML),
    :meth:`units` (per-unit verdicts as :class:`actlab.nn.diagnostics.LayerUnits`),
    :meth:`warnings`, and the lists ``not_seen`` / ``not_diagnosed`` / ``notes``.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None, *, every: int = 1,
                 dead_eps: float = DEAD_EPS, sat_eps: float = SAT_EPS, sat_most: float = SAT_MOST,
                 unit_dim: int = 1, derivative: str = "auto", trace: bool = True, warn_frac: float = WARN_FRAC,
                 recent: int = RECENT) -> None:
        if not isinstance(model, torch.nn.Module):
            raise ActlabError(f"watch needs a torch.nn.Module. Got {type(model).__name__} instead.")
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            raise ActlabError(f"The 'optimizer' parameter of watch must be a torch.optim.Optimizer or None. "
                              f"Got {type(optimizer).__name__} instead.")
        self.model, self.optimizer = model, optimizer
        self.every = check_int(every, "every", "watch", low=1)
        self.dead_eps = check_real(dead_eps, "dead_eps", "watch", 0)
        self.sat_eps = check_real(sat_eps, "sat_eps", "watch", 0)
        self.sat_most = check_real(sat_most, "sat_most", "watch", 0, 1, low_open=True)
        self.warn_frac = check_real(warn_frac, "warn_frac", "watch", 0, 1)
        self.recent = check_int(recent, "recent", "watch", low=1)
        self.unit_dim = check_int(unit_dim, "unit_dim", "watch")
        self.derivative = check_choice(derivative, "derivative", "watch", ("auto", "actlab", "torch"))
        self.trace = bool(trace)
        self.not_seen: list[str] = []
        self.not_diagnosed: list[str] = []
        self.notes: list[str] = []
        self.forward_passes = 0
        self.optimizer_steps = 0
        self._layers: dict[Any, _Layer] = {}  # ("module", path, rank) / ("site", id) -> layer, in call order
        self._param_grads: dict[str, list[tuple[int, torch.Tensor]]] = {}
        self._updates: list[tuple[int, list[str], torch.Tensor]] = []  # (step, names, ratio per name)
        self._grad_steps: list[tuple[int, list[str], torch.Tensor]] = []  # (step, names, ||grad|| per name)
        self._handles: list[Any] = []
        self._active = False
        self._prepared = False

    # ------------------------------------------------------------------ setting up

    def _prepare(self) -> None:
        """Find the activations (once): modules by type, functional calls by fx."""
        model = self.model
        self._mapped: dict[str, Mapped] = {}
        for path, m in model.named_modules():
            mapped = map_module(m)
            if mapped is None:
                continue
            if mapped.spec is None:
                self.not_diagnosed.append(f"{path or 'model'} ({mapped.torch_name}): {mapped.reason}")
            self._mapped[path] = mapped
            self.notes += [f"{path or 'model'}: {n}" for n in mapped.notes]
        found = discover(model, [model.get_submodule(p) for p in self._mapped], trace=self.trace)
        if not self.trace:
            self.notes.append("functional activations were not looked for (trace=False)")
        self.not_seen += found.not_seen
        for what, item in found.order:  # call order, where fx could tell it
            if what == "module" and isinstance(item, str):
                rank = sum(1 for k in self._layers if k[:2] == ("module", item))
                self._module_layer(item, rank)
            elif isinstance(item, Site):
                self._site_layer(item)
        for path in self._mapped:  # modules fx did not see (untraced code): in model order
            self._module_layer(path, 0)
        self._sites: dict[tuple[int, str], list[_Layer]] = {}
        for key, layer in self._layers.items():
            if key[0] == "site" and layer.diagnosed:  # undiagnosed calls (F.softmax) need no mode
                site = layer.site
                self._sites.setdefault((id(site.module), site.function), []).append(layer)
        self._kinds = function_kinds()
        self._module_ids = {id(m): m for m in model.modules()}
        self._param_names = {id(p): n for n, p in model.named_parameters()}
        self._prepared = True

    def _derivative(self, mapped: Mapped, module: torch.nn.Module | None) -> Derivative | None:
        if mapped.spec is None:
            return None
        if mapped.learned:
            weight = getattr(module, "weight", None)
            return Derivative(None, self.derivative, prelu_weight=weight) if weight is not None else None
        return Derivative(get(mapped.spec), self.derivative)

    def _module_layer(self, path: str, rank: int) -> _Layer:
        key = ("module", path, rank)
        layer = self._layers.get(key)
        if layer is None:
            mapped = self._mapped[path]
            name = (path or "model") + (f"#{rank + 1}" if rank else "")
            layer = _Layer(name, "module", mapped, self._derivative(mapped, self.model.get_submodule(path)), self)
            self._layers[key] = layer
        return layer

    def _site_layer(self, site: Site) -> _Layer:
        mapped = site.mapped
        if mapped.spec is None:
            self.not_diagnosed.append(f"{site.name} ({site.torch_name}): {mapped.reason}")
        self.notes += [f"{site.name}: {n}" for n in mapped.notes]
        derivative = None
        if mapped.learned:
            self.not_diagnosed.append(f"{site.name} ({site.torch_name}): a functional PReLU's slopes are not known "
                                      "to the diagnostics (use nn.PReLU)")
        else:
            derivative = self._derivative(mapped, None)
        layer = _Layer(site.name, "function", mapped, derivative, self)
        layer.site = site
        self._layers[("site", id(site))] = layer
        return layer

    def __enter__(self) -> Watch:
        if self._active:
            raise ActlabError("This watch is already active: a watch is entered once at a time.")
        if not self._prepared:
            self._prepare()
        self._install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _install(self) -> None:
        self._active = True
        self._depth = 0
        self._sampled = False
        self._step = -1
        self._module_calls: dict[str, int] = {}
        self._site_calls: dict[tuple[int, str], int] = {}
        self._pending: dict[str, list[_Layer]] = {}
        self._spy: _Spy | None = None
        self._before: tuple[list[torch.Tensor], list[str], list[torch.Tensor], torch.Tensor] | None = None
        self._opt_cache: tuple[list[int], list[str], list[torch.Tensor]] | None = None
        # Every hook costs a few microseconds even when it returns at once: install only
        # those that have work (a pre-hook reads z only where an in-place activation would
        # overwrite it). The root's post-hook runs even if the forward raises, so the
        # nesting count and the mode stay right.
        h = self._handles
        h.append(self.model.register_forward_pre_hook(self._root_pre))
        for path, mapped in self._mapped.items():
            if mapped.spec is None:
                continue  # listed as not diagnosed (a vector activation): nothing to measure
            module = self.model.get_submodule(path)
            if getattr(module, "inplace", False):
                h.append(module.register_forward_pre_hook(functools.partial(self._module_pre, path)))
            h.append(module.register_forward_hook(functools.partial(self._module_post, path)))
        # last, so that it runs after the hooks above when the model is itself an activation
        h.append(self.model.register_forward_hook(self._root_post, always_call=True))
        if self.optimizer is not None:  # gradients read where the step reads them, one op for all
            h.append(self.optimizer.register_step_pre_hook(self._opt_pre))
            h.append(self.optimizer.register_step_post_hook(self._opt_post))
        else:
            for name, p in self.model.named_parameters():
                if p.requires_grad:
                    h.append(p.register_post_accumulate_grad_hook(functools.partial(self._param_grad, name)))

    def close(self) -> None:
        """Remove every hook (what leaving the ``with`` block does); results stay."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        for layer in self._layers.values():
            layer.stats.flush()
        if getattr(self, "_spy", None) is not None:  # an exception left a forward pass half way
            self._spy.__exit__(None, None, None)
            self._spy = None
        self._active = False

    # ------------------------------------------------------------------ hooks

    def _root_pre(self, module: torch.nn.Module, args: Any) -> None:
        self._depth += 1
        if self._depth > 1:
            return  # the model called inside itself
        self._step = self.forward_passes
        self.forward_passes += 1
        self._sampled = self._step % self.every == 0
        self._module_calls.clear()
        self._site_calls.clear()
        self._pending.clear()  # left over only if the previous forward pass raised
        if self._sampled and self._sites:
            self._spy = _Spy(self)
            self._spy.__enter__()

    def _root_post(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        self._depth -= 1
        if self._depth == 0 and self._spy is not None:
            self._spy.__exit__(None, None, None)
            self._spy = None

    def _module_pre(self, path: str, module: torch.nn.Module, args: Any) -> None:
        """In-place modules only: z must be read before the module overwrites it."""
        if not self._sampled or self._depth == 0:
            return
        rank = self._module_calls.get(path, 0)
        self._module_calls[path] = rank + 1
        layer = self._module_layer(path, rank)
        self._pending.setdefault(path, []).append(layer)
        layer.before(args[0] if args else None, self._step)

    def _module_post(self, path: str, module: torch.nn.Module, args: Any, output: Any) -> None:
        if not self._sampled or self._depth == 0:
            return
        stack = self._pending.get(path)
        if stack:  # the pre-hook saw z
            layer = stack.pop()
        else:
            rank = self._module_calls.get(path, 0)
            self._module_calls[path] = rank + 1
            layer = self._module_layer(path, rank)
            layer.before(args[0] if args else None, self._step)
        layer.after(output, self._step)

    def _caller_module(self) -> torch.nn.Module | None:
        """The submodule of the model whose forward is making the current call."""
        frame = sys._getframe(2)
        ids = self._module_ids
        while frame is not None:
            code = frame.f_code
            if code.co_argcount and code.co_varnames[0] == "self":
                obj = frame.f_locals.get("self")
                if ids.get(id(obj)) is obj:
                    return obj
            frame = frame.f_back
        return None

    def _functional(self, func: Any, name: str, args: tuple, kwargs: dict[str, Any]) -> Any:
        module = self._caller_module()
        key = (id(module), name)
        layers = self._sites.get(key)
        if layers is None:
            return func(*args, **kwargs)  # not a call fx found (e.g. inside nn.ReLU's own forward)
        rank = self._site_calls.get(key, 0)
        self._site_calls[key] = rank + 1
        # a submodule traced on its own and called twice per forward: the same site again
        layer = layers[rank % len(layers)]
        layer.before(args[0] if args else kwargs.get("input"), self._step)
        out = func(*args, **kwargs)
        layer.after(out, self._step)
        return out

    def _param_grad(self, name: str, p: torch.Tensor) -> None:
        if not self._sampled or p.grad is None:
            return
        g = p.grad.detach()
        g = g.coalesce().values() if g.is_sparse else g
        norm = torch.linalg.vector_norm(g)
        series = self._param_grads.setdefault(name, [])
        if series and series[-1][0] == self._step:
            series[-1] = (self._step, norm)  # several backward passes before a step: the last total counts
        else:
            series.append((self._step, norm))

    def _opt_pre(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        step = self.optimizer_steps
        self.optimizer_steps += 1
        self._before = None
        if step % self.every:
            return
        params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None and not p.grad.is_sparse]
        if not params:
            return
        ids = [id(p) for p in params]
        if self._opt_cache is None or self._opt_cache[0] != ids:
            # names and scratch copies, kept while the set of stepped parameters stays the same:
            # fresh copies every step would cost page faults, not just a copy
            names = [self._param_names.get(i, f"param {k}") for k, i in enumerate(ids)]
            self._opt_cache = (ids, names, [torch.empty_like(p, memory_format=torch.contiguous_format)
                                            for p in params])
        _, names, scratch = self._opt_cache
        with torch.no_grad():  # the hooks run outside the step's own no_grad
            # the gradients the step is about to use (accumulated over any micro-batches)
            # and the weights before it, in one call
            norms = _stack(torch._foreach_norm([p.grad for p in params] + params))
            self._grad_steps.append((step, names, norms[:len(params)]))
            torch._foreach_copy_(scratch, params)
        self._before = (params, names, scratch, norms[len(params):])

    def _opt_post(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self._before is None:
            return
        params, names, scratch, norms = self._before
        self._before = None
        with torch.no_grad():
            torch._foreach_sub_(scratch, params)  # w_before - w_after: the update, negated
            self._updates.append((self.optimizer_steps - 1, names, _stack(torch._foreach_norm(scratch)) / norms))

    # ------------------------------------------------------------------ results

    def to_dict(self) -> dict[str, Any]:
        """Every result as plain numbers and strings (what :meth:`to_json` writes)."""
        from .summary import collect

        return collect(self)

    def units(self) -> list:
        """actlab's per-unit verdicts of every diagnosed layer that saw a batch, in call order
        (:class:`actlab.nn.diagnostics.LayerUnits`: ``dead``, ``inactive``, ``saturated`` per unit)."""
        from .summary import layer_units

        return [u for _, u in layer_units(self)]

    def warnings(self) -> list[str]:
        """The warnings, in the catalogue's wording (empty if nothing looks wrong)."""
        return self.to_dict()["warnings"]

    def summary(self) -> str:
        """A text table per activation layer and per parameter, the warnings and the definitions."""
        from .summary import text

        return text(self.to_dict())

    def to_json(self, path: str) -> str:
        """Write :meth:`to_dict` as strict JSON, atomically; returns the path."""
        from .._io import dumps, write_atomic

        write_atomic(path, dumps(self.to_dict()))
        return str(path)

    def report(self, path: str) -> str:
        """Write a self-contained HTML page (the claims report's look); returns the path."""
        from .report import write

        return write(self.to_dict(), path)


def _stack(values: list[torch.Tensor]) -> torch.Tensor:
    """0-d tensors as one (on the first one's device): one object per step, not per parameter."""
    device = values[0].device
    return torch.stack([v if v.device == device else v.to(device) for v in values])


def watch(model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None, *, every: int = 1,
          dead_eps: float = DEAD_EPS, sat_eps: float = SAT_EPS, sat_most: float = SAT_MOST, unit_dim: int = 1,
          derivative: str = "auto", trace: bool = True, warn_frac: float = WARN_FRAC, recent: int = RECENT) -> Watch:
    """Watch a model's activations, gradients and (with ``optimizer``) updates while training.

    Use as ``with watch(model, optimizer=opt) as w: ...train as usual...``, then
    ``w.summary()``, ``w.report("diagnostics.html")``, ``w.to_json("diagnostics.json")``.

    * ``every``: sample one forward pass (and optimiser step) in ``every``;
    * ``dead_eps``, ``sat_eps``, ``sat_most``: actlab's definitions
      (:func:`actlab.nn.diagnostics.definitions`): a unit is dead if |f'(z)| <= dead_eps on
      every sample seen, saturated if |f'(z)| < sat_eps on at least sat_most of them;
    * ``unit_dim``: the axis that indexes units (1: features of (N, C), channels of
      (N, C, H, W); -1 for (batch, sequence, features) models);
    * ``derivative``: "auto" (actlab's f' kernel on the CPU, torch's autograd on other
      devices), "actlab" or "torch";
    * ``trace``: look for functional activations with torch.fx;
    * ``warn_frac``: warn when at least this fraction of a layer's units is dead or saturated;
    * ``recent``: a unit that was alive earlier but is dead on every sample of the last
      ``recent`` forward passes *died during training* (dying ReLU): reported beside the
      units dead over everything seen, which a unit alive at the start never is.

    >>> import torch
    >>> from actlab.torch import watch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> with torch.no_grad():
    ...     model[0].bias[0] = -100.0            # unit 0 can never be positive
    >>> with watch(model) as w:
    ...     _ = model(torch.randn(64, 3))
    >>> w.units()[0].dead.tolist()
    [True, False, False, False]
    >>> print(w.warnings()[0])
    25 % of layer 1's relu units are dead: try a lower learning rate, BatchNorm or leaky_relu
    """
    return Watch(model, optimizer, every=every, dead_eps=dead_eps, sat_eps=sat_eps, sat_most=sat_most,
                 unit_dim=unit_dim, derivative=derivative, trace=trace, warn_frac=warn_frac, recent=recent)
