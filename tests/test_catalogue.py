"""The numerics contract of every registry entry, parametrised over the registry.

References are computed here with mpmath (actlab.verify.reference), never pasted; derivatives
are also checked against central differences of f, and the mpmath derivatives against
mpmath's own numerical differentiation.
"""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import actlab
from actlab.catalogue.registry import REGISTRY
from actlab.errors import InvalidParameterError, UnknownNameError
from actlab.verify import accuracy, reference

from .conftest import ELEMENTWISE, FLOATS, VECTOR


def derivs(name):
    a = REGISTRY[name]
    return ["f", "df"] + (["d2f"] if a.d2f_kernel is not None else [])


CASES = [(n, w) for n in ELEMENTWISE for w in derivs(n)]


def test_every_entry_has_a_reference():
    assert set(REGISTRY) <= set(reference.REFERENCES), set(REGISTRY) - set(reference.REFERENCES)


def test_registry_holds_the_required_catalogue():
    required = """identity step sigmoid hard_sigmoid log_sigmoid tanh hard_tanh relu relu6 leaky_relu
    prelu rrelu threshold thresholded_relu elu selu celu gelu gelu_tanh silu hard_silu mish softplus
    softsign tanh_shrink hard_shrink soft_shrink squareplus sparse_plus sparse_sigmoid exponential
    log1mexp arctan bent_identity sinusoid gaussian softmax log_softmax softmin glu sparsemax""".split()
    missing = [n for n in required if n not in REGISTRY]
    assert not missing, missing
    for alias, target in {"swish": "silu", "linear": "identity", "heaviside": "step"}.items():
        assert actlab.lookup(alias) is REGISTRY[target]


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name,which", CASES)
def test_accuracy_against_mpmath(name, which, dtype):
    act = actlab.get(name)
    x = accuracy.grid(dtype, act)
    # at a kink the derivative is a convention, checked in test_kink_conventions
    at_kink = np.isin(x, np.array(list(act.kinks), dtype=dtype)) if which != "f" else np.zeros(x.shape, bool)
    x = x[~at_kink]
    exact = reference.evaluate(name, which, x, act.params)
    got = getattr(act, which)(x)
    err = accuracy.ulp_errors(got, exact, dtype)
    worst = int(np.argmax(err))
    bound = act.definition.ulp[which]
    assert err[worst] <= bound, (
        f"{name}.{which} {dtype.__name__}: {err[worst]:.3g} ulp at x={x[worst]!r} "
        f"(got {got[worst]!r}, exact {reference.to_float([exact[worst]], np.float64)[0]!r})"
    )


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_reference_derivatives_agree_with_mpmath_diff(name):
    """The mpmath derivatives are themselves checked against numerical differentiation."""
    act = actlab.get(name)
    ref = reference.REFERENCES[name]
    params = {k: mpmath.mpf(v) for k, v in act.params.items()}
    kinks = list(act.kinks)
    lo, hi = act.definition.domain
    with mpmath.mp.workdps(40):
        for x in (-7.3, -2.1, -0.6, -0.05, 0.07, 0.4, 1.3, 3.7, 9.1):
            if any(abs(x - k) < 1e-3 for k in kinks) or not lo < x < hi:
                continue
            d = mpmath.diff(lambda t: ref.f(t, **params), mpmath.mpf(x))
            assert abs(ref.df(mpmath.mpf(x), **params) - d) <= 1e-25 * (1 + abs(d)), (name, x)
            if ref.d2f is not None:
                d2 = mpmath.diff(lambda t: ref.f(t, **params), mpmath.mpf(x), 2)
                assert abs(ref.d2f(mpmath.mpf(x), **params) - d2) <= 1e-20 * (1 + abs(d2)), (name, x)


