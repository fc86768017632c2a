"""Claim 19, what dying ReLU costs: the runs are claim 6's (cache hits, not copies), the
tuned rates and paired intervals recomputed from the raw runs with SciPy, and the rule fed
doctored numbers so that every branch of each part is reached."""

import math

import numpy as np
import pytest
from scipy import stats

from actlab import claims as E
from actlab.claims.experiments import dying_relu_cost as C
from actlab.claims.runner import Runner

pytestmark = pytest.mark.xdist_group(__name__)  # its module fixtures computed once, on one worker

SHARED = {"seeds": "2", "lrs": "0.02,0.3,3", "width": "32", "depth": "2", "steps": "100", "train_examples": "250",
          "test_examples": "200", "checkpoints": "3"}


@pytest.fixture(scope="module")
def both():
    """Claim 6 first, then this claim on the same in-memory cache."""
    runner = Runner(None, workers=1, progress=False)
    six = E.run("dying_relu", "quick", runner=runner, overrides=SHARED | {
        "activations": "relu,leaky_relu", "batchnorm": "0", "max_mitigation_lrs": "1", "robust_widths": "32",
        "robust_depths": "2"})
    cost = E.run("dying_relu_cost", "quick", runner=runner, overrides=SHARED | {"fixes": "leaky_relu,elu"})
    return six, cost


def test_relu_runs_are_claim_6s_cache_hits(both):
    six, cost = both
    mitigations = len([r for r in six.outcome.raw["runs"] if r["act"] == "leaky_relu"])
    # ReLU at 3 rates x 2 seeds, and the Leaky ReLU runs claim 6 made in its dying range
    assert cost.cells["cached"] == 6 + mitigations
    assert cost.cells["computed"] == 2 * 3 * 2 - mitigations


def test_tuned_rates_and_intervals_from_the_raw_runs(both):
    _, cost = both
    n, runs = cost.outcome.numbers, cost.outcome.raw["runs"]
    for act in ("relu", "leaky_relu", "elu"):
        mine = [r for r in runs if r["act"] == act]
        ok = {lr: np.mean([r["final_loss"] for r in mine if r["lr"] == lr]) for lr in n["lrs"]
              if not any(r["diverged"] for r in mine if r["lr"] == lr)}
        assert n["tuned_lr"][act] == (min(ok, key=ok.get) if ok else None)

    def accs(act, lr):
        return [0.1 if r["diverged"] else r["test_acc"] for r in sorted(runs, key=lambda r: r["seed"])
                if r["act"] == act and r["lr"] == lr]

    # every fix at every shared rate (2 fixes x 3 rates), and every fix at its own tuned rate (2): Bonferroni
    pairs = [(d, accs(k.split(" @ ")[0], float(k.split(" @ ")[1])), accs("relu", float(k.split(" @ ")[1])), 6)
             for k, d in n["shared_diff"].items()]
    pairs += [(d, accs(a, n["tuned_lr"][a]), accs("relu", n["tuned_lr"]["relu"]), 2)
              for a, d in n["tuned_diff"].items()]
    assert len(pairs) == 6 + len(n["tuned_diff"])
    for d, a, b, family in pairs:
        assert d["mean"] == pytest.approx(np.mean(a) - np.mean(b), abs=1e-12)
        assert d["level"] == pytest.approx(1 - 0.05 / family)
        if len(set(np.subtract(a, b))) > 1:
            lo, hi = stats.ttest_rel(a, b).confidence_interval(d["level"])
            assert (d["lo"], d["hi"]) == pytest.approx((max(lo, -1), min(hi, 1)), abs=1e-9)


def _numbers(tuned_gap=(0.0, -0.005, 0.005), dying=(), shared=(), fixes=("leaky_relu", "elu")):
    """Numbers shaped as run() makes them: the gap of the best tuned fix (mean, lo, hi), and the
    corrected intervals in the dying range and at shared rates."""
    def d(mean, lo, hi):
        return {"mean": mean, "lo": lo, "hi": hi, "n": 5, "sd": 0.01, "level": 0.95}

    tuned = {"relu": 0.3} | {a: 0.3 for a in fixes}
    return {
        "fixes": list(fixes), "lrs": [0.3, 3.0], "acc_margin": 0.01, "material": 0.05,
        "tuned_lr": tuned, "acc_at_tuned": {a: d(0.9 + (tuned_gap[0] if a == fixes[0] else -0.05), 0, 1)
                                            for a in tuned},
        "acc": {}, "diverged": {a: {"0.3": 0, "3": 0} for a in tuned},
        "relu_died": {}, "dying_range": [3.0],
        "tuned_diff": {fixes[0]: d(*tuned_gap), fixes[1]: d(-0.05, -0.06, -0.04)},
        "dying_diff": {k: d(*v) for k, v in dying}, "shared_diff": {k: d(*v) for k, v in shared},
        "relu_died_at_tuned": None,
    }


def test_rule_part_one_every_branch():
    assert C.part_cost(_numbers())[0] == E.CONFIRMED
    assert C.part_cost(_numbers(tuned_gap=(0.05, 0.02, 0.08)))[0] == E.REFUTED  # the best fix materially better
    assert C.part_cost(_numbers(tuned_gap=(0.01, -0.02, 0.04)))[0] == E.CAVEATS  # a material cost not ruled out
    beaten = _numbers(dying=[("leaky_relu @ 3", (0.3, 0.2, 0.4))])  # units die and it costs there
    assert C.part_cost(beaten) == (E.CAVEATS, {"best": "leaky_relu", "gap": beaten["tuned_diff"]["leaky_relu"],
                                               "beaten": ["leaky_relu @ 3"]})
    nothing = _numbers()
    nothing["tuned_diff"] = {}
    assert C.part_cost(nothing)[0] == E.CAVEATS


def test_rule_part_two_every_branch_and_the_claim():
    # the second fix is 0.05 below ReLU at its tuned rate: confirmed, and so is the claim
    n = _numbers()
    assert C.part_worse(n)[0] == E.CONFIRMED and C.verdict(n).verdict == E.CONFIRMED
    n["tuned_diff"]["elu"] = {"mean": -0.01, "lo": -0.03, "hi": 0.01, "n": 5, "sd": 0.01, "level": 0.95}
    assert C.part_worse(n)[0] == E.REFUTED
    n["shared_diff"] = {"elu @ 3": {"mean": -0.8, "lo": -0.9, "hi": -0.7, "n": 5, "sd": 0.1, "level": 0.99}}
    assert C.part_worse(n)[0] == E.CAVEATS  # only when the fix is not retuned
    v = C.verdict(n)
    assert v.verdict == E.CAVEATS and "elu @ 3" in v.reasoning and math.isfinite(len(v.key))
    n["tuned_diff"]["leaky_relu"] = {"mean": 0.05, "lo": 0.02, "hi": 0.08, "n": 5, "sd": 0.01, "level": 0.95}
    n["acc_at_tuned"]["leaky_relu"]["mean"] = 0.99
    n["shared_diff"] = {}
    assert C.verdict(n).verdict == E.REFUTED  # both parts refuted


def test_sizes_share_claim_6s_settings():
    from actlab.claims.experiments import dying_relu as D

    for size in ("QUICK", "FULL"):
        mine, six = getattr(C.Config, size), getattr(D.Config, size)
        assert {k: v for k, v in six.items() if k in mine} == mine
        assert set(mine) == set(six) & {f.name for f in C.Config.__dataclass_fields__.values()}
