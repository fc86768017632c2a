"""The experiment framework: registration, configs and their ``--set`` parsing, running
one experiment and applying its verdict rule.

Each module of :mod:`actlab.claims.experiments` is one claim and registers itself in
:data:`EXPERIMENTS` when imported; that package imports them all, so nothing lists the
experiments by hand.

How to add an experiment (one new file, ``src/actlab/claims/experiments/my_claim.py``):

1. A module docstring titled with the claim, saying what the figure shows and why.
2. A config dataclass. Its field defaults are the *default* size; the class variables
   ``QUICK`` and ``FULL`` (dicts of field -> value) shrink or grow it. It must have an
   ``seeds: int`` field (seeds are ``0 .. seeds-1``, recorded in the result). Settings
   are fields, never commented-out lines: ``actlab run my_claim --set lr=0.3`` sets one.
   Every value is checked before any work (:func:`make_config`): by default an ``int``
   is at least 1 (a count or a size), a ``float`` is finite and positive (a rate, a
   scale), a ``str`` is not empty and a ``tuple`` has at least one item, each checked
   alike. A field that takes other values says so with :func:`setting`, e.g.
   ``momentum: float = setting(0.9, low=0, high=1, high_open=True)``,
   ``batchnorm: tuple[int, ...] = setting((0, 1), low=0, high=1)``,
   ``activations: tuple[str, ...] = setting(("relu", "tanh"), check=activation_spec)``.
3. A top-level *cell function* ``def cell(c: dict) -> dict`` computing one independent
   cell of the grid (one activation x depth x lr x seed ...) from plain JSON-able
   settings and returning JSON-able numbers. Keep it top-level: it runs in worker
   processes and its results are cached in SQLite (see :mod:`actlab.claims.runner`).
4. ``def run(cfg, runner) -> Outcome``: builds the grid, calls
   ``runner.map(cell, cells)`` (as often as needed), reduces the per-seed numbers to
   means with 95 % t-intervals (:func:`actlab.claims.figures.ci`), draws figures
   with :func:`~actlab.claims.figures.new_figure` / ``png``, and returns
   ``Outcome(numbers=..., raw=..., figures=[...], settings="what was run")``.
5. ``def verdict(numbers) -> Verdict``: the rule, from the measured numbers only:
   ``Verdict(CONFIRMED | CAVEATS | REFUTED, reasoning, key_number)``. Tests feed it
   doctored numbers to see the verdict change.
6. At the bottom: ``EXPERIMENT = register(name=..., number=..., tutorial="003",
   claim="in English", korean="the tutorial's words", config=Config, run=run,
   verdict=verdict)``.
7. Optionally, ``NEIGHBOURS: ClassVar[dict]`` on the config: field -> values next to its
   default (a neighbouring learning rate, width, depth, dtype). :func:`robustness` runs
   the experiment once per neighbour and says whether the verdict holds there; the report
   shows the table.
8. A quick-size test in tests/test_experiments.py (it iterates the registry: a new
   experiment is run by the generic tests automatically; add checks of its own numbers).

Then ``actlab run my_claim --quick`` runs it and ``actlab report`` includes it.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import json
import math
import os
import time
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._io import to_jsonable, write_atomic
from ..errors import ActlabError, InvalidParameterError, check_choice, check_int, unknown
from .runner import Runner

__all__ = [
    "EXPERIMENTS", "Experiment", "Outcome", "Result", "Verdict", "Figure", "register", "get", "names",
    "make_config", "run", "CONFIRMED", "CAVEATS", "REFUTED", "SIZES", "Rule", "setting", "validate_config",
    "activation_spec", "classification_sets", "REPRODUCED", "NOT_REPRODUCED", "KINDS", "robustness",
]

CONFIRMED = "confirmed"
CAVEATS = "confirmed with caveats"
REFUTED = "refuted"
#: a calibration's verdicts: a published result reproduced at small scale, or not
REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
VERDICTS = (CONFIRMED, CAVEATS, REFUTED, REPRODUCED, NOT_REPRODUCED)
#: what an experiment is: a tutorial's claim, or a published result reproduced to calibrate actlab's
#: methods (its pass rule's tolerance comes from the paper and the sampling error, not from actlab's output)
KINDS = {"claim": (CONFIRMED, CAVEATS, REFUTED), "calibration": (REPRODUCED, NOT_REPRODUCED)}
SIZES = ("quick", "default", "full")


@dataclass
class Figure:
    """A finished figure: PNG bytes plus a caption (serialised as base64 in JSON)."""

    name: str
    caption: str
    png: bytes

    def to_dict(self) -> dict:
        return {"name": self.name, "caption": self.caption, "png": base64.b64encode(self.png).decode()}

    @classmethod
    def from_dict(cls, d: Mapping) -> Figure:
        return cls(d["name"], d["caption"], base64.b64decode(d["png"]))


@dataclass
class Outcome:
    """What an experiment's ``run`` returns: measured numbers, per-seed raw data, figures."""

    numbers: dict
    raw: dict = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    settings: str = ""


