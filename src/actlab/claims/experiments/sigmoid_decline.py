"""Zero-centring is not why sigmoid fell out of use: its slowdown against ReLU, decomposed (tutorial 001)

Tutorial 001 redraws the zero-centring ("zig-zag") argument, finds it unconvincing and
concludes: "zero-centored문제는 이해가 되지 않고 결정적으로 sigmoid가 안 쓰이게 된 이유도
아니다" - the zero-centred problem is decisively not why sigmoid stopped being used; it
points instead to vanishing ("killed") gradients and to cost (sigmoid's exp against
ReLU's max). Whether the zig-zag exists is claim 8 (zero_centring); the cost is claim 5
(relu_compute_cost); the dates are claim 17 (relu_history). This claim asks how much of
sigmoid's training slowdown against ReLU is centring.

Design: claim 4's race (relu_convergence), in its own setting and with its own runs,
plus one arm. MNIST MLPs at 1, 2 and 4 hidden layers, plain SGD, each activation at the
rate from the sweep that reaches each training-error target fastest (claim 4's
``_best_lr``), steps to the targets 25 % (the paper's), 10 %, 5 % and 2 %. The cells of
relu, sigmoid and tanh are claim 4's cells, byte for byte (so they are cache hits of its
runs); the new arm is the centred sigmoid, sigmoid(x) - 0.5, with the Xavier normal
initialisation sigmoid gets (the same initial weights, seed for seed: centring is the
only change). Sigmoid's slowdown then factors exactly, in log steps, into a chain:

* centring: sigmoid -> sigmoid(x) - 0.5 (the same derivative, outputs shifted by -0.5);
* gradient size: sigmoid(x) - 0.5 -> tanh = 2 (sigmoid(2x) - 0.5) (centred both; tanh has
  4x the slope at 0 and saturates at +-1, not +-0.5: the vanishing-gradient factor);
* saturation: tanh -> ReLU (no saturation on the positive side);

log(T_sigmoid / T_relu) = log(T_sig / T_cen) + log(T_cen / T_tanh) + log(T_tanh / T_relu).

Statistics: each factor is a geometric mean over seeds of per-seed ratios, paired by
seed (the same subset, batches and, within the sigmoid family, initial weights), with a
95 % t interval on the log ratios (claim 4's ``_ratio``). A run that never reaches a
target counts at its floor (the steps it ran; the budget if it diverged), as ``_ratio``
counts a censored numerator; a censored denominator counts at its floor too (``_ratio``
would drop that seed), so that every factor is taken over the same seeds and the chain
stays exact; the censored runs are counted and named. Centring's share of the total log
gap is s = mean(log T_sig/T_cen) / mean(log T_sig/T_relu) over seeds (the centring step's
part of the waterfall), with a paired BCa bootstrap interval over seeds (percentile where
BCa is degenerate). It is undefined where sigmoid is not slower than ReLU at every seed
(there is no gap to share). Where some run of some arm never reached the target the
share is shown (floors counted) but decides nothing: when sigmoid and its centred twin
both stop at their floors the centring factor is 1 by construction (a share of 0 that
measures the budget, not the centring), and the floors of runs claim 4 abandons (at a
quarter of the budget) are arbitrary. (This clause was added after the first quick run,
where exactly that happened at depth 4; the rest of the rule was fixed before any run.)

The rule. At each depth, at the paper's target (25 %) and at the hardest target that
every run of every arm reached (if another), centring "is not the reason" when its
share's interval lies below 0.5 and the gradient-size or the saturation factor is larger
than the centring factor; it "is the reason" when the interval lies above 0.5;
"censored" (undecided) when some run missed the target; "undefined" when sigmoid is not
slower; "unclear" otherwise. CONFIRMED when the deepest depth (4, where sigmoid falls far
behind ReLU) says "not the reason" at both targets and no other depth says "the reason";
REFUTED when the deepest says "the reason" at both and no other depth says "not the
reason"; otherwise CAVEATS: "depends on depth", with each depth's share, when the depths
give different decided answers, else inconclusive. This is a training-speed
decomposition in one setting, not a history of practice; and a chain in another order
could split the gap differently.

Figure 1: the three factors per depth and target as a waterfall on a log scale (each bar
from the product of the factors before it), with the total (sigmoid / ReLU) and its
interval. Figure 2: centring's share with its interval against depth, at each target,
against 0.5.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import new_figure, png, seeds_of
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, register, setting
from .relu_convergence import Config as RaceConfig
from .relu_convergence import _best_lr, _ratio, arch_of, cell

#: the centred sigmoid (zero_centring's CENTRED): a formula spec nn.mlp accepts
CENTRED = "sigmoid(x) - 0.5"
#: the chain, slowest first
ARMS = ("sigmoid", CENTRED, "tanh", "relu")
#: factor -> (numerator arm, denominator arm); their product is sigmoid / ReLU
FACTORS = {"centring": ("sigmoid", CENTRED), "gradient size": (CENTRED, "tanh"), "saturation": ("tanh", "relu")}
#: the cells' "init": claim 4's "family" for its three arms (so the cells are its cells), and for the
#: centred sigmoid the Xavier normal that "family" gives sigmoid ("family" would give a formula He)
ARM_INIT = {"sigmoid": "family", "tanh": "family", "relu": "family", CENTRED: "xavier_normal"}
FACTOR_COLORS = {"centring": "#ff7f0e", "gradient size": "#2ca02c", "saturation": "#1f77b4"}
NOT_REASON, REASON = "not the reason", "the reason"


@dataclass
class Config:
    """Claim 4's settings (relu_convergence.Config), less its list of activations; the same
    defaults, QUICK and FULL values, so that each size reuses claim 4's cells of that size."""

    seeds: int = RaceConfig.seeds
    depths: tuple[int, ...] = RaceConfig.depths  # hidden layers
    width: int = RaceConfig.width
    lrs: tuple[float, ...] = RaceConfig.lrs
    fixed_lr: float = RaceConfig.fixed_lr  # not raced here, but it decides which of claim 4's cells may stop early
    targets: tuple[float, ...] = setting(RaceConfig.targets, low=0, high=1, low_open=True,
                                         high_open=True)  # training error rates, the paper's first
    train: int = RaceConfig.train
    eval_examples: int = RaceConfig.eval_examples
    batch_size: int = RaceConfig.batch_size
    max_steps: int = RaceConfig.max_steps
    checkpoints: int = RaceConfig.checkpoints
    NEIGHBOURS: ClassVar[dict] = dict(RaceConfig.NEIGHBOURS)
    QUICK: ClassVar[dict] = dict(RaceConfig.QUICK)
    FULL: ClassVar[dict] = {k: v for k, v in RaceConfig.FULL.items() if k != "activations"}


