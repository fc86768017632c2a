"""Rewrite a formula into the catalogue's stable forms before code generation.

What users type is the naive formula, ``log(1 + exp(x))`` or ``1/(1 + exp(-x))``, whose
floating-point evaluation overflows or cancels; the catalogue's kernels do not. The rules
below recognise the common spellings (as SymPy normalises them) and replace them by
catalogue calls, whose f, f' and f'' are the registry's own kernels:

* rational functions of exponentials (one exponent family e^{kw}, k integer):
  ``a e^{mw}/(e^{mw} + 1) + b/(e^{mw} + 1)`` -> ``a sigmoid(m w) + b sigmoid(-m w)``, or
  ``a tanh(m w/2)`` when b = -a; so ``1/(1 + exp(-u))``, ``exp(u)/(1 + exp(u))``,
  ``(exp(u) - exp(-u))/(exp(u) + exp(-u))``, ``2/(1 + exp(-2u)) - 1`` are all found;
* logarithms of the same: ``log(c t^k (t^m + 1)^±1)`` -> ``log c + k w ± softplus(m w)``
  (``log(1 + exp(u))``, ``log(1/(1 + exp(-u)))``, ``-log(1 + exp(-u))``), then
  ``u - softplus(u)`` -> ``-softplus(-u)`` (log_sigmoid) and ``u + softplus(-u)`` -> ``softplus(u)``;
* ``log(sigmoid(u))`` -> ``log_sigmoid(u)``, ``log(1 + u)`` -> ``log1p(u)``, ``log(1 - exp(u))``
  -> ``log1mexp(-u)``, ``a exp(u) - a`` -> ``a expm1(u)``;
* ``c ± c erf(w)`` -> ``c erfc(∓w)``, ``c ± c tanh(w)`` -> ``2c sigmoid(±2w)``,
  ``c - c sigmoid(u)`` -> ``c sigmoid(-u)``, ``u - tanh(u)`` -> ``tanh_shrink(u)``;
* gated products: ``c u sigmoid(b u)`` -> ``c silu(u, beta=b)``, ``c u tanh(softplus(u))`` ->
  ``c mish(u)``, ``c u erfc(-u/sqrt 2)`` -> ``2c gelu(u)``, ``c u sigmoid(2 sqrt(2/pi)(u +
  0.044715 u^3))`` -> ``c gelu_tanh(u)``, ``c u/(1 + |u|)`` -> ``c softsign(u)``.

Every rule is an identity (tests check each against mpmath), so the rewritten formula is
the same function; it only changes how floats evaluate it. A gated product must become the
catalogue entry as a whole because its f' = g + u g' has a zero (the minimum of f) near
which the two terms cancel; the catalogue's f' is written around that zero.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import sympy as sp

from .symbolic import CatalogueFunction, Erfc, Expm1, Log1p, X, catalogue_function

__all__ = ["rewrite"]

#: largest exponent ratio the exponential recogniser accepts (t^64 is a small polynomial)
MAX_POWER = 64
_GELU_TANH_A = sp.Rational(44715, 1000000)


def _cat(name: str, u: sp.Expr, *params: Any) -> sp.Expr:
    return catalogue_function(name, 0)(u, *params)


def _is(e: sp.Expr, name: str) -> bool:
    return isinstance(e, CatalogueFunction) and e.entry == name and e.order == 0


def rewrite(e: sp.Expr, passes: int = 4) -> sp.Expr:
    """``e`` with the rules of the module docstring applied bottom-up, to a fixed point.

    >>> from actlab.formula.symbolic import to_sympy
    >>> from actlab.formula.parse import parse_formula
    >>> print(rewrite(to_sympy(parse_formula("x / (1 + exp(-x))").tree)))
    silu(x, beta=1)
    >>> print(rewrite(to_sympy(parse_formula("log(1/(1 + exp(-x)))").tree)))
    log_sigmoid(x)
    """
    for _ in range(passes):
        memo: dict[sp.Expr, sp.Expr] = {}
        new = _bottom_up(e, memo)
        if new == e:
            break
        e = new
    return _named(e)


def _named(e: sp.Expr) -> sp.Expr:
    """-c softplus(-u) as c log_sigmoid(u): the same kernel, under the name users know. Done
    last: inside the rules log_sigmoid is -softplus(-u), so that one set of rules about
    softplus (u - softplus(u) and the like) covers both."""

    def is_neg_softplus(a: sp.Expr) -> bool:
        if not a.is_Mul:
            return False
        c, rest = a.as_coeff_Mul()
        return bool(c.is_negative and _is(rest, "softplus") and rest.args[1] == 1)

    def named(a: sp.Expr) -> sp.Expr:
        c, rest = a.as_coeff_Mul()
        return -c * _cat("log_sigmoid", -rest.args[0])

    return e.replace(is_neg_softplus, named) if e.has(CatalogueFunction) else e


def _bottom_up(e: sp.Expr, memo: dict[sp.Expr, sp.Expr]) -> sp.Expr:
    if e in memo:
        return memo[e]
    if e.is_Atom or not e.args:
        out = e
        memo[e] = out
        return out
    if e.is_Add or e.is_Mul or e.is_Pow:
        # a whole rational function of exponentials first: exp(x)/(1 + exp(x)) is one
        # sigmoid, which rewriting its denominator alone (to sigmoid(-x)) would hide
        pre = _group_rules(e)
        if pre is not None and pre != e:
            out = _bottom_up(pre, memo)
            memo[e] = out
            return out
    if isinstance(e, sp.Piecewise):
        out = sp.Piecewise(*[(_bottom_up(v, memo), c) for v, c in e.args])
    elif isinstance(e, sp.logic.boolalg.Boolean):
        out = e
    else:
        args = [_bottom_up(a, memo) for a in e.args]
        out = e.func(*args) if args != list(e.args) else e
        out = _rules(out)
    memo[e] = out
    return out


def _rules(e: sp.Expr) -> sp.Expr:
    if _is(e, "log_sigmoid"):  # -softplus(-u) inside the rules (see _named)
        return -_cat("softplus", -e.args[0], 1)
    if isinstance(e, sp.log):
        return _log_rules(e.args[0]) or e
    if isinstance(e, Log1p):
        t = e.args[0]
        if isinstance(t, sp.exp):
            return _cat("softplus", t.args[0], 1)
        if isinstance(-t, sp.exp):
            return _cat("log1mexp", -(-t).args[0])
        return e
    if e.is_Add or e.is_Mul or e.is_Pow:
        grouped = _group_rules(e)
        if grouped is not None:
            return grouped
    if e.is_Add:
        return _add_rules(e)
    if e.is_Mul:
        return _mul_rules(e)
    return e


# ---- rational functions of exponentials ----------------------------------------------------


def _exp_family(R: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Symbol] | None:
    """(R as a function of t, w, t) where every exp(a) in R is t^n with t = e^w, if R depends
    on x only through such exponentials."""
    atoms = [a for a in R.atoms(sp.exp) if a.has(X)]
    if not atoms:
        return None
    base = atoms[0].args[0]
    ratios = []
    for a in atoms:
        q = sp.cancel(a.args[0] / base)
        if not q.is_Rational:
            return None
        ratios.append(Fraction(int(q.p), int(q.q)))
    num = math.gcd(*(r.numerator for r in ratios))
    den = math.lcm(*(r.denominator for r in ratios))
    unit = Fraction(num, den)
    powers = [int(r / unit) for r in ratios]
    if max(abs(p) for p in powers) > MAX_POWER:
        return None
    t = sp.Dummy("t", positive=True)
    Rt = R.xreplace({a: t**p for a, p in zip(atoms, powers)})
    if Rt.has(X):
        return None
    return Rt, base * sp.Rational(unit.numerator, unit.denominator), t


def _two_terms(p: sp.Poly) -> tuple[int, sp.Expr, sp.Expr] | None:
    """(m, c_m, c_0) if p = c_m t^m + c_0 with m > 0 (both coefficients nonzero)."""
    terms = p.terms()
    if len(terms) != 2:
        return None
    (m,), cm = terms[0]
    (z,), c0 = terms[1]
    if z != 0 or m == 0:
        return None
    return m, cm, c0


def _recognise(R: sp.Expr) -> sp.Expr | None:
    """R as sigmoids or a tanh, if it is one of the forms of the module docstring."""
    fam = _exp_family(R)
    if fam is None:
        return None
    Rt, w, t = fam
    num, den = sp.fraction(sp.cancel(Rt))
    if not (num.is_polynomial(t) and den.is_polynomial(t)):
        return None
    pd = _two_terms(sp.Poly(den, t))
    if pd is None:
        return None
    m, d1, d0 = pd
    if sp.simplify(d0 - d1) != 0:  # t^m + 1 only
        return None
    pn = sp.Poly(num, t)
    a = pn.coeff_monomial(t**m)
    b = pn.coeff_monomial(1)
    if pn.degree() > m or len(pn.terms()) > (a != 0) + (b != 0):
        return None
    a, b = a / d1, b / d1
    if (m * w).could_extract_minus_sign():  # prefer the argument without a sign: sigmoid(x)
        a, b, w = b, a, -w
    if sp.simplify(a + b) == 0:
        return a * _cat("tanh", m * w / 2)
    return a * _cat("sigmoid", m * w) + b * _cat("sigmoid", -m * w)


def _log_of_poly(p: sp.Poly, t: sp.Symbol, w: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
    """(c, log(p) - log(c)) for p = c t^k or c t^k (t^m + 1)."""
    terms = p.terms()
    low = min(mon[0] for mon, _ in terms)
    if len(terms) == 1:
        return terms[0][1], low * w
    if len(terms) != 2:
        return None
    (m,), cm = terms[0]
    (_,), c0 = terms[1]
    if sp.simplify(cm - c0) != 0:
        return None
    return c0, low * w + _cat("softplus", (m - low) * w, 1)


def _log_rules(A: sp.Expr) -> sp.Expr | None:
    if _is(A, "sigmoid"):
        return _cat("log_sigmoid", A.args[0])
    if isinstance(-A, Expm1):  # log(1 - e^u), its inner part already rewritten
        return _cat("log1mexp", -(-A).args[0])
    fam = _exp_family(A)
    if fam is not None:
        Rt, w, t = fam
        num, den = sp.fraction(sp.cancel(Rt))
        if num.is_polynomial(t) and den.is_polynomial(t):
            top, bottom = _log_of_poly(sp.Poly(num, t), t, w), _log_of_poly(sp.Poly(den, t), t, w)
            if top is not None and bottom is not None:
                c = sp.simplify(top[0] / bottom[0])
                if c.is_positive:
                    return sp.log(c) + top[1] - bottom[1]
    if A.is_Add:
        const, rest = A.as_coeff_Add()
        if const == 1:
            if isinstance(rest, sp.exp):
                return _cat("softplus", rest.args[0], 1)
            if isinstance(-rest, sp.exp):
                return _cat("log1mexp", -(-rest).args[0])
            if _is(-rest, "sigmoid"):
                return _cat("log_sigmoid", -(-rest).args[0])
            return Log1p(rest)
    return None


# ---- sums ------------------------------------------------------------------------------------


def _is_exp_rational(term: sp.Expr) -> bool:
    if not term.has(X):
        return True
    atoms = [a for a in term.atoms(sp.exp) if a.has(X)]
    return bool(atoms) and not term.xreplace({a: sp.Dummy() for a in atoms}).has(X)


def _group_rules(e: sp.Expr) -> sp.Expr | None:
    """The terms (of a sum) or factors (of a product) that form a rational function of
    exponentials, as sigmoids or a tanh: 2/(1 + e^{-2u}) - 1, e^u/(1 + e^u)."""
    if e.is_Add:
        terms = list(e.args)
        group = [t for t in terms if _is_exp_rational(t)]
        if len(group) >= 2 and any(t.has(X) for t in group):
            r = _recognise(sp.Add(*group))
            if r is not None:
                return sp.Add(r, *[t for t in terms if t not in group])
        return None
    factors = list(e.args) if e.is_Mul else [e]
    group = [f for f in factors if _is_exp_rational(f)]
    if group and any(f.has(X) for f in group) and any(f.is_Pow and f.exp.is_negative for f in group):
        r = _recognise(sp.Mul(*group))
        if r is not None:
            return sp.Mul(r, *[f for f in factors if f not in group])
    return None


def _add_rules(e: sp.Expr) -> sp.Expr:
    terms = list(e.args)
    const, _ = e.as_coeff_Add()
    for t in terms:
        k, f = t.as_coeff_Mul()
        rest = e - t
        if isinstance(f, sp.exp) and const != 0 and const == -k:  # k e^u - k
            return k * Expm1(f.args[0]) + (rest - const)
        if isinstance(f, (sp.erf,)) and const != 0 and abs(const) == abs(k):  # c +- c erf(w)
            w = f.args[0]
            return const * Erfc(-w if const == k else w) + (rest - const)
        if isinstance(f, (sp.erfc, Erfc)) and const != 0 and const == -2 * k:  # 2 - erfc(y) = erfc(-y)
            return -k * Erfc(-f.args[0]) + (rest - const)
        if _is(f, "tanh") and const != 0 and abs(const) == abs(k):  # c +- c tanh(w) = 2c sigmoid(+-2w)
            w = f.args[0]
            return 2 * const * _cat("sigmoid", 2 * w if const == k else -2 * w) + (rest - const)
        if _is(f, "sigmoid") and const != 0 and const == -k:  # c - c sigmoid(u) = c sigmoid(-u)
            return const * _cat("sigmoid", -f.args[0]) + (rest - const)
        if _is(f, "sigmoid") and const != 0 and k == -2 * const:  # c (1 - 2 sigmoid(w)) = -c tanh(w/2)
            return -const * _cat("tanh", f.args[0] / 2) + (rest - const)
        if _is(f, "tanh") and sp.expand(rest + k * f.args[0]) == 0:  # -k (u - tanh u)
            return -k * _cat("tanh_shrink", f.args[0])
        if _is(f, "softplus") and f.args[1] == 1 and sp.expand(rest + k * f.args[0]) == 0:
            return k * _cat("softplus", -f.args[0], 1)  # k (softplus(v) - v) = k softplus(-v)
        sq = _squareplus(f, k, rest)
        if sq is not None:
            return sq
    return e


def _squareplus(f: sp.Expr, k: sp.Expr, rest: sp.Expr) -> sp.Expr | None:
    """k (+-u + sqrt(u^2 + b)) = 2k squareplus(+-u, b) for a constant b > 0 (the sum cancels
    for -+u large; the catalogue's does not)."""
    if not (f.is_Pow and f.exp == sp.S.Half and f.base.is_Add):
        return None
    b, sq = f.base.as_coeff_Add()
    if not (b.is_positive and sq.is_Pow and sq.exp == 2):
        return None
    u = sq.base
    for v in (u, -u):
        if sp.expand(rest - k * v) == 0:
            return 2 * k * _cat("squareplus", v, b)
    return None


# ---- products ---------------------------------------------------------------------------------


def _mul_rules(e: sp.Expr) -> sp.Expr:
    factors = list(e.args) if e.is_Mul else [e]
    if not e.is_Mul:
        return e
    for i, f in enumerate(factors):
        rest = sp.Mul(*(factors[:i] + factors[i + 1:]))
        c, u = rest.as_coeff_Mul()
        if not u.has(X):
            continue
        if _is(f, "sigmoid"):
            w = f.args[0]
            b = sp.cancel(w / u)
            if not b.has(X) and b != 0:
                if b.is_positive:
                    return c * _cat("silu", u, b)
                if b.is_negative:
                    return -c * _cat("silu", -u, -b)
            k = 2 * sp.sqrt(2 / sp.pi)
            if sp.expand(w - k * (u + _GELU_TANH_A * u**3)) == 0:
                return c * _cat("gelu_tanh", u)
        if _is(f, "tanh") and _is(f.args[0], "softplus") and f.args[0].args[1] == 1 and f.args[0].args[0] == u:
            return c * _cat("mish", u)
        if isinstance(f, Erfc) and sp.expand(u + sp.sqrt(2) * f.args[0]) == 0:
            return 2 * c * _cat("gelu", u)
        if f.is_Pow and f.exp == -1 and f.base.is_Add:
            one, rest_d = f.base.as_coeff_Add()
            if one == 1 and isinstance(rest_d, sp.Abs) and rest_d.args[0] == u:
                return c * _cat("softsign", u)
    return e
