"""A step activation cannot be trained by gradient descent (tutorial 003)

The step function's derivative is 0 everywhere except at 0, where it does not exist (the
catalogue returns 0 there), so backpropagation multiplies every gradient reaching a
step layer by 0. The same small network (2-16-1, sigmoid output, BCE) is trained on the
Playground's circle data with a step and with a sigmoid hidden layer, from the same
initial weights. The left panel shows how far the hidden layer's weights moved
(relative to their start): not at all with step. The right panel shows the training
accuracy: with step only the output layer learns, on fixed random step features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import ci, fmt_ci, new_figure, png, seeds_of
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, classification_sets, register, setting

ACTIVATIONS = ("step", "sigmoid")


@dataclass
class Config:
    seeds: int = 5
    width: int = 16
    examples: int = 400
    dataset: str = setting("circle", choices=classification_sets)
    epochs: int = 60
    lr: float = 1.0
    momentum: float = setting(0.9, low=0, high=1, high_open=True)
    QUICK: ClassVar[dict] = {"seeds": 2, "epochs": 30, "examples": 200}
    FULL: ClassVar[dict] = {"seeds": 20, "epochs": 100}


def cell(c: dict) -> dict:
    from ... import data, nn
    from ...catalogue import get

    X, y = data.playground(c["dataset"], n=c["examples"], seed=c["seed"])
    X = X / 5.0
    model = nn.mlp([2, c["width"], 1], activation=c["activation"], output="sigmoid", init="xavier_normal",
                   seed=c["seed"] + 1000, dtype=np.float64)
    W0 = [d.W.copy() for d in model.dense_layers]
    moved, accs = [], []

    def track(step, m, loss):
        moved.append([float(np.linalg.norm(d.W - w0) / np.linalg.norm(w0)) for d, w0 in zip(m.dense_layers, W0)])
        return None

    hist = nn.fit(model, X, y, loss=nn.SigmoidBCE(), lr=c["lr"], momentum=c["momentum"], epochs=c["epochs"],
                  batch_size=32, seed=c["seed"], progress=False, callback=track)
    accs = [e["acc"] for e in hist.epochs]
    pre = X @ model.dense_layers[0].W + model.dense_layers[0].b
    nonzero_df = float(np.mean(get(c["activation"]).df(pre) != 0))
    return {"moved": moved, "acc": accs, "final_acc": float(np.mean(model.predict(X).ravel() == y)),
            "nonzero_df_frac": nonzero_df}


def run(cfg: Config, runner) -> Outcome:
    cells = [{"activation": a, "seed": s, "width": cfg.width, "examples": cfg.examples, "dataset": cfg.dataset,
              "epochs": cfg.epochs, "lr": cfg.lr, "momentum": cfg.momentum} for a in ACTIVATIONS for s in seeds_of(cfg)]
    res = runner.map(cell, cells, desc="step vs sigmoid")
    per = {a: [r for c, r in zip(cells, res) if c["activation"] == a] for a in ACTIVATIONS}
    numbers = {
        "hidden_weights_moved": {a: ci([r["moved"][-1][0] for r in per[a]]) for a in ACTIVATIONS},
        "output_weights_moved": {a: ci([r["moved"][-1][1] for r in per[a]]) for a in ACTIVATIONS},
        "max_hidden_moved": {a: max(r["moved"][-1][0] for r in per[a]) for a in ACTIVATIONS},
        "final_acc": {a: ci([r["final_acc"] for r in per[a]]) for a in ACTIVATIONS},
        "nonzero_derivative_frac": {a: max(r["nonzero_df_frac"] for r in per[a]) for a in ACTIVATIONS},
    }
    fig, ax = new_figure(2, 1, width=4.6)
    for a, color in zip(ACTIVATIONS, ("C7", "C3")):
        for k, r in enumerate(per[a]):
            mv = np.array(r["moved"])
            ax[0, 0].plot(np.arange(1, len(mv) + 1), mv[:, 0] + 1e-12, color=color, alpha=0.7,
                          label=f"{a} hidden layer" if k == 0 else None)
            ax[0, 0].plot(np.arange(1, len(mv) + 1), mv[:, 1] + 1e-12, ":", color=color, alpha=0.7,
                          label=f"{a} output layer" if k == 0 else None)
            ax[0, 1].plot(np.arange(1, len(r["acc"]) + 1), r["acc"], color=color, alpha=0.7,
                          label=a if k == 0 else None)
    ax[0, 0].set(yscale="log", xlabel="SGD step", ylabel="||W - W0|| / ||W0|| (+1e-12)",
                 title="how far the weights moved")
    ax[0, 0].legend()
    ax[0, 1].set(xlabel="epoch", ylabel="training accuracy", title=f"{cfg.dataset}, 2-{cfg.width}-1", ylim=(0.3, 1.02))
    ax[0, 1].legend()
    figs = [png(fig, "step_vs_sigmoid", "Left: relative change of each layer's weights during training (one line "
                "per seed; 1e-12 added so that zero shows on the log scale). Right: training accuracy per epoch.")]
    settings = (f"Playground {cfg.dataset}, {cfg.examples} points scaled to [-1, 1]; 2-{cfg.width}-1 network, "
                f"Xavier-normal init (same initial weights for both activations), sigmoid output + BCE, SGD "
                f"lr {cfg.lr} momentum {cfg.momentum}, batch 32, {cfg.epochs} epochs, float64, "
                f"seeds 0..{cfg.seeds - 1}.")
    raw = [dict(c, final_acc=r["final_acc"], hidden_moved=r["moved"][-1][0]) for c, r in zip(cells, res)]
    return Outcome(numbers=numbers, raw={"cells": raw}, figures=figs, settings=settings)


def verdict(numbers) -> Verdict:
    step_moved = numbers["max_hidden_moved"]["step"]
    sig_moved = numbers["hidden_weights_moved"]["sigmoid"]["mean"]
    out_moved = numbers["output_weights_moved"]["step"]["mean"]
    acc = numbers["final_acc"]
    key = (f"step hidden weights moved {step_moved:.1g} (sigmoid {sig_moved:.2g}); accuracy step "
           f"{acc['step']['mean']:.2f} vs sigmoid {acc['sigmoid']['mean']:.2f}")
    detail = (f"Step's derivative is non-zero at a fraction {numbers['nonzero_derivative_frac']['step']:g} of the "
              f"hidden pre-activations, so the hidden weights moved by exactly {step_moved:g} (relative) in every "
              f"seed, against {fmt_ci(numbers['hidden_weights_moved']['sigmoid'])} with sigmoid. Final training "
              f"accuracy: step {fmt_ci(acc['step'])}, sigmoid {fmt_ci(acc['sigmoid'])}.")
    if step_moved != 0.0 or sig_moved <= 1e-3:
        return Verdict(REFUTED, detail, key)
    if out_moved > 0:
        return Verdict(CAVEATS, detail + f" The layers *below* a step activation cannot learn; the output layer "
                       f"above it still does (its weights moved by {out_moved:.2g}), fitting a linear model on "
                       "fixed random step features, which is why the step network is not at chance.", key)
    return Verdict(CONFIRMED, detail, key)


EXPERIMENT = register(
    name="step_training",
    number=2,
    tutorial="003",
    claim="The step function is discontinuous and not smooth, so a network using it cannot work as a neural "
    "network trained by gradient descent; a continuous activation such as sigmoid is needed.",
    korean="계단 함수의 단점은 비연속적/이산적이기 때문에 “매끄러움”을 갖지 못한다는 것에 있다. 따라서 이 퍼셉트론을 "
    "신경망으로 동작해줄 수 있게 하기 위해서는 비연속적인 활성화 함수가 아닌 연속적인 활성화 함수를 사용해야 한다.",
    config=Config,
    run=run,
    verdict=verdict,
)