def cells_of(cfg: Config, depth: int) -> list[dict]:
    """The race's cells at one depth: for relu, sigmoid and tanh exactly the dicts claim 4's
    ``race`` builds (the same cache keys), and the same for the centred sigmoid."""
    lrs = sorted(set(cfg.lrs) | {cfg.fixed_lr})
    return [{"activation": a, "lr": lr, "seed": s, "arch": arch_of(depth, cfg.width), "train": cfg.train,
             "eval": cfg.eval_examples, "batch_size": cfg.batch_size, "max_steps": cfg.max_steps,
             "checkpoints": cfg.checkpoints, "targets": list(cfg.targets), "init": ARM_INIT[a],
             "abandon": lr != cfg.fixed_lr}
            for a in ARMS for lr in lrs for s in seeds_of(cfg)]


def share_ci(cen_logs, total_logs, level: float = 0.95, seed: int = 0) -> dict:
    """Centring's share of the total log gap, mean(cen_logs) / mean(total_logs), with a
    paired BCa bootstrap interval over seeds; undefined (None) unless the total is positive
    at every seed (sigmoid slower than ReLU at each: every resample has a gap to share).

    >>> r = share_ci([0.1, 0.2, 0.3], [1.0, 1.0, 1.0])
    >>> round(r["mean"], 3), r["lo"] < r["mean"] < r["hi"], r["defined"]
    (0.2, True, True)
    >>> share_ci([0.1, 0.2], [1.0, -0.1])["defined"], share_ci([0.1, 0.2], [1.0, -0.1])["not_slower"]
    (False, 1)
    """
    from scipy import stats

    c, t = np.asarray(cen_logs, dtype=float), np.asarray(total_logs, dtype=float)
    n, not_slower = int(t.size), int(np.sum(t <= 0))
    if n == 0 or not_slower:
        return {"mean": None, "lo": None, "hi": None, "n": n, "defined": False, "not_slower": not_slower}
    mean = float(c.mean() / t.mean())
    if n < 2 or float(np.ptp(c / t)) == 0.0:  # no spread to resample (a BCa interval would be NaN)
        return {"mean": mean, "lo": mean, "hi": mean, "n": n, "defined": True, "not_slower": 0}
    def boot(method: str):
        return stats.bootstrap((c, t), lambda a, b, axis=-1: a.mean(axis) / b.mean(axis), paired=True,
                               vectorized=True, confidence_level=level, n_resamples=9999, method=method,
                               random_state=np.random.default_rng(seed)).confidence_interval

    with warnings.catch_warnings():  # a degenerate BCa (NaN ends) falls back to the percentile interval
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        lo, hi = boot("BCa")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = boot("percentile")
    return {"mean": mean, "lo": float(lo), "hi": float(hi), "n": n, "defined": True, "not_slower": 0}


