"""Claims 14-17: ReLU and information, ELU's stability, where ReLU belongs, and the history of ReLU.

Each experiment runs once at a tiny size (a module fixture); its measurements are checked
against independent computations (SciPy's binomial law, the runs' own raw rows) and its
verdict rule is fed doctored numbers."""

import copy

import numpy as np
import pytest
from scipy import stats

from actlab import claims as E
from actlab.claims.runner import Runner

pytestmark = pytest.mark.xdist_group(__name__)  # its module fixtures computed once, on one worker

TINY = {
    "relu_information": {"seeds": 2, "dim": 10, "inputs": 150, "ratios": "1,2,4"},
    "elu_stability": {"seeds": 2, "lrs": "0.1,3.0", "steps": 60, "train": 600, "arch": "784-16-10"},
    "relu_placement": {"seeds": 2, "lrs": "0.1,1.0", "steps": 60, "train": 500, "val": 200, "test": 300,
                       "width": 16},
    "relu_history": {},
}


@pytest.fixture(scope="module")
def results():
    with Runner(None, workers=1, progress=False) as runner:
        return {n: E.run(n, "quick", overrides=s, runner=runner) for n, s in TINY.items()}


def test_registered_as_claims_14_to_17():
    assert [E.get(n).number for n in TINY] == [14, 15, 16, 17]
    assert all(E.get(n).kind == "claim" and E.get(n).korean for n in TINY)


# ---- 14: information -----------------------------------------------------------------------------

def test_relu_recovery_follows_the_binomial_law_of_active_units(results):
    n = results["relu_information"].outcome.numbers
    d = n["dim"]
    for v, layer in n["layers"].items():
        m = layer["m"]
        p = stats.binom.sf(d - 1, m, 0.5)  # at least d of m units active (Gaussian rows: full rank almost surely)
        assert layer["p_enough_active"] == pytest.approx(p, rel=1e-12)
        rec = layer["relu"]["recovered"]
        assert rec["k"] <= layer["relu"]["spans"]["k"]  # recovered only where the active rows span R^d
        assert abs(rec["mean"] - p) < 0.15, (v, rec["mean"], p)  # biases N(0, 0.1^2) shift p slightly
        assert layer["leaky_relu"]["recovered"]["mean"] == 1.0
        lo, hi = stats.binomtest(rec["k"], rec["n"]).proportion_ci(0.95, method="wilson")
        assert (rec["lo"], rec["hi"]) == pytest.approx((lo, hi))


def test_relu_information_rule(results):
    rule = E.get("relu_information").verdict
    n = results["relu_information"].outcome.numbers
    assert rule(n).verdict == E.CAVEATS and "not for a wide enough layer" in rule(n).reasoning
    lost = copy.deepcopy(n)
    for layer in lost["layers"].values():
        layer["relu"]["recovered"].update(mean=0.0, lo=0.0, hi=0.02)
    assert rule(lost).verdict == E.CONFIRMED
    bad = copy.deepcopy(n)
    bad["layers"][bad["ratios"][0]]["leaky_relu"]["recovered"]["mean"] = 0.5
    assert rule(bad).verdict == E.REFUTED


# ---- 15: ELU's stability ----------------------------------------------------------------------------

def test_elu_stability_counts_agree_with_the_runs(results):
    r = results["elu_stability"]
    n = r.outcome.numbers
    for a in n["activations"]:
        for lr in n["lrs"]:
            rows = [x for x in r.outcome.raw["runs"] if x["activation"] == a and f"{x['lr']:g}" == lr]
            assert n["per"][a][lr]["diverged"]["k"] == sum(x["diverged"] for x in rows)
            for x in rows:
                assert x["diverged"] or (np.isfinite(x["volatility"]) and x["volatility"] >= 0)


