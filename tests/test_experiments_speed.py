"""Claims 4 and 5 (ReLU's speed of convergence and of computation): helpers against
independent computations, tiny runs for structure and reproducibility, and the verdict
rules on doctored numbers (timings themselves are never asserted)."""

import copy
import functools
import math

import numpy as np
import pytest
from scipy import stats

from actlab import claims as E
from actlab.claims.experiments import relu_compute_cost as RC
from actlab.claims.experiments import relu_convergence as RV
from actlab.claims.runner import Runner, SerialExecutor
from actlab.errors import ActlabError

# The quick results are computed once per process: keep these tests on one xdist worker.
pytestmark = pytest.mark.xdist_group(__name__)  # its module fixtures computed once, on one worker

TINY_RACE = {"depths": "1,2", "width": "16", "activations": "relu,tanh,sigmoid", "lrs": "0.3,1.0", "fixed_lr": "0.3",
             "targets": "0.6,0.35", "train": "600", "eval_examples": "300", "max_steps": "60", "checkpoints": "12",
             "batch_size": "32"}
TINY_COST = {"activations": "relu,tanh,sigmoid", "n": "20000", "repeat": "1", "archs": "784-16-10,784-8-8-10",
             "steps": "3", "warmup": "1"}


@functools.cache
def tiny(name: str) -> E.Result:
    runner = Runner(None, executor=SerialExecutor(), progress=False)
    sets = TINY_RACE if name == "relu_convergence" else TINY_COST
    return E.run(name, "quick", seeds=2, overrides=sets, runner=runner)


# ---------------------------------------------------------------- claim 4: helpers

def test_steps_to_matches_numpy_interpolation_in_log_steps():
    steps = RV.checkpoint_steps(500, 15)
    rng = np.random.default_rng(0)
    err = np.sort(rng.uniform(0.01, 0.9, len(steps)))[::-1]  # strictly decreasing curve
    for target in (0.8, 0.5, 0.2, 0.05):
        want = math.exp(np.interp(target, err[1:][::-1], np.log(steps[1:])[::-1]))
        if target < err[1]:
            assert RV.steps_to(steps, err, target) == pytest.approx(want, rel=1e-12)
    assert RV.steps_to(steps, err, err[4]) == steps[4]  # a checkpoint exactly on the target
    assert RV.steps_to(steps, err, 0.001) == math.inf
    assert RV.steps_to([0, 1, 2], [0.2, 0.1, 0.0], 0.5) == 0.0


def test_checkpoints_are_log_spaced_and_end_at_the_budget():
    s = RV.checkpoint_steps(2000, 40)
    assert s[0] == 0 and s[1] == 1 and s[-1] == 2000 and s == sorted(set(s))
    ratios = [b / a for a, b in zip(s[1:], s[2:]) if a >= 20]  # rounding aside, a constant factor
    assert max(ratios) <= 2000 ** (1 / 39) * (1 + 1 / 20)


def test_ratio_is_a_t_interval_on_log_ratios():
    num, den = [30.0, 45.0, 20.0, 60.0], [10.0, 12.0, 9.0, 11.0]
    r = RV._ratio(num, den, floors=[1000.0] * 4)
    logs = np.log(np.array(num) / np.array(den))
    half = stats.t.ppf(0.975, len(logs) - 1) * logs.std(ddof=1) / math.sqrt(len(logs))
    assert r["mean"] == pytest.approx(stats.gmean(np.array(num) / np.array(den)), rel=1e-12)
    assert (r["lo"], r["hi"]) == pytest.approx((math.exp(logs.mean() - half), math.exp(logs.mean() + half)), rel=1e-12)
    # a run that never got there counts as the steps it ran (a lower bound); a ReLU miss drops the seed
    c = RV._ratio([math.inf, 20.0, 30.0], [10.0, math.inf, 10.0], floors=[100.0, 5.0, 5.0])
    assert c["censored"] == 1 and c["n"] == 2 and c["mean"] == pytest.approx(math.sqrt(10 * 3))


def test_init_family_and_bad_settings():
    assert [RV.init_for(a) for a in ("relu", "gelu", "sigmoid", "tanh", "selu")] == [
        "he_normal", "he_normal", "xavier_normal", "xavier_normal", "lecun_normal"]
    with pytest.raises(ActlabError, match="'targets' setting of relu_convergence"):
        E.make_config("relu_convergence", overrides={"targets": "0.25,x"})
    with pytest.raises(ActlabError, match="'clock' parameter of relu_compute_cost"):
        E.make_config("relu_compute_cost", overrides={"clock": "cpo"})


