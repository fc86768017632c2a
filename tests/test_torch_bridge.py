"""actlab.torch.Activation: every catalogue entry as a torch module.

Checked, iterating the registry (no name list here): f and backward are actlab's kernels
bit for bit in every float dtype; f, f' and f'' through torch autograd agree with mpmath
within the catalogue's ulp bounds and with torch's own function where one exists (values,
first and second derivatives, the kink conventions); gradcheck and gradgradcheck in
float64; Hessian-vector products; and the errors (device, dtype, third derivative,
vector double backward, missing torch).
"""

import copy
import io
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

import actlab
from actlab.catalogue.registry import REGISTRY
from actlab.errors import ActlabError
from actlab.torch import Activation
from actlab.torch import _autograd as autograd_mod
from actlab.torch.mapping import kinds, map_module, module_spec
from actlab.verify import accuracy, peers, reference

from .test_tools import TORCH_FLOAT64_DEVIATIONS

NAMES = list(REGISTRY)
ELEMENTWISE = [n for n, a in REGISTRY.items() if not a.vector]
VECTOR = [n for n, a in REGISTRY.items() if a.vector]
WITH_PEER = [n for n in ELEMENTWISE if peers.peer(n) is not None]
DTYPES = [torch.float16, torch.float32, torch.float64]


def _points(act, n=64, seed=0):
    """Inputs inside the domain and away from the kinks (where f' is a convention)."""
    x = np.random.default_rng(seed).normal(scale=3.0, size=n)
    lo, hi = act.definition.domain
    x = np.clip(x, lo + 1e-3, hi) if np.isfinite(lo) else x
    kinks = np.array(list(act.kinks) or [np.inf])
    return x[np.min(np.abs(x[:, None] - kinks[None, :]), axis=1) > 1e-3]


def _autograd_derivatives(module, x):
    """f, f' and f'' of an elementwise module by autograd (f'' through the double backward)."""
    t = torch.tensor(x, requires_grad=True)
    y = module(t)
    (d1,) = torch.autograd.grad(y.sum(), t, create_graph=True)
    if not d1.requires_grad:  # torch's identity: f' is the constant 1, with no graph behind it
        return y.detach().numpy(), d1.numpy(), np.zeros_like(x)
    (d2,) = torch.autograd.grad(d1.sum(), t, allow_unused=True, materialize_grads=True)
    return y.detach().numpy(), d1.detach().numpy(), d2.numpy()


# ---- actlab's kernels, bit for bit ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_forward_and_backward_are_actlab_kernels_bit_for_bit(name, dtype):
    act = actlab.get(name)
    module = Activation(name)
    x64 = np.random.default_rng(1).normal(scale=3.0, size=(6, 8))
    if act.definition.domain[0] == 0:
        x64 = np.abs(x64) + 0.1
    x = torch.tensor(x64, dtype=dtype, requires_grad=True)
    y = module(x)
    assert y.dtype == dtype and y.device.type == "cpu"
    xn = x.detach().numpy()
    np.testing.assert_array_equal(y.detach().numpy(), act.f(xn))
    g = torch.tensor(np.random.default_rng(2).normal(size=tuple(y.shape)), dtype=dtype)
    y.backward(g)
    assert x.grad.dtype == dtype and x.grad.shape == x.shape
    if act.definition.vector:
        expected = act.vjp(xn, g.numpy())
    else:
        expected = (torch.from_numpy(act.df(xn)) * g).numpy()  # torch's multiply, as the backward does
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_input_is_shared_with_numpy_not_copied():
    x = torch.randn(4, 5)
    assert np.shares_memory(autograd_mod._numpy(x), x.numpy())
    t = x.t()  # not contiguous: one copy, and the result is still right
    np.testing.assert_array_equal(Activation("gelu")(t).numpy(), actlab.get("gelu").f(t.numpy()))


def test_scalar_and_empty_tensors():
    assert Activation("tanh")(torch.tensor(0.5)).shape == ()
    assert Activation("relu")(torch.empty(0, 3)).shape == (0, 3)
    assert Activation("softmax")(torch.empty(2, 0)).shape == (2, 0)


# ---- against mpmath ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_f_df_d2f_through_autograd_agree_with_mpmath(name):
    act = actlab.get(name)
    x = _points(act, n=12)
    got = dict(zip(("f", "df", "d2f"), _autograd_derivatives(Activation(name), x)))
    for which, values in got.items():
        exact = reference.evaluate(name, which, x, act.params)
        err = accuracy.ulp_errors(values, exact, np.float64)
        assert err.max() <= act.definition.ulp[which], (name, which, x[int(np.argmax(err))], err.max())


