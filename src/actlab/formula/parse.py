"""Read a formula safely: Python's ``ast`` and a whitelist, never ``eval`` of the text.

Formulas come from a text box in a web page, so they are untrusted. The text is parsed
with :func:`ast.parse` (which only builds a tree) and the tree is walked against a
whitelist of node types and names; the formula tree of :mod:`._ir` is built from it
node by node. Nothing is evaluated, imported or looked up by attribute, and the SymPy
expression is built later from that tree (:mod:`.symbolic`), never with ``sympify`` or
``parse_expr`` on text.

The language: numbers (read exactly: ``0.1`` is 1/10), ``x``, parameters, ``+ - * / **``,
unary minus, ``abs``, ``min``, ``max``, ``where(cond, a, b)`` with comparisons (chained,
``and``, ``or``, ``not``), the functions of :data:`._ir.FUNCTIONS`, ``pi``, ``e``, and
every elementwise catalogue entry called as a function with its parameters by name
(``elu(x, alpha=0.5)``). An entry defined from a formula is expanded in place.

Bounds keep the symbolic work small: at most :data:`MAX_CHARS` characters,
:data:`MAX_NODES` syntax nodes, nesting depth :data:`MAX_DEPTH`, constant exponents of
magnitude :data:`MAX_EXPONENT`, and every constant part finite. Each refusal is one
:class:`FormulaError` naming the position (1-based character) and the token.

>>> parse_formula("x * sigmoid(1.702 * x)").tree
('mul', (('x',), ('cat', 'sigmoid', 0, ('mul', (('num', 851, 500), ('x',))), ())))
>>> parse_formula("x.real")
Traceback (most recent call last):
...
actlab.formula.parse.FormulaError: In the formula 'x.real', at position 1 ('x.real'): attribute access is not allowed.
"""

from __future__ import annotations

import ast
import math
import re
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..catalogue.registry import REGISTRY
from ..errors import ActlabError, UnknownNameError, closest, shorten
from . import _ir
from ._ir import FUNCTIONS, Node

__all__ = ["Formula", "FormulaError", "parse_formula", "MAX_CHARS", "MAX_NODES", "MAX_DEPTH", "MAX_EXPONENT"]

MAX_CHARS = 500
MAX_NODES = 200
MAX_DEPTH = 30
#: |b| for a constant exponent in a ** b: x ** 100 is cheap for SymPy, x ** 10 ** 10 is not.
MAX_EXPONENT = 100
CONSTANTS = {"pi": ("pi",), "e": ("E",)}
#: Names a formula cannot use as parameters (the define() keywords and the language's own).
RESERVED = {"x", "where", "name", "replace", "time_limit", *CONSTANTS, *FUNCTIONS}

_NUMBER = re.compile(r"^(\d[\d_]*)?(\.[\d_]*)?([eE][+-]?\d[\d_]*)?$")
_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_BINOP = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
# why each refused node type is refused, for the message
_REFUSED = {
    ast.Attribute: "attribute access is not allowed", ast.Subscript: "subscripts are not allowed",
    ast.Lambda: "lambda is not allowed", ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed", ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.IfExp: "'a if c else b' is not allowed (write where(c, a, b))",
    ast.NamedExpr: "assignment (:=) is not allowed", ast.Starred: "starred arguments are not allowed",
    ast.List: "lists are not allowed", ast.Tuple: "tuples are not allowed", ast.Set: "sets are not allowed",
    ast.Dict: "dicts are not allowed", ast.JoinedStr: "strings are not allowed",
    ast.FormattedValue: "strings are not allowed", ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed", ast.YieldFrom: "yield is not allowed", ast.Slice: "slices are not allowed",
}
_OPS_HINT = {ast.BitXor: " (write ** for a power)", ast.FloorDiv: "", ast.Mod: "", ast.MatMult: "",
             ast.BitAnd: "", ast.BitOr: "", ast.LShift: "", ast.RShift: ""}


class FormulaError(ActlabError):
    """A formula that cannot be used; ``position`` (0-based) and ``token`` say where."""

    def __init__(self, message: str, position: int | None = None, token: str | None = None) -> None:
        super().__init__(message)
        self.position, self.token = position, token


