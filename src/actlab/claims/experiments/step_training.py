"""A step activation cannot be trained by gradient descent (tutorial 003)

The step function's derivative is 0 everywhere except at 0, where it does not exist (the
catalogue returns 0 there), so backpropagation multiplies every gradient reaching a step
layer by 0: the weights *below* a step never receive a gradient, and gradient descent can
only train the layer above it. Whether that makes the network untrainable is measured on
three Playground sets (circle, xor, moons) with 2-W-1 networks (sigmoid output, BCE)
that start from the same weights in every arm:

* ``step``: plain gradient descent through the step. Its hidden-layer gradient is
  recorded at every SGD step; the run is repeated as a logistic readout trained on the
  *frozen* step features of the initial hidden layer (same batches), which is what plain
  gradient descent reduces to, and that readout is also trained to convergence
  (L-BFGS) to see whether more epochs would help;
* ``ste_sigmoid`` and ``ste_clipped``: the straight-through estimator, the step in the
  forward pass and the derivative of a smooth surrogate in the backward pass (sigmoid'
  or the clipped identity's 1{|z| <= 1}): what the very same step network reaches when
  a gradient does flow into its hidden layer;
* ``sigmoid``: the continuous activation the tutorial recommends.

The hidden biases are drawn so that every unit's boundary w.x + b = 0 passes through a
randomly chosen training point: with zero biases every boundary would pass through the
origin, and step features would then depend only on a point's angle, which cannot
separate the circle set's classes (they differ by radius) by construction.

The claim is about training, so the measure is the training accuracy. The rule
(:func:`judge`) reads three things per set, each a paired 95 % t interval over seeds: does
the step network fall short of sigmoid even with its readout trained to convergence, does
the straight-through control recover that shortfall (then the zero derivative is what
holds the step network back), and is plain GD above chance (then the layer above the step
learns, and "cannot be trained" holds only for the layers below it). The same rule is
applied at neighbouring learning rates and widths (halved and doubled, arms step,
ste_sigmoid and sigmoid); a verdict that changes there is reported as depending on them.

The left panel shows the training accuracy per set and arm (means with 95 % t intervals
over seeds; dashed: chance, the majority class's share). The middle panel shows the norm
of the hidden layer's gradient at every SGD step for seed 0 on the first set: exactly 0
through the step (drawn at 1e-12), non-zero with the straight-through estimator and with
sigmoid. The right panel repeats the central comparison (sigmoid minus the better plain-GD
readout, paired per seed) at the neighbouring settings: does the shortfall hold there?
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ... import nn
from ..figures import ci, fmt_ci, new_figure, png, seeds_of
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, classification_sets, register, setting

#: every arm at the configured setting; the neighbouring settings repeat the central three
ARMS = ("step", "ste_sigmoid", "ste_clipped", "sigmoid")
ROBUST_ARMS = ("step", "ste_sigmoid", "sigmoid")
LABELS = {"step": "step, plain GD", "frozen_converged": "frozen step features, readout to convergence",
          "ste_sigmoid": "step, straight-through (sigmoid')", "ste_clipped": "step, straight-through (clipped id.)",
          "sigmoid": "sigmoid"}
MAIN = "as configured"


@dataclass
class Config:
    seeds: int = 8
    datasets: tuple[str, ...] = setting(("circle", "xor", "moons"), choices=classification_sets)
    examples: int = 400
    noise: float = setting(0.0, low=0)
    width: int = 16
    epochs: int = 60
    lr: float = 1.0
    momentum: float = setting(0.9, low=0, high=1, high_open=True)
    batch_size: int = 32
    # the robustness check: the learning rate and the width, each multiplied by these in turn
    lr_factors: tuple[float, ...] = (0.5, 2.0)
    width_factors: tuple[float, ...] = (0.5, 2.0)
    # L2 penalty of the converged readout: on separable features the unpenalised optimum is at infinity
    readout_l2: float = 1e-4
    QUICK: ClassVar[dict] = {"seeds": 3, "epochs": 30, "examples": 200, "lr_factors": (2.0,), "width_factors": (2.0,)}
    FULL: ClassVar[dict] = {"seeds": 20, "epochs": 100}


class StraightThroughStep(nn.Layer):
    """The step function in the forward pass, a smooth surrogate's derivative in the
    backward pass (the straight-through estimator): grad_z = s'(z) * grad_y with
    s' = sigmoid' (``"sigmoid"``) or 1{|z| <= 1}, the clipped identity's (``"clipped"``)."""

    SURROGATES = ("sigmoid", "clipped")

    def __init__(self, surrogate: str) -> None:
        from ...catalogue import get

        if surrogate not in self.SURROGATES:
            raise ValueError(f"surrogate must be one of {self.SURROGATES}, got {surrogate!r}")
        self.surrogate = surrogate
        self._step, self._sigmoid = get("step"), get("sigmoid")
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        self._x = x
        return self._step.f(x)

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        x = self._x
        if self.surrogate == "sigmoid":
            s = self._sigmoid.f(x)
            return grad_y * s * (1 - s)
        return grad_y * (np.abs(x) <= 1)

    def config(self) -> dict:
        return {"type": "StraightThroughStep", "surrogate": self.surrogate}