@pytest.mark.parametrize("name", VECTOR)
def test_vector_f_and_backward_agree_with_mpmath(name):
    act = actlab.get(name)
    rows = np.random.default_rng(3).normal(scale=2.0, size=(3, 6))
    x = torch.tensor(rows, requires_grad=True)
    y = Activation(name)(x)
    v = np.random.default_rng(4).normal(size=tuple(y.shape))
    y.backward(torch.tensor(v))
    exact_f = reference.evaluate_rows(name, "f", rows, act.params)
    for got, exact in zip(y.detach().numpy(), exact_f):
        assert accuracy.ulp_errors(got, exact, np.float64).max() <= act.definition.ulp["f"]
    for row, vrow, grad in zip(rows, v, x.grad.numpy()):
        (exact_jac,) = reference.evaluate_rows(name, "jacobian", row[None], act.params)
        jac = np.array([[float(e) for e in r] for r in exact_jac])
        np.testing.assert_allclose(grad, vrow @ jac, rtol=1e-12, atol=1e-15)


# ---- against torch's own functions ---------------------------------------------------------------


@pytest.mark.parametrize("name", WITH_PEER)
def test_values_and_two_derivatives_agree_with_torch(name):
    act = actlab.get(name)
    peer = peers.peer(name)
    x = _points(act, n=200, seed=5)
    ours = _autograd_derivatives(Activation(name), x)
    try:
        theirs = _autograd_derivatives(lambda t: peer.call(t, **act.params), x)
    except RuntimeError as err:  # torch has no double backward here (hardsigmoid): f and f' only
        assert "not implemented" in str(err)
        t = torch.tensor(x, requires_grad=True)
        y = peer.call(t, **act.params)
        theirs = (y.detach().numpy(), torch.autograd.grad(y.sum(), t)[0].numpy())
    for which, a, b in zip(("f", "df", "d2f"), ours, theirs):
        rtol = TORCH_FLOAT64_DEVIATIONS.get((name, which), (1e-10, ""))[0]
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12, err_msg=f"{name} {which}")


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if actlab.get(n).kinks])
def test_backward_at_kinks_follows_the_catalogue_convention(name):
    act = actlab.get(name)
    k = np.array(sorted(act.kinks), dtype=np.float64)
    x = torch.tensor(k, requires_grad=True)
    Activation(name)(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [act.kinks[v] for v in k])
    if peers.peer(name) is not None:  # the catalogue's convention is torch's (to the last bit, selu aside)
        np.testing.assert_allclose(x.grad.numpy(), peers.df(act, k), rtol=3e-16, atol=0)


@pytest.mark.parametrize("name", [n for n in VECTOR if peers.peer(n) is not None])
def test_vector_backward_agrees_with_torch_where_it_has_the_function(name):
    p = peers.peer(name)
    x = torch.randn(4, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    v = torch.randn(tuple(Activation(name)(x).shape), dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    (ours,) = torch.autograd.grad(Activation(name)(x), x, v)
    (theirs,) = torch.autograd.grad(p.call(x), x, v)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-15)


# ---- autograd: gradcheck, double backward, Hessian-vector products ------------------------------


@pytest.mark.parametrize("spec", ["gelu", "silu", "mish", "softplus(beta=2.0)", "tanh", "squareplus", "log1mexp",
                                  "elu(alpha=1.0)", "bent_identity"])
def test_gradcheck_and_gradgradcheck_in_float64(spec):
    act = actlab.get(spec)
    x = torch.randn(12, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    if act.definition.domain[0] == 0:
        x = x.abs() + 0.2
    x.requires_grad_(True)
    module = Activation(spec)
    assert torch.autograd.gradcheck(module, (x,))
    assert torch.autograd.gradgradcheck(module, (x,))


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "glu", "sparsemax"])
def test_gradcheck_vector_entries(name):
    x = torch.randn(4, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(8), requires_grad=True)
    assert torch.autograd.gradcheck(Activation(name), (x,))
    assert torch.autograd.gradcheck(Activation(name, dim=0), (x,))


def test_hessian_vector_product_is_f_second_derivative_times_v():
    act = actlab.get("mish")
    x = torch.linspace(-4, 4, 9, dtype=torch.float64)
    v = torch.linspace(1, 2, 9, dtype=torch.float64)
    _, hv = torch.autograd.functional.hvp(lambda t: Activation("mish")(t).sum(), x, v)
    np.testing.assert_allclose(hv.numpy(), act.d2f(x.numpy()) * v.numpy(), rtol=1e-15)


def test_gradient_penalty_trains_through_the_double_backward():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), Activation("squareplus"), torch.nn.Linear(8, 1)).double()
    x = torch.randn(16, 3, dtype=torch.float64, requires_grad=True)
    (gx,) = torch.autograd.grad(net(x).sum(), x, create_graph=True)
    penalty = (gx.norm(dim=1) - 1).square().mean()
    penalty.backward()
    # every parameter the input gradient depends on (not the last bias) gets a finite gradient
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in list(net.parameters())[:-1])


def test_a_third_derivative_and_a_vector_double_backward_say_why_they_fail():
    x = torch.tensor([0.3, -1.2], dtype=torch.float64, requires_grad=True)
    (d1,) = torch.autograd.grad(Activation("gelu")(x).sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x, create_graph=True)
    with pytest.raises(ActlabError, match="at most twice"):
        d2.sum().backward()
    y = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(Activation("softmax")(y)[:, 0].sum(), y, create_graph=True)
    with pytest.raises(ActlabError, match="vector function"):
        g.sum().backward()


