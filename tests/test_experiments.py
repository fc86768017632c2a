"""Every registered experiment at quick size: shapes, ranges, figures, JSON, and its verdict
rule applied to doctored numbers (the verdict must follow the numbers)."""

import copy
import functools
import json
import re

import numpy as np
import pytest

from actlab import claims as E
from actlab.claims.runner import Runner, SerialExecutor
from actlab.errors import ActlabError

# The quick results are computed once per process: keep these tests on one xdist worker.
pytestmark = pytest.mark.xdist_group("experiments")


@functools.cache
def _runner() -> Runner:
    # one in-memory cache: experiments that share cells (claim 4 and its calibration) compute them once
    return Runner(None, executor=SerialExecutor(), progress=False)


@functools.cache
def quick_result(name: str):
    """One experiment at quick size, computed once per test process, when first asked for."""
    return E.run(name, "quick", runner=_runner())


def quick_results() -> dict:
    """Every experiment at quick size (see :func:`quick_result`)."""
    return {n: quick_result(n) for n in E.names()}


# ---------------------------------------------------------------- configuration / validation

def test_unknown_experiment_has_close_match():
    with pytest.raises(ActlabError, match="Did you mean 'softmax_overflow'"):
        E.make_config("softmax_overflw")


def test_unknown_setting_lists_allowed_keys():
    with pytest.raises(ActlabError, match=r"Unknown setting of linear_collapse: 'epoch'\. Did you mean 'epochs'\?"):
        E.make_config("linear_collapse", overrides={"epoch": "3"})


@pytest.mark.parametrize("key,value", [("epochs", "three"), ("epochs", "2.5"), ("lr", "fast"), ("depths", "2,x")])
def test_wrong_type_rejected(key, value):
    with pytest.raises(ActlabError, match=f"The '{key}' setting of linear_collapse must be"):
        E.make_config("linear_collapse", overrides={key: value})