# ---------------------------------------------------------------- claim 4: a tiny race

def test_race_structure_and_consistency():
    r = tiny("relu_convergence")
    n = r.outcome.numbers
    runs = r.outcome.raw["runs"]
    assert len(runs) == 2 * 3 * 2 * 2 and {f.name for f in r.outcome.figures} == {"curves", "ratios"}
    assert {run["arch"] for run in runs} == {"784-16-10", "784-16-16-10"} and n["depths"] == [1, 2]
    for run in runs:
        easy, hard = run["reach"]["0.6"], run["reach"]["0.35"]
        assert easy <= hard  # an error of 35 % is reached no earlier than 60 %
        assert run["last_step"] <= 60 and 0.0 <= run["final_err"] <= 1.0
        assert (hard <= run["last_step"]) == math.isfinite(hard)
        if run["lr"] == 0.3:  # the fixed rate: never abandoned, so a miss ran the whole budget or diverged
            assert math.isfinite(hard) or run["last_step"] == 60 or run["diverged"]
    # the fair rate of each target at each depth: fewest misses, then fewest mean log steps to that target
    for d, arch in ((1, "784-16-10"), (2, "784-16-16-10")):
        for t in ("0.6", "0.35"):
            for a in ("relu", "tanh", "sigmoid"):
                def cost(lr, a=a, t=t, arch=arch):
                    vals = [x["reach"][t] for x in runs if x["activation"] == a and x["lr"] == lr and x["arch"] == arch]
                    return (sum(not math.isfinite(v) for v in vals), np.mean([math.log(min(v, 120.0)) for v in vals]))
                assert cost(n["by_depth"][str(d)]["best_lr"][t][a]) == min(cost(0.3), cost(1.0))
        assert set(n["by_depth"][str(d)]["ratio"]["fair"]["0.6"]) == {"tanh", "sigmoid"}


def test_race_cell_is_reproducible_by_plain_training():
    """The error curve recorded through the callback is what plain fit() gives at that step."""
    from actlab import data, nn

    c = {"activation": "tanh", "lr": 0.3, "seed": 1, "arch": "784-16-10", "train": 400, "eval": 200,
         "batch_size": 32, "max_steps": 30, "checkpoints": 6, "targets": [0.01], "init": "family", "abandon": True}
    out = RV.cell(c)
    X, y = data.load_mnist(split="train")
    idx = np.random.default_rng([1, 4]).choice(len(X), 400, replace=False)
    model = nn.mlp("784-16-10", activation="tanh", init="xavier_normal", seed=1)
    nn.fit(model, X[idx], y[idx], lr=0.3, epochs=3, batch_size=32, seed=1, max_steps=out["steps"][-1], progress=False)
    pred = model.predict(X[idx][:200])
    assert out["err"][-1] == float(np.mean(pred != y[idx][:200]))


def _race_numbers(fair, fixed=None, deep=None):
    """Doctored numbers: {activation: (mean, lo, hi)} at every target, at depth 1 (``fair``)
    and depth 2 (``deep``, default the same)."""
    n = copy.deepcopy(tiny("relu_convergence").outcome.numbers)
    for d, vals_fair in (("1", fair), ("2", deep or fair)):
        for mode, vals in (("fair", vals_fair), ("fixed", fixed or vals_fair)):
            for t in n["by_depth"][d]["ratio"][mode]:
                for a, (m, lo, hi) in vals.items():
                    n["by_depth"][d]["ratio"][mode][t][a] = {"mean": m, "lo": lo, "hi": hi, "n": 4, "censored": 0}
    return n


def test_race_verdict_follows_the_numbers():
    rule = E.get("relu_convergence").verdict
    assert rule(_race_numbers({"tanh": (6.0, 4.5, 8.0), "sigmoid": (7.0, 5.0, 9.0)})).verdict == E.CONFIRMED
    v = rule(_race_numbers({"tanh": (2.0, 1.4, 2.8), "sigmoid": (3.0, 2.0, 4.0)}))
    assert v.verdict == E.CAVEATS and "measurably faster, not by 6x" in v.reasoning
    v = rule(_race_numbers({"tanh": (0.7, 0.5, 1.1), "sigmoid": (2.5, 1.5, 4.0)}))
    assert v.verdict == E.CAVEATS and "Tanh: refuted" in v.reasoning
    assert "Sigmoid: confirmed with caveats" in v.reasoning
    assert rule(_race_numbers({"tanh": (0.7, 0.5, 1.1), "sigmoid": (1.1, 0.8, 1.5)})).verdict == E.REFUTED
    v = rule(_race_numbers({"tanh": (0.6, 0.45, 0.8), "sigmoid": (0.9, 0.5, 1.5)}))  # tanh beats ReLU everywhere
    assert v.verdict == E.REFUTED
    # the depths disagree: the line says so
    v = rule(_race_numbers({"tanh": (1.0, 0.8, 1.2), "sigmoid": (1.0, 0.8, 1.2)},
                           deep={"tanh": (6.0, 4.5, 8.0), "sigmoid": (7.0, 5.0, 9.0)}))
    assert v.verdict == E.CAVEATS and v.reasoning.count("depends on depth") == 2