class UnknownFormulaName(FormulaError, UnknownNameError):
    """An unknown function or name in a formula (with a close match when there is one)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Formula:
    """A parsed formula: its text, its tree, its parameters and the catalogue entries it calls."""

    text: str
    tree: Node
    params: tuple[str, ...]
    calls: tuple[str, ...]

    def sympy(self) -> Any:
        """The SymPy expression of the formula as written (imports SymPy).

        >>> print(parse_formula("log(1 + exp(x))").sympy())
        log(exp(x) + 1)
        """
        from .symbolic import to_sympy

        return to_sympy(self.tree, expand=True)


def _catalogue_names() -> dict[str, str]:
    """Every entry name and alias -> entry name (vector entries too, to refuse them by name)."""
    out: dict[str, str] = {}
    for name, act in REGISTRY.items():
        for key in (name, *act.aliases):
            out[key] = name
    return out


class _Reader:
    def __init__(self, text: str, allow_params: bool) -> None:
        self.text = text
        self.allow_params = allow_params
        self.params: list[str] = []
        self.calls: list[str] = []
        self.entries = _catalogue_names()
        elementwise = {k for k, v in self.entries.items() if not REGISTRY[v].vector}
        self.callables = sorted({*FUNCTIONS, "where", *elementwise})

    # -- errors ---------------------------------------------------------------------------

    def fail(self, node: ast.AST | None, reason: str, cls: type[FormulaError] = FormulaError) -> FormulaError:
        quoted = shorten(self.text)
        if node is None or not hasattr(node, "col_offset"):
            return cls(f"In the formula {quoted}: {reason}")
        pos = node.col_offset
        token = ast.get_source_segment(self.text, node) or self.text[pos:pos + 1]
        return cls(f"In the formula {quoted}, at position {pos + 1} ({shorten(token, 40)}): {reason}", pos, token)

    def unknown(self, node: ast.AST, kind: str, name: str, allowed: list[str]) -> FormulaError:
        hint = closest(name, allowed)
        did = f" Did you mean {hint!r}?" if hint else ""
        listed = ", ".join(sorted(allowed))
        return self.fail(node, f"unknown {kind} {shorten(name, 40)}.{did} Allowed: {listed}.", UnknownFormulaName)

    # -- expressions -----------------------------------------------------------------------

    def expr(self, node: ast.AST) -> Node:
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return ("neg", self.expr(node.operand))
            if isinstance(node.op, ast.UAdd):
                return self.expr(node.operand)
            if isinstance(node.op, ast.Not):
                raise self.fail(node, "'not' is only allowed in the condition of where(cond, a, b).")
            raise self.fail(node, "the operator '~' is not allowed.")
        if isinstance(node, ast.BinOp):
            op = _BINOP.get(type(node.op))
            if op is None:
                sym = ast.get_source_segment(self.text, node) or ""
                raise self.fail(node, f"the operator in {shorten(sym, 40)} is not allowed; the language has "
                                      f"+ - * / **{_OPS_HINT.get(type(node.op), '')}.")
            a, b = self.expr(node.left), self.expr(node.right)
            if op == "pow":
                self.check_exponent(node, b)
            out: Node = (op, a, b) if op in ("sub", "div", "pow") else (op, (a, b))
            self.check_constant(node, out)
            return out
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, (ast.Compare, ast.BoolOp)):
            raise self.fail(node, "comparisons and 'and'/'or' are only allowed in the condition of "
                                  "where(cond, a, b).")
        raise self.fail(node, _REFUSED.get(type(node), f"a {type(node).__name__} expression is not allowed") + ".")

    def number(self, node: ast.Constant) -> Node:
        v = node.value
        if isinstance(v, bool) or v is None or v is Ellipsis:
            raise self.fail(node, f"{v!r} is not a number here.")
        if isinstance(v, (str, bytes)):
            raise self.fail(node, "strings are not allowed.")
        if isinstance(v, complex):
            raise self.fail(node, "complex numbers are not allowed (activations are real).")
        if isinstance(v, int):
            if v.bit_length() > 1024:
                raise self.fail(node, "the number is too large (at most about 1e308).")
            return _ir.num(v)
        seg = ast.get_source_segment(self.text, node) or ""
        if not math.isfinite(v):
            raise self.fail(node, "the number is too large (at most about 1e308).")
        if v == 0.0 and re.search(r"[1-9]", seg.split("e")[0].split("E")[0]):
            raise self.fail(node, "the number is too small (it underflows to 0).")
        if not _NUMBER.match(seg):  # e.g. a hexadecimal float cannot reach here, but never trust
            return _ir.num(Fraction(v))
        # exactly as written: 0.1 is 1/10, not the float nearest to it
        return _ir.num(Fraction(seg.replace("_", "")))

    def name(self, node: ast.Name) -> Node:
        n = node.id
        if n == "x":
            return _ir.X
        if n in CONSTANTS:
            return CONSTANTS[n]
        # a catalogue name may be a parameter (threshold's own parameter is called threshold)
        if n in FUNCTIONS or n == "where" or (n in self.entries and not self.allow_params):
            raise self.fail(node, f"{n} is a function: call it, e.g. {n}(x).")
        if not self.allow_params:
            allowed = ["x", *CONSTANTS, *self.callables]
            err = self.unknown(node, "name", n, allowed)
            hint = closest(n, allowed)
            if hint is None:  # not a typo: a parameter needs define()
                raise self.fail(node, f"unknown name {shorten(n, 40)}. A formula with parameters is registered "
                                      f"with actlab.define(formula, name=..., {n}=default).", UnknownFormulaName)
            raise err
        if n.startswith("_") or n in RESERVED:
            raise self.fail(node, f"{n!r} cannot be a parameter name.")
        if n not in self.params:
            self.params.append(n)
        return ("param", n)

    def call(self, node: ast.Call) -> Node:
        if not isinstance(node.func, ast.Name):
            why = _REFUSED.get(type(node.func), "only named functions can be called, e.g. exp(x) or sigmoid(x)")
            raise self.fail(node.func, why + ".")
        fname = node.func.id
        for a in node.args:
            if isinstance(a, ast.Starred):
                raise self.fail(a, "starred arguments are not allowed.")
        for kw in node.keywords:
            if kw.arg is None:
                raise self.fail(kw.value, "'**' arguments are not allowed.")
        if fname == "where":
            return self.where(node)
        if fname in FUNCTIONS:
            return self.function(node, fname)
        if fname in self.entries:
            return self.entry(node, self.entries[fname])
        if fname == "x" or fname in CONSTANTS:
            raise self.fail(node.func, f"{fname} is not a function.")
        raise self.unknown(node.func, "function", fname, self.callables)

    def function(self, node: ast.Call, fname: str) -> Node:
        want = FUNCTIONS[fname]
        if node.keywords:
            raise self.fail(node.keywords[0].value, f"{fname} takes no keyword arguments "
                                                    f"(got {node.keywords[0].arg!r}).")
        args = tuple(self.expr(a) for a in node.args)  # a refused argument is the first thing to say
        n = len(args)
        if (want is None and n < 2) or (want is not None and n != want):
            need = "2 or more arguments" if want is None else f"{want} argument" + ("s" if want > 1 else "")
            raise self.fail(node, f"{fname} takes {need}; got {n}.")
        out: Node = ("fn", fname, args)
        self.check_constant(node, out)
        return out

    def entry(self, node: ast.Call, name: str) -> Node:
        act = REGISTRY[name]
        if act.vector:
            raise self.fail(node.func, f"{name} is a vector function; a formula calls elementwise entries.")
        parsed_args = [self.expr(a) for a in node.args]
        if len(parsed_args) != 1:
            raise self.fail(node, f"{name} takes one positional argument (its input), and its parameters by "
                                  f"name ({', '.join(act.param_names) or 'it has none'}); got {len(node.args)} "
                                  f"positional arguments.")
        known = act.param_names
        given: dict[str, Node] = {}
        for kw in node.keywords:
            assert kw.arg is not None
            if kw.arg not in known:
                hint = closest(kw.arg, known)
                did = f" Did you mean {hint!r}?" if hint else ""
                raise self.fail(kw.value, f"{name} takes no parameter {kw.arg!r}.{did} Allowed: "
                                          f"{', '.join(known) or '(none)'}.", UnknownFormulaName)
            value = self.expr(kw.value)
            if _ir.has_x(value):
                raise self.fail(kw.value, f"the parameter {kw.arg!r} of {name} must not depend on x.")
            given[kw.arg] = value
        arg = parsed_args[0]
        source = getattr(act, "formula_source", None)
        if source is not None:  # a defined formula: expand it in place
            # a parameter's value is a float: exactly that binary value, as everywhere else
            values = {p.name: given.get(p.name, _ir.num(Fraction(p.default))) for p in act.params}
            body = _ir.bind_params(source.tree, values)
            self.calls += [c for c in source.calls if c not in self.calls]
            return _ir.substitute(body, lambda n: arg if n[0] == "x" else None)
        if name not in self.calls:
            self.calls.append(name)
        params = tuple((k, given[k]) for k in known if k in given)
        return ("cat", name, 0, arg, params)

    def where(self, node: ast.Call) -> Node:
        if node.keywords or len(node.args) != 3:
            raise self.fail(node, "where takes 3 positional arguments: where(cond, a, b).")
        cond = self.condition(node.args[0])
        out: Node = ("where", ((cond, self.expr(node.args[1])),), self.expr(node.args[2]))
        self.check_constant(node, out)
        return out

    def condition(self, node: ast.AST) -> Node:
        if isinstance(node, ast.Compare):
            terms = [self.expr(node.left), *(self.expr(c) for c in node.comparators)]
            parts: list[Node] = []
            for i, op in enumerate(node.ops):
                sym = _CMP.get(type(op))
                if sym is None:
                    raise self.fail(node, "only < <= > >= == != compare numbers.")
                parts.append(("cmp", sym, terms[i], terms[i + 1]))
            return parts[0] if len(parts) == 1 else ("and", tuple(parts))
        if isinstance(node, ast.BoolOp):
            return ("and" if isinstance(node.op, ast.And) else "or", tuple(self.condition(v) for v in node.values))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ("not", self.condition(node.operand))
        raise self.fail(node, "the condition of where(cond, a, b) must be a comparison, e.g. x > 0.")

    # -- bounds on constants -----------------------------------------------------------------

    def check_exponent(self, node: ast.BinOp, b: Node) -> None:
        v = _constant(b)
        if v is not None and not (abs(v) <= MAX_EXPONENT):
            raise self.fail(node.right, f"the exponent is too large for symbolic work (|{shorten(v, 20)}| > "
                                        f"{MAX_EXPONENT}).")

    def check_constant(self, node: ast.AST, tree: Node) -> None:
        try:
            _constant(tree, strict=True)
        except (OverflowError, ValueError, ZeroDivisionError) as err:
            why = {OverflowError: "overflows", ZeroDivisionError: "divides by zero"}.get(type(err), "is undefined")
            raise self.fail(node, f"this constant part {why}.") from None


_CONST_FN = {
    "exp": math.exp, "log": math.log, "log1p": math.log1p, "expm1": math.expm1, "sqrt": math.sqrt,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh,
    "asinh": math.asinh, "atan": math.atan, "erf": math.erf, "erfc": math.erfc, "abs": abs, "min": min, "max": max,
}


def _constant(tree: Node, strict: bool = False) -> float | None:
    """The float value of a constant tree (no x, no parameter, no catalogue call), else None.

    With ``strict``, an overflow, a domain error or a division by zero raises (the parser
    refuses such constants); otherwise they give inf / NaN. The work is bounded: at most
    :data:`MAX_NODES` float operations on a tree whose exponents are checked first.
    """
    kind = tree[0]
    try:
        if kind == "num":
            return tree[1] / tree[2]
        if kind == "pi":
            return math.pi
        if kind == "E":
            return math.e
        if kind in ("x", "param", "cat", "where"):
            return None
        if kind == "neg":
            a = _constant(tree[1], strict)
            return None if a is None else -a
        if kind in ("sub", "div", "pow"):
            a, b = _constant(tree[1], strict), _constant(tree[2], strict)
            if a is None or b is None:
                return None
            if kind == "sub":
                return a - b
            if kind == "div":
                return a / b
            r = math.pow(a, b)
            if not math.isfinite(r) and math.isfinite(a) and math.isfinite(b):
                raise OverflowError
            return r
        if kind in ("add", "mul"):
            vals = [_constant(t, strict) for t in tree[1]]
            if any(v is None for v in vals):
                return None
            r = math.fsum(vals) if kind == "add" else math.prod(vals)  # type: ignore[arg-type]
            if not math.isfinite(r):
                raise OverflowError
            return r
        if kind == "fn":
            vals = [_constant(t, strict) for t in tree[2]]
            if any(v is None for v in vals):
                return None
            return float(_CONST_FN[tree[1]](*vals))
    except (OverflowError, ValueError, ZeroDivisionError):
        if strict:
            raise
        return math.nan
    return None


_SUMS = (ast.Add, ast.Sub)
_PRODUCTS = (ast.Mult, ast.Div)


def _same_chain(parent: ast.AST, child: ast.AST) -> bool:
    """a + b + c is one sum (Python nests it as (a + b) + c): a chain is one level deep."""
    if not (isinstance(parent, ast.BinOp) and isinstance(child, ast.BinOp)):
        return False
    return any(isinstance(parent.op, fam) and isinstance(child.op, fam) for fam in (_SUMS, _PRODUCTS))


def _depth(node: ast.AST) -> int:
    """Nesting depth of the expression, a chain of + - or of * / counting as one level."""
    best, stack = 0, [(node, 1)]
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        for c in ast.iter_child_nodes(n):
            if isinstance(c, (ast.expr, ast.keyword)):
                stack.append((c, d if _same_chain(n, c) else d + 1))
    return best


def parse_formula(text: str, *, allow_params: bool = True, require_x: bool = True) -> Formula:
    """Parse ``text`` into a :class:`Formula` (see the module docstring), or raise FormulaError.

    ``allow_params=False`` refuses names other than x, the constants and the functions
    (a formula given where an activation is expected has no way to give them values).

    >>> f = parse_formula("x * sigmoid(b * x)")
    >>> f.params, f.calls
    (('b',), ('sigmoid',))
    >>> parse_formula("x * sigmoud(x)")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    actlab.formula.parse.UnknownFormulaName: In the formula 'x * sigmoud(x)', at position 5 ('sigmoud'): \
