"""Claim 8, zero-centring: the measured facts against independent computations (PyTorch
autograd, NumPy), the race's numbers against its own runs, and the verdict rule against
doctored numbers (every condition it names must be able to turn the verdict)."""

import copy
import json
import math

import numpy as np
import pytest

import actlab
from actlab import claims as E
from actlab import nn
from actlab.claims.experiments import zero_centring as Z
from actlab.claims.runner import Runner

# The experiment runs once per module (a tiny size); keep these tests on one xdist worker.
pytestmark = pytest.mark.xdist_group(__name__)  # its module fixtures computed once, on one worker

TINY = {"seeds": 2, "tune_seeds": 1, "train": 600, "eval_examples": 300, "lrs": (1.0, 4.0, 16.0),
        "error_targets": (0.3,), "loss_targets": (1.0,), "max_steps": 150, "checkpoints": 12,
        "robust_depths": (2,), "robust_widths": (32,), "probe": 16, "toy_lrs": (0.125, 0.5, 2.0, 4.0),
        "toy_steps": 120}


@pytest.fixture(scope="module")
def result():
    return E.run("zero_centring", "quick", overrides=TINY, runner=Runner(None, workers=1, progress=False))


@pytest.fixture(scope="module")
def numbers(result):
    return result.outcome.numbers


# ---------------------------------------------------------------- the mechanism, measured and checked

def test_one_sign_rows_exact_after_nonnegative_layers(numbers):
    os_ = numbers["one_sign"]
    for a in ("sigmoid", "relu"):  # layers 2..4 take sigmoid / ReLU outputs: every row one-signed, per example
        assert os_["per_example_by_layer"][a][1:] == [1.0] * 3 and os_["per_example_min"][a] == 1.0
        assert numbers["hidden_outputs_nonneg_frac"][a]["mean"] == 1.0
    for a in (Z.CENTRED, "tanh"):  # 64 inputs of both signs: a one-signed row is a 2^-63 event
        assert max(os_["per_example_by_layer"][a][1:]) < 0.05
        assert 0.2 < numbers["hidden_outputs_nonneg_frac"][a]["mean"] < 0.8
    for a in Z.MECH_ACTS:  # layer 1 takes centred pixels in every arm
        assert os_["first_layer_per_example"][a]["mean"] < 0.05
    assert os_["per_batch"]["sigmoid"]["mean"] <= 1.0


def _rows_one_signed(G_out_in: np.ndarray) -> float:
    """Rows (PyTorch layout) whose non-zero entries share a sign: written independently of
    the experiment's one_sign_fraction."""
    rows = [r[r != 0] for r in G_out_in if np.any(r != 0)]
    return float(np.mean([bool(np.all(r > 0) or np.all(r < 0)) for r in rows]))


def test_engine_gradients_and_one_sign_rows_match_torch(numbers):
    import torch

    X, y = Z.mnist_subset(0, 600)
    for arm, act in (("sigmoid", torch.sigmoid), (Z.CENTRED, lambda z: torch.sigmoid(z) - 0.5)):
        model = Z.arm_model(arm, 3, 64, "xavier_normal", 0, dtype=np.float64)
        Ws = [torch.tensor(d.params()[0].value.copy(), requires_grad=True) for d in model.dense_layers]
        bs = [torch.tensor(d.params()[1].value.copy()) for d in model.dense_layers]
        loss = nn.SoftmaxCrossEntropy()
        fracs = []
        for i in range(6):
            h = torch.tensor(X[i:i + 1], dtype=torch.float64)
            for k, (W, b) in enumerate(zip(Ws, bs)):
                h = h @ W + b
                if k < len(Ws) - 1:
                    h = act(h)
            grads = torch.autograd.grad(torch.nn.functional.cross_entropy(h, torch.tensor(y[i:i + 1])), Ws)
            loss.forward(model.forward(X[i:i + 1].astype(np.float64), train=True), y[i:i + 1])
            model.backward(loss.backward())
            for d, g in zip(model.dense_layers, grads):
                np.testing.assert_allclose(d.params()[0].grad, g.numpy(), rtol=1e-9, atol=1e-15)
            # torch's weight is (out, in): transpose actlab's (in, out) gradient to its rows
            fracs.append([_rows_one_signed(g.numpy().T) for g in grads[1:]])
            assert [Z.one_sign_fraction(g.numpy()) for g in grads[1:]] == fracs[-1]
        if arm == "sigmoid":
            assert np.all(np.array(fracs) == 1.0)
        else:
            assert np.max(fracs) < 0.05
    # and the experiment measured the same
    assert numbers["one_sign"]["per_example"]["sigmoid"]["mean"] == 1.0
    assert numbers["one_sign"]["per_example"][Z.CENTRED]["mean"] < 0.05


