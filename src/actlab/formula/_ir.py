"""The formula tree: plain nested tuples that every part of the room shares.

The parser builds it from Python's ``ast`` (never from evaluated text), the symbolic
worker turns it into SymPy and back, :mod:`.codegen` compiles it into NumPy kernels and
:mod:`.mpeval` evaluates it with mpmath. Tuples of strings, ints and tuples pickle and
travel as JSON between processes, hash (caches key on them) and cannot execute anything.

Nodes::

    ("x",)                          the variable
    ("num", p, q)                   the exact rational p/q (q > 0); literals are read exactly
    ("pi",) / ("E",)                the constants
    ("param", name)                 a parameter of a defined formula
    ("neg", a)  ("sub", a, b)  ("div", a, b)  ("pow", a, b)
    ("add", (a, ...))  ("mul", (a, ...))
    ("fn", name, (a, ...))          elementary function (:data:`FUNCTIONS`), abs, min, max, sign
    ("cat", name, order, a, ((param, node), ...))
                                    catalogue entry ``name`` (order 0: f, 1: f', 2: f'') at a
    ("where", ((cond, a), ...), b)  the first branch whose condition holds, else b
    ("cmp", op, a, b)  ("and", (c, ...))  ("or", (c, ...))  ("not", c)  ("true",)  ("false",)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

Node = tuple[Any, ...]

#: The elementary functions of the language, with their number of arguments (None: 2 or more).
FUNCTIONS: dict[str, int | None] = {
    "exp": 1, "log": 1, "log1p": 1, "expm1": 1, "sqrt": 1, "sin": 1, "cos": 1, "tan": 1, "sinh": 1,
    "cosh": 1, "tanh": 1, "asinh": 1, "atan": 1, "erf": 1, "erfc": 1, "abs": 1, "min": None, "max": None,
}
#: Functions the symbolic side may produce that the language does not offer.
INTERNAL_FUNCTIONS = {"sign": 1}
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")

X: Node = ("x",)


def num(value: int | Fraction) -> Node:
    """An exact number node.

    >>> num(Fraction(3, 4))
    ('num', 3, 4)
    """
    f = Fraction(value)
    return ("num", f.numerator, f.denominator)


def children(node: Node) -> Iterator[Node]:
    """The direct sub-nodes of ``node`` (expressions and conditions)."""
    kind = node[0]
    if kind in ("neg", "not"):
        yield node[1]
    elif kind in ("sub", "div", "pow"):
        yield node[1]
        yield node[2]
    elif kind == "cmp":
        yield node[2]
        yield node[3]
    elif kind in ("add", "mul", "and", "or"):
        yield from node[1]
    elif kind == "fn":
        yield from node[2]
    elif kind == "cat":
        yield node[3]
        for _, p in node[4]:
            yield p
    elif kind == "where":
        for c, v in node[1]:
            yield c
            yield v
        yield node[2]


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents first."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(children(n))


def has_x(node: Node) -> bool:
    return any(n[0] == "x" for n in walk(node))


def params_of(node: Node) -> set[str]:
    return {n[1] for n in walk(node) if n[0] == "param"}


def catalogue_calls(node: Node) -> set[str]:
    return {n[1] for n in walk(node) if n[0] == "cat"}


def restricted(node: Node) -> bool:
    """Whether the tree has a part that is real on part of the line only (log, sqrt, a
    fractional power): there f' and f'' must be NaN where f is, whatever their expressions."""
    for n in walk(node):
        if n[0] == "fn" and n[1] in ("log", "log1p", "sqrt"):
            return True
        if n[0] == "pow" and not (n[2][0] == "num" and n[2][2] == 1):
            return True
    return False


def substitute(node: Node, fn: Callable[[Node], Node | None]) -> Node:
    """A copy of the tree in which each node ``n`` for which ``fn(n)`` is not None is replaced by it."""
    new = fn(node)
    if new is not None:
        return new
    kind = node[0]
    rec = lambda n: substitute(n, fn)  # noqa: E731
    if kind in ("neg", "not"):
        return (kind, rec(node[1]))
    if kind in ("sub", "div", "pow"):
        return (kind, rec(node[1]), rec(node[2]))
    if kind == "cmp":
        return (kind, node[1], rec(node[2]), rec(node[3]))
    if kind in ("add", "mul", "and", "or"):
        return (kind, tuple(rec(a) for a in node[1]))
    if kind == "fn":
        return (kind, node[1], tuple(rec(a) for a in node[2]))
    if kind == "cat":
        return (kind, node[1], node[2], rec(node[3]), tuple((k, rec(v)) for k, v in node[4]))
    if kind == "where":
        return (kind, tuple((rec(c), rec(v)) for c, v in node[1]), rec(node[2]))
    return node


def bind_params(node: Node, values: dict[str, Node]) -> Node:
    """Replace ``("param", name)`` nodes by the nodes in ``values``."""
    return substitute(node, lambda n: values.get(n[1]) if n[0] == "param" else None)


def from_json(obj: Any, _seen: dict[Any, Any] | None = None) -> Any:
    """A tree that went through JSON (lists) back as tuples, equal subtrees shared (one
    object each), so that evaluators can remember a subtree's value by identity."""
    seen = {} if _seen is None else _seen
    if isinstance(obj, list):
        t = tuple(from_json(o, seen) for o in obj)
        return seen.setdefault(t, t)
    return obj