def _target_numbers(grid: dict, best: dict, t: float) -> dict:
    """Per-seed steps of each arm at its best rate for ``t``, the factors and the share."""
    key = str(t)
    reach = {a: [r["reach"][key] for r in grid[a][best[a]]] for a in ARMS}
    floor = {a: [float(r["floor"]) for r in grid[a][best[a]]] for a in ARMS}
    steps = {a: [v if math.isfinite(v) else fl for v, fl in zip(reach[a], floor[a])] for a in ARMS}
    censored = {a: sum(not math.isfinite(v) for v in reach[a]) for a in ARMS}

    def factor(num: str, den: str) -> dict:
        # the denominator at its floor too: no seed is dropped, so the factors multiply to the total
        return dict(_ratio(reach[num], steps[den], floor[num]), censored_den=censored[den])

    factors = {name: factor(num, den) for name, (num, den) in FACTORS.items()}
    logs = {a: np.log(steps[a]) for a in ARMS}
    share = share_ci(logs["sigmoid"] - logs[CENTRED], logs["sigmoid"] - logs["relu"])
    return {"steps": steps, "censored": censored, "reached_by_all": not any(censored.values()),
            "factor": factors, "total": factor("sigmoid", "relu"), "share": share}


def _depth_numbers(cfg: Config, depth: int, grid: dict) -> dict:
    cap = float(cfg.max_steps)
    lrs = sorted(set(cfg.lrs) | {cfg.fixed_lr})
    best = {str(t): {a: _best_lr(grid[a], t, cap) for a in ARMS} for t in cfg.targets}
    by_target = {str(t): _target_numbers(grid, best[str(t)], t) for t in cfg.targets}
    common = [t for t in cfg.targets if by_target[str(t)]["reached_by_all"]]
    return {"arch": arch_of(depth, cfg.width), "best_lr": best, "by_target": by_target,
            "hardest_common": str(min(common)) if common else None,
            "diverged_runs": {a: sum(r["diverged"] for lr in lrs for r in grid[a][lr]) for a in ARMS},
            "best_lr_at_grid_edge": sorted({a for t in best for a in ARMS
                                            if len(lrs) > 1 and best[t][a] in (lrs[0], lrs[-1])})}


