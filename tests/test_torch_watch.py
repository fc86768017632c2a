"""actlab.torch.watch on torch models trained on an MNIST subset.

Dead units made on purpose (a bias of -100) are reported exactly, in an MLP, a CNN (per
channel) and through functional activations found by torch.fx; saturated tanh units from
large weights are reported; gradient norms and update ratios equal a hand computation; an
untraceable model gives a message; the hooks are gone after the ``with`` block; and
watching changes no output, loss, gradient or parameter, bit for bit.
"""

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from actlab.data import load_mnist
from actlab.errors import ActlabError
from actlab.torch import Activation, watch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mnist():
    X, y = load_mnist(split="test")
    # copies: load_mnist's arrays are read-only, and torch.from_numpy warns about those
    return torch.tensor(X[:2048]), torch.tensor(y[:2048])


def train(model, X, y, *, steps=4, batch=256, lr=0.05, optimizer=None, w=None):
    opt = optimizer or torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for i in range(steps):
        xb, yb = X[(i * batch) % len(X):][:batch], y[(i * batch) % len(y):][:batch]
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    return losses


def mlp(act=None, hidden=64):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(784, hidden), act or nn.ReLU(), nn.Linear(hidden, 10))


def kill(linear, units):
    with torch.no_grad():
        linear.bias[list(units)] = -100.0


def dead(w, layer=0):
    return set(np.flatnonzero(w.units()[layer].dead).tolist())


# ---- dead and saturated units, exactly --------------------------------------------------------


def test_mlp_reports_exactly_the_units_killed(mnist):
    model = mlp()
    kill(model[0], {3, 17, 40})
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    with watch(model, optimizer=opt) as w:
        train(model, *mnist, optimizer=opt)
    units = w.units()[0]
    assert dead(w) == {3, 17, 40} and units.samples == 4 * 256
    assert set(np.flatnonzero(units.inactive)) == {3, 17, 40}  # ReLU: dead = inactive
    assert w.warnings() == []  # 3 of 64 is below warn_frac (10 %)


def test_cnn_reports_exactly_the_channels_killed(mnist):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 12, 3), nn.ReLU(), nn.Flatten(), nn.Linear(12 * 11 * 11, 10))
    kill(model[1], {2, 5})
    with watch(model) as w:
        train(model, *mnist, steps=2, batch=128)
    first, second = w.units()
    assert first.units == 8 and first.samples == 2 * 128 * 26 * 26  # per channel: every position is a sample
    assert dead(w, 0) == {2, 5} and dead(w, 1) == set()
    assert w.warnings()[0] == ("25 % of layer 2's relu units are dead: try a lower learning rate, BatchNorm or "
                               "leaky_relu")


@pytest.mark.parametrize("conv", [False, True], ids=["mlp", "cnn"])
def test_units_that_die_during_training_are_reported(mnist, conv):
    torch.manual_seed(0)
    if conv:
        model = nn.Sequential(nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 8, 5, stride=3), nn.ReLU(), nn.Flatten(),
                              nn.Linear(8 * 8 * 8, 10))
        first = model[1]
    else:
        model = mlp(hidden=32)
        first = model[0]
    X, y = mnist
    with watch(model, recent=4, warn_frac=0.05) as w:
        for i in range(10):
            if i == 6:
                kill(first, {1, 3})  # alive for 6 forward passes, dead for the last 4
            model(X[i * 32:(i + 1) * 32])
    row = w.to_dict()["layers"][0]
    assert row["dead"] == [] and row["recently_dead"] == [1, 3]
    assert (row["first_step"], row["last_step"]) == (0, 9)
    warning = [x for x in w.warnings() if "died" in x]
    assert warning == [f"{100 * 2 / row['units']:.0f} % of layer {row['name']}'s relu units died during training "
                       "(dead on every sample of the last 4 forward passes): try a lower learning rate, BatchNorm or "
                       "leaky_relu"]


def test_saturated_tanh_units_from_large_weights(mnist):
    model = mlp(nn.Tanh(), hidden=32)
    with torch.no_grad():
        model[0].weight[[1, 7]] *= 1000.0
    with watch(model) as w:
        model(mnist[0][:1024])
    units = w.units()[0]
    assert set(np.flatnonzero(units.saturated)) == {1, 7}
    assert w.to_dict()["layers"][0]["saturated"] == [1, 7]


def test_in_place_activations_are_read_before_they_overwrite_their_input(mnist):
    # ELU is dead where z <= ln(1e-3) ~ -6.9 everywhere; read after an in-place ELU, z would
    # be elu(z) ~ -1 and the units would look alive
    model = mlp(nn.ELU(inplace=True), hidden=16)
    kill(model[0], {0, 9})
    with watch(model) as w:
        model(mnist[0][:512])
    assert dead(w) == {0, 9}


