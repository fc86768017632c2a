"""Claim 6, dying ReLU: one tiny run checked against independent computations (the dead
sets recomputed from the weights with plain NumPy, Wilson intervals against SciPy's
binomtest, the trend against SciPy's Kendall tau and Theil-Sen slope, the paired accuracy
differences by hand), and the verdict rule fed doctored numbers so that every condition
it names turns the verdict."""

import copy
import math

import numpy as np
import pytest
from scipy import stats

from actlab import claims as E
from actlab import data, nn
from actlab.claims.experiments import dying_relu as D
from actlab.claims.figures import wilson
from actlab.claims.runner import Runner
from actlab.nn import diagnostics

# The tiny run is computed once per module: keep these tests on one xdist worker.
pytestmark = pytest.mark.xdist_group(__name__)  # its module fixtures computed once, on one worker

# width 64, depth 3 at lr 3: one seed's loss overflows (diverged), the other's whole layer dies (collapsed)
TINY = {"seeds": "2", "lrs": "0.02,0.3,1,3", "width": "64", "depth": "3", "steps": "120", "train_examples": "250",
        "test_examples": "200", "checkpoints": "4", "activations": "relu,leaky_relu", "batchnorm": "0,1",
        "max_mitigation_lrs": "1", "robust_widths": "16", "robust_depths": "2", "robust_seeds": "1"}


@pytest.fixture(scope="module")
def result():
    return E.run("dying_relu", "quick", overrides=TINY, runner=Runner(None, workers=1, progress=False))


def _runs(result, setting="main", act="relu", bn=0):
    return [r for r in result.outcome.raw["runs"] if (r["setting"], r["act"], r["bn"]) == (setting, act, bn)]


# ---------------------------------------------------------------- measured facts, independently


def _plain_inactive(model, X):
    """z <= 0 on every example, per hidden layer, from the Dense weights with plain NumPy (float64)."""
    h, out = np.asarray(X, dtype=np.float64), []
    dense = model.dense_layers
    for layer in dense[:-1]:
        z = h @ layer.W.astype(np.float64) + layer.b.astype(np.float64)
        out.append((z <= 0).all(axis=0))
        h = np.maximum(z, 0.0)
    return out


def test_dead_sets_recomputed_with_plain_numpy(result):
    """Train the same network again with the engine alone (no callback) and recompute its dead
    sets from the weights: the experiment's sets and counts, dead-at-initialisation units
    excluded from the deaths."""
    # a run that trained to the end and had units dead at initialisation
    c = next(r for r in _runs(result) if r["stopped"] is None and sum(r["init_dead"]) > 0)
    X, y = data.load_mnist(split="train")
    idx = np.random.default_rng([c["seed"], 6]).choice(len(X), c["train_examples"], replace=False)
    X, y = np.asarray(X[idx]), y[idx]
    model = nn.mlp([784, *[c["width"]] * c["depth"], 10], activation="relu", seed=c["seed"])
    init = _plain_inactive(model, X)
    nn.fit(model, X, y, lr=c["lr"], batch_size=c["batch"], epochs=10**6, max_steps=c["steps"], seed=c["seed"],
           progress=False)
    end = _plain_inactive(model, X)
    assert [np.flatnonzero(m).tolist() for m in init] == c["init_dead_units"]
    assert [np.flatnonzero(m).tolist() for m in end] == c["end_dead_units"]
    assert sum(m.sum() for m in init) > 0  # this run has units dead at initialisation ...
    assert c["died"] == [int((e & ~i).sum()) for i, e in zip(init, end)]  # ... and they are not counted as deaths
    assert c["init_dead"] == [int(i.sum()) for i in init] and c["units"] == [c["width"]] * c["depth"]
    # for ReLU the engine's dead units (|f'(z)| <= 1e-3 everywhere) are exactly the inactive ones
    for rep, e in zip(diagnostics.dead_units(model, X), end):
        np.testing.assert_array_equal(rep.dead, e)
    assert nn.evaluate(model, *_test_set(c))["acc"] == c["test_acc"]


def _test_set(c):
    Xt, yt = data.load_mnist(split="test")
    return np.asarray(Xt[:c["test_examples"]]), yt[:c["test_examples"]]


def test_unit_counts_subtract_dead_at_initialisation():
    F, T = False, True
    masks = [[np.array([T, F, F, F, T])],   # initialisation: units 0 and 4 dead
             [np.array([T, T, F, T, T])],   # units 1 and 3 inactive at a checkpoint
             [np.array([T, F, F, T, F])]]   # end: 1 came back, 3 stayed, 4 revived
    got = D.unit_counts(masks)
    assert got == {"units": [5], "init_dead": [2], "died": [1], "ever": [2], "recovered": [1], "init_revived": [1]}
    assert D.unit_counts(masks[:1] + masks[-1:])["ever"] == [0]  # no checkpoint in between: nothing to recover


