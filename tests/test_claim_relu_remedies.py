"""Claim 20, ThresholdReLU / Softplus / Swish as remedies of dying ReLU: one tiny run checked
against independent computations (the dead sets recomputed from the weights with a plain
NumPy forward pass and each f' from its formula or torch's autograd, the unit counts by
hand, Wilson intervals against SciPy), its ReLU grid checked to be claim 6's own cells, and
the verdict rule fed doctored numbers so that every branch is reached."""

import copy
import json

import numpy as np
import pytest
from scipy import optimize, stats

from actlab import claims as E
from actlab import data, nn
from actlab.claims.experiments import dying_relu as D
from actlab.claims.experiments import relu_remedies as R
from actlab.claims.figures import wilson
from actlab.claims.runner import Runner, cell_key
from actlab.nn.diagnostics import DEAD_EPS

torch = pytest.importorskip("torch")

# The tiny run is computed once per module: keep these tests on one xdist worker.
pytestmark = pytest.mark.xdist_group(__name__)

# ReLU loses most of its units at lr 1 and 3 (the dying range), so both are tested; thresholded ReLU has many
# units dead at initialisation; a few runs collapse (stopped early), most train to the end
TINY = {"seeds": "2", "lrs": "0.02,0.3,1,3", "width": "32", "depth": "2", "steps": "120", "train_examples": "250",
        "test_examples": "200", "checkpoints": "4", "max_mitigation_lrs": "2"}
REMEDIES = ("thresholded_relu", "softplus", "silu")


@pytest.fixture(scope="module")
def ran():
    runner = Runner(None, workers=1, progress=False)
    return E.run("relu_remedies", "quick", overrides=TINY, runner=runner), runner


@pytest.fixture(scope="module")
def result(ran):
    return ran[0]


def _runs(result, act):
    return [r for r in result.outcome.raw["runs"] if r["act"] == act]


# ---------------------------------------------------------------- f' written independently


def _df(act, z):
    """|f'(z)| of each activation, float64: ReLU and thresholded ReLU from their formulas, softplus and
    SiLU (Swish, beta 1) by torch's autograd."""
    if act == "relu":
        return (z > 0).astype(np.float64)
    if act == "thresholded_relu":
        return (z > 1.0).astype(np.float64)
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    f = {"softplus": torch.nn.functional.softplus, "silu": torch.nn.functional.silu}[act]
    f(t).sum().backward()
    return t.grad.abs().numpy()


def _f(act, z):
    if act == "relu":
        return np.maximum(z, 0.0)
    if act == "thresholded_relu":
        return np.where(z > 1.0, z, 0.0)
    with torch.no_grad():
        t = torch.tensor(z, dtype=torch.float64)
        return {"softplus": torch.nn.functional.softplus, "silu": torch.nn.functional.silu}[act](t).numpy()


def _plain(model, X, act):
    """Per hidden layer: (dead mask, max z over the examples), forward pass in float64 from the Dense weights."""
    h, out = np.asarray(X, dtype=np.float64), []
    for layer in model.dense_layers[:-1]:
        z = h @ layer.W.astype(np.float64) + layer.b.astype(np.float64)
        out.append((_df(act, z).max(axis=0) <= DEAD_EPS, z.max(axis=0)))
        h = _f(act, z)
    return out


def _retrain(c):
    """The run of row ``c`` trained again with the engine alone, the dead sets recomputed at claim 6's checkpoints."""
    X, y = data.load_mnist(split="train")
    idx = np.random.default_rng([c["seed"], 6]).choice(len(X), c["train_examples"], replace=False)
    X, y = np.asarray(X[idx]), y[idx]
    model = nn.mlp([784, *[c["width"]] * c["depth"], 10], activation=c["act"], seed=c["seed"])
    marks = D.checkpoint_steps(c["steps"], c["checkpoints"])
    seen = [_plain(model, X, c["act"])]

    def callback(step, m, loss):
        if step in marks:
            seen.append(_plain(m, X, c["act"]))

    nn.fit(model, X, y, lr=c["lr"], batch_size=c["batch"], epochs=10**6, max_steps=c["steps"], seed=c["seed"],
           callback=callback, progress=False)
    assert len(seen) == len(marks)
    return model, seen