def test_prelu_uses_its_learned_slopes(mnist):
    model = mlp(nn.PReLU(16), hidden=16)
    kill(model[0], {0, 1})
    with torch.no_grad():
        model[1].weight[0] = 0.0  # unit 0: slope 0 on the negative side; unit 1 keeps 0.25
    with watch(model) as w:
        model(mnist[0][:512])
    assert dead(w) == {0} and w.to_dict()["layers"][0]["spec"] == "prelu(learned, 16 slopes)"


def test_derivative_routes_agree(mnist):
    model = mlp(nn.GELU(), hidden=32)
    kill(model[0], {4})
    results = {}
    for route in ("actlab", "torch"):
        with watch(model, derivative=route) as w:
            model(mnist[0][:512])
        results[route] = w.units()[0]
    a, t = results["actlab"], results["torch"]
    assert dead_set(a) == dead_set(t) == {4}
    np.testing.assert_allclose(a.max_abs_df, t.max_abs_df, rtol=1e-6, atol=1e-30)


def dead_set(units):
    return set(np.flatnonzero(units.dead).tolist())


# ---- gradients and updates, by hand ----------------------------------------------------------


def test_gradient_norms_and_update_ratios_equal_a_hand_computation(mnist):
    X, y = mnist[0][:256].double(), mnist[1][:256]
    model = mlp(hidden=16).double()
    lr = 0.1
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    W1, b1, W2, b2 = (p.detach().clone() for p in model.parameters())
    # backpropagation written out: z = x W1^T + b1, a = relu(z), logits = a W2^T + b2, mean cross-entropy
    z = X @ W1.T + b1
    a = z.clamp_min(0)
    logits = a @ W2.T + b2
    p = torch.softmax(logits, dim=1)
    dlogits = (p - F.one_hot(y, 10).double()) / len(y)
    da = dlogits @ W2
    dz = da * (z > 0).double()
    hand = {"0.weight": dz.T @ X, "0.bias": dz.sum(0), "2.weight": dlogits.T @ a, "2.bias": dlogits.sum(0)}
    with watch(model, optimizer=opt) as w:
        train(model, X, y, steps=1, batch=256, optimizer=opt)
    r = w.to_dict()
    params = {q["name"]: q for q in r["parameters"]}
    for name, g in hand.items():
        np.testing.assert_allclose(params[name]["grad_norm"]["values"], [g.norm().item()], rtol=1e-12)
        # plain SGD moves each weight by lr * grad
        before = dict(zip(hand, (W1, b1, W2, b2)))[name]
        expected = lr * g.norm().item() / before.norm().item()
        np.testing.assert_allclose(params[name]["update_ratio"]["values"], [expected], rtol=1e-10)
    np.testing.assert_allclose(r["layers"][0]["grad_norm"]["values"], [da.norm().item()], rtol=1e-12)
    # without an optimiser, the parameters' own hooks give the same norms
    model2 = mlp(hidden=16).double()
    with watch(model2) as w2:
        F.cross_entropy(model2(X), y).backward()
    params2 = {q["name"]: q for q in w2.to_dict()["parameters"]}
    for name, g in hand.items():
        np.testing.assert_allclose(params2[name]["grad_norm"]["values"], [g.norm().item()], rtol=1e-12)


# ---- functional activations and torch.fx ------------------------------------------------------