def test_wilson_intervals_pool_units_over_seeds(result):
    relu = result.outcome.numbers["settings"]["main"]["relu"]
    checked = t_checked = 0
    for lr, v in relu.items():
        ok = [r for r in _runs(result) if f"{r['lr']:g}" == lr and not r["diverged"]]
        assert v["runs"] == int(TINY["seeds"]) and v["diverged"] == v["runs"] - len(ok)
        if not ok:
            continue
        k = sum(sum(r["died"]) for r in ok)
        n = sum(sum(r["units"]) - sum(r["init_dead"]) for r in ok)
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert (v["died"]["k"], v["died"]["n"]) == (k, n)
        assert v["died"]["mean"] == pytest.approx(k / n) and 0 <= v["died"]["lo"] <= k / n <= v["died"]["hi"] <= 1
        assert (v["died"]["lo"], v["died"]["hi"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
        fr = [sum(r["died"]) / (sum(r["units"]) - sum(r["init_dead"])) for r in ok]
        assert v["died_seeds"] == pytest.approx(fr)
        if len(fr) > 1 and np.std(fr) > 0:  # the mean over seeds has a t interval
            half = stats.t.ppf(0.975, len(fr) - 1) * np.std(fr, ddof=1) / math.sqrt(len(fr))
            assert (v["died_mean"]["lo"], v["died_mean"]["hi"]) == pytest.approx((np.mean(fr) - half,
                                                                                  np.mean(fr) + half))
            t_checked += 1
        checked += 1
    assert checked == 4 and t_checked >= 2


def test_diverged_runs_are_apart_and_out_of_the_trend(result):
    relu = result.outcome.numbers["settings"]["main"]["relu"]
    assert relu["3"]["diverged"] == 1 and relu["3"]["runs"] == 2  # one seed diverged at lr 3 ...
    ok = [r for r in _runs(result) if not r["diverged"]]
    x = [math.log10(r["lr"]) for r in ok]
    y = [sum(r["died"]) / (sum(r["units"]) - sum(r["init_dead"])) for r in ok]
    part = D.lr_part(relu, result.outcome.numbers["settings"]["main"]["lrs"], 0.05)
    t = part["trend"]
    assert t["n"] == len(ok) == 7  # ... and is left out of the trend
    assert t["tau"] == pytest.approx(stats.kendalltau(x, y)[0])
    assert t["slope"] == pytest.approx(stats.theilslopes(y, x)[0])
    assert "Diverged runs (non-finite loss; left out of the counts and the trend): 3 (1/2)" in result.verdict.reasoning


def test_mitigations_paired_by_seed_and_diverged_counts_at_chance(result):
    b = result.outcome.numbers["settings"]["main"]
    tested = list(b["arms"]["leaky_relu"])
    assert tested == D.lr_part(b["relu"], b["lrs"], 0.05)["dying"][:1]  # the lowest rate of the dying range
    lr = tested[0]
    relu_acc = {r["seed"]: (0.1 if r["diverged"] else r["test_acc"]) for r in _runs(result) if f"{r['lr']:g}" == lr}
    for arm, act, bn in (("leaky_relu", "leaky_relu", 0), (D.BN_ARM, "relu", 1)):
        rows = [r for r in _runs(result, act=act, bn=bn) if f"{r['lr']:g}" == lr]
        diffs = [(0.1 if r["diverged"] else r["test_acc"]) - relu_acc[r["seed"]] for r in rows]
        assert b["arms"][arm][lr]["acc_diff"]["mean"] == pytest.approx(np.mean(diffs))
        assert b["arms"][arm][lr]["acc_diff"]["n"] == len(rows) == 2
    lower = b["arms"][D.LOWER_ARM][lr]
    assert float(lower["lr"]) < float(lr) and lower["lr"] not in D.lr_part(b["relu"], b["lrs"], 0.05)["dying"]


def test_first_layer_dead_units_never_recover(result):
    """A first-layer ReLU unit's input is the data: dead on every example, it gets no gradient again."""
    for r in _runs(result):
        if not r["diverged"]:
            assert r["recovered"][0] == 0
    b = result.outcome.numbers["settings"]["main"]
    assert all(v["recovered_per_layer"][0]["k"] == 0 for v in b["relu"].values() if "recovered_per_layer" in v)
    # and it stops learning: its incoming weights do not change by a bit between two checkpoints
    first = [v["frozen_per_layer"][0] for v in b["relu"].values() if "frozen_per_layer" in v]
    assert sum(f["n"] for f in first) > 0 and all(f["k"] == f["n"] for f in first)


def test_result_states_its_settings_and_robustness(result):
    n = result.outcome.numbers
    assert set(n["robustness"]) == {"main", "width 16", "depth 2"}
    for row in n["robustness"].values():
        assert row["verdict"] in E.VERDICTS and row["lr part"] in ("monotone", "non-monotone", "none", "no runs")
    text = result.verdict.reasoning
    assert text.startswith("Tested under: MLP 784-64-64-64-10") and "Robustness (the same rule at neighbouring" in text
    assert "120 steps" in text and "2 seeds" in text


# ---------------------------------------------------------------- the verdict rule on doctored numbers


def _w(k, n):
    return wilson(k, n)


def clean(numbers):
    """A doctored copy on which every condition holds: ReLU deaths rise with the rate (0 -> 95 of 100
    units, four values per rate), dead units stay dead, every mitigation keeps all units at
    better accuracy, no run diverged; in every setting."""
    n = copy.deepcopy(numbers)
    for b in n["settings"].values():
        lrs = b["lrs"]
        for i, lr in enumerate(lrs):
            k = round(95 * i / (len(lrs) - 1))
            b["relu"][lr] = dict(b["relu"][lr], runs=4, diverged=0, died=_w(k, 100),
                                 died_seeds=[k / 100 + d for d in (-0.01, 0, 0.005, 0.01)],
                                 init_dead=_w(0, 100), recovered=_w(0, 50),
                                 recovered_per_layer=[_w(0, 10)] * b["depth"])
        for per in b["arms"].values():
            for lr in per:
                per[lr] = dict(per[lr], runs=4, diverged=0, died=_w(0, 100), recovered={"k": 0, "n": 0},
                               acc_diff={"mean": 0.1, "lo": 0.05, "hi": 0.15, "sd": 0.03, "n": 4})
    return n


@pytest.fixture
def ok_numbers(result):
    n = clean(result.outcome.numbers)
    assert E.get("dying_relu").verdict(n).verdict == E.CONFIRMED
    return n


def _rule(n):
    return E.get("dying_relu").verdict(n)


def test_the_tiny_run_has_a_verdict_its_rule_reproduces(result):
    assert _rule(copy.deepcopy(result.outcome.numbers)) == result.verdict
    assert result.verdict.verdict in (E.CONFIRMED, E.CAVEATS, E.REFUTED)


def test_no_rise_with_the_rate_refutes(ok_numbers):
    for b in ok_numbers["settings"].values():
        for v in b["relu"].values():
            v.update(died=_w(2, 100), died_seeds=[0.02] * 4)
    v = _rule(ok_numbers)
    assert v.verdict == E.REFUTED and "larger learning rates did not kill more ReLU units" in v.reasoning


def test_an_immaterial_rise_refutes(ok_numbers):
    relu = ok_numbers["settings"]["main"]["relu"]
    for i, v in enumerate(relu.values()):  # 0 -> 3 % of units: significant with these counts, but below 5 %
        v.update(died=_w(30 * i, 3000), died_seeds=[0.01 * i + d for d in (0, 0.001, 0.002, 0.003)])
    assert _rule(ok_numbers).verdict == E.CAVEATS  # the neighbours still show it: depends on the setting
    for b in ok_numbers["settings"].values():
        for i, v in enumerate(b["relu"].values()):
            v.update(died=_w(30 * i, 3000), died_seeds=[0.01 * i + d for d in (0, 0.001, 0.002, 0.003)])
    assert _rule(ok_numbers).verdict == E.REFUTED


def test_every_run_diverged_refutes(ok_numbers):
    for b in ok_numbers["settings"].values():
        for v in b["relu"].values():
            v.pop("died")
            v["diverged"] = v["runs"]
    v = _rule(ok_numbers)
    assert v.verdict == E.REFUTED and "nothing to measure" in v.reasoning


def test_a_material_reversal_makes_it_depend_on_the_rate(ok_numbers):
    relu = ok_numbers["settings"]["main"]["relu"]
    lrs = list(relu)
    relu[lrs[0]]["died"] = _w(60, 100)  # more deaths at the smallest rate than at the next two
    relu[lrs[0]]["died_seeds"] = [0.6] * 4
    v = _rule(ok_numbers)
    assert v.verdict == E.CAVEATS and "Not monotone, so it depends on the learning rate" in v.reasoning
    relu[lrs[0]]["diverged"] = 1  # a rate with a diverged run compares survivors: the pair no longer counts
    v = _rule(ok_numbers)
    assert v.verdict == E.CONFIRMED and "Not monotone" not in v.reasoning


def test_an_immaterial_dip_is_reported_but_does_not_count(ok_numbers):
    relu = ok_numbers["settings"]["main"]["relu"]
    lrs = list(relu)
    relu[lrs[0]]["died"] = _w(300, 10000)  # 3 % at the smallest rate, 0 % at the next: significant, below 5 %
    relu[lrs[0]]["died_seeds"] = [0.03] * 4
    relu[lrs[1]]["died"] = _w(0, 10000)
    relu[lrs[1]]["died_seeds"] = [0.0] * 4
    v = _rule(ok_numbers)
    assert v.verdict == E.CONFIRMED and "Significant but below 5%" in v.reasoning


def test_no_significant_trend_makes_it_depend_on_the_rate(ok_numbers):
    for v in ok_numbers["settings"]["main"]["relu"].values():
        v["died_seeds"] = [0.0, 0.9, 0.1, 0.8]  # the pooled counts still rise, the runs do not
    v = _rule(ok_numbers)
    assert v.verdict == E.CAVEATS and "not a significant monotone trend" in v.reasoning


def test_dead_units_that_come_back(ok_numbers):
    for v in ok_numbers["settings"]["main"]["relu"].values():
        v["recovered"] = _w(20, 50)
    v = _rule(ok_numbers)
    assert v.verdict == E.CAVEATS and "dying is not always for good" in v.reasoning


@pytest.mark.parametrize("arm", ["leaky_relu", D.BN_ARM, D.LOWER_ARM])
@pytest.mark.parametrize("fault,words", [
    ({"diverged": 1}, "diverged in 1/4 runs"),
    ({"acc_diff": {"mean": -0.2, "lo": -0.3, "hi": -0.1, "sd": 0.05, "n": 4}}, "lower accuracy"),
    ("same units", "no fewer units lost"),
])
def test_a_mitigation_that_does_not_work(ok_numbers, arm, fault, words):
    b = ok_numbers["settings"]["main"]
    for lr, v in b["arms"][arm].items():
        v.update({"died": dict(b["relu"][lr]["died"])} if fault == "same units" else fault)
    v = _rule(ok_numbers)
    assert v.verdict == E.CAVEATS and f"{arm} fails" in v.key and words in v.reasoning
    if fault == "same units":  # recovering more of its inactive units than ReLU is enough
        for a in b["arms"][arm].values():
            a["recovered"] = _w(45, 50)
        assert _rule(ok_numbers).verdict == E.CONFIRMED


def test_untested_mitigations_are_not_confirmed(ok_numbers):
    ok_numbers["settings"]["main"]["arms"] = {}
    v = _rule(ok_numbers)
    assert v.verdict == E.CAVEATS and "No mitigation was tested" in v.reasoning


def test_a_neighbouring_setting_that_disagrees(ok_numbers):
    lab = next(lab for lab in ok_numbers["settings"] if lab != "main")
    for v in ok_numbers["settings"][lab]["relu"].values():
        v.update(died=_w(2, 100), died_seeds=[0.02] * 4)
    v = _rule(ok_numbers)
    assert v.verdict == E.CAVEATS and f"depends on {lab}" in v.key
    assert f"The verdict depends on the setting: {E.CONFIRMED} at width" in v.reasoning
    assert f"{E.REFUTED} at {lab}" in v.reasoning
    # the other way round: refuted in the main setting, confirmed at a neighbour
    confirmed_block = clean(ok_numbers)["settings"][lab]
    for b in ok_numbers["settings"].values():
        for v in b["relu"].values():
            v.update(died=_w(2, 100), died_seeds=[0.02] * 4)
    assert _rule(ok_numbers).verdict == E.REFUTED
    ok_numbers["settings"][lab] = confirmed_block
    v = _rule(ok_numbers)
    assert v.verdict == E.CAVEATS and f"{E.CONFIRMED} at {lab}" in v.reasoning


def test_settings_and_numbers_survive_json(result):
    import json

    back = json.loads(json.dumps(result.to_dict()))
    assert _rule(back["numbers"]) == result.verdict


def test_parts_that_differ_at_a_neighbour_are_named(ok_numbers):
    lab = next(lab for lab in ok_numbers["settings"] if lab != "main")
    for other in ok_numbers["settings"]:  # here (and at any other neighbour): dead units come back
        for v in ok_numbers["settings"][other]["relu"].values():
            v["recovered"] = _w(20, 50) if other != lab else v["recovered"]
    for v in ok_numbers["settings"][lab]["relu"].values():  # there: no significant trend
        v["died_seeds"] = [0.0, 0.9, 0.1, 0.8]
    v = _rule(ok_numbers)
    assert v.verdict == E.CAVEATS and f"same verdict at {lab}" in v.key
    assert f"parts differ at {lab} (lr part, dead units coming back)" in v.key
    assert f"Which parts hold depends on the setting: at {lab}, lr part: non-monotone (here monotone)" in v.reasoning
