"""Claims 3 and 13: vanishing gradients and ReLU sparsity.

Each experiment is run end to end once at a tiny size (module fixtures); its verdict rule
is then fed doctored copies of those numbers. The measurements themselves are checked
against independent references: PyTorch autograd for the per-layer gradient norms.
"""

import copy
import math

import numpy as np
import pytest
import torch

import actlab
from actlab import claims as E
from actlab import nn
from actlab.claims.experiments import relu_sparsity as S
from actlab.claims.experiments import vanishing_gradients as V
from actlab.claims.runner import Runner

# The quick results are computed once per process: keep these tests on one xdist worker.
pytestmark = pytest.mark.xdist_group(__name__)  # its module fixtures computed once, on one worker

TINY = {
    "vanishing_gradients": {"seeds": 2, "activations": "sigmoid,relu", "depths": "2,12", "width": 32, "batch": 16,
                            "train_depth": 3, "train_steps": 10, "train_batch": 16, "record_every": 5,
                            "hist_examples": 100},
    "relu_sparsity": {"seeds": 2, "activations": "relu,tanh,gelu", "width": 16, "hidden": 2, "steps": 20,
                      "eval_examples": 100, "growth_activations": "relu,tanh", "growth_depth": 6, "growth_width": 64,
                      "growth_examples": 64},
}


@pytest.fixture(scope="module")
def results():
    out = {}
    with Runner(None, workers=1, progress=False) as runner:
        for name, sets in TINY.items():
            out[name] = E.run(name, "quick", overrides=sets, runner=runner)
    return out


@pytest.mark.parametrize("name", list(TINY))
def test_runs_end_to_end(results, name):
    res = results[name]
    assert res.verdict.verdict in E.VERDICTS and res.verdict.key
    assert res.outcome.figures and all(f.png.startswith(b"\x89PNG") for f in res.outcome.figures)
    assert res.outcome.raw and res.outcome.settings
    d = res.to_dict()  # JSON-able, per-seed raw data included
    assert E.Result.from_dict(d).verdict == res.verdict


def test_registered_with_numbers():
    assert {E.get(n).number for n in TINY} == {3, 13}


def test_set_parses_init_specs():
    cfg = E.make_config("vanishing_gradients", "quick", overrides={"inits": "normal(std=0.01),he_normal",
                                                                   "depths": "2,5"})
    assert cfg.inits == ("normal(std=0.01)", "he_normal") and cfg.depths == (2, 5)


# --------------------------------------------------------------------------- claim 3


