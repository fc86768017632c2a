"""The gated family beyond the catalogue contract: its stored constants and fitted
polynomials against mpmath, dense accuracy where the grid is sparse (around the zeros of
the derivatives, the left tails, every float32 next to the zero of gelu'), the fast float32
GELU kernel, silu's beta, and the peers (PyTorch) where they agree and where they do not.
"""

import math

import mpmath
import numpy as np
import pytest
from mpmath import mp, mpf

import actlab
from actlab.catalogue import gated
from actlab.verify import accuracy, reference


def dd(value):
    """A double-double (hi, lo) as one mpf."""
    return mpf(value[0]) + mpf(value[1])


def ulp_max(name, which, x, dtype, **params):
    act = actlab.get(name, **params)
    exact = reference.evaluate(name, which, x, act.params)
    return accuracy.ulp_errors(getattr(act, which)(x), exact, dtype).max()


# ---- constants --------------------------------------------------------------------------


def test_stored_zeros_are_the_zeros_of_the_references():
    with mp.workdps(40):
        for name, which, zero in [
            ("gelu", "df", gated._GELU_ZERO),
            ("gelu_tanh", "df", gated._TANH_ZERO),
            ("silu", "df", gated._SILU_ZERO),
            ("mish", "df", gated._MISH_ZERO),
            ("silu", "d2f", gated._SILU_D2_ZERO),
            ("gelu_tanh", "d2f", gated._TANH_D2_ZERO),
        ]:
            fn = getattr(reference.REFERENCES[name], which)
            root = mpmath.findroot(fn, mpf(zero[0]))
            assert abs(dd(zero) - root) < mpf(10) ** -30, (name, which)
        assert abs(mpf(gated._SILU_W) - mpmath.exp(dd(gated._SILU_ZERO))) < 1e-16
        assert abs(mpf(gated._MISH_EXP_ZERO) - mpmath.exp(dd(gated._MISH_ZERO))) < 1e-16
        c1 = 2 * mpmath.sqrt(2 / mpmath.pi)
        assert abs(dd(gated._TANH_C1) - c1) < mpf(10) ** -31
        assert abs(dd(gated._TANH_C3) - c1 * mpf("0.044715")) < mpf(10) ** -32


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu", "mish"])
def test_range_lower_bound_is_the_minimum(name):
    act = actlab.get(name)
    zero = {"gelu": gated._GELU_ZERO, "gelu_tanh": gated._TANH_ZERO, "silu": gated._SILU_ZERO,
            "mish": gated._MISH_ZERO}[name]
    with mp.workdps(40):
        minimum = reference.REFERENCES[name].f(dd(zero))
    lo = act.range[0]
    assert lo <= minimum and minimum - lo < 1e-16  # the minimum, rounded down
    x = zero[0] + np.linspace(-1e-3, 1e-3, 2001)
    assert act.f(x).min() >= lo


def test_silu_range_follows_beta():
    for beta in (0.25, 1.0, 3.0):
        act = actlab.get("silu", beta=beta)
        x = np.linspace(-10 / beta, 0, 200001)
        y = act.f(x)
        assert y.min() >= act.range[0] and y.min() - act.range[0] < 1e-9 / beta


# ---- fitted polynomials -----------------------------------------------------------------


def test_gelu_tail_polynomials_against_mpmath():
    rng = np.random.default_rng(0)
    for j, coefs in enumerate(gated._GELU_T):
        u = rng.uniform(2.0**j, 2.0 ** (j + 1), 40)
        got = gated._horner(coefs, (u - 1.5 * 2.0**j) * 2.0 ** (1 - j))
        with mp.workdps(40):
            exact = [mpf(v) * mpmath.ncdf(-mpf(v)) / mpmath.npdf(mpf(v)) / mpmath.sqrt(2 * mpmath.pi) for v in u]
        assert accuracy.ulp_errors(got, exact, np.float64).max() <= 1.5, j


def test_gelu_derivative_polynomial_against_mpmath():
    u = np.linspace(0.35, 1.15, 81)
    got = gated._horner(gated._GELU_Q, (u - gated._GELU_Q_CENTRE) / gated._GELU_Q_HALF)
    with mp.workdps(40):
        u0 = -dd(gated._GELU_ZERO)
        exact = []
        for v in u:
            v = mpf(v)
            mills = mpmath.ncdf(-v) / mpmath.npdf(v)
            exact.append((mills - v) / (v - u0))
    assert accuracy.ulp_errors(got, exact, np.float64).max() <= 1.5


# ---- dense accuracy ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
@pytest.mark.parametrize(
    "name,zero",
    [("gelu", gated._GELU_ZERO), ("gelu_tanh", gated._TANH_ZERO), ("silu", gated._SILU_ZERO),
     ("mish", gated._MISH_ZERO)],
)
def test_derivative_keeps_relative_accuracy_next_to_its_zero(name, zero, dtype):
    z = dtype(zero[0])
    steps = np.concatenate([np.arange(-40, 41), np.geomspace(50, 1e7, 30), -np.geomspace(50, 1e7, 30)])
    x = np.array([z + dtype(s) * np.spacing(z) for s in steps], dtype=dtype)
    assert ulp_max(name, "df", x, dtype) <= 4


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu", "mish"])
def test_left_tails_float64(name):
    rng = np.random.default_rng(1)
    x = -np.concatenate([rng.uniform(1, 40, 150), rng.uniform(700, 746, 30)])
    for which, bound in (("f", 4), ("df", 4), ("d2f", 16)):
        assert ulp_max(name, which, x, np.float64) <= bound, which