unknown function 'sigmoud'. Did you mean 'sigmoid'? Allowed: abs, arctan, ...
    """
    if not isinstance(text, str):
        raise FormulaError(f"A formula is a string such as 'x * sigmoid(x)'. Got {shorten(text)} instead.")
    quoted = shorten(text)
    if len(text) > MAX_CHARS:
        raise FormulaError(f"The formula {quoted} is too long: at most {MAX_CHARS} characters "
                           f"(it goes past the limit at position {MAX_CHARS + 1}).", MAX_CHARS)
    for i, ch in enumerate(text):
        if not (" " <= ch <= "~"):
            raise FormulaError(f"In the formula {quoted}, at position {i + 1} ({ch!r}): formulas are one line of "
                               "printable ASCII characters.", i, ch)
    stripped = text.strip()
    lead = len(text) - len(text.lstrip())
    try:
        with warnings.catch_warnings():  # "'int' object is not callable" and the like: refused below
            warnings.simplefilter("ignore")
            tree = ast.parse(stripped, mode="eval").body
    except SyntaxError as err:
        pos = lead + max((err.offset or 1) - 1, 0)
        token = text[pos:pos + 1]
        why = (err.msg or "invalid syntax").rstrip(".")
        raise FormulaError(f"In the formula {quoted}, at position {pos + 1} ({token!r}): {why}.", pos,
                           token) from None
    except (ValueError, RecursionError, MemoryError):
        raise FormulaError(f"The formula {quoted} cannot be read (nested too deeply).") from None
    reader = _Reader(stripped, allow_params)
    nodes = sum(1 for n in ast.walk(tree) if isinstance(n, (ast.expr, ast.keyword)))
    if nodes > MAX_NODES:
        raise FormulaError(f"The formula {quoted} has {nodes} syntax nodes; at most {MAX_NODES} are allowed.")
    depth = _depth(tree)
    if depth > MAX_DEPTH:
        raise FormulaError(f"The formula {quoted} is nested {depth} levels deep; at most {MAX_DEPTH} are allowed.")
    try:
        built = reader.expr(tree)
    except FormulaError as err:
        if lead and err.position is not None:  # positions in the text as given
            old, new = f"at position {err.position + 1} ", f"at position {err.position + 1 + lead} "
            raise type(err)(str(err.args[0]).replace(old, new), err.position + lead, err.token) from None
        raise
    if require_x and not _ir.has_x(built):
        raise FormulaError(f"The formula {quoted} does not contain the variable x.")
    return Formula(stripped, built, tuple(reader.params), tuple(reader.calls))
