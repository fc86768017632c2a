"""A catalogue entry built from a formula, with its metadata computed, not assumed.

:class:`FormulaActivation` is a registry :class:`~actlab.catalogue.registry.Activation`
(it binds, evaluates and plots like any entry) whose kernels dispatch on the parameter
values: each set of values gets its own symbolic analysis (in the worker, cached), since
limits, kinks and even the stable form depend on them (``x * sigmoid(b * x)`` is
``silu(x, beta=b)`` for b > 0 and ``-silu(-x, beta=-b)`` for b < 0).

Metadata, at the default parameters unless said otherwise:

* limits at +-inf of f, f', f'': SymPy (:mod:`.derive`); where SymPy gives up, the
  float64 kernel's value at +-1e300 if it equals the value at +-max (else NaN);
* kinks (per parameter values): candidates from abs/min/max/where and the catalogue
  calls inside, kept where f or f' jumps between the two floats around them; f' there is
  the catalogue's convention for an entry inside, and the *left* derivative (f' at the
  float just below) for the user's own abs/min/max/where;
* smoothness: "discontinuous" / "C0" / "C1" from jumps of f / f' / f'' at the candidates,
  "C2" if there are candidates but no jump up to f'' (f''' is not checked), else "Cinf";
* range (per parameter values), monotonicity and zero-centring: sampled on a grid of
  [-20, 20] plus log-spaced points out to +-1e6, with the limits, and the extrema refined;
* domain: the interval outside which f is NaN, if the samples show one;
* the gain: derived by the registry from the spec (1/sqrt(E[f(Z)^2])), like any entry
  without a catalogue gain.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..catalogue.registry import REGISTRY, ULP_BOUNDS, Activation, Param
from ..errors import ActlabError
from . import _ir, worker
from .codegen import compile_tree, kernel
from .parse import Formula

__all__ = ["FormulaActivation", "build"]

inf = math.inf
#: what the issue promises for the naive spellings; other formulas report what they measure
FORMULA_ULP = {"f": 16.0, "df": 16.0, "d2f": 64.0}
_SAMPLES = np.unique(np.concatenate([np.linspace(-20.0, 20.0, 8001), np.logspace(-6, 6, 241),
                                     -np.logspace(-6, 6, 241)]))


@dataclass
class Compiled:
    """Everything for one set of parameter values."""

    params: dict[str, float]
    analysis: dict[str, Any]
    f: Any
    df: Any
    d2f: Any
    limits: dict[str, tuple[float, float]]
    kinks: dict[float, float]
    smoothness: str
    _range: tuple[float, float] | None = None

    @property
    def range(self) -> tuple[float, float]:
        if self._range is None:
            self._range = _sampled_range(self)
        return self._range


class _State:
    """The per-parameter cache of one formula entry (thread-safe)."""

    def __init__(self, formula: Formula, time_limit: float) -> None:
        self.formula, self.time_limit = formula, time_limit
        self.cache: dict[tuple[tuple[str, float], ...], Compiled] = {}
        self.lock = threading.Lock()

    def get(self, params: Mapping[str, float], display: bool = False) -> Compiled:
        key = tuple(sorted((k, float(v)) for k, v in params.items()))
        with self.lock:
            hit = self.cache.get(key)
        if hit is not None:
            return hit
        made = _compile(self.formula, dict(key), self.time_limit, display)
        with self.lock:
            if len(self.cache) > 64:  # a parameter sweep: keep memory bounded
                self.cache.pop(next(iter(self.cache)))
            return self.cache.setdefault(key, made)


@dataclass(frozen=True, eq=False)
class FormulaActivation(Activation):
    """An :class:`Activation` defined by a formula (see the module docstring)."""

    formula_source: Formula | None = None
    analysis: Mapping[str, Any] = field(default_factory=dict)
    state: Any = field(default=None, repr=False)

    @property
    def text(self) -> str:
        assert self.formula_source is not None
        return self.formula_source.text

    def _check_joint(self, values: dict[str, float]) -> None:
        super()._check_joint(values)
        if self.formula_source is None:
            return
        # the parameters of the catalogue calls inside, at these values: their own checks
        tree = _ir.bind_params(self.formula_source.tree, {k: _ir.num(Fraction(v)) for k, v in values.items()})
        for n in _ir.walk(tree):
            if n[0] == "cat" and n[4]:
                vals = {}
                for k, v in n[4]:
                    with np.errstate(all="ignore"):
                        vals[k] = float(np.asarray(compile_tree(v)(np.zeros(0))))
                REGISTRY[n[1]].bind(**vals)
        self.state.get(values)  # the analysis for these values now, so that errors show at bind

    def compiled(self, **params: float) -> Compiled:
        """The analysis and kernels for these parameter values (defaults filled in)."""
        values = {**self.defaults, **{k: float(v) for k, v in params.items()}}
        return self.state.get(values)


def _compile(formula: Formula, params: dict[str, float], time_limit: float, display: bool) -> Compiled:
    req = {"tree": formula.tree, "params": params, "display": display}
    res = worker.run(req, time_limit)
    with np.errstate(all="ignore"):  # the probes near kinks and far out are subnormal or overflow on purpose
        return _kernels(formula, params, res)


def _kernels(formula: Formula, params: dict[str, float], res: dict[str, Any]) -> Compiled:
    ks = res["kernels"]
    raw = {w: compile_tree(ks[w]) for w in ("f", "df", "d2f")}
    limits: dict[str, tuple[float, float]] = {}
    for w in ("f", "df", "d2f"):
        lo, hi = res["limits"][w]
        lo = _numeric_limit(raw[w], -1) if lo is None else lo
        hi = _numeric_limit(raw[w], 1) if hi is None else hi
        limits[w] = (float(lo), float(hi))
    f_k = kernel(ks["f"], limits["f"])
    dom = raw["f"] if _ir.restricted(formula.tree) else None
    df_plain = kernel(ks["df"], limits["df"], domain=dom)
    d2f_plain = kernel(ks["d2f"], limits["d2f"], domain=dom)
    kinks, smooth, left = _kinks(res["points"], f_k, df_plain, d2f_plain, bool(ks and _has_pieces(ks["f"])))
    df_k = kernel(ks["df"], limits["df"], left["df"], dom) if left["df"] else df_plain
    d2f_k = kernel(ks["d2f"], limits["d2f"], left["d2f"], dom) if left["d2f"] else d2f_plain
    kinks = {k: float(_at(df_k, k)) for k in kinks}
    return Compiled(params, res, f_k, df_k, d2f_k, limits, kinks, smooth)


def _has_pieces(tree: _ir.Node) -> bool:
    return any(n[0] == "where" or (n[0] == "fn" and n[1] in ("abs", "min", "max", "sign")) or n[0] == "cat"
               and REGISTRY[n[1]].smoothness != "Cinf" for n in _ir.walk(tree))


def _at(k: Any, x: float) -> float:
    a = np.array([x], np.float64)
    return float(k(a, np.empty_like(a))[0])


def _numeric_limit(fn: Any, sign: int) -> float:
    """The float64 expression's value far out, where SymPy found no limit: the value at
    sign * 1e300 if it is the same (to 1e-12) at sign * 1e30 and 1e100; NaN otherwise (an
    overflow of the naive form, x**2 at 1e300, must not pass for a limit)."""
    with np.errstate(all="ignore"):
        vals = [float(np.broadcast_to(fn(np.array([sign * v])), (1,))[0]) for v in (1e30, 1e100, 1e300)]
    last = vals[-1]
    if all(math.isnan(v) for v in vals):
        return math.nan
    if all(v == last or (math.isfinite(v) and abs(v - last) <= 1e-12 * abs(last)) for v in vals):
        return last
    return math.nan


def _jump(a: float, b: float) -> bool:
    if not (math.isfinite(a) and math.isfinite(b)):
        return not (a == b or (math.isnan(a) and math.isnan(b)))
    return abs(a - b) > 1e-7 * (1.0 + max(abs(a), abs(b)))


def _kinks(points: Mapping[str, list[tuple[float, bool]]], f: Any, df: Any, d2f: Any, pieces: bool
           ) -> tuple[list[float], str, dict[str, dict[float, float]]]:
    """The kinks among the candidate points, the smoothness, and the left values that
    f' and f'' take at the user's own kinks (exactly representable points only)."""
    order = {"discontinuous": 0, "C0": 1, "C1": 2, "C2": 3, "Cinf": 4}
    smooth = "C2" if (pieces or points["user"] or points["catalogue"]) else "Cinf"
    kinks: list[float] = []
    left: dict[str, dict[float, float]] = {"df": {}, "d2f": {}}
    for source in ("catalogue", "user"):
        for c, exact in points[source]:
            lo, hi = np.nextafter(c, -inf), np.nextafter(c, inf)
            jumps = [_jump(_at(k, lo), _at(k, hi)) for k in (f, df, d2f)]
            level = "discontinuous" if jumps[0] else "C0" if jumps[1] else "C1" if jumps[2] else "C2"
            if order[level] < order[smooth]:
                smooth = level
            if jumps[0] or jumps[1]:
                kinks.append(c)
            if source == "user" and exact and any(jumps):
                left["df"][c] = _at(df, lo)
                left["d2f"][c] = _at(d2f, lo)
    return sorted(set(kinks)), smooth, left


def _sampled_range(c: Compiled) -> tuple[float, float]:
    with np.errstate(all="ignore"):
        return _sampled_range_of(c)


def _sampled_range_of(c: Compiled) -> tuple[float, float]:
    from scipy import optimize

    x = _SAMPLES
    y = c.f(x, np.empty_like(x))
    lo_lim, hi_lim = c.limits["f"]
    ends = [v for v in (lo_lim, hi_lim) if not math.isnan(v)]
    finite = ~np.isnan(y)
    if not finite.any():
        return (-inf, inf)
    out = []
    for sign in (1.0, -1.0):
        v = np.where(np.isnan(y), np.inf, sign * y)
        best = float(v.min())
        # refine around the few best samples (an oscillating f has many near-equal maxima)
        for i in np.argsort(v, kind="stable")[:6]:
            i = int(i)
            if not (0 < i < x.size - 1 and math.isfinite(v[i])):
                continue

            def g(t: float) -> float:
                w = _at(c.f, t)
                return sign * w if math.isfinite(w) else 1e308

            with np.errstate(all="ignore"):
                r = optimize.minimize_scalar(g, bounds=(float(x[i - 1]), float(x[i + 1])), method="bounded",
                                             options={"xatol": 1e-12})
            if r.success and r.fun < best:
                best = float(r.fun)
        cands = [sign * best, *ends] if best < math.inf else list(ends)  # inf: f is NaN at every sample
        out.append((min(cands) if sign > 0 else max(cands)) + 0.0)  # + 0.0: no -0.0 end
    return (out[0], out[1])


def _domain(y: np.ndarray, f: Any, restricted: bool) -> tuple[float, float]:
    """The interval outside which f is NaN, if the samples show one; else the real line.

    Only for a formula with a part that is real on part of the line (log, sqrt, a
    fractional power, log1mexp): elsewhere a NaN is a float overflow (0 * inf), not the
    edge of the domain."""
    x = _SAMPLES
    bad = np.isnan(y)
    if not restricted or not bad.any() or bad.all():
        return (-inf, inf)
    good_x = x[~bad]
    lo, hi = -inf, inf
    if bad[x < good_x.min()].all() and (x < good_x.min()).any():
        lo = _boundary(f, float(x[x < good_x.min()].max()), float(good_x.min()))
    if bad[x > good_x.max()].all() and (x > good_x.max()).any():
        hi = _boundary(f, float(x[x > good_x.max()].min()), float(good_x.max()))
    inner = bad[(x > good_x.min()) & (x < good_x.max())]
    return (-inf, inf) if inner.any() else (lo, hi)


def _boundary(f: Any, nan_x: float, ok_x: float) -> float:
    """The float where f stops being NaN, between a NaN sample and a valid one (bisection)."""
    a, b = nan_x, ok_x
    for _ in range(200):
        m = a + (b - a) / 2
        if m in (a, b):
            break
        if math.isnan(_at(f, m)):
            a = m
        else:
            b = m
    return b if abs(b) > 1e-300 else 0.0


def _doc(formula: Formula, name: str, c: Compiled, display: Mapping[str, str]) -> str:
    lim = c.limits
    fmt = lambda p: f"({p[0]:g}, {p[1]:g})"  # noqa: E731
    lines = [
        f"The formula {formula.text!r}" + (f", defined as {name!r}" if name != formula.text else "") + ".",
        "",
        f"f(x)   = {display.get('f', formula.text)}",
        f"stable = {display.get('stable', c.analysis.get('rewritten', ''))}",
        f"f'(x)  = {display.get('df', '')}",
        f"f''(x) = {display.get('d2f', '')}",
        "",
        f"Limits at (-inf, +inf): f {fmt(lim['f'])}, f' {fmt(lim['df'])}, f'' {fmt(lim['d2f'])}.",
        f"Kinks (x: f'(x)): {c.kinks or 'none'}; smoothness {c.smoothness}.",
    ]
    notes = c.analysis.get("notes") or []
    if notes:
        lines += ["", "Notes: " + "; ".join(notes) + "."]
    return "\n".join(lines)


def build(formula: Formula, name: str, defaults: Mapping[str, float], time_limit: float) -> FormulaActivation:
    """The entry for a parsed formula (symbolic analysis at the defaults, metadata sampled)."""
    missing = [p for p in formula.params if p not in defaults]
    if missing:
        raise ActlabError(f"The formula {formula.text!r} has the parameter(s) {', '.join(missing)} without a "
                          f"default: give each one, e.g. define({formula.text!r}, name=..., {missing[0]}=1.0).")
    state = _State(formula, time_limit)
    values = {p: float(defaults[p]) for p in formula.params}
    c = state.get(values, display=True)
    with np.errstate(all="ignore"):
        return _entry(formula, name, state, values, c)


def _entry(formula: Formula, name: str, state: _State, values: dict[str, float], c: Compiled) -> FormulaActivation:
    display = c.analysis.get("display", {})
    x = _SAMPLES
    y = c.f(x, np.empty_like(x))
    dy = c.df(x, np.empty_like(x))
    ok = ~np.isnan(y)
    with np.errstate(invalid="ignore", over="ignore"):
        yy = y[ok]  # inf >= inf holds where f overflows, which a difference (inf - inf) would not
        monotonic = bool(ok.any() and np.all(dy[ok & ~np.isnan(dy)] >= 0) and np.all(yy[1:] >= yy[:-1]))
        y_neg = c.f(-x, np.empty_like(x))
        both = ok & ~np.isnan(y_neg)
        odd = bool(both.any() and np.array_equal(both, ok)
                   and np.all(np.abs(y[both] + y_neg[both]) <= 1e-12 * (np.abs(y[both]) + 1e-300)))
    zero_centred = odd and _at(c.f, 0.0) == 0.0

    def kinks_(**p: float) -> dict[float, float]:
        return dict(state.get({**values, **p}).kinks)

    def range_(**p: float) -> tuple[float, float]:
        return state.get({**values, **p}).range

    def dispatch(which: str) -> Any:
        def run(x: np.ndarray, out: np.ndarray, **p: float) -> np.ndarray:
            return getattr(state.get({**values, **p}), which)(x, out)

        run.__name__ = f"{which}_kernel"
        return run

    return FormulaActivation(
        name=name,
        doc=_doc(formula, name, c, display),
        formula=display.get("latex", formula.text),
        smoothness=c.smoothness,
        monotonic=monotonic,
        zero_centred=zero_centred,
        f_kernel=dispatch("f"),
        df_kernel=dispatch("df"),
        d2f_kernel=dispatch("d2f"),
        domain=_domain(y, c.f, _ir.restricted(formula.tree) or any(REGISTRY[n].domain != (-inf, inf)
                                                                      for n in formula.calls)),
        range_=range_,
        kinks_=kinks_,
        gain_=None,
        params=tuple(Param(p, values[p], doc=f"parameter {p} of the formula") for p in formula.params),
        family="formula",
        ulp={**ULP_BOUNDS, **FORMULA_ULP},
        formula_source=formula,
        analysis=c.analysis,
        state=state,
    )
