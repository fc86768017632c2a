"""ELUs lower the training loss sooner and keep unit activations near zero (Clevert, Unterthiner & Hochreiter 2016)

Clevert, Unterthiner & Hochreiter, "Fast and Accurate Deep Network Learning by
Exponential Linear Units (ELUs)", ICLR 2016, Section 4.1 and Figure 1: fully connected
networks with eight hidden layers of 128 units on MNIST, SGD with learning rate 0.01 and
mini-batches of 64, He initialisation: ELU networks have a median unit activation closer
to zero than ReLU and Leaky ReLU networks, and their training loss falls faster.

Reproduced here with that network and optimiser on an MNIST training subset for a few
epochs (the paper trained 300): after each epoch the training loss on the whole subset and
the median, over the units of all hidden layers, of each unit's mean activation on it.
Differences are paired by seed (the same data order and the same initial weights up to
the activation), with 95 % t intervals. Rule, fixed before any run: reproduced when ELU's
training loss is below ReLU's and Leaky ReLU's after the first epoch and after the last
(intervals of the paired differences below 0), and ELU's median activation is closer to
zero than both at the last epoch (intervals of the paired differences of absolute
values below 0).

Figure: training loss and median unit activation per epoch (mean over seeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import ci, fmt_ci, new_figure, png, seeds_of
from ..framework import NOT_REPRODUCED, REPRODUCED, Outcome, Verdict, register

ACTIVATIONS = ("elu", "relu", "leaky_relu")


@dataclass
class Config:
    seeds: int = 5
    hidden: int = 8
    width: int = 128
    lr: float = 0.01
    batch: int = 64
    train: int = 10000
    epochs: int = 5
    QUICK: ClassVar[dict] = {"seeds": 3, "train": 3000, "epochs": 2}
    FULL: ClassVar[dict] = {"seeds": 10, "train": 60000, "epochs": 20}


def cell(c: dict) -> dict:
    from ... import data, nn

    X, y = data.load_mnist(split="train")
    idx = np.random.default_rng([c["seed"], 51]).choice(len(X), min(c["train"], len(X)), replace=False)
    X, y = np.asarray(X[idx], np.float32), y[idx]
    model = nn.mlp([784] + [c["width"]] * c["hidden"] + [10], activation=c["activation"], init="he_normal",
                   seed=c["seed"], dtype=np.float32)
    loss, median = [], []

    def measure() -> None:
        with nn.record(model, what=("post",), summary=False) as rec:
            z = model.forward(X)
        p = z - z.max(axis=1, keepdims=True)
        logp = p - np.log(np.exp(p).sum(axis=1, keepdims=True))
        loss.append(float(-np.mean(logp[np.arange(len(y)), y])))
        means = np.concatenate([np.asarray(r["post"]).mean(axis=0) for r in rec.records[0]])
        median.append(float(np.median(means)))

    measure()
    for epoch in range(c["epochs"]):
        nn.fit(model, X, y, lr=c["lr"], batch_size=c["batch"], epochs=1, seed=[c["seed"], epoch], progress=False)
        measure()
    return {"loss": loss, "median_activation": median}


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    cells = [{"activation": a, "seed": s, "hidden": cfg.hidden, "width": cfg.width, "lr": cfg.lr, "batch": cfg.batch,
              "train": cfg.train, "epochs": cfg.epochs} for a in ACTIVATIONS for s in seeds]
    res = runner.map(cell, cells, desc="clevert_elu")
    by = {a: [r for c, r in zip(cells, res) if c["activation"] == a] for a in ACTIVATIONS}
    curves = {a: {k: np.mean([r[k] for r in by[a]], 0).tolist() for k in ("loss", "median_activation")}
              for a in ACTIVATIONS}
    diff = {}
    for other in ACTIVATIONS[1:]:
        pairs = list(zip(by["elu"], by[other]))
        diff[other] = {
            "loss_first": ci([e["loss"][1] - o["loss"][1] for e, o in pairs]),
            "loss_last": ci([e["loss"][-1] - o["loss"][-1] for e, o in pairs]),
            "abs_median_last": ci([abs(e["median_activation"][-1]) - abs(o["median_activation"][-1])
                                   for e, o in pairs]),
        }
    numbers = {"curves": curves, "elu_minus": diff, "epochs": cfg.epochs,
               "final": {a: {"loss": ci([r["loss"][-1] for r in by[a]]),
                             "median_activation": ci([r["median_activation"][-1] for r in by[a]])}
                         for a in ACTIVATIONS}}
    settings = (f"MNIST, {cfg.train} training images, 784-{cfg.width}x{cfg.hidden}-10 MLP, He-normal weights, "
                f"biases 0, float32, SGD lr {cfg.lr}, batch {cfg.batch}, {cfg.epochs} epochs; loss and unit "
                f"activations measured on the whole subset after each epoch; seeds 0..{cfg.seeds - 1} (paired across "
                "activations).")
    return Outcome(numbers=numbers, raw={"runs": [dict(c, **r) for c, r in zip(cells, res)]},
                   figures=[_figure(numbers)], settings=settings)


def _figure(n: dict):
    fig, ax = new_figure(2, 1, width=4.6, height=3.6)
    for k, a in enumerate(ACTIVATIONS):
        c = n["curves"][a]
        ep = np.arange(len(c["loss"]))
        ax[0, 0].plot(ep, c["loss"], "o-", color=f"C{k}", label=a)
        ax[0, 1].plot(ep, c["median_activation"], "o-", color=f"C{k}", label=a)
    ax[0, 0].set(yscale="log", xlabel="epoch", ylabel="training loss", title="8 x 128, SGD lr 0.01, batch 64")
    ax[0, 1].axhline(0, color="0.5", lw=1)
    ax[0, 1].set(xlabel="epoch", ylabel="median unit activation")
    ax[0, 0].legend(fontsize=8)
    return png(fig, "elu_mnist", "Clevert et al. (2016) Fig. 1 at small scale: training loss (left) and the median "
               "over units of each unit's mean activation (right) per epoch, mean over seeds.")


def verdict(numbers) -> Verdict:
    d = numbers["elu_minus"]
    loss_ok = all(d[o]["loss_first"]["hi"] < 0 and d[o]["loss_last"]["hi"] < 0 for o in d)
    mean_ok = all(d[o]["abs_median_last"]["hi"] < 0 for o in d)
    f = numbers["final"]
    key = (f"training loss after {numbers['epochs']} epochs: " + ", ".join(f"{a} {f[a]['loss']['mean']:.3f}" for a in f)
           + "; median activation: " + ", ".join(f"{a} {f[a]['median_activation']['mean']:+.3f}" for a in f))
    text = ("ELU minus the others, paired by seed: " + "; ".join(
        f"vs {o}: loss after epoch 1 {fmt_ci(d[o]['loss_first'])}, after epoch {numbers['epochs']} "
        f"{fmt_ci(d[o]['loss_last'])}, |median activation| {fmt_ci(d[o]['abs_median_last'])}" for o in d)
        + ". Rule: all three below 0 against both.")
    missed = [w for w, ok in (("the faster fall of the training loss", loss_ok),
                              ("the median activation nearer zero", mean_ok)) if not ok]
    if not missed:
        return Verdict(REPRODUCED, text, key)
    return Verdict(NOT_REPRODUCED, f"Not reproduced: {', '.join(missed)}. " + text, key)


CALIBRATION = register(
    name="clevert_elu",
    number=7,
    kind="calibration",
    tutorial="Clevert et al. 2016",
    claim="In an 8 x 128 MLP on MNIST trained by SGD (lr 0.01, batch 64), ELU units have a median activation closer "
    "to zero than ReLU and Leaky ReLU units, and the ELU network's training loss falls faster.",
    korean="",
    config=Config,
    run=run,
    verdict=verdict,
)
