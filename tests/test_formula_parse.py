"""The formula parser: the language, the refusals (one line each, with position, token and
a close match) and a property test that nothing a user types is ever executed."""

from __future__ import annotations

import builtins
import contextlib
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actlab.errors import ActlabError, UnknownNameError
from actlab.formula import FormulaError, define, parse_formula, resolve
from actlab.formula.parse import MAX_CHARS, MAX_DEPTH, MAX_NODES


def refused(text: str, *, allow_params: bool = True) -> FormulaError:
    with pytest.raises(FormulaError) as info:
        parse_formula(text, allow_params=allow_params)
    msg = str(info.value)
    assert "\n" not in msg  # one line
    assert len(msg) < 2000
    return info.value


# ---- the language ---------------------------------------------------------------------------


def test_numbers_are_read_exactly_as_written():
    assert parse_formula("0.1 * x").tree == ("mul", (("num", 1, 10), ("x",)))
    assert parse_formula("x * 1e-3").tree == ("mul", (("x",), ("num", 1, 1000)))
    assert parse_formula("2.5e2 + x").tree[1][0] == ("num", 250, 1)


def test_every_construct_of_the_language_parses():
    f = parse_formula("where(0 < x <= 1 and not x == 0.5 or x > 3, abs(x) ** 2, min(x, -x, 1) + max(x, pi)) "
                      "+ exp(x) + log1p(e * x) + expm1(x) + sqrt(x) + sin(x) + cos(x) + tan(x) + sinh(x) + cosh(x) "
                      "+ tanh(x) + asinh(x) + atan(x) + erf(x) + erfc(x) + log(x) - x / 2")
    assert f.params == () and f.calls == ()
    g = parse_formula("0.5 * relu(x) + 0.5 * tanh(x) + elu(x, alpha=a) + swish(x, beta=2 * a)")
    assert g.params == ("a",) and g.calls == ("relu", "elu", "silu")


def test_catalogue_parameters_are_by_name_and_free_of_x():
    assert parse_formula("elu(x, alpha=0.5)").tree == ("cat", "elu", 0, ("x",), (("alpha", ("num", 1, 2)),))
    err = refused("elu(x, alpha=x)")
    assert "must not depend on x" in str(err) and err.position == 13


# ---- the hostile forms of the issue, each with its message ----------------------------------

HOSTILE = [
    # (formula, words in the message, 1-based position, token)
    ("x.real", "attribute access is not allowed", 1, "x.real"),
    ("x + x.__class__", "attribute access is not allowed", 5, "x.__class__"),
    ("x[0]", "subscripts are not allowed", 1, "x[0]"),
    ("lambda: x", "lambda is not allowed", 1, "lambda: x"),
    ("x + [t for t in (1, 2)][0]", "subscripts are not allowed", 5, None),
    ("sum(t for t in (x,))", "unknown function 'sum'", 1, "sum"),
    ("x * max([x for x in (1,)])", "comprehensions are not allowed", 9, None),
    ("x + 'a'", "strings are not allowed", 5, "'a'"),
    ("x + f'{x}'", "strings are not allowed", 5, None),
    ("__import__('os').system('true')", "attribute access is not allowed", 1, None),
    ("x * sigmoud(x)", "unknown function 'sigmoud'. Did you mean 'sigmoid'?", 5, "sigmoud"),
    ("exp(x, base=2)", "exp takes no keyword arguments", 13, "2"),
    ("elu(x, beta=1)", "elu takes no parameter 'beta'", 13, "1"),
    ("leaky_relu(x, slop=0.1)", "Did you mean 'slope'?", 20, "0.1"),
    ("sigmoid(2)", "does not contain the variable x", None, None),
    ("x ** 10 ** 10", "exponent is too large", 6, "10 ** 10"),
    ("2 ** 1e9 * x", "exponent is too large", 6, "1e9"),
    ("x if x > 0 else 0", "write where(c, a, b)", 1, None),
    ("(y := x)", "assignment (:=) is not allowed", 2, None),
    ("x ^ 2", "write ** for a power", 1, None),
    ("x // 2", "the operator", 1, None),
    ("x > 0", "only allowed in the condition of where", 1, None),
    ("softmax(x)", "softmax is a vector function", 1, "softmax"),
    ("x(2)", "x is not a function", 1, "x"),
    ("exp * x", "exp is a function", 1, "exp"),
    ("relu(x, **k)", "'**' arguments are not allowed", 11, "k"),
    ("relu(*x)", "starred arguments are not allowed", 6, "*x"),
    ("where(x, 1, 0)", "must be a comparison", 7, "x"),
    ("x + 1j", "complex numbers are not allowed", 5, "1j"),
    ("x + True", "True is not a number", 5, "True"),
    ("x + 1e999", "too large", 5, "1e999"),
    ("x * exp(1000)", "overflows", 5, "exp(1000)"),
    ("x + 1/0", "divides by zero", 5, "1/0"),
    ("x +* 2", "invalid syntax", 4, "*"),
    ("x + \u00e9", "printable ASCII", 5, "\u00e9"),
    ("x\n+ 1", "one line", 2, "\n"),
    ("(x, x)", "tuples are not allowed", 1, "(x, x)"),
]


