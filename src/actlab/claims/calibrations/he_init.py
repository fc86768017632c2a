"""He initialisation keeps a deep ReLU network's scale; Xavier's halves it per layer (He et al. 2015)

He, Zhang, Ren & Sun, "Delving Deep into Rectifiers: Surpassing Human-Level Performance
on ImageNet Classification", ICCV 2015 (arXiv:1502.01852), Section 2.2: in a ReLU
network with zero biases the pre-activations' second moment obeys
E[z_{k+1}^2] = (n_k Var[w_{k+1}] / 2) E[z_k^2], so Var[w] = 2/n keeps it from layer to
layer while Xavier's Var[w] = 1/n (n_in = n_out) halves it: the output's standard
deviation shrinks by 2^(-L/2) over L layers. Their Fig. 3: a 30-layer ReLU network
trains with their initialisation and "completely stalls" with Xavier's. Three checks:

1. Exact: ReLU is positively homogeneous, so one draw of standard-normal weights scaled
   by sqrt(1/n) (Xavier) and by sqrt(2/n) (He) gives outputs whose ratio is exactly
   2^(-L/2) for every input: measured in float64, tolerance 1e-12 relative (rounding).
2. In expectation: with He's weights at width 1000 and depth 30, each layer keeps
   E[z^2] (factor 1 per layer; Xavier: 1/2). Each layer multiplies the second moment by
   a random factor of mean 1 and variance 5/n (ReLU of a Gaussian: E[relu(g)^4] = 3/2),
   so one network's ratio over 30 layers is off by about 40 %; the per-layer factor, the
   geometric mean over L - 1 layers and the seeds, is off by s = sqrt(5/n) /
   sqrt((L - 1) seeds) in log. The rule, fixed before any run: |log factor - log
   expected| <= 3 s + 5/(2n) (the second term: log's Jensen bias per layer).
3. Training: an MLP analogue of Fig. 3 on MNIST, 30 ReLU hidden layers of 100 units,
   SGD with momentum 0.9, batch 64, each initialisation at its best learning rate of
   several. "Trains": the final training loss (mean of the last 20 mini-batches) is below
   half of chance, ln(10)/2; "stalls": it stays within 5 % of chance at every learning
   rate.

Figure: the second moment per layer under both initialisations (mean over seeds, log
scale), and the training loss of both at their best learning rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import by, ci, fmt_ci, new_figure, png, seeds_of
from ..framework import NOT_REPRODUCED, REPRODUCED, Outcome, Verdict, register, setting

CHANCE = math.log(10.0)


@dataclass
class Config:
    seeds: int = 5
    depth: int = 30
    width: int = 1000
    examples: int = 500
    train_depth: int = 30
    train_width: int = 100
    train_steps: int = 600
    lrs: tuple[float, ...] = setting((0.003, 0.01, 0.03, 0.1))
    QUICK: ClassVar[dict] = {"seeds": 3, "examples": 200, "train_steps": 600, "lrs": (0.003, 0.01)}
    FULL: ClassVar[dict] = {"seeds": 10, "examples": 1000, "train_steps": 2000}


def _moments(c: dict) -> dict:
    """One draw of weights, scaled for He and for Xavier: the second moment of each layer's
    pre-activations under both, and the ratio of the two outputs."""
    rng = np.random.default_rng([c["seed"], 31])
    n, L = c["width"], c["depth"]
    x = rng.standard_normal((c["examples"], n))
    he, xa = x, x
    m2 = {"he": [], "xavier": []}
    for _ in range(L):
        G = rng.standard_normal((n, n))
        z_he, z_xa = he @ (G * math.sqrt(2.0 / n)), xa @ (G * math.sqrt(1.0 / n))
        m2["he"].append(float(np.mean(z_he ** 2)))
        m2["xavier"].append(float(np.mean(z_xa ** 2)))
        he, xa = np.maximum(z_he, 0.0), np.maximum(z_xa, 0.0)
    ratio = np.linalg.norm(z_xa, axis=1) / np.linalg.norm(z_he, axis=1)
    exact = 2.0 ** (-L / 2)
    return {"m2": m2, "he_ratio": m2["he"][-1] / m2["he"][0],
            "exact_dev": float(np.max(np.abs(ratio / exact - 1.0)))}


def _train(c: dict) -> dict:
    from ... import data, nn

    X, y = data.load_mnist(split="train")
    n = c["steps"] * 64
    idx = np.random.default_rng([c["seed"], 32]).choice(len(X), min(n, len(X)), replace=False)
    model = nn.mlp([784] + [c["width"]] * c["depth"] + [10], activation="relu", init=c["init"], seed=c["seed"],
                   dtype=np.float32)
    hist = nn.fit(model, X[idx], y[idx], lr=c["lr"], momentum=0.9, batch_size=64, epochs=max(1, n // len(idx)),
                  seed=c["seed"], progress=False)
    loss = np.asarray(hist.step_loss, np.float64)
    curve = [float(np.mean(chunk)) for chunk in np.array_split(loss, 40)]
    return {"final": float(np.mean(loss[-20:])), "curve": curve}


def cell(c: dict) -> dict:
    return _moments(c) if c["kind"] == "moments" else _train(c)


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    mcells = [{"kind": "moments", "width": cfg.width, "depth": cfg.depth, "examples": cfg.examples, "seed": s}
              for s in seeds]
    tcells = [{"kind": "train", "init": i, "lr": float(lr), "depth": cfg.train_depth, "width": cfg.train_width,
               "steps": cfg.train_steps, "seed": s} for i in ("he_normal", "xavier_normal") for lr in cfg.lrs
              for s in seeds]
    res = runner.map(cell, tcells + mcells, desc="he_init")
    tres, mres = res[:len(tcells)], res[len(tcells):]
    per_layer = {k: ci([(r["m2"][k][-1] / r["m2"][k][0]) ** (1 / (cfg.depth - 1)) for r in mres])
                 for k in ("he", "xavier")}
    moments = {"he_ratio": ci([r["he_ratio"] for r in mres]), "exact_dev": max(r["exact_dev"] for r in mres),
               "m2": {k: np.mean([r["m2"][k] for r in mres], 0).tolist() for k in ("he", "xavier")},
               "per_layer": per_layer,
               "log_tolerance": 3 * math.sqrt(5 / cfg.width) / math.sqrt((cfg.depth - 1) * len(mres))
               + 5 / (2 * cfg.width)}
    g = by([dict(c, **r) for c, r in zip(tcells, tres)], "init")
    training = {}
    for init, rows in g.items():
        per_lr = by(rows, "lr")
        finals = {str(lr): ci([r["final"] for r in per_lr[lr]]) for lr in per_lr}
        best = min(per_lr, key=lambda lr: finals[str(lr)]["mean"])
        training[init] = {"final_by_lr": finals, "best_lr": best, "best": finals[str(best)],
                          "curve": np.mean([r["curve"] for r in per_lr[best]], 0).tolist()}
    numbers = {"moments": moments, "training": training, "depth": cfg.depth, "width": cfg.width,
               "train": {"depth": cfg.train_depth, "width": cfg.train_width, "steps": cfg.train_steps,
                         "lrs": list(cfg.lrs)}, "chance": CHANCE}
    settings = (f"Moments: {cfg.depth} ReLU layers of {cfg.width}, biases 0, float64, {cfg.examples} Gaussian inputs, "
                f"one weight draw scaled for both inits per seed. Training: MNIST, 784-{cfg.train_width}x"
                f"{cfg.train_depth}-10 ReLU, float32, SGD momentum 0.9, batch 64, {cfg.train_steps} steps, lr in "
                f"{list(cfg.lrs)} (best per init). Seeds 0..{cfg.seeds - 1}.")
    raw = {"moments": [dict(c, **r) for c, r in zip(mcells, mres)],
           "train": [dict(c, **r) for c, r in zip(tcells, tres)]}
    return Outcome(numbers=numbers, raw=raw, figures=[_figure(numbers)], settings=settings)


def _figure(n: dict):
    fig, ax = new_figure(2, 1, width=4.8, height=3.6)
    for k, (key, lab) in enumerate((("he", "He, Var(w) = 2/n"), ("xavier", "Xavier, Var(w) = 1/n"))):
        m2 = n["moments"]["m2"][key]
        ax[0, 0].plot(np.arange(1, len(m2) + 1), m2, color=f"C{k}", label=lab)
    ax[0, 0].set(yscale="log", xlabel="layer k", ylabel="E[z_k^2]", title=f"ReLU, width {n['width']}")
    ax[0, 0].legend(fontsize=8)
    for k, init in enumerate(("he_normal", "xavier_normal")):
        t = n["training"][init]
        steps = np.linspace(0, n["train"]["steps"], len(t["curve"]))
        ax[0, 1].plot(steps, t["curve"], color=f"C{k}", label=f"{init} (lr {t['best_lr']:g})")
    ax[0, 1].axhline(n["chance"], color="0.5", lw=1, ls=":")
    ax[0, 1].set(xlabel="SGD step", ylabel="training loss",
                 title=f"{n['train']['depth']} ReLU layers of {n['train']['width']}")
    ax[0, 1].legend(fontsize=8)
    return png(fig, "he_xavier", "Left: second moment of the pre-activations per layer (mean over seeds): flat with "
               "He's initialisation, halved per layer with Xavier's. Right: training loss of a 30-layer ReLU MLP on "
               "MNIST at each initialisation's best learning rate; dotted: chance, ln 10.")


def verdict(numbers) -> Verdict:
    m, t, chance = numbers["moments"], numbers["training"], numbers["chance"]
    exact_ok = m["exact_dev"] <= 1e-12
    r, pl, tol = m["he_ratio"], m["per_layer"], m["log_tolerance"]
    var_ok = abs(math.log(pl["he"]["mean"])) <= tol and abs(math.log(pl["xavier"]["mean"] / 0.5)) <= tol
    he, xa = t["he_normal"], t["xavier_normal"]
    trains = he["best"]["mean"] < chance / 2
    stalls = all(v["mean"] > 0.95 * chance for v in xa["final_by_lr"].values())
    L = numbers["depth"]
    key = (f"Xavier/He output ratio = 2^-{L}/2 within {m['exact_dev']:.1e}; E[z^2] per layer: He "
           f"{pl['he']['mean']:.4f}, Xavier {pl['xavier']['mean']:.4f}; 30-layer MLP loss: He "
           f"{he['best']['mean']:.2f}, Xavier {xa['best']['mean']:.2f} "
           f"(chance {chance:.2f})")
    text = (f"With one draw of weights scaled both ways, the Xavier network's output is the He network's times "
            f"2^(-{L}/2) to a relative {m['exact_dev']:.1e} (ReLU is positively homogeneous). At width "
            f"{numbers['width']} the second moment changes per layer by {fmt_ci(pl['he'], 4)} with He's weights "
            f"(expected 1) and {fmt_ci(pl['xavier'], 4)} with Xavier's (expected 0.5); rule: within a factor "
            f"exp({tol:.4f}). Over all {L} layers one He network's ratio is {fmt_ci(r)} (mean over seeds; the "
            f"spread is the product of {L} random factors). Training a {numbers['train']['depth']}-layer ReLU MLP on "
            f"MNIST for {numbers['train']['steps']} steps: He reaches loss {fmt_ci(he['best'])} at lr "
            f"{he['best_lr']:g}, "
            f"Xavier {fmt_ci(xa['best'])} at its best lr {xa['best_lr']:g} (chance {chance:.3f}; losses by lr: "
            + ", ".join(f"{lr}: {v['mean']:.3f}" for lr, v in xa["final_by_lr"].items()) + ").")
    checks = (("the exact 2^(-L/2) ratio", exact_ok), ("He's variance at depth", var_ok),
              ("He trains", trains), ("Xavier stalls", stalls))
    missed = [name for name, ok in checks if not ok]
    if not missed:
        return Verdict(REPRODUCED, text, key)
    return Verdict(NOT_REPRODUCED, f"Not reproduced: {', '.join(missed)}. " + text, key)


CALIBRATION = register(
    name="he_init",
    number=2,
    kind="calibration",
    tutorial="He et al. 2015",
    claim="With Var(w) = 2/n a deep ReLU network keeps the scale of its pre-activations from layer to layer; "
    "Xavier's 1/n halves the second moment per layer (the output's std by 2^(-L/2)), and a 30-layer ReLU "
    "network trains with He's initialisation but stalls with Xavier's.",
    korean="",
    config=Config,
    run=run,
    verdict=verdict,
)