def dataset(name: str, examples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A Playground set with each input feature standardised (mean 0, standard deviation 1)."""
    from ... import data

    X, y = data.playground(name, n=examples, noise=noise, seed=seed)
    return (X - X.mean(0)) / X.std(0), y


def initial_weights(X: np.ndarray, width: int, seed: int) -> dict:
    """W1 LeCun-normal; b1 such that unit j's boundary passes through a random training
    point x_j (b_j = -x_j . w_j); W2 Xavier-normal, b2 = 0. The same for every arm."""
    rng = np.random.default_rng([seed, 2])
    n_in = X.shape[1]
    W1 = rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_in, width))
    anchors = X[rng.integers(0, len(X), width)]
    b1 = -np.einsum("ji,ij->j", anchors, W1)
    W2 = rng.normal(0.0, np.sqrt(2.0 / (width + 1)), (width, 1))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": np.zeros(1)}


def network(arm: str, w: dict) -> nn.Sequential:
    """The 2-W-1 network of an arm (float64) with the initial weights ``w``."""
    hidden = {"step": lambda: nn.Activation("step"), "sigmoid": lambda: nn.Activation("sigmoid"),
              "ste_sigmoid": lambda: StraightThroughStep("sigmoid"),
              "ste_clipped": lambda: StraightThroughStep("clipped")}[arm]()
    n_in, width = w["W1"].shape
    d1 = nn.Dense(n_in, width, init="zeros", dtype=np.float64)
    d2 = nn.Dense(width, 1, init="zeros", dtype=np.float64)
    model = nn.Sequential([d1, hidden, d2], output="sigmoid")
    d1.W, d1.b, d2.W, d2.b = w["W1"], w["b1"], w["W2"], w["b2"]
    return model


def readout_to_convergence(H: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """The logistic readout of the features ``H`` fitted to convergence: (w, bias) minimising
    the mean BCE plus l2/2 |w|^2 (bias unpenalised) by L-BFGS. A convex problem: this is
    where gradient descent on the output layer alone ends up."""
    from scipy.optimize import minimize
    from scipy.special import expit

    A = np.hstack([H, np.ones((len(H), 1))])
    mask = np.r_[np.ones(H.shape[1]), 0.0]

    def f(v):
        z = A @ v
        loss = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * np.sum(mask * v * v)
        return loss, A.T @ (expit(z) - y) / len(y) + l2 * mask * v

    return minimize(f, np.zeros(A.shape[1]), jac=True, method="L-BFGS-B",
                    options={"maxiter": 5000}).x


def _train(model: nn.Sequential, X, y, c: dict, callback=None) -> None:
    nn.fit(model, X, y, loss=nn.SigmoidBCE(), lr=c["lr"], momentum=c["momentum"], epochs=c["epochs"],
           batch_size=c["batch_size"], seed=c["seed"], progress=False, callback=callback)


def cell(c: dict) -> dict:
    X, y = dataset(c["dataset"], c["examples"], c["noise"], c["seed"])
    w = initial_weights(X, c["width"], c["seed"])
    model = network(c["arm"], w)
    d1 = model.dense_layers[0]
    max_abs, norms = [0.0], []

    def track(step, m, loss):
        g = np.concatenate([d1.weight.grad.ravel(), d1.bias.grad.ravel()])
        max_abs[0] = max(max_abs[0], float(np.max(np.abs(g))))
        norms.append(float(np.linalg.norm(g)))

    _train(model, X, y, c, track)
    moved = float(np.linalg.norm(np.r_[d1.W.ravel() - w["W1"].ravel(), d1.b - w["b1"]])
                  / np.linalg.norm(np.r_[w["W1"].ravel(), w["b1"]]))
    out = {"acc": float(np.mean(model.predict(X) == y)), "chance": float(max(y.mean(), 1 - y.mean())),
           "max_abs_hidden_grad": max_abs[0], "hidden_moved": moved, "steps": len(norms)}
    if c["trace"]:
        out["grad_norm"] = norms
    if c["arm"] == "step":
        # plain GD through a step is GD on the output layer over frozen features: train that
        # readout alone, from the same weights with the same batches, and compare
        H = nn.Activation("step").forward(X @ w["W1"] + w["b1"])
        head = nn.Sequential([nn.Dense(c["width"], 1, init="zeros", dtype=np.float64)], output="sigmoid")
        head.dense_layers[0].W, head.dense_layers[0].b = w["W2"], w["b2"]
        _train(head, H, y, c)
        out["frozen_acc"] = float(np.mean(head.predict(H) == y))
        d2, h2 = model.dense_layers[1], head.dense_layers[0]
        out["frozen_max_weight_diff"] = float(max(np.max(np.abs(d2.W - h2.W)), np.max(np.abs(d2.b - h2.b))))
        v = readout_to_convergence(H, y, c["readout_l2"])
        out["frozen_converged_acc"] = float(np.mean((H @ v[:-1] + v[-1] > 0) == y))
    return out


def neighbours(cfg: Config) -> dict:
    """{label: (lr, width)}: the configured setting, then each neighbour (one change at a time)."""
    out = {MAIN: (cfg.lr, cfg.width)}
    for f in cfg.lr_factors:
        out.setdefault(f"lr x{f:g}", (cfg.lr * f, cfg.width))
    for f in cfg.width_factors:
        out.setdefault(f"width x{f:g}", (cfg.lr, max(1, round(cfg.width * f))))
    return out


def _summary(rows: dict, datasets, arms) -> dict:
    """One setting's numbers from {(dataset, arm): [per-seed results, by seed]}."""
    acc = {d: {a: ci([r["acc"] for r in rows[d, a]]) for a in arms} for d in datasets}

    def paired(d, a, b):
        return ci([ra["acc"] - rb["acc"] for ra, rb in zip(rows[d, a], rows[d, b])])

    def best(r):  # the better of the two plain-GD readouts: shortfalls are not for lack of epochs
        return max(r["acc"], r["frozen_converged_acc"])

    for d in datasets:
        acc[d]["frozen_converged"] = ci([r["frozen_converged_acc"] for r in rows[d, "step"]])
    s = {"train_acc": acc,
         "sigmoid_minus_step": {d: paired(d, "sigmoid", "step") for d in datasets},
         "sigmoid_minus_best_readout": {d: ci([rs["acc"] - best(r) for rs, r in zip(rows[d, "sigmoid"],
                                                                                  rows[d, "step"])])
                                        for d in datasets},
         "ste_minus_step": {d: paired(d, "ste_sigmoid", "step") for d in datasets},
         "chance": {d: max(r["chance"] for r in rows[d, "step"]) for d in datasets},
         "max_abs_hidden_grad_step": max(r["max_abs_hidden_grad"] for d in datasets for r in rows[d, "step"])}
    return s


def run(cfg: Config, runner) -> Outcome:
    settings = neighbours(cfg)
    base = {"examples": cfg.examples, "noise": cfg.noise, "epochs": cfg.epochs, "momentum": cfg.momentum,
            "batch_size": cfg.batch_size, "readout_l2": cfg.readout_l2}
    cells = []
    for label, (lr, width) in settings.items():
        for d in cfg.datasets:
            for a in (ARMS if label == MAIN else ROBUST_ARMS):
                for s in seeds_of(cfg):
                    cells.append(dict(base, setting=label, lr=lr, width=width, dataset=d, arm=a, seed=s,
                                      trace=label == MAIN and s == 0 and d == cfg.datasets[0]))
    res = runner.map(cell, [{k: v for k, v in c.items() if k != "setting"} for c in cells], desc="step training")
    rows: dict = {}
    for c, r in zip(cells, res):
        rows.setdefault(c["setting"], {}).setdefault((c["dataset"], c["arm"]), []).append(r)

    main = rows[MAIN]
    numbers = {
        "setup": {"datasets": list(cfg.datasets), "examples": cfg.examples, "noise": cfg.noise,
                  "width": cfg.width, "lr": cfg.lr, "momentum": cfg.momentum, "epochs": cfg.epochs,
                  "batch_size": cfg.batch_size, "seeds": cfg.seeds,
                  "sgd_steps": main[cfg.datasets[0], "step"][0]["steps"]},
        **_summary(main, cfg.datasets, ARMS),
        "hidden_moved": {a: ci([r["hidden_moved"] for d in cfg.datasets for r in main[d, a]]) for a in ARMS},
        "max_hidden_moved_step": max(r["hidden_moved"] for d in cfg.datasets for r in main[d, "step"]),
        # plain GD through the step vs the frozen-feature readout: same accuracy, same output weights
        "frozen_vs_step_max_acc_diff": max(abs(r["acc"] - r["frozen_acc"]) for d in cfg.datasets
                                           for r in main[d, "step"]),
        "frozen_vs_step_max_weight_diff": max(r["frozen_max_weight_diff"] for d in cfg.datasets
                                              for r in main[d, "step"]),
        "robustness": {label: {"lr": lr, "width": width, **_summary(rows[label], cfg.datasets, ROBUST_ARMS)}
                       for label, (lr, width) in settings.items() if label != MAIN},
    }
    figs = [_figure(cfg, numbers, main)]
    text = (f"Playground {', '.join(cfg.datasets)}: {cfg.examples} points each (noise {cfg.noise:g}), inputs "
            f"standardised; 2-{cfg.width}-1 networks, float64, hidden W LeCun-normal, hidden biases putting each "
            f"unit's boundary through a random training point, output Xavier-normal; the same initial weights in "
            f"every arm; sigmoid output + BCE; SGD lr {cfg.lr:g} momentum {cfg.momentum:g}, batch "
            f"{cfg.batch_size}, {cfg.epochs} epochs; training accuracy; seeds 0..{cfg.seeds - 1}. Neighbouring "
            f"settings: {', '.join(k for k in settings if k != MAIN)} (arms step, ste_sigmoid, sigmoid).")
    raw = [{k: v for k, v in dict(c, **r).items() if k != "grad_norm"} for c, r in zip(cells, res)]
    return Outcome(numbers=numbers, raw={"cells": raw}, figures=figs, settings=text)


def _figure(cfg: Config, numbers: dict, main: dict):
    fig, ax = new_figure(3, 1, width=4.6)
    shown = ("step", "frozen_converged", "ste_sigmoid", "ste_clipped", "sigmoid")
    colors = {"step": "C7", "frozen_converged": "k", "ste_sigmoid": "C0", "ste_clipped": "C2", "sigmoid": "C3"}
    for i, a in enumerate(shown):
        for j, d in enumerate(cfg.datasets):
            r = numbers["train_acc"][d][a]
            x = j + (i - 2) * 0.14
            ax[0, 0].errorbar(x, r["mean"], yerr=[[r["mean"] - r["lo"]], [r["hi"] - r["mean"]]], fmt="o",
                              color=colors[a], capsize=3, label=LABELS[a] if j == 0 else None)
    for j, d in enumerate(cfg.datasets):
        ax[0, 0].hlines(numbers["chance"][d], j - 0.4, j + 0.4, color="0.5", ls="--", lw=1,
                        label="chance (majority class)" if j == 0 else None)
    ax[0, 0].set(xticks=range(len(cfg.datasets)), xticklabels=cfg.datasets, ylabel="training accuracy",
                 title=f"2-{cfg.width}-1, lr {cfg.lr:g}, {cfg.epochs} epochs", ylim=(0.4, 1.03))
    ax[0, 0].legend(fontsize=7, loc="lower left")
    for a in ("step", "ste_sigmoid", "ste_clipped", "sigmoid"):
        g = np.asarray(main[cfg.datasets[0], a][0]["grad_norm"])
        ax[0, 1].plot(np.arange(1, len(g) + 1), g + 1e-12, color=colors[a], alpha=0.8, label=LABELS[a])
    ax[0, 1].set(yscale="log", xlabel="SGD step", ylabel="||hidden-layer gradient|| (+1e-12)",
                 title=f"{cfg.datasets[0]}, seed 0")
    ax[0, 1].legend(fontsize=7)
    labels = [MAIN, *numbers["robustness"]]
    for j, d in enumerate(cfg.datasets):
        for i, label in enumerate(labels):
            r = (numbers if label == MAIN else numbers["robustness"][label])["sigmoid_minus_best_readout"][d]
            x = i + (j - 1) * 0.2
            ax[0, 2].errorbar(x, r["mean"], yerr=[[r["mean"] - r["lo"]], [r["hi"] - r["mean"]]], fmt="o",
                              color=f"C{j}", capsize=3, label=d if i == 0 else None)
    ax[0, 2].axhline(0.0, color="0.5", lw=1)
    ax[0, 2].set(xticks=range(len(labels)), ylabel="accuracy: sigmoid - better step readout",
                 title="neighbouring settings")
    ax[0, 2].set_xticklabels(labels, rotation=20, fontsize=8)
    ax[0, 2].legend(fontsize=8)
    return png(fig, "step_vs_sigmoid", "Left: training accuracy per data set and arm (95 % t intervals over seeds). "
               "Middle: norm of the hidden layer's gradient at every SGD step (1e-12 added so that zero shows on "
               "the log scale). Right: sigmoid's accuracy minus the better of the step network's two plain-GD "
               "readouts (after the epochs, or trained to convergence), paired per seed, at the configured setting "
               "and its neighbours; interval above 0: the step network falls short.")


# ----------------------------------------------------------------------------- verdict

def judge(s: dict) -> tuple[str, dict]:
    """The rule at one setting ``s`` (the numbers' top level, or one robustness entry):
    (verdict, the data sets in each condition).

    * ``short``: the step network falls short of sigmoid: sigmoid's accuracy minus the
      better of the two plain-GD readouts (after the epochs, and trained to convergence),
      paired per seed, has its interval above 0;
    * ``recovered``: of those, the straight-through estimator (sigmoid') lifts the same step
      network above plain GD (paired interval above 0): the missing gradient holds it back;
    * ``learns``: plain GD is above chance (interval above the majority rate): the output
      layer above the step learns.

    REFUTED if the hidden layer received any gradient through the step, or if the step
    network falls short of sigmoid on no set. CONFIRMED if it falls short on every set, the
    straight-through control recovers every shortfall and plain GD is nowhere above chance
    (nothing trains). Otherwise CAVEATS.
    """
    ds = list(s["train_acc"])
    short = [d for d in ds if s["sigmoid_minus_best_readout"][d]["lo"] > 0]
    sets = {"short": short,
            "recovered": [d for d in short if s["ste_minus_step"][d]["lo"] > 0],
            "learns": [d for d in ds if s["train_acc"][d]["step"]["lo"] > s["chance"][d]]}
    if s["max_abs_hidden_grad_step"] != 0.0 or not short:
        return REFUTED, sets
    if len(short) == len(ds) and len(sets["recovered"]) == len(short) and not sets["learns"]:
        return CONFIRMED, sets
    return CAVEATS, sets


def _names(ds: list) -> str:
    return ", ".join(ds) if ds else "none"


def verdict(numbers) -> Verdict:
    u = numbers["setup"]
    ds = u["datasets"]
    acc = numbers["train_acc"]
    main, sets = judge(numbers)
    tested = (f"Tested on {', '.join(ds)} ({u['examples']} points each, noise {u['noise']:g}), 2-{u['width']}-1 "
              f"networks with random hidden biases, SGD lr {u['lr']:g} momentum {u['momentum']:g}, batch "
              f"{u['batch_size']}, {u['epochs']} epochs ({u['sgd_steps']} SGD steps), {u['seeds']} seeds; "
              "training accuracy, 95 % t intervals over seeds.")
    g = numbers["max_abs_hidden_grad_step"]
    if g == 0.0:
        grad = (f"The hidden layer below the step received a gradient of exactly 0 at every SGD step of every run "
                f"(largest |entry| {g:g}); its weights moved by {numbers['max_hidden_moved_step']:g} (relative) at "
                f"most, against {fmt_ci(numbers['hidden_moved']['sigmoid'])} with sigmoid. Plain gradient descent "
                f"therefore trains only the output layer: a logistic readout trained on the frozen initial step "
                f"features with the same batches ends with the same output weights (largest difference "
                f"{numbers['frozen_vs_step_max_weight_diff']:g}) and accuracy (largest difference "
                f"{numbers['frozen_vs_step_max_acc_diff']:g}).")
    else:
        grad = f"The hidden layer below the step received a non-zero gradient (largest |entry| {g:g})."
    per = []
    for d in ds:
        a = acc[d]
        gap, ste = numbers["sigmoid_minus_best_readout"][d], numbers["ste_minus_step"][d]
        state = ("falls short of sigmoid" if d in sets["short"] else "better than sigmoid" if gap["hi"] < 0 else
                 "not distinguishable from sigmoid (the interval of the difference contains 0)")
        chance = ("above chance" if d in sets["learns"] else
                  f"not above chance ({numbers['chance'][d]:.2f})")
        per.append(f"{d}: step {fmt_ci(a['step'])}, {chance}; readout of the frozen step features trained to "
                   f"convergence {fmt_ci(a['frozen_converged'])}; sigmoid {fmt_ci(a['sigmoid'])}; sigmoid minus "
                   f"the better readout {fmt_ci(gap)}: {state}. Straight-through {fmt_ci(a['ste_sigmoid'])} "
                   f"(sigmoid') and {fmt_ci(a['ste_clipped'])} (clipped identity); straight-through (sigmoid') "
                   f"minus plain GD {fmt_ci(ste)}.")
    robust = {label: judge(r) for label, r in numbers["robustness"].items()}
    flips = [label for label, (v, _) in robust.items() if v != main]
    rob = "Neighbouring settings: " + "; ".join(
        f"{label}: {v} (falls short on {_names(st['short'])})" for label, (v, st) in robust.items()) + "."
    key = (f"hidden-layer gradient through the step exactly 0 (max |g| {g:g}); training accuracy step / "
           f"straight-through / sigmoid: " if g == 0.0 else
           f"hidden-layer gradient through the step non-zero (max |g| {g:g}); training accuracy step / "
           f"straight-through / sigmoid: ") + ", ".join(
        f"{d} {acc[d]['step']['mean']:.2f} / {acc[d]['ste_sigmoid']['mean']:.2f} / {acc[d]['sigmoid']['mean']:.2f}"
        for d in ds)
    text = " ".join([tested, grad, *per, rob])
    if main == REFUTED:
        why = ("the premise fails: a gradient reached the layer below the step." if g != 0.0 else
               "training only the output layer above the step is as good as sigmoid on every set.")
        if flips:
            why += f" At {', '.join(flips)} the verdict differs: it depends on the learning rate and width."
        return Verdict(REFUTED, text + " Refuted: " + why, key)
    notes = []
    if len(sets["short"]) < len(ds):
        notes.append(f"the step network falls short of sigmoid on {_names(sets['short'])} but not on "
                     f"{_names([d for d in ds if d not in sets['short']])}: it depends on the data set")
    if sets["learns"]:
        notes.append(f"'cannot be trained' holds for the layers below the step; the output layer above it still "
                     f"learns a linear readout of fixed random step features, above chance on "
                     f"{_names(sets['learns'])}")
    unrecovered = [d for d in sets["short"] if d not in sets["recovered"]]
    if unrecovered:
        notes.append(f"on {_names(unrecovered)} the straight-through control does not beat plain GD either, so "
                     "the shortfall there is not shown to come from the missing gradient")
    if sets["recovered"]:
        notes.append(f"where a gradient does flow (straight-through), the same step network trains further on "
                     f"{_names(sets['recovered'])}: the zero derivative, not the step in the forward pass, is what "
                     "stops gradient descent")
    if flips:
        notes.append(f"the verdict depends on the learning rate and width: {', '.join(flips)} give "
                     f"{', '.join(sorted({robust[f][0] for f in flips}))}")
    if main == CONFIRMED and not flips:
        return Verdict(CONFIRMED, text + " Confirmed: plain gradient descent trains nothing (no set above chance), "
                       "the step network falls short of sigmoid on every set, and the straight-through control "
                       "shows that the missing gradient is the reason.", key)
    return Verdict(CAVEATS, text + " Caveats: " + "; ".join(notes) + ".", key)


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
