"""The formula tree as a SymPy expression, and back (imports SymPy: symbolic work only).

Two views of the same formula:

* *opaque* (``expand=False``): a catalogue call is an undefined SymPy function whose
  derivatives are the catalogue's own f' and f'' (``softplus'``, ``softplus''``), and the
  stable forms ``expm1``, ``log1p`` and ``erfc`` are functions SymPy does not rewrite
  (its ``erfc(-y)`` would turn into ``2 - erfc(y)``, which cancels). Kernels come from it.
* *expanded* (``expand=True``): every catalogue call replaced by its definition
  (:mod:`.closed_forms`), all functions SymPy's own. Limits at +-inf and the mpmath
  reference come from it.

:func:`to_ir` turns a SymPy expression back into the plain tree that kernels compile.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import Any

import sympy as sp
from sympy.core.function import ArgumentIndexError

from ..catalogue.registry import REGISTRY
from ..errors import ActlabError
from . import _ir
from ._ir import Node
from .closed_forms import CLOSED_FORMS

__all__ = ["X", "to_sympy", "to_ir", "CatalogueFunction", "catalogue_function", "Expm1", "Log1p", "Erfc",
           "rational"]

X = sp.Symbol("x", real=True)
#: a tree compiled from SymPy larger than this is refused (expression swell)
MAX_IR_NODES = 20_000


def rational(value: float) -> sp.Rational:
    """The exact value of a float as a SymPy rational (parameters are floats)."""
    f = Fraction(value)
    return sp.Rational(f.numerator, f.denominator)


class CatalogueFunction(sp.Function):
    """A catalogue entry (or its derivative) applied to u: args are (u, *parameters)."""

    entry: str = ""
    order: int = 0

    @classmethod
    def eval(cls, *args: Any) -> None:  # never evaluated symbolically: the kernels do that
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        if argindex != 1:  # the parser keeps parameters free of x: only d/du is ever needed
            raise ArgumentIndexError(self, argindex)
        return catalogue_function(self.entry, self.order + 1)(*self.args)

    def _eval_is_extended_real(self) -> bool | None:
        return self.args[0].is_extended_real

    @property
    def params(self) -> dict[str, sp.Expr]:
        names = REGISTRY[self.entry].param_names
        return dict(zip(names, self.args[1:]))

    def _sympystr(self, printer: Any) -> str:
        inner = [printer._print(self.args[0])]
        inner += [f"{k}={printer._print(v)}" for k, v in self.params.items()]
        return f"{self.entry}{chr(39) * self.order}({', '.join(inner)})"

    def _latex(self, printer: Any, exp: Any = None) -> str:
        name = r"\mathrm{" + self.entry.replace("_", r"\_") + "}" + "'" * self.order
        inner = [printer._print(self.args[0])] + [f"{k}={printer._print(v)}" for k, v in self.params.items()]
        s = rf"{name}\left({', '.join(inner)}\right)"
        return s if exp is None else f"{s}^{{{exp}}}"


@functools.cache
def catalogue_function(entry: str, order: int) -> type:
    """The SymPy function class of catalogue ``entry``'s f (order 0), f' (1) or f'' (2)."""
    if order > 2:
        raise ActlabError(f"The catalogue has no derivative of order {order} of {entry}.")
    name = entry if order == 0 else f"{entry}_d{order}"
    nargs = 1 + len(REGISTRY[entry].params)
    return type(name, (CatalogueFunction,), {"entry": entry, "order": order, "nargs": nargs})


class Expm1(sp.Function):
    """exp(u) - 1, kept whole (it is the stable form)."""

    nargs = 1

    @classmethod
    def eval(cls, u: sp.Expr) -> sp.Expr | None:
        return sp.S.Zero if u.is_zero else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.exp(self.args[0])

    def _sympystr(self, printer: Any) -> str:
        return f"expm1({printer._print(self.args[0])})"


class Log1p(sp.Function):
    """log(1 + u), kept whole."""

    nargs = 1

    @classmethod
    def eval(cls, u: sp.Expr) -> sp.Expr | None:
        return sp.S.Zero if u.is_zero else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (1 + self.args[0])

    def _sympystr(self, printer: Any) -> str:
        return f"log1p({printer._print(self.args[0])})"


class Erfc(sp.Function):
    """erfc(u) that SymPy leaves alone (its own turns erfc(-y) into 2 - erfc(y))."""

    nargs = 1

    @classmethod
    def eval(cls, u: sp.Expr) -> sp.Expr | None:
        return sp.S.One if u.is_zero else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        u = self.args[0]
        return -2 * sp.exp(-(u**2)) / sp.sqrt(sp.pi)

    def _sympystr(self, printer: Any) -> str:
        return f"erfc({printer._print(self.args[0])})"


_ELEMENTARY = {
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "sinh": sp.sinh,
    "cosh": sp.cosh, "asinh": sp.asinh, "atan": sp.atan, "erf": sp.erf, "abs": sp.Abs, "sign": sp.sign,
}
_REL = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge, "==": sp.Eq, "!=": sp.Ne}


@functools.cache
def _closed_form(entry: str) -> Node:
    from .parse import parse_formula

    return parse_formula(CLOSED_FORMS[entry]).tree


def _param_value(entry: str, given: dict[str, sp.Expr]) -> list[sp.Expr]:
    return [given.get(p.name, rational(p.default)) for p in REGISTRY[entry].params]


def to_sympy(tree: Node, *, expand: bool = False, params: dict[str, float] | None = None) -> sp.Expr:
    """The SymPy expression of a formula tree (see the module docstring for ``expand``).

    ``params`` substitutes parameter values (floats, exactly); the others stay symbols.

    >>> print(to_sympy(("cat", "softplus", 0, ("x",), ())))
    softplus(x, beta=1)
    >>> print(to_sympy(("cat", "softplus", 0, ("x",), ()), expand=True))
    log(exp(x) + 1)
    """
    values = {k: rational(v) for k, v in (params or {}).items()}

    def rec(n: Node) -> Any:
        kind = n[0]
        if kind == "x":
            return X
        if kind == "num":
            return sp.Rational(n[1], n[2])
        if kind == "pi":
            return sp.pi
        if kind == "E":
            return sp.E
        if kind == "nan":
            return sp.nan
        if kind == "param":
            return values.get(n[1], sp.Symbol(n[1], real=True))
        if kind == "neg":
            return -rec(n[1])
        if kind == "sub":
            return rec(n[1]) - rec(n[2])
        if kind == "div":
            return rec(n[1]) / rec(n[2])
        if kind == "pow":
            return rec(n[1]) ** rec(n[2])
        if kind == "add":
            return sp.Add(*[rec(a) for a in n[1]])
        if kind == "mul":
            return sp.Mul(*[rec(a) for a in n[1]])
        if kind == "fn":
            return _function(n[1], [rec(a) for a in n[2]], expand)
        if kind == "cat":
            u = rec(n[3])
            given = {k: rec(v) for k, v in n[4]}
            args = _param_value(n[1], given)
            if not expand:
                return catalogue_function(n[1], n[2])(u, *args)
            names = REGISTRY[n[1]].param_names
            body = to_sympy(_closed_form(n[1]), expand=True)
            body = body.subs({sp.Symbol(k, real=True): v for k, v in zip(names, args)})
            if n[2]:
                body = sp.diff(_piecewise(body), X, n[2])
            return body.subs(X, u)
        if kind == "where":
            pairs = [(rec(v), rec(c)) for c, v in n[1]]
            return sp.Piecewise(*pairs, (rec(n[2]), True))
        if kind == "cmp":
            return _REL[n[1]](rec(n[2]), rec(n[3]))
        if kind == "and":
            return sp.And(*[rec(c) for c in n[1]])
        if kind == "or":
            return sp.Or(*[rec(c) for c in n[1]])
        if kind == "not":
            return sp.Not(rec(n[1]))
        if kind == "true":
            return sp.true
        if kind == "false":
            return sp.false
        raise ActlabError(f"Unknown formula node {kind!r}.")

    return rec(tree)


def _function(name: str, args: list[sp.Expr], expand: bool) -> sp.Expr:
    if name == "min":
        return sp.Min(*args)
    if name == "max":
        return sp.Max(*args)
    (u,) = args
    if name == "tanh":  # the catalogue's tanh: its f' is accurate where 1 - tanh^2 cancels
        return sp.tanh(u) if expand else catalogue_function("tanh", 0)(u)
    if name == "log1p":
        return sp.log(1 + u) if expand else Log1p(u)
    if name == "expm1":
        return sp.exp(u) - 1 if expand else Expm1(u)
    if name == "erfc":
        return sp.erfc(u) if expand else Erfc(u)
    return _ELEMENTARY[name](u)


def _piecewise(e: sp.Expr) -> sp.Expr:
    """Abs, Min and Max as Piecewise, so that derivatives are Piecewise too (no Heaviside)."""
    if not e.has(sp.Abs, sp.Min, sp.Max):
        return e
    return e.replace(lambda a: isinstance(a, (sp.Abs, sp.Min, sp.Max)), lambda a: _pw(a))


def _pw(a: sp.Expr) -> sp.Expr:
    args = [_piecewise(t) for t in a.args]
    if isinstance(a, sp.Abs):
        (u,) = args
        return sp.Piecewise((-u, u < 0), (u, True))
    best = args[0]
    for t in args[1:]:
        best = sp.Piecewise((t, t > best), (best, True)) if isinstance(a, sp.Max) else \
            sp.Piecewise((t, t < best), (best, True))
    return best


piecewise = _piecewise


def expand_catalogue(e: sp.Expr) -> sp.Expr:
    """e with every catalogue call (and its derivatives) and stable function replaced by its
    definition in SymPy's own functions: what SymPy's ``limit`` can work on."""

    def expand(a: Any) -> sp.Expr:
        if isinstance(a, Expm1):
            return sp.exp(a.args[0]) - 1
        if isinstance(a, Log1p):
            return sp.log(1 + a.args[0])
        if isinstance(a, Erfc):
            return sp.erfc(a.args[0])
        names = REGISTRY[a.entry].param_names
        body = to_sympy(_closed_form(a.entry), expand=True)
        body = body.subs({sp.Symbol(k, real=True): v for k, v in zip(names, a.args[1:])})
        if a.order:
            body = sp.diff(_piecewise(body), X, a.order)
        return body.subs(X, a.args[0])

    return e.replace(lambda a: isinstance(a, (CatalogueFunction, Expm1, Log1p, Erfc)), expand)


# ---- back to the plain tree -------------------------------------------------------------

_FN_NAMES = {sp.exp: "exp", sp.log: "log", sp.sin: "sin", sp.cos: "cos", sp.tan: "tan", sp.sinh: "sinh",
             sp.cosh: "cosh", sp.tanh: "tanh", sp.asinh: "asinh", sp.atan: "atan", sp.erf: "erf", sp.erfc: "erfc",
             sp.Abs: "abs", sp.sign: "sign", Expm1: "expm1", Log1p: "log1p", Erfc: "erfc"}
_REL_NAMES = {sp.StrictLessThan: "<", sp.LessThan: "<=", sp.StrictGreaterThan: ">", sp.GreaterThan: ">=",
              sp.Equality: "==", sp.Unequality: "!="}


def to_ir(e: Any) -> Node:
    """The plain tree of a SymPy expression (what kernels compile), or an ActlabError."""
    count = [0]
    memo: dict[Any, Node] = {}

    def rec(e: Any) -> Node:
        if e in memo:
            return memo[e]
        count[0] += 1
        if count[0] > MAX_IR_NODES:
            raise ActlabError(f"The derivatives of this formula grow beyond {MAX_IR_NODES} operations.")
        out = _one(e, rec)
        memo[e] = out
        return out

    return rec(e)


def _one(e: Any, rec: Any) -> Node:
    if e is X:
        return _ir.X
    if isinstance(e, sp.Symbol):
        return ("param", e.name)
    if e is sp.pi:
        return ("pi",)
    if e is sp.E:
        return ("E",)
    if e is sp.nan:
        return ("nan",)
    if isinstance(e, sp.Rational):
        return ("num", int(e.p), int(e.q))
    if isinstance(e, sp.Float):
        return _ir.num(Fraction(float(e)))
    if e.is_Add:
        return ("add", tuple(rec(a) for a in e.args))
    if e.is_Mul:
        return ("mul", tuple(rec(a) for a in e.args))
    if e.is_Pow:
        return ("pow", rec(e.args[0]), rec(e.args[1]))
    if isinstance(e, CatalogueFunction):
        params = tuple((k, rec(v)) for k, v in e.params.items())
        return ("cat", e.entry, e.order, rec(e.args[0]), params)
    f = e.func
    if f in _FN_NAMES:
        return ("fn", _FN_NAMES[f], tuple(rec(a) for a in e.args))
    if f in (sp.Min, sp.Max):
        return ("fn", "min" if f is sp.Min else "max", tuple(rec(a) for a in e.args))
    if isinstance(e, sp.DiracDelta):
        return ("num", 0, 1)  # f'' of a kink away from it; at the kink the kink rules apply
    if isinstance(e, sp.Heaviside):
        u = rec(e.args[0])
        h0 = rec(e.args[1]) if len(e.args) > 1 else ("num", 1, 2)
        zero = ("num", 0, 1)
        return ("where", ((("cmp", ">", u, zero), ("num", 1, 1)), (("cmp", "<", u, zero), zero)), h0)
    if isinstance(e, sp.Piecewise):
        pairs = []
        default: Node = ("nan",)
        for val, cond in e.args:
            if cond is sp.true:
                default = rec(val)
                break
            pairs.append((rec(cond), rec(val)))
        return ("where", tuple(pairs), default) if pairs else default
    if isinstance(e, sp.core.relational.Relational) and type(e) in _REL_NAMES:
        return ("cmp", _REL_NAMES[type(e)], rec(e.args[0]), rec(e.args[1]))
    if isinstance(e, sp.And):
        return ("and", tuple(rec(a) for a in e.args))
    if isinstance(e, sp.Or):
        return ("or", tuple(rec(a) for a in e.args))
    if isinstance(e, sp.Not):
        return ("not", rec(e.args[0]))
    if e is sp.true:
        return ("true",)
    if e is sp.false:
        return ("false",)
    if isinstance(e, sp.logic.boolalg.Boolean) and hasattr(e, "to_nnf"):  # ITE, Xor, Implies: in and/or/not
        nnf = e.to_nnf()
        if nnf != e:
            return rec(nnf)
    raise ActlabError(f"Cannot compile {type(e).__name__} ({str(e)[:60]}) into a kernel.")