@dataclass
class Verdict:
    verdict: str
    reasoning: str
    key: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


@dataclass
class Result:
    """An experiment's full result; :meth:`to_dict` is JSON-able (see ``actlab run --out``)."""

    experiment: str
    size: str
    config: dict
    outcome: Outcome
    verdict: Verdict
    seconds: float
    cells: dict = field(default_factory=dict)  # computed / cached counts
    robustness: list = field(default_factory=list)  # rows of :func:`robustness`, when it was run

    def to_dict(self) -> dict:
        return {
            "experiment": self.experiment,
            "size": self.size,
            "config": to_jsonable(self.config),
            "numbers": to_jsonable(self.outcome.numbers),
            "raw": to_jsonable(self.outcome.raw),
            "settings": self.outcome.settings,
            "figures": [f.to_dict() for f in self.outcome.figures],
            "verdict": dataclasses.asdict(self.verdict),
            "seconds": self.seconds,
            "cells": self.cells,
            "robustness": to_jsonable(self.robustness),
        }

    def save(self, out_dir: str | os.PathLike) -> list[str]:
        """Write ``NAME.json`` (:meth:`to_dict`) and each figure as ``NAME_FIGURE.png`` into
        ``out_dir``, atomically; return the paths, the JSON first."""
        paths = [os.path.join(out_dir, f"{self.experiment}.json")]
        write_atomic(paths[0], json.dumps(self.to_dict()))
        for f in self.outcome.figures:
            paths.append(os.path.join(out_dir, f"{self.experiment}_{f.name}.png"))
            write_atomic(paths[-1], f.png)
        return paths

    @classmethod
    def from_dict(cls, d: Mapping) -> Result:
        out = Outcome(d["numbers"], d["raw"], [Figure.from_dict(f) for f in d["figures"]], d["settings"])
        return cls(d["experiment"], d["size"], d["config"], out, Verdict(**d["verdict"]), d["seconds"], d["cells"],
                   d.get("robustness", []))


@dataclass(frozen=True, eq=False)
class Experiment:
    name: str
    number: int
    tutorial: str
    claim: str
    korean: str
    config: type
    run: Callable[..., Outcome]
    verdict: Callable[[Mapping], Verdict]
    module: str
    doc: str
    kind: str = "claim"

    @property
    def title(self) -> str:
        return self.doc.strip().splitlines()[0] if self.doc.strip() else self.claim


EXPERIMENTS: dict[str, Experiment] = {}