def test_second_derivative_zeros():
    for name, zero in [("silu", gated._SILU_D2_ZERO), ("gelu_tanh", gated._TANH_D2_ZERO), ("gelu", (math.sqrt(2), 0))]:
        z = zero[0]
        x = np.array([s * (z + k * 1e-3) for s in (1, -1) for k in range(-20, 21) if k])
        assert ulp_max(name, "d2f", x, np.float64) <= 16, name


# ---- the float32 GELU kernel ------------------------------------------------------------


def test_gelu_float32_kernel_dense():
    """Random float32 over the whole table range, and every float32 near the zero of f'."""
    rng = np.random.default_rng(2)
    z = np.float32(gated._GELU_ZERO[0])
    near = z + np.arange(-200, 201, dtype=np.float32) * np.spacing(z)
    x = np.concatenate([rng.uniform(-16.5, 6.5, 1500).astype(np.float32), near])
    assert ulp_max("gelu", "f", x, np.float32) <= 1
    assert ulp_max("gelu", "df", x, np.float32) <= 1


def test_gelu_float32_kernel_layouts_and_chunks():
    g = actlab.get("gelu")
    rng = np.random.default_rng(3)
    n = 3 * gated._T_CHUNK + 17  # several chunks and a short last one
    x = (rng.normal(size=(2, n)) * 4).astype(np.float32)[:, ::2]  # not contiguous
    x[0, :4] = [np.nan, np.inf, -np.inf, -0.0]
    want = g.f(x.astype(np.float64)).astype(np.float32)
    want_d = g.df(x.astype(np.float64)).astype(np.float32)
    for which, ref in (("f", want), ("df", want_d)):
        got = getattr(g, which)(x)
        out = np.empty(x.shape, np.float32)
        assert getattr(g, which)(x, out=out) is out
        np.testing.assert_array_equal(out, got)
        # the float64 path rounded once agrees to 1 float32 ulp, NaN and infinities included
        np.testing.assert_array_max_ulp(got, ref, maxulp=1)


# ---- silu's beta, peers -----------------------------------------------------------------


def test_silu_beta_against_mpmath_and_differences():
    act = actlab.get("swish", beta=2.5)
    x = np.linspace(-30, 30, 121) + 0.01
    for which in ("f", "df", "d2f"):
        exact = reference.evaluate("silu", which, x, act.params)
        assert accuracy.ulp_errors(getattr(act, which)(x), exact, np.float64).max() <= 16, which
    h = 1e-6
    np.testing.assert_allclose(act.df(x), (act.f(x + h) - act.f(x - h)) / (2 * h), rtol=1e-6, atol=1e-7)


def test_gelu_tanh_is_within_5e_4_of_gelu():
    x = np.linspace(-10, 10, 200001)
    diff = np.abs(actlab.get("gelu").f(x) - actlab.get("gelu_tanh").f(x))
    assert 1e-4 < diff.max() < 5e-4


def test_agrees_with_pytorch_and_fixes_its_minus_inf():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(4)
    x = rng.normal(size=2000) * 5
    tx = torch.from_numpy(x)
    pairs = {
        "gelu": F.gelu(tx), "gelu_tanh": F.gelu(tx, approximate="tanh"), "silu": F.silu(tx), "mish": F.mish(tx),
    }
    for name, y in pairs.items():
        np.testing.assert_allclose(actlab.get(name).f(x), y.numpy(), rtol=1e-12, atol=1e-15, err_msg=name)
    ninf = torch.tensor([-math.inf], dtype=torch.float64)
    assert torch.isnan(F.silu(ninf)).item() and actlab.get("silu").f(-np.inf) == 0


def test_gelu_tanh_derivative_polynomial_against_mpmath():
    x = np.linspace(-1.25, -0.25, 81)
    got = gated._horner(gated._TANH_Q, (x + 0.75) * 2.0)
    ref = reference.REFERENCES["gelu_tanh"]
    with mp.workdps(40):
        x1 = dd(gated._TANH_ZERO)
        exact = [ref.df(mpf(v)) / (mpf(v) - x1) for v in x]
        v1 = 2 * mpmath.sqrt(2 / mpmath.pi) * (x1 + mpf("0.044715") * x1**3)
        c3 = dd(gated._TANH_C3)
        assert abs(gated._TANH_EXP_V_ZERO - mpmath.exp(v1)) < 1e-16
        assert abs(gated._TANH_K0 - (dd(gated._TANH_C1) + 3 * c3 * x1**2)) < 1e-15
        assert abs(gated._TANH_K1 - (dd(gated._TANH_C1) + 9 * c3 * x1**2)) < 1e-15
    assert accuracy.ulp_errors(got, exact, np.float64).max() <= 1.5


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu", "mish"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
def test_blocks_and_non_contiguous_out(name, dtype):
    """Arrays longer than a block, strided input and a strided out= buffer."""
    act = actlab.get(name)
    n = gated._BLOCK + 1001
    x = (np.random.default_rng(5).normal(size=2 * n) * 6).astype(dtype)[::2]
    for which in ("f", "df", "d2f"):
        want = np.concatenate([getattr(act, which)(x[i : i + 999]) for i in range(0, n, 999)])
        out = np.empty((n, 2), dtype)[:, 0]
        assert getattr(act, which)(x, out=out) is out
        np.testing.assert_array_equal(out, want)