@pytest.mark.parametrize(("text", "words", "position", "token"), HOSTILE)
def test_hostile_forms_are_refused_with_position_and_token(text, words, position, token):
    err = refused(text)
    msg = str(err)
    assert words in msg, msg
    if position is not None:
        assert err.position == position - 1, msg
        assert f"at position {position} " in msg
    if token is not None:
        assert err.token == token, msg


def test_unknown_names_get_a_close_match_and_are_unknown_name_errors():
    err = refused("x * sigmoud(x)")
    assert isinstance(err, UnknownNameError) and isinstance(err, ActlabError)
    err = refused("x + sigmoud", allow_params=False)
    assert "Did you mean 'sigmoid'?" in str(err)
    err = refused("x * b", allow_params=False)  # not a typo: a parameter, which needs define()
    assert "actlab.define(formula, name=..., b=default)" in str(err)


def test_size_limits():
    long = "x" + " + x" * 200
    assert len(long) > MAX_CHARS
    assert f"at most {MAX_CHARS} characters" in str(refused(long))
    many = "+".join(["x"] * 120)
    assert len(many) <= MAX_CHARS
    assert f"at most {MAX_NODES} are allowed" in str(refused(many))
    deep = "-" * 40 + "x"
    assert f"at most {MAX_DEPTH} are allowed" in str(refused(deep))
    # a long sum is one level, not forty: chains of + and * do not count as nesting
    assert parse_formula("+".join(["x"] * 60)).tree[0] == "add"
    assert "nested" in str(refused("(" * 210 + "x" + ")" * 210))  # Python's own parser stops at 200


def test_define_checks_names_and_defaults():
    with pytest.raises(ActlabError, match="without a default"):
        define("x * sigmoid(b * x)")
    with pytest.raises(UnknownNameError, match="Did you mean 'b'"):
        define("x * sigmoid(b * x)", b=1.0, bb=2.0)
    with pytest.raises(ActlabError, match="must be a float"):
        define("x * sigmoid(b * x)", b="one")
    with pytest.raises(ActlabError, match="catalogue entry"):
        define("x", name="relu")
    with pytest.raises(ActlabError, match="cannot be a parameter name"):
        parse_formula("x * _b")


def test_resolve_leaves_specs_without_x_to_the_registry():
    assert resolve("elu(alpha=0.5)") is None
    assert resolve("relux") is None
    assert resolve(3) is None
    with pytest.raises(UnknownNameError, match="sigmoid"):
        resolve("x * sigmoud(x)")


# ---- property tests: anything typed is parsed or refused, fast, and never executed -----------