def register(*, name: str, number: int, tutorial: str, claim: str, korean: str, config: type,
             run: Callable[..., Outcome], verdict: Callable[[Mapping], Verdict], kind: str = "claim") -> Experiment:
    """Add an experiment to :data:`EXPERIMENTS` (called at the bottom of its module).

    A calibration (``kind="calibration"``) gives the paper as ``tutorial``, the paper's
    statement as ``claim`` and no Korean; its rule answers REPRODUCED or NOT_REPRODUCED."""
    if not dataclasses.is_dataclass(config) or "seeds" not in {f.name for f in dataclasses.fields(config)}:
        raise TypeError(f"{name}: config must be a dataclass with a 'seeds: int' field")
    check_choice(kind, "kind", "register", KINDS)
    mod = importlib.import_module(run.__module__)
    exp = Experiment(name, number, tutorial, claim, korean, config, run, verdict, run.__module__,
                     mod.__doc__ or "", kind)
    if name in EXPERIMENTS and EXPERIMENTS[name].module != exp.module:
        raise ValueError(f"experiment {name!r} registered twice")
    EXPERIMENTS[name] = exp
    return exp


def names(kind: str | None = None) -> list[str]:
    """Registered experiments (of one ``kind``, or all): the claims by number, then the
    calibrations by number."""
    if kind is not None:
        check_choice(kind, "kind", "names", KINDS)
    chosen = [n for n, e in EXPERIMENTS.items() if kind is None or e.kind == kind]
    return sorted(chosen, key=lambda n: (list(KINDS).index(EXPERIMENTS[n].kind), EXPERIMENTS[n].number, n))