@pytest.mark.parametrize("act", ["sigmoid", "relu", "gelu", "tanh"])
def test_gradient_profile_matches_torch(act):
    """||dL/dz_k|| from the engine's Recorder equals PyTorch autograd on the same weights."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(12, 20))
    y = rng.integers(0, 10, 12)
    depth, width, seed = 4, 16, 5
    prof = V._profile(act, "xavier_normal", depth, width, X, y, seed)
    model = nn.mlp([20, *[width] * depth, 10], activation=act, init="xavier_normal", seed=[seed, depth],
                   dtype=np.float64)  # the same weights
    fns = {"sigmoid": torch.sigmoid, "relu": torch.relu, "gelu": torch.nn.functional.gelu, "tanh": torch.tanh}
    h = torch.tensor(X)
    zs = []
    for i, d in enumerate(model.dense_layers):
        z = h @ torch.tensor(d.W, requires_grad=True) + torch.tensor(d.b, requires_grad=True)
        if i < depth:
            z.retain_grad()
            zs.append(z)
            h = fns[act](z)
        else:
            h = z
    torch.nn.functional.cross_entropy(h, torch.tensor(y)).backward()
    expected = [float(z.grad.norm()) for z in zs]
    np.testing.assert_allclose(prof["grad_pre"], expected, rtol=1e-10)


def test_classify_thresholds():
    assert V.classify(-2.01) == "vanishes" and V.classify(-1.99) == "kept"
    assert V.classify(2.01) == "explodes" and V.classify(1.99) == "kept"


def _set_ratio(numbers, act, init, value):
    L = str(numbers["max_depth"])
    numbers["log10_ratio"][act][init][L] = {"mean": value, "lo": value, "hi": value, "sd": 0.0, "n": 2}


def test_vanishing_measured_facts(results):
    n = results["vanishing_gradients"].outcome.numbers
    L = str(n["max_depth"])
    r = n["log10_ratio"]
    # sigmoid' <= 1/4 with Xavier weights: far more than two decades lost over 12 layers
    assert r["sigmoid"]["xavier_normal"][L]["hi"] < -2
    # ReLU: He keeps it, std 0.01 vanishes, std 1 explodes
    assert abs(r["relu"]["he_normal"][L]["mean"]) < 1
    assert r["relu"]["normal(std=0.01)"][L]["hi"] < -2 and r["relu"]["normal(std=1)"][L]["lo"] > 2


BACKWARD = ("sigmoid_vanishes", "relu_never", "relu_mitigates")


def test_sigmoid_outputs_do_not_shrink_layer_by_layer(results):
    n = results["vanishing_gradients"].outcome.numbers
    for h in n["dlfs_histograms"]["sigmoid"].values():  # the forward values stay in the middle of (0, 1)
        assert all(0.2 < m < 0.8 for m in h["mean_per_layer"])
    assert V.parts(n)["values_shrink"][0] == E.REFUTED
    shrinking = copy.deepcopy(n)
    for h in shrinking["dlfs_histograms"]["sigmoid"].values():
        h["mean_per_layer"] = [0.5 * 0.1 ** k for k in range(len(h["mean_per_layer"]))]
    assert V.parts(shrinking)["values_shrink"][0] == E.CONFIRMED


def test_vanishing_verdict_judges_each_sentence(results):
    n = results["vanishing_gradients"].outcome.numbers
    p = V.parts(n)  # ReLU vanishes with std 0.01 and explodes with std 1: "never" is refuted
    assert p["relu_never"][0] == E.REFUTED and p["relu_mitigates"][0] == E.CONFIRMED
    assert V.verdict(n).verdict == E.CAVEATS and "[ReLU greatly mitigates it" in V.verdict(n).reasoning
    ideal = copy.deepcopy(n)
    for i in ideal["inits"]:
        _set_ratio(ideal, "sigmoid", i, -10.0)
        _set_ratio(ideal, "relu", i, -0.1)
    for h in ideal["dlfs_histograms"]["sigmoid"].values():  # and the forward values shrinking, as 000 says
        h["mean_per_layer"] = [0.5 * 0.1 ** k for k in range(len(h["mean_per_layer"]))]
    assert V.verdict(ideal).verdict == E.CONFIRMED
    no_relu = copy.deepcopy(ideal)
    for i in no_relu["inits"]:
        _set_ratio(no_relu, "relu", i, -5.0)
    p = V.parts(no_relu)  # ReLU vanishes too, if less: "never" is refuted, "mitigates" only partly holds
    assert [p[k][0] for k in BACKWARD] == [E.CONFIRMED, E.REFUTED, E.CAVEATS]
    assert V.verdict(no_relu).verdict == E.CAVEATS
    nothing = copy.deepcopy(no_relu)
    for i in nothing["inits"]:
        _set_ratio(nothing, "sigmoid", i, -0.5)
    nothing["dlfs_histograms"] = n["dlfs_histograms"]  # the measured ones: flat near 0.5
    assert [V.parts(nothing)[k][0] for k in BACKWARD] == [E.REFUTED] * 3 and V.verdict(nothing).verdict == E.REFUTED
    some = copy.deepcopy(ideal)
    _set_ratio(some, "sigmoid", "normal(std=1)", -0.5)  # large weights keep sigmoid's norm
    assert V.parts(some)["sigmoid_vanishes"][0] == E.CAVEATS and V.verdict(some).verdict == E.CAVEATS


def test_dlfs_histograms_cover_tanh_negative_half():
    out = V.cell({"kind": "hist", "act": "tanh", "init": "Xavier", "seed": 0, "examples": 200, "layers": 3,
                  "bins": 10})
    assert out["edges"][0] == -1.0 and out["edges"][-1] == 1.0
    for layer in out["layers"]:
        assert math.isclose(sum(layer["hist"]), 1.0) and layer["frac_clipped"] == 0.0
        assert 0.3 < sum(layer["hist"][:5]) < 0.7  # tanh is odd: about half the values are negative


# --------------------------------------------------------------------------- claim 13


def test_growth_cell_matches_numpy_forward():
    c = {"kind": "growth", "act": "relu", "bn": False, "gain_factor": 1.5, "seed": 1, "depth": 4, "width": 32,
         "examples": 40}
    out = S.cell(c)
    model = nn.mlp([784, *[32] * 4, 10], activation="relu", init="he", gain=1.5 * actlab.get("relu").gain,
                   seed=1, dtype=np.float64)
    Xt, _ = actlab.data.load_mnist(split="test")
    h = np.asarray(Xt[np.random.default_rng([1, 8]).choice(len(Xt), 40, replace=False)], np.float64)
    for k, d in enumerate(model.dense_layers[:-1]):
        h = np.maximum(h @ d.W + d.b, 0.0)
        assert math.isclose(out["rms"][k], float(np.sqrt(np.mean(h * h))), rel_tol=1e-9)


def test_sparsity_measured_facts(results):
    sp = results["relu_sparsity"].outcome.numbers["sparsity"]
    # symmetric pre-activations at initialisation: about half of ReLU's outputs are exactly 0
    assert 0.35 < sp["relu"]["init"]["frac_zero"]["mean"] < 0.65
    assert sp["tanh"]["init"]["frac_zero"]["mean"] < 1e-3


def test_sparsity_verdict_follows_numbers(results):
    n = results["relu_sparsity"].outcome.numbers
    base = copy.deepcopy(n)  # He keeps the scale, 1.5 x He grows, BatchNorm flat: the measured pattern
    base["growth"]["relu"]["plain"]["1.0"]["factor"] = {"mean": 1.0, "lo": 0.95, "hi": 1.05, "sd": 0.02, "n": 2}
    base["growth"]["relu"]["plain"]["1.5"]["factor"] = {"mean": 1.5, "lo": 1.4, "hi": 1.6, "sd": 0.05, "n": 2}
    base["growth"]["relu"]["bn"]["1.5"]["factor"] = {"mean": 1.0, "lo": 0.99, "hi": 1.01, "sd": 0.01, "n": 2}
    for phase in ("init", "trained"):
        base["sparsity"]["relu"][phase]["frac_zero"] = {"mean": 0.5, "lo": 0.45, "hi": 0.55, "sd": 0.01, "n": 2}
    assert S.verdict(base).verdict == E.CAVEATS
    n = base
    dense = copy.deepcopy(n)
    dense["sparsity"]["relu"]["init"]["frac_zero"] = {"mean": 0.02, "lo": 0.01, "hi": 0.03, "sd": 0.01, "n": 2}
    assert S.verdict(dense).verdict == E.REFUTED
    grows = copy.deepcopy(n)
    grows["growth"]["relu"]["plain"]["1.0"]["factor"] = {"mean": 1.3, "lo": 1.25, "hi": 1.35, "sd": 0.02, "n": 2}
    grows["growth"]["relu"]["bn"]["1.5"]["factor"] = {"mean": 1.0, "lo": 0.99, "hi": 1.01, "sd": 0.01, "n": 2}
    grows["growth"]["relu"]["plain"]["1.5"]["factor"] = {"mean": 1.5, "lo": 1.4, "hi": 1.6, "sd": 0.05, "n": 2}
    assert S.verdict(grows).verdict == E.CONFIRMED
    flat = copy.deepcopy(grows)
    flat["growth"]["relu"]["plain"]["1.5"]["factor"] = {"mean": 1.0, "lo": 0.95, "hi": 1.05, "sd": 0.02, "n": 2}
    assert S.verdict(flat).verdict == E.REFUTED