TOKENS = ["x", "y", "b", "1", "0.5", "1e3", "pi", "e", "+", "-", "*", "/", "**", "(", ")", ",", "=", "<", ">",
          "exp", "log", "sigmoid", "relu", "elu", "where", "abs", "max", "tanh", "alpha", ".", "[", "]", "'",
          "lambda", ":", "__import__", "os", "system", "open", "if", "else", "for", "in", "not", "and", " ",
          "\\", "#", "@", "{", "}", "!", "~", "`", "$", "\u00e9", ";", "\n"]


class Executed(Exception):
    pass


@contextlib.contextmanager
def forbid_exec():
    """eval and exec raise while actlab reads a formula (hypothesis itself uses exec, so
    only around actlab's own calls)."""
    def boom(*a, **k):
        raise Executed("eval/exec was called")

    saved = builtins.eval, builtins.exec
    builtins.eval, builtins.exec = boom, boom
    try:
        yield
    finally:
        builtins.eval, builtins.exec = saved


@pytest.fixture
def no_execution(monkeypatch, tmp_path):
    """A fresh working directory: a marker file there shows whether anything ran or wrote."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _check_parse(text: str) -> None:
    start = time.perf_counter()
    try:
        with forbid_exec():
            parse_formula(text)
    except ActlabError:
        pass
    assert time.perf_counter() - start < 0.5


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_random_token_strings_parse_or_are_refused(no_execution, text):
    _check_parse(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=120))
def test_random_text_parses_or_is_refused(no_execution, text):
    _check_parse(text)


PAYLOADS = ["__import__('os').system('touch pwned')", "open('pwned', 'w').write('x')",
            "exec('open(\"pwned\",\"w\")') + x", "x + (lambda: open('pwned', 'w'))()",
            "[open('pwned', 'w') for x in (1,)]", "x.__class__.__bases__[0].__subclasses__()",
            "where(x > 0, x, open('pwned', 'w'))", "breakpoint() + x", "x + globals()['os']"]


@pytest.mark.parametrize("text", PAYLOADS)
def test_code_in_a_formula_never_runs(no_execution, text):
    with pytest.raises(ActlabError), forbid_exec():
        define(text)
    assert not (Path(no_execution) / "pwned").exists()


# random trees of the language: every one builds an entry or is refused, within the limit

ELEMENTARY = ["exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tanh", "atan", "erf", "abs", "sigmoid",
              "softplus", "relu", "elu", "silu", "gelu", "mish", "softsign"]


def _trees() -> st.SearchStrategy[str]:
    leaves = st.one_of(st.just("x"), st.sampled_from(["0", "1", "2", "0.5", "-3", "1e-3", "pi"]))

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(inner, st.sampled_from(["2", "3", "0.5", "-1"])).map(lambda t: f"({t[0]}) ** {t[1]}"),
            st.tuples(st.sampled_from(ELEMENTARY), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"max({t[0]}, {t[1]})"),
            st.tuples(inner, st.sampled_from(["<", ">=", ">"]), inner, inner).map(
                lambda t: f"where({t[0]} {t[1]} 0, {t[2]}, {t[3]})"),
        )

    return st.recursive(leaves, grow, max_leaves=6).map(lambda s: f"x + {s}" if "x" not in s else s)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(_trees())
def test_random_trees_build_an_entry_or_are_refused(no_execution, text):
    import numpy as np

    start = time.perf_counter()
    try:
        with forbid_exec():
            act = define(text, time_limit=1.0)
    except ActlabError:
        act = None
    assert time.perf_counter() - start < 8.0  # the limit, the worker's round trip and the metadata
    if act is not None:
        b = act.bind()
        x = np.array([-np.inf, -1e300, -3.0, -0.0, 0.5, 1e30, np.inf, np.nan])
        for fn in (b.f, b.df, b.d2f):
            y = fn(x)  # no RuntimeWarning (warnings are errors), NaN in gives NaN out
            assert y.dtype == np.float64 and np.isnan(y[-1])
