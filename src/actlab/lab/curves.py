"""The Activations view's numbers: the catalogue, curves, property sheets, naive vs actlab.

Everything is computed here from the catalogue (``actlab.get(spec).f/df/d2f``); the page
only draws the arrays, so no formula is ever written twice. Curves follow
:mod:`actlab.plots`' conventions: the line breaks at each kink, where a filled dot marks
the value the catalogue returns and open dots the one-sided limits that differ from it
(ReLU's f'(0) = 0 is then visible); vector entries (softmax, ...) are drawn along a
one-parameter slice of their input, output 0 of f(x, 0) (of f(x, x) for GLU, whose
output is half as long), with the derivative along that slice.

The naive-vs-actlab panel measures errors in ulp against mpmath (:mod:`actlab.verify`),
in float32, over the range shown and at a few hard inputs (the exp overflow edge at
88.7, large magnitudes), for the entries where the tutorials wrote a naive formula
(:data:`actlab.verify.naive.NAIVE`): e.g. the naive softmax of (x, 0) is NaN from
x = 88.8 in float32, actlab's is 1. A typed formula is measured in float64 beside itself
as typed (:func:`actlab.formula.as_typed`): ``log(1 + exp(x))`` as typed is inf from
x = 710 and 0 below x = -37, the entry it becomes is exact to a few ulp.

>>> c = curve("relu", -2, 2, 5)
>>> c["f"], [k["x"] for k in c["kinks"]], c["kinks"][0]["df"]
([0.0, 0.0, None, 1.0, 2.0], [0.0], {'at': 0.0, 'sides': [1.0]})
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .. import formula
from ..catalogue import registry
from ..catalogue.registry import REGISTRY, Bound
from ..errors import ActlabError
from ..verify import naive as naive_mod
from ..verify import reference
from ..verify.accuracy import ulp_errors

__all__ = ["catalogue", "curve", "properties", "accuracy", "evaluate_at", "MAX_POINTS", "MAX_ABS_X"]

MAX_POINTS = 4001
MAX_ABS_X = 1e4
_HARD_X = (-1e4, -100.0, -89.0, -88.7, -40.0, -20.0, -1.0, 0.0, 1.0, 20.0, 40.0, 88.7, 89.0, 100.0, 1e4)


def _num(v: Any) -> float | None:
    """A float for JSON: non-finite values become None (shown as gaps / as text by the page)."""
    v = float(v)
    return v if math.isfinite(v) else None


def _num_text(v: Any) -> str:
    """Any float as text, inf and NaN included (property sheets)."""
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(v)


def _search_words(a: registry.Activation) -> list[str]:
    """Words a search box matches besides name, aliases and family: the properties."""
    b = a.bind()
    words = [a.smoothness, "vector" if a.vector else "elementwise"]
    words.append("monotonic" if a.monotonic else "non-monotonic")
    words.append("zero-centred" if a.zero_centred else "not-zero-centred")
    words.append("smooth" if a.smoothness == "Cinf" else "kinked" if b.kinks else a.smoothness)
    if not a.vector:
        words.append("bounded" if b.bounded_below and b.bounded_above else
                     "bounded-below" if b.bounded_below else "bounded-above" if b.bounded_above else "unbounded")
    if a.params:
        words.append("parametric")
    return words


@functools.cache
def catalogue() -> list[dict[str, Any]]:
    """Every registry entry, for the picker: names, family, formula, parameters, search words."""
    out = []
    for name, a in REGISTRY.items():
        out.append({
            "name": name, "aliases": list(a.aliases), "family": a.family, "formula": a.formula,
            "smoothness": a.smoothness, "monotonic": a.monotonic, "zero_centred": a.zero_centred,
            "vector": a.vector, "has_d2f": a.d2f_kernel is not None, "has_naive": name in naive_mod.NAIVE,
            "hidden_ok": name != "glu",
            "params": [{"name": p.name, "default": p.default, "low": _num(p.low), "high": _num(p.high),
                        "low_open": p.low_open, "high_open": p.high_open, "doc": p.doc} for p in a.params],
            "summary": (a.doc.strip().split("\n\n")[0].replace("\n", " ") if a.doc else ""),
            "words": _search_words(a),
        })
    return out


def check(spec: str) -> str:
    """The canonical spec of ``spec`` (a catalogue spec or a typed formula), or the
    ActlabError that says why it does not build.

    >>> check("log(1 + exp(x))"), check("elu")
    ('log(1 + exp(x))', 'elu(alpha=1.0)')
    """
    return _bound(spec).spec


def _bound(spec: str) -> Bound:
    if not isinstance(spec, str) or len(spec) > formula.parse.MAX_CHARS:
        raise ActlabError(f"An activation is a catalogue spec such as 'elu(alpha=0.5)' or a formula in x of at "
                          f"most {formula.parse.MAX_CHARS} characters.")
    return registry.get(spec)


class _Slice:
    """f and its derivatives along x, for elementwise entries and vector slices alike."""

    def __init__(self, act: Bound) -> None:
        self.act = act
        self.vector = act.definition.vector
        if self.vector:
            probe = np.asarray(act.f(np.zeros(2)))
            self.direction = np.array([1.0, 1.0]) if probe.size < 2 else np.array([1.0, 0.0])

    def rows(self, x: np.ndarray) -> np.ndarray:
        """The slice's input rows in x's dtype: (x, 0) or (x, x); where (not x * 0, which is
        NaN at x = inf) so that the limits at infinity come out right."""
        return np.where(self.direction[None, :] != 0, x[:, None], np.zeros((), x.dtype))

    @property
    def label(self) -> str:
        if not self.vector:
            return self.act.spec
        return f"{self.act.spec}{'(x, x)' if self.direction[1] else '(x, 0)'}[0]"

    def has(self, which: str) -> bool:
        return which != "d2f" or (not self.vector and self.act.has_d2f)

    def __call__(self, which: str, x: np.ndarray) -> np.ndarray:
        if not self.vector:
            return np.asarray(getattr(self.act, which)(x), dtype=np.float64)
        rows = self.rows(x)
        if which == "f":
            return np.asarray(self.act.f(rows)[:, 0], np.float64)
        return self.act.jacobian(rows)[:, 0, :] @ self.direction

    @property
    def kinks(self) -> list[float]:
        return [] if self.vector else sorted(self.act.kinks)


def _check_range(lo: float, hi: float, n: int) -> None:
    if not (math.isfinite(lo) and math.isfinite(hi) and -MAX_ABS_X <= lo < hi <= MAX_ABS_X):
        raise ActlabError(f"The range must satisfy -{MAX_ABS_X:g} <= lo < hi <= {MAX_ABS_X:g}. Got [{lo}, {hi}].")
    if not 2 <= n <= MAX_POINTS:
        raise ActlabError(f"The number of points must be in [2, {MAX_POINTS}]. Got {n}.")


def curve(spec: str, lo: float = -5.0, hi: float = 5.0, n: int = 801) -> dict[str, Any]:
    """x, f, f' and f'' on [lo, hi] (n points plus the kinks), with the kinks' dots.

    Each kink k inside the range is inserted into x with the curves set to None there
    (a break, so a jump is not drawn as a vertical segment); ``kinks`` lists, for f, f'
    and f'', the value at k (``at``, the filled dot) and the one-sided limits that differ
    from it (``sides``, open dots), as ``actlab plot`` draws them.
    """
    _check_range(lo, hi, n)
    s = _Slice(_bound(spec))
    x = np.linspace(lo, hi, n)
    inner = [k for k in s.kinks if lo < k < hi]
    xs = np.unique(np.concatenate([x, np.array(inner, dtype=float)]))
    out: dict[str, Any] = {"spec": s.act.spec, "label": s.label, "x": [float(v) for v in xs]}
    with np.errstate(all="ignore"):
        for which in ("f", "df", "d2f"):
            if not s.has(which):
                out[which] = None
                continue
            y = s(which, xs)
            y = np.where(np.isin(xs, inner), np.nan, y)
            out[which] = [_num(v) for v in y]
        kinks = []
        for k in inner:
            kk = np.array([k, np.nextafter(k, -np.inf), np.nextafter(k, np.inf)])
            entry: dict[str, Any] = {"x": float(k)}
            for which in ("f", "df", "d2f"):
                if not s.has(which):
                    continue
                at, left, right = s(which, kk)
                sides = sorted({float(v) for v in (left, right) if not abs(v - at) <= 1e-9 * (1 + abs(at))})
                entry[which] = {"at": _num(at), "sides": [_num(v) for v in sides]}
            kinks.append(entry)
    out["kinks"] = kinks
    return out


def evaluate_at(spec: str, x: float) -> dict[str, Any]:
    """f, f', f'' at one x, in float64 and float32, as exact decimal text (repr)."""
    if not math.isfinite(x) and not math.isinf(x):
        raise ActlabError("x must be a number.")
    s = _Slice(_bound(spec))
    out: dict[str, Any] = {"spec": s.act.spec, "x": _num_text(x)}
    with np.errstate(all="ignore"):
        for dt in ("float64", "float32"):
            xv = np.array([x], dtype=dt)
            out[dt] = {w: (_num_text(np.asarray(s(w, xv) if not s.vector else _vec32(s, w, xv))[0])
                           if s.has(w) else None) for w in ("f", "df", "d2f")}
    return out