def _away_from_kinks(act, x):
    kinks = np.array(list(act.kinks) or [np.inf])
    return x[np.min(np.abs(x[:, None] - kinks[None, :]), axis=1) > 1e-3]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivatives_match_central_differences(name):
    act = actlab.get(name)
    lo, hi = act.definition.domain
    x = _away_from_kinks(act, np.clip(np.linspace(-6.0, 6.0, 241) + 1e-4, lo + 1e-3, hi - 1e-3))
    h = 1e-6
    fd = (act.f(x + h) - act.f(x - h)) / (2 * h)
    np.testing.assert_allclose(act.df(x), fd, rtol=1e-6, atol=1e-7)
    if act.has_d2f:
        fd2 = (act.df(x + h) - act.df(x - h)) / (2 * h)
        np.testing.assert_allclose(act.d2f(x), fd2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_kink_conventions(name):
    act = actlab.get(name)
    for k, slope in act.kinks.items():
        for dtype in FLOATS:
            got = act.df(np.array([k], dtype=dtype))[0]
            assert got == dtype(slope), (name, k, got, slope)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_nan_propagates_and_no_warning_at_specials(name):
    act = actlab.get(name)
    for dtype in FLOATS:
        x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30], dtype=dtype)
        for which in derivs(name):
            y = getattr(act, which)(x)
            assert np.isnan(y[0]), (name, which)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64, np.int8, np.bool_], ids=str)
@pytest.mark.parametrize("name", ELEMENTWISE + VECTOR)
def test_dtype_shape_and_no_mutation(name, dtype):
    act = actlab.get(name)
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(3, 4)) * 3).astype(dtype)
    if REGISTRY[name].family == "log1mexp" or name == "log1mexp":
        x = np.abs(x) + (0 if dtype == np.bool_ else 0.5)
        x = x.astype(dtype)
    before = x.copy()
    expected = np.float64 if np.dtype(dtype).kind in "biu" else dtype
    y = act.f(x)
    # a vector entry may change the shape along its axis (glu halves it); the VJP has x's shape
    outs = [y] + ([act.df(x)] if not act.definition.vector else [act.vjp(x, np.ones(y.shape))])
    shapes = [x.shape if act.definition.out_shape is None else act.definition.out_shape(x.shape), x.shape]
    for y, shape in zip(outs, shapes):
        assert y.dtype == expected and y.shape == shape, (y.dtype, y.shape)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_out_argument(name):
    act = actlab.get(name)
    x = np.linspace(-3, 3, 13)
    for which in derivs(name):
        out = np.empty_like(x)
        res = getattr(act, which)(x, out=out)
        assert res is out
        np.testing.assert_array_equal(out, getattr(act, which)(x))
    with pytest.raises(actlab.ActlabError, match="'out'"):
        act.f(x, out=np.empty(3))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_scalars_give_scalars(name):
    act = actlab.get(name)
    y = act.f(0.5)
    assert np.ndim(y) == 0 and isinstance(y, np.floating)


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, width=64)


@pytest.mark.parametrize("name", ELEMENTWISE)
@settings(max_examples=60, deadline=None)
@given(xs=st.lists(finite, min_size=2, max_size=20))
def test_claimed_properties(name, xs):
    act = actlab.get(name)
    x = np.sort(np.array(xs))
    d_lo, d_hi = act.definition.domain
    x = x[(x >= d_lo) & (x <= d_hi)]
    y = act.f(x)
    lo, hi = act.range
    assert np.all((y >= lo) & (y <= hi)), (name, x, y)
    if act.definition.monotonic:
        assert np.all(y[1:] >= y[:-1]), (name, x, y)  # not np.diff: inf - inf is NaN
    if act.definition.zero_centred:
        np.testing.assert_allclose(act.f(-x), -y, rtol=1e-15, atol=0)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_non_monotonic_and_non_odd_claims_are_true(name):
    """A False claim must be true too: find a witness on a grid."""
    act = actlab.get(name)
    x = np.linspace(-8, 8, 16001)
    y = act.f(x)
    if not act.definition.monotonic:
        assert np.any(np.diff(y) < 0), name
    if not act.definition.zero_centred:
        assert not np.allclose(act.f(-x), -y, rtol=1e-12, atol=1e-300), name


