"""The smooth family beyond the catalogue contract: non-default parameters against mpmath,
values and autograd derivatives against PyTorch, and the documented edge conventions."""

import numpy as np
import pytest

import actlab
from actlab.verify import accuracy, reference

from .conftest import FLOATS

torch = pytest.importorskip("torch")

# Parameter values the catalogue test (defaults only) does not reach.
PARAMS = [("softplus", {"beta": 2.5}), ("softplus", {"beta": 0.3}), ("elu", {"alpha": 0.5}),
          ("celu", {"alpha": 2.0}), ("celu", {"alpha": 0.25}), ("squareplus", {"b": 1.0})]


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name,params", PARAMS, ids=[f"{n}-{p}" for n, p in PARAMS])
def test_non_default_parameters_against_mpmath(name, params, dtype):
    act = actlab.get(name, **params)
    for which in ("f", "df", "d2f"):
        x = accuracy.grid(dtype, act)
        if which != "f":
            x = x[~np.isin(x, np.array(list(act.kinks), dtype=dtype))]
        err = accuracy.ulp_errors(getattr(act, which)(x), reference.evaluate(name, which, x, act.params), dtype)
        worst = int(np.argmax(err))
        assert err[worst] <= act.definition.ulp[which], (act.spec, which, x[worst], err[worst])


def _torch_fns():
    F = torch.nn.functional
    return {
        "sigmoid": ({}, torch.sigmoid),
        "log_sigmoid": ({}, F.logsigmoid),
        "tanh": ({}, torch.tanh),
        "tanh_shrink": ({}, F.tanhshrink),
        "softsign": ({}, F.softsign),
        "softplus": ({"beta": 2.0}, lambda t: F.softplus(t, beta=2.0, threshold=1e9)),
        "elu": ({"alpha": 0.5}, lambda t: F.elu(t, alpha=0.5)),
        "selu": ({}, torch.selu),
        "celu": ({"alpha": 0.5}, lambda t: F.celu(t, alpha=0.5)),
        "exponential": ({}, torch.exp),
        "sinusoid": ({}, torch.sin),
        "arctan": ({}, torch.atan),
    }


@pytest.mark.parametrize("name", list(_torch_fns()))
def test_values_and_derivatives_match_torch(name):
    """f, f' and f'' against torch's forward, autograd and double backward (float64),
    including x = 0 where the ELUs' derivative conventions are torch's. The tolerance on
    derivatives is loose on purpose: torch's backward uses σ(1 - σ) and 1 - tanh^2, which
    lose relative accuracy in the tails (mpmath is the accuracy reference); this test is
    about formulas and conventions, where an error is a factor, not an ulp."""
    params, fn = _torch_fns()[name]
    act = actlab.get(name, **params)
    x = np.concatenate([np.linspace(-12.0, 12.0, 481), [0.0, -30.0, 30.0]])
    t = torch.tensor(x, requires_grad=True)
    y = fn(t)
    (g,) = torch.autograd.grad(y.sum(), t, create_graph=True)
    (g2,) = torch.autograd.grad(g.sum(), t)
    np.testing.assert_allclose(act.f(x), y.detach().numpy(), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(act.df(x), g.detach().numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(act.d2f(x), g2.numpy(), rtol=1e-7, atol=1e-9)


def test_torch_softplus_threshold_is_inexact_and_actlab_is_not():
    x = np.array([20.5, 30.0])
    torch_y = torch.nn.functional.softplus(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(torch_y, x)  # torch returns x beyond threshold 20
    exact = reference.to_float(reference.evaluate("softplus", "f", x, {"beta": 1.0}), np.float64)
    np.testing.assert_array_equal(actlab.get("softplus")(x), exact)
    assert actlab.get("softplus")(20.5) != 20.5


def test_log1mexp_domain_conventions():
    act = actlab.get("log1mexp")
    x = np.array([-np.inf, -3.0, -1e-300, -0.0, 0.0, np.inf, np.nan])
    with np.errstate(all="raise", under="ignore"):
        y, d, d2 = act.f(x), act.df(x), act.d2f(x)
    assert np.isnan(y[:3]).all() and np.isnan(d[:3]).all() and np.isnan(d2[:3]).all()
    assert (y[3:5] == -np.inf).all() and (d[3:5] == np.inf).all() and (d2[3:5] == -np.inf).all()
    assert y[5] == 0.0 and d[5] == 0.0 and d2[5] == 0.0
    assert np.isnan(y[6]) and np.isnan(d[6]) and np.isnan(d2[6])


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_tails_that_the_naive_formulas_lose(dtype):
    """Spot values the tutorial formulas get wrong, against mpmath."""
    cases = [("sigmoid", "f", -100.0 if dtype == np.float32 else -740.0),
             ("sigmoid", "df", 100.0 if dtype == np.float32 else 740.0),
             ("tanh", "df", 40.0 if dtype == np.float32 else 300.0),
             ("softplus", "f", -100.0 if dtype == np.float32 else -740.0),
             ("log1mexp", "f", 100.0 if dtype == np.float32 else 740.0),
             ("squareplus", "f", -1e30 if dtype == np.float32 else -1e300),
             ("gaussian", "f", 9.5 if dtype == np.float32 else 27.0),
             ("gaussian", "df", 9.5 if dtype == np.float32 else 27.0),
             ("tanh_shrink", "f", 1e-10 if dtype == np.float32 else 1e-100)]
    for name, which, v in cases:
        act = actlab.get(name)
        x = np.array([v], dtype=dtype)
        exact = reference.evaluate(name, which, x, act.params)
        got = getattr(act, which)(x)
        assert got[0] != 0 and accuracy.ulp_errors(got, exact, dtype)[0] <= 4, (name, which, v, got)