def run(cfg: Config, runner) -> Outcome:
    at = [(d, c) for d in cfg.depths for c in cells_of(cfg, d)]
    cells = [c for _, c in at]
    rows = runner.map(cell, cells, desc="sigmoid's slowdown, decomposed")  # one grid: both cores busy throughout
    grids: dict = {}
    for (d, c), r in zip(at, rows):
        grids.setdefault(d, {}).setdefault(c["activation"], {}).setdefault(c["lr"], []).append(r)
    numbers = {"targets": list(cfg.targets), "paper_target": cfg.targets[0], "depths": list(cfg.depths),
               "width": cfg.width, "max_steps": cfg.max_steps, "seeds": cfg.seeds, "arms": list(ARMS),
               "factors": {k: list(v) for k, v in FACTORS.items()},
               "by_depth": {str(d): _depth_numbers(cfg, d, grids[d]) for d in cfg.depths}}
    raw = [dict(c, reach=r["reach"], diverged=r["diverged"], floor=r["floor"], final_err=r["err"][-1],
                last_step=r["steps"][-1]) for c, r in zip(cells, rows)]
    lrs = sorted(set(cfg.lrs) | {cfg.fixed_lr})
    settings = (f"Claim 4's race plus one arm: MLPs 784-{cfg.width}x(d)-10 for d = {', '.join(map(str, cfg.depths))} "
                f"hidden layers, plain SGD, batch {cfg.batch_size}, float32, {cfg.train} MNIST training images per "
                f"seed; training error on {min(cfg.eval_examples, cfg.train)} of them at {cfg.checkpoints} log-spaced "
                f"steps up to {cfg.max_steps}. Arms sigmoid, {CENTRED} and tanh (Xavier normal), ReLU (He). Rates "
                f"{', '.join(f'{v:g}' for v in lrs)}; each arm at its fastest rate to each target "
                f"({', '.join(f'{t:.0%}' for t in cfg.targets)}). Factors: geometric means over seeds "
                f"0..{cfg.seeds - 1}, paired, 95 % t intervals; centring's share: paired BCa bootstrap.")
    return Outcome(numbers=numbers, raw={"runs": raw}, figures=[_fig_factors(numbers), _fig_share(numbers)],
                   settings=settings)


# ------------------------------------------------------------------ figures

def _times_label(v: float, _pos=None) -> str:
    """'2x', '0.5x': only mantissas 1, 2 and 5 are labelled (no crowding on a log axis)."""
    if v <= 0:
        return ""
    m = round(v / 10 ** math.floor(math.log10(v) + 1e-9), 6)
    return f"{v:g}x" if m in (1, 2, 5) else ""


def _fig_factors(n: dict):
    from matplotlib.ticker import FuncFormatter

    depths = n["depths"]
    fig, ax = new_figure(len(n["targets"]), 1, width=3.8, height=3.8, sharey=True)
    w = 0.2
    ends = [1.0]  # every bar end and interval end: the y range (bars do not widen a log axis' margins)
    for j, t in enumerate(n["targets"]):
        a0 = ax[0, j]
        for i, d in enumerate(depths):
            b = n["by_depth"][str(d)]["by_target"][str(t)]
            level = 1.0
            # a waterfall, one step per factor: each bar runs from the product so far to the product with it
            # (downwards for a factor below 1), side by side so that no bar hides another
            for k, name in enumerate(FACTORS):
                top = level * b["factor"][name]["mean"]
                a0.bar(i + (k - 1.5) * w, top - level, w, bottom=level, color=FACTOR_COLORS[name],
                       label=name if i == 0 else None)
                level = top
                ends.append(top)
            tot = b["total"]
            ends += [tot["lo"], tot["hi"]]
            a0.errorbar([i + 1.5 * w], [tot["mean"]], yerr=[[tot["mean"] - tot["lo"]], [tot["hi"] - tot["mean"]]],
                        fmt="ko", ms=4, capsize=3, label="sigmoid / ReLU" if i == 0 else None)
            if not b["reached_by_all"]:
                a0.annotate("censored", (i, 0.02), xycoords=("data", "axes fraction"), ha="center", fontsize=7,
                            color="0.3")
        a0.axhline(1, color="0.3", lw=1)
        a0.set_xticks(range(len(depths)), [str(d) for d in depths])
        a0.set(yscale="log", xlabel="hidden layers", title=f"to {t:.0%} training error")
        a0.yaxis.set_major_formatter(FuncFormatter(_times_label))
        a0.yaxis.set_minor_formatter(FuncFormatter(_times_label))
    ax[0, 0].set_ylim(min(ends) / 1.25, max(ends) * 1.25)  # shared by every panel
    ax[0, 0].set_ylabel("steps / the next arm's steps")
    ax[0, 0].legend(fontsize=7)
    return png(fig, "factors", "Sigmoid's steps over ReLU's (black, 95 % t interval) as a waterfall of three factors: "
               "centring (sigmoid -> sigmoid(x) - 0.5), gradient size (-> tanh) and saturation (-> ReLU), each bar "
               "from the product of the factors before it; geometric means over seeds, log scale, each arm at its "
               "fastest rate for that target. 'censored': some run never got there (floors counted).")


