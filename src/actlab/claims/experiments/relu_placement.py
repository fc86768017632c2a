"""ReLU belongs in the hidden layers and ends better there than sigmoid, tanh or softmax (tutorials 000, 001)

Three sentences of the tutorials about where ReLU goes and what it buys, tested on the
same runs. Tutorial 000: the step, linear, sigmoid, softmax and tanh functions "should not
be used in hidden layers, or only restrictedly", and ReLU is recommended "in hidden layers
only". Tutorial 001 (citing a blog post): ReLU is "far superior in learning speed and
performance"; the speed is claim 4's race, the final performance is measured here.

An MNIST MLP (784-64-64-10, softmax cross-entropy) is trained with each hidden activation
(ReLU, sigmoid, tanh, softmax as a hidden layer, the identity) for a fixed budget of plain
SGD steps, each at its best learning rate from a sweep, the rate chosen on a validation
split and the accuracy reported on the test set (so that the choice does not flatter the
number it is judged by). A second network puts a ReLU on the output logits as well (ReLU
outside the hidden layers), against the usual identity logits. Differences are paired by
seed, with 95 % t intervals.

Verdict lines: (a) ReLU far superior in final performance: its test accuracy is at least
one point above sigmoid's and tanh's with intervals above 0 ("superior" if only measurably
above); (b) the others "not, or sparingly, in hidden layers": each is judged by how far
below ReLU it lands (measurably below: confirmed for it; within noise: not); (c) ReLU only
in hidden layers: a ReLU on the logits lowers the test accuracy measurably.

Figure: test accuracy of each hidden activation and of the ReLU-output network at its best
learning rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import ci, fmt_ci, new_figure, png, seeds_of
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, register

HIDDEN = ("relu", "sigmoid", "tanh", "softmax", "identity")
FAR = 0.01  # "far superior": a point of test accuracy or more


@dataclass
class Config:
    seeds: int = 5
    width: int = 64
    lrs: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)
    train: int = 5000
    val: int = 1000
    test: int = 2000
    steps: int = 600
    batch: int = 64
    #: the settings next door, where the verdict must hold too (framework.robustness)
    NEIGHBOURS: ClassVar[dict] = {"width": (32, 128)}
    QUICK: ClassVar[dict] = {"seeds": 3, "lrs": (0.1, 1.0), "train": 2000, "steps": 200, "test": 1000, "val": 500}
    FULL: ClassVar[dict] = {"seeds": 10, "lrs": (0.03, 0.1, 0.3, 1.0, 3.0), "train": 20000, "steps": 3000,
                            "test": 10000}


def cell(c: dict) -> dict:
    from ... import data, nn

    X, y = data.load_mnist(split="train")
    Xt, yt = data.load_mnist(split="test")
    idx = np.random.default_rng([c["seed"], 81]).choice(len(X), c["train"] + c["val"], replace=False)
    tr, va = idx[:c["train"]], idx[c["train"]:]
    rng = np.random.default_rng([c["seed"], 82])
    init = "he_normal" if c["hidden"] == "relu" else "xavier_normal"
    layers = []
    sizes = [784, c["width"], c["width"], 10]
    for i in range(3):
        layers.append(nn.Dense(sizes[i], sizes[i + 1], init=init if i < 2 else "xavier_normal", seed=rng))
        if i < 2:
            layers.append(nn.Activation(c["hidden"]))
    if c["relu_output"]:
        layers.append(nn.Activation("relu"))  # ReLU on the logits, before the softmax of the loss
    model = nn.Sequential(layers, output="softmax")
    hist = nn.fit(model, X[tr], y[tr], lr=c["lr"], batch_size=c["batch"], max_steps=c["steps"],
                  epochs=math.ceil(c["steps"] * c["batch"] / len(tr)), seed=c["seed"], progress=False)
    diverged = hist.stopped is not None and "loss is" in hist.stopped
    if diverged:
        return {"val_acc": 0.0, "test_acc": 0.0, "diverged": True}
    return {"val_acc": float(nn.evaluate(model, X[va], y[va])["acc"]),
            "test_acc": float(nn.evaluate(model, Xt[:c["test"]], yt[:c["test"]])["acc"]), "diverged": False}


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    variants = [(h, False) for h in HIDDEN] + [("relu", True)]
    cells = [{"hidden": h, "relu_output": ro, "lr": float(lr), "seed": s, "width": cfg.width, "train": cfg.train,
              "val": cfg.val, "test": cfg.test, "steps": cfg.steps, "batch": cfg.batch}
             for h, ro in variants for lr in cfg.lrs for s in seeds]
    res = runner.map(cell, cells, desc="relu_placement")
    R = {(c["hidden"], c["relu_output"], c["lr"], c["seed"]): r for c, r in zip(cells, res)}
    best, acc = {}, {}
    for h, ro in variants:
        name = "relu_output" if ro else h
        # the rate with the best mean validation accuracy: chosen without looking at the test set
        lr = max(cfg.lrs, key=lambda v: np.mean([R[h, ro, float(v), s]["val_acc"] for s in seeds]))
        best[name] = float(lr)
        acc[name] = [R[h, ro, float(lr), s]["test_acc"] for s in seeds]
    names = list(acc)
    diff = {n: ci([a - b for a, b in zip(acc["relu"], acc[n])]) for n in names if n != "relu"}
    at_best = {("relu_output" if ro else h): sum(R[h, ro, best["relu_output" if ro else h], s]["diverged"]
                                                 for s in seeds) for h, ro in variants}
    numbers = {"test_acc": {n: ci(acc[n]) for n in names}, "best_lr": best, "relu_minus": diff,
               "diverged_at_best_lr": at_best,
               "steps": cfg.steps, "width": cfg.width,
               "diverged": {n: sum(r["diverged"] for c, r in zip(cells, res)
                                   if ("relu_output" if c["relu_output"] else c["hidden"]) == n) for n in names}}
    settings = (f"MNIST: {cfg.train} training, {cfg.val} validation (learning-rate choice), {cfg.test} test images; "
                f"784-{cfg.width}-{cfg.width}-10 MLP, He weights for ReLU, Xavier otherwise, float32, plain SGD, batch "
                f"{cfg.batch}, {cfg.steps} steps, learning rates {list(cfg.lrs)}; seeds 0..{cfg.seeds - 1}, paired.")
    return Outcome(numbers=numbers, raw={"runs": [dict(c, **r) for c, r in zip(cells, res)]},
                   figures=[_figure(numbers)], settings=settings)


def _figure(n: dict):
    fig, ax = new_figure(1, 1, width=6.0, height=3.6)
    a_ = ax[0, 0]
    names = list(n["test_acc"])
    m = np.array([n["test_acc"][k]["mean"] for k in names])
    lo = np.array([n["test_acc"][k]["lo"] for k in names])
    hi = np.array([n["test_acc"][k]["hi"] for k in names])
    a_.bar(np.arange(len(names)), m, color=["C0" if k == "relu" else "C3" if k == "relu_output" else "0.6"
                                            for k in names])
    a_.errorbar(np.arange(len(names)), m, yerr=[m - lo, hi - m], fmt="none", color="k", capsize=3)
    a_.set_xticks(np.arange(len(names)), [f"{k}\n(lr {n['best_lr'][k]:g})" for k in names], fontsize=8)
    a_.set(ylabel="test accuracy", ylim=(max(0.0, float(m.min()) - 0.1), 1.0),
           title=f"hidden activation, {n['steps']} SGD steps at the best learning rate")
    return png(fig, "placement", "Test accuracy of the same MLP with each hidden activation (and with a ReLU on the "
               "output logits too, red), each at the learning rate best on a validation split (mean over seeds, 95 % "
               "t intervals).")


def lines(numbers) -> dict[str, tuple[str, str]]:
    """The three sentences' verdicts (see the module docstring)."""
    d = numbers["relu_minus"]
    out = {}
    classic = [d[a] for a in ("sigmoid", "tanh")]
    if all(v["lo"] > 0 and v["mean"] >= FAR for v in classic):
        out["performance"] = (CONFIRMED, "ReLU ends at least a point above sigmoid and tanh")
    elif any(v["lo"] > 0 for v in classic):
        out["performance"] = (CAVEATS, "ReLU ends measurably above " + " and ".join(
            a for a in ("sigmoid", "tanh") if d[a]["lo"] > 0) + ", not far above both")
    else:
        out["performance"] = (REFUTED, "ReLU does not end measurably above sigmoid or tanh")
    below = [a for a in ("sigmoid", "tanh", "softmax", "identity") if d[a]["lo"] > 0]
    even = [a for a in ("sigmoid", "tanh", "softmax", "identity") if d[a]["lo"] <= 0]
    out["not_in_hidden"] = ((CONFIRMED, "every one lands measurably below ReLU") if not even else
                            (REFUTED, "none lands measurably below ReLU") if not below else
                            (CAVEATS, f"{', '.join(below)} land(s) measurably below ReLU, {', '.join(even)} not"))
    o = d["relu_output"]
    out["hidden_only"] = ((CONFIRMED, "a ReLU on the logits lowers the test accuracy measurably") if o["lo"] > 0 else
                          (REFUTED, "a ReLU on the logits costs nothing measurable"))
    return out