@pytest.mark.parametrize("name", [n for n in REGISTRY if REGISTRY[n].params])
def test_every_parameter_is_validated(name):
    entry = REGISTRY[name]
    for p in entry.params:
        bad = [math.nan, math.inf, "x"]
        if p.low > -math.inf:
            bad.append(p.low - 1.0)
        if p.high < math.inf:
            bad.append(p.high + 1.0)
        for value in bad:
            with pytest.raises(InvalidParameterError) as err:
                entry.bind(**{p.name: value})
            msg = str(err.value)
            assert f"'{p.name}' parameter of {name}" in msg and repr(value) in msg, msg
        entry.bind(**{p.name: p.default})
    with pytest.raises(UnknownNameError, match="Did you mean"):
        entry.bind(**{entry.params[0].name + "x": 1.0})


def test_spec_strings_and_misspellings():
    assert actlab.get("leaky_relu(slope=0.1)").params == {"slope": 0.1}
    assert actlab.get("elu", alpha=0.5).spec == "elu(alpha=0.5)"
    with pytest.raises(UnknownNameError, match="Did you mean 'sigmoid'"):
        actlab.get("sigmod")
    with pytest.raises(actlab.ActlabError, match="Cannot read activation spec"):
        actlab.get("relu(")
    for name in REGISTRY:
        b = actlab.get(name)
        assert actlab.get(b.spec).params == b.params


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_metadata_is_complete(name):
    act = actlab.get(name)
    d = act.definition
    assert d.formula and d.doc.strip() and ">>>" in d.doc, f"{name}: docstring with formula and doctest"
    assert d.smoothness in ("discontinuous", "C0", "C1", "C2", "Cinf")
    assert (d.smoothness in ("C2", "Cinf")) <= act.has_d2f, f"{name} is smooth: it needs d2f"
    g = act.gain
    assert g is not None and 0 < g < 10


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", VECTOR)
def test_vector_accuracy(name, dtype):
    act = actlab.get(name)
    bound = act.definition.ulp
    for row in accuracy.vector_rows(dtype):
        if name == "glu" and row.size % 2:
            row = row[:-1]
        exact = reference.evaluate_rows(name, "f", row[None, :], act.params)[0]
        err = accuracy.ulp_errors(act.f(row), exact, dtype)
        assert err.max() <= bound["f"], (name, row.size, err.max())
        if row.size <= 100:
            jac = reference.evaluate_rows(name, "jacobian", row[None, :], act.params)[0]
            flat = [v for r in jac for v in r]
            err = accuracy.ulp_errors(act.jacobian(row).ravel(), flat, dtype)
            assert err.max() <= bound["df"], (name, row.size, err.max())


