"""Claim 12 (the output activation suits the task): the losses and scores of each arm
against PyTorch and hand computations, measured facts against bounds computed from the data
alone, and each part's rule and the combining rule fed doctored numbers."""

import copy
import math

import numpy as np
import pytest
from scipy import stats

from actlab import claims as E
from actlab import nn
from actlab.claims.experiments import output_activation as O
from actlab.claims.runner import Runner

pytestmark = pytest.mark.xdist_group(__name__)  # its module fixtures computed once, on one worker

TINY = {"seeds": 3, "regression_examples": 64, "regression_epochs": 5, "regression_width": 4, "binary_examples": 80,
        "binary_epochs": 3, "binary_width": 4, "binary_sets": "moons", "mnist_train": 300, "mnist_test": 200,
        "mnist_epochs": 1, "mnist_width": 8, "lr_factors": "2", "width_factors": "2"}


@pytest.fixture(scope="module")
def result():
    return E.run("output_activation", "quick", overrides=TINY, runner=Runner(None, workers=1, progress=False))


# ---------------------------------------------------------------- the arms' losses and scores

@pytest.mark.parametrize("k", [1, 2, 10])
def test_losses_and_gradients_match_torch(k):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(k)
    z = rng.normal(size=(16, k)) * 3
    y = rng.integers(0, max(k, 2), 16)
    onehot = np.eye(k)[y] if k > 1 else y[:, None].astype(float)
    arms = ["identity", "sigmoid"] + (["softmax"] if k > 1 else [])
    for arm in arms:
        loss = O.loss_of(arm)
        target = onehot if arm == "identity" else y
        value = loss.forward(z, target)
        grad = loss.backward()
        tz = torch.tensor(z, requires_grad=True)
        ref = {"identity": lambda: F.mse_loss(tz, torch.tensor(onehot)),
               "sigmoid": lambda: F.binary_cross_entropy_with_logits(tz, torch.tensor(onehot)),
               "softmax": lambda: F.cross_entropy(tz, torch.tensor(y))}[arm]()
        ref.backward()
        assert value == pytest.approx(ref.item(), rel=1e-12), arm
        np.testing.assert_allclose(grad, tz.grad.numpy(), rtol=1e-10, atol=1e-15)
    # regression with a sigmoid output: squared error of sigmoid(z)
    t = rng.uniform(size=(16, 1))
    loss = nn.Loss(output="sigmoid", kind="mse")
    tz = torch.tensor(z[:, :1], requires_grad=True)
    ref = F.mse_loss(torch.sigmoid(tz), torch.tensor(t))
    ref.backward()
    assert loss.forward(z[:, :1], t) == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), tz.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_probabilities_brier_and_predictions_by_hand():
    z = np.array([[2.0, -1.0, 0.5], [-0.3, 0.1, 3.0]])
    y = np.array([0, 2])
    e = np.exp(z)
    sm = e / e.sum(1, keepdims=True)
    np.testing.assert_allclose(O.probabilities("softmax", z), sm, rtol=1e-14)
    np.testing.assert_allclose(O.probabilities("sigmoid", z), 1 / (1 + np.exp(-z)), rtol=1e-14)
    np.testing.assert_array_equal(O.probabilities("identity", z), [[1.0, 0.0, 0.5], [0.0, 0.1, 1.0]])
    want = np.mean([sum((sm[i, j] - (j == y[i])) ** 2 for j in range(3)) for i in range(2)])
    assert O.brier(sm, y) == pytest.approx(want, rel=1e-14)
    p1 = np.array([[0.9], [0.2], [0.6]])
    assert O.brier(p1, np.array([1, 0, 0])) == pytest.approx((0.01 + 0.04 + 0.36) / 3, rel=1e-14)
    z1 = np.array([[0.4], [-0.1], [0.7]])
    np.testing.assert_array_equal(O.predict("sigmoid", z1), [1, 0, 1])
    np.testing.assert_array_equal(O.predict("identity", z1), [0, 0, 1])
    np.testing.assert_array_equal(O.predict("softmax", z), [0, 2])


# ---------------------------------------------------------------- measured facts

def test_sigmoid_regression_error_respects_the_clipping_bound(result):
    """A sigmoid output lies in (0, 1), so on a test set its MSE is at least that of the
    targets clipped to [0, 1]: a bound from the data alone."""
    n = result.outcome.numbers["parts"]["regression"]
    lo, hi = n[O.INSIDE]["target_range"]
    assert 0 < lo and hi < 1  # the inside targets are representable by a sigmoid
    lo, hi = n[O.BEYOND]["target_range"]
    assert lo < 0 and hi > 1
    cells = [c for c in result.outcome.raw["cells"] if c["part"] == "regression" and c["arm"] == "sigmoid"]
    assert cells
    for c in cells:
        _, yt = O.regression_data([c["seed"], 6], 2000, c["wide"], c["scale"])
        bound = float(np.mean((yt - np.clip(yt, 0, 1)) ** 2))
        assert c["mse"] >= bound
        assert (bound > 1.0) if c["wide"] else (bound == 0.0)