def test_centred_sigmoid_has_sigmoids_derivative():
    import torch

    x = np.linspace(-12, 12, 241)
    centred, sigmoid = actlab.get(Z.CENTRED), actlab.get("sigmoid")
    xt = torch.tensor(x, requires_grad=True)
    (torch.sigmoid(xt) - 0.5).sum().backward()
    np.testing.assert_allclose(centred.df(x), xt.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(centred.df(x), sigmoid.df(x), rtol=1e-12, atol=1e-15)
    # the same curve as sigmoid shifted down: odd, through 0, and equal to tanh(x / 2) / 2
    np.testing.assert_allclose(centred.f(x), np.tanh(x / 2) / 2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(centred.f(-x), -centred.f(x), atol=1e-15)


def test_arms_share_weights_and_same_start_computes_the_centred_network():
    import torch

    models = {a: Z.arm_model(a, 3, 32, "xavier_normal", 3, dtype=np.float64) for a in Z.ARMS}
    for a in Z.ARMS:
        for d, ref in zip(models[a].dense_layers, models["sigmoid"].dense_layers):
            np.testing.assert_array_equal(d.params()[0].value, ref.params()[0].value)
    shifted = [d.params()[1].value for d in models[Z.SAME_START].dense_layers]
    assert np.all(shifted[0] == 0) and all(np.any(b != 0) for b in shifted[1:])  # only layers after a sigmoid
    X = np.random.default_rng(0).normal(size=(20, 784))
    # the sigmoid(x) - 0.5 network, computed by torch from the shared weights and zero biases
    h = torch.tensor(X)
    dense = models[Z.CENTRED].dense_layers
    for k, d in enumerate(dense):
        h = h @ torch.tensor(d.params()[0].value) + torch.tensor(d.params()[1].value)
        if k < len(dense) - 1:
            h = torch.sigmoid(h) - 0.5
    np.testing.assert_allclose(models[Z.SAME_START].forward(X), h.numpy(), rtol=1e-10, atol=1e-12)
    assert np.max(np.abs(models["sigmoid"].forward(X) - h.numpy())) > 1e-3  # plain sigmoid starts elsewhere


# ---------------------------------------------------------------- the tuned comparisons

def test_toy_rates_are_tuned_per_condition(numbers):
    toy = numbers["toy"]
    assert toy["same_sign_updates"]["positive"]["mean"] == 1.0 > toy["same_sign_updates"]["centred"]["mean"]
    # gradient descent on the squared error is stable below 2 / (largest eigenvalue of E[x x^T]):
    # the positive inputs' mean makes that eigenvalue large, the centred ones' is small
    X = np.random.default_rng([0, 4]).uniform(0.0, 1.0, size=(256, 2)) + 0.5
    bound_pos = 2 / np.linalg.eigvalsh(X.T @ X / len(X)).max()
    Xc = X - X.mean(0)
    bound_cen = 2 / np.linalg.eigvalsh(Xc.T @ Xc / len(Xc)).max()
    assert toy["best_lr"]["positive"] < bound_pos < toy["best_lr"]["centred"] < bound_cen
    assert toy["ratio"]["lo"] > 1  # positive inputs remain slower at their own best rate


def test_race_numbers_follow_from_its_runs(result, numbers):
    race = numbers["race"]
    main = race["main_target"]
    assert main == "error<=0.3" and race["targets"] == ["error<=0.3", "loss<=1"]
    runs = result.outcome.raw["race"]
    for a in Z.ARMS:
        # the chosen rate is the best of the tuning runs (fewest misses, then fewest mean log steps)
        tuned = [r for r in runs if r["abandon"] and r["arm"] == a and r["depth"] == 3 and r["width"] == 64]
        assert {r["seed"] for r in tuned} == {Z.TUNE_SEED0}
        by_lr = {r["lr"]: r for r in tuned}
        assert set(by_lr) >= set(TINY["lrs"])

        def score(r):
            v = r["reach"][main]
            return (v is None, math.log(v) if v is not None else math.inf)

        assert score(by_lr[race["best_lr"][main][a]]) == min(score(r) for r in tuned)
    # the ratio is the geometric mean of the per-seed ratios of the race runs at the chosen rates
    for name, (num, den) in Z.COMPARISONS.items():
        def steps(arm):
            rs = sorted((r for r in runs if not r["abandon"] and r["arm"] == arm and r["depth"] == 3
                         and r["width"] == 64 and r["lr"] == race["best_lr"][main][arm]), key=lambda r: r["seed"])
            assert [r["seed"] for r in rs] == [0, 1]
            return [(r["reach"][main], r["floor"]) for r in rs]

        expect = [math.log(max(a if a is not None else fa, 1.0)) - math.log(max(b if b is not None else fb, 1.0))
                  for (a, fa), (b, fb) in zip(steps(num), steps(den)) if not (a is None and b is None)]
        r = race["ratio"][main][name]
        assert r["n"] == len(expect)
        if expect:
            assert r["mean"] == pytest.approx(math.exp(np.mean(expect)), rel=1e-9)
            assert r["lo"] <= r["mean"] <= r["hi"]
    assert [r["label"] for r in numbers["robustness"]] == ["depth 2", "width 32"]


def test_a_race_cell_is_reproducible(result):
    run = next(r for r in result.outcome.raw["race"] if not r["abandon"] and r["arm"] == Z.CENTRED)
    c = {k: v for k, v in run.items() if k not in ("reach", "diverged", "floor", "final_err", "last_step")}
    again = Z.cell(c)
    assert again["reach"] == run["reach"] and again["err"][-1] == run["final_err"]


def test_steps_ratio_and_call_helpers():
    assert Z.steps_to([0, 10, 100], [0.9, 0.5, 0.1], 0.5) == 10.0
    assert Z.steps_to([0, 10, 100], [0.9, 0.5, 0.1], 0.3) == pytest.approx(10 ** 1.5)
    assert Z.steps_to([0, 10], [0.9, 0.5], 0.1) == math.inf

    def run(v, floor=500.0):
        return {"reach": {"t": v}, "floor": floor}

    r = Z.ratio_ci([run(200.0), run(None), run(None)], [run(100.0), run(100.0), run(None)], "t")
    # seed 3 (neither got there) is left out; seed 2 counts its floor: a lower bound
    assert r["n"] == 2 and r["censored_num"] == 1 and r["censored_den"] == 0
    assert r["per_seed"] == pytest.approx([2.0, 5.0]) and r["mean"] == pytest.approx(math.sqrt(10))
    assert Z.call({"lo": 1.01, "hi": 2}) == "faster" and Z.call({"lo": 0.5, "hi": 0.99}) == "slower"
    assert Z.call({"lo": 0.9, "hi": 1.1}) == "no difference"


# ---------------------------------------------------------------- the verdict rule

def _ratio(lo, hi):
    return {"mean": math.sqrt(lo * hi), "lo": lo, "hi": hi, "n": 5, "censored_num": 0, "censored_den": 0,
            "per_seed": []}


FASTER, NONE, SLOWER = _ratio(1.5, 2.5), _ratio(0.8, 1.3), _ratio(0.4, 0.8)


@pytest.fixture
def good(numbers):
    """The measured numbers, doctored so that every condition of a confirmation holds."""
    n = copy.deepcopy(numbers)
    for name in Z.COMPARISONS:
        for t in n["race"]["targets"]:
            n["race"]["ratio"][t][name] = dict(FASTER)
    for r in n["robustness"]:
        r["ratio"] = dict(FASTER)
    for a in ("sigmoid", "relu"):
        n["one_sign"]["per_example_min"][a] = 1.0
    for a in (Z.CENTRED, "tanh"):
        n["one_sign"]["per_example"][a]["mean"] = 0.0
    n["one_sign"]["per_batch"]["relu"]["mean"] = 0.9  # ReLU's rows one-signed per mini-batch too, like sigmoid's
    return n


def _main(n, name):
    return n["race"]["ratio"][n["race"]["main_target"]][name]


def test_verdict_confirmed_when_everything_holds(good):
    v = Z.verdict(good)
    assert v.verdict == E.CONFIRMED and "costs speed" in v.reasoning
    assert Z.verdict(json.loads(json.dumps(good))) == v  # the rule reads only JSON-able numbers


@pytest.mark.parametrize("doctor, phrase", [
    (lambda n: n["one_sign"]["per_example_min"].__setitem__("sigmoid", 0.97), "sigmoid or ReLU"),
    (lambda n: n["one_sign"]["per_example_min"].__setitem__("relu", 0.97), "sigmoid or ReLU"),
    (lambda n: n["one_sign"]["per_example"][Z.CENTRED].__setitem__("mean", 0.9), "centred activations"),
    (lambda n: n["one_sign"]["per_example"]["tanh"].__setitem__("mean", 0.9), "centred activations"),
    (lambda n: n["surface_sign_agrees_with_x1x2"].__setitem__("se/tanh", 0.9), "surfaces"),
])
def test_verdict_mechanism_failure_refutes(good, doctor, phrase):
    doctor(good)
    v = Z.verdict(good)
    assert v.verdict == E.REFUTED and v.reasoning.startswith("The mechanism fails") and phrase in v.reasoning


def test_verdict_centring_slower_refutes(good):
    _main(good, "centring").update(SLOWER)
    for r in good["robustness"]:
        r["ratio"] = dict(SLOWER)
    v = Z.verdict(good)
    assert v.verdict == E.REFUTED and "measurably slower" in v.reasoning


def test_verdict_says_when_the_difference_vanishes_once_tuned(good):
    _main(good, "centring").update(NONE)
    for r in good["robustness"]:
        r["ratio"] = dict(NONE)
    v = Z.verdict(good)
    assert v.verdict == E.CAVEATS and "speed difference vanishes" in v.reasoning


@pytest.mark.parametrize("which, kind", [(0, "depth"), (1, "width")])
@pytest.mark.parametrize("flip", [NONE, SLOWER])
def test_verdict_depends_on_a_neighbour(good, which, kind, flip):
    good["robustness"][which]["ratio"] = dict(flip)
    v = Z.verdict(good)
    assert v.verdict == E.CAVEATS and f"depends on {kind}" in v.reasoning
    assert good["robustness"][which]["label"] in v.reasoning


def test_verdict_vanishing_main_with_a_faster_neighbour_depends(good):
    _main(good, "centring").update(NONE)
    good["robustness"][1]["ratio"] = dict(NONE)  # the depth neighbour stays faster
    v = Z.verdict(good)
    assert v.verdict == E.CAVEATS and "depends on depth" in v.reasoning


@pytest.mark.parametrize("name, phrase", [("tanh", "tanh, the second centred reference"),
                                          ("same start", "starting point rather than the update geometry")])
def test_verdict_caveats_from_the_controls(good, name, phrase):
    _main(good, name).update(NONE)
    v = Z.verdict(good)
    assert v.verdict == E.CAVEATS and phrase in v.reasoning


def test_verdict_caveat_when_relu_rows_mix_per_mini_batch(good, numbers):
    good["one_sign"]["per_batch"]["relu"]["mean"] = 0.02
    v = Z.verdict(good)
    assert v.verdict == E.CAVEATS and "for ReLU, the claim's own activation" in v.reasoning
    assert numbers["one_sign"]["per_batch"]["relu"]["mean"] < 0.5  # what was measured at the tiny size


def test_verdict_reports_censored_runs_as_bounds(good):
    _main(good, "centring")["censored_num"] = 2
    v = Z.verdict(good)
    assert v.verdict == E.CONFIRMED and "a lower bound: 2 non-centred run(s) never got there" in v.reasoning
