"""The output activation follows the task: identity, sigmoid, softmax (tutorial 003)

Regression takes the identity output, binary classification a sigmoid, multi-class
classification a softmax. The left panel fits a 1-D regression whose targets span
[-3, 3] with the same network and two outputs: identity, and sigmoid (squared error for
both). A sigmoid output lives in (0, 1), so its error can never fall below that of the
targets clipped to [0, 1] (dashed line, computed from the data alone). The right panel
trains the same MNIST network with ten independent sigmoids (binary cross-entropy per
class) and with a softmax (cross-entropy): both classify by argmax, but only softmax
gives a probability distribution over the classes (outputs summing to 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import ci, fmt_ci, new_figure, png, seeds_of
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, register


@dataclass
class Config:
    seeds: int = 3
    regression_examples: int = 256
    regression_epochs: int = 300
    mnist_train: int = 10000
    mnist_test: int = 2000
    mnist_epochs: int = 3
    hidden: int = 64
    QUICK: ClassVar[dict] = {"seeds": 2, "regression_epochs": 150, "mnist_train": 2000, "mnist_test": 1000,
                             "mnist_epochs": 2}
    FULL: ClassVar[dict] = {"seeds": 10, "mnist_train": 60000, "mnist_test": 10000, "mnist_epochs": 5}


def _regression(c: dict) -> dict:
    from ... import nn

    rng = np.random.default_rng([c["seed"], 5])
    x = rng.uniform(-3, 3, size=(c["examples"], 1))
    y = 3 * np.sin(x) + 0.1 * rng.normal(size=x.shape)
    out = c["output"]
    model = nn.mlp([1, 32, 32, 1], activation="tanh", output=out, init="xavier_normal", seed=c["seed"],
                   dtype=np.float64)
    loss = nn.MSE() if out == "identity" else nn.Loss(output="sigmoid", kind="mse")
    nn.fit(model, x, y, loss=loss, optimizer="adam", lr=0.01, epochs=c["epochs"], batch_size=32, seed=c["seed"],
           progress=False)
    pred = model.predict_proba(x) if out != "identity" else model.forward(x, train=False)
    g = np.linspace(-3, 3, 121).reshape(-1, 1)
    curve = model.predict_proba(g) if out != "identity" else model.forward(g, train=False)
    return {"mse": float(np.mean((pred - y) ** 2)), "clip_bound": float(np.mean((y - np.clip(y, 0, 1)) ** 2)),
            "curve": np.asarray(curve).ravel().tolist(), "x": x.ravel().tolist(), "y": y.ravel().tolist()}


def _mnist(c: dict) -> dict:
    from ... import data, nn

    X, y = data.load_mnist(split="train")
    Xt, yt = data.load_mnist(split="test")
    rng = np.random.default_rng([c["seed"], 6])
    idx = rng.choice(len(X), c["train"], replace=False)
    X, y, Xt, yt = X[idx], y[idx], Xt[: c["test"]], yt[: c["test"]]
    out = c["output"]
    model = nn.mlp([784, c["hidden"], 10], activation="relu", output=out, seed=c["seed"])
    loss = nn.SoftmaxCrossEntropy() if out == "softmax" else nn.SigmoidBCE()
    nn.fit(model, X, y, loss=loss, lr=0.1 if out == "softmax" else 0.5, momentum=0.9, epochs=c["epochs"],
           batch_size=64, seed=c["seed"], progress=False)
    p = np.asarray(model.predict_proba(Xt), dtype=np.float64)
    return {"acc": float(np.mean(p.argmax(1) == yt)), "sum_dev": float(np.mean(np.abs(p.sum(1) - 1))),
            "sum_hist": np.histogram(p.sum(1), bins=40, range=(0, 2))[0].tolist()}


def cell(c: dict) -> dict:
    return _regression(c) if c["kind"] == "regression" else _mnist(c)


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    rc = [{"kind": "regression", "output": o, "seed": s, "examples": cfg.regression_examples,
           "epochs": cfg.regression_epochs} for o in ("identity", "sigmoid") for s in seeds]
    rr = runner.map(cell, rc, desc="regression outputs")
    mc = [{"kind": "mnist", "output": o, "seed": s, "train": cfg.mnist_train, "test": cfg.mnist_test,
           "epochs": cfg.mnist_epochs, "hidden": cfg.hidden} for o in ("sigmoid", "softmax") for s in seeds]
    mr = runner.map(cell, mc, desc="MNIST outputs")

    def pick(rows, cells, o):
        return [r for c, r in zip(cells, rows) if c["output"] == o]

    numbers = {
        "regression_mse": {o: ci([r["mse"] for r in pick(rr, rc, o)]) for o in ("identity", "sigmoid")},
        "sigmoid_floor_mse": ci([r["clip_bound"] for r in pick(rr, rc, "sigmoid")]),
        # per seed: the sigmoid fit's MSE minus that seed's floor (>= 0 by necessity)
        "sigmoid_minus_floor_min": min(r["mse"] - r["clip_bound"] for r in pick(rr, rc, "sigmoid")),
        "mnist_test_acc": {o: ci([r["acc"] for r in pick(mr, mc, o)]) for o in ("sigmoid", "softmax")},
        "mnist_mean_abs_sum_minus_1": {o: ci([r["sum_dev"] for r in pick(mr, mc, o)]) for o in ("sigmoid", "softmax")},
    }
    fig, ax = new_figure(2, 1, width=4.6)
    r0 = pick(rr, rc, "identity")[0]
    ax[0, 0].scatter(r0["x"], r0["y"], s=6, color="0.6", label="training data")
    g = np.linspace(-3, 3, 121)
    for o, color in (("identity", "C0"), ("sigmoid", "C3")):
        ax[0, 0].plot(g, pick(rr, rc, o)[0]["curve"], color=color, label=f"{o} output")
    ax[0, 0].axhspan(0, 1, color="C3", alpha=0.08, label="sigmoid's range (0, 1)")
    ax[0, 0].set(xlabel="x", ylabel="y = 3 sin x + noise", title="regression, seed 0")
    ax[0, 0].legend(fontsize=8)
    bins = np.linspace(0, 2, 41)
    for o, color in (("sigmoid", "C3"), ("softmax", "C0")):
        h = np.sum([r["sum_hist"] for r in pick(mr, mc, o)], axis=0)
        nz = h > 0  # empty bins have no bar on the log scale
        ax[0, 1].bar(bins[:-1][nz], h[nz], width=0.05, align="edge", color=color, alpha=0.6,
                     label=f"{o} ({fmt_ci(numbers['mnist_test_acc'][o], 3)} test acc)")
    ax[0, 1].set(yscale="log", xlabel="sum of the 10 output probabilities", ylabel="test images",
                 title="MNIST: do outputs sum to 1?")
    ax[0, 1].legend(fontsize=8)
    figs = [png(fig, "output_activation", "Left: a sigmoid output cannot leave (0, 1); the identity output fits. "
                "Right: distribution of the sum of the ten outputs on MNIST test images (all seeds).")]
    settings = (f"Regression: {cfg.regression_examples} points of y = 3 sin x + N(0, 0.1^2), 1-32-32-1 tanh "
                f"network, squared error, Adam lr 0.01, batch 32, {cfg.regression_epochs} epochs, float64. MNIST: "
                f"{cfg.mnist_train} training images (random subset per seed), first {cfg.mnist_test} test images, "
                f"784-{cfg.hidden}-10 ReLU, SGD momentum 0.9 (lr 0.1 softmax, 0.5 sigmoids: BCE averages over 10 "
                f"outputs), batch 64, {cfg.mnist_epochs} epochs, float32; seeds 0..{cfg.seeds - 1}.")
    raw = {"regression": [dict(c, mse=r["mse"]) for c, r in zip(rc, rr)],
           "mnist": [dict(c, acc=r["acc"], sum_dev=r["sum_dev"]) for c, r in zip(mc, mr)]}
    return Outcome(numbers=numbers, raw=raw, figures=figs, settings=settings)


def verdict(numbers) -> Verdict:
    reg = numbers["regression_mse"]
    floor = numbers["sigmoid_floor_mse"]["mean"]
    acc = numbers["mnist_test_acc"]
    dev = numbers["mnist_mean_abs_sum_minus_1"]
    key = (f"regression MSE identity {reg['identity']['mean']:.3g} vs sigmoid {reg['sigmoid']['mean']:.3g} "
           f"(floor {floor:.3g}); MNIST |sum p - 1| softmax {dev['softmax']['mean']:.1e}, sigmoids "
           f"{dev['sigmoid']['mean']:.2f}")
    identity_fits = reg["identity"]["mean"] < 0.1 * floor
    sigmoid_stuck = numbers["sigmoid_minus_floor_min"] >= -1e-9 * floor
    softmax_dist = dev["softmax"]["mean"] < 1e-5 and dev["sigmoid"]["mean"] > 0.01
    detail = (f"With targets in [-3, 3], the identity output reaches MSE {fmt_ci(reg['identity'])}; the sigmoid output "
              f"{fmt_ci(reg['sigmoid'])}, never below the floor set by clipping the targets to [0, 1] "
              f"(mean {floor:.3g}; smallest excess "
              f"over it in any seed {numbers['sigmoid_minus_floor_min']:.3g}). On "
              f"MNIST the softmax outputs sum to 1 within {dev['softmax']['mean']:.1e} on average, ten independent "
              f"sigmoids miss by {fmt_ci(dev['sigmoid'])}; test accuracy softmax {fmt_ci(acc['softmax'])}, sigmoids "
              f"{fmt_ci(acc['sigmoid'])}.")
    if not (identity_fits and sigmoid_stuck and softmax_dist):
        return Verdict(REFUTED, detail, key)
    if acc["sigmoid"]["hi"] >= acc["softmax"]["lo"]:
        return Verdict(CAVEATS, detail + " Caveat: for picking the class (argmax) independent sigmoids do about as "
                       "well; softmax is needed for a probability distribution over mutually exclusive classes, "
                       "not for accuracy.", key)
    return Verdict(CONFIRMED, detail, key)


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