def get(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise unknown("experiment", name, EXPERIMENTS)
    return EXPERIMENTS[name]


# ----------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class Rule:
    """The values a config field takes (the items' values, for a tuple): an interval
    ``low .. high`` (each end closed unless ``low_open`` / ``high_open``; None: no bound),
    a tuple's least length ``min_len``, names ``choices`` (or a function returning them),
    and ``check(value)``, which raises :class:`ActlabError` for a bad item (e.g.
    :func:`activation_spec`). Floats are always finite."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    min_len: int = 1
    choices: tuple[str, ...] | Callable[[], typing.Iterable[str]] | None = None
    check: Callable[[Any], Any] | None = None


#: The rule of a field declared without :func:`setting`, by type: counts and sizes are at
#: least 1, rates and scales are positive, names are not empty, tuples are not empty.
DEFAULT_RULES: dict[type, Rule] = {int: Rule(low=1), float: Rule(low=0, low_open=True), str: Rule(), bool: Rule()}


def setting(default: Any, **rule: Any) -> Any:
    """A config field whose values follow ``Rule(**rule)`` instead of its type's default rule.

    >>> @dataclass
    ... class Config:
    ...     seeds: int = 1
    ...     momentum: float = setting(0.9, low=0, high=1, high_open=True)
    >>> dataclasses.fields(Config)[1].metadata["actlab"]
    Rule(low=0, high=1, low_open=False, high_open=True, min_len=1, choices=None, check=None)
    """
    return field(default=default, metadata={"actlab": Rule(**rule)})


def activation_spec(spec: str) -> None:
    """Check an activation spec of a network's hidden layers (``"relu"``,
    ``"leaky_relu(slope=0.2)"``, or ``"prelu"``, which makes a PReLU layer)."""
    from ..catalogue import registry

    if spec != "prelu":
        registry.get(spec)


def classification_sets() -> list[str]:
    """The Playground 2-D classification sets (the ``choices`` of a ``dataset`` field)."""
    from ..data import PLAYGROUND

    return [name for name, (_, task) in PLAYGROUND.items() if task == "classification"]


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit // 2 - 2]}...{text[-(limit // 2 - 2):]}"


def _bounds(rule: Rule) -> str:
    if rule.low is None and rule.high is None:
        return ""
    lo = "-inf" if rule.low is None or rule.low == -math.inf else f"{rule.low:g}"
    hi = "inf" if rule.high is None or rule.high == math.inf else f"{rule.high:g}"
    left = "(" if rule.low_open or lo == "-inf" else "["
    right = ")" if rule.high_open or hi == "inf" else "]"
    return f" in {left}{lo}, {hi}{right}"


def _describe(tp: Any, rule: Rule, plural: bool = False) -> str:
    """What a value of type ``tp`` under ``rule`` must be, for a message."""
    if rule.choices is not None:
        names = ", ".join(map(repr, rule.choices() if callable(rule.choices) else rule.choices))
        return f"names among {names}" if plural else f"one of {names}"
    tname = {int: "int", float: "float", str: "string", bool: "bool"}.get(tp, getattr(tp, "__name__", str(tp)))
    extra = " (a valid spec)" if rule.check is not None else " (not empty)" if tp is str else ""
    if plural:
        return f"{tname}s{_bounds(rule)}{extra}"
    return f"a{'n' if tname[0] in 'aeiou' else ''} {tname}{_bounds(rule)}{extra}"


def _item_ok(v: Any, tp: Any, rule: Rule) -> bool:
    if tp in (int, float) and (isinstance(v, bool) or not isinstance(v, (int, float))):
        return False
    if tp is float and not math.isfinite(v):
        return False
    if tp in (int, float):
        if rule.low is not None and (v < rule.low or (rule.low_open and v == rule.low)):
            return False
        if rule.high is not None and (v > rule.high or (rule.high_open and v == rule.high)):
            return False
    if tp is str and (not isinstance(v, str) or v == ""):
        return False
    if rule.choices is not None:
        return v in (rule.choices() if callable(rule.choices) else rule.choices)
    return True


def _check_value(value: Any, tp: Any, rule: Rule | None, key: str, owner: str) -> None:
    """Raise a one-line :class:`InvalidParameterError` unless ``value`` follows the rule."""
    is_tuple = typing.get_origin(tp) is tuple
    inner = typing.get_args(tp)[0] if is_tuple else tp
    rule = rule if rule is not None else DEFAULT_RULES.get(inner)
    if rule is None:
        return
    items = value if is_tuple else (value,)
    if is_tuple:
        length = "a non-empty list of " if rule.min_len == 1 else (
            "a list of " if rule.min_len <= 0 else f"a list of at least {rule.min_len} ")
        what = length + _describe(inner, rule, plural=True)
    else:
        what = _describe(inner, rule)
    msg = f"The {key!r} setting of {owner} must be {what}. Got {_show(value)} instead."
    if is_tuple and (not isinstance(value, tuple) or len(value) < rule.min_len):
        raise InvalidParameterError(msg)
    for v in items:
        if not _item_ok(v, inner, rule):
            raise InvalidParameterError(msg)
        if rule.check is not None:
            try:
                rule.check(v)
            except ActlabError as err:
                raise InvalidParameterError(f"The {key!r} setting of {owner}: {err}") from None


def validate_config(name: str, cfg: Any) -> Any:
    """Check every field of ``cfg`` (a config of experiment ``name``) against its rule
    (:func:`setting`, or the default rule of its type); return ``cfg``."""
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        _check_value(getattr(cfg, f.name), hints[f.name], f.metadata.get("actlab"), f.name, name)
    return cfg


def _split(text: str) -> list[str]:
    """Comma-separated items; a comma inside parentheses belongs to its item
    (``"normal(mean=0, std=1),he"`` is two specs)."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [t.strip() for t in items]


def _convert(value: Any, tp: Any, key: str, owner: str) -> Any:
    """A --set value (string or typed) as the field's type, or a one-line error."""
    origin = typing.get_origin(tp)
    if origin is tuple:
        (inner, *_rest) = typing.get_args(tp)
        if isinstance(value, str):
            items = _split(value)
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:  # one value given for a list
            items = [value]
        return tuple(_convert(v, inner, key, owner) for v in items if v != "")
    tname = getattr(tp, "__name__", str(tp))
    msg = (f"The {key!r} setting of {owner} must be a{'n' if tname[0] in 'aeiou' else ''} {tname}. "
           f"Got {value!r} instead.")
    if tp is bool:
        if isinstance(value, bool):
            return value
        s = str(value).lower()
        if s in ("1", "true", "yes", "on"):
            return True
        if s in ("0", "false", "no", "off"):
            return False
        raise InvalidParameterError(msg)
    if tp is int:
        try:
            v = int(value)
        except (TypeError, ValueError):
            raise InvalidParameterError(msg) from None
        if isinstance(value, bool) or (not isinstance(value, str) and v != value):
            raise InvalidParameterError(msg)
        return v
    if tp is float:
        if isinstance(value, bool):
            raise InvalidParameterError(msg)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InvalidParameterError(msg) from None
    if tp is str:
        return str(value)
    raise InvalidParameterError(msg)


