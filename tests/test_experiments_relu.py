"""The ReLU claims (dying ReLU, born-dead nets, the kink at 0) and the unit diagnostics they use.

Diagnostics are checked against PyTorch (activations and derivatives by autograd);
the experiments at quick size against closed forms, and their verdict rules against
doctored numbers.
"""

import copy
import functools
import math

import numpy as np
import pytest
import torch

from actlab import claims as E
from actlab import cli, nn
from actlab.claims.runner import Runner, SerialExecutor
from actlab.errors import ActlabError
from actlab.nn import diagnostics

# The quick results are computed once per process: keep these tests on one xdist worker.
pytestmark = pytest.mark.xdist_group(__name__)  # its module fixtures computed once, on one worker

MINE = ("dying_relu", "born_dead", "relu_kink")


@functools.cache
def quick(name: str):
    runner = Runner(None, executor=SerialExecutor(), progress=False)
    return E.run(name, "quick", runner=runner)


# ---------------------------------------------------------------- diagnostics vs PyTorch

def _probe(n=200, d=6, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float64)


def _torch_pre(model, X):
    """Pre-activations of each hidden layer, recomputed with torch from the model's weights."""
    h = torch.tensor(X)
    pres = []
    for layer in model.layers:
        if isinstance(layer, nn.Dense):
            h = h @ torch.tensor(layer.W, dtype=h.dtype) + torch.tensor(layer.b, dtype=h.dtype)
        elif isinstance(layer, (nn.Activation, nn.PReLU)):
            pres.append(h.clone())
            if isinstance(layer, nn.PReLU):
                h = torch.nn.functional.prelu(h, torch.tensor(layer.alpha.value, dtype=h.dtype))
            else:
                h = _torch_act(layer.spec)(h)
    return pres


def _torch_act(spec):
    return {"relu": torch.relu, "elu(alpha=1.0)": torch.nn.functional.elu, "sigmoid": torch.sigmoid,
            "tanh": torch.tanh, "leaky_relu(slope=0.01)": lambda t: torch.nn.functional.leaky_relu(t, 0.01)}[spec]


def _torch_abs_df(spec, z):
    z = z.clone().requires_grad_(True)
    _torch_act(spec)(z).sum().backward()
    return z.grad.abs().numpy()


@pytest.mark.parametrize("act", ["relu", "elu", "sigmoid", "tanh", "leaky_relu"])
def test_dead_and_saturated_units_match_torch(act):
    model = nn.mlp("6-16-16-3", activation=act, seed=1, dtype=np.float64, init="normal(std=1)")
    d0, d1 = model.dense_layers[0], model.dense_layers[1]
    d0.b[:4] = [-60.0, -8.0, 8.0, 60.0]  # pushed far into the tails: dead / saturated units
    d1.b[:3] = [-80.0, -10.0, 80.0]
    X = _probe()
    reps = diagnostics.dead_units(model, X)
    for rep, z in zip(reps, _torch_pre(model, X)):
        df = _torch_abs_df(model.activation_layers[rep.layer].spec, z)
        np.testing.assert_array_equal(rep.dead, df.max(axis=0) <= diagnostics.DEAD_EPS)
        np.testing.assert_array_equal(rep.inactive, z.numpy().max(axis=0) <= 0)
        np.testing.assert_array_equal(rep.saturated, (df < diagnostics.SAT_EPS).mean(axis=0) >= diagnostics.SAT_MOST)
    if act == "relu":  # dead == output exactly 0 on every sample (torch's relu)
        out0 = torch.relu(_torch_pre(model, X)[0]).numpy()
        np.testing.assert_array_equal(reps[0].dead, np.all(out0 == 0, axis=0))
        assert reps[0].dead[0] and not reps[0].dead[3]
    if act == "leaky_relu":
        assert not any(r.dead.any() for r in reps) and reps[0].inactive[0]  # negative everywhere, still learns


def test_prelu_dead_only_with_zero_slope():
    model = nn.mlp("6-8-3", activation="prelu", seed=0, dtype=np.float64)
    model.dense_layers[0].b[:2] = -100.0
    model.activation_layers[0].alpha.value[0] = 0.0  # unit 0: slope 0 and negative everywhere: dead
    rep = diagnostics.dead_units(model, _probe(d=6))[0]
    assert rep.dead[0] and not rep.dead[1] and rep.inactive[0] and rep.inactive[1]


