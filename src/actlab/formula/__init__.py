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
* :func:`definitions` lists the named formulas a spec or a settings dict refers to, and
  :func:`install` defines them in another process (a runner's or a cluster's worker);
* :func:`as_typed` evaluates it as typed, in plain float64 NumPy (what the naive
  spelling computes, for comparison);
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
from fractions import Fraction
from typing import Any

import numpy as np

from ..catalogue import registry
from ..catalogue.registry import REGISTRY, Activation, Bound
from ..errors import ActlabError, check_real, shorten, unknown
from . import _ir
from ._ir import restricted
from .entry import FormulaActivation, build
from .parse import RESERVED, Formula, FormulaError, UnknownFormulaName, parse_formula

__all__ = ["define", "undefine", "resolve", "parse_formula", "mp_reference", "is_formula", "source",
           "definitions", "install", "define_text", "as_typed",
           "Formula", "FormulaActivation", "FormulaError", "UnknownFormulaName", "TIME_LIMIT"]

#: seconds of symbolic work a formula may take (define's and resolve's default)
TIME_LIMIT = 2.0

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_HAS_X = re.compile(r"(?<![A-Za-z0-9_])x(?![A-Za-z0-9_])")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
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
    model twice works); with another formula it is an error unless ``replace=True``,
    which also rebuilds the named formulas that call this one (they expanded it when they
    were defined), or replaces nothing if one of them no longer builds. A catalogue name
    can never be replaced.

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
        if existing is None:
            REGISTRY[name] = act
            return act
        # the named formulas that call this one expanded it when they were defined: rebuild
        # them, so that every process that defines the same records computes the same function
        before = {n: REGISTRY[n] for n in _callers(name)}
        undefine(name)
        REGISTRY[name] = act
        try:
            for n, old in before.items():
                REGISTRY[n] = build(parse_formula(old.text), n, dict(old.defaults), tl)
        except ActlabError as err:
            REGISTRY.update({name: existing, **before})
            raise ActlabError(f"Replacing {name!r} breaks the formula {n!r} that calls it ({err}); "
                              f"nothing was replaced.") from None
    return act


def _callers(name: str) -> list[str]:
    """The named formulas that call ``name``, directly or through others, in definition order."""
    calls = {n: set(_WORD.findall(a.text)) for n, a in REGISTRY.items()
             if isinstance(a, FormulaActivation) and a.name != a.text}
    found, grew = {name}, True
    while grew:  # to a fixed point: a replaced formula moves to the registry's end
        new = {n for n, words in calls.items() if n not in found and found & words}
        found |= new
        grew = bool(new)
    found.discard(name)
    return [n for n in REGISTRY if n in found]


_DEFINITION = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\(([^()]*)\))?\s*=(?!=)(.*)$", re.S)
_DEFAULT = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(\S+)\s*$")


def define_text(text: str, *, time_limit: float | None = None) -> FormulaActivation:
    """:func:`define` from one line, as the command line's ``--define`` takes it:
    ``"NAME = FORMULA"`` or ``"NAME(p=1.0, q=2) = FORMULA"`` (the parameters' defaults).

    >>> act = define_text("swish_b(b=1.0) = x * sigmoid(b * x)")
    >>> act.name, act.text, act.defaults
    ('swish_b', 'x * sigmoid(b * x)', {'b': 1.0})
    >>> undefine("swish_b")
    """
    if not isinstance(text, str) or len(text) > 1000:
        raise ActlabError(f"A definition is text of at most 1000 characters. Got {shorten(text)} instead.")
    m = _DEFINITION.match(text)
    if m is None:
        raise ActlabError(f"A definition reads NAME = FORMULA or NAME(p=1.0, ...) = FORMULA, e.g. "
                          f"'swish_b(b=1.0) = x * sigmoid(b * x)'. Got {shorten(text)} instead.")
    name, params, formula = m.group(1), m.group(2), m.group(3)
    defaults: dict[str, float] = {}
    for part in (params or "").split(","):
        if not part.strip():
            continue
        d = _DEFAULT.match(part)
        if d is None:
            raise ActlabError(f"A parameter's default in a definition reads p=1.0. Got {shorten(part.strip())} "
                              f"in {shorten(text)} instead.")
        try:
            value = float(d.group(2))
        except ValueError:
            raise ActlabError(f"The default of {d.group(1)!r} in {shorten(text)} must be a number. "
                              f"Got {shorten(d.group(2))} instead.") from None
        if d.group(1) in defaults:
            raise ActlabError(f"The parameter {d.group(1)!r} is given twice in {shorten(text)}.")
        defaults[d.group(1)] = value
    return define(formula.strip(), name, time_limit=time_limit, **defaults)


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


