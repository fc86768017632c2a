"""The user's formula evaluated with mpmath, exactly: the reference of the accuracy check.

The formula is evaluated *as written*, naive spelling and all (``log(1 + exp(x))`` at
x = -100 really computes 1 + 3.7e-44 and its logarithm), so a plain 50-digit evaluation
would be wrong wherever the formula cancels. Each node therefore carries a rigorous
bound on its error (first-order bounds of each function's derivative over the interval,
plus the rounding of each operation), and the whole evaluation is repeated at a higher
precision until the result is accurate to the working precision of the caller: a
relative error below 2^-(prec + 4), or an absolute one below 2^-1400 (far below the
smallest float64 subnormal, 2^-1074), whichever is larger. Where the formula compares
two quantities that the current precision cannot separate, the precision is raised too.
At :data:`MAX_PREC` bits it gives up and returns the value it has.

mpmath is never imported here: the caller passes its context (``mpmath.mp``), so the
engine-side package that holds this module keeps no edge to mpmath (the import rules of
``pyproject.toml``); :mod:`actlab.verify` passes it.

>>> import mpmath
>>> from actlab.formula.parse import parse_formula
>>> f = evaluator(parse_formula("log(1 + exp(x))").tree, mpmath.mp)
>>> with mpmath.mp.workdps(20):
...     print(f(mpmath.mpf(-100)))
3.720075976020835963e-44
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._ir import Node

__all__ = ["evaluator", "MAX_PREC"]

#: the most bits the evaluation goes up to (about 12,000 digits)
MAX_PREC = 40_000
_ABS_FLOOR_EXP = -1400


_AT_ZERO = {"exp": 1, "cos": 1, "cosh": 1, "erfc": 1, "sin": 0, "tan": 0, "sinh": 0, "tanh": 0, "asinh": 0,
            "atan": 0, "erf": 0, "expm1": 0, "log1p": 0, "sqrt": 0}


class _Undecided(Exception):
    """A comparison the current precision cannot decide."""


class _Eval:
    def __init__(self, ctx: Any, x: Any, params: dict[str, Any], final: bool) -> None:
        self.ctx, self.x, self.params, self.final = ctx, x, params, final
        self.u = ctx.ldexp(ctx.mpf(1), 1 - ctx.prec)  # unit roundoff of one operation
        self.inf = ctx.inf
        # by node identity: a subtree shared by f' and f'' terms is evaluated once; the node
        # is kept in the entry so that its id cannot be reused by a temporary node
        self.memo: dict[int, tuple[Node, tuple[Any, Any]]] = {}

    def ev(self, n: Node) -> tuple[Any, Any]:
        hit = self.memo.get(id(n))
        if hit is None:
            hit = self.memo[id(n)] = (n, self._ev(n))
        return hit[1]

    def round_err(self, v: Any, k: int = 1) -> Any:
        return abs(v) * self.u * k

    def rounding(self, v: Any, parts: list[Any], kind: str) -> Any:
        """The rounding error of v = op(parts) at this precision: exactly (0 when v is exact,
        so that 1 - 1 is 0, not 0 +- ulp) when the exact result is small to form, else the bound."""
        ctx = self.ctx
        if ctx.isinf(v) or any(ctx.isinf(p) for p in parts):
            return ctx.zero
        nz = [p for p in parts if p]
        if kind == "mul" and len(nz) < len(parts):
            return ctx.zero  # a product with an exact 0
        op = ctx.fmul if kind == "mul" else ctx.fadd
        if len(nz) > 1:
            mags = [ctx.mag(p) for p in nz]
            if max(mags) - min(mags) > 4 * ctx.prec:  # the exact sum would be a huge integer
                return self.round_err(v)
        exact = nz[0] if nz else ctx.zero
        for p in nz[1:]:
            exact = op(exact, p, exact=True)
        return abs(ctx.fsub(exact, v, exact=True))

    # each returns (value, error bound); value None = NaN (undefined in the reals)
    def _ev(self, n: Node) -> tuple[Any, Any]:
        ctx, kind = self.ctx, n[0]
        if kind == "x":
            return self.x, ctx.zero
        if kind == "num":
            v = ctx.mpf(n[1]) / n[2]
            exact = ctx.fmul(v, n[2], exact=True) == n[1]  # 1/2, 3/4: binary fractions are exact
            return v, (ctx.zero if exact else self.round_err(v))
        if kind == "pi":
            return +ctx.pi, self.round_err(ctx.pi)
        if kind == "E":
            return +ctx.e, self.round_err(ctx.e)
        if kind == "nan":
            return None, ctx.zero
        if kind == "param":
            return ctx.mpf(self.params[n[1]]), ctx.zero
        if kind == "neg":
            v, e = self.ev(n[1])
            return (None if v is None else -v), e
        if kind in ("add", "sub"):
            terms = list(n[1]) if kind == "add" else [n[1], ("neg", n[2])]
            vals = [self.ev(t) for t in terms]
            if any(v is None for v, _ in vals):
                return None, ctx.zero
            s = ctx.fsum(v for v, _ in vals)
            return s, ctx.fsum(e for _, e in vals) + self.rounding(s, [v for v, _ in vals], "add")
        if kind in ("mul", "div"):
            if kind == "div":
                return self.divide(self.ev(n[1]), self.ev(n[2]))
            acc = self.ev(n[1][0])
            for t in n[1][1:]:
                acc = self.multiply(acc, self.ev(t))
            return acc
        if kind == "pow":
            return self.power(self.ev(n[1]), n[2])
        if kind == "fn":
            return self.function(n[1], [self.ev(a) for a in n[2]])
        if kind == "where":
            for cond, val in n[1]:
                if self.cond(cond):
                    return self.ev(val)
            return self.ev(n[2])
        raise ValueError(f"cannot evaluate node {kind!r} (catalogue calls are expanded first)")

    def multiply(self, a: tuple[Any, Any], b: tuple[Any, Any]) -> tuple[Any, Any]:
        (va, ea), (vb, eb) = a, b
        if va is None or vb is None:
            return None, self.ctx.zero
        v = va * vb
        if self.ctx.isnan(v):
            return None, self.ctx.zero
        zero = self.ctx.zero  # terms with an exact factor are 0 (inf * 0 would be NaN)
        spread = (abs(va) * eb if eb else zero) + (abs(vb) * ea if ea else zero) + (ea * eb if ea and eb else zero)
        return v, spread + self.rounding(v, [va, vb], "mul")

    def divide(self, a: tuple[Any, Any], b: tuple[Any, Any]) -> tuple[Any, Any]:
        ctx = self.ctx
        (va, ea), (vb, eb) = a, b
        if va is None or vb is None:
            return None, ctx.zero
        if vb == 0 and eb == 0:  # by an exact zero: +-inf as in IEEE arithmetic (the zero taken as +0)
            if va == 0 and ea == 0:
                return None, ctx.zero
            if abs(va) <= ea:
                if not self.final:
                    raise _Undecided
                return None, ctx.zero
            return (self.inf if va > 0 else -self.inf), ctx.zero
        if abs(vb) <= eb:
            if not self.final:
                raise _Undecided
            return va / vb if vb else None, self.inf
        v = va / vb
        if ctx.isnan(v):
            return None, ctx.zero
        return v, (abs(va) * eb + abs(vb) * ea) / (abs(vb) * (abs(vb) - eb)) + self.round_err(v)

    def power(self, a: tuple[Any, Any], expo: Node) -> tuple[Any, Any]:
        ctx = self.ctx
        va, ea = a
        if va is None:
            return None, ctx.zero
        if expo[0] == "num" and expo[2] == 1:  # integer exponent: exact rules, any sign of base
            n = expo[1]
            if n == 0:
                return ctx.one, ctx.zero
            if n < 0:
                return self.divide((ctx.one, ctx.zero), self.power(a, ("num", -n, 1)))
            v = va**n
            return v, n * (abs(va) + ea) ** (n - 1) * ea + self.round_err(v, 2)
        if expo[0] == "num" and expo[2] == 2 and expo[1] == 1:
            return self.function("sqrt", [a])
        vb, eb = self.ev(expo)
        if vb is None:
            return None, ctx.zero
        if va == 0 and ea == 0:
            return (ctx.zero if vb > 0 else None), ctx.zero
        # a^b = exp(b log a), for a > 0 (NaN otherwise, as in NumPy)
        return self.function("exp", [self.multiply((vb, eb), self.function("log", [a]))])

    def function(self, name: str, args: list[tuple[Any, Any]]) -> tuple[Any, Any]:
        ctx = self.ctx
        if any(v is None for v, _ in args):
            return None, ctx.zero
        if name in ("min", "max"):
            pick = min if name == "min" else max
            v = pick(v for v, _ in args)
            return v, max(e for _, e in args)
        (va, ea), = args
        if name == "abs":
            return abs(va), ea
        if name == "sign":
            if abs(va) > ea:
                return ctx.mpf(ctx.sign(va)), ctx.zero
            if va == 0 and ea == 0:
                return ctx.zero, ctx.zero
            if not self.final:
                raise _Undecided
            return ctx.mpf(ctx.sign(va)), ctx.one
        if va == 0 and ea == 0 and name in _AT_ZERO:  # exact values at an exact 0 (exp(0) - 1 = 0 exactly)
            return ctx.mpf(_AT_ZERO[name]), ctx.zero
        if name == "log" and va == 1 and ea == 0:
            return ctx.zero, ctx.zero
        low = max(abs(va) - ea, ctx.zero)  # the smallest |t| in the interval va +- ea
        if name == "exp":
            v = ctx.exp(va)
            return v, abs(v) * ctx.expm1(ea) + self.round_err(v, 2)
        if name in ("log", "log1p"):
            arg = va if name == "log" else 1 + va
            if arg - ea <= 0:
                if ea == 0:  # exactly 0 or negative
                    return (-self.inf if arg == 0 else None), ctx.zero
                if arg + ea < 0:
                    return None, ctx.zero
                if not self.final:
                    raise _Undecided
                return (ctx.log(va) if name == "log" else ctx.log1p(va)), self.inf
            v = ctx.log(va) if name == "log" else ctx.log1p(va)
            return v, -ctx.log1p(-ea / arg) + self.round_err(v, 2)
        if name == "expm1":
            v = ctx.expm1(va)
            return v, ctx.exp(va) * ctx.expm1(ea) + self.round_err(v, 2)
        if name == "sqrt":
            if va + ea < 0:
                return None, ctx.zero
            if va - ea <= 0:
                if va < 0:
                    if not self.final:
                        raise _Undecided
                    return None, ctx.zero
                return ctx.sqrt(va), ctx.sqrt(2 * ea) + self.round_err(va)
            v = ctx.sqrt(va)
            return v, ea / (ctx.sqrt(va - ea) + v) + self.round_err(v)
        if name in ("sin", "cos"):
            v = ctx.sin(va) if name == "sin" else ctx.cos(va)
            return v, min(ea, 2 * ctx.one) + self.round_err(v, 2)
        if name == "tan":
            v = ctx.tan(va)
            if ea > ctx.mpf(2) ** -20:
                if not self.final:
                    raise _Undecided
                return v, self.inf
            return v, 2 * ea * (1 + v * v) + self.round_err(v, 2)
        if name == "sinh":
            v = ctx.sinh(va)
            return v, ea * ctx.cosh(abs(va) + ea) + self.round_err(v, 2)
        if name == "cosh":
            v = ctx.cosh(va)
            return v, ea * ctx.sinh(abs(va) + ea) + self.round_err(v, 2)
        if name == "tanh":
            v = ctx.tanh(va)
            return v, ea * ctx.sech(low) ** 2 + self.round_err(v, 2)
        if name == "asinh":
            v = ctx.asinh(va)
            return v, ea / ctx.sqrt(1 + low * low) + self.round_err(v, 2)
        if name == "atan":
            v = ctx.atan(va)
            return v, ea / (1 + low * low) + self.round_err(v, 2)
        if name in ("erf", "erfc"):
            if low > 10**6:  # mpmath's erfc fails on huge arguments; 1 - erf(t) < e^{-t^2} < 2^{-10^12}
                tail = ctx.ldexp(ctx.one, -(10**6))
                side = 1 if va > 0 else -1
                return (ctx.mpf(side) if name == "erf" else ctx.mpf(1 - side)), tail
            v = ctx.erf(va) if name == "erf" else ctx.erfc(va)
            return v, ea * 2 / ctx.sqrt(ctx.pi) * ctx.exp(-low * low) + self.round_err(v, 2)
        raise ValueError(f"cannot evaluate function {name!r}")

    def cond(self, c: Node) -> bool:
        kind = c[0]
        if kind == "true":
            return True
        if kind == "false":
            return False
        if kind == "not":
            return not self.cond(c[1])
        if kind == "and":
            return all(self.cond(t) for t in c[1])
        if kind == "or":
            return any(self.cond(t) for t in c[1])
        (va, ea), (vb, eb) = self.ev(c[2]), self.ev(c[3])
        if va is None or vb is None:
            return c[1] == "!="  # NaN compares unequal, as in NumPy
        d, e = va - vb, ea + eb
        if e and abs(d) <= e and not self.final:
            raise _Undecided
        return {"<": d < 0, "<=": d <= 0, ">": d > 0, ">=": d >= 0, "==": d == 0, "!=": d != 0}[c[1]]


def evaluator(tree: Node, ctx: Any) -> Callable[..., Any]:
    """``fn(x, **params)``: the formula at the mpf ``x``, accurate at the caller's precision
    (an mpf; ``ctx.nan`` where it is undefined). ``ctx`` is mpmath's context, ``mpmath.mp``."""

    def fn(x: Any, **params: Any) -> Any:
        target = ctx.prec
        x = ctx.mpf(x)
        if ctx.isnan(x):
            return ctx.nan
        floor = ctx.ldexp(ctx.mpf(1), _ABS_FLOOR_EXP)
        prec = target + 32
        while True:
            final = prec >= MAX_PREC
            with ctx.workprec(prec):
                try:
                    v, err = _Eval(ctx, x, params, final).ev(tree)
                except _Undecided:
                    v, err = ctx.zero, None
            if err is not None:
                if v is None:
                    return ctx.nan
                if ctx.isinf(v):
                    return +v
                allowed = max(abs(v) * ctx.ldexp(ctx.mpf(1), -(target + 4)), floor)
                if err <= allowed or final:
                    return +v
                missing = int(ctx.log(err / allowed, 2)) + 1 if err != ctx.inf else prec
            else:
                missing = prec
            prec = min(MAX_PREC, prec + max(missing + 32, prec // 2))

    return fn