def test_sets_and_sizes_are_typed():
    cfg = E.make_config("linear_collapse", "quick", seeds=3, overrides={"lr": "0.2", "depths": "2, 4"})
    assert cfg.lr == 0.2 and cfg.depths == (2, 4) and cfg.seeds == 3 and cfg.epochs == cfg.QUICK["epochs"]
    with pytest.raises(ActlabError, match="'seeds'"):
        E.make_config("linear_collapse", seeds=0)
    with pytest.raises(ActlabError, match="'size'"):
        E.make_config("linear_collapse", "huge")
    assert E.parse_sets(["a=1", "b = x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ActlabError, match="key=value"):
        E.parse_sets(["lr"])


def test_every_experiment_has_sizes_and_metadata():
    assert E.names() == E.names("claim") + E.names("calibration") and len(E.names("calibration")) >= 4
    for n in E.names():
        e = E.get(n)
        if e.kind == "claim":  # the tutorials' sentence in English and in Korean
            assert set(e.tutorial.split(", ")) <= {"000", "001", "002", "003", "004"} and e.korean and e.claim
        else:  # the paper and its statement
            assert re.search(r"\b(19|20)\d\d\b", e.tutorial) and not e.korean and e.claim
        for size in E.SIZES:
            cfg = E.make_config(n, size)
            assert cfg.seeds >= 1


# ---------------------------------------------------------------- generic checks of every experiment

@pytest.mark.parametrize("name", E.names())
def test_quick_run_is_complete_and_serialises(name):
    r = quick_result(name)
    assert r.verdict.verdict in E.VERDICTS and r.verdict.reasoning and r.verdict.key
    assert r.outcome.figures and all(f.png[:8] == b"\x89PNG\r\n\x1a\n" for f in r.outcome.figures)
    back = E.Result.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back.verdict == r.verdict and back.outcome.figures[0].png == r.outcome.figures[0].png
    assert E.get(name).verdict(back.outcome.numbers) == r.verdict  # the rule reads only the numbers


# ---------------------------------------------------------------- claim-specific checks

def test_softmax_overflow_thresholds_are_where_exp_overflows():
    n = quick_results()["softmax_overflow"].outcome.numbers
    for dt in (np.float32, np.float64):
        t = dt(n["threshold"][np.dtype(dt).name])
        with np.errstate(over="ignore"):
            assert np.isinf(np.exp(t)) and np.isfinite(np.exp(np.nextafter(t, dt(0))))
    code = n["tutorial_code"]
    assert "AttributeError" in code["step_function"]["last_line"]  # np.int is gone from NumPy
    assert "NameError" in code["sofmtax"]["last_line"]
    assert not code["softmax"]["correct"] and not code["sofmtax_c_fixed"]["correct"]


def test_softmax_verdict_follows_numbers():
    rule = E.get("softmax_overflow").verdict
    n = copy.deepcopy(quick_results()["softmax_overflow"].outcome.numbers)
    assert rule(n).verdict == E.CAVEATS  # the math holds, the tutorial's code does not run
    for v in n["tutorial_code"].values():
        v["correct"] = True
    assert rule(n).verdict == E.CONFIRMED
    n["stable_abs_eps"]["float64"] = 1e6
    assert rule(n).verdict == E.REFUTED
    n = copy.deepcopy(quick_results()["softmax_overflow"].outcome.numbers)
    n["threshold"]["float32"] = 50.0
    assert rule(n).verdict == E.REFUTED


def test_bce_identity_and_verdict():
    n = copy.deepcopy(quick_results()["bce_sigmoid_gradient"].outcome.numbers)
    assert n["identity_max_err"] < 1e-30
    # independent check of the saturation ratio: 2 H (1 - H) at z = -10 via scipy's expit
    from scipy.special import expit

    h = expit(-10.0)
    assert n["mse_over_bce_grad_at_z"]["-10.0"] == pytest.approx(2 * h * (1 - h) * (1 - h) / (1 - h), rel=1e-12)
    rule = E.get("bce_sigmoid_gradient").verdict
    assert rule(n).verdict == E.CONFIRMED
    tie = copy.deepcopy(n)  # the race is an illustration: a longer run where MSE escapes too keeps the verdict
    tie["final_acc"]["mse"] = dict(n["final_acc"]["bce"])
    v = rule(tie)
    assert v.verdict == E.CONFIRMED and "escaped too" in v.reasoning
    broken = copy.deepcopy(n)
    broken["identity_max_err"] = 1e-3
    assert rule(broken).verdict == E.REFUTED
    flat = copy.deepcopy(n)
    flat["mse_over_bce_grad_at_z"]["-10.0"] = 0.5  # saturation would not change the gradient much
    assert rule(flat).verdict == E.REFUTED


def test_linear_collapse_numbers_and_verdict():
    n = copy.deepcopy(quick_results()["linear_collapse"].outcome.numbers)
    assert max(n["collapse_max_rel_err"].values()) < 1e-13
    for accs in n["train_acc"].values():
        for a in accs.values():
            assert 0.0 <= a["mean"] <= 1.0
    rule = E.get("linear_collapse").verdict
    assert rule(n).verdict == E.CONFIRMED
    n["train_acc"]["xor"]["deep linear"]["mean"] = 0.99  # a linear net that fits XOR would refute it
    assert rule(n).verdict == E.REFUTED


def test_step_training_freezes_hidden_layer():
    r = quick_results()["step_training"]
    n = copy.deepcopy(r.outcome.numbers)
    assert n["max_abs_hidden_grad_step"] == 0.0 and n["max_hidden_moved_step"] == 0.0
    assert n["hidden_moved"]["sigmoid"]["mean"] > 1e-3
    rule = E.get("step_training").verdict
    assert rule(n).verdict == E.CAVEATS  # the output layer above the step still learns
    n["max_abs_hidden_grad_step"] = 0.05
    assert rule(n).verdict == E.REFUTED


def test_zero_centring_sign_structure_and_verdict():
    n = copy.deepcopy(quick_results()["zero_centring"].outcome.numbers)
    # sigmoid and ReLU hidden outputs are >= 0 everywhere, tanh's are mixed
    assert n["hidden_outputs_nonneg_frac"]["sigmoid"]["mean"] == 1.0 == n["hidden_outputs_nonneg_frac"]["relu"]["mean"]
    assert 0.2 < n["hidden_outputs_nonneg_frac"]["tanh"]["mean"] < 0.8
    assert n["toy"]["same_sign_updates"]["positive"]["mean"] == 1.0
    assert n["formula_check"]["correct_rel_err"] < 1e-6 < 0.1 < n["formula_check"]["tutorial_rel_err"]
    assert all(v == 1.0 for v in n["surface_sign_agrees_with_x1x2"].values())
    rule = E.get("zero_centring").verdict
    assert rule(n).verdict in (E.CONFIRMED, E.CAVEATS)
    n["one_sign"]["per_example"]["tanh"]["mean"] = 1.0  # tanh would not help: the claim would fall
    assert rule(n).verdict == E.REFUTED


def test_zero_centring_gradients_match_torch():
    torch = pytest.importorskip("torch")
    from actlab.claims.experiments.zero_centring import neuron_grads

    x1, x2 = np.array([0.7, -1.3, 2.0]), np.array([1.1, 0.4, -2.5])
    for act, tf in (("sigmoid", torch.sigmoid), ("tanh", torch.tanh)):
        w = torch.tensor([0.5, -0.3], dtype=torch.float64, requires_grad=True)
        H = tf(w[0] * torch.tensor(x1) + w[1] * torch.tensor(x2) + 0.1)
        ((1.0 - H) ** 2).sum().backward()
        g1, g2 = neuron_grads(act, "se", x1, x2)
        np.testing.assert_allclose([g1.sum(), g2.sum()], w.grad.numpy(), rtol=1e-12)


def test_output_activation_numbers_and_verdict():
    n = copy.deepcopy(quick_results()["output_activation"].outcome.numbers)
    reg = n["parts"]["regression"]
    # a sigmoid output cannot reach targets beyond (0, 1): it loses to identity there
    assert reg["targets beyond (0, 1)"]["advantage"]["sigmoid"]["mse"]["lo"] > 0
    mnist = n["parts"]["multiclass"]["MNIST"]
    assert mnist["mean_abs_sum_minus_1"]["softmax"]["mean"] < 1e-5
    assert 0.5 < mnist["acc"]["softmax"]["mean"] <= 1.0
    rule = E.get("output_activation").verdict
    assert rule(n).verdict in (E.CONFIRMED, E.CAVEATS)
    # every recommended output beaten in every case, here and at the neighbours, would refute it
    for table in (n["parts"], *n["robustness"].values()):
        for by_case in table.values():
            for v in by_case.values():
                for per_metric in v["advantage"].values():
                    for m in per_metric:
                        per_metric[m] = {"mean": -0.1, "lo": -0.2, "hi": -0.05, "sd": 0.1, "n": 2}
    assert rule(n).verdict == E.REFUTED


@pytest.mark.parametrize("argv,match", [
    (["run", "softmax_overflw"], "Did you mean 'softmax_overflow'"),
    (["run", "softmax_overflow", "--set", "rows=3"], "Unknown setting of softmax_overflow: 'rows'"),
    (["run", "softmax_overflow", "--set", "seeds=x"], "must be an int"),
    (["run", "softmax_overflow", "--seeds", "0"], "'seeds'"),
])
def test_cli_rejects_before_any_work(argv, match, capsys, tmp_path):
    from actlab import cli

    assert cli.main([*argv, "--cache", str(tmp_path / "c.sqlite")]) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "c.sqlite").exists()  # nothing was started


def test_cli_lists_experiments(capsys):
    from actlab import cli

    assert cli.main(["experiments"]) == 0
    out = capsys.readouterr().out
    assert all(n in out for n in E.names())
