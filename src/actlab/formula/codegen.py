"""NumPy kernels from a formula tree, by composing closures: no source text is generated,
so nothing is ``exec``'d.

Each node becomes a function of the float64 input array; a catalogue call is the
registry's own f, f' or f'' of that entry (no formula is re-written here), the other
functions are NumPy's and SciPy's ufuncs. :func:`kernel` wraps the result in the
numerics contract of :mod:`actlab.catalogue.registry`:

* float32 (and float16, which the registry hands over as float32) inputs are computed in
  float64 and rounded once into the float32 result: a formula's parts (``1.702 * x``
  before a sigmoid) then carry no float32 rounding into the ill-conditioned places;
* NumPy's warnings are off inside (a naive part may overflow on purpose: it is the
  rewritten form's job to be right, and the accuracy table measures it);
* NaN in gives NaN out; +-inf in gives the limits found by SymPy; the points listed in
  ``at`` get the values given (the left derivative at the user's own kinks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy import special

from ..catalogue.registry import REGISTRY
from ..errors import ActlabError
from ._ir import Node

__all__ = ["compile_tree", "kernel"]

Fn = Callable[[np.ndarray], Any]

_UFUNCS: dict[str, Callable[..., Any]] = {
    "exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt, "sin": np.sin,
    "cos": np.cos, "tan": np.tan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "asinh": np.arcsinh,
    "atan": np.arctan, "erf": special.erf, "erfc": special.erfc, "abs": np.abs, "sign": np.sign,
}
_CMP = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal,
        "!=": np.not_equal}


def _const_value(node: Node) -> float | None:
    """The value of a node without x, computed in float64 (None if it has x)."""
    if node[0] == "x":
        return None
    fn = compile_tree(node)
    with np.errstate(all="ignore"):
        v = fn(np.zeros(0))
    return float(np.asarray(v).reshape(-1)[0]) if np.ndim(v) == 0 or np.size(v) else None


def compile_tree(node: Node) -> Fn:
    """A function of a float64 array computing the tree elementwise (under the caller's errstate)."""
    kind = node[0]
    if kind == "x":
        return lambda x: x
    if kind in ("num", "pi", "E", "nan"):
        c = np.float64({"pi": math.pi, "E": math.e, "nan": math.nan}.get(kind, 0.0) if kind != "num"
                       else node[1] / node[2])
        return lambda x: c
    if kind == "param":
        raise ActlabError(f"Parameter {node[1]!r} has no value in this kernel.")
    if kind == "neg":
        a = compile_tree(node[1])
        return lambda x: -a(x)
    if kind in ("sub", "div"):
        a, b = compile_tree(node[1]), compile_tree(node[2])
        return (lambda x: a(x) - b(x)) if kind == "sub" else (lambda x: a(x) / b(x))
    if kind == "add":
        parts = [compile_tree(t) for t in node[1]]
        return lambda x: _fold(parts, x, np.add)
    if kind == "mul":
        parts = [compile_tree(t) for t in node[1]]
        return lambda x: _fold(parts, x, np.multiply)
    if kind == "pow":
        return _pow(node)
    if kind == "fn":
        return _fn(node)
    if kind == "cat":
        return _cat(node)
    if kind == "where":
        pairs = [(compile_tree(c), compile_tree(v)) for c, v in node[1]]
        default = compile_tree(node[2])

        def where(x: np.ndarray) -> Any:
            r = default(x)
            for cond, val in reversed(pairs):
                r = np.where(cond(x), val(x), r)
            return r

        return where
    if kind == "cmp":
        op, a, b = _CMP[node[1]], compile_tree(node[2]), compile_tree(node[3])
        return lambda x: op(a(x), b(x))
    if kind in ("and", "or"):
        parts = [compile_tree(c) for c in node[1]]
        red = np.logical_and if kind == "and" else np.logical_or
        return lambda x: _fold(parts, x, red)
    if kind == "not":
        a = compile_tree(node[1])
        return lambda x: np.logical_not(a(x))
    if kind in ("true", "false"):
        v = kind == "true"
        return lambda x: np.bool_(v)
    raise ActlabError(f"Cannot compile the formula node {kind!r}.")


def _fold(parts: list[Fn], x: np.ndarray, op: Callable[..., Any]) -> Any:
    r = parts[0](x)
    for p in parts[1:]:
        r = op(r, p(x))
    return r


def _pow(node: Node) -> Fn:
    base = compile_tree(node[1])
    e = node[2]
    if e[0] == "num":
        p, q = e[1], e[2]
        if q == 1 and p == -1:
            return lambda x: 1.0 / base(x)
        if q == 1 and p == 2:
            return lambda x: (lambda b: b * b)(base(x))
        if q == 2 and p == 1:
            return lambda x: np.sqrt(base(x))
        if q == 2 and p == -1:
            return lambda x: 1.0 / np.sqrt(base(x))
        c = np.float64(p / q)
        return lambda x: np.power(base(x), c)
    ex = compile_tree(e)
    return lambda x: np.power(base(x), ex(x))


def _fn(node: Node) -> Fn:
    name, args = node[1], [compile_tree(a) for a in node[2]]
    if name in ("min", "max"):
        op = np.minimum if name == "min" else np.maximum
        return lambda x: _fold(args, x, op)
    uf = _UFUNCS.get(name)
    if uf is None:
        raise ActlabError(f"Cannot compile the function {name!r}.")
    (a,) = args
    return lambda x: uf(a(x))


def _cat(node: Node) -> Fn:
    _, name, order, arg, params = node
    values = {}
    for k, v in params:
        c = _const_value(v)
        if c is None:
            raise ActlabError(f"The parameter {k!r} of {name} must not depend on x.")
        values[k] = c
    bound = REGISTRY[name].bind(**values)
    fn = (bound.f, bound.df, bound.d2f)[order]
    a = compile_tree(arg)

    def call(x: np.ndarray) -> Any:
        u = a(x)
        return fn(np.asarray(u, dtype=np.float64))

    return call


def kernel(tree: Node, limits: tuple[float, float], at: Mapping[float, float] | None = None,
           domain: Fn | None = None) -> Callable[..., np.ndarray]:
    """A registry kernel ``kernel(x, out, **params) -> out`` for ``tree`` (see the module docstring).

    ``domain`` (f itself, for f' and f'') makes the result NaN wherever f is NaN at a
    non-NaN x: outside f's domain its derivatives' expressions may still be real.

    >>> k = kernel(("cat", "sigmoid", 0, ("x",), ()), (0.0, 1.0))
    >>> x = np.array([-np.inf, 0.0, np.nan], np.float32)
    >>> k(x, np.empty_like(x))
    array([0. , 0.5, nan], dtype=float32)
    """
    fn = compile_tree(tree)
    lo, hi = (np.float64(v) for v in limits)
    points = dict(at or {})

    def run(x: np.ndarray, out: np.ndarray, **params: float) -> np.ndarray:
        a = x if x.dtype == np.float64 else x.astype(np.float64)
        with np.errstate(all="ignore"):
            r = np.asarray(fn(a), dtype=np.float64)
            if r.shape != a.shape:
                r = np.broadcast_to(r, a.shape)
            odd = ~np.isfinite(a)
            outside = np.isnan(np.asarray(domain(a))) if domain is not None else None
            if odd.any() or points or (outside is not None and outside.any()):
                r = np.array(r, dtype=np.float64)  # own the result before patching it
                if outside is not None:
                    r[outside] = np.nan
                r[np.isnan(a)] = np.nan
                r[a == np.inf] = hi
                r[a == -np.inf] = lo
                for k, v in points.items():
                    r[a == k] = v
            np.copyto(out, r, casting="unsafe")  # one rounding to float32; overflow there is inf, as it should
        return out

    return run
