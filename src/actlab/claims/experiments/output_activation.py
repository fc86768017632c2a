"""The output activation follows the task: identity, sigmoid, softmax (tutorial 003)

The tutorial recommends three pairings: identity for regression, sigmoid for binary and
softmax for multi-class classification. It recommends; it does not say that the other
choices fail. So each recommendation is tested as its own part, against the alternatives
a reader could pick instead, and judged by whether the recommended output is *at least as
good* as each alternative (paired per seed: the arms of a seed share data, initial hidden
weights and batches; 95 % t intervals over seeds):

* regression (test MSE): identity vs sigmoid output, both trained on squared error, with
  targets inside (0, 1), which a sigmoid output can represent, and the same targets
  stretched beyond (0, 1), which it cannot;
* binary classification on two noisy Playground sets (test accuracy and Brier score):
  sigmoid + BCE vs softmax over two outputs + cross-entropy vs identity + squared error on
  0/1 targets (threshold 0.5);
* multi-class classification on MNIST (test accuracy and Brier score): softmax + CE vs one
  sigmoid per class + BCE vs identity + squared error on one-hot targets (argmax).

The Brier score reads the outputs as probabilities: softmax as is, sigmoids as is (they
need not sum to 1), identity outputs clipped to [0, 1] (clipping can only lower their
score: the kindest reading). All arms train with Adam, whose steps do not depend on the
scale of the loss, so no arm gains from how its loss is averaged.

The rule: in a case, the recommended output suits the task when no alternative is better
on any metric (no paired interval entirely in the alternative's favour). A part is
confirmed when it suits every case, refuted when it suits none, confirmed with caveats in
between; a part whose verdict changes at a neighbouring learning rate or width (each
halved and doubled, for all three parts at once) is confirmed with caveats. The claim is
confirmed if all three parts are, refuted if all three are, and confirmed with caveats
otherwise, naming the parts that fall short.

The left and middle panels show the regression fits of seed 0: inside (0, 1) both outputs
fit; beyond it the sigmoid output stays in its range. The right panel shows every
comparison at once: the recommended output's advantage over each alternative (paired
difference of the error, over the recommended output's mean error; accuracy enters as the
error rate 1 - accuracy), with its 95 % interval; right of 0 the recommendation is
better, left of 0 the alternative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import ci, fmt_ci, new_figure, png, seeds_of
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, classification_sets, register, setting

#: part -> (recommended arm, alternatives, metrics with their better direction)
PARTS = {
    "regression": ("identity", ("sigmoid",), {"mse": "lower"}),
    "binary": ("sigmoid", ("softmax", "identity"), {"acc": "higher", "brier": "lower"}),
    "multiclass": ("softmax", ("sigmoid", "identity"), {"acc": "higher", "brier": "lower"}),
}
PART_TITLES = {"regression": "Regression (identity)", "binary": "Binary classification (sigmoid)",
               "multiclass": "Multi-class classification (softmax)"}
INSIDE, BEYOND = "targets inside (0, 1)", "targets beyond (0, 1)"
MAIN = "as configured"


@dataclass
class Config:
    seeds: int = 5
    # regression: y = 0.5 + 0.4 sin x + U(-0.05, 0.05) on x in [-3, 3] lies in [0.05, 0.95];
    # the wide targets are the same set stretched about 0.5 by ``wide_scale``
    regression_examples: int = 256
    regression_epochs: int = 120
    regression_width: int = 32
    regression_lr: float = 0.01
    wide_scale: float = 7.5
    # binary: Playground sets with label noise (so that probabilities matter)
    binary_sets: tuple[str, ...] = setting(("moons", "circle"), choices=classification_sets)
    binary_examples: int = 400
    binary_noise: float = setting(0.2, low=0)
    binary_epochs: int = 60
    binary_width: int = 16
    binary_lr: float = 0.01
    # multi-class: MNIST, a random training subset per seed, the first test images
    mnist_train: int = 4000
    mnist_test: int = 2000
    mnist_epochs: int = 5
    mnist_width: int = 64
    mnist_lr: float = 0.001
    # the robustness check: every learning rate, then every width, multiplied by these in turn
    lr_factors: tuple[float, ...] = (0.5, 2.0)
    width_factors: tuple[float, ...] = (0.5, 2.0)
    QUICK: ClassVar[dict] = {"seeds": 2, "regression_epochs": 60, "binary_epochs": 30, "mnist_train": 1000,
                             "mnist_test": 1000, "mnist_epochs": 3, "lr_factors": (2.0,), "width_factors": (2.0,)}
    FULL: ClassVar[dict] = {"seeds": 20, "regression_epochs": 300, "binary_epochs": 100, "mnist_train": 20000,
                            "mnist_test": 10000}


# ----------------------------------------------------------------------------- the arms

def loss_of(arm: str):
    """The loss each output is trained with: identity + squared error, sigmoid + BCE
    (regression: squared error of the sigmoid's output), softmax + cross-entropy."""
    from ... import nn

    return {"identity": nn.MSE, "sigmoid": nn.SigmoidBCE, "softmax": nn.SoftmaxCrossEntropy}[arm]()


def probabilities(arm: str, z: np.ndarray) -> np.ndarray:
    """The outputs read as probabilities: softmax along the classes, sigmoid per output,
    identity clipped to [0, 1] (float64)."""
    from scipy.special import expit, softmax

    z = np.asarray(z, dtype=np.float64)
    if arm == "softmax":
        return softmax(z, axis=1)
    return expit(z) if arm == "sigmoid" else np.clip(z, 0.0, 1.0)


def brier(p: np.ndarray, y: np.ndarray) -> float:
    """Brier score: the mean over examples of sum_k (p_k - [y = k])^2; a single column is
    the probability of class 1 (the binary score, mean (p - y)^2)."""
    p = np.asarray(p, dtype=np.float64)
    if p.shape[1] == 1:
        return float(np.mean((p[:, 0] - y) ** 2))
    return float(np.mean(np.sum((p - np.eye(p.shape[1])[y]) ** 2, axis=1)))


def predict(arm: str, z: np.ndarray) -> np.ndarray:
    """Class labels: argmax over several outputs; one output: sigmoid above 0.5 (z > 0),
    identity above 0.5."""
    if z.shape[1] > 1:
        return np.argmax(z, axis=1)
    return (z[:, 0] > (0.0 if arm == "sigmoid" else 0.5)).astype(np.int64)


def regression_data(seed, n: int, wide: bool, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points of y = 0.5 + 0.4 sin x + U(-0.05, 0.05), x ~ U(-3, 3) (y in [0.05, 0.95]);
    ``wide``: stretched about 0.5 by ``scale``. ``seed``: anything np.random.default_rng takes."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, size=(n, 1))
    y = 0.5 + 0.4 * np.sin(x) + rng.uniform(-0.05, 0.05, size=x.shape)
    return x, (0.5 + scale * (y - 0.5) if wide else y)


def _regression(c: dict) -> dict:
    from ... import nn

    x, y = regression_data([c["seed"], 5], c["examples"], c["wide"], c["scale"])
    xt, yt = regression_data([c["seed"], 6], 2000, c["wide"], c["scale"])
    model = nn.mlp([1, c["width"], c["width"], 1], activation="tanh", output=c["arm"], init="xavier_normal",
                   seed=c["seed"], dtype=np.float64)
    loss = nn.MSE() if c["arm"] == "identity" else nn.Loss(output="sigmoid", kind="mse")
    nn.fit(model, x, y, loss=loss, optimizer="adam", lr=c["lr"], epochs=c["epochs"], batch_size=32,
           seed=c["seed"], progress=False)
    out = {"mse": float(np.mean((model.predict_proba(xt) - yt) ** 2)),
           "target_min": float(y.min()), "target_max": float(y.max())}
    if c["curve"]:
        g = np.linspace(-3, 3, 121).reshape(-1, 1)
        out.update(curve=model.predict_proba(g).ravel().tolist(), x=x.ravel().tolist(), y=y.ravel().tolist())
    return out


def _classification_data(c: dict):
    from ... import data

    if c["part"] == "multiclass":
        X, y = data.load_mnist(split="train")
        Xt, yt = data.load_mnist(split="test")
        idx = np.random.default_rng([c["seed"], 6]).choice(len(X), c["examples"], replace=False)
        return X[idx], y[idx], Xt[:c["test"]], yt[:c["test"]], 10
    X, y = data.playground(c["dataset"], n=c["examples"], noise=c["noise"], seed=c["seed"])
    Xt, yt = data.playground(c["dataset"], n=2000, noise=c["noise"], seed=c["seed"] + 10**6)
    mu, sd = X.mean(0), X.std(0)
    return (X - mu) / sd, y, (Xt - mu) / sd, yt, 2


def _classification(c: dict) -> dict:
    from ... import nn

    X, y, Xt, yt, classes = _classification_data(c)
    arm = c["arm"]
    outputs = classes if classes > 2 or arm == "softmax" else 1
    if c["part"] == "multiclass":
        model = nn.mlp([X.shape[1], c["width"], outputs], activation="relu", output=arm, seed=c["seed"])
        batch = 64
    else:
        model = nn.mlp([2, c["width"], c["width"], outputs], activation="tanh", output=arm, init="xavier_normal",
                       seed=c["seed"], dtype=np.float64)
        batch = 32
    # squared error on one 0/1 output needs float targets shaped like it; the others take labels
    target = y.astype(np.float64).reshape(-1, 1) if (arm == "identity" and outputs == 1) else y
    nn.fit(model, X, target, loss=loss_of(arm), optimizer="adam", lr=c["lr"], epochs=c["epochs"],
           batch_size=batch, seed=c["seed"], progress=False)
    z = np.asarray(model.forward(Xt), dtype=np.float64)
    p = probabilities(arm, z)
    if outputs == 2:
        p = p[:, 1:]  # softmax over two outputs: the probability of class 1
    sums = probabilities(arm, z).sum(axis=1)
    return {"acc": float(np.mean(predict(arm, z) == yt)), "brier": brier(p, yt),
            "sum_dev": float(np.mean(np.abs(sums - 1))) if outputs > 1 else 0.0,
            "outside_01": float(np.mean((z < 0) | (z > 1))) if arm == "identity" else 0.0}


def cell(c: dict) -> dict:
    return _regression(c) if c["part"] == "regression" else _classification(c)


# ----------------------------------------------------------------------------- the grid

def neighbours(cfg: Config) -> dict:
    """{label: (lr factor, width factor)}: the configured setting, then each neighbour."""
    out = {MAIN: (1.0, 1.0)}
    for f in cfg.lr_factors:
        out.setdefault(f"lr x{f:g}", (f, 1.0))
    for f in cfg.width_factors:
        out.setdefault(f"width x{f:g}", (1.0, f))
    return out


def cases(cfg: Config) -> dict:
    """{part: {case: the cell settings shared by its arms}}."""
    reg = {"part": "regression", "examples": cfg.regression_examples, "epochs": cfg.regression_epochs,
           "width": cfg.regression_width, "lr": cfg.regression_lr, "scale": cfg.wide_scale}
    binary = {"part": "binary", "examples": cfg.binary_examples, "noise": cfg.binary_noise,
              "epochs": cfg.binary_epochs, "width": cfg.binary_width, "lr": cfg.binary_lr}
    return {
        "regression": {INSIDE: dict(reg, wide=False), BEYOND: dict(reg, wide=True)},
        "binary": {d: dict(binary, dataset=d) for d in cfg.binary_sets},
        "multiclass": {"MNIST": {"part": "multiclass", "examples": cfg.mnist_train, "test": cfg.mnist_test,
                                 "epochs": cfg.mnist_epochs, "width": cfg.mnist_width, "lr": cfg.mnist_lr}},
    }


def _compare(rows: dict, part: str) -> dict:
    """One case's numbers from {arm: [per-seed results]}: each arm's metrics and the
    recommended arm's advantage over each alternative (paired per seed; > 0: better)."""
    rec, alts, metrics = PARTS[part]
    out: dict = {m: {a: ci([r[m] for r in rows[a]]) for a in (rec, *alts)} for m in metrics}
    sign = {"lower": -1.0, "higher": 1.0}
    out["advantage"] = {a: {m: ci([sign[d] * (rr[m] - ra[m]) for rr, ra in zip(rows[rec], rows[a])])
                            for m, d in metrics.items()} for a in alts}
    return out


def run(cfg: Config, runner) -> Outcome:
    grid, cells = neighbours(cfg), []
    for label, (fl, fw) in grid.items():
        for part, by_case in cases(cfg).items():
            rec, alts, _ = PARTS[part]
            for case, base in by_case.items():
                for arm in (rec, *alts):
                    for s in seeds_of(cfg):
                        c = dict(base, arm=arm, seed=s, lr=base["lr"] * fl, width=max(1, round(base["width"] * fw)))
                        if part == "regression":
                            c["curve"] = label == MAIN and s == 0
                        cells.append((label, part, case, c))
    res = runner.map(cell, [c for *_, c in cells], desc="output activations")
    rows: dict = {}
    for (label, part, case, c), r in zip(cells, res):
        rows.setdefault((label, part, case), {}).setdefault(c["arm"], []).append(r)

    def summary(label):
        out = {}
        for part, by_case in cases(cfg).items():
            out[part] = {case: _compare(rows[label, part, case], part) for case in by_case}
        return out

    parts = summary(MAIN)
    for case in (INSIDE, BEYOND):
        a = cfg.wide_scale if case == BEYOND else 1.0
        parts["regression"][case]["noise_floor_mse"] = (0.05 * a) ** 2 / 3  # variance of U(-0.05 a, 0.05 a)
        rs = rows[MAIN, "regression", case]["identity"]
        parts["regression"][case]["target_range"] = [min(r["target_min"] for r in rs),
                                                     max(r["target_max"] for r in rs)]
    for part in ("binary", "multiclass"):
        for case in parts[part]:
            r = rows[MAIN, part, case]
            parts[part][case]["mean_abs_sum_minus_1"] = {a: ci([x["sum_dev"] for x in r[a]]) for a in r}
            parts[part][case]["identity_outputs_outside_01"] = ci([x["outside_01"] for x in r["identity"]])
    numbers = {
        "setup": {"seeds": cfg.seeds, "regression": f"1-{cfg.regression_width}-{cfg.regression_width}-1 tanh, "
                  f"{cfg.regression_examples} points, Adam lr {cfg.regression_lr:g}, {cfg.regression_epochs} epochs",
                  "binary": f"2-{cfg.binary_width}-{cfg.binary_width}-k tanh on {', '.join(cfg.binary_sets)} "
                  f"(noise {cfg.binary_noise:g}), {cfg.binary_examples} points, Adam lr {cfg.binary_lr:g}, "
                  f"{cfg.binary_epochs} epochs",
                  "multiclass": f"784-{cfg.mnist_width}-10 ReLU on {cfg.mnist_train} MNIST images, Adam lr "
                  f"{cfg.mnist_lr:g}, {cfg.mnist_epochs} epochs, {cfg.mnist_test} test images"},
        "parts": parts,
        # the neighbouring settings: the advantages only (what the rule reads)
        "robustness": {label: {part: {case: {"advantage": v["advantage"]} for case, v in by_case.items()}
                               for part, by_case in summary(label).items()} for label in grid if label != MAIN},
    }
    figs = [_figure(cfg, numbers, rows)]
    text = (f"Regression: y = 0.5 + 0.4 sin x + U(-0.05, 0.05), x ~ U(-3, 3), {cfg.regression_examples} training and "
            f"2000 test points, targets as drawn (inside (0, 1)) or stretched by {cfg.wide_scale:g} about 0.5; "
            f"1-{cfg.regression_width}-{cfg.regression_width}-1 tanh network, squared error, Adam lr "
            f"{cfg.regression_lr:g}, batch 32, {cfg.regression_epochs} epochs, float64. Binary: Playground "
            f"{', '.join(cfg.binary_sets)} with noise {cfg.binary_noise:g}, {cfg.binary_examples} training and 2000 "
            f"test points, inputs standardised, 2-{cfg.binary_width}-{cfg.binary_width}-k tanh, Adam lr "
            f"{cfg.binary_lr:g}, batch 32, {cfg.binary_epochs} epochs, float64. Multi-class: {cfg.mnist_train} MNIST "
            f"training images (a random subset per seed), the first {cfg.mnist_test} test images, 784-"
            f"{cfg.mnist_width}-10 ReLU, Adam lr {cfg.mnist_lr:g}, batch 64, {cfg.mnist_epochs} epochs, float32. "
            f"Same initial hidden weights for every arm of a seed; seeds 0..{cfg.seeds - 1}. Neighbouring settings: "
            f"{', '.join(k for k in grid if k != MAIN)} (all learning rates, or all widths).")
    raw = [dict({k: v for k, v in c.items() if k != "curve"}, setting=label,
                **{k: v for k, v in r.items() if k not in ("curve", "x", "y")})
           for (label, *_, c), r in zip(cells, res)]
    return Outcome(numbers=numbers, raw={"cells": raw}, figures=figs, settings=text)


def _figure(cfg: Config, numbers: dict, rows: dict):
    fig, ax = new_figure(3, 1, width=4.4)
    g = np.linspace(-3, 3, 121)
    for k, case in enumerate((INSIDE, BEYOND)):
        r = rows[MAIN, "regression", case]
        ax[0, k].scatter(r["identity"][0]["x"], r["identity"][0]["y"], s=5, color="0.6", label="training data")
        for arm, color in (("identity", "C0"), ("sigmoid", "C3")):
            ax[0, k].plot(g, r[arm][0]["curve"], color=color, label=f"{arm} output")
        ax[0, k].axhspan(0, 1, color="C3", alpha=0.08, label="sigmoid's range (0, 1)")
        ax[0, k].set(xlabel="x", ylabel="y", title=f"regression, {case}, seed 0")
        ax[0, k].legend(fontsize=7)
    labels, y = [], 0
    parts = numbers["parts"]
    for part, (rec, alts, metrics) in PARTS.items():
        for case, v in parts[part].items():
            for a in alts:
                for m in metrics:
                    adv = v["advantage"][a][m]
                    base = (1.0 - v[m][rec]["mean"]) if m == "acc" else v[m][rec]["mean"]
                    base = base if base > 0 else 1.0
                    ax[0, 2].errorbar(100 * adv["mean"] / base, y, fmt="o", color=f"C{list(PARTS).index(part)}",
                                      xerr=[[100 * (adv["mean"] - adv["lo"]) / base],
                                            [100 * (adv["hi"] - adv["mean"]) / base]], capsize=3)
                    labels.append(f"{rec} vs {a}, {case}, {'error rate' if m == 'acc' else m}")
                    y += 1
    ax[0, 2].axvline(0, color="0.5", lw=1)
    ax[0, 2].set(yticks=range(len(labels)), xlabel="advantage of the recommended output (% of its error)",
                 title="recommended vs alternatives")
    ax[0, 2].set_xscale("symlog", linthresh=1.0)  # linear within +-1 %, logarithmic beyond
    ax[0, 2].set_yticklabels(labels, fontsize=6)
    ax[0, 2].invert_yaxis()
    return png(fig, "output_activation", "Left, middle: regression fits (seed 0) with targets inside (0, 1) and "
               "stretched beyond it; the shaded band is the sigmoid's range. Right: every comparison, the recommended "
               "output's paired advantage over the alternative as a percentage of its own error (accuracy as the "
               "error rate), 95 % t interval over seeds; right of 0 the recommendation is better.")


# ----------------------------------------------------------------------------- verdict

def judge_part(part: str, by_case: dict) -> tuple[str, dict]:
    """The rule of one part, from its cases' advantages: (verdict, {case: {"worse": [...],
    "equal": [...], "better": [...]}}) listing "alternative (metric)" comparisons.

    In a case the recommended output *suits* the task when no alternative is better on any
    metric (no advantage interval entirely below 0). CONFIRMED if it suits every case,
    REFUTED if it suits none, CAVEATS otherwise (it depends on the case)."""
    status = {}
    for case, v in by_case.items():
        s: dict = {"worse": [], "equal": [], "better": []}
        for alt, per_metric in v["advantage"].items():
            for m, adv in per_metric.items():
                s["better" if adv["lo"] > 0 else "worse" if adv["hi"] < 0 else "equal"].append(f"{alt} ({m})")
        status[case] = s
    suits = [case for case, s in status.items() if not s["worse"]]
    if len(suits) == len(status):
        return CONFIRMED, status
    return (REFUTED if not suits else CAVEATS), status


def _part_text(part: str, v: dict, status: dict) -> str:
    rec, alts, metrics = PARTS[part]
    out = []
    for case, c in v.items():
        arms = "; ".join(f"{m} " + ", ".join(f"{a} {fmt_ci(c[m][a])}" for a in (rec, *alts)) for m in metrics)
        adv = "; ".join(f"{rec} minus {a} ({m}, > 0: {rec} better) {fmt_ci(c['advantage'][a][m])}"
                        for a in alts for m in metrics)
        extra = ""
        if part == "regression":
            lo, hi = c["target_range"]
            extra = f" (targets in [{lo:.3g}, {hi:.3g}], noise floor {c['noise_floor_mse']:.3g})"
        s = status[case]
        said = []
        if s["better"]:
            said.append(f"{rec} better than {', '.join(s['better'])}")
        if s["equal"]:
            said.append(f"equally good within the interval: {', '.join(s['equal'])}")
        if s["worse"]:
            said.append(f"{rec} worse than {', '.join(s['worse'])}")
        out.append(f"{case}{extra}: {arms}; {adv} -> {'; '.join(said)}.")
    return " ".join(out)


def verdict(numbers) -> Verdict:
    parts = numbers["parts"]
    u = numbers["setup"]
    lines, part_verdicts, keys = [], {}, []
    for part in PARTS:
        v, status = judge_part(part, parts[part])
        judged = {label: judge_part(part, rob[part]) for label, rob in numbers["robustness"].items()}
        neighbours_v = {label: nv for label, (nv, _) in judged.items()}
        flips = [label for label, nv in neighbours_v.items() if nv != v]

        def beaten(st):
            worse = [f"{', '.join(x['worse'])} on {case}" for case, x in st.items() if x["worse"]]
            return f" ({PARTS[part][0]} worse than {'; '.join(worse)})" if worse else ""

        rob = ", ".join(f"{label}: {nv}{beaten(st)}" for label, (nv, st) in judged.items())
        note = ""
        if flips:
            note = (f" The verdict of this part depends on the learning rate and width: at {', '.join(flips)} it is "
                    f"{', '.join(sorted({neighbours_v[f] for f in flips}))}.")
            v = CAVEATS
        unsuited = [case for case, s in status.items() if s["worse"]]
        if unsuited and len(unsuited) < len(status):
            note += (f" The recommended output is beaten on {', '.join(unsuited)} but not on the other case(s): "
                     "it depends on the case.")
        part_verdicts[part] = v
        lines.append(f"{PART_TITLES[part]}: {v.upper()}. Tested with {u[part]}, {u['seeds']} seeds. "
                     f"{_part_text(part, parts[part], status)} Neighbouring settings: {rob}.{note}")
        keys.append(f"{part} {v}")
    vs = set(part_verdicts.values())
    overall = CONFIRMED if vs == {CONFIRMED} else REFUTED if vs == {REFUTED} else CAVEATS
    reg, mc = parts["regression"], parts["multiclass"]["MNIST"]
    key = ("; ".join(keys) + f" (test MSE identity/sigmoid: inside (0, 1) {reg[INSIDE]['mse']['identity']['mean']:.3g}/"
           f"{reg[INSIDE]['mse']['sigmoid']['mean']:.3g}, beyond {reg[BEYOND]['mse']['identity']['mean']:.3g}/"
           f"{reg[BEYOND]['mse']['sigmoid']['mean']:.3g}; MNIST accuracy softmax/sigmoids/identity "
           f"{mc['acc']['softmax']['mean']:.3f}/{mc['acc']['sigmoid']['mean']:.3f}/{mc['acc']['identity']['mean']:.3f})")
    rule = ("Rule: a part is confirmed when the recommended output is at least as good as every alternative on every "
            "metric in every case (no paired interval entirely in the alternative's favour), refuted when an "
            "alternative beats it in every case, and confirmed with caveats in between or when a neighbouring "
            "learning rate or width changes the part's verdict; the claim is confirmed if all three parts are, "
            "refuted if all three are, and confirmed with caveats otherwise.")
    sums = parts["multiclass"]["MNIST"]["mean_abs_sum_minus_1"]
    extra = (f"Descriptive: on MNIST the softmax outputs sum to 1 (mean |sum - 1| {sums['softmax']['mean']:.1e}), ten "
             f"sigmoids do not ({fmt_ci(sums['sigmoid'])}), and "
             f"{100 * mc['identity_outputs_outside_01']['mean']:.0f} % of the identity outputs lie outside [0, 1].")
    short = [PART_TITLES[p] for p, pv in part_verdicts.items() if pv != CONFIRMED]
    head = (f"Overall {overall}: " + ("every part is confirmed." if not short else
                                      f"not confirmed outright: {'; '.join(short)} (see below)."))
    return Verdict(overall, " ".join([head, *lines, extra, rule]), key)


EXPERIMENT = register(
    name="output_activation",
    number=12,
    tutorial="003",
    claim="The output activation must suit the task: identity for regression, sigmoid for binary and softmax for "
    "multi-class classification.",
    korean="출력층의 활성화 함수는 풀고자 하는 문제에 적합한 활성화 함수를 사용해야 한다. ... 이중 분류를 "
    "한다면 시그모이드 "
    "함수를 사용하는 것이 적합하고, 다중 분류를 사용한다면 소프트맥스 함수를 사용하는 것이 적합하다. "
    "그리고 회귀 문제의 "
    "경우는 항등 함수를 사용하는 것이 적합하다.",
    config=Config,
    run=run,
    verdict=verdict,
)