def test_derivative_at_zero_override_decides_exact_zero_units():
    X = _probe(d=4)
    for dz, dead in ((None, True), (1.0, False)):
        model = nn.Sequential([nn.Dense(4, 3, init="zeros", dtype=np.float64), nn.Activation("relu",
                               derivative_at_zero=dz), nn.Dense(3, 2, dtype=np.float64, seed=0)])
        assert diagnostics.dead_units(model, X)[0].dead.all() == dead  # z == 0 exactly for every sample


def test_from_recorder_agrees_and_does_not_touch_gradients():
    model = nn.mlp("6-12-12-3", activation="relu", seed=2, dtype=np.float64)
    model.dense_layers[1].b[:3] = -30.0
    X = _probe()
    model.flat_grad[:] = 7.0
    a = diagnostics.dead_units(model, X, batch_size=37)  # chunked
    assert np.all(model.flat_grad == 7.0)
    with nn.record(model, what=("pre",), summary=False) as rec:
        model.forward(X[:100])
        model.forward(X[100:])
    b = diagnostics.from_recorder(rec)
    for ra, rb in zip(a, b):
        np.testing.assert_array_equal(ra.dead, rb.dead)
        np.testing.assert_array_equal(ra.saturated, rb.saturated)
        assert ra.samples == rb.samples == len(X)
    assert a[1].dead[:3].all()


def test_gradient_summary_matches_torch_and_flags():
    model = nn.mlp("6-10-10-3", activation="tanh", seed=3, dtype=np.float64)
    X, y = _probe(), np.arange(200) % 3
    g = diagnostics.gradient_summary(model, X, y)
    ts = [torch.tensor(d.W, requires_grad=True) for d in model.dense_layers]
    bs = [torch.tensor(d.b) for d in model.dense_layers]
    h = torch.tensor(X)
    for k, (W, b) in enumerate(zip(ts, bs)):
        h = h @ W + b
        if k < len(ts) - 1:
            h = torch.tanh(h)
    torch.nn.functional.cross_entropy(h, torch.tensor(y)).backward()
    for gl, W in zip(g, ts):
        assert gl.norm == pytest.approx(float(W.grad.norm()), rel=1e-10)
    flags = [x.flag for x in diagnostics.gradient_summary(None, norms=[1e-4, 1.0, 500.0, 0.0, math.nan, 2.0])]
    assert flags == ["vanishing", "ok", "exploding", "zero", "non-finite", "ok"]


def test_diagnostics_bad_input_is_one_clear_error():
    model = nn.mlp("6-4-3", seed=0)
    with pytest.raises(ActlabError, match="sat_most"):
        diagnostics.dead_units(model, _probe(), sat_most=0)
    with pytest.raises(ActlabError, match="takes inputs of shape"):
        diagnostics.dead_units(model, np.zeros((5, 3)))
    with pytest.raises(ActlabError, match="at least one input row"):
        diagnostics.dead_units(model, np.zeros((0, 6)))
    rec = nn.Recorder(model)  # summary mode
    with pytest.raises(ActlabError, match="summary=False"):
        diagnostics.from_recorder(rec)
    with pytest.raises(ActlabError, match="data"):
        diagnostics.gradient_summary(model)


def test_cli_diagnose(tmp_path, capsys):
    model = nn.mlp("784-16-16-10", activation="relu", seed=0)
    model.dense_layers[0].b[:4] = -1000.0  # 4 of 16 first-layer units can never fire
    path = tmp_path / "m.npz"
    nn.save(model, path)
    assert cli.main(["diagnose", str(path), "--limit", "300"]) == 0
    out = capsys.readouterr().out
    from actlab import data

    X, _ = data.load_mnist(split="test")
    d0 = model.dense_layers[0]
    z = torch.tensor(np.asarray(X[:300], np.float64)) @ torch.tensor(d0.W, dtype=torch.float64) + torch.tensor(
        d0.b, dtype=torch.float64)
    want = float(np.mean(np.all(torch.relu(z).numpy() == 0, axis=0)))
    assert want >= 0.25
    row = next(line for line in out.splitlines() if line.strip().startswith("1 ") and "relu" in line)
    assert f"{want:.1%}" in row and "dead if |f'(z)| <= 0.001" in out
    assert cli.main(["diagnose", str(tmp_path / "missing.npz")]) == 2
    assert "No model file" in capsys.readouterr().err