@pytest.mark.parametrize("name", VECTOR)
def test_vector_vjp_axis_and_jacobian_agree(name):
    act = actlab.get(name)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 3, 6))  # even lengths along axes 0 and -1 (glu halves its axis)
    v = rng.normal(size=act.f(x).shape)
    jac = act.jacobian(x)  # (4, 3, m, 6)
    np.testing.assert_allclose(act.vjp(x, v), np.einsum("abi,abij->abj", v, jac), rtol=1e-12, atol=1e-14)
    # any axis: the same as moving that axis last
    y0 = act.f(x, axis=0)
    np.testing.assert_allclose(y0, np.moveaxis(act.f(np.moveaxis(x, 0, -1)), -1, 0), rtol=0, atol=0)
    v0 = rng.normal(size=y0.shape)
    np.testing.assert_allclose(
        act.vjp(x, v0, axis=0), np.moveaxis(act.vjp(np.moveaxis(x, 0, -1), np.moveaxis(v0, 0, -1)), -1, 0),
        rtol=1e-14, atol=1e-15,
    )
    # central differences of f against the Jacobian, float64
    row = rng.normal(size=6)
    h = 1e-6
    num = np.stack([(act.f(row + h * e) - act.f(row - h * e)) / (2 * h) for e in np.eye(6)], axis=-1)
    np.testing.assert_allclose(act.jacobian(row), num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_cache_blocked_evaluation_is_bit_identical(name):
    """Large arrays are evaluated in cache-sized blocks: the result must not change."""
    act = actlab.get(name)
    x = np.random.default_rng(2).normal(0, 5, 600_001)
    x[::997], x[1::997], x[2::997] = np.nan, np.inf, -np.inf
    for which in derivs(name):
        fn = getattr(act, which)
        whole = fn(x)
        pieces = np.concatenate([fn(x[i : i + 4096]) for i in range(0, x.size, 4096)])
        np.testing.assert_array_equal(whole, pieces)


# torch.nn.functional's spelling of each function it shares with the catalogue, the entry
# it must resolve to, and how to call it along the last axis (None: F.<name>(t) itself).
# Spellings that differ from the registry's names are aliases in the entries' decorators.
TORCH_FUNCTIONAL = [
    ("hardswish", "hard_silu", None), ("hardsigmoid", "hard_sigmoid", None), ("hardtanh", "hard_tanh", None),
    ("logsigmoid", "log_sigmoid", None), ("softshrink", "soft_shrink", None), ("hardshrink", "hard_shrink", None),
    ("tanhshrink", "tanh_shrink", None), ("relu", "relu", None), ("relu6", "relu6", None), ("elu", "elu", None),
    ("selu", "selu", None), ("celu", "celu", None), ("gelu", "gelu", None), ("silu", "silu", None),
    ("mish", "mish", None), ("softplus", "softplus", None), ("softsign", "softsign", None),
    ("leaky_relu", "leaky_relu", None), ("rrelu", "rrelu", None), ("sigmoid", "sigmoid", None),
    ("tanh", "tanh", None), ("glu", "glu", None),
    ("softmax", "softmax", {"dim": -1}), ("softmin", "softmin", {"dim": -1}),
    ("log_softmax", "log_softmax", {"dim": -1}),
]


@pytest.mark.parametrize("torch_name, entry, kwargs", TORCH_FUNCTIONAL, ids=[t[0] for t in TORCH_FUNCTIONAL])
def test_torch_functional_names_resolve_to_the_same_function(torch_name, entry, kwargs):
    torch = pytest.importorskip("torch")
    found = actlab.lookup(torch_name)
    assert found is REGISTRY[entry]
    x = np.array([[-7.0, -3.0, -1.0, -0.6, -0.25, 0.0], [0.3, 0.5, 0.9, 1.5, 3.0, 12.0]])  # both sides of every kink
    theirs = getattr(torch.nn.functional, torch_name)(torch.from_numpy(x), **(kwargs or {})).numpy()
    np.testing.assert_allclose(found.bind()(x), theirs, rtol=1e-12, atol=1e-15)


def test_other_libraries_names_resolve():
    from scipy import special

    x = np.array([-800.0, -3.0, 0.0, 2.0, 40.0])
    for name, fn in {"expit": special.expit, "log_expit": special.log_expit}.items():
        np.testing.assert_allclose(actlab.get(name)(x), fn(x), rtol=1e-14)
    # jax.nn's spellings (JAX is not installed here: the definitions are the same as the entries')
    for alias, target in {"soft_sign": "softsign", "hard_swish": "hard_silu", "swish": "silu"}.items():
        assert actlab.lookup(alias) is REGISTRY[target]


def test_every_docstring_is_handed_to_doctest():
    """The decorator puts each entry's docstring into its module's __test__ (doctest does not
    look inside the Activation objects that replace the classes)."""
    from actlab.catalogue import gated, piecewise, smooth, vector

    collected = {}
    for module in (gated, piecewise, smooth, vector):
        for name, doc in module.__test__.items():
            assert getattr(module, name) is REGISTRY[name] and doc is REGISTRY[name].doc
            collected[name] = doc
    assert set(collected) == set(REGISTRY)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_an_empty_input_gives_an_empty_result(name):
    act = actlab.get(name)
    for dtype in (np.float16, np.float32, np.float64):
        for shape in ((0,), (3, 0)):
            for which in derivs(name):
                y = getattr(act, which)(np.zeros(shape, dtype))
                assert y.shape == shape and y.dtype == dtype, (which, y.shape, y.dtype)