def _fig_share(n: dict):
    depths = n["depths"]
    fig, ax = new_figure(len(n["targets"]), 1, width=3.4, height=3.4, sharey=True)
    for j, t in enumerate(n["targets"]):
        a0 = ax[0, j]
        for d in depths:
            b = n["by_depth"][str(d)]["by_target"][str(t)]
            s = b["share"]
            if not s["defined"]:
                a0.annotate("undefined", (d, 0.5), ha="center", fontsize=7, rotation=90, color="0.4")
                continue
            a0.errorbar([d], [s["mean"]], yerr=[[s["mean"] - s["lo"]], [s["hi"] - s["mean"]]], fmt="o",
                        color=FACTOR_COLORS["centring"], capsize=3, mfc="none" if not b["reached_by_all"] else None)
        a0.axhline(0.5, color="C3", ls="--", lw=1, label="half the gap (the rule)")
        for v in (0.0, 1.0):
            a0.axhline(v, color="0.6", lw=0.8)
        a0.set_xticks(depths, [str(d) for d in depths])
        a0.set(xlabel="hidden layers", title=f"to {t:.0%} training error", xlim=(min(depths) - 0.7, max(depths) + 0.7))
    ax[0, 0].set_ylabel("centring's share of log(sigmoid / ReLU)")
    ax[0, 0].legend(fontsize=7)
    return png(fig, "share", "Centring's share of sigmoid's slowdown against ReLU (log steps), with a paired BCa "
               "bootstrap 95 % interval over seeds; undefined where sigmoid is not slower than ReLU at every seed. "
               "Below the dashed line centring is less than half of the gap. Open circles: some run never reached the "
               "target (floors counted): undecided.")


# ------------------------------------------------------------------ verdict

def _fx(r: dict) -> str:
    s = f"{r['mean']:.2f}x [{r['lo']:.2f}, {r['hi']:.2f}]"
    num, den = r.get("censored", 0), r.get("censored_den", 0)
    if num and den:
        return s + f" ({num} censored numerator(s), {den} denominator(s): neither bound)"
    return s + (" (a lower bound)" if num else " (an upper bound)" if den else "")


def _share_txt(b: dict) -> str:
    s = b["share"]
    cens = "" if b["reached_by_all"] else f" (undecided: {sum(b['censored'].values())} run(s) censored)"
    if not s["defined"]:
        return f"undefined (sigmoid not slower than ReLU at {s['not_slower']} of {s['n']} seeds){cens}"
    return f"{s['mean']:.2f} [{s['lo']:.2f}, {s['hi']:.2f}]{cens}"


def call_at(b: dict) -> str:
    """One depth and target: NOT_REASON, REASON, "unclear", "undefined" or "censored" (see the module docstring)."""
    s = b["share"]
    if not b["reached_by_all"]:  # floors decide nothing (both sigmoid arms at the budget: a share of 0 for free)
        return "censored"
    if not s["defined"]:
        return "undefined"
    logs = {k: math.log(v["mean"]) for k, v in b["factor"].items()}
    if s["hi"] < 0.5 and max(logs["gradient size"], logs["saturation"]) > logs["centring"]:
        return NOT_REASON
    return REASON if s["lo"] > 0.5 else "unclear"


def checked_targets(numbers, depth) -> list[str]:
    """The paper's target and the hardest target every run of every arm reached at ``depth``."""
    b = numbers["by_depth"][str(depth)]
    return list(dict.fromkeys([str(numbers["paper_target"]), *([b["hardest_common"]] if b["hardest_common"] else [])]))


def depth_call(numbers, depth) -> str:
    calls = {call_at(numbers["by_depth"][str(depth)]["by_target"][t]) for t in checked_targets(numbers, depth)}
    return calls.pop() if len(calls) == 1 else "mixed"