class Block(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.lin = nn.Linear(n, n)

    def forward(self, x):
        return F.relu(self.lin(x))


class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(784, 32)
        self.b1, self.b2 = Block(32), Block(32)
        self.out = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.tanh(self.inp(x))
        x = self.b2(self.b1(x)).relu()
        return self.out(F.leaky_relu(x, 0.2))


def test_functional_activations_are_traced_and_diagnosed(mnist):
    torch.manual_seed(0)
    model = Functional()
    kill(model.b1.lin, {5, 6})
    with watch(model) as w:
        train(model, *mnist, steps=2)
    layers = w.to_dict()["layers"]
    assert [(x["name"], x["torch"], x["spec"]) for x in layers] == [
        ("tanh", "torch.tanh", "tanh"), ("b1:relu", "F.relu", "relu"), ("b2:relu_1", "F.relu", "relu"),
        ("relu_2", "Tensor.relu", "relu"), ("leaky_relu", "F.leaky_relu", "leaky_relu(slope=0.2)")]
    assert layers[1]["dead"] == [5, 6] and all(x["samples"] == 512 for x in layers)
    assert w.not_seen == []


class Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(784, 16)
        self.act = nn.ReLU()
        self.block = Block(16)
        self.out = nn.Linear(16, 10)

    def forward(self, x):
        h = self.act(self.inp(x))
        if h.sum() > 0:  # data-dependent control flow: torch.fx cannot trace this
            h = F.gelu(h)
        return self.out(self.block(h))


def test_an_untraceable_model_is_reported_not_a_crash(mnist):
    torch.manual_seed(0)
    model = Untraceable()
    kill(model.inp, {2})
    with watch(model) as w:
        train(model, *mnist, steps=2)
    assert len(w.not_seen) == 1
    assert re.match(r"model \(Untraceable\): its forward does not trace with torch\.fx \(TraceError: .*\); "
                    r"functional activations called in it are not seen", w.not_seen[0])
    names = [x["name"] for x in w.to_dict()["layers"]]
    assert names == ["block:relu", "act"]  # the child traced on its own; the module by its hooks
    assert dead(w, 1) == {2}
    assert "Not seen:" in w.summary()


def test_modules_that_hide_their_activations_are_reported():
    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(4, 8, batch_first=True)
            self.enc = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
            self.head = nn.Sequential(nn.Linear(8, 3), nn.LogSigmoid())

        def forward(self, x):
            return self.head(self.enc(self.rnn(x)[0]))

    model = Seq()
    with watch(model, unit_dim=-1) as w:
        model(torch.randn(2, 5, 4))
    assert w.not_seen == [
        "rnn (LSTM): activations inside it are not seen: its gates' sigmoid and tanh run inside torch's fused "
        "recurrent kernel",
        "enc (TransformerEncoderLayer): activations inside it are not seen: it applies the function 'relu' inside "
        "its own forward"]
    (units,) = w.units()
    assert (units.spec, units.units, units.samples) == ("log_sigmoid", 3, 10)  # unit_dim=-1: (batch, time, units)
    root = nn.Tanh()  # the model is itself an activation
    with watch(root) as w:
        root(torch.randn(5, 3))
    assert w.units()[0].samples == 5


def test_a_module_called_twice_is_two_layers(mnist):
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.act = nn.Linear(784, 16), nn.Linear(16, 8), nn.Sigmoid()

        def forward(self, x):
            return self.act(self.b(self.act(self.a(x))))

    model = Shared()
    with watch(model) as w:
        model(mnist[0][:64])
        model(mnist[0][64:128])
    assert [(u.spec, u.units, u.samples) for u in w.units()] == [("sigmoid", 16, 128), ("sigmoid", 8, 128)]
    assert [x["name"] for x in w.to_dict()["layers"]] == ["act", "act#2"]


def test_what_is_not_diagnosed_and_notes(mnist):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 16), nn.Softplus(beta=2.0), nn.Linear(16, 10), nn.LogSoftmax(dim=1))
    with watch(model) as w:
        model(mnist[0][:64])
    assert w.not_diagnosed == ["3 (nn.LogSoftmax): log_softmax is a vector activation: dead and saturated units are "
                               "defined for elementwise activations"]
    assert len(w.notes) == 1 and w.notes[0].startswith("1: nn.Softplus: threshold=20.0 is not a catalogue parameter")
    assert w.units()[0].spec == "softplus(beta=2.0)"


# ---- sampling, hooks, and nothing changed -----------------------------------------------------


def test_every_samples_one_forward_pass_in_k(mnist):
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with watch(model, optimizer=opt, every=10) as w:
        train(model, *mnist, steps=25, batch=32, optimizer=opt)
    r = w.to_dict()
    assert r["forward_passes"] == 25 and r["sampled_forward_passes"] == 3
    assert r["layers"][0]["samples"] == 3 * 32
    assert r["layers"][0]["grad_norm"]["steps"] == [0, 10, 20]
    assert r["parameters"][0]["update_ratio"]["steps"] == [0, 10, 20]


def _hooks(model, opt):
    found = []
    for m in model.modules():
        found += [*m._forward_hooks, *m._forward_pre_hooks, *m._backward_hooks, *m._backward_pre_hooks]
    for p in model.parameters():
        found += list(getattr(p, "_post_accumulate_grad_hooks", None) or {})
    found += [*opt._optimizer_step_pre_hooks, *opt._optimizer_step_post_hooks]
    return found


def test_hooks_are_gone_after_the_with_block(mnist):
    torch.manual_seed(0)
    model = Functional()
    opt = torch.optim.Adam(model.parameters())
    with watch(model, optimizer=opt) as w:
        assert _hooks(model, opt)
        train(model, *mnist, steps=1, optimizer=opt)
    assert _hooks(model, opt) == []
    assert torch._C._len_torch_function_stack() == 0
    before = w.to_dict()["layers"][0]["samples"]
    train(model, *mnist, steps=1, optimizer=opt)
    assert w.to_dict()["layers"][0]["samples"] == before  # nothing recorded any more
    with pytest.raises(RuntimeError):  # a forward pass that raises still leaves no mode behind
        with watch(model):
            model(torch.ones(3, 5))
    assert torch._C._len_torch_function_stack() == 0