def test_advantages_are_paired_t_intervals_of_the_raw_cells(result):
    n = result.outcome.numbers
    cells = [c for c in result.outcome.raw["cells"] if c["setting"] == O.MAIN]
    for part, (rec, alts, metrics) in O.PARTS.items():
        for case, v in n["parts"][part].items():
            def per_seed(arm, m):
                rows = [c for c in cells if c["part"] == part and c["arm"] == arm
                        and (c.get("dataset") == case or part != "binary")
                        and (part != "regression" or c["wide"] == (case == O.BEYOND))]
                return np.array([r[m] for r in sorted(rows, key=lambda r: r["seed"])])

            for a in alts:
                for m, better in metrics.items():
                    d = per_seed(rec, m) - per_seed(a, m)
                    d = d if better == "higher" else -d
                    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
                    got = v["advantage"][a][m]
                    assert got["mean"] == pytest.approx(d.mean(), abs=1e-12)
                    if half > 0:
                        assert (got["lo"], got["hi"]) == pytest.approx((d.mean() - half, d.mean() + half), abs=1e-12)


def test_softmax_sums_to_one_and_classification_numbers_are_in_range(result):
    mc = result.outcome.numbers["parts"]["multiclass"]["MNIST"]
    assert mc["mean_abs_sum_minus_1"]["softmax"]["mean"] < 1e-12
    assert mc["mean_abs_sum_minus_1"]["sigmoid"]["mean"] > 1e-3
    for part in ("binary", "multiclass"):
        for v in result.outcome.numbers["parts"][part].values():
            for r in v["acc"].values():
                assert 0.0 <= r["mean"] <= 1.0
            for arm, r in v["brier"].items():  # a distribution scores at most 2; ten free outputs at most 10
                assert 0.0 <= r["mean"] <= (1.0 if part == "binary" else 2.0 if arm == "softmax" else 10.0)
    assert set(result.outcome.numbers["robustness"]) == {"lr x2", "width x2"}


# ---------------------------------------------------------------- the rules

def iv(lo, hi):
    return {"mean": (lo + hi) / 2, "lo": lo, "hi": hi, "sd": 0.1, "n": 5}


BETTER, EQUAL, WORSE = iv(0.01, 0.02), iv(-0.01, 0.02), iv(-0.02, -0.01)


def doctored(n, default=BETTER, where=None, **cases):
    """Every advantage set to ``default``, except ``cases``: {part: {case: interval}} (all
    alternatives and metrics of that case); ``where``: only that robustness entry."""
    n = copy.deepcopy(n)
    tables = [n["parts"], *n["robustness"].values()] if where is None else [n["robustness"][where]]
    for t in tables:
        for part, by_case in t.items():
            for case, v in by_case.items():
                for alt in v["advantage"]:
                    for m in v["advantage"][alt]:
                        v["advantage"][alt][m] = cases.get(part, {}).get(case, default)
    return n


def test_part_rule_and_combining_rule(result):
    rule = E.get("output_activation").verdict
    n = result.outcome.numbers
    assert rule(doctored(n)).verdict == E.CONFIRMED
    v = rule(doctored(n, default=EQUAL))
    assert v.verdict == E.CONFIRMED and "equally good within the interval" in v.reasoning
    # the regression recommendation beaten inside (0, 1) only: that part depends on the case
    v = rule(doctored(n, regression={O.INSIDE: WORSE}))
    assert v.verdict == E.CAVEATS
    assert "Regression (identity): CONFIRMED WITH CAVEATS" in v.reasoning and "depends on the case" in v.reasoning
    assert "Binary classification (sigmoid): CONFIRMED." in v.reasoning
    # one part refuted, the others confirmed: caveats; every part refuted: refuted
    v = rule(doctored(n, multiclass={"MNIST": WORSE}))
    assert v.verdict == E.CAVEATS and "Multi-class classification (softmax): REFUTED" in v.reasoning
    assert rule(doctored(n, default=WORSE)).verdict == E.REFUTED
    # one alternative beating one metric is enough to count against the recommendation
    m = doctored(n)
    for t in (m["parts"], *m["robustness"].values()):
        t["binary"]["moons"]["advantage"]["softmax"]["brier"] = WORSE
    v = rule(m)
    assert v.verdict == E.CAVEATS and "Binary classification (sigmoid): REFUTED" in v.reasoning
    assert "sigmoid worse than softmax (brier)" in v.reasoning
    # a neighbouring setting that changes a part's verdict
    v = rule(doctored(doctored(n), where="width x2", binary={"moons": WORSE}))
    assert v.verdict == E.CAVEATS and "depends on the learning rate and width: at width x2" in v.reasoning


def test_verdict_states_its_settings(result):
    v = result.verdict
    for words in ("1-4-4-1 tanh", "2-4-4-k tanh on moons", "784-8-10 ReLU on 300 MNIST images", "lr x2:",
                  "width x2:", "Rule:"):
        assert words in v.reasoning
    assert E.get("output_activation").verdict(result.outcome.numbers) == v