def _vec32(s: _Slice, which: str, x: np.ndarray) -> np.ndarray:
    """A vector slice in x's dtype (the slice helper works in float64)."""
    rows = s.rows(x)
    if which == "f":
        return np.asarray(s.act.f(rows)[:, 0])
    return s.act.jacobian(rows)[:, 0, :] @ s.direction.astype(x.dtype)


def properties(spec: str) -> dict[str, Any]:
    """The property sheet: range, monotone, zero-centred, smoothness, f' at each kink,
    limits at -inf and +inf, the initialisation gain, the formula and the docstring."""
    b = _bound(spec)
    d = b.definition
    s = _Slice(b)
    with np.errstate(all="ignore"):
        lim = {w: [_num_text(v) for v in s(w, np.array([-np.inf, np.inf]))] for w in ("f", "df") if s.has(w)}
    try:
        gain = None if b.gain is None else f"{b.gain:.6g} ({b.gain_source})"
    except (ArithmeticError, ValueError) as err:  # a derived gain can fail to integrate: say so
        gain = f"unavailable ({err})"
    return {
        "spec": b.spec, "name": b.name, "label": s.label, "formula": d.formula, "family": d.family,
        "range": [_num_text(v) for v in b.range], "domain": [_num_text(v) for v in d.domain],
        "monotonic": d.monotonic, "zero_centred": d.zero_centred, "smoothness": d.smoothness,
        "vector": d.vector, "kinks": [{"x": _num_text(k), "df": _num_text(v)} for k, v in sorted(b.kinks.items())],
        "limits": lim, "gain": gain, "params": b.params, "doc": d.doc.strip(),
        "naive_source": (f"the formula as typed: {d.text}" if d.family == "formula" else
                         naive_mod.NAIVE[b.name].source if b.name in naive_mod.NAIVE else None),
    }


