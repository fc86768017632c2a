"""Dying ReLU costs little accuracy, and the activations made to fix it sometimes do worse (tutorial 000)

What the tutorial says. 000 closes its ReLU section: although ReLU units can stop being
updated (dying ReLU), "there is no big problem in performance, and on the contrary the
activation functions made to solve it sometimes perform worse". Claim 6 measures whether
units die and whether the fixes keep them alive; this claim asks what the dying costs in
accuracy and whether a fix can cost more. Two parts, each with its own verdict:

- *little cost*: ReLU's held-out accuracy is within ``acc_margin`` (1 point) of the fixes'
  both when every activation runs at its own tuned learning rate (what a practitioner
  does) and at the rates where ReLU loses units (where the dying happens);
- *fixes sometimes worse*: some fix (Leaky ReLU, ELU, PReLU: the ones 002-004 name) has a
  significantly lower held-out accuracy than ReLU at its tuned rate, or at a rate both
  share.

Design. Claim 6's network and data, its runs reused: an MLP 784-64-64-64-10 (He
initialisation, biases 0, float32), plain SGD (batch 64, 2,000 steps) on 3,000 MNIST
training images per seed, held-out accuracy on 2,000 test images, 5 seeds, at claim 6's 9
learning rates from 0.01 to 3. Here every fix runs at every rate (claim 6 runs them only in
the dying range), so each activation has a tuned rate: the rate with the lowest training
loss (mean of the last 100 steps, over seeds) among those at which no seed diverged. The
rate is chosen on the training loss, not on the held-out accuracy the parts compare, so the
comparison does not select its own winner. A diverged run (non-finite loss) counts at
chance, 0.1.

Statistics. Accuracy differences are paired by seed (the same seed: the same subset and
initial weights) with t intervals. Each part looks in several places at once (every fix at
its tuned rate; every fix at every rate of the dying range; every fix at every rate), so
the intervals of each family are Bonferroni-corrected (level 1 - 0.05 / number of
comparisons): a difference found by looking in many places is not counted as found.

The rule. Part one is CONFIRMED when ReLU's tuned accuracy is shown to be at most
acc_margin below the best fix's (the interval of the fix with the highest tuned accuracy
minus ReLU lies below acc_margin) and at no rate of the dying range does a fix beat ReLU by
more than acc_margin (corrected interval entirely above acc_margin); REFUTED when ReLU's
tuned accuracy is materially below (that interval entirely above acc_margin); CAVEATS
otherwise: undecided at this many seeds, or "little cost when the rate is tuned; it costs
accuracy at rates that kill units". Part
two is CONFIRMED when at the tuned rates some fix is significantly below ReLU (its
interval entirely below 0); CAVEATS when that happens only at a shared rate (corrected
interval entirely below -acc_margin, a diverged fix included), i.e. only when the fix is
not retuned; REFUTED when no fix is significantly worse anywhere. The claim is CONFIRMED
when both parts are, REFUTED when both are, CAVEATS otherwise.

Figure 1 (accuracy_vs_lr): held-out accuracy of ReLU and the fixes against the learning
rate (tuned rates circled), the fraction of ReLU units that died (the dying range shaded),
and each fix's accuracy minus ReLU's with the corrected intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import by, ci, new_figure, png
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, activation_spec, register, setting
from . import dying_relu as D

#: the fields shared with claim 6: the same values at every size give the same cells (cache hits)
_SHARED = ("seeds", "lrs", "width", "depth", "train_examples", "test_examples", "steps", "batch", "checkpoints",
           "material")


def _shared(sizes: dict) -> dict:
    return {k: v for k, v in sizes.items() if k in _SHARED}


@dataclass
class Config:
    seeds: int = D.Config.seeds
    fixes: tuple[str, ...] = setting(("leaky_relu", "elu", "prelu"), check=activation_spec)
    lrs: tuple[float, ...] = D.Config.lrs
    width: int = D.Config.width
    depth: int = D.Config.depth
    train_examples: int = D.Config.train_examples
    test_examples: int = D.Config.test_examples
    steps: int = D.Config.steps
    batch: int = D.Config.batch
    checkpoints: int = D.Config.checkpoints
    material: float = setting(D.Config.material, low=0, high=1, low_open=True)  # the dying range's threshold
    acc_margin: float = setting(0.01, low=0, high=1)  # an accuracy difference this large is material
    QUICK: ClassVar[dict] = _shared(D.Config.QUICK)
    FULL: ClassVar[dict] = _shared(D.Config.FULL)
    NEIGHBOURS: ClassVar[dict] = D.Config.NEIGHBOURS


def _final_loss(r: dict) -> float:
    return math.inf if r["diverged"] else float(r["final_loss"])


def tuned_lr(per_lr: dict[float, list[dict]]) -> float | None:
    """The rate with the lowest mean final training loss among those where no seed diverged
    (None when every rate diverged somewhere).

    >>> runs = {0.1: [{"diverged": False, "final_loss": 0.3}], 1.0: [{"diverged": False, "final_loss": 0.2}],
    ...         3.0: [{"diverged": True}]}
    >>> tuned_lr(runs)
    1.0
    """
    ok = {lr: float(np.mean([_final_loss(r) for r in rs])) for lr, rs in per_lr.items()
          if not any(r["diverged"] for r in rs)}
    return min(ok, key=lambda lr: (ok[lr], lr)) if ok else None


def diff(a: list[float], b: list[float], level: float = 0.95) -> dict:
    """Paired mean difference a - b of two accuracies over seeds with its t interval at
    ``level``, cut to [-1, 1], where every difference of accuracies lies (the cut interval
    covers as often; a t interval over 2 seeds can reach +-30).

    >>> d = diff([0.9, 0.8], [0.5, 0.9])
    >>> round(d["mean"], 6), d["lo"], d["hi"]
    (0.15, -1.0, 1.0)
    """
    r = ci([x - y for x, y in zip(a, b)], level)
    return r | {"lo": max(r["lo"], -1.0), "hi": min(r["hi"], 1.0), "level": level}


def _level(comparisons: int) -> float:
    """The Bonferroni-corrected level of one of ``comparisons`` 95 % intervals."""
    return 1 - 0.05 / max(comparisons, 1)


def run(cfg: Config, runner) -> Outcome:
    lrs = sorted(set(float(v) for v in cfg.lrs))
    acts = ["relu", *dict.fromkeys(a for a in cfg.fixes if a != "relu")]
    common = {"train_examples": cfg.train_examples, "test_examples": cfg.test_examples, "steps": cfg.steps,
              "batch": cfg.batch, "checkpoints": cfg.checkpoints}
    # claim 6's cell dicts, so its runs (ReLU everywhere, the fixes in its dying range) are cache hits
    cells = [dict(common, setting="main", width=cfg.width, depth=cfg.depth, act=a, bn=0, lr=lr, seed=s)
             for a in acts for lr in lrs for s in range(cfg.seeds)]
    rows = [dict(c, **r) for c, r in zip(cells, runner.map(D.cell, cells, desc="dying ReLU cost: lr grid"))]
    g = by(rows, "act", "lr")
    acc = {a: {lr: [D._acc(r) for r in g[(a, lr)]] for lr in lrs} for a in acts}
    keys = [f"{lr:g}" for lr in lrs]
    relu_stats = {f"{lr:g}": D._stats(g[("relu", lr)], cfg.depth) for lr in lrs}
    dying = [float(lr) for lr in D.lr_part(relu_stats, keys, cfg.material)["dying"]]
    tuned = {a: tuned_lr({lr: g[(a, lr)] for lr in lrs}) for a in acts}
    at_tuned = {a: None if tuned[a] is None else ci(acc[a][tuned[a]]) for a in acts}
    fixes = acts[1:]
    shared_pairs = [(a, lr) for a in fixes for lr in lrs]
    dying_pairs = [(a, lr) for a in fixes for lr in dying]
    numbers = {
        "fixes": fixes, "lrs": lrs, "acc_margin": cfg.acc_margin, "material": cfg.material,
        "tuned_lr": tuned, "acc_at_tuned": at_tuned,
        "acc": {a: {f"{lr:g}": ci(acc[a][lr]) for lr in lrs} for a in acts},
        "diverged": {a: {f"{lr:g}": sum(r["diverged"] for r in g[(a, lr)]) for lr in lrs} for a in acts},
        "relu_died": {k: relu_stats[k].get("died") for k in keys},
        "dying_range": dying,
        # fix minus ReLU at the tuned rates and at shared rates, each family Bonferroni-corrected
        "tuned_diff": {a: diff(acc[a][tuned[a]], acc["relu"][tuned["relu"]], _level(len(fixes)))
                       for a in fixes if tuned[a] is not None and tuned["relu"] is not None},
        "dying_diff": {f"{a} @ {lr:g}": diff(acc[a][lr], acc["relu"][lr], _level(len(dying_pairs)))
                       for a, lr in dying_pairs},
        "shared_diff": {f"{a} @ {lr:g}": diff(acc[a][lr], acc["relu"][lr], _level(len(shared_pairs)))
                        for a, lr in shared_pairs},
        "relu_died_at_tuned": None if tuned["relu"] is None else relu_stats[f"{tuned['relu']:g}"].get("died"),
    }
    settings = (f"MLP 784-{'-'.join([str(cfg.width)] * cfg.depth)}-10 (He init, biases 0, float32), plain SGD (batch "
                f"{cfg.batch}, {cfg.steps} steps) on {cfg.train_examples} MNIST training images per seed, held-out "
                f"accuracy on {cfg.test_examples} test images, {cfg.seeds} seeds, ReLU and {', '.join(fixes)} at every "
                f"rate of {', '.join(keys)}; tuned rate: lowest final training loss with no diverged seed; a diverged "
                f"run counts at chance ({D.CHANCE}); claim 6's runs.")
    raw = {"runs": [{k: r[k] for k in ("act", "lr", "seed", "diverged", "test_acc", "stopped")}
                    | {"final_loss": r.get("final_loss", math.nan)} for r in rows]}
    return Outcome(numbers=numbers, raw=raw, figures=[_figure(numbers, acts)], settings=settings)


# ----------------------------------------------------------------------------- the rule

def _best_fix(n: dict) -> str | None:
    tuned = {a: n["acc_at_tuned"][a]["mean"] for a in n["tuned_diff"]}
    return max(tuned, key=tuned.get) if tuned else None


def part_cost(n: dict) -> tuple[str, dict]:
    """Part one, 'dying costs little accuracy': its verdict and the comparisons it rests on."""
    m = n["acc_margin"]
    best = _best_fix(n)
    beaten = [k for k, d in n["dying_diff"].items() if d["lo"] > m]
    if best is None:  # ReLU or every fix diverged at every rate: nothing tuned to compare
        return CAVEATS, {"best": None, "gap": None, "beaten": beaten}
    gap = n["tuned_diff"][best]  # best fix minus ReLU, both tuned
    if gap["lo"] > m:
        v = REFUTED
    elif gap["hi"] < m and not beaten:
        v = CONFIRMED
    else:  # undecided, or a cost where units die
        v = CAVEATS
    return v, {"best": best, "gap": gap, "beaten": beaten}


def part_worse(n: dict) -> tuple[str, dict]:
    """Part two, 'the fixes sometimes do worse': its verdict and the comparisons it rests on."""
    m = n["acc_margin"]
    tuned = [a for a, d in n["tuned_diff"].items() if d["hi"] < 0]
    shared = [k for k, d in n["shared_diff"].items() if d["hi"] < -m]
    v = CONFIRMED if tuned else CAVEATS if shared else REFUTED
    return v, {"tuned": tuned, "shared": shared}


def _d(d: dict) -> str:
    return f"{d['mean']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}]"


def verdict(n) -> Verdict:
    m = n["acc_margin"]
    (v1, c1), (v2, c2) = part_cost(n), part_worse(n)
    t = n["tuned_lr"]
    tuned_txt = "; ".join(f"{a} lr {t[a]:g} ({n['acc_at_tuned'][a]['mean']:.3f})" if t[a] is not None
                          else f"{a}: diverged at every rate" for a in t)
    died = n["relu_died_at_tuned"]
    died_txt = "" if not died or not died.get("n") else (
        f" At its tuned rate ReLU lost {died['mean']:.3f} ({died['k']}/{died['n']}) of the units alive at "
        "initialisation.")
    text = [f"Tuned rates (lowest final training loss, no diverged seed) and held-out accuracy: {tuned_txt}.{died_txt}",
            "Dying range (ReLU lost significantly at least "
            f"{n['material']:.0%} of its units): {', '.join(f'{lr:g}' for lr in n['dying_range']) or 'none'}."]
    if c1["best"] is None:
        text.append(f"Little cost: {v1.upper()}. No tuned rate without a diverged seed for ReLU or every fix: "
                    "not judged.")
    else:
        text.append(f"Little cost: {v1.upper()}. The best tuned fix, {c1['best']}, minus ReLU at their tuned rates: "
                    f"{_d(c1['gap'])} (paired by seed, Bonferroni over the {len(n['tuned_diff'])} fixes); a material "
                    f"loss is more than {m:g}"
                    + (", and this interval does not rule one out." if v1 == CAVEATS and c1["gap"]["hi"] >= m else "."))
        if c1["beaten"]:
            text.append("In the dying range a fix beats ReLU by more than the margin (Bonferroni-corrected): "
                        + ", ".join(f"{k} {_d(n['dying_diff'][k])}" for k in c1["beaten"])
                        + ": dying costs accuracy at the rates that kill units, little once the rate is tuned.")
        elif n["dying_range"]:
            text.append("In the dying range no fix beats ReLU by more than the margin (corrected intervals): "
                        + ", ".join(f"{k} {_d(d)}" for k, d in n["dying_diff"].items()) + ".")
    worst = min(n["shared_diff"].items(), key=lambda kv: kv[1]["mean"], default=None)
    text.append(f"Fixes sometimes worse: {v2.upper()}. At the tuned rates, fix minus ReLU: "
                + (", ".join(f"{a} {_d(d)}" for a, d in n["tuned_diff"].items()) or "none tuned")
                + (f"; significantly below ReLU: {', '.join(c2['tuned'])}" if c2["tuned"] else "; none significantly "
                   "below ReLU") + ". At shared rates (the fix not retuned; Bonferroni over "
                f"{len(n['shared_diff'])} comparisons), materially below ReLU: "
                + (", ".join(f"{k} {_d(n['shared_diff'][k])}" + _div(n, k) for k in c2["shared"]) or "none")
                + (f"; the largest fall is {worst[0]} {_d(worst[1])}." if worst else "."))
    text.append("The fixes keep a gradient below 0, so where a large rate kills ReLU units they can diverge instead "
                "(claim 6); whether that is 'worse' depends on retuning the rate, which is why the tuned and the "
                "shared-rate comparisons are reported apart.")
    overall = CONFIRMED if {v1, v2} == {CONFIRMED} else REFUTED if {v1, v2} == {REFUTED} else CAVEATS
    gap = "-" if c1["gap"] is None else f"{c1['best']} - relu {c1['gap']['mean']:+.3f}"
    key = (f"little cost {v1} (tuned: {gap}); fixes worse {v2} (tuned: {', '.join(c2['tuned']) or 'none'}; "
           f"shared rates: {len(c2['shared'])} of {len(n['shared_diff'])})")
    return Verdict(overall, " ".join(text), key)


def _div(n: dict, k: str) -> str:
    a, lr = k.split(" @ ")
    d = n["diverged"][a][lr]
    return f" ({d} diverged)" if d else ""


# ----------------------------------------------------------------------------- figure

def _figure(n: dict, acts: list[str]):
    fig, ax = new_figure(3, 1, width=4.0, height=3.4)
    lrs = n["lrs"]
    a0, a1, a2 = ax[0, 0], ax[0, 1], ax[0, 2]
    for a in acts:
        col = D.ARM_COLORS.get(a, "k")
        m = [n["acc"][a][f"{lr:g}"]["mean"] for lr in lrs]
        a0.plot(lrs, m, "o-", color=col, ms=4, label=a)
        if n["tuned_lr"][a] is not None:
            a0.plot(n["tuned_lr"][a], n["acc_at_tuned"][a]["mean"], "o", ms=12, mfc="none", color=col)
    died = [(lr, n["relu_died"][f"{lr:g}"]) for lr in lrs if n["relu_died"][f"{lr:g}"]]
    if died:
        a1.errorbar([lr for lr, _ in died], [d["mean"] for _, d in died],
                    yerr=[[d["mean"] - d["lo"] for _, d in died], [d["hi"] - d["mean"] for _, d in died]],
                    fmt="o-", color=D.ARM_COLORS["relu"], capsize=3)
    for axis in (a0, a1, a2):
        for lr in n["dying_range"]:
            axis.axvspan(lr / 1.2, lr * 1.2, color="#d62728", alpha=0.08)
    for j, a in enumerate(n["fixes"]):
        ds = [n["shared_diff"][f"{a} @ {lr:g}"] for lr in lrs]
        x = np.asarray(lrs) * (1 + 0.06 * (j - 1))
        mean = np.array([d["mean"] for d in ds])
        lo, hi = np.maximum([d["lo"] for d in ds], -1.0), np.minimum([d["hi"] for d in ds], 1.0)
        a2.errorbar(x, mean, yerr=[mean - lo, hi - mean], fmt="s", color=D.ARM_COLORS.get(a, "k"), capsize=2, label=a)
    a2.axhline(0, color="k", lw=0.8)
    a2.axhspan(-n["acc_margin"], n["acc_margin"], color="grey", alpha=0.15)
    a0.set(xscale="log", ylim=(0, 1), xlabel="learning rate (SGD)", ylabel="held-out accuracy (mean over seeds)",
           title="accuracy (circled: tuned rate)")
    a0.legend(fontsize=7, loc="lower left")
    a1.set(xscale="log", ylim=(-0.03, 1.03), xlabel="learning rate (SGD)", ylabel="ReLU units that died",
           title="ReLU units lost (shaded: dying range)")
    a2.set(xscale="log", ylim=(-1.05, 1.05), xlabel="learning rate (SGD)", ylabel="fix minus ReLU (paired)",
           title="fix minus ReLU at the same rate")
    a2.legend(fontsize=7, loc="lower left")
    return png(fig, "accuracy_vs_lr", "Left: held-out accuracy of ReLU and the fixes at each learning rate, mean over "
               f"seeds (a diverged run counted at chance, {D.CHANCE}); circles: each activation's tuned rate (lowest "
               "final training loss, no diverged seed). Middle: fraction of ReLU units alive at initialisation that "
               "died, Wilson 95 % bars (shaded: the dying range). Right: each fix's accuracy minus ReLU's at the same "
               "rate and seed, Bonferroni-corrected t intervals (grey band: the margin).")


EXPERIMENT = register(
    name="dying_relu_cost",
    number=19,
    tutorial="000",
    claim="Dying ReLU is no big problem for performance, and the activations made to fix it sometimes perform "
    "worse.",
    korean="비록 렐루 함수가 입력값이 0일 때, 기울기가 0에 수렴해 가중치 업데이트가 안 되는 현상이 발생한다고는 "
    "하지만, 성능상 큰 문제가 없으며, 도리어 이를 해결하기 위해 만든 활성화 함수의 성능이 보다 안 나오는 "
    "경우도 있다고 한다.",
    config=Config,
    run=run,
    verdict=verdict,
)
