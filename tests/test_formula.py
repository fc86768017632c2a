"""Formula activations: define / resolve, derivatives (central differences and mpmath's
differentiation of the same formula), the catalogue entries written as formulas, kinks
and their conventions, metadata, the numerics contract, the time limit, training."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from mpmath import mp, mpf

import actlab
from actlab import nn
from actlab.catalogue.registry import REGISTRY
from actlab.errors import ActlabError, InvalidParameterError
from actlab.formula import (
    FormulaActivation,
    define,
    mp_reference,
    resolve,
    source,
    undefine,
)
from actlab.formula.closed_forms import CLOSED_FORMS
from actlab.formula.worker import TimeLimitError
from actlab.verify import reference

ELEMENTWISE = [n for n, a in REGISTRY.items() if not a.vector and not isinstance(a, FormulaActivation)]


@pytest.fixture
def named():
    """Names registered by a test, removed afterwards (the registry is shared by the suite)."""
    names: list[str] = []
    yield names
    for n in names:
        if isinstance(REGISTRY.get(n), FormulaActivation):
            undefine(n)


# ---- define, resolve, the registry ------------------------------------------------------------


def test_define_registers_a_named_entry_with_parameters(named):
    act = define("x * sigmoid(b * x)", name="swish_b_test", b=1.0)
    named.append("swish_b_test")
    assert REGISTRY["swish_b_test"] is act and act.param_names == ("b",) and act.family == "formula"
    b = actlab.get("swish_b_test(b=1.5)")
    x = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(b(x), x / (1 + np.exp(-1.5 * x)), rtol=1e-15)
    assert b.spec == "swish_b_test(b=1.5)" and actlab.get(b.spec).params == {"b": 1.5}
    # the same definition again is the same entry (a saved model is loaded twice); another is refused
    assert define("x * sigmoid(b * x)", name="swish_b_test", b=1.0) is act
    with pytest.raises(ActlabError, match="already defined"):
        define("x * tanh(b * x)", name="swish_b_test", b=1.0)
    other = define("x * tanh(b * x)", name="swish_b_test", b=1.0, replace=True)
    assert REGISTRY["swish_b_test"] is other
    assert source(other) == {"name": "swish_b_test", "formula": "x * tanh(b * x)", "defaults": {"b": 1.0}}
    undefine("swish_b_test")
    assert "swish_b_test" not in REGISTRY
    with pytest.raises(ActlabError, match="not a formula"):
        undefine("relu")


def test_a_defined_formula_is_callable_in_other_formulas(named):
    define("x * sigmoid(b * x)", name="swish_b_in", b=1.0)
    named.append("swish_b_in")
    b = resolve("swish_b_in(x, b=2) + swish_b_in(x)")
    x = np.array([-2.0, 0.5, 3.0])
    np.testing.assert_allclose(b(x), x / (1 + np.exp(-2 * x)) + x / (1 + np.exp(-x)), rtol=1e-15)


def test_resolve_gives_a_bound_entry_whose_spec_is_the_formula():
    b = resolve("  x * sigmoid(1.702 * x)  ")
    assert b.spec == "x * sigmoid(1.702 * x)" and b.name == b.spec
    assert resolve(b.spec).definition is b.definition  # cached
    x = np.linspace(-30, 30, 61)
    np.testing.assert_array_equal(b(x), actlab.get("silu", beta=1.702)(x))
    np.testing.assert_array_equal(b.df(x), actlab.get("silu", beta=1.702).df(x))
    assert source(b) is None  # its spec is its formula already


def test_parameters_are_checked_by_the_catalogue_entries_inside():
    act = define("elu(x, alpha=a)", a=1.0)
    with pytest.raises(InvalidParameterError, match="'alpha' parameter of elu"):
        act.bind(a=-1.0)
    act = define("x * sigmoid(b * x)", b=1.0)
    neg = act.bind(b=-2.0)  # -silu(-x, beta=2): the catalogue's silu takes beta > 0 only
    x = np.array([-3.0, -0.5, 0.0, 2.0])
    np.testing.assert_allclose(neg(x), x / (1 + np.exp(2 * x)), rtol=1e-15)
    assert neg.range[1] == pytest.approx(-actlab.get("silu").range[0] / 2, rel=1e-9)  # max of x sigma(-2x)


# ---- derivatives --------------------------------------------------------------------------------

SMOOTH = ["x**3 * sin(x) + atan(x)", "log(1 + exp(x)) * cos(x / 3)", "x * tanh(softplus(x)) - sigmoid(2 * x)",
          "where(x > 1, x**2, sinh(x))", "0.5 * relu(x) + 0.5 * tanh(x)", "exp(-x**2 / 2) * erf(x)",
          "sqrt(x**2 + 4) / (1 + abs(x))", "max(x, 0.2 * x) + gelu(x) * asinh(x)"]


@pytest.mark.parametrize("text", SMOOTH)
def test_derivatives_match_central_differences(text):
    b = resolve(text)
    x = np.random.default_rng(0).uniform(-4, 4, 200)
    x = x[np.min(np.abs(x[:, None] - np.array([0.0, 1.0])[None, :]), axis=1) > 1e-3]  # off the kinks
    h = 1e-6
    num1 = (b(x + h) - b(x - h)) / (2 * h)
    num2 = (b.df(x + h) - b.df(x - h)) / (2 * h)
    np.testing.assert_allclose(b.df(x), num1, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(b.d2f(x), num2, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("text", SMOOTH)
def test_derivatives_match_mpmath_differentiation_of_the_formula(text):
    b = resolve(text)
    ref = mp_reference(b, mp)
    for x in (-3.3, -0.7, 0.4, 2.9):
        with mp.workdps(30):
            d1 = mp.diff(ref.f, mpf(x))
            d2 = mp.diff(ref.f, mpf(x), 2)
            # the symbolic derivative of the formula as written, against mpmath's numerical one
            assert abs(ref.df(mpf(x)) - d1) <= mpf(10) ** -20 * (1 + abs(d1))
            assert abs(ref.d2f(mpf(x)) - d2) <= mpf(10) ** -18 * (1 + abs(d2))
        assert float(b.df(x)) == pytest.approx(float(d1), rel=1e-13, abs=1e-15)
        assert float(b.d2f(x)) == pytest.approx(float(d2), rel=1e-12, abs=1e-14)


# ---- the catalogue entries written as formulas ----------------------------------------------------


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_formulas_equal_to_catalogue_entries_agree_with_them(name):
    cat = actlab.get(name)
    act = define(CLOSED_FORMS[name], **cat.params)
    b = act.bind()
    x = np.linspace(-10, 10, 2001)
    # off the kinks and the other points where a piece ends (f'' there is a convention)
    ends = [p for pts in act.analysis["points"].values() for p, _ in pts]
    x = x[np.min(np.abs(x[:, None] - np.array([0.0, *cat.kinks, *ends])[None, :]), axis=1) > 1e-6]
    if name == "log1mexp":
        x = x[x > 0]
    for which in ("f", "df", "d2f"):
        np.testing.assert_allclose(getattr(b, which)(x), getattr(cat, which)(x), rtol=1e-9, atol=1e-12,
                                   err_msg=f"{name} {which}")
        ends = np.array([-np.inf, np.inf])  # selu: the catalogue rounds its two constants' product once
        np.testing.assert_allclose(getattr(b, which)(ends), getattr(cat, which)(ends), rtol=3e-16, atol=0,
                                   err_msg=f"{name} {which}")
    if name != "log1mexp":  # its kink is the end of its domain, x = 0, where f is -inf
        assert sorted(b.kinks) == pytest.approx(sorted(cat.kinks))
    assert act.monotonic == cat.definition.monotonic
    assert act.zero_centred == cat.definition.zero_centred
    assert b.range == pytest.approx(cat.range, rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_closed_forms_are_the_mpmath_references(name):
    cat = actlab.get(name)
    ref = mp_reference(define(CLOSED_FORMS[name], **cat.params), mp)
    params = {k: mpf(v) for k, v in cat.params.items()}
    kinks = set(cat.kinks)
    with mp.workdps(40):
        for x in (-7.5, -2.25, -0.5, 0.3, 1.5, 4.0, 30.0):
            if name == "log1mexp" and x <= 0:
                continue
            for which in ("f", "df") if x not in kinks else ("f",):
                a = getattr(ref, which)(mpf(x), **params)
                r = getattr(reference.REFERENCES[name], which)(mpf(x), **params)
                assert abs(a - r) <= mpf(10) ** -35 * (1 + abs(r)), (name, which, x)


# ---- kinks and their conventions --------------------------------------------------------------------


def test_kinks_follow_the_catalogue_inside_and_the_left_derivative_for_the_users_own():
    assert resolve("0.5 * relu(x) + 0.5 * tanh(x)").kinks == {0.0: 0.5}  # relu'(0) = 0, the catalogue's
    assert resolve("relu(x - 1) + relu(x)").kinks == {0.0: 0.0, 1.0: 1.0}
    for text in ("where(x >= 0, x, 0.1 * x)", "where(x > 0, x, 0.1 * x)", "where(x < 0, 0.1 * x, x)",
                 "max(x, 0.1 * x)"):
        b = resolve(text)
        assert b.kinks == {0.0: pytest.approx(0.1)}, text
        assert b.df(0.0) == pytest.approx(0.1) and b.d2f(0.0) == 0.0
    assert resolve("abs(x)").kinks == {0.0: -1.0}
    assert resolve("where(x > 0, x**2, sin(x))").kinks == {0.0: 1.0}  # left derivative cos(0)
    step = resolve("where(x > 1, 1, 0) * x")
    assert step.definition.smoothness == "discontinuous" and set(step.kinks) == {1.0}


def test_smoothness_is_measured():
    assert resolve("where(x > 0, x, exp(x) - 1)").definition.smoothness == "C1"  # elu, alpha = 1
    assert resolve("relu(x) ** 2").definition.smoothness == "C1"
    assert resolve("abs(x) ** 3").definition.smoothness == "C2"
    assert resolve("x * tanh(softplus(x))").definition.smoothness == "Cinf"
    assert resolve("max(x, 0)").definition.smoothness == "C0"


# ---- metadata ----------------------------------------------------------------------------------------


def test_metadata_is_computed():
    b = resolve("x * tanh(log(1 + exp(x)))")
    d = b.definition
    assert (d.monotonic, d.zero_centred, d.domain) == (False, False, (-math.inf, math.inf))
    assert b.range == pytest.approx(actlab.get("mish").range, rel=1e-9)
    assert resolve("tanh(x) + x**3").definition.zero_centred
    assert resolve("atan(x) / pi + 0.5").definition.monotonic
    log = resolve("log(x)")
    assert log.definition.domain == (0.0, math.inf) and log.range == (-math.inf, math.inf)
    assert np.isnan(log(-1.0)) and np.isnan(log.df(-1.0))
    doc = b.definition.doc
    assert "mish(x)" in doc and "f'(x)" in doc and "Limits" in doc


def test_gain_is_derived_like_the_registrys(named):
    define("x * sigmoid(x)", name="silu_formula_test")
    named.append("silu_formula_test")
    b = actlab.get("silu_formula_test")
    assert b.gain_source == "derived"
    assert b.gain == pytest.approx(actlab.get("silu").gain, rel=1e-9)


# ---- the numerics contract -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["x * sigmoid(x)", "where(x > 0, x, 0.01 * x) + sin(x) / 10", "log(1 + exp(x))"])
def test_numerics_contract(text):
    b = resolve(text)
    specials = np.array([-np.inf, -1e308, -1e4, -0.0, 0.0, 1e-310, 1e4, 1e308, np.inf, np.nan])
    for dtype in (np.float16, np.float32, np.float64):
        with np.errstate(over="ignore"):  # 1e308 is inf in float32
            x = specials.astype(dtype) if dtype != np.float16 else np.array([-np.inf, -2.0, 0.0, 3.0, np.inf,
                                                                             np.nan], dtype)
        for fn in (b.f, b.df, b.d2f):
            y = fn(x)  # no RuntimeWarning: warnings are errors here
            assert y.dtype == dtype and y.shape == x.shape and np.isnan(y[-1])
            out = np.empty_like(x)
            assert fn(x, out=out) is out
            np.testing.assert_array_equal(out, y)
    assert b(np.array([1, 2])).dtype == np.float64 and np.ndim(b(1.0)) == 0


def test_float32_is_computed_in_float64_and_rounded_once():
    b = resolve("x * sigmoid(1.702 * x)")
    x = np.linspace(-60, 10, 701).astype(np.float32)
    np.testing.assert_array_equal(b(x), b(x.astype(np.float64)).astype(np.float32))


def test_the_reference_gives_the_limits_at_infinity():
    b = resolve("x * tanh(log(1 + exp(x)))")
    ref = mp_reference(b, mp)
    with mp.workdps(50):
        # the value at 10^400 if it rounds like the one at 10^401 (actlab.verify.reference's rule)
        assert reference._at(ref.f, -np.inf, {}) == 0 and float(reference._at(ref.f, np.inf, {})) == np.inf
        assert reference._at(ref.df, np.inf, {}) == 1


# ---- the time limit and the process boundary ----------------------------------------------------------------


def test_a_formula_over_the_time_limit_is_refused_and_the_next_one_works():
    slow = "(1+exp(x)+exp(2*x)+exp(3*x)+exp(5*x)+exp(7*x))/(2+exp(11*x)+exp(13*x)+exp(17*x)+exp(19*x)+exp(23*x))"
    with pytest.raises(TimeLimitError, match="time limit of 0.05 s"):
        define(slow, time_limit=0.05)
    assert define("x * sigmoid(x)").analysis["rewritten"] == "silu(x, beta=1)"


def test_importing_the_formula_room_loads_neither_sympy_nor_mpmath():
    code = ("import sys, actlab.formula; bad = [m for m in ('sympy', 'mpmath') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ---- training ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_formula_activation_trains_and_passes_the_gradient_check(named, dtype):
    define("x * sigmoid(b * x) + 0.1 * where(x > 1, x - 1, 0)", name="formula_act_test", b=1.0)
    named.append("formula_act_test")
    model = nn.mlp("4-16-3", activation="formula_act_test(b=1.5)", seed=0, dtype=dtype)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(96, 4)).astype(dtype)
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
    loss = nn.SoftmaxCrossEntropy()
    first = loss.forward(model.forward(X, train=True), y)
    opt = nn.SGD(model.parameters(), lr=0.2, momentum=0.9)
    for _ in range(60):
        value = loss.forward(model.forward(X, train=True), y)
        model.backward(loss.backward())
        opt.step()
    assert value < 0.7 * first
    assert model.forward(X).dtype == dtype
    assert nn.gradcheck(model, X[:16], y[:16]) < 1e-6