def verdict(numbers) -> Verdict:
    d, acc = numbers["relu_minus"], numbers["test_acc"]
    ln = lines(numbers)
    names = {"performance": "ReLU far superior in final performance (001)",
             "not_in_hidden": "step/linear/sigmoid/softmax/tanh not, or sparingly, in hidden layers (000)",
             "hidden_only": "ReLU in hidden layers only (000)"}
    key = ("test accuracy: " + ", ".join(f"{k} {v['mean']:.3f}" for k, v in acc.items())
           + "; " + "; ".join(f"{k.replace('_', ' ')}: {v}" for k, (v, _) in ln.items()))
    text = (" ".join(f"[{names[k]}: {v}] {why}." for k, (v, why) in ln.items())
            + " ReLU minus each, in test accuracy (paired by seed): "
            + ", ".join(f"{k} {fmt_ci(v)}" for k, v in d.items()) + "."
            + "".join(f" {k} diverged in {v} seed(s) even at its best rate (accuracy counted as 0)."
                      for k, v in numbers.get("diverged_at_best_lr", {}).items() if v))
    verdicts = {v for v, _ in ln.values()}
    return Verdict(verdicts.pop() if len(verdicts) == 1 else CAVEATS, text, key)


EXPERIMENT = register(
    name="relu_placement",
    number=16,
    tutorial="000, 001",
    claim="Step, linear, sigmoid, softmax and tanh should not be used in hidden layers, or only sparingly; ReLU is "
    "recommended in hidden layers only, and is far superior in learning speed and final performance.",
    korean="이들은 은닉층에서 사용해서는 안되거나, 사용할 수 있더라도 제한적으로 사용해야 하는 활성화 함수들이었다. "
    "... 렐루 함수는 ... 은닉층에서만 사용하는 것을 추천한다. (001: 학습속도 및 성능에서 relu의 우월적으로 높다.)",
    config=Config,
    run=run,
    verdict=verdict,
)