def make_config(name: str, size: str = "default", seeds: int | None = None, overrides: Mapping[str, Any] | None = None):
    """The config of experiment ``name`` at ``size``, with ``seeds`` and ``--set`` overrides.

    Everything is validated here, before any work starts: unknown experiment, size or
    key, values of the wrong type and values outside a field's rule (:func:`setting`,
    :func:`validate_config`) are one-line :class:`ActlabError` messages.
    """
    exp = get(name)
    check_choice(size, "size", name, SIZES)
    cls = exp.config
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    values.update(getattr(cls, size.upper(), {}) if size != "default" else {})
    for key, value in (overrides or {}).items():
        if key not in fields:
            raise unknown("setting", key, fields, owner=name)
        values[key] = _convert(value, hints[key], key, name)
    if seeds is not None:
        values["seeds"] = seeds
    values["seeds"] = check_int(values.get("seeds", cls.__dataclass_fields__["seeds"].default), "seeds", name, low=1)
    return validate_config(name, cls(**values))


def parse_sets(items: list[str] | None) -> dict[str, str]:
    """``["lr=0.1", "depth=3"]`` -> ``{"lr": "0.1", "depth": "3"}`` (the CLI's --set)."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ActlabError(f"--set takes key=value, e.g. --set lr=0.1. Got {item!r} instead.")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def run(name: str, size: str = "default", *, seeds: int | None = None, overrides: Mapping[str, Any] | None = None,
        runner=None, config=None) -> Result:
    """Run one experiment through ``runner`` (default: in-memory cache, serial) and apply its rule."""
    exp = get(name)
    cfg = config if config is not None else make_config(name, size, seeds, overrides)
    runner = runner if runner is not None else Runner(None, workers=1, progress=False)
    before = dict(runner.stats)
    t0 = time.perf_counter()
    outcome = exp.run(cfg, runner)
    seconds = time.perf_counter() - t0
    verdict = exp.verdict(outcome.numbers)
    if verdict.verdict not in KINDS[exp.kind]:  # a claim is confirmed or refuted, a calibration reproduced or not
        raise ValueError(f"{name}: a {exp.kind}'s verdict is one of {KINDS[exp.kind]}, got {verdict.verdict!r}")
    cells = {k: runner.stats[k] - before[k] for k in ("computed", "cached")}
    return Result(name, size, dataclasses.asdict(cfg), outcome, verdict, seconds, cells)


def robustness(name: str, size: str = "quick", *, runner=None, base: Result | None = None) -> list[dict]:
    """Does the verdict hold next door? The experiment at ``size`` with one setting changed
    at a time to each value of its config's ``NEIGHBOURS``: rows {setting, value, verdict,
    key, same}, the first one the unchanged config (``base`` if given, when it ran at this
    size). ``same`` says whether the verdict equals the unchanged one's; a verdict that
    flips between neighbours "depends on" that setting. No NEIGHBOURS: no rows."""
    exp = get(name)
    neighbours = getattr(exp.config, "NEIGHBOURS", {})
    if not neighbours:
        return []
    runner = runner if runner is not None else Runner(None, workers=1, progress=False)
    ref = base if base is not None and base.size == size else run(name, size, runner=runner)
    rows = [{"setting": "(as run)", "value": "", "verdict": ref.verdict.verdict, "key": ref.verdict.key, "same": True}]
    for key, values in neighbours.items():
        for value in values:
            r = run(name, size, overrides={key: value}, runner=runner)
            rows.append({"setting": key, "value": value, "verdict": r.verdict.verdict, "key": r.verdict.key,
                         "same": r.verdict.verdict == ref.verdict.verdict})
    return rows