@pytest.mark.parametrize("act", ("relu", *REMEDIES))
def test_dead_sets_and_counts_recomputed_independently(result, act):
    """For one run per activation that trained to the end: the dead sets at initialisation and at the end, and
    the units lost, ever dead and recovered, counted by hand from the recomputed masks."""
    rows = [r for r in _runs(result, act) if r["stopped"] is None]
    assert rows
    c = max(rows, key=lambda r: sum(r["died"]) + sum(r["init_dead"]))  # the run with the most to count
    model, seen = _retrain(c)
    masks = [[d for d, _ in s] for s in seen]
    init, end = masks[0], masks[-1]
    assert [np.flatnonzero(m).tolist() for m in init] == c["init_dead_units"]
    assert [np.flatnonzero(m).tolist() for m in end] == c["end_dead_units"]
    assert c["units"] == [c["width"]] * c["depth"] and c["init_dead"] == [int(m.sum()) for m in init]
    for k in range(c["depth"]):
        alive0 = ~init[k]
        ever = alive0 & np.any([m[k] for m in masks[1:-1]], axis=0)
        assert c["died"][k] == int((alive0 & end[k]).sum())
        assert c["ever"][k] == int(ever.sum()) and c["recovered"][k] == int((ever & ~end[k]).sum())
        # inactive (z <= 0 everywhere), recorded for reference
        assert c["inactive_end"][k] == int((seen[-1][k][1] <= 0).sum())
    Xt, yt = data.load_mnist(split="test")
    assert nn.evaluate(model, np.asarray(Xt[:c["test_examples"]]), yt[:c["test_examples"]])["acc"] == c["test_acc"]


def test_thresholded_units_with_max_z_at_most_1_are_dead(result):
    """Thresholded ReLU has zero slope on all of z <= 1: a unit whose z never exceeds 1 is dead even when z > 0 on
    some examples (alive by ReLU's definition); many are dead at initialisation already (biases 0)."""
    rows = [r for r in _runs(result, "thresholded_relu") if r["stopped"] is None]
    c = max(rows, key=lambda r: sum(r["died_not_inactive"]))
    _, seen = _retrain(c)
    (init, end) = seen[0], seen[-1]
    band = 0
    for k, ((d0, z0), (d1, z1)) in enumerate(zip(init, end)):
        np.testing.assert_array_equal(d1, z1 <= 1.0)
        np.testing.assert_array_equal(d0, z0 <= 1.0)
        band += int((~d0 & d1 & (z1 > 0)).sum())
        assert c["died_not_inactive"][k] == int((~d0 & d1 & (z1 > 0)).sum())
    assert band > 0  # lost for good with z in (0, 1] on its best example
    th, relu = (result.outcome.numbers["arms"]["thresholded_relu"], result.outcome.numbers["relu"])
    first = result.outcome.numbers["tested"][0]
    assert th[first]["init_dead"]["lo"] > relu[first]["init_dead"]["hi"]
    assert "Dead at initialisation (subtracted): " + R._f(th[first]["init_dead"]) in result.verdict.reasoning


