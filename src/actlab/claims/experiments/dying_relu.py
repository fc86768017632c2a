"""Dying ReLU: large learning rates kill ReLU units; BatchNorm and a lower rate prevent it (000, 002, 003, 004)

The tutorials say a ReLU unit whose weighted sum turns negative outputs 0 from then on and
stops learning (tutorial 000: "that neuron only returns 0 thereafter"), that large
gradients / learning rates cause it (004), and that Leaky ReLU, ELU, PReLU (002, 003, 004),
a lower learning rate and batch normalisation (004) mitigate it.

Definition used (:mod:`actlab.nn.diagnostics`): a hidden unit is **dead** when |f'(z)| <=
1e-3 on every one of the training examples, z its pre-activation (evaluation mode). For
ReLU this is exactly "outputs 0 on every training example", so it receives exactly zero
gradient from every mini-batch. Leaky ReLU and PReLU units cannot be dead by this
definition while their slope exceeds 1e-3; they can be *inactive* (z <= 0 on every example),
which is tracked too. ELU units are dead when z < ln(1e-3) ~ -6.9 everywhere.

An MLP (default 784-128-128-128-10, He initialisation, biases 0) is trained with plain SGD
(no momentum, no weight decay) on an MNIST training subset at learning rates from
well-behaved to too large, for ReLU, Leaky ReLU (slope 0.01), ELU and PReLU, with and without
BatchNorm. At checkpoints the dead set of every layer is recomputed on the whole training
subset, and unit identities are followed: a unit *revives* if it is dead at one checkpoint
and alive at a later one; its incoming weights are compared bit for bit between two
checkpoints at which it is dead (unchanged = it did not learn in between). A run whose
loss becomes non-finite is marked *diverged* and keeps its last finite checkpoint.

Figure 1: final dead fraction (mean over the hidden layers) and held-out accuracy against
the learning rate (log scale), without and with BatchNorm; crosses mark diverged runs.
Figure 2: ReLU's dead fraction per layer during training, one line per learning rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import by, ci, fmt_ci, new_figure, png, seeds_of
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, activation_spec, register, setting

ACT_COLORS = {"relu": "#1f77b4", "leaky_relu": "#ff7f0e", "elu": "#2ca02c", "prelu": "#9467bd"}


@dataclass
class Config:
    seeds: int = 3
    activations: tuple[str, ...] = setting(("relu", "leaky_relu", "elu", "prelu"), check=activation_spec)
    lrs: tuple[float, ...] = (0.01, 0.1, 0.3, 1.0)
    batchnorm: tuple[int, ...] = setting((0, 1), low=0, high=1)  # 0 = without, 1 = with BatchNorm
    width: int = 128
    depth: int = 3
    train_examples: int = 4000  # MNIST training subset; also the probe set of the dead-unit test
    test_examples: int = 2000
    steps: int = 250
    batch: int = 64
    checkpoints: int = 10  # dead sets recomputed this many times (plus at step 0)
    dead_eps: float = 1e-3
    QUICK: ClassVar[dict] = {"seeds": 1, "lrs": (0.1, 1.0), "width": 64, "steps": 60, "train_examples": 1500,
                             "test_examples": 500, "checkpoints": 3}
    FULL: ClassVar[dict] = {"seeds": 4, "lrs": (0.003, 0.01, 0.03, 0.1, 0.3, 1.0), "steps": 600,
                            "train_examples": 8000, "checkpoints": 12}


def _data(c: dict):
    from ... import data

    X, y = data.load_mnist(split="train")
    idx = np.random.default_rng([c["seed"], 6]).choice(len(X), c["train_examples"], replace=False)
    Xt, yt = data.load_mnist(split="test")
    return np.asarray(X[idx]), y[idx], np.asarray(Xt[:c["test_examples"]]), yt[:c["test_examples"]]


def _incoming(model, k: int) -> np.ndarray:
    """The weights feeding hidden layer k, one column per unit: W, b (and BatchNorm's gamma, beta)."""
    from ... import nn

    parts = []
    hidden = -1
    for layer in model.layers:
        if isinstance(layer, (nn.Activation, nn.PReLU)):
            hidden += 1
            if hidden == k:
                break
            parts = []
            continue
        for p in layer.params():
            parts.append(p.value.reshape(-1, p.value.shape[-1]))
    return np.concatenate(parts, axis=0).copy()


def cell(c: dict) -> dict:
    """Train one network, checking the dead sets on the training subset at checkpoints."""
    from ... import nn
    from ...nn import diagnostics

    X, y, Xt, yt = _data(c)
    model = nn.mlp([784, *[c["width"]] * c["depth"], 10], activation=c["act"], batchnorm=bool(c["bn"]),
                   seed=c["seed"])
    L = c["depth"]
    every = max(c["steps"] // c["checkpoints"], 1)
    ck: dict = {"step": [], "dead": [], "inactive": []}
    state = {"prev": None, "prev_w": None, "revived": np.zeros(L, int), "frozen": np.zeros(L, int),
             "pairs": np.zeros(L, int)}

    def check(step: int, m) -> None:
        if not all(np.all(np.isfinite(p.value)) for p in m.parameters()):
            return
        rep = diagnostics.dead_units(m, X, dead_eps=c["dead_eps"])
        dead = [r.dead.copy() for r in rep]
        w = [_incoming(m, k) for k in range(L)]
        if state["prev"] is not None:
            for k in range(L):
                both = state["prev"][k] & dead[k]
                state["pairs"][k] += int(both.sum())
                same = np.all(state["prev_w"][k] == w[k], axis=0)
                state["frozen"][k] += int((both & same).sum())
                state["revived"][k] += int((state["prev"][k] & ~dead[k]).sum())  # dead before, alive now
        state["prev"], state["prev_w"] = dead, w
        ck["step"].append(step)
        ck["dead"].append([r.dead_frac for r in rep])
        ck["inactive"].append([r.inactive_frac for r in rep])

    check(0, model)

    def callback(step, m, loss):
        if step % every == 0 or step == c["steps"]:
            check(step, m)

    hist = nn.fit(model, X, y, lr=c["lr"], batch_size=c["batch"], epochs=10**6, max_steps=c["steps"],
                  seed=c["seed"], callback=callback, progress=False)
    diverged = hist.stopped is not None and "loss is" in hist.stopped
    if not diverged and ck["step"][-1] != len(hist.step_loss):
        check(len(hist.step_loss), model)
    acc = nn.evaluate(model, Xt, yt)["acc"] if not diverged else math.nan
    return {"checkpoints": ck, "diverged": diverged, "stopped_step": len(hist.step_loss), "test_acc": acc,
            "final_dead": ck["dead"][-1], "final_inactive": ck["inactive"][-1],
            "revived": state["revived"].tolist(), "dead_pairs": state["pairs"].tolist(),
            "frozen_pairs": state["frozen"].tolist()}


def _mean_layers(v: list[float]) -> float:
    return float(np.mean(v))


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    common = {"width": cfg.width, "depth": cfg.depth, "train_examples": cfg.train_examples,
              "test_examples": cfg.test_examples, "steps": cfg.steps, "batch": cfg.batch,
              "checkpoints": cfg.checkpoints, "dead_eps": cfg.dead_eps}
    cells = [dict(common, act=a, bn=int(b), lr=float(lr), seed=s) for b in cfg.batchnorm for a in cfg.activations
             for lr in cfg.lrs for s in seeds]
    res = runner.map(cell, cells, desc="dying ReLU")
    rows = [dict(c, **r) for c, r in zip(cells, res)]
    g = by(rows, "act", "bn", "lr")
    dead, inactive, acc, diverged, per_layer = {}, {}, {}, {}, {}
    for a in cfg.activations:
        for b in cfg.batchnorm:
            key = f"{a}|bn{int(b)}"
            dead[key], inactive[key], acc[key], diverged[key], per_layer[key] = {}, {}, {}, {}, {}
            for lr in cfg.lrs:
                rs = g[(a, int(b), float(lr))]
                k = f"{lr:g}"
                dead[key][k] = ci([_mean_layers(r["final_dead"]) for r in rs])
                dead[key][k]["seeds"] = [_mean_layers(r["final_dead"]) for r in rs]
                inactive[key][k] = ci([_mean_layers(r["final_inactive"]) for r in rs])
                per_layer[key][k] = [ci([r["final_dead"][j] for r in rs])["mean"] for j in range(cfg.depth)]
                diverged[key][k] = sum(bool(r["diverged"]) for r in rs)
                fin = [r["test_acc"] for r in rs if not r["diverged"]]
                acc[key][k] = ci(fin) if fin else None
    relu_rows = [r for r in rows if r["act"] == "relu" and r["bn"] == 0 and not r["diverged"]]
    pairs = np.sum([r["dead_pairs"] for r in relu_rows], axis=0) if relu_rows else np.zeros(cfg.depth)
    frozen = np.sum([r["frozen_pairs"] for r in relu_rows], axis=0) if relu_rows else np.zeros(cfg.depth)
    revived = np.sum([r["revived"] for r in relu_rows], axis=0) if relu_rows else np.zeros(cfg.depth)
    numbers = {
        "definition": ("dead: |f'(z)| <= " f"{cfg.dead_eps:g} on every one of the {cfg.train_examples} training "
                       "examples (ReLU: output exactly 0 on all of them); inactive: z <= 0 on all of them"),
        "lrs": [f"{lr:g}" for lr in cfg.lrs], "activations": list(cfg.activations),
        "batchnorm": [int(b) for b in cfg.batchnorm], "seeds": cfg.seeds,
        "dead": dead, "inactive": inactive, "dead_per_layer": per_layer, "test_acc": acc, "diverged": diverged,
        "relu_frozen": {"pairs": [int(v) for v in pairs], "unchanged": [int(v) for v in frozen]},
        "relu_revived": [int(v) for v in revived],
        # runs in which some hidden layer ended entirely dead: the network's output no longer depends on the input
        "relu_net_dead": {f"{lr:g}": sum(max(r["final_dead"]) == 1.0 for r in g[("relu", 0, float(lr))]
                                         if not r["diverged"]) for lr in cfg.lrs} if 0 in cfg.batchnorm else {},
    }
    figs = [_fig_lr(numbers, cfg), _fig_training(g, cfg)]
    settings = (f"MLP 784-{'-'.join([str(cfg.width)] * cfg.depth)}-10, He init, biases 0, float32, plain SGD "
                f"(batch {cfg.batch}, {cfg.steps} steps) on {cfg.train_examples} MNIST training images (random "
                f"subset per seed); lrs {list(cfg.lrs)}; activations {list(cfg.activations)} (leaky_relu slope "
                f"0.01, PReLU init 0.25 per unit); BatchNorm {['off', 'on']} per cfg {list(cfg.batchnorm)}; "
                f"dead sets on the training subset at {cfg.checkpoints} checkpoints + step 0; accuracy on "
                f"{cfg.test_examples} test images; seeds 0..{cfg.seeds - 1}. {numbers['definition']}.")
    raw = {"runs": [{k: v for k, v in r.items() if k != "checkpoints"} | {"dead_series": r["checkpoints"]}
                    for r in rows]}
    return Outcome(numbers=numbers, raw=raw, figures=figs, settings=settings)


def _fig_lr(n: dict, cfg: Config):
    lrs = [float(v) for v in n["lrs"]]
    fig, ax = new_figure(3, 1, width=3.8, height=3.4)
    for j, b in enumerate([0, 1]):
        if b not in n["batchnorm"]:
            continue
        a_ = ax[0, j]
        for act in n["activations"]:
            key = f"{act}|bn{b}"
            m = np.array([n["dead"][key][f"{lr:g}"]["mean"] for lr in lrs])
            lo = np.array([n["dead"][key][f"{lr:g}"]["lo"] for lr in lrs])
            hi = np.array([n["dead"][key][f"{lr:g}"]["hi"] for lr in lrs])
            col = ACT_COLORS.get(act, "k")
            a_.errorbar(lrs, m, yerr=[m - np.clip(lo, 0, None), np.clip(hi, None, 1) - m], fmt="o-", color=col,
                        label=act, capsize=3)
            div = [lr for lr in lrs if n["diverged"][key][f"{lr:g}"]]
            if div:
                a_.plot(div, [n["dead"][key][f"{lr:g}"]["mean"] for lr in div], "x", color=col, ms=11, mew=2.5)
        a_.set(xscale="log", ylim=(-0.03, 1.03), xlabel="learning rate (SGD)", ylabel="dead fraction (mean of layers)",
               title="with BatchNorm" if b else "without BatchNorm")
    ax[0, 0].legend(fontsize=8)
    div = [f"{a} at lr {lr} ({n['diverged'][f'{a}|bn0'][lr]}/{n['seeds']} seeds)" for a in n["activations"]
           for lr in n["lrs"] if n["diverged"][f"{a}|bn0"][lr]]
    if div:
        ax[0, 0].text(0.02, 0.55, "x = diverged:\n" + "\n".join(div[:6]) + ("\n..." if len(div) > 6 else ""),
                      transform=ax[0, 0].transAxes, fontsize=7, va="top")
    a_ = ax[0, 2]
    for act in n["activations"]:
        for b, ls in ((0, "-"), (1, "--")):
            if b not in n["batchnorm"]:
                continue
            v = [n["test_acc"][f"{act}|bn{b}"][f"{lr:g}"] for lr in lrs]
            a_.plot(lrs, [x["mean"] if x else np.nan for x in v], "o" + ls, color=ACT_COLORS.get(act, "k"),
                    label=f"{act}{' + BN' if b else ''}")
    a_.set(xscale="log", ylim=(0, 1), xlabel="learning rate (SGD)", ylabel="test accuracy", title="accuracy")
    a_.legend(fontsize=7)
    return png(fig, "dead_vs_lr", f"Fraction of dead hidden units after {cfg.steps} SGD steps against the "
               "learning rate (error bars: 95 % interval over seeds; x: a run whose loss became non-finite, shown "
               "at its last finite checkpoint). Right: test accuracy of the runs that did not diverge (dashed: "
               "with BatchNorm). Dead = |f'(z)| <= " f"{cfg.dead_eps:g} on every training example.")


def _fig_training(g: dict, cfg: Config):
    fig, ax = new_figure(cfg.depth, 1, width=3.6, height=3.2, sharey=True)
    cmap = __import__("matplotlib").colormaps["plasma"]
    for i, lr in enumerate(cfg.lrs):
        rs = [r for r in g.get(("relu", 0, float(lr)), [])]
        if not rs:
            continue
        col = cmap(i / max(len(cfg.lrs) - 1, 1) * 0.85)
        for k in range(cfg.depth):
            for s, r in enumerate(rs):
                ckp = r["checkpoints"]
                ax[0, k].plot(ckp["step"], [d[k] for d in ckp["dead"]], "o-", ms=3, color=col, alpha=0.8,
                              label=f"lr {lr:g}" if s == 0 else None)
    for k in range(cfg.depth):
        ax[0, k].set(xlabel="SGD step", title=f"ReLU, hidden layer {k + 1}", ylim=(-0.03, 1.03))
    ax[0, 0].set_ylabel("dead fraction")
    ax[0, -1].legend(fontsize=8)
    return png(fig, "relu_dead_over_training", "ReLU without BatchNorm: dead fraction of each hidden layer at "
               "the checkpoints (one line per seed). A falling line means dead units came back to life.")


def verdict(numbers) -> Verdict:
    lrs = numbers["lrs"]
    d, div = numbers["dead"], numbers["diverged"]
    ok_lrs = [lr for lr in lrs if not div["relu|bn0"][lr]]
    if not ok_lrs:
        return Verdict(REFUTED, "ReLU diverged at every learning rate: nothing to measure.", "no run finished")
    small, large = ok_lrs[0], ok_lrs[-1]
    s, l_ = d["relu|bn0"][small], d["relu|bn0"][large]
    # every seed at the large rate has more dead units than every seed at the small one (a rank rule: with
    # two or three seeds a t-interval is too wide to separate anything)
    lr_causes = l_["mean"] >= 0.2 and min(l_.get("seeds", [l_["lo"]])) > max(s.get("seeds", [s["hi"]]))
    bn = d.get("relu|bn1", {}).get(large)
    bn_ok = bn is not None and bn["mean"] <= 0.05
    alts = [a for a in numbers["activations"] if a != "relu"]
    alt_dead = {a: max((d[f"{a}|bn0"][lr]["mean"] for lr in lrs if not div[f"{a}|bn0"][lr]), default=math.nan)
                for a in alts}
    alt_ok = all(v <= 0.05 for v in alt_dead.values() if not math.isnan(v))
    alt_div = {a: [lr for lr in lrs if div[f"{a}|bn0"][lr] and not div["relu|bn0"][lr]] for a in alts}
    fz = numbers["relu_frozen"]
    p1, s1 = fz["pairs"][0], fz["unchanged"][0]
    pd, sd = sum(fz["pairs"][1:]), sum(fz["unchanged"][1:])
    frozen = s1 / p1 if p1 else math.nan
    rev = numbers["relu_revived"]
    key = (f"ReLU dead fraction {fmt_ci(s, 2)} at lr {small} vs {fmt_ci(l_, 2)} at lr {large}"
           + (f"; with BatchNorm {bn['mean']:.2f}" if bn else "")
           + f"; layer-1 dead units frozen {s1}/{p1}; revivals per layer {rev}")
    text = (f"Definition: {numbers['definition']}. Without BatchNorm, ReLU's dead fraction (mean over layers) is "
            f"{fmt_ci(s, 2)} at lr {small} and {fmt_ci(l_, 2)} at lr {large}"
            + (f"; with BatchNorm at lr {large} it is {fmt_ci(bn, 2)}" if bn else "") + ". "
            f"A first-layer ReLU unit dead at two checkpoints had bit-identical incoming weights in {s1} of {p1} "
            f"cases (its input, the data, is fixed: dead on the whole training set means exactly zero gradient "
            f"forever). In the deeper layers it was {sd} of {pd}: their inputs keep changing, so a unit can come "
            f"back to life; dead-to-alive transitions between checkpoints per layer: {rev}. "
            + (f"Runs in which a whole ReLU layer ended dead (constant output, the network no longer sees its "
               f"input), per lr: {numbers['relu_net_dead']}. " if numbers.get("relu_net_dead") else "")
            + "Leaky ReLU / ELU / PReLU, at the rates where they train: largest dead fraction "
            + ", ".join(f"{a} {v:.2f}" for a, v in alt_dead.items()) + ".")
    dying_alts = {a: max((lr for lr in lrs if not div[f"{a}|bn0"][lr]), key=lambda lr: d[f"{a}|bn0"][lr]["mean"])
                  for a, v in alt_dead.items() if not math.isnan(v) and v > 0.05}
    if dying_alts:
        text += (" " + ", ".join(f"{a} (at lr {lr})" for a, lr in dying_alts.items()) + " units died too: a "
                 "saturating negative side (ELU: f' = alpha e^z) has a vanishing derivative when z is pushed far "
                 "below 0 on every example.")
    diverging = {a: v for a, v in alt_div.items() if v}
    if diverging:
        text += (" But " + "; ".join(f"{a} at lr " + ", ".join(f"{lr} ({div[f'{a}|bn0'][lr]}/{numbers['seeds']} seeds)"
                                                             for lr in v) for a, v in diverging.items())
                 + " diverged (non-finite loss) where ReLU kept training with dead units: the alternatives "
                 "remove dead units, not the harm of a too-large learning rate.")
    if not lr_causes:
        return Verdict(REFUTED, "A larger learning rate did not leave more dead ReLU units. " + text, key)
    caveats = bool(diverging) or not bn_ok or not alt_ok or any(rev) or not (frozen >= 0.999) or sd < pd
    if caveats:
        return Verdict(CAVEATS, text, key)
    return Verdict(CONFIRMED, text, key)


EXPERIMENT = register(
    name="dying_relu",
    number=6,
    tutorial="000",
    claim="ReLU units whose input turns negative for every example output 0 and stop learning (dying ReLU); "
    "large learning rates cause it; Leaky ReLU, ELU, PReLU, a lower learning rate and batch normalisation "
    "mitigate it.",
    korean="가중치 합이 음수가 되는 순간 ReLU는 0을 반환하기 때문에 해당 뉴런은 그 이후로 0만 반환하는 아무것도 변하지 "
    "않는 현상이 발생할 수 있다. ... 죽어가는 렐루(Dying ReLU) 현상 (000); 큰 기울기로 인해 가중치가 "
    "업데이트되어 뉴런이 "
    "항상 0을 출력하게 되는 현상입니다. 학습률 조정이나 배치 정규화로 완화할 수 있습니다. (004)",
    config=Config,
    run=run,
    verdict=verdict,
)
