"""Vector family beyond the catalogue contract: PyTorch as peer, limits, sparsemax traps,
glu's halved output shape, axis handling and errors."""

import numpy as np
import pytest
import torch

import actlab
from actlab.catalogue.registry import REGISTRY
from actlab.verify import peers

from .conftest import FLOATS

F = torch.nn.functional
PEERS = {
    "softmax": lambda t, d: torch.softmax(t, d),
    "log_softmax": lambda t, d: torch.log_softmax(t, d),
    "softmin": lambda t, d: F.softmin(t, d),
    "glu": lambda t, d: F.glu(t, d),
}


@pytest.mark.parametrize("name", list(PEERS))
def test_values_vjp_and_jacobian_match_pytorch(name):
    act = actlab.get(name)
    rng = np.random.default_rng(2)
    x = rng.normal(0, 4, size=(3, 4, 6))
    for axis in (-1, 1, 0) if name != "glu" else (-1, 1):
        t = torch.tensor(x, requires_grad=True)
        y = PEERS[name](t, axis)
        # PyTorch's log_softmax cancels near 0 ((x - m) - log S): an absolute error of a few eps
        atol = 1e-14 if name == "log_softmax" else 1e-300
        np.testing.assert_allclose(act.f(x, axis=axis), y.detach().numpy(), rtol=1e-13, atol=atol)
        v = rng.normal(size=y.shape)
        (g,) = torch.autograd.grad(y, t, torch.tensor(v))
        np.testing.assert_allclose(act.vjp(x, v, axis=axis), g.numpy(), rtol=1e-10, atol=1e-13)
    row = torch.tensor(x[0, 0])
    jac = torch.autograd.functional.jacobian(lambda t: PEERS[name](t, -1), row).numpy()
    np.testing.assert_allclose(act.jacobian(x[0, 0]), jac, rtol=1e-12, atol=1e-15)


def test_glu_halves_its_axis():
    glu = actlab.get("glu")
    x = np.arange(24.0).reshape(2, 4, 3) / 10
    assert glu.f(x, axis=1).shape == (2, 2, 3)
    assert glu.jacobian(x, axis=1).shape == (2, 3, 2, 4)
    out = np.empty((2, 2, 3))
    assert glu.f(x, out=out, axis=1) is out
    for dtype in (np.float16, np.float32, np.int64):
        y = glu.f(x.astype(dtype), axis=1)
        assert y.dtype == (np.float64 if dtype == np.int64 else dtype) and y.shape == (2, 2, 3)
    with pytest.raises(actlab.ActlabError, match="even length"):
        glu.f(x)  # length 3 along the last axis
    with pytest.raises(actlab.ActlabError, match="shape of glu"):
        glu.vjp(x, np.ones(x.shape), axis=1)
    with pytest.raises(actlab.ActlabError, match="'out'"):
        glu.f(x, out=np.empty(x.shape), axis=1)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin", "sparsemax"])
def test_bad_axis_is_a_clear_error(name):
    act = actlab.get(name)
    with pytest.raises(actlab.ActlabError, match="'axis'"):
        act.f(np.ones((2, 3)), axis=2)
    with pytest.raises(actlab.ActlabError, match="at least one axis"):
        act.f(1.0)


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
def test_documented_limits_without_warnings(dtype):
    inf, nan = np.inf, np.nan
    x = np.array([[inf, inf, 1.0, -inf], [-inf, -inf, -inf, -inf], [nan, 1.0, 2.0, 3.0], [0.0, -inf, 1e4, -1e4]], dtype)
    s = actlab.get("softmax").f(x)
    np.testing.assert_array_equal(s[0], [0.5, 0.5, 0, 0])
    np.testing.assert_array_equal(s[1], [0.25] * 4)
    assert np.isnan(s[2]).all()
    np.testing.assert_array_equal(s[3], [0, 0, 1, 0])
    ls = actlab.get("log_softmax").f(x)
    np.testing.assert_allclose(ls[0], [-np.log(2), -np.log(2), -inf, -inf], rtol=1e-7)
    np.testing.assert_allclose(ls[1], [-np.log(4)] * 4, rtol=1e-7)
    assert np.isnan(ls[2]).all()
    np.testing.assert_array_equal(ls[3], [-1e4, -inf, 0, -2e4])
    sp = actlab.get("sparsemax").f(x)
    np.testing.assert_array_equal(sp[0], [0.5, 0.5, 0, 0])
    np.testing.assert_array_equal(sp[1], [0.25] * 4)
    assert np.isnan(sp[2]).all()
    np.testing.assert_array_equal(sp[3], [0, 0, 1, 0])
    for name in ("softmax", "log_softmax", "softmin", "sparsemax"):
        act = actlab.get(name)
        assert np.isnan(act.vjp(x, np.ones(x.shape))[2]).all()
        assert np.isnan(act.jacobian(x)[2]).all()


