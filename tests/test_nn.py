"""The engine (actlab.nn): gradients against central differences, losses against torch and
mpmath, optimisers against torch.optim, a hand-worked SGD step, determinism, save/load,
errors, and short trainings that must clearly learn."""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest
import torch

import actlab
from actlab import nn
from actlab.catalogue.registry import REGISTRY
from actlab.data import load_mnist, playground
from actlab.errors import ActlabError

ALL = list(REGISTRY)
ELEMENTWISE = [n for n, a in REGISTRY.items() if not a.vector]
VECTOR = [n for n, a in REGISTRY.items() if a.vector]
TOL = 1e-6  # float64 central differences with eps = 1e-6 give ~1e-9 on smooth functions


def inputs_in_domain(name: str, shape, seed: int = 0) -> np.ndarray:
    """Standard normal points, moved off the entry's kinks (central differences across a
    kink measure a secant, not a derivative) and into its domain (where f is finite)."""
    act = actlab.get(name)
    x = np.random.default_rng(seed).normal(size=shape) * 1.5
    for k in act.kinks:
        near = np.abs(x - k) < 0.05
        x[near] = k + 0.1
    if not act.definition.vector:
        with np.errstate(all="ignore"):
            bad = ~np.isfinite(act.f(x))
        for side in (-1, 1):  # a half-line domain, e.g. log1mexp(x) = log(1 - exp(-x)) for x > 0
            with np.errstate(all="ignore"):
                if np.all(np.isfinite(act.f(side * (np.abs(x) + 0.1)))):
                    x[bad] = side * (np.abs(x[bad]) + 0.1)
                    break
        assert np.all(np.isfinite(act.f(x))), name
    return x


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("name", ALL)
def test_gradcheck_activation_layer_every_registry_entry(name):
    x = inputs_in_domain(name, (4, 6))
    assert nn.gradcheck_layer(nn.Activation(name), x) < TOL


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_gradcheck_model_with_every_elementwise_activation(name):
    # bias 0.1: a hidden unit fed only zeros (dead ReLUs before it) would otherwise sit on the kink at 0
    model = nn.mlp("3-5-4-3", activation=name, init="xavier_normal", seed=1, dtype=np.float64, bias_init=0.1)
    X = np.random.default_rng(2).normal(size=(6, 3))
    y = np.array([0, 1, 2, 0, 1, 2])
    err = nn.gradcheck(model, X, y)
    assert err < 1e-5, (name, err)


def test_gradcheck_derivative_at_zero_and_kink_option():
    layer = nn.Activation("relu", derivative_at_zero=1.0)
    x = np.array([[0.0, -1.0, 2.0]])
    layer.forward(x)
    assert layer.backward(np.ones((1, 3))).tolist() == [[1.0, 0.0, 1.0]]
    layer = nn.Activation("relu")
    layer.forward(x)
    assert layer.backward(np.ones((1, 3))).tolist() == [[0.0, 0.0, 1.0]]


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Dense(5, 3, init="normal(std=0.5)", seed=0, dtype=np.float64),
        lambda: nn.Dense(5, 3, seed=0, dtype=np.float64, bias=False),
        lambda: nn.PReLU(5, dtype=np.float64),
        lambda: nn.PReLU(5, shared=True, init=0.1, dtype=np.float64),
        lambda: nn.BatchNorm(5, dtype=np.float64),
        lambda: nn.Dropout(0.4, seed=3, dtype=np.float64),
    ],
    ids=["dense", "dense_nobias", "prelu", "prelu_shared", "batchnorm", "dropout"],
)
@pytest.mark.parametrize("train", [True, False])
def test_gradcheck_every_layer_type(make, train):
    layer = make()
    if isinstance(layer, nn.BatchNorm):  # non-trivial parameters and running statistics
        layer.gamma.value[...] = np.linspace(0.5, 2, 5)
        layer.beta.value[...] = np.linspace(-1, 1, 5)
        layer.running_mean[...] = 0.3
        layer.running_var[...] = 2.0
    x = inputs_in_domain("relu", (7, 5), seed=4)
    assert nn.gradcheck_layer(layer, x, train=train) < TOL


@pytest.mark.parametrize("loss", ["softmax", "sigmoid", "identity", "softmax_unfused_ce", "sigmoid_unfused_mse",
                                  "tanh_unfused_mse"])
def test_gradcheck_models_with_every_loss(loss):
    out = loss.split("_")[0]
    n_out = 3 if out == "softmax" else 2
    model = nn.mlp(f"4-6-5-{n_out}", activation=["tanh", "prelu"], output=out, batchnorm=True, dropout=0.2,
                   seed=0, dtype=np.float64, bias_init=0.1)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(8, 4))
    if out == "softmax":
        y = rng.integers(0, 3, 8)
    elif out == "sigmoid":
        y = rng.integers(0, 2, (8, n_out)).astype(np.float64)
    else:
        y = rng.normal(size=(8, n_out))
    L = nn.loss_for(out)
    if "unfused" in loss:
        L = nn.Loss(out, kind=loss.split("_")[-1])
    assert nn.gradcheck(model, X, y, L) < 1e-6


