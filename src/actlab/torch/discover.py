"""Finding a model's activations: modules by type, functional calls with torch.fx.

Modules are found by walking ``named_modules()`` (no tracing needed: their hooks see
every call). Functional calls (``F.relu(x)``, ``torch.tanh(x)``, ``x.relu()``) leave no
module to hook, so the model is traced with ``torch.fx`` (activation modules kept as
leaves): each call node of an activation function becomes a *site*, identified by the
module whose ``forward`` makes the call (fx's ``nn_module_stack``), torch's function name
and its rank among that module's calls of that function. :mod:`.watcher` recognises the
same calls at run time by the same key.

A module whose forward does not trace (data-dependent control flow, unsupported Python)
is reported, and its children are traced one by one, so only the code that really cannot
be traced stays unseen; a ``torch.nn`` module that fx treats as one call and that applies
an activation inside (recurrent layers, Transformer layers given an activation function)
is reported too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch

from .mapping import Mapped, function_kinds, map_call

__all__ = ["Site", "Discovery", "discover"]


@dataclass
class Site:
    """One functional activation call found by fx."""

    name: str  # "block1:relu_1": the module path and fx's node name
    path: str  # the module whose forward makes the call ("" = the model itself)
    module: torch.nn.Module
    function: str  # torch's function name (mapping.kinds())
    torch_name: str  # as written: "F.relu", "torch.tanh", "Tensor.relu"
    mapped: Mapped


@dataclass
class Discovery:
    order: list[tuple[str, object]] = field(default_factory=list)  # ("module", path) / ("site", Site), call order
    sites: list[Site] = field(default_factory=list)
    not_seen: list[str] = field(default_factory=list)


def _join(a: str, b: str) -> str:
    return f"{a}.{b}" if a and b else a or b


def _torch_leaf(m: torch.nn.Module) -> bool:
    return torch.fx.Tracer().is_leaf_module(m, "")


def _hidden_inside(m: torch.nn.Module) -> str | None:
    """Why a torch.nn leaf module hides an activation from both hooks and fx, or None."""
    if isinstance(m, (torch.nn.RNNBase, torch.nn.RNNCellBase)):
        return "its gates' sigmoid and tanh run inside torch's fused recurrent kernel"
    act = getattr(m, "activation", None)
    if callable(act) and not isinstance(act, torch.nn.Module):
        return f"it applies the function {getattr(act, '__name__', act)!r} inside its own forward"
    return None


class _Tracer(torch.fx.Tracer):
    def __init__(self, leaves: set[int]) -> None:
        super().__init__()
        self.leaves = leaves

    def is_leaf_module(self, m: torch.nn.Module, qualname: str) -> bool:
        return id(m) in self.leaves or super().is_leaf_module(m, qualname)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def discover(model: torch.nn.Module, activation_modules: Iterable[torch.nn.Module], trace: bool = True) -> Discovery:
    """Activation modules in call order where fx can tell it, and functional call sites."""
    leaves = {id(m) for m in activation_modules}
    paths = {id(m): p for p, m in model.named_modules()}
    out = Discovery()
    kinds = function_kinds()
    F = torch.nn.functional

    for path, m in model.named_modules():
        why = _hidden_inside(m) if _torch_leaf(m) and id(m) not in leaves else None
        if why:
            out.not_seen.append(f"{path or 'model'} ({type(m).__name__}): activations inside it are not seen: {why}")

    def visit(module: torch.nn.Module, path: str) -> None:
        try:
            graph = _Tracer(leaves).trace(module)
        except Exception as err:  # anything user code raises under symbolic tracing: report, never crash
            out.not_seen.append(
                f"{path or 'model'} ({type(module).__name__}): its forward does not trace with torch.fx "
                f"({_first_line(err)}); functional activations called in it are not seen "
                "(activation modules still are)")
            for name, child in module.named_children():
                if id(child) not in leaves and not _torch_leaf(child):
                    visit(child, _join(path, name))
            return
        for node in graph.nodes:
            if node.op == "call_module":
                full = _join(path, str(node.target))
                if id(model.get_submodule(full)) in leaves:
                    out.order.append(("module", full))
                continue
            if node.op == "call_function":
                fn = node.target
                name = kinds.get(fn)
                # as the user wrote it: F.logsigmoid's __name__ is log_sigmoid
                torch_name = next((f"{label}.{n}" for label, owner in (("F", F), ("torch", torch))
                                   for n in (name, f"{name}_") if name and getattr(owner, n, None) is fn), str(fn))
            elif node.op == "call_method":
                fn = "method:" + str(node.target)
                name = kinds.get(fn)
                torch_name = f"Tensor.{node.target}"
            else:
                continue
            if name is None:
                continue
            stack = node.meta.get("nn_module_stack") or {}
            inner = str(list(stack.values())[-1][0]).split("@")[0] if stack else ""
            where = _join(path, inner)
            owner_module = model.get_submodule(where)
            if id(owner_module) in leaves:
                continue  # the call inside an activation module's own forward: its hooks see it
            mapped = map_call(fn, tuple(node.args), dict(node.kwargs), torch_name)
            site = Site(f"{where}:{node.name}" if where else node.name, where, owner_module, name, torch_name,
                        mapped)
            out.sites.append(site)
            out.order.append(("site", site))

    if trace and id(model) not in leaves and not _torch_leaf(model):
        visit(model, paths.get(id(model), ""))
    return out