def test_softmax_beyond_the_naive_overflow_edges():
    for dtype, edge in ((np.float32, 88.8), (np.float64, 709.9)):
        x = np.array([edge, edge - np.log(3.0)], dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            naive = np.exp(x) / np.sum(np.exp(x))
        assert np.isnan(naive).any()  # inf / inf
        gap = float(x[0]) - float(x[1])  # ~log 3, exact in float64
        expected = [1 / (1 + np.exp(-gap)), 1 / (1 + np.exp(gap))]
        np.testing.assert_allclose(actlab.get("softmax").f(x), expected, rtol=np.finfo(dtype).eps)


def test_sparsemax_traps():
    sp = actlab.get("sparsemax")
    np.testing.assert_array_equal(sp.f([1e20, 0.0]), [1.0, 0.0])  # naive x - (x - 1) gives 0
    np.testing.assert_array_equal(sp.f([2.0, 1.0, 1.0]), [1.0, 0.0, 0.0])  # ties exactly at tau stay out
    np.testing.assert_array_equal(sp.f([1.0, 1.0, 0.0]), [0.5, 0.5, 0.0])  # ties enter together
    np.testing.assert_array_equal(sp.f([3.0, 3.0, 3.0, 3.0]), [0.25] * 4)
    # an entry just above tau keeps its relative accuracy: x = [1, 1e-20] gives tau = 5e-21
    np.testing.assert_allclose(sp.f([1.0, 1e-20]), [1.0, 5e-21], rtol=1e-15)
    # Jacobian: identity minus 1/|S| on the support, 0 off it
    np.testing.assert_array_equal(sp.jacobian([1.0, 1.0, -5.0]), [[0.5, -0.5, 0], [-0.5, 0.5, 0], [0, 0, 0]])
    # the projection property on random rows: on the simplex, and x - p is tau on the support
    rng = np.random.default_rng(3)
    x = rng.normal(0, 2, size=(50, 30))
    p = sp.f(x)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-14)
    assert (p >= 0).all()
    tau = np.where(p > 0, x - p, np.nan)
    np.testing.assert_allclose(np.nanmax(tau, -1), np.nanmin(tau, -1), rtol=1e-13, atol=1e-14)
    assert (np.where(p == 0, x, -np.inf) <= np.nanmin(tau, -1, keepdims=True)).all()


VECTOR = [n for n, a in REGISTRY.items() if a.vector]
EMPTY = [(0,), (3, 0), (0, 4)]


def _torch_on_empty(name, x):
    """torch's f, VJP and Jacobian (along the last axis) at an empty x, or None where torch
    has no such function."""
    p = peers.peer(name)
    if p is None:
        return None
    t = torch.from_numpy(x).requires_grad_()
    y = p.call(t)
    (g,) = torch.autograd.grad(y, t, torch.zeros_like(y))
    jac = torch.func.jacrev(p.call)  # torch.autograd.functional.jacobian cannot stack 0 rows
    for _ in range(x.ndim - 1):
        jac = torch.func.vmap(jac)
    return y.detach().numpy(), g.numpy(), jac(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("shape", EMPTY, ids=str)
@pytest.mark.parametrize("name", VECTOR)
def test_an_empty_input_gives_empty_results(name, shape, dtype):
    """No rows, or rows of length 0: empty results of the right shape and dtype, as torch gives."""
    act = actlab.get(name)
    x = np.zeros(shape, dtype)
    f_shape = shape if act.definition.out_shape is None else act.definition.out_shape(shape)
    y = act.f(x)
    g = act.vjp(x, np.zeros(f_shape, dtype))
    jac = act.jacobian(x)
    assert (y.shape, y.dtype) == (f_shape, dtype)
    assert (g.shape, g.dtype) == (shape, dtype)
    assert (jac.shape, jac.dtype) == ((*shape[:-1], f_shape[-1], shape[-1]), dtype)
    out = np.empty(f_shape, dtype)
    assert act.f(x, out=out) is out
    theirs = _torch_on_empty(name, x)
    if theirs is None:
        assert name in peers.TORCH_LACKS
    else:
        for ours, t in zip((y, g, jac), theirs):
            assert (ours.shape, ours.dtype) == (t.shape, t.dtype)


@pytest.mark.parametrize("name", VECTOR)
def test_an_empty_axis_along_any_axis_and_its_errors(name):
    act = actlab.get(name)
    x = np.zeros((0, 6, 2))  # empty along axis 0, even lengths elsewhere
    f_shape = act.f(x, axis=1).shape
    assert f_shape == ((0, 3, 2) if name == "glu" else (0, 6, 2))
    assert act.vjp(x, np.zeros(f_shape), axis=1).shape == x.shape
    assert act.jacobian(x, axis=1).shape == (0, 2, f_shape[1], 6)
    assert act.jacobian(np.zeros((3, 0, 2)), axis=1).shape == (3, 2, 0, 0)
    for call in (act.f, act.jacobian):  # the axis is still checked when there is nothing to compute
        with pytest.raises(actlab.ActlabError, match="'axis'"):
            call(np.zeros((3, 0)), axis=2)
    if name == "glu":  # an odd length stays an error, rows or not
        for call in (act.f, act.jacobian, lambda x: act.vjp(x, np.zeros((0, 2)))):
            with pytest.raises(actlab.ActlabError, match="even length"):
                call(np.zeros((0, 5)))
    else:
        assert act.f(np.zeros((0, 5), np.float32)).shape == (0, 5)