def verdict(numbers) -> Verdict:
    """CONFIRMED, REFUTED or CAVEATS by the rule of the module docstring."""
    depths = numbers["depths"]
    deep = max(depths)
    t0 = str(numbers["paper_target"])
    calls = {d: depth_call(numbers, d) for d in depths}
    others = {calls[d] for d in depths if d != deep}
    bd = numbers["by_depth"][str(deep)]["by_target"][t0]
    key = (f"depth {deep}, to {float(t0):.0%}: sigmoid/ReLU {bd['total']['mean']:.2f}x = centring "
           f"{bd['factor']['centring']['mean']:.2f}x * gradient size {bd['factor']['gradient size']['mean']:.2f}x * "
           f"saturation {bd['factor']['saturation']['mean']:.2f}x; centring's share {_share_txt(bd)}")
    lines, n_cens = [], 0
    for d in depths:
        for t in checked_targets(numbers, d):
            b = numbers["by_depth"][str(d)]["by_target"][t]
            n_cens += sum(b["censored"].values())
            lines.append(f"Depth {d}, to {float(t):.0%}: sigmoid / ReLU {_fx(b['total'])} = centring "
                         f"{_fx(b['factor']['centring'])} x gradient size {_fx(b['factor']['gradient size'])} x "
                         f"saturation {_fx(b['factor']['saturation'])}; centring's share {_share_txt(b)}: "
                         f"{call_at(b)}.")
        hc = numbers["by_depth"][str(d)]["hardest_common"]
        if hc is None:
            lines.append(f"At depth {d} no target was reached by every run of every arm.")
        edge = numbers["by_depth"][str(d)]["best_lr_at_grid_edge"]
        if edge:
            lines.append(f"At depth {d} the fastest rate of {', '.join(edge)} is at an end of the sweep for some "
                         "target: a wider sweep could move it.")
    lines.append(f"{n_cens} run(s) at the targets checked never got there within {numbers['max_steps']} steps and "
                 "count at their floor (a factor with a censored numerator is a lower bound, with a censored "
                 "denominator an upper bound); a target with censored runs decides nothing." if n_cens
                 else "Every run reached the targets checked.")
    lines.append("This is a training-speed decomposition in one setting (MNIST MLPs, plain SGD, each arm at its "
                 "fastest rate), not a history of practice (claim 17, relu_history, has the dates); the cost part of "
                 "the author's argument is claim 5 (relu_compute_cost); a chain in another order could split the gap "
                 "differently.")
    detail = " ".join(lines)
    per_depth = ", ".join(f"depth {d}: {calls[d]} (share to {float(t0):.0%} "
                          f"{_share_txt(numbers['by_depth'][str(d)]['by_target'][t0])})" for d in depths)
    if calls[deep] == NOT_REASON and REASON not in others:
        return Verdict(CONFIRMED, f"Centring is the smaller part of sigmoid's slowdown: at depth {deep} its share of "
                       f"the log gap is below half and a vanishing-gradient factor is larger ({per_depth}). {detail}",
                       key)
    if calls[deep] == REASON and NOT_REASON not in others:
        return Verdict(REFUTED, f"Centring is most of sigmoid's slowdown: at depth {deep} its share of the log gap "
                       f"is above half ({per_depth}). {detail}", key)
    definite = {c for c in calls.values() if c in (NOT_REASON, REASON)}
    if definite and (len(definite) > 1 or calls[deep] not in definite):
        return Verdict(CAVEATS, f"Whether centring is the reason depends on depth ({per_depth}). {detail}", key)
    why = {"censored": f"some runs never reached a checked target within {numbers['max_steps']} steps",
           "undefined": "sigmoid is not slower than ReLU at every seed",
           "mixed": "the paper's target and the hardest target reached by all disagree",
           "unclear": "centring's share is not clearly below or above half, or centring is the largest factor"}
    return Verdict(CAVEATS, f"Inconclusive: at depth {deep} {why.get(calls[deep], calls[deep])} ({per_depth}). "
                   f"{detail}", key)


EXPERIMENT = register(
    name="sigmoid_decline",
    number=18,
    tutorial="001",
    claim="The zero-centring problem is decisively not the reason sigmoid fell out of use (vanishing gradients and "
    "cost are).",
    korean="zero-centored문제는 이해가 되지 않고 결정적으로 sigmoid가 안 쓰이게 된 이유도 아니다.",
    config=Config,
    run=run,
    verdict=verdict,
)
