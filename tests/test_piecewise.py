"""The piecewise family against PyTorch 2.13, whose autograd fixes the kink conventions.

f and f' (and f'' where PyTorch has a double backward) are compared with torch on a grid
holding every kink and its two neighbouring floats, in float32 and float64, for default
and non-default parameters. Where the catalogue deliberately differs from torch (NaN
gradients, hardswish at -inf and near the largest float), the difference is tested on its own.
"""

import math

import numpy as np
import pytest

import actlab
from actlab.catalogue.registry import REGISTRY

torch = pytest.importorskip("torch")
F = torch.nn.functional

FAMILY = [n for n, a in REGISTRY.items() if a.family == "relu"]


def _sparse_plus(t):
    # JAX's definition; the clamp keeps the unused branch finite, else its gradient 0 * inf is NaN
    c = torch.clamp(t, -1, 1)
    return torch.where(t <= -1, torch.zeros_like(t), torch.where(t >= 1, t, (c + 1) ** 2 / 4))


# spec -> the same function written with torch (step has no gradient in torch: f only)
TORCH = {
    "identity": lambda t: t * 1,
    "step": lambda t: torch.heaviside(t, torch.zeros_like(t)),
    "relu": F.relu,
    "relu6": F.relu6,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.01),
    "leaky_relu(slope=2.5)": lambda t: F.leaky_relu(t, 2.5),
    "leaky_relu(slope=0.0)": lambda t: F.leaky_relu(t, 0.0),
    "prelu": lambda t: F.prelu(t, torch.tensor([0.25], dtype=t.dtype)),
    "prelu(slope=-0.5)": lambda t: F.prelu(t, torch.tensor([-0.5], dtype=t.dtype)),
    "rrelu": lambda t: F.rrelu(t, 1 / 8, 1 / 3, training=False),
    "rrelu(lower=0.2, upper=0.6)": lambda t: F.rrelu(t, 0.2, 0.6, training=False),
    "threshold": lambda t: F.threshold(t, 0.0, 0.0),
    "threshold(threshold=1.0, value=-2.0)": lambda t: F.threshold(t, 1.0, -2.0),
    "thresholded_relu": lambda t: F.threshold(t, 1.0, 0.0),
    "hard_tanh": F.hardtanh,
    "hard_tanh(min_val=-2.0, max_val=0.5)": lambda t: F.hardtanh(t, -2.0, 0.5),
    "hard_sigmoid": F.hardsigmoid,
    "hard_silu": F.hardswish,
    "hard_shrink": F.hardshrink,
    "hard_shrink(lambd=2.0)": lambda t: F.hardshrink(t, 2.0),
    "soft_shrink": F.softshrink,
    "soft_shrink(lambd=0.0)": lambda t: F.softshrink(t, 0.0),
    "sparse_sigmoid": lambda t: 0.5 * (F.hardtanh(t) + 1),
    "sparse_plus": _sparse_plus,
}
NO_TORCH_GRAD = {"step"}
HAS_D2F_IN_TORCH = {"identity", "hard_silu", "sparse_plus", "relu", "leaky_relu", "hard_tanh", "soft_shrink"}
FLOATS = [np.float32, np.float64]
# Where torch itself is less accurate than the catalogue (which is within 4 ulp of mpmath,
# tests/test_catalogue.py), the comparison allows torch's error, measured here:
# hardsigmoid's float64 backward uses the float32 constant 1/6 (relative error 3.0e-8), and
# hardswish's backward x/3 + 1/2 cancels near its zero at x = -3/2 (absolute error ~1 ulp of 1/2).
DF_TOL = {("hard_sigmoid", np.float64): dict(rtol=4e-8, atol=0)}
# torch's leaky_relu with slope 0 computes 0 * -inf = NaN at -inf; the catalogue gives the limit 0
NOT_AT_MINUS_INF = {"hard_silu", "leaky_relu(slope=0.0)"}


def test_every_family_entry_is_compared_with_torch():
    covered = {actlab.get(spec).name for spec in TORCH}
    assert set(FAMILY) <= covered, set(FAMILY) - covered


def _grid(act, dtype):
    pts = [*np.linspace(-8, 8, 161), 0.0, -0.0, 1e-30, -1e-30, 1e6, -1e6, math.inf, -math.inf]
    x = np.array(pts, dtype=dtype)
    for k in act.kinks:
        kk = dtype(k)
        x = np.concatenate([x, [kk, np.nextafter(kk, dtype(np.inf)), np.nextafter(kk, dtype(-np.inf))]])
    return x