def _silu_grad(t):
    x = torch.tensor([t], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.silu(x).sum().backward()
    return float(x.grad[0])


def test_dead_zones_from_the_formulas():
    z = R.dead_zone
    assert z("relu")["below"] == 0.0 and z("thresholded_relu")["below"] == 1.0
    # softplus: f' = sigmoid(z) = eps; silu: |f'| = eps far left, and a band where f' crosses 0 (Swish's minimum)
    assert z("softplus")["below"] == pytest.approx(np.log(DEAD_EPS / (1 - DEAD_EPS)), abs=2e-4)
    assert z("silu")["below"] == pytest.approx(optimize.brentq(lambda t: abs(_silu_grad(t)) - DEAD_EPS, -20, -5),
                                               abs=2e-4)
    (lo, hi), = z("silu")["bands"]
    assert lo < optimize.brentq(_silu_grad, -2, -1) < hi
    assert z("softplus")["bands"] == z("relu")["bands"] == z("thresholded_relu")["bands"] == []
    assert z("silu")["min_output"] < 0 <= z("softplus")["min_output"] and z("thresholded_relu")["min_output"] == 0


# ---------------------------------------------------------------- shared cells, counts, pairing


def test_the_relu_grid_is_claim_6s_cells(ran):
    """The stage-1 cells are claim 6's: the same keys, and claim 6 run on the same runner computes nothing new."""
    result, runner = ran
    cfg = E.make_config("relu_remedies", "quick", overrides=TINY)
    mine = R.stage1_cells(cfg)

    class Recording:
        def __init__(self, inner):
            self.inner, self.calls = inner, []

        @property
        def stats(self):
            return self.inner.stats

        def map(self, fn, cells, **kw):
            self.calls.append((fn, list(cells)))
            return self.inner.map(fn, cells, **kw)

    rec = Recording(runner)
    before = dict(runner.stats)
    six = dict(TINY, activations="relu", batchnorm="0", robust_widths=TINY["width"], robust_depths=TINY["depth"])
    E.run("dying_relu", "quick", overrides=six, runner=rec)
    fn, theirs = rec.calls[0]
    assert fn is D.cell and [cell_key(D.cell, c) for c in theirs] == [cell_key(D.cell, c) for c in mine]
    assert runner.stats["computed"] == before["computed"]
    assert runner.stats["cached"] - before["cached"] == len(mine) == 8
    assert len(result.outcome.raw["grid"]) == len(mine)


def test_relu_through_this_cell_is_claim_6s_relu(result):
    """For ReLU the gradient definition of dead is claim 6's inactive: the same runs, the same counts."""
    grid = {(r["lr"], r["seed"]): r for r in result.outcome.raw["grid"]}
    rows = _runs(result, "relu")
    assert len(rows) == 2 * int(TINY["max_mitigation_lrs"])
    for r in rows:
        g = grid[(r["lr"], r["seed"])]
        assert r["stopped"] == g["stopped"] and r["test_acc"] == g["test_acc"]
        for k in ("units", "init_dead", "died", "ever", "recovered", "init_dead_units", "end_dead_units"):
            assert r[k] == g[k], k


def test_config_is_claim_6s_at_every_size():
    for size in E.SIZES:
        mine, six = E.make_config("relu_remedies", size), E.make_config("dying_relu", size)
        for f in R._OWN + ("material", "acc_margin"):
            assert getattr(mine, f) == getattr(six, f), (size, f)
        assert mine.activations == REMEDIES
    assert R.Config.NEIGHBOURS == D.Config.NEIGHBOURS


def test_tested_rates_and_pooled_counts(result):
    n = result.outcome.numbers
    assert n["dying"] == ["1", "3"] and n["tested"] == ["1", "3"]
    for act in ("relu", *REMEDIES):
        for lr in n["tested"]:
            v = n["relu"][lr] if act == "relu" else n["arms"][act][lr]
            rows = [r for r in _runs(result, act) if f"{r['lr']:g}" == lr]
            ok = [r for r in rows if not r["diverged"]]
            k = sum(sum(r["died"]) for r in ok)
            m = sum(sum(r["units"]) - sum(r["init_dead"]) for r in ok)
            assert (v["died"]["k"], v["died"]["n"]) == (k, m)
            ci = stats.binomtest(k, m).proportion_ci(0.95, method="wilson")
            assert (v["died"]["lo"], v["died"]["hi"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
            if act != "relu":  # paired by seed, a diverged run at chance
                ref = {r["seed"]: r for r in _runs(result, "relu") if f"{r['lr']:g}" == lr}
                acc = lambda r: 0.1 if r["diverged"] else r["test_acc"]  # noqa: E731
                diffs = [acc(r) - acc(ref[r["seed"]]) for r in rows]
                assert v["acc_diff"]["mean"] == pytest.approx(np.mean(diffs)) and v["acc_diff"]["n"] == 2


def test_the_tiny_run_has_a_verdict_its_rule_reproduces(result):
    back = json.loads(json.dumps(result.to_dict()))
    assert R.verdict(back["numbers"]) == result.verdict
    assert result.verdict.verdict in (E.CONFIRMED, E.CAVEATS, E.REFUTED)
    assert result.outcome.figures[0].png[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- the rule on doctored numbers


@pytest.fixture
def ok_numbers(result):
    """Every remedy loses no unit where ReLU loses 60 of 100, at better accuracy, nothing diverged."""
    n = copy.deepcopy(result.outcome.numbers)
    for lr in n["tested"]:
        n["relu"][lr].update(runs=4, diverged=0, died=wilson(60, 100), recovered=wilson(0, 50))
        for per in n["arms"].values():
            per[lr].update(runs=4, diverged=0, died=wilson(0, 100), recovered={"k": 0, "n": 0},
                           acc_diff={"mean": 0.1, "lo": 0.05, "hi": 0.15, "sd": 0.03, "n": 4})
    v = R.verdict(n)
    assert v.verdict == E.CONFIRMED and "Every remedy works at every tested rate" in v.reasoning
    return n


def test_one_remedy_that_loses_as_many_units(ok_numbers):
    for lr, v in ok_numbers["arms"]["softplus"].items():
        v["died"] = dict(ok_numbers["relu"][lr]["died"])
    v = R.verdict(ok_numbers)
    assert v.verdict == E.CAVEATS and "softplus fails" in v.key and "no fewer units lost" in v.reasoning
    assert "Works at every tested rate: thresholded_relu, silu; at some: none; at none: softplus" in v.reasoning
    for a in ok_numbers["arms"]["softplus"].values():  # recovering more of its dead units is enough
        a["recovered"] = wilson(45, 50)
    assert R.verdict(ok_numbers).verdict == E.CONFIRMED


def test_works_at_one_rate_only_is_partly(ok_numbers):
    lr = ok_numbers["tested"][-1]
    ok_numbers["arms"]["silu"][lr]["diverged"] = 1
    v = R.verdict(ok_numbers)
    assert v.verdict == E.CAVEATS and "silu partly" in v.key and "diverged in 1/4 runs (ReLU 0/4)" in v.reasoning
    assert f"Diverged more often than ReLU (silu at lr {lr})" in v.reasoning and "at some: silu" in v.reasoning


@pytest.mark.parametrize("fault,words", [
    ({"died": wilson(90, 100)}, "makes it worse (more units lost)"),
    ({"acc_diff": {"mean": -0.2, "lo": -0.3, "hi": -0.1, "sd": 0.05, "n": 4}}, "makes it worse (lower accuracy)"),
])
def test_a_remedy_that_makes_it_worse(ok_numbers, fault, words):
    for v in ok_numbers["arms"]["thresholded_relu"].values():
        v.update(fault)
    v = R.verdict(ok_numbers)
    assert v.verdict == E.CAVEATS and "thresholded_relu fails (worse)" in v.key and words in v.reasoning
    if "died" in fault:  # and the reason is named: a zero region 1 wider than ReLU's
        assert "1 wider than ReLU's (z <= 0), so it dies more" in v.reasoning


def test_none_works_refutes(ok_numbers):
    for per in ok_numbers["arms"].values():
        for lr, v in per.items():
            v["died"] = dict(ok_numbers["relu"][lr]["died"])
    v = R.verdict(ok_numbers)
    assert v.verdict == E.REFUTED and "No remedy works at any tested rate" in v.reasoning


@pytest.mark.parametrize("lr_part,why", [("none", "ReLU lost significantly at least 5% of its units at no rate"),
                                         ("no runs", "no ReLU run finished")])
def test_an_empty_dying_range_is_not_tested(ok_numbers, lr_part, why):
    ok_numbers.update(lr_part=lr_part, dying=[], tested=[], relu={}, arms={a: {} for a in REMEDIES},
                      series={a: {} for a in ("relu", *REMEDIES)})
    v = R.verdict(ok_numbers)
    assert v.verdict == E.CAVEATS and v.key == f"not tested: {why}" and "were not judged" in v.reasoning


def test_no_remedy_asked_for_is_not_tested(ok_numbers):
    ok_numbers["arms"] = {}
    v = R.verdict(ok_numbers)
    assert v.verdict == E.CAVEATS and v.key == "not tested: no remedy was asked for"


def test_a_grid_without_a_dying_range_tests_nothing(ran):
    """Only the smallest rate, where ReLU loses few units: claim 6's cells (cached here), nothing trained again."""
    _, runner = ran
    before = dict(runner.stats)
    r = E.run("relu_remedies", "quick", overrides=dict(TINY, lrs="0.02"), runner=runner)
    assert runner.stats["computed"] == before["computed"] and r.outcome.numbers["tested"] == []
    assert r.verdict.verdict == E.CAVEATS and r.verdict.key.startswith("not tested: ReLU lost significantly")
    assert r.outcome.figures[0].png[:8] == b"\x89PNG\r\n\x1a\n" and not r.outcome.raw["runs"]