# ---- the module: parameters, repr, errors, pickling ----------------------------------------------


def test_parameters_spec_and_repr():
    assert repr(Activation("elu(alpha=0.5)")) == "Activation('elu(alpha=0.5)')"
    assert Activation("elu", alpha=0.5).spec == Activation("elu(alpha=0.5)").spec == "elu(alpha=0.5)"
    assert Activation(actlab.get("leaky_relu", slope=0.2)).spec == "leaky_relu(slope=0.2)"
    assert repr(Activation("glu", dim=1)) == "Activation('glu', dim=1)"
    assert Activation("swish").spec == "silu(beta=1.0)"
    with pytest.raises(ActlabError, match="elementwise"):
        Activation("relu", dim=0)
    with pytest.raises(ActlabError, match="Did you mean 'alpha'"):
        Activation("elu", alpah=1.0)


def test_device_and_dtype_errors_name_what_was_given():
    with pytest.raises(ActlabError, match="device 'meta'"):
        Activation("gelu")(torch.empty(3, device="meta"))
    with pytest.raises(ActlabError, match="torch.bfloat16"):
        Activation("gelu")(torch.ones(3, dtype=torch.bfloat16))
    with pytest.raises(ActlabError, match="torch.int64"):
        Activation("relu")(torch.arange(3))
    with pytest.raises(ActlabError, match="ndarray"):
        Activation("relu")(np.ones(3))


def test_a_model_with_actlab_activations_pickles_and_copies():
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), Activation("sparse_plus"), Activation("softmin", dim=1))
    x = torch.randn(4, 2)
    buf = io.BytesIO()
    torch.save(net, buf)
    buf.seek(0)
    again = torch.load(buf, weights_only=False)
    torch.testing.assert_close(again(x), net(x), rtol=0, atol=0)
    torch.testing.assert_close(pickle.loads(pickle.dumps(net))(x), net(x), rtol=0, atol=0)
    torch.testing.assert_close(copy.deepcopy(net)(x), net(x), rtol=0, atol=0)


def test_the_room_says_how_to_install_torch_when_it_is_missing():
    code = ("import sys; sys.modules['torch'] = None\n"
            "try:\n    import actlab.torch\nexcept Exception as e:\n    print(type(e).__name__, e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.startswith("ActlabError") and "pip install actlab[torch]" in out.stdout


# ---- torch's modules as catalogue specs ----------------------------------------------------------

# constructor arguments where torch has no default, and non-default ones to test the mapping
ARGS = {"Threshold": (0.1, 20.0), "LeakyReLU": (0.2,), "ELU": (0.5,), "CELU": (0.7,), "Softplus": (2.0,),
        "Hardtanh": (-2.0, 3.0), "Hardshrink": (0.3,), "Softshrink": (0.2,), "GELU": ("tanh",), "RReLU": (0.1, 0.3)}


@pytest.mark.parametrize("kind", [k for k in kinds().values() if not k.vector], ids=lambda k: k.name)
def test_every_torch_activation_module_maps_to_the_catalogue_entry_it_computes(kind):
    cls = kind.module_class
    for args in {(), ARGS.get(cls.__name__, ())}:
        try:
            module = cls(*args).eval().double()
        except TypeError:
            continue  # Threshold has no defaults
        mapped = map_module(module)
        x = torch.linspace(-7, 7, 141, dtype=torch.float64) + 1e-3
        if mapped.learned:  # PReLU: the slope is the module's weight
            assert mapped.name == "prelu"
            expected = actlab.get("prelu", slope=module.weight.item()).f(x.detach().numpy())
        else:
            expected = actlab.get(mapped.spec).f(x.numpy())
        np.testing.assert_allclose(module(x).detach().numpy(), expected, rtol=1e-10, atol=1e-12,
                                   err_msg=f"{module} -> {mapped.spec}")


def test_module_specs_and_what_cannot_be_expressed():
    assert module_spec(torch.nn.LeakyReLU(0.2)) == "leaky_relu(slope=0.2)"
    assert module_spec(torch.nn.GELU("tanh")) == "gelu_tanh"
    assert module_spec(torch.nn.ReLU6()) == "relu6"  # a Hardtanh subclass with its own function
    assert module_spec(Activation("squareplus", b=2.0)) == "squareplus(b=2.0)"
    assert module_spec(torch.nn.Softmax(dim=1)) is None and map_module(torch.nn.Softmax(dim=1)).vector
    assert module_spec(torch.nn.Linear(2, 2)) is None
    notes = map_module(torch.nn.Softplus(beta=2.0, threshold=5.0)).notes
    assert len(notes) == 1 and "threshold=5.0" in notes[0] and "exact softplus" in notes[0]
    assert "mean" in map_module(torch.nn.RReLU().train()).notes[0]
    assert map_module(torch.nn.RReLU().eval()).notes == ()