def test_timed_layers_compute_what_plain_layers_compute():
    from actlab import nn

    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    plain = nn.mlp("4-3-2", activation="tanh", seed=3)
    timed = nn.mlp("4-3-2", activation="tanh", seed=3)
    bucket = [0.0]
    for layer in timed.layers:
        layer.forward = RC._timer(layer.forward, bucket, RC._clock("cpu"))
    np.testing.assert_array_equal(plain.forward(x), timed.forward(x))
    assert bucket[0] >= 0.0


def _cost_numbers(f_ratio, df_ratio, saving, spread=0.02):
    n = copy.deepcopy(tiny("relu_compute_cost").outcome.numbers)
    for w, v in (("f", f_ratio), ("df", df_ratio), ("fb", (f_ratio + df_ratio) / 2)):
        for a in ("tanh", "sigmoid"):
            n["ratio_to_relu"]["actlab"][w][a]["median"] = v
    for arch in n["step_saving_with_relu"]:
        for a in ("tanh", "sigmoid"):
            n["step_saving_with_relu"][arch][a] = {"mean": saving, "lo": saving - spread, "hi": saving + spread,
                                                   "sd": spread, "n": 5}
    return n


def test_cost_verdict_follows_the_numbers():
    rule = E.get("relu_compute_cost").verdict
    assert rule(_cost_numbers(4.0, 3.0, 0.05)).verdict == E.CAVEATS
    assert rule(_cost_numbers(4.0, 3.0, 0.40)).verdict == E.CONFIRMED
    assert rule(_cost_numbers(1.05, 1.1, 0.40)).verdict == E.REFUTED
    assert rule(_cost_numbers(1.05, 3.0, 0.05)).verdict == E.CAVEATS  # f memory-bound, f' dearer: 2x per step
    v = rule(_cost_numbers(1.3, 1.3, 0.40))
    assert v.verdict == E.CAVEATS and "somewhat cheaper" in v.reasoning
    v = rule(_cost_numbers(4.0, 3.0, 0.30, spread=0.2))  # a saving whose interval reaches below 25 %
    assert v.verdict == E.CAVEATS and "within the noise" in v.reasoning


def test_derivatives_from_the_cached_output_are_pytorchs():
    import torch

    from actlab import nn

    x = np.random.default_rng(1).normal(0, 3, 1000)
    for name, fn in (("relu", torch.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh)):
        t = torch.tensor(x, requires_grad=True)
        fn(t).sum().backward()
        y = fn(torch.tensor(x)).numpy()
        got = np.empty_like(y)
        RC.FROM_OUTPUT[name](y, got, np.empty_like(y))
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-12, atol=1e-15)
        # the timed layer's backward is the plain layer's, up to rounding of the two formulas
        cached, plain = RC._cached_activation(nn)(name), nn.Activation(name)
        xs = x.reshape(20, 50)
        np.testing.assert_array_equal(cached.forward(xs), plain.forward(xs))
        g = np.random.default_rng(2).normal(size=xs.shape)
        np.testing.assert_allclose(cached.backward(g), plain.backward(g), rtol=1e-12, atol=1e-15)


def test_race_key_marks_lower_bounds():
    """A ratio with runs that never reached the target is a lower bound: the key line says '>='."""
    n = copy.deepcopy(tiny("relu_convergence").outcome.numbers)
    rule = E.get("relu_convergence").verdict
    deepest = str(max(n["depths"]))
    ratio = n["by_depth"][deepest]["ratio"]["fair"][str(n["paper_target"])]["sigmoid"]
    ratio["censored"] = 0
    assert ">=" not in rule(n).key
    ratio["censored"] = 2
    assert f"to >= {ratio['mean']:.2f}x" in rule(n).key