def test_elu_stability_rule(results):
    rule = E.get("elu_stability").verdict
    n = copy.deepcopy(results["elu_stability"].outcome.numbers)
    lrs = n["lrs"]
    for a in n["activations"]:
        for lr in lrs:
            n["per"][a][lr]["diverged"]["k"] = 0
    n["elu_minus"]["relu"] = {lr: {"volatility_diff": {"mean": -0.1, "lo": -0.2, "hi": -0.05, "n": 2}} for lr in lrs}
    assert rule(n).verdict == E.CONFIRMED
    n["per"]["elu"][lrs[-1]]["diverged"]["k"] = 2  # calmer, but diverges where ReLU does not
    v = rule(n)
    assert v.verdict == E.CAVEATS and "depends on the learning rate" in v.reasoning
    for lr in lrs:
        n["elu_minus"]["relu"][lr]["volatility_diff"].update(mean=0.1, lo=0.05, hi=0.2)
    assert rule(n).verdict == E.REFUTED


# ---- 16: placement ------------------------------------------------------------------------------------

def test_relu_placement_reports_the_test_accuracy_at_the_validation_choice(results):
    r = results["relu_placement"]
    n = r.outcome.numbers
    runs = r.outcome.raw["runs"]
    for name, lr in n["best_lr"].items():
        hidden, ro = ("relu", True) if name == "relu_output" else (name, False)
        mine = [x for x in runs if x["hidden"] == hidden and x["relu_output"] == ro]
        by_lr = {v: np.mean([x["val_acc"] for x in mine if x["lr"] == v]) for v in {x["lr"] for x in mine}}
        assert by_lr[lr] == max(by_lr.values())  # chosen on validation accuracy, never on test
        assert n["test_acc"][name]["mean"] == pytest.approx(np.mean([x["test_acc"] for x in mine if x["lr"] == lr]))


def test_relu_placement_rule(results):
    from actlab.claims.experiments import relu_placement as P

    n = copy.deepcopy(results["relu_placement"].outcome.numbers)
    for k in n["relu_minus"]:
        n["relu_minus"][k] = {"mean": 0.05, "lo": 0.02, "hi": 0.08, "sd": 0.01, "n": 2}
    assert E.get("relu_placement").verdict(n).verdict == E.CONFIRMED
    n["relu_minus"]["tanh"] = {"mean": 0.002, "lo": -0.01, "hi": 0.014, "sd": 0.01, "n": 2}
    lines = P.lines(n)
    assert lines["performance"][0] == E.CAVEATS and lines["not_in_hidden"][0] == E.CAVEATS
    n["relu_minus"]["relu_output"] = {"mean": 0.0, "lo": -0.01, "hi": 0.01, "sd": 0.01, "n": 2}
    assert P.lines(n)["hidden_only"][0] == E.REFUTED


# ---- 17: history ----------------------------------------------------------------------------------------

def test_relu_history_reads_the_years_from_its_table(results):
    n = results["relu_history"].outcome.numbers
    years = [r["year"] for r in n["references"]]
    assert years == sorted(years)
    assert n["hinton_relu_year"] == 2010 and n["deep_relu_year"] == 2011 and n["first_rectifier_year"] == 1969
    rule = E.get("relu_history").verdict
    assert rule(n).verdict == E.CAVEATS
    assert rule(dict(n, hinton_relu_year=2006)).verdict == E.CONFIRMED
    assert rule(dict(n, hinton_relu_year=2020)).verdict == E.REFUTED


# ---- robustness: the verdict at neighbouring settings ------------------------------------------------

def test_robustness_reruns_each_neighbour_and_the_report_shows_the_table(tmp_path):
    from actlab.claims import report

    with Runner(None, workers=1, progress=False) as runner:
        rows = E.robustness("relu_information", "quick", runner=runner)
        neighbours = E.get("relu_information").config.NEIGHBOURS
        assert [(r["setting"], r["value"]) for r in rows[1:]] == [(k, v) for k, vs in neighbours.items() for v in vs]
        assert all(r["same"] == (r["verdict"] == rows[0]["verdict"]) for r in rows)
        assert E.robustness("relu_history", "quick", runner=runner) == []  # nothing declared, nothing run
        out = report.build(tmp_path, "quick", names=["relu_history", "relu_information"], runner=runner, robust=True,
                           with_accuracy=False, with_catalogue_figures=False)
    md = out["paths"]["markdown"].read_text()
    assert md.count("### Robustness: the verdict at neighbouring settings") == 1  # relu_history declares none
    assert "| bias_std | 0.5 |" in md
    back = E.Result.from_dict(out["results"][1].to_dict())
    assert back.robustness == out["results"][1].robustness and len(back.robustness) == len(rows)