class Everything(nn.Module):
    """Dropout (random numbers), BatchNorm (running statistics), an in-place ReLU, a
    functional GELU, a PReLU and an actlab activation: whatever watch could disturb."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 6, 3)
        self.bn = nn.BatchNorm2d(6)
        self.act = nn.ReLU(inplace=True)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(6 * 13 * 13, 32)
        self.prelu = nn.PReLU(32)
        self.sq = Activation("squareplus")
        self.out = nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(self.act(self.bn(self.conv(x.view(-1, 1, 28, 28)))), 2)
        x = F.gelu(self.fc(self.drop(x.flatten(1))))
        return self.out(self.sq(self.prelu(x)))


def _run(model, X, y, watched):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    torch.manual_seed(123)
    outputs, grads = [], []
    ctx = watch(model, optimizer=opt) if watched else None
    if ctx:
        ctx.__enter__()
    try:
        for i in range(3):
            opt.zero_grad()
            out = model(X[i * 64:(i + 1) * 64])
            loss = F.cross_entropy(out, y[i * 64:(i + 1) * 64])
            loss.backward()
            outputs.append((out.detach().clone(), loss.detach().clone()))
            grads.append([p.grad.clone() for p in model.parameters()])
            opt.step()
    finally:
        if ctx:
            ctx.__exit__(None, None, None)
    return outputs, grads, [p.detach().clone() for p in model.parameters()], ctx


def test_watching_changes_nothing_bit_for_bit(mnist):
    torch.manual_seed(0)
    model = Everything()
    a = _run(copy.deepcopy(model), *mnist, watched=False)
    b = _run(copy.deepcopy(model), *mnist, watched=True)
    for (oa, la), (ob, lb) in zip(a[0], b[0]):
        assert torch.equal(oa, ob) and torch.equal(la, lb)
    for ga, gb in zip(a[1], b[1]):
        assert all(torch.equal(u, v) for u, v in zip(ga, gb))
    assert all(torch.equal(u, v) for u, v in zip(a[2], b[2]))
    names = [x["name"] for x in b[3].to_dict()["layers"]]
    assert names == ["act", "gelu", "prelu", "sq"]  # and everything was watched


# ---- arguments, outputs -----------------------------------------------------------------------


def test_argument_errors_in_the_usual_form():
    model = mlp()
    with pytest.raises(ActlabError, match=re.escape("The 'every' parameter of watch must be an int in the range "
                                                    "[1, inf]. Got 0 instead.")):
        watch(model, every=0)
    with pytest.raises(ActlabError, match="The 'sat_most' parameter of watch must be a float in the range"):
        watch(model, sat_most=1.5)
    with pytest.raises(ActlabError, match="Did you mean 'torch'"):
        watch(model, derivative="torhc")
    with pytest.raises(ActlabError, match="torch.nn.Module"):
        watch(lambda x: x)
    with pytest.raises(ActlabError, match="torch.optim.Optimizer"):
        watch(model, optimizer="sgd")


def test_summary_json_and_html_report(mnist, tmp_path):
    model = mlp(hidden=16)
    kill(model[0], range(10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    with watch(model, optimizer=opt) as w:
        train(model, *mnist, steps=3, optimizer=opt)
    text = w.summary()
    assert "62 % of layer 1's relu units are dead: try a lower learning rate, BatchNorm or leaky_relu" in text
    assert "A unit is dead if |f'(z)| <= 0.001" in text
    data = json.loads(Path(w.to_json(tmp_path / "d.json")).read_text())
    assert data["layers"][0]["dead"] == list(range(10)) and data["warnings"] == w.warnings()
    page = Path(w.report(tmp_path / "d.html")).read_text()
    assert "62 % of layer 1&#39;s relu units are dead" in page and "data:image/png;base64," in page
    assert page.count("<table>") == 3


def test_the_report_escapes_and_looks_like_the_claims_report():
    from actlab.torch.report import render

    model = mlp(hidden=4)
    with watch(model) as w:
        model(torch.randn(8, 784))
    r = w.to_dict() | {"warnings": ["<script>alert(1)</script>"]}
    page = render(r, figures=False)
    assert "<script>" not in page and "&lt;script&gt;" in page

    # the claims report's look: the one style sheet every actlab page includes
    css = (ROOT / "src/actlab/templates/style.css").read_text()
    assert page[page.index("<style>") + len("<style>\n"):page.index("</style>")] == css
