"""ELU's smooth negative part stabilises training? Divergence, volatility and spread against ReLU (tutorial 004)

Tutorial 004 says ELU "provides a smooth curve for negative inputs, stabilising
training". "Stable" is read three ways, each measured on the same runs, an MNIST MLP
trained by plain SGD at learning rates from gentle to too large, ELU against ReLU and
Leaky ReLU (slope 0.01), every activation with He initialisation:

1. divergence: the fraction of runs whose loss becomes non-finite or ends above its
   starting value (Wilson intervals), per learning rate;
2. volatility: the standard deviation of the log training loss around its own trend (a
   straight line fitted over the second half of the run): how much the loss jumps around,
   not how fast it falls, per learning rate;
3. spread: the standard deviation over seeds of the final training loss.

At each learning rate where no activation diverges, ELU's volatility and spread are
compared with ReLU's, paired by seed (same data order and initial weights), with 95 %
t intervals. The verdict: confirmed if ELU diverges no more often than ReLU at any rate
and is measurably less volatile at most rates; refuted if it is measurably more volatile
or diverges more; otherwise confirmed with caveats.

Figure: divergence rate, volatility and final loss against the learning rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import ci, fmt_ci, new_figure, png, seeds_of, wilson
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, activation_spec, register, setting


@dataclass
class Config:
    seeds: int = 5
    activations: tuple[str, ...] = setting(("elu", "relu", "leaky_relu"), check=activation_spec)
    lrs: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)
    arch: str = "784-64-64-10"
    train: int = 5000
    steps: int = 400
    batch: int = 64
    #: the settings next door, where the verdict must hold too (framework.robustness)
    NEIGHBOURS: ClassVar[dict] = {"arch": ("784-32-32-10", "784-128-128-10")}
    QUICK: ClassVar[dict] = {"seeds": 3, "lrs": (0.1, 1.0), "steps": 150, "train": 2000}
    FULL: ClassVar[dict] = {"seeds": 10, "lrs": (0.01, 0.03, 0.1, 0.3, 1.0, 3.0), "steps": 2000, "train": 20000}


def cell(c: dict) -> dict:
    from ... import data, nn

    X, y = data.load_mnist(split="train")
    idx = np.random.default_rng([c["seed"], 71]).choice(len(X), min(c["train"], len(X)), replace=False)
    model = nn.mlp(c["arch"], activation=c["activation"], init="he_normal", seed=c["seed"])
    epochs = math.ceil(c["steps"] * c["batch"] / len(idx))
    hist = nn.fit(model, X[idx], y[idx], lr=c["lr"], batch_size=c["batch"], epochs=epochs, max_steps=c["steps"],
                  seed=c["seed"], progress=False)
    loss = np.asarray(hist.step_loss, np.float64)
    finite = loss[np.isfinite(loss)]
    diverged = bool(hist.stopped is not None and "loss is" in hist.stopped) or len(finite) < len(loss) \
        or (len(finite) > 20 and float(np.mean(finite[-20:])) > float(np.mean(finite[:5])))
    half = np.log(np.maximum(finite[len(finite) // 2:], 1e-12))
    if len(half) > 2:  # the jumps around the trend, not the trend itself
        t = np.arange(len(half), dtype=np.float64)
        volatility = float(np.std(half - np.polyval(np.polyfit(t, half, 1), t)))
    else:
        volatility = math.nan
    return {"diverged": diverged, "volatility": volatility,
            "final": float(np.mean(finite[-20:])) if len(finite) >= 20 else math.nan,
            "curve": [float(np.mean(ch)) for ch in np.array_split(finite, 20)] if len(finite) >= 20 else []}


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    acts = list(dict.fromkeys(cfg.activations))
    cells = [{"activation": a, "lr": float(lr), "seed": s, "arch": cfg.arch, "train": cfg.train, "steps": cfg.steps,
              "batch": cfg.batch} for a in acts for lr in cfg.lrs for s in seeds]
    res = runner.map(cell, cells, desc="elu_stability")
    R = {(c["activation"], c["lr"], c["seed"]): r for c, r in zip(cells, res)}
    per = {}
    for a in acts:
        per[a] = {}
        for lr in cfg.lrs:
            rows = [R[a, float(lr), s] for s in seeds]
            ok = [r for r in rows if not r["diverged"]]
            per[a][f"{lr:g}"] = {"diverged": wilson(sum(r["diverged"] for r in rows), len(rows)),
                                 "volatility": ci([r["volatility"] for r in ok]) if ok else None,
                                 "final": ci([r["final"] for r in ok]) if ok else None,
                                 "spread": float(np.std([r["final"] for r in ok], ddof=1)) if len(ok) > 1 else None}
    compare = {}
    for other in [a for a in acts if a != "elu"]:
        compare[other] = {}
        for lr in cfg.lrs:
            pairs = [(R["elu", float(lr), s], R[other, float(lr), s]) for s in seeds]
            if any(e["diverged"] or o["diverged"] for e, o in pairs):
                continue  # volatility compared where both train
            compare[other][f"{lr:g}"] = {"volatility_diff": ci([e["volatility"] - o["volatility"] for e, o in pairs])}
    numbers = {"lrs": [f"{lr:g}" for lr in cfg.lrs], "activations": acts, "per": per, "elu_minus": compare,
               "steps": cfg.steps}
    settings = (f"MNIST, {cfg.train} training images, {cfg.arch} MLP, He-normal weights, float32, plain SGD, batch "
                f"{cfg.batch}, {cfg.steps} steps, learning rates {list(cfg.lrs)}; diverged: a non-finite loss or a "
                "final loss above the first; volatility: std of the log loss around a line fitted over the second "
                f"half; seeds 0..{cfg.seeds - 1} (paired across activations).")
    return Outcome(numbers=numbers, raw={"runs": [dict(c, **r) for c, r in zip(cells, res)]},
                   figures=[_figure(numbers)], settings=settings)


def _figure(n: dict):
    fig, ax = new_figure(3, 1, width=3.8, height=3.4)
    lrs = np.array([float(v) for v in n["lrs"]])
    for k, a in enumerate(n["activations"]):
        d = n["per"][a]
        ax[0, 0].plot(lrs, [d[v]["diverged"]["mean"] for v in n["lrs"]], "o-", color=f"C{k}", label=a)
        vol = [d[v]["volatility"]["mean"] if d[v]["volatility"] else np.nan for v in n["lrs"]]
        ax[0, 1].plot(lrs, vol, "o-", color=f"C{k}", label=a)
        fin = [d[v]["final"]["mean"] if d[v]["final"] else np.nan for v in n["lrs"]]
        ax[0, 2].plot(lrs, fin, "o-", color=f"C{k}", label=a)
    ax[0, 0].set(xscale="log", xlabel="learning rate", ylabel="fraction of runs diverged", ylim=(-0.02, 1.02))
    ax[0, 1].set(xscale="log", xlabel="learning rate", ylabel="std of log(loss) around its trend", title="volatility")
    ax[0, 2].set(xscale="log", yscale="log", xlabel="learning rate", ylabel="final training loss")
    ax[0, 0].legend(fontsize=8)
    return png(fig, "stability", "Left: runs that diverged; middle: how much the log training loss jumps around its "
               "trend (second half of the run, runs that did not diverge); right: final training loss (mean over "
               "seeds).")


def verdict(numbers) -> Verdict:
    per, cmp_ = numbers["per"], numbers["elu_minus"]
    more_div = [lr for lr in numbers["lrs"] if per["elu"][lr]["diverged"]["k"] > per["relu"][lr]["diverged"]["k"]]
    less_div = [lr for lr in numbers["lrs"] if per["elu"][lr]["diverged"]["k"] < per["relu"][lr]["diverged"]["k"]]
    vs = cmp_.get("relu", {})
    calmer = [lr for lr, v in vs.items() if v["volatility_diff"]["hi"] < 0]
    wilder = [lr for lr, v in vs.items() if v["volatility_diff"]["lo"] > 0]
    key = ("ELU vs ReLU: diverged runs " + ", ".join(f"lr {lr}: {per['elu'][lr]['diverged']['k']} vs "
                                                      f"{per['relu'][lr]['diverged']['k']}" for lr in numbers["lrs"])
           + f"; less volatile at {len(calmer)} of {len(vs)} rates, more at {len(wilder)}")
    text = ("Per learning rate, ELU minus ReLU in volatility (paired by seed): "
            + ", ".join(f"lr {lr}: {fmt_ci(v['volatility_diff'])}" for lr, v in vs.items())
            + ". Diverged runs (ELU, ReLU, Leaky ReLU): "
            + "; ".join(f"lr {lr}: " + ", ".join(str(per[a][lr]["diverged"]["k"]) for a in numbers["activations"])
                        for lr in numbers["lrs"]) + ".")
    if not calmer and (more_div or wilder):
        return Verdict(REFUTED, "ELU is not more stable than ReLU here. " + text, key)
    if not more_div and not wilder and len(calmer) * 2 > len(vs):
        return Verdict(CONFIRMED, "ELU trains more stably than ReLU. " + text, key)
    how = [f"calmer at lr {', '.join(calmer)}" if calmer else "", f"more volatile at lr {', '.join(wilder)}"
           if wilder else "", f"diverges more often at lr {', '.join(more_div)}" if more_div else "",
           f"less often at lr {', '.join(less_div)}" if less_div else ""]
    return Verdict(CAVEATS, "It depends on the learning rate: ELU is " + "; ".join(h for h in how if h) + ". "
                   + text, key)


EXPERIMENT = register(
    name="elu_stability",
    number=15,
    tutorial="004",
    claim="ELU's smooth curve for negative inputs stabilises training.",
    korean="음수 입력에 대해 부드러운 곡선을 제공하여 학습을 안정화합니다.",
    config=Config,
    run=run,
    verdict=verdict,
)
