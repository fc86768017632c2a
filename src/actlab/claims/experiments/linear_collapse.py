"""Stacked linear layers collapse into one (tutorial 003)

With a linear activation h(x) = c x, three layers give h(h(h(x))) = c^3 x, and a deep
network whose activations are all linear computes x W1 W2 ... WL + (a bias): one matrix,
one layer. The numbers check both to rounding (float64). The figures show what this
costs: a deep *linear* network (three hidden layers) trained on the Playground's XOR
and circle data can only draw a straight decision boundary, while one hidden ReLU layer
of the same width bends it around the classes. Shading: predicted probability of the
positive class; dots: training points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import ci, fmt_ci, new_figure, png, seeds_of
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, classification_sets, register, setting

MODELS = {"deep linear": ("identity", 3), "one ReLU layer": ("relu", 1)}


@dataclass
class Config:
    seeds: int = 5
    width: int = 16
    examples: int = 400
    noise: float = setting(0.0, low=0)
    epochs: int = 60
    lr: float = 0.05
    momentum: float = setting(0.9, low=0, high=1, high_open=True)
    depths: tuple[int, ...] = (2, 3, 5, 10)
    datasets: tuple[str, ...] = setting(("xor", "circle"), choices=classification_sets)
    #: the settings next door, where the verdict must hold too (framework.robustness)
    NEIGHBOURS: ClassVar[dict] = {"width": (8, 32), "lr": (0.02, 0.1)}
    QUICK: ClassVar[dict] = {"seeds": 2, "epochs": 30, "examples": 200, "depths": (2, 5)}
    FULL: ClassVar[dict] = {"seeds": 20, "epochs": 100, "depths": (2, 3, 5, 10, 20)}


def _collapse(c: dict) -> dict:
    """Composed map of a deep linear net vs x (W1 ... WL) + b_eff, and c(c(cx)) vs c^3 x."""
    from ... import nn
    from ...catalogue import get

    rng = np.random.default_rng([c["seed"], c["depth"]])
    width = c["width"]
    model = nn.mlp([width] * (c["depth"] + 1), activation="identity", output="identity", init="xavier_normal",
                   seed=rng, dtype=np.float64)
    X = rng.normal(size=(64, width))
    W = np.eye(width)
    b = np.zeros(width)
    for d in model.dense_layers:
        W, b = W @ d.W, b @ d.W + d.b
    out = model.forward(X, train=False)
    direct = X @ W + b
    rel = float(np.max(np.abs(out - direct)) / np.max(np.abs(direct)))
    # h(h(h(x))) with h(x) = c x, via the registry's identity: c^3 x up to 3 roundings
    x = rng.normal(size=1000)
    cc = float(rng.uniform(0.5, 2.0))
    ident = get("identity")
    hhh = cc * ident.f(cc * ident.f(cc * ident.f(x)))
    rel_c3 = float(np.max(np.abs(hhh - cc**3 * x) / np.abs(cc**3 * x)))
    return {"rel_err": rel, "c3_rel_err": rel_c3, "eps": float(np.finfo(np.float64).eps)}


def _train(c: dict) -> dict:
    from ... import data, nn

    act, hidden = MODELS[c["model"]]
    X, y = data.playground(c["dataset"], n=c["examples"], noise=c["noise"], seed=c["seed"])
    X = X / 5.0  # the Playground's [-5, 5] square to [-1, 1]
    arch = [2] + [c["width"]] * hidden + [1]
    model = nn.mlp(arch, activation=act, output="sigmoid", seed=c["seed"] + 1000, dtype=np.float64)
    nn.fit(model, X, y, loss=nn.SigmoidBCE(), lr=c["lr"], momentum=c["momentum"], epochs=c["epochs"],
           batch_size=32, seed=c["seed"], progress=False)
    acc = float(np.mean(model.predict(X).ravel() == y))
    out = {"acc": acc}
    if c["grid"]:
        g = np.linspace(-1.2, 1.2, 61)
        gx, gy = np.meshgrid(g, g)
        out["grid"] = model.predict_proba(np.c_[gx.ravel(), gy.ravel()]).reshape(61, 61).tolist()
        out["X"], out["y"] = X.tolist(), y.tolist()
    return out


def cell(c: dict) -> dict:
    return _collapse(c) if c["kind"] == "collapse" else _train(c)


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    col_cells = [{"kind": "collapse", "depth": d, "width": cfg.width, "seed": s} for d in cfg.depths for s in seeds]
    col = runner.map(cell, col_cells, desc="linear collapse")
    tr_cells = [{"kind": "train", "model": m, "dataset": ds, "seed": s, "width": cfg.width, "examples": cfg.examples,
                 "noise": cfg.noise, "epochs": cfg.epochs, "lr": cfg.lr, "momentum": cfg.momentum, "grid": s == 0}
                for ds in cfg.datasets for m in MODELS for s in seeds]
    tr = runner.map(cell, tr_cells, desc="linear vs ReLU")
    acc = {ds: {m: ci([r["acc"] for c, r in zip(tr_cells, tr) if c["dataset"] == ds and c["model"] == m])
                for m in MODELS} for ds in cfg.datasets}
    numbers = {
        "collapse_max_rel_err": {str(d): max(r["rel_err"] for c, r in zip(col_cells, col) if c["depth"] == d)
                                 for d in cfg.depths},
        "c3_max_rel_err": max(r["c3_rel_err"] for r in col),
        "eps": col[0]["eps"],
        "train_acc": acc,
    }
    fig, ax = new_figure(len(MODELS), len(cfg.datasets), width=3.6, height=3.4)
    for i, ds in enumerate(cfg.datasets):
        for j, m in enumerate(MODELS):
            r = next(r for c, r in zip(tr_cells, tr) if c["dataset"] == ds and c["model"] == m and c["grid"])
            a = ax[i, j]
            g = np.linspace(-1.2, 1.2, 61)
            cs = a.contourf(g, g, np.array(r["grid"]), levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.8)
            X, y = np.array(r["X"]), np.array(r["y"])
            a.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", s=8, edgecolors="k", linewidths=0.3)
            a.set(title=f"{ds}: {m} (acc {r['acc']:.2f})", xlabel="x1 / 5", ylabel="x2 / 5", aspect="equal")
    fig.colorbar(cs, ax=ax[:, -1], label="P(class 1)")
    figs = [png(fig, "decision_boundaries", "Decision boundaries (seed 0): a deep linear network (three hidden "
                "identity layers) draws one straight line; one hidden ReLU layer bends it.")]
    settings = (f"Collapse: nets of width {cfg.width}, depths {list(cfg.depths)}, float64, 64 random inputs per "
                f"seed; c(c(cx)) on 1000 random x with c ~ U(0.5, 2). Training: Playground {list(cfg.datasets)} "
                f"({cfg.examples} points, noise {cfg.noise}, inputs scaled to [-1, 1]), width {cfg.width}, sigmoid "
                f"output + BCE, SGD lr {cfg.lr} momentum {cfg.momentum}, batch 32, {cfg.epochs} epochs, seeds "
                f"0..{cfg.seeds - 1}; accuracy on the training set (the question is what can be fitted at all).")
    raw = {"collapse": [dict(c, **r) for c, r in zip(col_cells, col)],
           "train": [dict(c, acc=r["acc"]) for c, r in zip(tr_cells, tr)]}
    return Outcome(numbers=numbers, raw=raw, figures=figs, settings=settings)


def verdict(numbers) -> Verdict:
    eps = numbers["eps"]
    worst = max(numbers["collapse_max_rel_err"].values())
    c3 = numbers["c3_max_rel_err"]
    acc = numbers["train_acc"]
    lin = {ds: a["deep linear"] for ds, a in acc.items()}
    relu = {ds: a["one ReLU layer"] for ds, a in acc.items()}
    key = (f"composed map = one matrix to {worst:.1e}; train acc linear "
           + ", ".join(f"{ds} {lin[ds]['mean']:.2f}" for ds in acc) + " vs ReLU "
           + ", ".join(f"{ds} {relu[ds]['mean']:.2f}" for ds in acc))
    collapses = worst < 1e3 * eps and c3 < 8 * eps
    # a linear boundary fits at most 3 of XOR's 4 quadrants (75 %); the circle's inner disc even less
    cannot = all(lin[ds]["mean"] <= 0.8 for ds in acc)
    can = all(relu[ds]["mean"] >= 0.95 for ds in acc)
    detail = (f"A deep linear net's output equals x W1...WL + b to a relative {worst:.1e} ({worst / eps:.0f} eps) and "
              f"c(c(cx)) equals c^3 x to {c3:.1e}. Trained on the same data, the deep linear net reaches "
              + "; ".join(f"{ds}: {fmt_ci(lin[ds])}" for ds in acc) + " training accuracy, one ReLU layer "
              + "; ".join(f"{ds}: {fmt_ci(relu[ds])}" for ds in acc) + ".")
    if collapses and cannot and can:
        return Verdict(CONFIRMED, detail + " Depth adds nothing without a non-linearity. (The tutorial's phrase "
                       "'a linear function with discrete features' mixes up linear and discrete; the collapse is "
                       "about linearity.)", key)
    if collapses and cannot:
        return Verdict(CAVEATS, detail + " The collapse holds, but the ReLU net did not fit every set here.", key)
    return Verdict(REFUTED, detail, key)


EXPERIMENT = register(
    name="linear_collapse",
    number=1,
    tutorial="003",
    claim="With a linear activation h(x) = cx, stacking layers gives nothing: h(h(h(x))) = c^3 x, a network "
    "without hidden layers; non-linear activations are needed for depth to help.",
    korean="선형 함수 $h(x) = cx$가 있다고 가정할 경우 3층으로 쌓으면 $y(x) = h(h(h(x)))$가 된다. 하지만 이 계산은 "
    "$y(x) = ax$와 동일한 식이다. ... 즉, 은닉층 없는 네트워크로 표현이 가능하게 된다.",
    config=Config,
    run=run,
    verdict=verdict,
)