def _naive_slice(nv: Any, s: _Slice, which: str, x: np.ndarray, params: dict[str, float]) -> np.ndarray | None:
    """The naive formula along the same slice as actlab's curve (None: no such formula)."""
    with np.errstate(all="ignore"):
        if not s.vector:
            fn = getattr(nv, which, None)
            return None if fn is None else np.asarray(fn(x, **params))
        if which != "f":
            return None
        return np.array([np.asarray(nv.f(r, **params))[0] for r in s.rows(x)])


def _exact(s: _Slice, which: str, x: np.ndarray) -> list[object]:
    b = s.act
    if not s.vector:
        return reference.evaluate(b.name, which, x, b.params)
    return [r[0] for r in reference.evaluate_rows(b.name, "f", s.rows(x), b.params)]


def accuracy(spec: str, lo: float = -5.0, hi: float = 5.0, n: int = 121) -> dict[str, Any]:
    """Error in float32 ulp of actlab and of the tutorials' naive formula against mpmath
    (in float64 ulp of a typed formula's entry and of the formula as typed): along
    [lo, hi] (``n`` points) and at hard inputs (values shown side by side)."""
    _check_range(lo, hi, n)
    if n > 401:
        raise ActlabError("The accuracy panel takes at most 401 points (each is computed at 50 digits).")
    s = _Slice(_bound(spec))
    b = s.act
    # a typed formula is compared with itself as typed, in float64 (its kernels' working
    # precision), the catalogue's entries with the tutorials' naive NumPy in float32
    typed = b.definition.family == "formula"
    nv = formula.as_typed(b) if typed else naive_mod.NAIVE.get(b.name)
    dtype = np.float64 if typed else np.float32
    out: dict[str, Any] = {"spec": b.spec, "label": s.label, "dtype": np.dtype(dtype).name, "naive": nv is not None,
                           "typed": typed, "source": nv.source if nv else None}
    if nv is None:
        return out
    dom_lo, dom_hi = b.definition.domain
    x = np.linspace(lo, hi, n).astype(dtype)
    x = x[(x > dom_lo) & (x < dom_hi)] if (math.isfinite(dom_lo) or math.isfinite(dom_hi)) else x
    kinks = np.array(s.kinks, dtype=dtype)
    out["x"] = [float(v) for v in x]
    hard = np.array([v for v in _HARD_X if dom_lo < v < dom_hi], dtype=dtype)
    out["hard"] = []
    with np.errstate(all="ignore"):
        for which in ("f", "df"):
            if not s.has(which) or (s.vector and which == "df"):
                continue
            xw = x[~np.isin(x, kinks)] if which == "df" else x  # at a kink f' is a convention
            exact = _exact(s, which, xw)
            mine = s(which, xw.astype(np.float64)) if s.vector else np.asarray(getattr(b, which)(xw))
            if s.vector:
                mine = _vec32(s, which, xw)
            theirs = _naive_slice(nv, s, which, xw, b.params)
            if theirs is None:
                continue
            e_a, e_n = ulp_errors(mine, exact, dtype), ulp_errors(theirs, exact, dtype)
            out[which] = {"x": [float(v) for v in xw], "actlab": [_num(v) for v in e_a],
                          "naive": [_num(v) for v in e_n], "max_actlab": _num_text(e_a.max()),
                          "max_naive": _num_text(e_n.max())}
            hx = hard[~np.isin(hard, kinks)] if which == "df" else hard
            ex = reference.to_float(_exact(s, which, hx), np.float64)
            ma = _vec32(s, which, hx) if s.vector else np.asarray(getattr(b, which)(hx))
            na = _naive_slice(nv, s, which, hx, b.params)
            for i, xv in enumerate(hx):
                digits = ".17g" if typed else ".9g"
                out["hard"].append({"which": which, "x": _num_text(xv), "exact": f"{ex[i]:{digits}}",
                                    "actlab": _num_text(dtype(ma[i])), "naive": _num_text(dtype(na[i]))})
    return out
