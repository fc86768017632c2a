"""The symbolic work on a formula: f', f'', limits at +-inf, kink candidates (SymPy).

This module runs in the worker process of :mod:`.worker` (under the time limit), on a
tree the parser has already checked; it returns plain data (trees, floats, strings), so
the caller never needs SymPy. :func:`analyze` is the one entry point.

* Kernels: f is the formula rewritten into stable forms (:mod:`.stable`); f' and f'' are
  differentiated from that (catalogue calls differentiate into the catalogue's f' and
  f'', abs/min/max into Piecewise) and rewritten again. They are *not* passed through
  ``simplify``, which may undo a stable form (combine terms over one denominator that
  then cancels); the simplified forms are shown to the user instead.
* Limits at +-inf of f, f', f'': SymPy's ``limit`` on the formula with every catalogue
  call expanded (:mod:`.closed_forms`), each Piecewise first reduced to the branch that
  holds for large |x|. ``None`` when SymPy gives up (the caller then looks numerically).
* Kink candidates: the zeros of the conditions of where/abs/min/max (the user's own) and
  of the conditions inside the expanded catalogue calls, solved over the reals.
* The mpmath reference: the formula as written (expanded, not rewritten) and its exact
  derivatives, as trees.

Optional steps (simplify, a limit, a solve) get a share of the time left and are skipped
when they overrun it (SIGALRM in the worker); the hard limit is the parent's.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy.series.gruntz import gruntz

from ..catalogue.registry import REGISTRY
from ..errors import ActlabError
from .stable import rewrite
from .symbolic import CatalogueFunction, Erfc, Expm1, Log1p, X, expand_catalogue, piecewise, to_ir, to_sympy

__all__ = ["analyze"]


class _Overrun(Exception):
    pass


def _soft(seconds: float, fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args), or raise _Overrun after ``seconds`` (only where SIGALRM works: else no limit)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or seconds <= 0:
        if seconds <= 0:
            raise _Overrun
        return fn(*args)

    def fire(signum: int, frame: Any) -> None:
        raise _Overrun

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class _Clock:
    def __init__(self, limit: float) -> None:
        self.end = time.monotonic() + limit

    def share(self, fraction: float) -> float:
        return max(0.0, (self.end - time.monotonic()) * fraction)


def _float(v: sp.Expr) -> float | None:
    """A limit as a float: +-inf, NaN for no limit (oscillation), None when SymPy gave up."""
    if v is sp.oo:
        return math.inf
    if v is sp.S.NegativeInfinity:
        return -math.inf
    if v is sp.nan or isinstance(v, sp.AccumBounds) or v is sp.zoo:
        return math.nan
    if v.has(sp.Limit) or v.free_symbols:
        return None
    try:
        c = complex(v.evalf(30))
    except (TypeError, ValueError):
        return None
    if abs(c.imag) > 1e-300:
        return math.nan
    return c.real


def _eventual(e: sp.Expr, sign: int, clock: _Clock) -> sp.Expr | None:
    """e with each Piecewise replaced by the branch that holds for x -> sign * inf."""
    if not e.has(sp.Piecewise):
        return e
    pieces = sorted(e.atoms(sp.Piecewise), key=sp.count_ops)
    for pw in pieces:
        if pw not in e.atoms(sp.Piecewise):
            continue
        chosen = None
        for val, cond in pw.args:
            truth = _eventually(cond, sign, clock)
            if truth is None:
                return None
            if truth:
                chosen = val
                break
        e = e.xreplace({pw: sp.nan if chosen is None else chosen})
        if e.has(sp.Piecewise):
            return _eventual(e, sign, clock)
    return e


def _eventually(cond: Any, sign: int, clock: _Clock) -> bool | None:
    if cond is sp.true:
        return True
    if cond is sp.false:
        return False
    if isinstance(cond, sp.And):
        vals = [_eventually(c, sign, clock) for c in cond.args]
        return None if None in vals else all(vals)
    if isinstance(cond, sp.Or):
        vals = [_eventually(c, sign, clock) for c in cond.args]
        return True if True in vals else (None if None in vals else False)
    if isinstance(cond, sp.Not):
        v = _eventually(cond.args[0], sign, clock)
        return None if v is None else not v
    if isinstance(cond, sp.logic.boolalg.Boolean) and not isinstance(cond, sp.core.relational.Relational):
        nnf = cond.to_nnf() if hasattr(cond, "to_nnf") else cond  # ITE, Xor: in and/or/not
        return None if nnf == cond else _eventually(nnf, sign, clock)
    if isinstance(cond, sp.core.relational.Relational):
        d = _limit_value(cond.lhs - cond.rhs, sign, clock)
        if d is None or math.isnan(d):
            return None
        if d == 0:
            return None
        op = cond.rel_op
        return {"<": d < 0, "<=": d < 0, ">": d > 0, ">=": d > 0, "==": False, "!=": True}[op]
    return None


def _limit_value(e: sp.Expr, sign: int, clock: _Clock) -> float | None:
    """lim e as x -> sign * inf, or None when it cannot be found in the time given.

    First by parts (:func:`_limit_parts`: the limit of each argument, a catalogue call's
    own value at +-inf from its kernel), which is instant; where that meets an
    indeterminate form (0 * inf, inf - inf), Gruntz's algorithm (SymPy's ``limit`` without
    its heuristics, 3-100x faster here) on the formula with every catalogue call expanded.
    """
    e = _eventual(piecewise(e), sign, clock)
    if e is None:
        return None
    try:
        v = _limit_parts(e, sign)
    except _Undefined:
        return math.nan
    if v is not None:
        return _float(v)
    g = expand_catalogue(e)
    g = _eventual(piecewise(g), sign, clock)
    if g is None:
        return None
    h = g.rewrite(sp.exp) if g.has(sp.tanh, sp.sinh, sp.cosh) else g
    try:
        v = _float(_soft(clock.share(0.2), gruntz, h, X, sign * sp.oo))
    except (_Overrun, NotImplementedError, ValueError, TypeError, ArithmeticError, RecursionError,
            AttributeError, IndexError, KeyError):
        v = None
    if v is not None:
        return v
    # SymPy's numbers far out, as actlab.verify.reference defines the value at +-inf: the
    # value at sign * 10^400 if it rounds like the one at sign * 10^401 (else NaN: no limit)
    try:
        a, b = (_soft(clock.share(0.1), _far, g, sign * sp.Integer(10) ** k) for k in (400, 401))
    except (_Overrun, ValueError, TypeError, ArithmeticError, RecursionError, AttributeError):
        return None
    if a is None or b is None:
        return None
    return a if a == b or (math.isnan(a) and math.isnan(b)) else math.nan


def _far(e: sp.Expr, at: sp.Integer) -> float | None:
    """e at a huge x with SymPy's adaptive evalf, as a float64; None if evalf cannot tell.

    evalf raises its working precision (up to 1500 digits here) and reports how many bits
    it is sure of: a result it knows only to be below 2^-1100 in magnitude rounds to 0."""
    v = e.subs(X, at).evalf(20, maxn=1500)
    if v in (sp.oo, sp.S.NegativeInfinity):
        return math.inf if v is sp.oo else -math.inf
    if v is sp.nan or not v.is_number:
        return None
    re, im = v.as_real_imag()
    if im != 0 and not (isinstance(im, sp.Float) and im._prec < 10):
        return math.nan  # not real far out
    if not isinstance(re, sp.Float):
        return float(re) if re.is_real else None
    if re._prec >= 40:
        return float(re)
    sign_, man, exp, bc = re._mpf_
    return 0.0 if exp + bc < -1100 else None


_INDETERMINATE = (sp.nan, sp.zoo)


class _Undefined(Exception):
    """The expression has no real value far out (log of a negative number): NaN there."""


def _limit_parts(e: sp.Expr, sign: int) -> sp.Expr | None:
    """The limit of e from the limits of its parts, or None on an indeterminate form."""
    if not e.has(X):
        return e
    if e is X:
        return sign * sp.oo
    if isinstance(e, CatalogueFunction):
        u = _limit_parts(e.args[0], sign)
        if u is None or u.has(X) or u in _INDETERMINATE or isinstance(u, sp.AccumBounds):
            return None
        return _catalogue_value(e, u)
    if isinstance(e, (Expm1, Log1p, Erfc)):
        e = {Expm1: lambda u: sp.exp(u) - 1, Log1p: lambda u: sp.log(1 + u), Erfc: sp.erfc}[type(e)](e.args[0])
        return _limit_parts(e, sign)
    if isinstance(e, sp.Piecewise):
        return None
    args = [_limit_parts(a, sign) for a in e.args]
    if any(a is None or a in _INDETERMINATE or isinstance(a, sp.AccumBounds) for a in args):
        return None
    if e.is_Pow and args[0] == 0 and (args[1].is_negative or args[1].is_zero):
        return None  # 1/0: the side matters
    if isinstance(e, sp.log) and args[0] == 0:
        return None  # log(0+) = -inf, but only from the right
    # outside the real domain (SymPy's log(-oo) is oo, the modulus): NaN, as the kernels give
    if isinstance(e, sp.log) and args[0].is_extended_negative:
        raise _Undefined
    if e.is_Pow and args[0].is_extended_negative and args[1].is_integer is not True:
        raise _Undefined
    try:
        v = e.func(*args)
    except (TypeError, ValueError, ArithmeticError):
        return None
    if v in _INDETERMINATE or v.has(sp.nan, sp.zoo) or isinstance(v, sp.AccumBounds):
        return None
    # oscillation (sin(oo) is AccumBounds) and unevaluated functions of oo are not limits here
    if v.has(sp.oo, sp.S.NegativeInfinity) and v not in (sp.oo, sp.S.NegativeInfinity):
        return None
    if v.has(sp.I) or v.is_extended_real is False:
        raise _Undefined
    return v


def _catalogue_value(e: CatalogueFunction, u: sp.Expr) -> sp.Expr | None:
    """The catalogue's own f, f' or f'' at u (a number or +-oo), from its kernels."""
    import numpy as np

    try:
        params = {k: float(v) for k, v in e.params.items()}
        at = np.float64(math.inf if u is sp.oo else -math.inf if u is sp.S.NegativeInfinity else float(u))
    except (TypeError, ValueError):
        return None
    b = REGISTRY[e.entry].bind(**params)
    with np.errstate(all="ignore"):
        v = float((b.f, b.df, b.d2f)[e.order](at))
    if math.isnan(v):  # outside the entry's domain, or no limit: NaN either way
        raise _Undefined
    if math.isinf(v):
        return sp.oo if v > 0 else sp.S.NegativeInfinity
    return sp.Float(v) if v != int(v) else sp.Integer(int(v))


def _solve_points(rels: set[Any], clock: _Clock) -> tuple[list[tuple[float, bool]], bool]:
    """Real zeros of lhs - rhs of each relational: (x, exactly representable), and completeness."""
    points: dict[float, bool] = {}
    complete = True
    for r in sorted(rels, key=str):
        d = r.lhs - r.rhs
        if not d.has(X):
            continue
        try:
            sol = _soft(clock.share(0.1), sp.solveset, d, X, sp.S.Reals)
        except (_Overrun, NotImplementedError, ValueError, TypeError, RecursionError, AttributeError):
            complete = False
            continue
        if not isinstance(sol, sp.FiniteSet) or len(sol) > 64:
            complete = complete and sol is sp.S.EmptySet
            continue
        for p in sol:
            try:
                v = float(p)
            except (TypeError, ValueError):
                continue
            if math.isfinite(v):
                exact = bool(p.is_Rational and sp.Rational(*_as_ratio(v)) == p)
                points[v] = points.get(v, False) or exact
    return sorted(points.items()), complete


def _as_ratio(v: float) -> tuple[int, int]:
    return v.as_integer_ratio()


def _relationals(e: sp.Expr) -> set[Any]:
    out: set[Any] = set()
    for pw in e.atoms(sp.Piecewise):
        for _, cond in pw.args:
            if isinstance(cond, sp.core.relational.Relational):
                out.add(cond)
            elif isinstance(cond, sp.logic.boolalg.Boolean):
                out |= {a for a in cond.atoms(sp.core.relational.Relational)}
    return out


def _simplified(e: sp.Expr, clock: _Clock) -> sp.Expr:
    if sp.count_ops(e) > 80:
        return e
    try:
        s = _soft(clock.share(0.2), sp.simplify, e)
    except (_Overrun, NotImplementedError, ValueError, TypeError, RecursionError, AttributeError):
        return e
    s = rewrite(s)
    return s if sp.count_ops(s) <= sp.count_ops(e) else e


def _derivatives(f: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    df = rewrite(sp.diff(piecewise(f), X))
    d2f = rewrite(sp.diff(piecewise(df), X))
    return df, d2f


def analyze(req: dict[str, Any]) -> dict[str, Any]:
    """The symbolic results for one formula tree at concrete parameter values.

    ``req``: ``tree``, ``params`` (name -> float), ``display`` (also the simplified forms
    and the reference trees with parameters left as symbols), ``time_limit`` (s).
    """
    clock = _Clock(float(req.get("time_limit", 2.0)))
    tree, params = req["tree"], dict(req.get("params") or {})
    notes: list[str] = []

    f = rewrite(to_sympy(tree, params=params))
    df, d2f = _derivatives(f)
    kernels = {"f": to_ir(f), "df": to_ir(df), "d2f": to_ir(d2f)}

    expanded = to_sympy(tree, expand=True, params=params)
    # limits of the rewritten forms with the catalogue calls expanded: the same functions,
    # and SymPy finds limit(tanh'(x)) faster than that of the naive formula's derivative
    limits: dict[str, list[float | None]] = {}
    for which, e in (("f", f), ("df", df), ("d2f", d2f)):
        limits[which] = [_limit_value(e, -1, clock), _limit_value(e, 1, clock)]
    if any(v is None for pair in limits.values() for v in pair):
        notes.append("SymPy found no limit at +-inf for some of f, f', f'': it is taken numerically")

    user_pts, user_ok = _solve_points(_relationals(piecewise(f)), clock)
    all_pts, all_ok = _solve_points(_relationals(piecewise(expanded)), clock)
    user_set = {p for p, _ in user_pts}
    catalogue_pts = [(p, ex) for p, ex in all_pts if p not in user_set]
    if not (user_ok and all_ok):
        notes.append("some conditions could not be solved for x: kinks there are not listed")

    out: dict[str, Any] = {
        "kernels": kernels,
        "rewritten": str(f),
        "limits": limits,
        "points": {"user": user_pts, "catalogue": catalogue_pts},
        "calls": sorted({c.entry for c in f.atoms(CatalogueFunction)}),
        "smoothness_inside": sorted({REGISTRY[c.entry].smoothness for c in f.atoms(CatalogueFunction)}),
        "notes": notes,
    }
    if req.get("display"):
        out.update(_display(tree, f if not params else None, clock, notes))
    out["elapsed"] = round(float(req.get("time_limit", 2.0)) - clock.share(1.0), 3)
    return out


def _display(tree: Any, f_same: sp.Expr | None, clock: _Clock, notes: list[str]) -> dict[str, Any]:
    """Simplified f, f', f'' (parameters as symbols), the LaTeX of f and the reference trees."""
    written = to_sympy(tree)
    f = f_same if f_same is not None else rewrite(written)
    df, d2f = _derivatives(f)
    s1, s2 = _simplified(df, clock), _simplified(d2f, clock)
    expanded = to_sympy(tree, expand=True)
    r1 = sp.diff(piecewise(expanded), X)
    r2 = sp.diff(piecewise(r1), X)
    try:
        latex = sp.latex(written)
    except Exception:  # a printer failure must not lose the entry  # noqa: BLE001
        latex = str(written)
    return {
        "display": {"f": str(written), "stable": str(f), "df": str(s1), "d2f": str(s2), "latex": latex},
        "reference": {"f": to_ir(expanded), "df": to_ir(r1), "d2f": to_ir(r2)},
    }


def safe_analyze(req: dict[str, Any]) -> dict[str, Any]:
    """:func:`analyze`, with any failure of the symbolic work as an ActlabError."""
    try:
        return analyze(req)
    except ActlabError:
        raise
    except _Overrun:
        raise ActlabError("the symbolic work on the formula ran out of time") from None
    except RecursionError:
        raise ActlabError("the formula is too deeply nested for the symbolic work") from None
    except Exception as err:  # SymPy's own failures on odd input: refuse the formula, say why  # noqa: BLE001
        raise ActlabError(f"the symbolic work on the formula failed ({type(err).__name__}: {str(err)[:120]})") from None
