"""Dying ReLU: large learning rates kill ReLU units; Leaky ReLU, ELU, PReLU, BatchNorm, lower rates prevent it (000-004)

What the tutorials say, read charitably. 000: once a unit's weighted sum turns negative it
returns 0 and "only 0 from then on, nothing changes" ("can happen"); a ReLU unit gets no
gradient where its input is negative, so read as *negative on every example*. 004: "large
gradients update the weights so that the neuron always outputs 0"; adjusting the learning
rate or batch normalisation mitigates it. The step a weight takes is the learning rate
times its gradient, so "large gradients" is tested as large learning rates (and the loss
spikes they cause are recorded, see the third panel of figure 1). 002 / 004 / 001: Leaky
ReLU solves (002) or mitigates (004) the "dead neuron, always outputs 0" problem; 003
names LeakyReLU, ELU and PReLU as the fixes.

Definitions. A hidden unit is *inactive* when its pre-activation z <= 0 on every one of
the training examples (evaluation mode, :func:`actlab.nn.diagnostics.dead_units`). For
ReLU that is exactly *dead*: output 0 and zero gradient on every example, so the weights
feeding it get no update while it stays so. A unit *died during training* when it was
active at initialisation and inactive at the end: units already dead at initialisation
are subtracted and reported apart. A unit *recovered* when it was active at
initialisation, inactive at some checkpoint before the end and active at the end.
Leaky ReLU, PReLU and ELU units have a non-zero slope below 0, so they cannot be dead by
the ReLU definition; they are judged by what the definition cannot give for free: whether
their inactive units come back (recovery) and whether the network is better for it
(held-out accuracy against ReLU at the same rate and seed). BatchNorm and a lower learning
rate are judged the same way.

Design. An MLP (784-64-64-64-10, He initialisation, biases 0, float32) is trained with plain
SGD (no momentum, no weight decay, batch 64, 2,000 steps) on an MNIST training subset (3,000
images, a different one per seed; also the probe set of the inactive test) at 9 learning
rates from 0.01 to 3, 5 seeds (the same seed: the same subset and initial weights at every
rate and for every activation). The inactive sets are recomputed at log-spaced checkpoints
(step 0, then 10 ... 2000), so a unit that dies in the first steps and comes back is seen.
A run whose loss becomes non-finite has *diverged*: it is stopped there, counted apart and
left out of the unit counts and the trend (nothing is left to count). A ReLU run in which
a whole layer is inactive on every training example has *collapsed*: no gradient passes
that layer any more, so the layers up to it are frozen for good and the output ignores the
input; it is stopped at that checkpoint and counted as it is. Then, at the two lowest
rates of the *dying range* (below), the mitigations are trained with the same seeds: Leaky
ReLU (slope 0.01), ELU, PReLU (slopes 0.25 at initialisation, learned) and ReLU with
BatchNorm; "a lower learning rate" is ReLU at the largest rate below the dying range. Both
stages run again at a neighbouring width (32) and depth (4), 3 seeds, mitigations at the
lowest rate of their own dying range: the robustness table.

Statistics. Proportions of units pool the unit counts over seeds and layers with Wilson
intervals (the units of one network die together in a loss spike, so these intervals are
optimistic; the trend test uses one number per run). Means over seeds have t intervals.
The trend is Kendall's tau and the Theil-Sen slope (per decade of learning rate) of the
per-run fraction of units that died against log10(lr), over the runs that did not diverge.

The rule, per setting. REFUTED when no rate left significantly (Wilson intervals apart) and
materially (at least 5 % of the units) more units dead than the smallest rate. Otherwise the
lr part is *monotone* when tau > 0 with p < 0.05, the slope's interval lies above 0 and there
is no *reversal*: two rates without a diverged run (elsewhere only survivors would be
compared) of which the larger lost significantly and materially fewer units. Else it is
*non-monotone*: it depends on the learning rate. Significant but smaller drops are
reported, not counted: 5 % is the size of a rise that counts, and of a fall. The *dying
range* is the rates at which ReLU lost significantly at least 5 % of its units. A
mitigation works at a rate when it diverged in no more runs than ReLU, its held-out
accuracy is not lower (the paired 95 % interval of the difference to ReLU is not entirely
below -0.01; a diverged run counts at chance, 0.1), and it lost significantly fewer units
for good or recovered significantly more of its inactive units. CONFIRMED when the lr part
is monotone, dead ReLU units stay dead (recovery not significantly above 5 %) and every
mitigation works at every rate tested; CAVEATS otherwise. The claim's verdict is the main
setting's; when a neighbour's verdict differs, it is CAVEATS and the text says what it
depends on.

Figure 1 (dead_vs_lr): the fraction of ReLU units that died against the learning rate
(Wilson bars; thin lines: the neighbouring width and depth; dotted: dead at initialisation,
which is subtracted), the held-out accuracy of ReLU and of the mitigations, and each run's
died fraction against its largest loss relative to its first: 004's mechanism, units
knocked out by large updates.
Figure 2 (relu_dead_over_training): each ReLU layer's died fraction over training, one line
per rate: whether units die in the first steps, slowly, or come back (a falling line).
Figure 3 (mitigations): at the rates tested, the units each mitigation lost for good, the
fraction of its inactive units that came back, and its accuracy minus ReLU's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import by, ci, new_figure, png, trend, wilson
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, activation_spec, register, setting

ARM_COLORS = {"relu": "#1f77b4", "leaky_relu": "#ff7f0e", "elu": "#2ca02c", "prelu": "#9467bd",
              "relu + BatchNorm": "#8c564b", "lower lr": "#7f7f7f"}
BN_ARM, LOWER_ARM = "relu + BatchNorm", "lower lr"
CHANCE = 0.1  # held-out accuracy a diverged run is counted at (10 MNIST classes)
SPIKE = 2.0  # a run's loss spiked when its largest loss exceeded this multiple of its first
RATIO_CLIP = 1e4  # figure 1 draws larger loss ratios (up to 1e30 before an overflow) at this value


@dataclass
class Config:
    seeds: int = 5
    # relu is always run (the baseline); the others are tested as mitigations
    activations: tuple[str, ...] = setting(("relu", "leaky_relu", "elu", "prelu"), check=activation_spec)
    lrs: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 0.6, 1.0, 1.5, 2.0, 3.0)
    # 0: ReLU without BatchNorm (the baseline, always run); 1: ReLU with BatchNorm tested as a mitigation
    batchnorm: tuple[int, ...] = setting((0, 1), low=0, high=1)
    width: int = 64
    depth: int = 3
    train_examples: int = 3000  # MNIST training subset per seed; also the probe set of the inactive test
    test_examples: int = 2000
    steps: int = 2000
    batch: int = 64
    checkpoints: int = 8  # log-spaced from step 10 to the end, plus step 0
    material: float = setting(0.05, low=0, high=1, low_open=True)  # units lost in bulk: at least this fraction
    acc_margin: float = setting(0.01, low=0, high=1)  # an accuracy this much lower is worse
    max_mitigation_lrs: int = 2  # mitigations at (at most) this many of the lowest rates of the dying range
    # the neighbouring settings of the robustness table (a value equal to width / depth adds nothing)
    robust_widths: tuple[int, ...] = (32,)
    robust_depths: tuple[int, ...] = (4,)
    robust_seeds: int = 3
    robust_mitigation_lrs: int = 1  # mitigations at the neighbours: at this many of their lowest dying rates
    QUICK: ClassVar[dict] = {"seeds": 2, "lrs": (0.01, 0.1, 0.3, 1.0, 3.0), "depth": 2, "steps": 250,
                             "train_examples": 1000, "test_examples": 500, "checkpoints": 5, "max_mitigation_lrs": 1,
                             "robust_depths": (3,), "robust_seeds": 1}
    FULL: ClassVar[dict] = {"seeds": 8, "steps": 3000, "train_examples": 6000, "checkpoints": 12,
                            "max_mitigation_lrs": 3, "robust_seeds": 5, "robust_mitigation_lrs": 2}
    #: the settings next door, where the verdict must hold too (framework.robustness); the run itself already
    #: repeats its rule at robust_widths and robust_depths, this reruns the whole experiment there
    NEIGHBOURS: ClassVar[dict] = {"width": (32, 128), "depth": (2, 4)}


# ----------------------------------------------------------------------------- one run

def _data(c: dict):
    from ... import data

    X, y = data.load_mnist(split="train")
    idx = np.random.default_rng([c["seed"], 6]).choice(len(X), c["train_examples"], replace=False)
    Xt, yt = data.load_mnist(split="test")
    return np.asarray(X[idx]), y[idx], np.asarray(Xt[:c["test_examples"]]), yt[:c["test_examples"]]


def checkpoint_steps(steps: int, k: int) -> list[int]:
    """Step 0, then ``k`` log-spaced steps from 10 (or ``steps``) to ``steps``: deaths in a
    loss spike happen in the first tens of steps, slow ones later."""
    first = min(10, steps)
    return [0, *np.unique(np.round(np.geomspace(first, steps, k)).astype(int)).tolist()]


def build(c: dict):
    """The untrained model of cell ``c`` (the same weights for the same seed)."""
    from ... import nn

    return nn.mlp([784, *[c["width"]] * c["depth"], 10], activation=c["act"], batchnorm=bool(c["bn"]),
                  seed=c["seed"])


def train(c: dict, callback=None):
    """Train the model of cell ``c`` as the cell does: (model, History)."""
    from ... import nn

    X, y, _, _ = _data(c)
    model = build(c)
    if callback is not None:
        callback(0, model, math.nan)
    hist = nn.fit(model, X, y, lr=c["lr"], batch_size=c["batch"], epochs=10**6, max_steps=c["steps"],
                  seed=c["seed"], callback=callback, progress=False)
    return model, hist


def unit_counts(masks: list[list[np.ndarray]]) -> dict:
    """Per-layer unit counts from the inactive masks at the checkpoints (``masks[0]`` at
    initialisation, ``masks[-1]`` at the end, one boolean array per layer): units,
    dead at initialisation, died (active at initialisation, inactive at the end), ever
    inactive before the end (after initialisation), recovered (of those, active at the end),
    and dead at initialisation but active at the end."""
    init, end, between = masks[0], masks[-1], masks[1:-1]
    out: dict = {k: [] for k in ("units", "init_dead", "died", "ever", "recovered", "init_revived")}
    for k in range(len(init)):
        alive0 = ~init[k]
        ever = alive0 & np.any([m[k] for m in between], axis=0) if between else np.zeros_like(alive0)
        for key, v in (("units", np.ones_like(alive0)), ("init_dead", init[k]), ("died", alive0 & end[k]),
                       ("ever", ever), ("recovered", ever & ~end[k]), ("init_revived", init[k] & ~end[k])):
            out[key].append(int(v.sum()))
    return out


def cell(c: dict) -> dict:
    """Train one network, recomputing its inactive units on the training subset at the checkpoints."""
    from ... import nn
    from ...nn import diagnostics

    X, _, Xt, yt = _data(c)
    marks = set(checkpoint_steps(c["steps"], c["checkpoints"]))
    masks: list[tuple[int, list[np.ndarray]]] = []

    frozen_when_collapsed = c["act"] == "relu" and not c["bn"]
    # units inactive at two consecutive checkpoints, and of those, the ones whose incoming weights (W column and
    # bias) did not change by a single bit in between: did they stop learning?
    frozen = {"pairs": [0] * c["depth"], "unchanged": [0] * c["depth"]}
    weights: list = []

    def callback(step, m, loss):
        if step in marks:
            masks.append((step, [r.inactive.copy() for r in diagnostics.dead_units(m, X)]))
            w = [np.vstack([d.W, d.b[None]]).copy() for d in m.dense_layers[:-1]]
            if weights:
                for k, (a, b) in enumerate(zip(masks[-2][1], masks[-1][1])):
                    both = a & b
                    frozen["pairs"][k] += int(both.sum())
                    frozen["unchanged"][k] += int((both & np.all(weights[-1][k] == w[k], axis=0)).sum())
            weights[:] = [w]
            # a ReLU layer inactive on every training example passes no gradient down: the layers up to it are
            # frozen for good and the output ignores the input, so the rest of the run would change nothing below
            return frozen_when_collapsed and step > 0 and any(k.all() for k in masks[-1][1])
        return None

    model, hist = train(c, callback)
    losses = np.asarray(hist.step_loss, dtype=float)
    diverged = hist.stopped is not None and "loss is" in hist.stopped
    finite = losses[np.isfinite(losses)]
    out = {"diverged": diverged, "steps_run": int(np.isfinite(losses).sum()), "stopped": hist.stopped,
           "first_loss": float(losses[0]) if losses.size else math.nan,
           "max_loss": float(finite.max()) if finite.size else math.nan}
    if diverged:  # nothing left to count: the run is reported apart
        return out | {"test_acc": math.nan}
    stats = unit_counts([m for _, m in masks])
    init, end = masks[0][1], masks[-1][1]
    series = {"step": [s for s, _ in masks],
              "died": [[float(((~init[k]) & m[k]).sum() / max((~init[k]).sum(), 1)) for k in range(c["depth"])]
                       for _, m in masks]}
    return out | stats | {
        "frozen_pairs": frozen["pairs"], "frozen_unchanged": frozen["unchanged"],
        "test_acc": nn.evaluate(model, Xt, yt)["acc"],
        "final_loss": float(np.mean(losses[-100:])),
        "collapsed": bool(any(e.all() for e in end)),  # a whole layer inactive: the output ignores the input
        "init_dead_units": [np.flatnonzero(m).tolist() for m in init],
        "end_dead_units": [np.flatnonzero(m).tolist() for m in end],
        "series": series,
    }


# ----------------------------------------------------------------------------- reduction

def _prop(k: int, n: int) -> dict:
    """k / n with its Wilson interval; just the counts when n is 0 (no NaN in the numbers)."""
    return wilson(k, n) if n else {"k": 0, "n": 0}


def _alive(r: dict) -> int:
    return sum(r["units"]) - sum(r["init_dead"])


def _died(rows: list[dict]) -> dict:
    """Units that died over units alive at initialisation, pooled over runs and layers."""
    return _prop(sum(sum(r["died"]) for r in rows), sum(_alive(r) for r in rows))


def _died_frac(r: dict) -> float:
    return sum(r["died"]) / _alive(r) if _alive(r) else 0.0


def _acc(r: dict) -> float:
    return CHANCE if r["diverged"] else float(r["test_acc"])


def _stats(rows: list[dict], depth: int) -> dict:
    """The numbers of one (setting, arm, lr): rows are its runs, one per seed, in seed order."""
    ok = [r for r in rows if not r["diverged"]]
    out = {"runs": len(rows), "diverged": len(rows) - len(ok), "collapsed": sum(r["collapsed"] for r in ok),
           "acc_seeds": [_acc(r) for r in rows],
           "test_acc": ci([r["test_acc"] for r in ok]) if ok else None}
    if ok:
        out |= {"init_dead": _prop(sum(sum(r["init_dead"]) for r in ok), sum(sum(r["units"]) for r in ok)),
                "died": _died(ok), "died_seeds": [_died_frac(r) for r in ok],
                "died_mean": ci([_died_frac(r) for r in ok]),
                "died_per_layer": [_prop(sum(r["died"][k] for r in ok),
                                         sum(r["units"][k] - r["init_dead"][k] for r in ok)) for k in range(depth)],
                "recovered": _prop(sum(sum(r["recovered"]) for r in ok), sum(sum(r["ever"]) for r in ok)),
                "recovered_per_layer": [_prop(sum(r["recovered"][k] for r in ok), sum(r["ever"][k] for r in ok))
                                        for k in range(depth)],
                "frozen_per_layer": [_prop(sum(r["frozen_unchanged"][k] for r in ok),
                                           sum(r["frozen_pairs"][k] for r in ok)) for k in range(depth)]}
    return out


def _paired(arm: list[float], ref: list[float]) -> dict:
    """Mean difference arm - ref over seeds (same seed: same data subset and initial weights)."""
    return ci([a - b for a, b in zip(arm, ref)])


def lr_part(relu: dict, lrs: list[str], material: float) -> dict:
    """Do ReLU units die more at larger rates? From the per-lr numbers of one setting."""
    ok = [lr for lr in lrs if relu[lr].get("died", {}).get("n")]
    if not ok:
        return {"outcome": "no runs", "ok": [], "above_smallest": [], "dying": [], "reversals": [], "dips": [],
                "trend": None, "safe": None}
    d = {lr: relu[lr]["died"] for lr in ok}
    above = [lr for lr in ok[1:] if d[lr]["lo"] > d[ok[0]]["hi"] and d[lr]["mean"] >= material]
    dying = [lr for lr in ok if d[lr]["lo"] >= material]
    # significantly fewer deaths at the larger of two rates (Wilson intervals apart), largest drop first; where some
    # runs diverged only the survivors would be compared, so rates with a diverged run are left out
    calm = [lr for lr in ok if not relu[lr]["diverged"]]
    fewer = sorted(([a, b] for i, a in enumerate(calm) for b in calm[i + 1:] if d[b]["hi"] < d[a]["lo"]),
                   key=lambda p: d[p[1]]["mean"] - d[p[0]]["mean"])
    reversals = [p for p in fewer if d[p[0]]["mean"] - d[p[1]]["mean"] >= material]
    dips = [p for p in fewer if p not in reversals]  # significant but smaller than `material`: reported only
    t = trend([float(lr) for lr in ok], [relu[lr]["died_seeds"] for lr in ok]) if len(ok) > 1 else None
    if not above:
        outcome = "none"
    elif t and t["tau"] > 0 and t["p"] < 0.05 and t["slope_lo"] > 0 and not reversals:
        outcome = "monotone"
    else:
        outcome = "non-monotone"
    below = [lr for lr in ok if dying and float(lr) < float(dying[0])]
    return {"outcome": outcome, "ok": ok, "above_smallest": above, "dying": dying, "reversals": reversals,
            "dips": dips, "trend": t, "safe": below[-1] if below else None}


def arm_outcome(relu: dict, arm: dict, margin: float) -> str:
    """'works', or why not, for one mitigation against ReLU at one learning rate."""
    if arm["diverged"] > relu["diverged"]:
        return f"diverged in {arm['diverged']}/{arm['runs']} runs (ReLU {relu['diverged']}/{relu['runs']})"
    if arm["acc_diff"]["hi"] < -margin:
        return f"lower accuracy ({arm['acc_diff']['mean']:+.3f})"
    if not arm.get("died", {}).get("n") or not relu.get("died", {}).get("n"):
        return "nothing to compare"
    fewer = arm["died"]["hi"] < relu["died"]["lo"]
    rec, rrec = arm["recovered"], relu["recovered"]
    more_back = rec["n"] > 0 and (rrec["n"] == 0 or rec["lo"] > rrec["hi"])
    return "works" if fewer or more_back else "no fewer units lost"


def assess(block: dict, material: float, margin: float) -> dict:
    """The rule applied to one setting (the main one or a neighbour): its parts and its verdict."""
    relu = block["relu"]
    part = lr_part(relu, block["lrs"], material)
    recovery = _prop(sum(relu[lr]["recovered"]["k"] for lr in part["ok"]),
                     sum(relu[lr]["recovered"]["n"] for lr in part["ok"]))
    arms = {}
    for name, per_lr in block["arms"].items():
        res = {lr: arm_outcome(relu[lr], v, margin) for lr, v in per_lr.items()}
        good = [lr for lr, o in res.items() if o == "works"]
        arms[name] = {"at": res, "outcome": ("not tested" if not res else "works" if len(good) == len(res)
                                             else "partly" if good else "fails")}
    why = []
    if part["outcome"] in ("none", "no runs"):
        v = REFUTED
    else:
        if part["outcome"] == "non-monotone":
            why.append("lr")
        if recovery["n"] and recovery["lo"] > material:
            why.append("recovery")
        if not arms:
            why.append("untested")
        why += [f"arm:{a}" for a, r in arms.items() if r["outcome"] != "works"]
        v = CAVEATS if why else CONFIRMED
    return {"verdict": v, "lr": part, "recovery": recovery, "arms": arms, "why": why}


def run(cfg: Config, runner) -> Outcome:
    lrs = sorted(set(float(v) for v in cfg.lrs))
    keys = [f"{lr:g}" for lr in lrs]
    alts = [a for a in dict.fromkeys(cfg.activations) if a != "relu"]
    settings = [("main", cfg.width, cfg.depth, cfg.seeds)]
    settings += [(f"width {w}", w, cfg.depth, cfg.robust_seeds) for w in dict.fromkeys(cfg.robust_widths)
                 if w != cfg.width]
    settings += [(f"depth {d}", cfg.width, d, cfg.robust_seeds) for d in dict.fromkeys(cfg.robust_depths)
                 if d != cfg.depth]
    common = {"train_examples": cfg.train_examples, "test_examples": cfg.test_examples, "steps": cfg.steps,
              "batch": cfg.batch, "checkpoints": cfg.checkpoints}

    def cells_of(label, width, depth, seeds, act, bn, lr_list):
        return [dict(common, setting=label, width=width, depth=depth, act=act, bn=bn, lr=lr, seed=s)
                for lr in lr_list for s in range(seeds)]

    # stage 1: ReLU at every rate, in every setting
    stage1 = [c for lab, w, d, s in settings for c in cells_of(lab, w, d, s, "relu", 0, lrs)]
    rows = [dict(c, **r) for c, r in zip(stage1, runner.map(cell, stage1, desc="dying ReLU: lr grid"))]
    blocks = {}
    for lab, w, d, s in settings:
        g = by([r for r in rows if r["setting"] == lab], "lr")
        blocks[lab] = {"width": w, "depth": d, "seeds": s, "lrs": keys,
                       "relu": {f"{lr:g}": _stats(g[lr], d) for lr in lrs}}
    # stage 2: the mitigations at the lowest rates of each setting's dying range
    tested, stage2 = {}, []
    for lab, w, d, s in settings:
        part = lr_part(blocks[lab]["relu"], keys, cfg.material)
        most = cfg.max_mitigation_lrs if lab == "main" else cfg.robust_mitigation_lrs
        tested[lab] = [float(lr) for lr in part["dying"][:most]]
        for a in alts:
            stage2 += cells_of(lab, w, d, s, a, 0, tested[lab])
        if 1 in cfg.batchnorm:
            stage2 += cells_of(lab, w, d, s, "relu", 1, tested[lab])
    rows2 = [dict(c, **r) for c, r in zip(stage2, runner.map(cell, stage2, desc="dying ReLU: mitigations"))]
    for lab, _, d, _ in settings:
        g = by([r for r in rows2 if r["setting"] == lab], "act", "bn", "lr")
        relu = blocks[lab]["relu"]
        arms = {}
        names = [(a, a, 0) for a in alts] + ([(BN_ARM, "relu", 1)] if 1 in cfg.batchnorm else [])
        for name, act, bn in names:
            arms[name] = {}
            for lr in tested[lab]:
                st = _stats(g[(act, bn, lr)], d)
                arms[name][f"{lr:g}"] = st | {"acc_diff": _paired(st["acc_seeds"], relu[f"{lr:g}"]["acc_seeds"])}
        safe = lr_part(relu, keys, cfg.material)["safe"]
        if tested[lab]:  # empty (not tested) when the dying range starts at the smallest rate of the grid
            arms[LOWER_ARM] = {} if safe is None else {f"{lr:g}": relu[safe] | {"lr": safe, "acc_diff": _paired(
                relu[safe]["acc_seeds"], relu[f"{lr:g}"]["acc_seeds"])} for lr in tested[lab]}
        blocks[lab]["arms"] = arms
    ok = [r for r in rows if r["setting"] == "main" and not r["diverged"]]
    spiked = [r for r in ok if r["max_loss"] > SPIKE * r["first_loss"]]
    calm = [r for r in ok if r["max_loss"] <= SPIKE * r["first_loss"]]
    neighbours = ", ".join(f"{lab} ({s} seeds)" for lab, _, _, s in settings[1:]) or "none"
    tested_under = (f"MLP 784-{'-'.join([str(cfg.width)] * cfg.depth)}-10 (He init, biases 0, float32), plain SGD "
                    f"(batch {cfg.batch}, {cfg.steps} steps, no momentum) on {cfg.train_examples} MNIST training "
                    f"images (a subset per seed), lrs {', '.join(keys)}, {cfg.seeds} seeds; held-out accuracy on "
                    f"{cfg.test_examples} test images; neighbouring settings: {neighbours}")
    numbers = {
        "definition": ("inactive: pre-activation z <= 0 on every training example (for ReLU: dead, output 0 and no "
                       "gradient); died: active at initialisation, inactive at the end; recovered: active at "
                       "initialisation, inactive at a checkpoint before the end, active at the end"),
        "tested_under": tested_under, "material": cfg.material, "acc_margin": cfg.acc_margin,
        "settings": blocks,
        # 004's mechanism: do units die in the runs whose loss spiked (largest loss > SPIKE x the first)?
        "mechanism": {"died_in_spiked_runs": _died(spiked), "died_in_calm_runs": _died(calm),
                      "spiked_runs": len(spiked), "calm_runs": len(calm)},
    }
    numbers["robustness"] = robustness_table(numbers)
    arm_names = ", ".join(alts + ([BN_ARM] if 1 in cfg.batchnorm else []) + [LOWER_ARM])
    settings_text = (f"{tested_under}. Mitigations ({arm_names}) at the lowest {cfg.max_mitigation_lrs} rates (at the "
                     f"neighbours {cfg.robust_mitigation_lrs}) where ReLU lost significantly at least "
                     f"{cfg.material:.0%} of its units. A run whose loss became non-finite (diverged) is stopped, "
                     "counted apart and left out of the unit counts and the trend; a ReLU run in which a whole layer "
                     f"died is stopped there (nothing below it can change any more). {numbers['definition']}.")
    raw = {"runs": [{k: v for k, v in r.items() if k != "series"} for r in rows + rows2],
           "series": [{"setting": r["setting"], "lr": r["lr"], "seed": r["seed"], **r.get("series", {})}
                      for r in rows]}
    figs = [_fig_lr(numbers, rows, cfg), _fig_training(rows, cfg), _fig_mitigations(numbers)]
    return Outcome(numbers=numbers, raw=raw, figures=figs, settings=settings_text)


def _frac(r: dict | None) -> str:
    return "-" if not r or not r["n"] else f"{r['mean']:.3f} ({r['k']}/{r['n']})"


def robustness_table(numbers) -> dict:
    """One row per setting: the parts of the rule and its verdict there."""
    out = {}
    for lab, b in numbers["settings"].items():
        a = assess(b, numbers["material"], numbers["acc_margin"])
        t, ok = a["lr"]["trend"], a["lr"]["ok"]
        peak = max(ok, key=lambda lr: b["relu"][lr]["died"]["mean"], default=None)
        out[lab] = {
            "width x depth": f"{b['width']} x {b['depth']}", "seeds": b["seeds"], "verdict": a["verdict"],
            "lr part": a["lr"]["outcome"],
            "trend": "-" if t is None else f"tau {t['tau']:+.2f} (p {t['p']:.2g}), slope {t['slope']:+.3f}/decade",
            "died at smallest lr": "-" if not ok else f"{_frac(b['relu'][ok[0]]['died'])} at lr {ok[0]}",
            "died at peak": "-" if peak is None else f"{_frac(b['relu'][peak]['died'])} at lr {peak}",
            "reversals": ", ".join(f"{x}->{y}" for x, y in a["lr"]["reversals"]) or "none",
            "dying range": ", ".join(a["lr"]["dying"]) or "none",
            "diverged at": ", ".join(f"{lr} ({v['diverged']}/{v['runs']})" for lr, v in b["relu"].items()
                                     if v["diverged"]) or "none",
            "dead units recovered": _frac(a["recovery"]),
        } | {arm: r["outcome"] for arm, r in a["arms"].items()}
    return out


# ----------------------------------------------------------------------------- figures

def _bars(ax, x, rs, **kw):
    m = np.array([r["mean"] for r in rs])
    ax.errorbar(x, m, yerr=[m - np.array([r["lo"] for r in rs]), np.array([r["hi"] for r in rs]) - m], capsize=3,
                **kw)


def _fig_lr(n: dict, rows: list[dict], cfg: Config):
    from matplotlib import colormaps

    fig, ax = new_figure(3, 1, width=4.0, height=3.5)
    a0 = ax[0, 0]
    for lab, b in n["settings"].items():
        main = lab == "main"
        ok = [lr for lr in b["lrs"] if b["relu"][lr].get("died", {}).get("n")]
        if ok:
            _bars(a0, [float(lr) for lr in ok], [b["relu"][lr]["died"] for lr in ok], fmt="o-" if main else ".--",
                  lw=2 if main else 1, color=ARM_COLORS["relu"] if main else None,
                  label=f"{b['width']} x {b['depth']}, {b['seeds']} seeds" + (" (main)" if main else ""))
        if main and ok:
            a0.plot([float(lr) for lr in ok], [b["relu"][lr]["init_dead"]["mean"] for lr in ok], ":", color="grey",
                    label="dead at initialisation (main)")
    div = [f"lr {lr}: {v['diverged']}/{v['runs']}" for lr, v in n["settings"]["main"]["relu"].items() if v["diverged"]]
    if div:
        a0.text(0.03, 0.97, "diverged (main, left out):\n" + "\n".join(div), transform=a0.transAxes, fontsize=7,
                va="top", color="#d62728")
    a0.set(xscale="log", ylim=(-0.03, 1.03), xlabel="learning rate (SGD)",
           ylabel="ReLU units that died in training", title="ReLU: units lost vs learning rate")
    a0.legend(fontsize=7, loc="center left")
    a1 = ax[0, 1]
    b = n["settings"]["main"]
    ok = [lr for lr in b["lrs"] if b["relu"][lr]["test_acc"]]
    a1.plot([float(lr) for lr in ok], [b["relu"][lr]["test_acc"]["mean"] for lr in ok], "o-", color=ARM_COLORS["relu"],
            label="relu (runs that did not diverge)")
    for arm, per in b["arms"].items():
        if arm == LOWER_ARM or not per:
            continue
        col = ARM_COLORS.get(arm, "k")
        a1.plot([float(lr) for lr in per], [float(np.mean(v["acc_seeds"])) for v in per.values()], "s", color=col,
                ms=7, alpha=0.8, label=arm)
    a1.set(xscale="log", ylim=(0, 1), xlabel="learning rate (SGD)", ylabel="held-out accuracy (mean over seeds)",
           title="accuracy (squares: a diverged run at chance)")
    a1.legend(fontsize=6, loc="lower left")
    a2 = ax[0, 2]
    cmap = colormaps["plasma"]
    lrs = sorted({r["lr"] for r in rows})
    shown = set()
    for r in rows:
        if r["setting"] != "main" or r["diverged"]:
            continue
        i = lrs.index(r["lr"])
        a2.scatter(min(r["max_loss"] / r["first_loss"], RATIO_CLIP), _died_frac(r), s=18,
                   color=cmap(i / max(len(lrs) - 1, 1) * 0.85), label=None if r["lr"] in shown else f"lr {r['lr']:g}")
        shown.add(r["lr"])
    a2.axvline(SPIKE, color="grey", lw=0.8, ls=":")
    a2.set(xscale="log", ylim=(-0.03, 1.03), xlim=(0.8, RATIO_CLIP * 2), xlabel="largest loss / first loss",
           ylabel="units that died", title="units that died vs loss spikes")
    a2.legend(fontsize=6, loc="center right")
    return png(fig, "dead_vs_lr", f"Left: fraction of ReLU units alive at initialisation and inactive (output 0 on "
               f"every training example) after {cfg.steps} SGD steps, against the learning rate; units pooled over "
               "seeds and layers, Wilson 95 % bars; runs whose loss became non-finite (diverged) are left out. Thin "
               "lines: the neighbouring width and depth. Middle: held-out accuracy of ReLU and of the mitigations at "
               "the rates where ReLU lost units (a diverged run counted at chance, 0.1). Right: each run's fraction "
               f"of units that died against its largest loss relative to its first (dotted: {SPIKE:g}x, a spike; "
               f"ratios above {RATIO_CLIP:g} drawn at {RATIO_CLIP:g}).")


def _fig_training(rows: list[dict], cfg: Config):
    from matplotlib import colormaps

    fig, ax = new_figure(cfg.depth, 1, width=3.6, height=3.2, sharey=True)
    cmap = colormaps["plasma"]
    lrs = sorted({r["lr"] for r in rows})
    g = by([r for r in rows if r["setting"] == "main" and not r["diverged"]], "lr")
    steps = checkpoint_steps(cfg.steps, cfg.checkpoints)
    for i, lr in enumerate(lrs):
        rs = g.get(lr, [])
        if not rs:
            continue
        # a run stopped when a layer collapsed keeps its last counts (the layers up to it are frozen)
        died = [r["series"]["died"] + [r["series"]["died"][-1]] * (len(steps) - len(r["series"]["died"])) for r in rs]
        for k in range(cfg.depth):
            mean = np.mean([[d[k] for d in run_] for run_ in died], axis=0)
            ax[0, k].plot(np.maximum(steps, 1), mean, "o-", ms=3, color=cmap(i / max(len(lrs) - 1, 1) * 0.85),
                          label=f"lr {lr:g} ({len(rs)} runs)")
    for k in range(cfg.depth):
        ax[0, k].set(xscale="log", xlabel="SGD step (step 0 drawn at 1)", title=f"ReLU, hidden layer {k + 1}",
                     ylim=(-0.03, 1.03))
    ax[0, 0].set_ylabel("units that died (mean over seeds)")
    ax[0, -1].legend(fontsize=7)
    return png(fig, "relu_dead_over_training", "ReLU without BatchNorm: fraction of each hidden layer's units that "
               "were active at initialisation and are inactive at the checkpoint, mean over the runs that did not "
               "diverge (a run stopped when a whole layer died keeps its last counts). A falling line means units "
               "came back.")


def _fig_mitigations(n: dict):
    from matplotlib.patches import Patch

    b = n["settings"]["main"]
    arms = [a for a, per in b["arms"].items() if per]
    lrs = list(dict.fromkeys(lr for a in arms for lr in b["arms"][a]))
    fig, ax = new_figure(3, 1, width=4.0, height=3.4)
    width = 0.8 / (len(arms) + 1)
    for j, lr in enumerate(lrs):
        entries = [("relu", b["relu"][lr], None)] + [(a, b["arms"][a][lr], b["arms"][a][lr]["acc_diff"]) for a in arms]
        for i, (name, v, diff) in enumerate(entries):
            x = j + (i - len(entries) / 2 + 0.5) * width
            col = ARM_COLORS.get(name, "k")
            for a_, key in ((ax[0, 0], "died"), (ax[0, 1], "recovered")):
                r = v.get(key)
                if r is None:  # every run diverged
                    a_.plot(x, 0, "x", color=col, ms=8, mew=2)
                elif not r["n"]:  # no unit to count (no inactive unit to recover)
                    a_.plot(x, 0, "o", color=col, ms=5, mfc="none")
                else:
                    a_.bar(x, r["mean"], width, color=col)
                    a_.errorbar(x, r["mean"], yerr=[[r["mean"] - r["lo"]], [r["hi"] - r["mean"]]], color="k",
                                capsize=2)
            if diff is not None:  # a difference of accuracies lies in [-1, 1]: the drawn bar is clipped to it
                lo, hi = max(diff["lo"], -1.0), min(diff["hi"], 1.0)
                ax[0, 2].bar(x, diff["mean"], width, color=col)
                ax[0, 2].errorbar(x, diff["mean"], yerr=[[diff["mean"] - lo], [hi - diff["mean"]]], color="k",
                                  capsize=2)
    for a_, t, yl in ((ax[0, 0], "units lost for good", "died (active at init, inactive at end)"),
                      (ax[0, 1], "inactive units that came back", "recovered fraction"),
                      (ax[0, 2], "held-out accuracy minus ReLU's", "paired difference (same seed)")):
        a_.set(xticks=range(len(lrs)), xticklabels=[f"lr {lr}" for lr in lrs], title=t, ylabel=yl)
    ax[0, 2].axhline(0, color="k", lw=0.8)
    ax[0, 0].legend(handles=[Patch(color=ARM_COLORS.get(a, "k"), label=a) for a in ["relu", *arms]], fontsize=7)
    return png(fig, "mitigations", "The mitigations at the rates where ReLU lost units (same seeds; 'lower lr' is "
               "ReLU at the largest rate below that range). Left and middle: unit counts pooled over seeds and "
               "layers, Wilson 95 % bars; x: every run diverged, nothing to count; o: no unit to count. Right: "
               "held-out accuracy minus ReLU's at the same rate and seed, 95 % t interval drawn within [-1, 1] (a "
               "diverged run counts at chance, 0.1).")


# ----------------------------------------------------------------------------- verdict

def _w(r: dict) -> str:
    if not r["n"]:
        return "0/0"
    return f"{r['mean']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}] ({r['k']}/{r['n']})"


def _drops(pairs: list, d: dict) -> str:
    return ", ".join(f"lr {a} -> {c} ({d[a]['died']['mean']:.3f} -> {d[c]['died']['mean']:.3f})" for a, c in pairs[:3])


def _arm_text(name: str, res: dict, per_lr: dict, relu: dict) -> str:
    if not res["at"]:
        return f"{name}: not tested (the dying range starts at the smallest rate of the grid)"
    parts = []
    for lr, o in res["at"].items():
        v, acc = per_lr[lr], per_lr[lr]["acc_diff"]
        at = f"lr {lr}" + (f" (ReLU at {v['lr']} instead)" if name == LOWER_ARM else "")
        units = "" if not v.get("died") else (f"; lost {_frac(v['died'])} vs ReLU {_frac(relu[lr]['died'])}, "
                                              f"recovered {_frac(v['recovered'])} vs {_frac(relu[lr]['recovered'])}")
        parts.append(f"{at}: {o} (accuracy {acc['mean']:+.3f} [{acc['lo']:+.3f}, {acc['hi']:+.3f}]{units})")
    return f"{name} {res['outcome']}: " + "; ".join(parts)


def _differences(main: dict, other: dict) -> dict:
    """The parts of the rule whose outcome differs at a neighbour: {part: (there, here)}."""
    out = {}
    if other["lr"]["outcome"] != main["lr"]["outcome"]:
        out["lr part"] = (other["lr"]["outcome"], main["lr"]["outcome"])
    back = ("recovery" in other["why"], "recovery" in main["why"])
    if back[0] != back[1]:
        out["dead units coming back"] = tuple("significant" if b else "not significant" for b in back)
    for arm, r in other["arms"].items():
        if arm in main["arms"] and r["outcome"] != main["arms"][arm]["outcome"]:
            out[arm] = (r["outcome"], main["arms"][arm]["outcome"])
    return out


def verdict(numbers) -> Verdict:
    material, margin = numbers["material"], numbers["acc_margin"]
    blocks = numbers["settings"]
    b = blocks["main"]
    main, relu = assess(b, material, margin), b["relu"]
    part = main["lr"]
    under = f"Tested under: {numbers['tested_under']}."
    others = {lab: assess(blk, material, margin) for lab, blk in blocks.items() if lab != "main"}
    flips = [lab for lab, a in others.items() if a["verdict"] != main["verdict"]]
    differ = {lab: _differences(main, a) for lab, a in others.items()}
    robust = ("; ".join(f"{lab} ({blocks[lab]['seeds']} seeds) {a['verdict']} (lr part {a['lr']['outcome']}, dying "
                        f"range {', '.join(a['lr']['dying']) or 'none'}"
                        + "".join(f", {x} {r['outcome']}" for x, r in a["arms"].items()) + ")"
                        for lab, a in others.items()))
    if part["outcome"] == "no runs":
        return Verdict(REFUTED if not flips else CAVEATS, f"ReLU diverged at every learning rate: nothing to measure. "
                       f"{under}" + (f" Robustness: {robust}." if others else ""), "no ReLU run finished")
    ok = part["ok"]
    lo_lr, peak = ok[0], max(ok, key=lambda lr: relu[lr]["died"]["mean"])
    div = ", ".join(f"{lr} ({v['diverged']}/{v['runs']})" for lr, v in relu.items() if v["diverged"]) or "none"
    t, rec = part["trend"], main["recovery"]
    trend_txt = ("one rate only" if t is None else f"Kendall tau {t['tau']:+.2f} (p = {t['p']:.2g}), Theil-Sen "
                 f"slope {t['slope']:+.3f} [{t['slope_lo']:+.3f}, {t['slope_hi']:+.3f}] per decade of lr "
                 f"(n = {t['n']} runs)")
    key = (f"ReLU units that died: {relu[lo_lr]['died']['mean']:.3f} at lr {lo_lr}, {relu[peak]['died']['mean']:.3f} "
           f"at lr {peak}; lr part {part['outcome']}"
           + ("" if t is None else f" (tau {t['tau']:+.2f}, p {t['p']:.2g})")
           + (f"; dead units back {rec['mean']:.2f}" if rec["n"] else "") + "; "
           + "; ".join(f"{a} {r['outcome']}" for a, r in main["arms"].items())
           + ("" if not others else "; verdict depends on " + ", ".join(flips) if flips else
              "; same verdict at " + ", ".join(others))
           + ("; parts differ at " + ", ".join(f"{lab} ({', '.join(d)})" for lab, d in differ.items() if d)
              if any(differ.values()) else ""))
    init = relu[lo_lr]["init_dead"]
    text = [under, f"Definitions: {numbers['definition']}.",
            "ReLU units that died (of those alive at initialisation, pooled over seeds and layers, Wilson 95 %): "
            + ", ".join(f"lr {lr} {_w(relu[lr]['died'])}" for lr in ok)
            + f". Dead at initialisation, subtracted above: {init['k']}/{init['n']} units. Diverged runs (non-finite "
            f"loss; left out of the counts and the trend): {div}. Trend over the runs that did not diverge: "
            f"{trend_txt}."]
    if part["outcome"] == "none":
        text.append(f"No rate left significantly and materially (>= {material:.0%} of units) more units dead than lr "
                    f"{lo_lr}: larger learning rates did not kill more ReLU units.")
    else:
        text.append(f"Rates with significantly and materially (>= {material:.0%}) more deaths than lr {lo_lr}: "
                    f"{', '.join(part['above_smallest'])}; dying range (significantly >= {material:.0%} lost): "
                    f"{', '.join(part['dying'])}.")
        if part["reversals"]:
            text.append("Not monotone, so it depends on the learning rate: significantly and materially fewer units "
                        f"died at the larger rate from {_drops(part['reversals'], relu)}.")
        elif part["outcome"] == "non-monotone":
            text.append("The rise is not a significant monotone trend over the grid (Kendall's test): it depends on "
                        "the learning rate; only the largest rates kill units.")
        if part["dips"]:
            text.append(f"Significant but below {material:.0%}: fewer units died at the larger rate from "
                        f"{_drops(part['dips'], relu)} (slow deaths at small rates, not the large-gradient deaths 004 "
                        "describes).")
        if any(relu[lr]["diverged"] for lr in part["dying"]):
            text.append("At rates where some runs diverged, the counts are those of the runs that survived.")
    mech = numbers["mechanism"]
    if mech["spiked_runs"] and mech["calm_runs"]:
        text.append(f"Mechanism (004's large gradients): runs whose loss rose above {SPIKE:g}x its first value lost "
                    f"{_w(mech['died_in_spiked_runs'])} of their units ({mech['spiked_runs']} runs), the others "
                    f"{_w(mech['died_in_calm_runs'])} ({mech['calm_runs']} runs).")
    layers = [_prop(sum(relu[lr]["recovered_per_layer"][k]["k"] for lr in ok),
                    sum(relu[lr]["recovered_per_layer"][k]["n"] for lr in ok)) for k in range(b["depth"])]
    frozen = [_prop(sum(relu[lr]["frozen_per_layer"][k]["k"] for lr in ok),
                    sum(relu[lr]["frozen_per_layer"][k]["n"] for lr in ok)) for k in range(b["depth"])]
    text.append("Do dead ReLU units stop learning? Of the units inactive at two consecutive checkpoints, the incoming "
                "weights did not change by a single bit in between in (per layer) "
                + ", ".join(f"{r['k']}/{r['n']}" for r in frozen) + ": no gradient reaches a unit while it is "
                "inactive on every example, but a deeper unit can be active on some examples between two "
                "checkpoints.")
    text.append("Do dead ReLU units stay dead (000: 'only 0 from then on')? Of the units that died at some checkpoint, "
                f"{_w(rec)} were active again at the end (per layer: "
                + ", ".join(f"{r['k']}/{r['n']}" for r in layers) + "): "
                + ("they stayed dead, as 000 says." if not rec["n"] or rec["lo"] <= material else
                   f"significantly more than {material:.0%} came back, in the deeper layers, whose inputs keep "
                   "changing (a first-layer unit's input, the data, is fixed): dying is not always for good."))
    if main["arms"]:
        text.append("Mitigations, at the lowest rates of the dying range, against ReLU at the same rate and seeds: "
                    + "; ".join(_arm_text(a, r, b["arms"][a], relu) for a, r in main["arms"].items()) + ".")
        if any(r["outcome"] != "works" and any(o.startswith("diverged") for o in r["at"].values())
               for r in main["arms"].values()):
            text.append("A variant that keeps a gradient below 0 cannot lose units the ReLU way, but where the rate "
                        "kills ReLU units it diverged instead: it removes dead units, not the harm of a too-large "
                        "learning rate.")
    elif part["outcome"] != "none":
        text.append("No mitigation was tested: that part of the claim is not judged.")
    if others:
        text.append(f"Robustness (the same rule at neighbouring settings): {robust}.")
    parts = [f"at {lab}, {'; '.join(f'{x}: {y} (here {z})' for x, (y, z) in d.items())}"
             for lab, d in differ.items() if d]
    if parts:
        text.append("Which parts hold depends on the setting: " + "; ".join(parts) + ".")
    if flips:
        text.append(f"The verdict depends on the setting: {main['verdict']} at width {b['width']}, depth {b['depth']}; "
                    + ", ".join(f"{others[lab]['verdict']} at {lab}" for lab in flips) + ".")
    if flips or main["verdict"] == CAVEATS:
        return Verdict(CAVEATS, " ".join(text), key)
    return Verdict(main["verdict"], " ".join(text), key)


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
