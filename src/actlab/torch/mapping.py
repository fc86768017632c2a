"""torch's activations as catalogue specs: modules (``nn.LeakyReLU(0.2)``) and calls
(``F.leaky_relu(x, 0.2)``, ``torch.tanh(x)``, ``x.relu()``).

Nothing here lists catalogue names: the table is derived from
:mod:`actlab.verify.peers`, which already maps every entry to torch's function. For each
peer function ``F.name`` / ``torch.name`` this module finds

* the callables that compute it: ``F.name``, ``torch.name``, the method ``Tensor.name``
  and their in-place variants ``name_``;
* its module class: the class of ``torch.nn.modules.activation`` whose name is the
  function's without underscores, case aside (``leaky_relu`` -> ``LeakyReLU``). torch's
  activation modules store their arguments under the function's parameter names, so a
  module's parameters are read the way a call's are. Functions without a module class
  (``torch.exp``, ``torch.sin``, ``torch.atan``) are not treated as activations: in a
  model they are usually arithmetic, not a layer;
* the catalogue parameters, by name, with the one spelling that differs
  (``negative_slope`` -> ``slope``). torch parameters the catalogue does not have are
  reported as a note (see :data:`NOT_EXPRESSIBLE` for what that changes).

>>> import torch
>>> module_spec(torch.nn.LeakyReLU(0.2)), module_spec(torch.nn.GELU("tanh")), module_spec(torch.nn.Linear(2, 2))
('leaky_relu(slope=0.2)', 'gelu_tanh', None)
"""

from __future__ import annotations

import ast
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.modules.activation as _activation_modules

from ..catalogue.registry import REGISTRY, get
from ..errors import ActlabError
from ..verify import peers
from .modules import Activation

__all__ = ["Kind", "Mapped", "NOT_EXPRESSIBLE", "kinds", "function_kinds", "map_module", "map_call", "module_spec"]

#: torch parameter names that the catalogue spells differently
RENAME = {"negative_slope": "slope"}
#: torch parameters that never select nor parametrise an entry
_IGNORED = {"input", "self", "inplace", "out"}
#: torch parameters the catalogue cannot express, and what the diagnostics do instead
NOT_EXPRESSIBLE = {
    ("softplus", "threshold"): "torch's Softplus is linear above beta*x > threshold, so its f' is 1 there instead "
                               "of sigmoid(beta*x); the diagnostics use the catalogue's exact softplus (the two "
                               "f' differ only above the threshold, where f' > sigmoid(threshold) is neither "
                               "dead nor saturated for any threshold above -4.6)",
    ("rrelu", "training"): "in training mode RReLU draws a random negative slope in [lower, upper] per element; "
                           "the diagnostics use the catalogue's rrelu, whose slope is the mean (lower + upper) / 2",
}


@dataclass(frozen=True)
class Kind:
    """One torch activation function and the catalogue entries it computes."""

    name: str  # torch's function name: "relu", "leaky_relu", "gelu", "hardswish"
    function: Callable[..., Any]  # the peer function (F.name or torch.name)
    torch_name: str  # as printed: "F.leaky_relu"
    entries: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]  # (catalogue name, fixed torch kwargs)
    signature: inspect.Signature
    module_class: type | None
    vector: bool


@dataclass(frozen=True)
class Mapped:
    """What the diagnostics know about one activation layer of a torch model."""

    name: str  # catalogue name ("" when unknown)
    spec: str | None  # catalogue spec; None if the layer cannot be diagnosed (see reason)
    torch_name: str  # "nn.LeakyReLU", "F.relu", "Tensor.relu", "actlab.torch.Activation"
    vector: bool = False
    learned: bool = False  # PReLU: the slopes are parameters of the model
    notes: tuple[str, ...] = ()
    reason: str = ""  # why spec is None
    params: dict[str, float] = field(default_factory=dict)