# ---------------------------------------------------------------- the experiments at quick size

def test_dying_relu_numbers():
    n = quick("dying_relu").outcome.numbers
    b = n["settings"]["main"]
    relu = b["relu"]
    assert relu["1"]["died"]["mean"] > relu["0.1"]["died"]["mean"] + 0.2  # a large rate kills units
    assert "1" in b["arms"]["relu + BatchNorm"]
    assert all(v["died"]["mean"] <= 0.05 for v in b["arms"]["relu + BatchNorm"].values())  # BatchNorm keeps them
    for a in ("leaky_relu", "prelu"):  # judged by recovery and accuracy, never by the dead-unit definition
        assert all("acc_diff" in v for v in b["arms"][a].values())
    # first-layer dead units never revive: their input (the data) is fixed
    assert all(v["recovered_per_layer"][0]["k"] == 0 for v in relu.values() if "recovered_per_layer" in v)
    assert sum(v["recovered_per_layer"][0]["n"] for v in relu.values() if "recovered_per_layer" in v) > 0


def test_dying_relu_verdict_follows_numbers():
    rule = E.get("dying_relu").verdict
    n = copy.deepcopy(quick("dying_relu").outcome.numbers)
    assert rule(n).verdict == E.CAVEATS  # the leaky variants diverge or lose units where ReLU dies
    for b in n["settings"].values():  # no rate kills more units than the smallest: refuted everywhere
        first = next(iter(b["relu"].values()))
        for v in b["relu"].values():
            if "died" in v:
                v["died"], v["died_seeds"] = dict(first["died"]), list(first["died_seeds"])
    assert rule(n).verdict == E.REFUTED


def test_born_dead_monte_carlo_against_closed_forms():
    from actlab.claims.experiments import born_dead as B

    # width 1, zero biases: layer 1 is never constant over inputs spread around 0; every later layer is
    # dead exactly when its single weight is negative, so P(dead by L) = 1 - 2^-(L - 1).
    r = B._monte_carlo({"seed": 0, "width": 1, "bias_std": 0.0, "nets": 4000, "inputs": 64, "max_depth": 6,
                        "d_in": 2})
    p = np.array(r["dead_by_depth"]) / 4000
    exact = 1 - 2.0 ** -(np.arange(1, 7) - 1)
    assert np.all(np.abs(p - exact) <= 4 * np.sqrt(exact * (1 - exact) / 4000) + 1e-12)
    # the single-input formula with mpmath
    from mpmath import mp, mpf

    with mp.workdps(40):
        for N, L in ((2, 1), (3, 10), (8, 100), (40, 7)):
            want = 1 - (1 - mpf(2) ** -N) ** L
            assert float(B.theory(N, L)) == pytest.approx(float(want), rel=1e-13)
    n = quick("born_dead").outcome.numbers
    assert n["x0_formula_max_z"] < 5  # the Monte Carlo at one input agrees with the formula
    dead = n["dead"]["0"]
    for N in n["widths"]:
        ps = [dead[str(N)][str(d)]["mean"] for d in n["depths"]]
        assert ps == sorted(ps) and all(dead[str(N)][str(d)]["mean"] <= dead[str(N)][str(d)]["theory"] + 0.05
                                        for d in n["depths"])
    assert dead["2"][str(n["max_depth"])]["mean"] > 0.95 and dead["8"]["1"]["mean"] == 0.0
    for v in n["propagation"].values():  # one zero does not zero the next layer
        assert 0.3 < v["next_zero_given_zero"]["mean"] < 0.7 and v["newly_zero_after_forcing_one"]["mean"] < 0.1