# --------------------------------------------------------------------------- a step by hand


def test_one_sgd_step_worked_out_by_hand():
    # Network 2-2-1: h = relu(x W1 + b1), z = h W2 + b2, loss (z - t)^2 (MSE, one example).
    #   x = [1, 2], W1 = [[1, -1], [0.5, 1]], b1 = [0, -3], W2 = [[2], [1]], b2 = [0.5], t = 1
    #   pre  = [1*1 + 2*0.5 + 0, 1*(-1) + 2*1 - 3] = [2, -2];  h = [2, 0]
    #   z    = 2*2 + 0*1 + 0.5 = 4.5;  loss = 3.5^2 = 12.25;  dz = 2 * 3.5 = 7
    #   dW2  = h^T dz = [[14], [0]];  db2 = [7];  dh = dz W2^T = [14, 7];  dpre = [14, 0]
    #   dW1  = x^T dpre = [[14, 0], [28, 0]];  db1 = [14, 0]
    # SGD, lr = 0.01: W1 -> [[0.86, -1], [0.22, 1]], b1 -> [-0.14, -3], W2 -> [[1.86], [1]], b2 -> [0.43]
    model = nn.from_weights([(np.array([[1.0, -1.0], [0.5, 1.0]]), np.array([0.0, -3.0])),
                             (np.array([[2.0], [1.0]]), np.array([0.5]))], activations="relu", output="identity")
    loss = nn.MSE()
    assert loss.forward(model.forward([[1.0, 2.0]], train=True), np.array([[1.0]])) == 12.25
    model.backward(loss.backward())
    d1, d2 = model.dense_layers
    assert d1.weight.grad.tolist() == [[14.0, 0.0], [28.0, 0.0]] and d1.bias.grad.tolist() == [14.0, 0.0]
    assert d2.weight.grad.tolist() == [[14.0], [0.0]] and d2.bias.grad.tolist() == [7.0]
    nn.SGD(model.parameters(), lr=0.01).step()
    np.testing.assert_allclose(d1.W, [[0.86, -1.0], [0.22, 1.0]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(d1.b, [-0.14, -3.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(d2.W, [[1.86], [1.0]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(d2.b, [0.43], rtol=0, atol=1e-15)


def test_softmax_cross_entropy_by_hand():
    # z = [0, ln 3]: softmax = [1/4, 3/4]; label 1: loss = ln(4/3); gradient = [1/4, -1/4]
    loss = nn.SoftmaxCrossEntropy()
    assert loss.forward(np.array([[0.0, math.log(3.0)]]), np.array([1])) == pytest.approx(math.log(4 / 3), rel=1e-15)
    np.testing.assert_allclose(loss.backward(), [[0.25, -0.25]], rtol=1e-15)


# --------------------------------------------------------------------------- losses


def _loss_cases(rng, n=5, k=4):
    z = rng.normal(size=(n, k)) * 3
    return z, rng.integers(0, k, n), rng.integers(0, 2, (n, k)).astype(np.float64), rng.normal(size=(n, k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_match_torch(dtype):
    rng = np.random.default_rng(0)
    z, labels, bits, targets = _loss_cases(rng)
    z = z.astype(dtype)
    tol = dict(rtol=1e-5, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-15)
    cases = [
        (nn.SoftmaxCrossEntropy(), labels, lambda t: torch.nn.functional.cross_entropy(t, torch.tensor(labels))),
        (nn.SoftmaxCrossEntropy(), np.eye(4)[labels].astype(dtype),
         lambda t: torch.nn.functional.cross_entropy(t, torch.tensor(np.eye(4)[labels]).to(t.dtype))),
        (nn.SigmoidBCE(), bits.astype(dtype),
         lambda t: torch.nn.functional.binary_cross_entropy_with_logits(t, torch.tensor(bits).to(t.dtype))),
        (nn.MSE(), targets.astype(dtype), lambda t: torch.nn.functional.mse_loss(t, torch.tensor(targets).to(t.dtype))),
        (nn.Loss("sigmoid", kind="mse"), bits.astype(dtype),
         lambda t: torch.nn.functional.mse_loss(torch.sigmoid(t), torch.tensor(bits).to(t.dtype))),
        (nn.Loss("softmax", kind="ce"), labels,
         lambda t: torch.nn.functional.nll_loss(torch.log(torch.softmax(t, 1)), torch.tensor(labels))),
    ]
    for loss, y, ref in cases:
        value = loss.forward(z.copy(), y)
        grad = loss.backward()
        assert grad.dtype == dtype
        t = torch.tensor(z, requires_grad=True)
        r = ref(t)
        r.backward()
        np.testing.assert_allclose(value, r.item(), **tol)
        np.testing.assert_allclose(grad, t.grad.numpy(), **tol)


def test_losses_match_mpmath():
    mpmath.mp.dps = 40
    rng = np.random.default_rng(1)
    z, labels, bits, targets = _loss_cases(rng, n=3, k=3)
    z[0, 0] = 40.0  # saturated logits: the stable forms must still be exact
    z[1, 2] = -40.0
    zm = [[mpmath.mpf(float(v)) for v in row] for row in z]
    ce = sum(mpmath.log(sum(mpmath.exp(v) for v in row)) - row[c] for row, c in zip(zm, labels)) / 3
    bce = sum(mpmath.log(1 + mpmath.exp(v)) - v * float(b)
              for row, brow in zip(zm, bits) for v, b in zip(row, brow)) / 9
    mse = sum((v - float(t)) ** 2 for row, trow in zip(zm, targets) for v, t in zip(row, trow)) / 9
    assert nn.SoftmaxCrossEntropy().forward(z, labels) == pytest.approx(float(ce), rel=1e-14)
    assert nn.SigmoidBCE().forward(z, bits) == pytest.approx(float(bce), rel=1e-14)
    assert nn.MSE().forward(z, targets) == pytest.approx(float(mse), rel=1e-14)
    loss = nn.SoftmaxCrossEntropy()
    loss.forward(z, labels)
    g = loss.backward()
    for i, row in enumerate(zm):
        s = sum(mpmath.exp(v) for v in row)
        for j, v in enumerate(row):
            ref = (mpmath.exp(v) / s - (1 if j == labels[i] else 0)) / 3
            # p - 1 for the true class cancels in float64: absolute error of order eps / N
            assert g[i, j] == pytest.approx(float(ref), rel=1e-13, abs=1e-16)


def test_loss_for_picks_the_fused_loss():
    assert isinstance(nn.loss_for("softmax"), nn.SoftmaxCrossEntropy)
    assert isinstance(nn.loss_for("sigmoid"), nn.SigmoidBCE)
    assert isinstance(nn.loss_for("identity"), nn.MSE)
    assert isinstance(nn.loss_for(None), nn.MSE)


# --------------------------------------------------------------------------- optimisers


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (lambda p: nn.SGD(p, lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
        (lambda p: nn.SGD(p, lr=0.1, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
        (lambda p: nn.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
         lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
        (lambda p: nn.Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
        (lambda p: nn.Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1),
         lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    ],
    ids=["sgd", "momentum", "nesterov_wd", "adam", "adam_wd"],
)
@pytest.mark.parametrize("packed", [True, False])
def test_optimisers_match_torch(ours, theirs, packed):
    rng = np.random.default_rng(0)
    model = nn.mlp("3-4-2", seed=0, dtype=np.float64)
    params = model.parameters()
    if not packed:  # separate arrays: the per-parameter path
        for p in params:
            p.value, p.grad = p.value.copy(), p.grad.copy()
    tparams = [torch.tensor(p.value.copy(), requires_grad=True) for p in params]
    opt, topt = ours(params), theirs(tparams)
    for _ in range(5):
        for p, t in zip(params, tparams):
            g = rng.normal(size=p.value.shape)
            p.grad[...] = g
            t.grad = torch.tensor(g)
        opt.step()
        topt.step()
    for p, t in zip(params, tparams):
        np.testing.assert_allclose(p.value, t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_schedules():
    step = nn.schedule("step", 1.0, 9, step_size=3, gamma=0.5)
    assert [step(t) for t in range(9)] == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    cos = nn.schedule("cosine", 2.0, 4)
    assert [cos(t) for t in range(5)] == pytest.approx([2.0, 1 + math.sqrt(0.5), 1.0, 1 - math.sqrt(0.5), 0.0])
    assert nn.schedule("constant", 0.3, 10)(7) == 0.3


# --------------------------------------------------------------------------- initialisers


@pytest.mark.parametrize(
    "init,std",
    [
        ("normal(std=0.01)", 0.01), (1.0, 1.0), ("xavier_normal", math.sqrt(2 / (400 + 300))),
        ("xavier_uniform", math.sqrt(2 / (400 + 300))), ("he_normal", math.sqrt(2 / 400)),
        ("he_uniform", math.sqrt(2 / 400)), ("he_normal(mode='fan_out')", math.sqrt(2 / 300)),
        ("lecun_normal", math.sqrt(1 / 400)), ("uniform(limit=0.5)", 0.5 / math.sqrt(3)),
    ],
)
def test_initialisers_have_the_documented_scale(init, std):
    w = nn.initialize(init, 400, 300, seed=0)
    assert w.dtype == np.float32 and w.shape == (400, 300)
    # 120,000 draws: the sample std is within 1% of the scale with overwhelming probability
    assert float(w.std()) == pytest.approx(std, rel=0.01)
    assert abs(float(w.mean())) < 4 * std / math.sqrt(w.size)


def test_orthogonal_zeros_constant_and_gain():
    w = nn.initialize("orthogonal", 50, 30, gain=2.0, seed=0, dtype=np.float64)
    np.testing.assert_allclose(w.T @ w, 4 * np.eye(30), atol=1e-12)
    assert not nn.initialize("zeros", 3, 2).any()
    assert (nn.initialize("constant(value=0.5)", 3, 2) == 0.5).all()
    # He takes the gain of the activation after the layer from the catalogue
    m = nn.mlp("300-200-10", activation="tanh", init="he", seed=0, dtype=np.float64)
    assert float(m.dense_layers[0].W.std()) == pytest.approx(actlab.get("tanh").gain / math.sqrt(300), rel=0.02)
    assert float(m.dense_layers[1].W.std()) == pytest.approx(1 / math.sqrt(200), rel=0.05)


def test_seed_gives_identical_weights_and_dtype():
    a, b = nn.mlp("20-10-3", seed=5), nn.mlp("20-10-3", seed=5)
    assert all(np.array_equal(p.value, q.value) for p, q in zip(a.parameters(), b.parameters()))
    assert not np.array_equal(a.dense_layers[0].W, nn.mlp("20-10-3", seed=6).dense_layers[0].W)
    m64 = nn.mlp("20-10-3", seed=5, dtype=np.float64)
    assert all(p.value.dtype == np.float64 for p in m64.parameters())
    assert m64.forward(np.zeros((2, 20), np.float32)).dtype == np.float64
    assert a.forward(np.zeros((2, 20))).dtype == np.float32


# --------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def mnist_small():
    X, y = load_mnist(split="train")
    Xt, yt = load_mnist(split="test")
    return X[:3000], y[:3000], Xt[:1000], yt[:1000]


def test_short_mnist_training_clearly_beats_chance(mnist_small):
    X, y, Xt, yt = mnist_small
    model = nn.mlp("784-64-10", seed=0)
    hist = nn.fit(model, X, y, lr=0.1, momentum=0.9, epochs=2, batch_size=64, val=(Xt, yt), progress=False)
    assert hist.stopped is None
    assert hist.epochs[-1]["val_acc"] > 0.8  # chance is 0.1
    assert hist.epochs[-1]["loss"] < hist.epochs[0]["loss"]
    assert set(hist.epochs[0]) >= {"epoch", "loss", "acc", "val_loss", "val_acc", "seconds", "examples_per_s"}
    assert len(hist.step_loss) == 2 * math.ceil(3000 / 64)
    assert nn.evaluate(model, Xt, yt)["acc"] == hist.epochs[-1]["val_acc"]


def test_deterministic_replay_bit_for_bit(mnist_small):
    X, y, _, _ = mnist_small

    def run(seed):
        model = nn.mlp("784-32-10", activation="elu", dropout=0.1, seed=seed)
        h = nn.fit(model, X[:1000], y[:1000], optimizer="adam", lr=1e-3, epochs=2, batch_size=100, seed=seed,
                   progress=False)
        return h.step_loss, model.flat_value.copy()

    (l1, w1), (l2, w2), (l3, _) = run(0), run(0), run(1)
    assert np.array_equal(l1, l2) and np.array_equal(w1, w2)
    assert not np.array_equal(l1, l3)


@pytest.mark.parametrize("name", ["xor", "circle"])
def test_playground_sets_are_fitted(name):
    X, y = playground(name, n=400, noise=0.0, seed=0)
    model = nn.mlp("2-16-16-2", activation="tanh", init="xavier_normal", seed=0)
    nn.fit(model, X, y, optimizer="adam", lr=0.02, epochs=60, batch_size=32, progress=False)
    assert nn.evaluate(model, X, y)["acc"] >= 0.97


def test_sigmoid_output_and_regression_train():
    X, y = playground("gauss", n=200, seed=0)
    model = nn.mlp("2-8-1", output="sigmoid", seed=0)
    nn.fit(model, X, y, lr=0.5, epochs=20, batch_size=20, progress=False)
    assert nn.evaluate(model, X, y)["acc"] > 0.95
    X, t = playground("plane", n=200, seed=0)
    model = nn.mlp("2-8-1", activation="tanh", output="identity", init="xavier_normal", seed=0)
    h = nn.fit(model, X, t.reshape(-1, 1), lr=0.05, epochs=30, batch_size=20, progress=False)
    assert h.epochs[-1]["loss"] < 0.05 * float(np.var(t))
    assert h.epochs[-1]["acc"] is None


def test_nan_loss_stops_with_a_clear_message(mnist_small):
    X, y, _, _ = mnist_small
    model = nn.mlp("784-64-10", seed=0)
    hist = nn.fit(model, X, y, lr=1e30, momentum=0.9, epochs=2, progress=False)
    assert hist.stopped is not None
    assert "step" in hist.stopped and "Learning rate too high?" in hist.stopped and "layer" in hist.stopped
    assert len(hist.epochs) == 1 and not np.isfinite(hist.step_loss[-1])


def test_callback_max_steps_and_schedule(mnist_small):
    X, y, _, _ = mnist_small
    seen = []
    model = nn.mlp("784-16-10", seed=0)
    h = nn.fit(model, X, y, epochs=3, max_steps=7, schedule="cosine", progress=False,
               callback=lambda step, m, loss: seen.append(step) or step == 5)
    assert seen == [1, 2, 3, 4, 5] and "callback" in h.stopped
    h = nn.fit(model, X, y, epochs=3, max_steps=7, progress=False)
    assert len(h.step_loss) == 7 and h.stopped is None


def test_recorder(mnist_small):
    X, y, _, _ = mnist_small
    model = nn.mlp("784-16-8-10", seed=0)
    with nn.record(model, summary=False) as rec:
        z = model.forward(X[:32], train=True)
        loss = nn.SoftmaxCrossEntropy()
        loss.forward(z, y[:32])
        model.backward(loss.backward())
    assert model.recorder is None and len(rec.records) == 1 and len(rec.records[0]) == 2
    r0 = rec.records[0][0]
    np.testing.assert_array_equal(r0["post"], actlab.get("relu").f(r0["pre"]))
    np.testing.assert_array_equal(r0["grad_W"], model.dense_layers[0].weight.grad)
    assert r0["grad_pre"].shape == (32, 16)
    rec = nn.Recorder(model, what=("post",), every=2)
    h = nn.fit(model, X[:640], y[:640], epochs=1, batch_size=64, recorder=rec, val=(X[:100], y[:100]), progress=False)
    assert len(rec.records) == 5 and set(rec.records[0][1]) == {"post"}
    assert 0 <= rec.records[0][0]["post"]["frac_zero"] <= 1
    assert rec.series("post", "mean").shape == (5, 2)
    assert model.recorder is None and h.stopped is None


# --------------------------------------------------------------------------- save / load


def test_save_load_round_trip(tmp_path, mnist_small):
    X, y, Xt, yt = mnist_small
    model = nn.mlp("784-32-16-10", activation=["selu", "prelu"], batchnorm=True, dropout=0.1, seed=0)
    nn.fit(model, X[:500], y[:500], epochs=1, progress=False)
    path = tmp_path / "m.npz"
    nn.save(model, path)
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    back = nn.load(path)
    assert back.architecture() == model.architecture()
    np.testing.assert_array_equal(back.forward(Xt), model.forward(Xt))
    assert nn.evaluate(back, Xt, yt) == nn.evaluate(model, Xt, yt)
    with np.load(path, allow_pickle=False) as z:
        assert json.loads(str(z["__architecture__"]))["layers"][1]["type"] == "BatchNorm"


def test_dlfs_pretrained_weights_reach_the_books_accuracy():
    # "Deep Learning from Scratch" ch. 3 (neuralnet_mnist.py) prints "Accuracy:0.9352"
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "dlfs" / "sample_weight.npz"
    with np.load(path) as w:
        model = nn.from_weights([(w["W1"], w["b1"]), (w["W2"], w["b2"]), (w["W3"], w["b3"])],
                                activations=["sigmoid", "sigmoid"], output="softmax")
    assert model.arch == "784-50-100-10" and model.dtype == np.float32
    X, y = load_mnist(split="test")
    acc = nn.evaluate(model, X, y)["acc"]
    assert round(acc, 4) == 0.9352
    p = model.predict_proba(X[:5])
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)


def test_confusion_matrix_matches_counts():
    y = np.array([0, 0, 1, 2, 2, 2])
    yhat = np.array([0, 1, 1, 2, 0, 2])
    cm = nn.confusion_matrix(y, yhat, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: nn.mlp("784-64-10", activation="rleu"), "Did you mean 'relu'"),
        (lambda: nn.mlp("784-x-10"), "784-64-10"),
        (lambda: nn.mlp("784-64-10", init="hee"), "initialiser"),
        (lambda: nn.mlp("784-64-64-10", activation=["relu"]), "2 hidden layers"),
        (lambda: nn.SGD(nn.mlp("2-2").parameters(), lr=-0.1), "'lr' parameter of SGD"),
        (lambda: nn.fit(nn.mlp("2-2"), np.zeros((4, 3)), np.zeros(4, int)), "takes 2 inputs"),
        (lambda: nn.fit(nn.mlp("2-2"), np.zeros((4, 2)), np.array([0, 1, 2, 0])), "labels must be in"),
        (lambda: nn.fit(nn.mlp("2-2"), np.zeros((4, 2)), np.zeros(4, int), lr=-1), "'lr' parameter of fit"),
        (lambda: nn.fit(nn.mlp("2-2"), np.zeros((4, 2)), np.zeros(4, int), optimizer="adma"), "Did you mean 'adam'"),
        (lambda: nn.Dropout(1.0), "'p' parameter of Dropout"),
        (lambda: nn.load("/nonexistent/model.npz"), "No model file"),
        (lambda: nn.from_weights([(np.zeros((3, 2)), np.zeros(2)), (np.zeros((3, 2)), np.zeros(2))]), "takes 3 inputs"),
    ],
)
def test_bad_arguments_give_clear_errors(call, match):
    with pytest.raises(ActlabError, match=match):
        call()


# --------------------------------------------------------------------------- command line


@pytest.mark.parametrize(
    "argv,match",
    [
        (["train", "--activation", "rleu"], "Did you mean 'relu'"),
        (["train", "--arch", "100-64-10"], "takes 100 inputs but the data has 784"),
        (["train", "--arch", "784-64-5"], "has 5 outputs but the data has 10 classes"),
        (["train", "--lr", "-0.1"], "'lr' parameter of train"),
        (["train", "--init", "kaiming_normall"], "initialiser"),
    ],
)
def test_cli_bad_arguments_one_line_exit_2(argv, match, capsys, tmp_path):
    from actlab.cli import main

    assert main([*argv, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()  # nothing was started


def test_cli_train_and_evaluate(tmp_path, capsys):
    from actlab.cli import main

    out = tmp_path / "run"
    assert main(["train", "--limit", "1500", "--epochs", "1", "--momentum", "0.9", "--no-progress",
                 "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"history.json", "model.npz", "curves.png", "checkpoint.npz"}
    hist = json.loads((out / "history.json").read_text())
    acc = hist["epochs"][-1]["val_acc"]
    assert acc > 0.5 and hist["config"]["arch"] == "784-64-10"
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.npz")]) == 0
    text = capsys.readouterr().out
    assert f"accuracy {acc:.4f}" in text and "confusion matrix" in text


# --------------------------------------------------------------------------- checkpoints / resume

TIMING = ("seconds", "examples_per_s")


def _untimed(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


@pytest.mark.parametrize("optimizer, schedule", [("momentum", "constant"), ("adam", "constant"),
                                                 ("momentum", "cosine")])
def test_interrupted_fit_resumes_bit_for_bit(tmp_path, mnist_small, optimizer, schedule):
    X, y, Xt, yt = mnist_small
    X, y = X[:1000], y[:1000]
    kw = dict(optimizer=optimizer, lr=0.05 if optimizer == "momentum" else 1e-3, epochs=3, batch_size=100,
              seed=3, val=(Xt[:200], yt[:200]), progress=False, schedule=schedule)

    def fresh():  # dropout: its generator state must be checkpointed too
        return nn.mlp("784-16-10", dropout=0.1, seed=1)

    whole = fresh()
    h_whole = nn.fit(whole, X, y, **kw, checkpoint=tmp_path / "whole.npz")

    def interrupt(step, model, loss):
        if step == 15:  # in the middle of epoch 2
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        nn.fit(fresh(), X, y, **kw, checkpoint=tmp_path / "cut.npz", callback=interrupt)
    with np.load(tmp_path / "cut.npz") as z:
        assert json.loads(str(z["__checkpoint__"]))["epoch"] == 1
    resumed = fresh()
    h = nn.fit(resumed, X, y, **kw, checkpoint=tmp_path / "cut.npz")
    assert h.resumed_from == 1 and h_whole.resumed_from == 0
    assert np.array_equal(resumed.flat_value, whole.flat_value)
    assert np.array_equal(h.step_loss, h_whole.step_loss) and len(h.step_loss) == 30
    assert _untimed(h.epochs) == _untimed(h_whole.epochs)
    assert h.config == h_whole.config and h.config["lr"] == kw["lr"]  # the lr asked for, not the last scheduled
    # a finished run re-run with the same arguments trains nothing and loses nothing
    again = fresh()
    h2 = nn.fit(again, X, y, **kw, checkpoint=tmp_path / "cut.npz")
    assert h2.resumed_from == 3 and np.array_equal(again.flat_value, whole.flat_value)
    assert h2.epochs == h.epochs


def test_resume_with_more_epochs_and_mismatched_runs(tmp_path, mnist_small):
    X, y, _, _ = mnist_small
    X, y = X[:600], y[:600]
    kw = dict(lr=0.1, momentum=0.9, batch_size=100, progress=False)
    whole = nn.mlp("784-8-10", seed=0)
    h_whole = nn.fit(whole, X, y, epochs=2, **kw)
    ck = tmp_path / "run.npz"
    nn.fit(nn.mlp("784-8-10", seed=0), X, y, epochs=1, **kw, checkpoint=ck)
    longer = nn.mlp("784-8-10", seed=0)
    h = nn.fit(longer, X, y, epochs=2, **kw, checkpoint=ck)  # constant schedule: may continue
    assert h.resumed_from == 1 and np.array_equal(longer.flat_value, whole.flat_value)
    assert np.array_equal(h.step_loss, h_whole.step_loss)
    for change, words in [
        (dict(lr=0.05), "lr 0.1 -> 0.05"),
        (dict(model_seed=1), "initial weights"),
        (dict(X=X[::-1]), "training data"),
        (dict(epochs=1), "beyond this run's 6 steps"),
        (dict(schedule="cosine"), "schedule 'constant' -> 'cosine'"),
    ]:
        args = {**kw, "epochs": 2, **change}
        data = args.pop("X", X)
        model = nn.mlp("784-8-10", seed=args.pop("model_seed", 0))
        before = ck.read_bytes()
        with pytest.raises(ActlabError, match="belongs to a different run") as err:
            nn.fit(model, data, y, **args, checkpoint=ck)
        assert words in str(err.value) and "restart=True" in str(err.value)
        assert ck.read_bytes() == before  # the checkpoint is untouched
    h = nn.fit(nn.mlp("784-8-10", seed=0), X, y, epochs=1, **{**kw, "lr": 0.05}, checkpoint=ck, restart=True)
    assert h.resumed_from == 0


def test_cli_train_resumes_and_refuses_other_arguments(tmp_path, capsys):
    from actlab.cli import main

    base = ["train", "--limit", "500", "--arch", "784-8-10", "--momentum", "0.9", "--no-progress"]
    assert main([*base, "--epochs", "2", "--out", str(tmp_path / "whole")]) == 0
    assert main([*base, "--epochs", "1", "--out", str(tmp_path / "cut")]) == 0
    capsys.readouterr()
    assert main([*base, "--epochs", "2", "--out", str(tmp_path / "cut")]) == 0
    assert "resumed from the checkpoint of epoch 1" in capsys.readouterr().out
    a, b = (json.loads((tmp_path / d / "history.json").read_text()) for d in ("whole", "cut"))
    assert _untimed(a["epochs"]) == _untimed(b["epochs"]) and a["step_loss"] == b["step_loss"]
    with np.load(tmp_path / "whole" / "model.npz") as za, np.load(tmp_path / "cut" / "model.npz") as zb:
        assert za.files == zb.files and all(np.array_equal(za[k], zb[k]) for k in za.files)
    assert main([*base, "--epochs", "2", "--lr", "0.2", "--out", str(tmp_path / "cut")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "lr 0.1 -> 0.2" in err and "--restart" in err and "new --out" in err
    assert main([*base, "--epochs", "1", "--lr", "0.2", "--restart", "--out", str(tmp_path / "cut")]) == 0


# --------------------------------------------------------------------------- bench train


def test_bench_train_structure_and_ratios(tmp_path, capsys, monkeypatch, mnist_small):
    # structure and arithmetic only: timings are measured by the benchmark, never asserted
    import actlab.data
    from actlab.bench import training as engine_bench
    from actlab.cli import main

    monkeypatch.setattr(actlab.data, "load_mnist", lambda split="train", **kw: mnist_small[:2])  # 3,000 rows
    res = engine_bench.run(archs=["784-8-10", "784-6-5-10"], batch_sizes=[16, 32], steps=3, repeat=1, sgemm_size=64)
    assert [(r["arch"], r["batch_size"]) for r in res["rows"]] == [
        ("784-8-10", 16), ("784-8-10", 32), ("784-6-5-10", 16), ("784-6-5-10", 32)]
    for r in res["rows"]:
        assert r["steps"] == 3 and r["actlab_examples_per_s"] > 0 and r["torch_examples_per_s"] > 0
        # ratio = torch time / actlab time = actlab rate / torch rate
        assert r["ratio"] == pytest.approx(r["actlab_examples_per_s"] / r["torch_examples_per_s"], rel=1e-12)
        # flops per example, counted by hand: each product x W, xᵀ g, g Wᵀ costs 2 a b; the first
        # layer skips g Wᵀ. 784-8-10: 2 (2*784*8 + 3*8*10) = 25568;
        # 784-6-5-10: 2 (2*784*6 + 3*6*5 + 3*5*10) = 19296
        per_example = {"784-8-10": 25568, "784-6-5-10": 19296}[r["arch"]]
        sizes = [int(s) for s in r["arch"].split("-")]
        assert engine_bench.step_flops(sizes, r["batch_size"]) == per_example * r["batch_size"]
        assert r["actlab_gflops"] * 1e9 == pytest.approx(per_example * r["actlab_examples_per_s"], rel=1e-9)
        assert r["sgemm_share"] * res["sgemm_gflops"] == pytest.approx(r["actlab_gflops"], rel=1e-9)
        assert r["target_share"] is None  # targets are stated for the two benchmark architectures at batch 128
    assert res["sgemm_gflops"] == pytest.approx(max(res["sgemm_gflops_start_end"]))
    assert res["threads"] >= 1 and "actlab bench train --arch 784-8-10 784-6-5-10" in res["command"]
    text = engine_bench.text(res)
    assert text.count("\n| 784-") == 4 and f"{res['rows'][0]['ratio']:.2f}x" in text
    paths = engine_bench.write(res, tmp_path)
    assert json.loads((tmp_path / "train.json").read_text()) == json.loads(json.dumps(res))
    assert sorted(p.rsplit("/", 1)[1] for p in paths) == ["train.json", "train.md"]
    # the command line: same structure, written to --out
    monkeypatch.setattr(engine_bench, "sgemm_rate", lambda n=0, repeat=0, clock=None: 1e9)
    assert main(["bench", "train", "--arch", "784-8-10", "--batch-sizes", "16", "--steps", "2", "--repeat", "1",
                 "--clock", "cpu", "--out", str(tmp_path / "cli")]) == 0
    out = capsys.readouterr().out
    assert "| 784-8-10 | 16 |" in out and "wrote" in out and "cpu time" in out
    cli = json.loads((tmp_path / "cli" / "train.json").read_text())
    assert cli["clock"] == "cpu" and cli["command"].endswith("--clock cpu")
    row = cli["rows"][0]
    assert row["sgemm_share"] == pytest.approx(row["actlab_gflops"], rel=1e-9)  # sgemm pinned at 1 GFLOP/s


# --------------------------------------------------------------------------- allocation and dtype


def _train_steps(model, loss, opt, X, y, order, steps, xb, yb, start=0):
    batch = len(xb)
    for k in range(start, start + steps):
        idx = order[(k * batch) % (len(order) - batch):][:batch]
        X.take(idx, axis=0, out=xb, mode="clip")
        y.take(idx, axis=0, out=yb, mode="clip")
        loss.forward(model.forward(xb, True, copy=False), yb)
        loss.n_correct()
        model.backward(loss.backward())
        opt.step()
    return xb


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_training_steps_allocate_nothing_that_stays_and_stay_float32(mnist_small, optimizer):
    import tracemalloc

    X, y, _, _ = mnist_small
    model = nn.mlp("784-32-16-10", seed=0)
    loss = nn.SoftmaxCrossEntropy()
    opt = nn.make_optimizer(optimizer, model.parameters(), lr=0.01)
    order = np.random.default_rng(0).permutation(len(X))
    xb, yb = np.empty((64, 784), np.float32), np.empty(64, y.dtype)
    _train_steps(model, loss, opt, X, y, order, 5, xb, yb)  # buffers are made by the first step
    tracemalloc.start()
    try:  # NumPy fills small internal caches (~4 kB) in the first steps it is traced
        _train_steps(model, loss, opt, X, y, order, 50, xb, yb, start=5)
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        _train_steps(model, loss, opt, X, y, order, 100, xb, yb, start=55)
        grown, peak = tracemalloc.get_traced_memory()
        grown -= before
    finally:
        tracemalloc.stop()
    assert grown < 512, grown  # 100 steps keep nothing (one batch of activations is 8 kB)
    # no temporary as large as the input batch (200 kB; e.g. np.take's default mode="raise"
    # gathers into one): what remains are NumPy's broadcast buffers and masks of the
    # 64 x 32 hidden layer (8 kB each)
    assert peak - before < xb.nbytes // 8, peak - before
    # float32 end to end: every parameter, gradient, optimiser and layer buffer
    assert xb.dtype == np.float32
    arrays = [model.flat_value, model.flat_grad]
    arrays += [a for name in opt.STATE for a in getattr(opt, name)]
    for layer in [*model.layers, loss]:
        for s in layer._buf._sets.values():
            arrays += [a for a in (s.values() if isinstance(s, dict) else
                                   (getattr(s, k) for k in s.__slots__)) if isinstance(a, np.ndarray)]
    floats = [a for a in arrays if a.dtype.kind == "f"]
    assert len(floats) > 10 and all(a.dtype == np.float32 for a in floats), {str(a.dtype) for a in floats}


def test_fit_progress_lines_on_a_terminal(mnist_small, tmp_path, monkeypatch):
    # fit prints (tqdm bar, epoch lines, resume and stop messages) only when stderr is a
    # terminal: a StringIO that says it is one captures what a user would see
    import io
    import re
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    X, y, Xt, yt = mnist_small
    path = tmp_path / "run.npz"

    def printed(**kw):
        err = Terminal()
        monkeypatch.setattr(sys, "stderr", err)
        nn.fit(nn.mlp("784-16-10", seed=0), X[:640], y[:640], epochs=2, batch_size=64, val=(Xt[:100], yt[:100]),
               checkpoint=path, **kw)
        monkeypatch.undo()
        # drop the bar's redraws ("epoch 1/2: ...") and the timings
        return [re.sub(r"\([0-9,]+ ex/s\)$", "(ex/s)", line) for line in re.split(r"[\r\n]", err.getvalue())
                if line.startswith(("epoch ", "resuming ", "Stopped ")) and not re.match(r"epoch \d+/", line)]

    first = printed(callback=lambda step, m, loss: step == 12)  # 10 steps per epoch
    assert [line.split(":")[0] for line in first] == ["epoch 1", "epoch 2", "Stopped by the callback at step 12."]
    assert re.fullmatch(r"epoch 1: loss \d+\.\d{4} val_acc \d\.\d{4} \(ex/s\)", first[0]), first[0]
    resumed = printed()
    assert resumed[0] == f"resuming after epoch 1 from {path}" and len(resumed) == 2
    assert re.fullmatch(r"epoch 2: loss \d+\.\d{4} val_acc \d\.\d{4} \(ex/s\)", resumed[1]), resumed[1]
    assert printed(restart=True) == [first[0], resumed[1]]  # the same lines as a run without a stop