def _parse(torch_name: str) -> tuple[list[str], dict[str, Any]]:
    """``"F.gelu(approximate='tanh')"`` -> (["F", "gelu"], {"approximate": "tanh"})."""
    node = ast.parse(torch_name, mode="eval").body
    fixed: dict[str, Any] = {}
    if isinstance(node, ast.Call):
        fixed = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
        node = node.func
    path: list[str] = []
    while isinstance(node, ast.Attribute):
        path.insert(0, node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        path.insert(0, node.id)
    return path, fixed


@functools.lru_cache(maxsize=1)
def _overrides() -> dict[Any, Callable[..., Any]]:
    return torch.overrides.get_testing_overrides()


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin (F.gelu, torch.tanh): torch's testing stub has its signature
        return inspect.signature(_overrides()[fn])


@functools.lru_cache(maxsize=1)
def kinds() -> dict[str, Kind]:
    """torch's activation functions by torch name, derived from the peers table."""
    F = torch.nn.functional
    classes = {c.__name__.lower(): c for c in vars(_activation_modules).values()
               if isinstance(c, type) and issubclass(c, torch.nn.Module)}
    found: dict[str, dict[str, Any]] = {}
    for entry, peer in peers.peers().items():
        path, fixed = _parse(peer.torch_name)
        root = {"F": F, "torch": torch}.get(path[0])
        fn = getattr(root, path[1], None) if root is not None and len(path) == 2 else None
        cls = classes.get(path[-1].replace("_", "").lower())
        if fn is None or cls is None or isinstance(fn, type):
            continue  # a module (nn.Identity) or a function with no activation module (torch.exp)
        k = found.setdefault(path[1], {"function": fn, "torch_name": ".".join(path), "entries": [], "cls": cls,
                                       "vector": REGISTRY[entry].vector})
        k["entries"].append((entry, tuple(sorted(fixed.items()))))
    return {name: Kind(name, k["function"], k["torch_name"], tuple(k["entries"]), _signature(k["function"]),
                       k["cls"], k["vector"]) for name, k in found.items()}


@functools.lru_cache(maxsize=1)
def function_kinds() -> dict[Any, str]:
    """Every callable that computes a known activation (``F.relu``, ``torch.relu_``,
    ``Tensor.relu``, ...) -> its torch name; method names are keyed as strings too."""
    F = torch.nn.functional
    out: dict[Any, str] = {}
    for name, kind in kinds().items():
        for n in (name, name + "_"):
            for owner in (F, torch, torch.Tensor):
                fn = getattr(owner, n, None)
                if fn is not None and callable(fn):
                    out[fn] = name
            if hasattr(torch.Tensor, n):
                out["method:" + n] = name
        out[kind.function] = name
    return out


@functools.lru_cache(maxsize=1)
def _by_class() -> dict[type, Kind]:
    return {k.module_class: k for k in kinds().values()}


def _class_kind(cls: type) -> Kind | None:
    by_class = _by_class()
    for c in cls.__mro__:  # the class itself first: ReLU6 is a Hardtanh, with its own function
        if c in by_class:
            return by_class[c]
    return None


def _fmt(v: Any) -> str:
    return repr(float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else repr(v)


def _resolve(kind: Kind, values: dict[str, Any], torch_name: str) -> Mapped:
    """The catalogue entry and spec for torch's ``kind`` called with ``values`` (its parameters)."""
    def matches(fixed: tuple[tuple[str, Any], ...]) -> bool:
        return all(values.get(k, v) == v for k, v in fixed)

    if len(kind.entries) == 1:
        # a fixed argument of the peer (rrelu's training=False) at its value is what the entry
        # computes; at another value (training=True) it is reported below as not expressible
        entry, fixed = kind.entries[0]
        used = {k for k, v in fixed if values.get(k, v) == v}
    else:  # several entries share the function (gelu / gelu_tanh): the fixed arguments choose
        cands = sorted((e for e in kind.entries if matches(e[1])), key=lambda e: -len(e[1]))
        if not cands:
            return Mapped("", None, torch_name, reason=f"no catalogue entry for {torch_name} with "
                          + ", ".join(f"{k}={_fmt(v)}" for k, v in values.items()))
        entry, used = cands[0][0], {k for e in kind.entries for k, _ in e[1]}
    definition = REGISTRY[entry]
    if definition.vector:
        return Mapped(entry, None, torch_name, vector=True,
                      reason=f"{entry} is a vector activation: dead and saturated units are defined for elementwise "
                             "activations")
    params, notes = {}, []
    for key, value in values.items():
        name = RENAME.get(key, key)
        if key in _IGNORED or key in used:
            continue
        if name in definition.param_names:
            params[name] = value
        elif isinstance(value, torch.Tensor):
            continue  # PReLU's weight: handled by the caller
        else:
            why = NOT_EXPRESSIBLE.get((entry, key), "the catalogue has no such parameter")
            notes.append(f"{torch_name}: {key}={_fmt(value)} is not a catalogue parameter: {why}")
    try:
        bound = get(entry, **params)
    except ActlabError as err:
        return Mapped(entry, None, torch_name, reason=str(err))
    return Mapped(entry, bound.spec, torch_name, notes=tuple(notes), params=dict(bound.params))


def map_module(module: torch.nn.Module) -> Mapped | None:
    """The catalogue view of an activation module, or None if it is not one."""
    if isinstance(module, Activation):
        return Mapped(module.act.name, None if module.act.definition.vector else module.spec,
                      "actlab.torch.Activation", vector=module.act.definition.vector,
                      reason="a vector activation: dead and saturated units are defined for elementwise activations"
                      if module.act.definition.vector else "", params=dict(module.act.params))
    kind = _class_kind(type(module))
    if kind is None:
        return None
    torch_name = f"nn.{type(module).__name__}"
    values = {}
    for p in list(kind.signature.parameters)[1:]:
        if p == "training":
            values[p] = module.training
        elif hasattr(module, p):
            values[p] = getattr(module, p)
    mapped = _resolve(kind, values, torch_name)
    if isinstance(module, torch.nn.PReLU) and mapped.spec is not None:
        n = module.weight.numel()
        # the slopes are learned: the diagnostics read them at every step (f' = 1 for z > 0, |a| else)
        mapped = Mapped(mapped.name, f"prelu(learned, {n} slope{'s' if n > 1 else ''})", torch_name, learned=True)
    return mapped


def map_call(fn: Any, args: tuple, kwargs: dict[str, Any], torch_name: str) -> Mapped | None:
    """The catalogue view of one call of an activation function (an fx node's target and
    arguments); None if ``fn`` is not an activation. Arguments that are not constants
    (fx nodes) leave the layer undiagnosed, with the reason."""
    name = function_kinds().get(fn)
    if name is None:
        return None
    kind = kinds()[name]
    sig = kind.signature
    if isinstance(fn, str) or fn is not kind.function:  # a method or another spelling: bind its own signature
        try:
            sig = _signature(getattr(torch.Tensor, fn[len("method:"):]) if isinstance(fn, str) else fn)
        except (KeyError, TypeError, ValueError):
            sig = kind.signature
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError:
        return Mapped(name, None, torch_name, reason=f"could not read the arguments of {torch_name}")
    bound.apply_defaults()
    values = dict(list(bound.arguments.items())[1:])
    if name == "prelu":
        return Mapped("prelu", "prelu(functional)", torch_name, learned=True)
    if any(type(v).__module__.startswith("torch.fx") for v in values.values()):
        return Mapped(name, None, torch_name, reason="a parameter is computed at run time")
    return _resolve(kind, values, torch_name)


def module_spec(module: torch.nn.Module) -> str | None:
    """The catalogue spec that a torch activation module computes, or None.

    >>> import torch
    >>> module_spec(torch.nn.ELU(alpha=0.5)), module_spec(torch.nn.Softplus(beta=2.0))
    ('elu(alpha=0.5)', 'softplus(beta=2.0)')
    """
    mapped = map_module(module)
    return None if mapped is None else mapped.spec
