"""Activations from formulas: ``define("x * sigmoid(b * x)", name="swish_b", b=1.0)``.

A user types the formula, naive spelling and all; actlab parses it safely
(:mod:`.parse`: ``ast`` and a whitelist, never ``eval``), derives f' and f'' with SymPy
(:mod:`.derive`, in a worker process under a time limit, :mod:`.worker`), rewrites it
into the catalogue's stable forms (:mod:`.stable`), compiles NumPy kernels that call the
catalogue's own kernels (:mod:`.codegen`) and computes the entry's metadata
(:mod:`.entry`). The result is a registry entry like any other.

* :func:`define` builds an entry, and registers it under ``name`` when one is given;
* :func:`resolve` turns a spec that is a formula (it contains the variable ``x``) into a
  bound entry: the registry calls it for specs it does not know, once this package is
  imported (``registry.set_spec_resolver``);
* :func:`parse_formula` only parses (no SymPy);
* :func:`mp_reference` evaluates an entry's formula as written with mpmath, exactly (the
  accuracy check's reference; the caller passes ``mpmath.mp``).

Importing this package loads neither SymPy nor mpmath: SymPy runs in the worker process,
started on the first formula.

>>> import actlab.formula as af
>>> act = af.define("x * sigmoid(b * x)", b=1.5)
>>> print(act.analysis["rewritten"])
silu(x, beta=3/2)
>>> round(float(act.bind()(2.0)), 12)  # 2 sigmoid(3)
1.905148253645
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..catalogue import registry
from ..catalogue.registry import REGISTRY, Activation, Bound
from ..errors import ActlabError, check_real, shorten, unknown
from ._ir import restricted
from .entry import FormulaActivation, build
from .parse import RESERVED, Formula, FormulaError, UnknownFormulaName, parse_formula

__all__ = ["define", "undefine", "resolve", "parse_formula", "mp_reference", "is_formula", "source",
           "Formula", "FormulaActivation", "FormulaError", "UnknownFormulaName", "TIME_LIMIT"]

#: seconds of symbolic work a formula may take (define's and resolve's default)
TIME_LIMIT = 2.0

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_HAS_X = re.compile(r"(?<![A-Za-z0-9_])x(?![A-Za-z0-9_])")
_lock = threading.RLock()
_ANONYMOUS: OrderedDict[str, FormulaActivation] = OrderedDict()
_ANONYMOUS_MAX = 64


def is_formula(spec: object) -> bool:
    """Whether a spec string is a formula: it contains the variable x (as a name).

    >>> is_formula("x * sigmoid(x)"), is_formula("elu(alpha=0.5)"), is_formula("relux")
    (True, False, False)
    """
    return isinstance(spec, str) and bool(_HAS_X.search(spec))


def _time_limit(value: float | None) -> float:
    if value is None:
        return TIME_LIMIT
    return check_real(value, "time_limit", "define", 0, 600, low_open=True)


def define(formula: str, name: str | None = None, *, replace: bool = False, time_limit: float | None = None,
           **param_defaults: float) -> FormulaActivation:
    """A catalogue entry from ``formula``; registered as ``name`` if one is given.

    Every name in the formula other than x, ``pi``, ``e`` and the functions is a
    parameter and needs a default here. Defining an existing formula name again with the
    same formula and defaults returns the entry already there (so that loading a saved
    model twice works); with another formula it is an error unless ``replace=True``.
    A catalogue name can never be replaced.

    >>> act = define("where(x > 0, x, a * expm1(x))", a=1.0)
    >>> act.bind(a=2.0).kinks, act.smoothness
    ({0.0: 2.0}, 'C1')
    """
    tl = _time_limit(time_limit)
    parsed = parse_formula(formula)
    defaults: dict[str, float] = {}
    for key, value in param_defaults.items():
        if key not in parsed.params:
            raise unknown("parameter", key, parsed.params, owner=f"the formula {shorten(parsed.text)}")
        defaults[key] = check_real(value, key, f"the formula {shorten(parsed.text)}")
    if name is None:
        return build(parsed, parsed.text, defaults, tl)
    if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED:
        raise ActlabError(f"A formula's name is a letter followed by letters, digits or '_', not a name the "
                          f"language uses (x, pi, e, where, the functions). Got {shorten(name)} instead.")
    with _lock:
        existing = REGISTRY.get(name) or _alias_entry(name)
        if existing is not None:
            if not isinstance(existing, FormulaActivation):
                raise ActlabError(f"{name!r} is a catalogue entry; choose another name for the formula.")
            same = existing.text == parsed.text and existing.defaults == {**existing.defaults, **defaults} \
                and set(existing.defaults) == set(defaults)
            if same:
                return existing
            if not replace:
                raise ActlabError(f"{name!r} is already defined as {existing.text!r} with defaults "
                                  f"{existing.defaults}; pass replace=True to replace it.")
        act = build(parsed, name, defaults, tl)
        if existing is not None:
            undefine(name)
        REGISTRY[name] = act
    return act


def _alias_entry(name: str) -> Activation | None:
    try:
        return registry.lookup(name)
    except ActlabError:
        return None


def undefine(name: str) -> None:
    """Remove a formula entry registered by :func:`define` (catalogue entries stay)."""
    with _lock:
        act = REGISTRY.get(name)
        if not isinstance(act, FormulaActivation):
            raise ActlabError(f"{name!r} is not a formula defined with actlab.define().")
        del REGISTRY[name]
        # the registry caches derived gains by spec: a later entry of this name is another function
        derived = getattr(registry, "_derived_gain", None)
        if derived is not None and hasattr(derived, "cache_clear"):
            derived.cache_clear()


def resolve(spec: object) -> Bound | None:
    """The bound entry for a spec that is a formula (contains x), or None if it is not one.

    A formula spec has no parameters of its own (give them with :func:`define`).
    Entries are cached by their text, so asking again is cheap.

    >>> resolve("x * sigmoid(1.702 * x)")
    <activation x * sigmoid(1.702 * x)>
    >>> resolve("elu(alpha=0.5)") is None
    True
    """
    if isinstance(spec, Bound):
        return None
    if not is_formula(spec):
        return None
    assert isinstance(spec, str)
    text = spec.strip()
    with _lock:
        act = _ANONYMOUS.get(text)
        if act is not None:
            _ANONYMOUS.move_to_end(text)
            return act.bind()
    parsed = parse_formula(text, allow_params=False)
    act = build(parsed, parsed.text, {}, TIME_LIMIT)
    with _lock:
        _ANONYMOUS[text] = act
        while len(_ANONYMOUS) > _ANONYMOUS_MAX:
            _ANONYMOUS.popitem(last=False)
    return act.bind()


def source(act: Activation | Bound) -> dict[str, Any] | None:
    """What recreates a registered formula entry: ``{"name", "formula", "defaults"}`` (for a
    saved model's layer record), or None for a catalogue entry or an unnamed formula
    (whose spec is its formula already)."""
    d = act.definition if isinstance(act, Bound) else act
    if not isinstance(d, FormulaActivation) or d.name == d.text:
        return None
    return {"name": d.name, "formula": d.text, "defaults": dict(d.defaults)}


@dataclass(frozen=True)
class MpReference:
    """mpmath functions ``fn(x, **params)`` of a formula entry as written (the shape of
    :class:`actlab.verify.reference.Reference`)."""

    f: Callable[..., Any]
    df: Callable[..., Any]
    d2f: Callable[..., Any]
    jacobian: None = None


def mp_reference(act: str | Activation | Bound, ctx: Any) -> MpReference:
    """The mpmath reference of a formula entry: its formula as the user wrote it (not the
    stable rewrite), and its exact derivatives, each evaluated to the caller's precision
    by :mod:`.mpeval`. ``ctx`` is ``mpmath.mp``."""
    from .mpeval import evaluator

    d = _definition(act)
    ref = d.analysis.get("reference")
    if not ref:
        raise ActlabError(f"{d.name!r} has no reference trees.")
    f, df, d2f = (evaluator(ref[w], ctx) for w in ("f", "df", "d2f"))
    if not restricted(ref["f"]):
        return MpReference(f, df, d2f)

    # where f is not real (log of a negative number), neither are f' and f'', though the
    # expression of f' may be (d/dx log(1 - e^-x) = 1/(e^x - 1) at x < 0)
    def within(g: Callable[..., Any]) -> Callable[..., Any]:
        def h(x: Any, **params: Any) -> Any:
            return ctx.nan if ctx.isnan(f(x, **params)) else g(x, **params)

        return h

    return MpReference(f, within(df), within(d2f))


def _definition(act: str | Activation | Bound) -> FormulaActivation:
    if isinstance(act, Bound):
        act = act.definition
    if isinstance(act, str):
        b = resolve(act)
        act = b.definition if b is not None else registry.lookup(act)
    if not isinstance(act, FormulaActivation):
        raise ActlabError(f"{shorten(getattr(act, 'name', act))} is not a formula entry.")
    return act


def _install() -> None:
    """Hand the registry this package's resolver (dependency inversion: the catalogue never
    imports the formula room). A registry without the hook is left alone."""
    setter: Callable[[Callable[[str], Bound | None]], None] | None = getattr(registry, "set_spec_resolver", None)
    if setter is not None:
        setter(resolve)


_install()