def _torch_value_and_grads(fn, x, order):
    t = torch.tensor(x, requires_grad=True)
    y = fn(t)
    out = [y.detach().numpy()]
    if order >= 1:
        (g,) = torch.autograd.grad(y.sum(), t, create_graph=order >= 2)
        out.append(g.detach().numpy())
        if order >= 2 and not g.requires_grad:  # f' constant: f'' = 0
            out.append(np.zeros_like(x))
        elif order >= 2:
            (g2,) = torch.autograd.grad(g.sum(), t, allow_unused=True)
            out.append(np.zeros_like(x) if g2 is None else g2.numpy())
    return out


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("spec", list(TORCH))
def test_matches_torch_including_kinks(spec, dtype):
    act = actlab.get(spec)
    x = _grid(act, dtype)
    if spec in NOT_AT_MINUS_INF:  # torch gives NaN at -inf (from -inf * 0); tested below
        x = x[x != -np.inf]
    order = 0 if act.name in NO_TORCH_GRAD else 2 if act.name in HAS_D2F_IN_TORCH else 1
    ref = _torch_value_and_grads(TORCH[spec], x, order)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(act.f(x), ref[0], rtol=4 * eps, atol=0, err_msg=f"{spec}.f")
    if order >= 1:
        tol = DF_TOL.get((act.name, dtype), dict(rtol=4 * eps, atol=eps))
        np.testing.assert_allclose(act.df(x), ref[1], **tol, err_msg=f"{spec}.df")
        # at each kink exactly torch's subgradient, and the catalogue lists that same value
        for k, slope in act.kinks.items():
            got = act.df(np.array([k], dtype=dtype))[0]
            want = _torch_value_and_grads(TORCH[spec], np.array([k], dtype=dtype), 1)[1][0]
            assert got == want == dtype(slope), (spec, k, got, want, slope)
    if order >= 2:
        np.testing.assert_allclose(act.d2f(x), ref[2], rtol=4 * eps, atol=0, err_msg=f"{spec}.d2f")


@pytest.mark.parametrize("name", FAMILY)
def test_in_place_out_is_the_input(name):
    act = actlab.get(name)
    x = np.concatenate([np.linspace(-7, 7, 57), [np.nan, np.inf, -np.inf, -3.0, 3.0, 1.0, -1.0, 0.5, -0.5, 6.0]])
    for which in ("f", "df", "d2f"):
        if which == "d2f" and not act.has_d2f:
            continue
        expected = getattr(act, which)(x.copy())
        buf = x.copy()
        res = getattr(act, which)(buf, out=buf)
        assert res is buf
        np.testing.assert_array_equal(buf, expected, err_msg=f"{name}.{which}")


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_hard_silu_limits_where_torch_overflows(dtype):
    act = actlab.get("hard_silu")
    big = np.finfo(dtype).max
    x = np.array([-np.inf, big, -big, 1e30], dtype=dtype)
    np.testing.assert_array_equal(act.f(x), np.array([0.0, big, 0.0, 1e30], dtype=dtype))
    np.testing.assert_array_equal(act.df(x), np.array([0.0, 1.0, 0.0, 1.0], dtype=dtype))
    # torch: x * relu6(x + 3) overflows before the division by 6, and -inf * 0 is NaN
    t = F.hardswish(torch.tensor(x[:2]))
    assert math.isnan(t[0]) and math.isinf(t[1])


@pytest.mark.parametrize(
    "spec,x,expected",
    [
        # slope > 1: max(x, a x) would give 2.5e300 at 1e300; overflow is the correct limit
        ("leaky_relu(slope=2.5)", [1e308, -1e308, -np.inf, 2.0], [1e308, -np.inf, -np.inf, 2.0]),
        ("prelu(slope=-3.0)", [1e308, -1e308, -np.inf, -2.0], [1e308, np.inf, np.inf, 6.0]),
        ("leaky_relu(slope=0.0)", [-np.inf, -1.0, 2.0], [0.0, 0.0, 2.0]),
    ],
)
def test_leaky_slopes_without_warnings(spec, x, expected):
    np.testing.assert_array_equal(actlab.get(spec).f(np.array(x)), np.array(expected))


@pytest.mark.parametrize("name", FAMILY)
def test_derivatives_propagate_nan_where_torch_does_not(name):
    act = actlab.get(name)
    x = np.array([np.nan, 1.0])
    for which in ("df", "d2f") if act.has_d2f else ("df",):
        y = getattr(act, which)(x)
        assert np.isnan(y[0]) and not np.isnan(y[1]), (name, which, y)


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_slope_zero_at_minus_inf_where_torch_gives_nan(dtype):
    x = np.array([-np.inf], dtype=dtype)
    assert actlab.get("leaky_relu", slope=0.0).f(x)[0] == 0.0
    assert math.isnan(F.leaky_relu(torch.tensor(x), 0.0)[0])


@pytest.mark.parametrize("name", ["identity", "relu", "relu6", "hard_tanh", "leaky_relu", "hard_shrink"])
@pytest.mark.parametrize("n", [1, 3, 64, 1001])  # scalar loop, SIMD body and tail
def test_minus_zero_passes_through(name, n):
    """The docstrings promise f(-0.0) = -0.0 for these (as torch gives for the clamps)."""
    for dtype in FLOATS:
        y = actlab.get(name).f(np.full(n, -0.0, dtype=dtype))
        assert np.all(y == 0) and np.all(np.signbit(y)), (name, dtype, y[:3])


def test_leaky_relu_and_prelu_share_their_kernels_not_their_metadata():
    leaky, prelu = REGISTRY["leaky_relu"], REGISTRY["prelu"]
    for kernel in ("f_kernel", "df_kernel", "d2f_kernel"):
        assert getattr(leaky, kernel) is getattr(prelu, kernel)
    assert leaky.defaults == {"slope": 0.01} and prelu.defaults == {"slope": 0.25}
    assert leaky.params[0].low == 0.0 and prelu.params[0].low == -math.inf  # PyTorch leaves a learned slope free
    assert leaky.gain_ is not None and prelu.gain_ is None
    assert leaky.doc.startswith("Leaky ReLU") and prelu.doc.startswith("Parametric ReLU")