def definitions(obj: object) -> list[dict[str, Any]]:
    """The named formulas that ``obj`` refers to, as :func:`source` records, each after
    the named formulas it calls itself: what another process must :func:`install` before
    it can resolve the same specs. ``obj`` is a spec, or anything JSON-like that holds
    specs (a cell's settings); a name counts where it appears as a word.

    A spawned worker starts with the catalogue only, so the runner sends these with each
    cell, and its cache key holds them: redefining ``swish_b`` is another computation.

    >>> _ = define("x * sigmoid(b * x)", name="swish_b", b=1.0)
    >>> definitions({"activations": ["relu", "swish_b(b=1.5)"]})
    [{'name': 'swish_b', 'formula': 'x * sigmoid(b * x)', 'defaults': {'b': 1.0}}]
    >>> definitions("relu"), undefine("swish_b")
    ([], None)
    """
    import json

    text = obj if isinstance(obj, str) else json.dumps(obj, sort_keys=True, default=str)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def visit(words: set[str]) -> None:
        for word in sorted(words):
            act = REGISTRY.get(word)
            if word in seen or not isinstance(act, FormulaActivation) or act.name == act.text:
                continue
            seen.add(word)
            visit(set(_WORD.findall(act.text)))  # the named formulas it calls, defined first
            rec = source(act)
            assert rec is not None
            out.append(rec)

    visit(set(_WORD.findall(text)))
    return out


def install(records: list[dict[str, Any]]) -> None:
    """Define the formulas :func:`definitions` listed (in its order), replacing a formula of
    the same name defined otherwise: this process then resolves specs as the one that
    listed them did."""
    for rec in records:
        define(rec["formula"], rec["name"], replace=True, **rec["defaults"])


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


@dataclass(frozen=True)
class AsTyped:
    """A formula as the user typed it, and its derivatives as differentiated, evaluated
    directly in float64 NumPy without the stable rewrite: ``f(x)``, ``df(x)``, ``d2f(x)``
    take a float array (the caller sets ``np.errstate``); ``source`` is the text."""

    f: Callable[..., Any]
    df: Callable[..., Any]
    d2f: Callable[..., Any]
    source: str


def as_typed(act: str | Activation | Bound) -> AsTyped:
    """What the formula computes as typed: the naive evaluation beside which the lab's
    accuracy panel shows the entry's stable kernels (both against :func:`mp_reference`).

    >>> import numpy as np
    >>> typed = as_typed("log(1 + exp(x))")
    >>> with np.errstate(over="ignore"):
    ...     float(typed.f(np.array([800.0]))[0]), float(registry.get("log(1 + exp(x))")(800.0))
    (inf, 800.0)
    """
    from .codegen import compile_tree

    b = act if isinstance(act, Bound) else (resolve(act) or registry.get(act)) if isinstance(act, str) else act.bind()
    d = _definition(b)
    values = {k: _ir.num(Fraction(v)) for k, v in b.params.items()}
    ref = d.analysis["reference"]

    def fn(which: str) -> Callable[..., Any]:
        run = compile_tree(_ir.bind_params(ref[which], values))

        def call(x: Any, **params: float) -> Any:  # the bound parameters are already in the tree
            x = np.asarray(x, dtype=np.float64)
            return np.broadcast_to(np.asarray(run(x), dtype=np.float64), x.shape)

        return call

    return AsTyped(fn("f"), fn("df"), fn("d2f"), d.text)


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