def test_born_dead_verdict_follows_numbers():
    rule = E.get("born_dead").verdict
    n = copy.deepcopy(quick("born_dead").outcome.numbers)
    assert rule(n).verdict == E.REFUTED
    for v in n["propagation"].values():
        v["next_zero_given_zero"]["mean"] = 1.0
    assert rule(n).verdict == E.CONFIRMED


def test_relu_kink_numbers():
    n = quick("relu_kink").outcome.numbers
    m, b = n["mnist"], n["blank_rows"]
    assert sum(m["zero_pre_total"]) == 0 and all(c["bitwise_equal"] for c in m["compare"].values())
    assert 0.7 < m["input_zero_frac"]["mean"] < 0.9  # MNIST background pixels
    assert sum(b["zero_pre_step0"]) > 0 and sum(b["zero_pre_total"]) >= sum(b["zero_pre_step0"])
    assert not b["compare"]["1"]["bitwise_equal"] and b["compare"]["1"]["first_diff_step"] >= 1


def test_relu_kink_verdict_follows_numbers():
    rule = E.get("relu_kink").verdict
    n = copy.deepcopy(quick("relu_kink").outcome.numbers)
    assert rule(n).verdict == E.CONFIRMED
    n["blank_rows"]["compare"]["1"]["max_abs_acc_diff"] = 0.05
    assert rule(n).verdict == E.CAVEATS
    n["mnist"]["compare"]["0.5"]["max_abs_acc_diff"] = 0.05
    assert rule(n).verdict == E.REFUTED
    for variant in ("float16", "batchnorm"):  # the published sensitivities: "depends on" when they show
        m = copy.deepcopy(quick("relu_kink").outcome.numbers)
        m[variant]["compare"]["1"]["max_abs_acc_diff"] = 0.05
        v = rule(m)
        assert v.verdict == E.CAVEATS and f"It depends on {variant}" in v.reasoning
    # "almost never" is a rate: one exact zero that parts the runs without changing the accuracy still confirms,
    # zeros above the rate do not
    m = copy.deepcopy(quick("relu_kink").outcome.numbers)
    total = m["mnist"]["pre_entries"] * len(m["mnist"]["zero_pre_total"])
    m["rare"] = 2 / total  # the quick run has few values: make one zero a rare one
    m["mnist"]["zero_pre_total"][0] = 1
    m["mnist"]["compare"]["1"]["bitwise_equal"] = False
    assert rule(m).verdict == E.CONFIRMED
    m["mnist"]["zero_pre_total"][0] = int(total * m["rare"]) + 1
    v = rule(m)
    assert v.verdict == E.CAVEATS and "not rare" in v.reasoning


def test_relu_kink_float16_variant_counts_the_zeros_of_the_rounded_input():
    from actlab.claims.experiments import relu_kink as K

    half = K._half_activation(nn)("relu", derivative_at_zero=0.5)
    x = np.array([[1e-9, -2e-8, 0.5, -3.0, 6e-8]], np.float32)  # float16's smallest subnormal is 2^-24
    y = half.forward(x, train=True)
    assert half.zeros == [int(np.count_nonzero(x.astype(np.float16) == 0))] == [2]
    g = half.backward(np.ones_like(x))  # the rounded zeros read relu'(0)
    np.testing.assert_array_equal(g, np.where(x.astype(np.float16) == 0, 0.5, (x > 0).astype(np.float32)))
    assert y.dtype == np.float32 and y[0, 2] == np.float32(np.float16(0.5))
    n = quick("relu_kink").outcome.numbers
    assert set(K.VARIANTS) <= set(n) and n["batchnorm"]["pre_entries"] > 0


def test_derivative_at_zero_is_used_in_backward():
    # relu'(0) = 0.5 at exact zeros, 1 / 0 elsewhere, against torch's relu with the kink value patched in
    x = np.array([[-1.0, 0.0, 2.0, -0.0]])
    layer = nn.Activation("relu", derivative_at_zero=0.5)
    layer.forward(x)
    g = layer.backward(np.ones_like(x))
    t = torch.tensor(x, requires_grad=True)
    torch.relu(t).sum().backward()
    want = np.where(x == 0, 0.5, t.grad.numpy())
    np.testing.assert_array_equal(g, want)
