"""ReLU converges faster than sigmoid and tanh with SGD: an MNIST race over depth at fair learning rates (tutorial 000)

Tutorial 000 repeats Krizhevsky et al. (2012): a four-layer CNN on CIFAR-10 reached 25 %
training error six times faster with ReLU than with tanh, each network at the learning
rate that trained it fastest. A one-hidden-layer net reaches 25 % error on MNIST in a
few dozen steps, so a race there measures the first steps, not convergence; and the gap
between ReLU and the saturating activations grows with depth. So the race is run at 1, 2
and 4 hidden layers (the paper's network had four layers) and to four training-error
targets, 25 % (the paper's), 10 %, 5 % and 2 %. Every activation trains the same MLP on a
subset of MNIST with plain SGD (no momentum, no regularisation), with the initialisation
of its family (He with the catalogue's gain for the ReLU family, Xavier for sigmoid and
tanh, LeCun for SELU, each the scheme designed to keep that activation's signal
variance), at each activation's best rate from a sweep (the paper's protocol) and, for
comparison, at one fixed rate for all. The training error is measured on a fixed sample
of the training subset at log-spaced steps; a run stops once it reaches the hardest
target. Ratios are steps divided by ReLU's, paired by seed (geometric mean, 95 %
t-interval on the log ratio).

The verdict has one line against tanh and one against sigmoid: "about 6x" means a ratio
of at least 4 at the paper's target; if the answer differs between depths the verdict
says "depends on depth" and gives each.

Figure 1: the training-error curves at each depth (each activation at its fastest rate to
25 %), log scales. Figure 2: the ratio to ReLU against depth, one panel per target,
against the paper's 6x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import COLORS, ci, new_figure, png, seeds_of
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, activation_spec, register, setting

#: The initialisation of each activation's family ("family" mode); the rest use He with
#: the catalogue gain (sqrt 2 for ReLU, the variance-preserving gain for its smooth kin).
FAMILY_INIT = {"sigmoid": "xavier_normal", "tanh": "xavier_normal", "selu": "lecun_normal"}


@dataclass
class Config:
    seeds: int = 5
    activations: tuple[str, ...] = setting(("relu", "tanh", "sigmoid"), check=activation_spec)
    depths: tuple[int, ...] = (1, 2, 4)  # hidden layers
    width: int = 64
    lrs: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0, 3.0)
    fixed_lr: float = 0.1
    targets: tuple[float, ...] = setting((0.25, 0.1, 0.05, 0.02), low=0, high=1, low_open=True,
                                         high_open=True)  # training error rates
    train: int = 5000
    eval_examples: int = 1000
    batch_size: int = 128
    max_steps: int = 2000
    checkpoints: int = 40
    init: str = "family"
    #: the settings next door, where the verdict must hold too (framework.robustness)
    NEIGHBOURS: ClassVar[dict] = {"width": (32, 128)}
    QUICK: ClassVar[dict] = {"seeds": 3, "depths": (1, 4), "lrs": (0.1, 0.3, 1.0), "targets": (0.25, 0.1),
                             "train": 2000, "eval_examples": 500, "max_steps": 300, "checkpoints": 25}
    FULL: ClassVar[dict] = {"seeds": 8, "activations": ("relu", "tanh", "sigmoid", "leaky_relu", "elu", "gelu"),
                            "lrs": (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0), "train": 20000, "eval_examples": 2000,
                            "max_steps": 6000, "checkpoints": 50}


def init_for(activation: str, init: str = "family") -> str:
    """The initialiser of ``activation`` ("family": :data:`FAMILY_INIT`, else He).

    >>> init_for("relu"), init_for("tanh"), init_for("selu"), init_for("tanh", "he")
    ('he_normal', 'xavier_normal', 'lecun_normal', 'he')
    """
    return FAMILY_INIT.get(activation, "he_normal") if init == "family" else init


def steps_to(steps, errors, target: float) -> float:
    """The first step at which the training error reaches ``target``, interpolated
    linearly in log(step) between the two checkpoints around the crossing; inf if never.

    >>> round(steps_to([10, 100], [0.5, 0.1], 0.3), 2)  # halfway down: the geometric midpoint
    31.62
    >>> steps_to([10, 100], [0.5, 0.4], 0.3)
    inf
    """
    s = np.asarray(steps, dtype=float)
    e = np.asarray(errors, dtype=float)
    hit = np.flatnonzero(e <= target)
    if hit.size == 0:
        return math.inf
    i = int(hit[0])
    if i == 0:
        return float(s[0])
    s0, s1, e0, e1 = s[i - 1], s[i], e[i - 1], e[i]
    t = (e0 - target) / (e0 - e1)
    if s0 <= 0:
        return float(s0 + t * (s1 - s0))
    return float(math.exp(math.log(s0) + t * (math.log(s1) - math.log(s0))))


def checkpoint_steps(max_steps: int, points: int) -> list[int]:
    """Step 0 and ``points`` log-spaced steps up to ``max_steps`` (duplicates merged).

    >>> checkpoint_steps(100, 5)
    [0, 1, 3, 10, 32, 100]
    """
    return [0, *np.unique(np.round(np.geomspace(1, max_steps, points)).astype(int)).tolist()]


def cell(c: dict) -> dict:
    """Train one activation at one learning rate from one seed; the training-error curve."""
    from ... import data, nn

    X, y = data.load_mnist(split="train")
    rng = np.random.default_rng([c["seed"], 4])
    idx = rng.choice(len(X), min(c["train"], len(X)), replace=False)
    X, y = X[idx], y[idx]  # the same subset for every activation and rate of this seed
    Xe, ye = X[: c["eval"]], y[: c["eval"]]
    model = nn.mlp(c["arch"], activation=c["activation"], init=init_for(c["activation"], c["init"]),
                   seed=c["seed"])
    marks = checkpoint_steps(c["max_steps"], c["checkpoints"])
    wanted = set(marks)
    steps: list[int] = []
    errs: list[float] = []

    def error() -> float:
        z = model.forward(Xe, copy=False)
        return float(np.mean(np.argmax(z, axis=1) != ye))

    steps.append(0)
    errs.append(error())

    def callback(step: int, _model, _loss: float) -> bool:
        if step in wanted:
            steps.append(step)
            errs.append(error())
            if errs[-1] <= min(c["targets"]):  # the hardest target reached: the race is over
                return True
            # a rate that has not reached even the easiest target in a quarter of the budget
            # is out of the race (it cannot be an activation's best): save the rest
            return c["abandon"] and step >= c["max_steps"] // 4 and min(errs) > max(c["targets"])
        return False

    epochs = math.ceil(c["max_steps"] / math.ceil(len(X) / c["batch_size"]))
    hist = nn.fit(model, X, y, lr=c["lr"], epochs=epochs, batch_size=c["batch_size"], seed=c["seed"],
                  max_steps=c["max_steps"], progress=False, callback=callback)
    diverged = hist.stopped is not None and "loss is" in hist.stopped
    # a run that never reached a target needs at least this many steps (diverged: never)
    floor = c["max_steps"] if diverged else max(steps)
    return {"steps": steps, "err": errs, "diverged": diverged, "floor": floor,
            "reach": {str(t): steps_to(steps, errs, t) for t in c["targets"]}}


def _ratio(num: list[float], den: list[float], floors: list[float]) -> dict:
    """Geometric-mean ratio num/den over paired seeds with a 95 % t-interval on log ratios.

    A run that never reached the target counts as its ``floor`` (the steps it ran, or the
    budget if it diverged), so a ratio with censored numerators is a lower bound
    (``censored`` counts them); seeds where the denominator never reached it are left out.
    """
    logs, censored = [], 0
    for a, b, fl in zip(num, den, floors):
        if not math.isfinite(b):
            continue
        censored += not math.isfinite(a)
        logs.append(math.log(a if math.isfinite(a) else fl) - math.log(b))
    if not logs:
        return {"mean": math.nan, "lo": math.nan, "hi": math.nan, "n": 0, "censored": censored}
    r = ci(logs)
    return {"mean": math.exp(r["mean"]), "lo": math.exp(r["lo"]), "hi": math.exp(r["hi"]), "n": r["n"],
            "censored": censored}


def _best_lr(by_lr: dict, target: float, cap: float) -> float:
    """The rate that reaches ``target`` in the fewest steps: fewest seeds that never get
    there, then the smallest mean log steps (never counts as twice the budget), then the
    smaller rate."""

    def score(lr: float) -> tuple:
        vals = [r["reach"][str(target)] for r in by_lr[lr]]
        return (sum(not math.isfinite(v) for v in vals),
                float(np.mean([math.log(v if math.isfinite(v) else 2 * cap) for v in vals])), lr)

    return min(by_lr, key=score)


def arch_of(depth: int, width: int) -> str:
    """The MLP of one depth.

    >>> arch_of(2, 64)
    '784-64-64-10'
    """
    return "-".join(["784", *[str(width)] * depth, "10"])


def race(cfg: Config, runner, depth: int, acts: list[str]) -> tuple[dict, dict, list]:
    """The race at one depth: its numbers, its grid of runs {activation: {lr: [runs]}} and its raw rows."""
    seeds = seeds_of(cfg)
    lrs = sorted(set(cfg.lrs) | {cfg.fixed_lr})
    cells = [{"activation": a, "lr": lr, "seed": s, "arch": arch_of(depth, cfg.width), "train": cfg.train,
              "eval": cfg.eval_examples, "batch_size": cfg.batch_size, "max_steps": cfg.max_steps,
              "checkpoints": cfg.checkpoints, "targets": list(cfg.targets), "init": cfg.init,
              "abandon": lr != cfg.fixed_lr}
             for a in acts for lr in lrs for s in seeds]
    rows = runner.map(cell, cells, desc=f"ReLU convergence race, depth {depth}")
    grid: dict = {}
    for c, r in zip(cells, rows):
        grid.setdefault(c["activation"], {}).setdefault(c["lr"], []).append(r)
    cap = float(cfg.max_steps)
    # each activation at the rate that reaches each target fastest (the paper's protocol)
    best = {str(t): {a: _best_lr(grid[a], t, cap) for a in acts} for t in cfg.targets}
    chosen = {"fair": best, "fixed": {str(t): {a: cfg.fixed_lr for a in acts} for t in cfg.targets}}
    steps: dict = {}
    ratio: dict = {}
    for mode, lr_of in chosen.items():
        steps[mode], ratio[mode] = {}, {}
        for t in cfg.targets:
            reach = {a: [r["reach"][str(t)] for r in grid[a][lr_of[str(t)][a]]] for a in acts}
            floor = {a: [r["floor"] for r in grid[a][lr_of[str(t)][a]]] for a in acts}
            steps[mode][str(t)] = {a: dict(ci([v if math.isfinite(v) else fl for v, fl in zip(reach[a], floor[a])]),
                                           censored=sum(not math.isfinite(v) for v in reach[a])) for a in acts}
            ratio[mode][str(t)] = {a: _ratio(reach[a], reach["relu"], floor[a]) for a in acts if a != "relu"}
    sweep = {a: {str(lr): {str(t): float(np.median([min(r["reach"][str(t)], 2 * cap) for r in grid[a][lr]]))
                           for t in cfg.targets} for lr in lrs} for a in acts}
    numbers = {
        "arch": arch_of(depth, cfg.width), "best_lr": best, "steps": steps, "ratio": ratio,
        "median_steps_by_lr": sweep,
        "diverged_runs": {a: sum(r["diverged"] for lr in lrs for r in grid[a][lr]) for a in acts},
        "best_lr_at_grid_edge": sorted({a for t in best for a in acts
                                        if len(lrs) > 1 and best[t][a] in (lrs[0], lrs[-1])}),
    }
    raw = [dict(c, reach=r["reach"], diverged=r["diverged"], final_err=r["err"][-1], last_step=r["steps"][-1])
           for c, r in zip(cells, rows)]
    return numbers, grid, raw


def run(cfg: Config, runner) -> Outcome:
    acts = list(dict.fromkeys(("relu", *cfg.activations)))  # ReLU is the reference of every ratio
    by_depth, grids, raw = {}, {}, []
    for d in cfg.depths:
        by_depth[str(d)], grids[d], rows = race(cfg, runner, d, acts)
        raw += rows
    lrs = sorted(set(cfg.lrs) | {cfg.fixed_lr})
    numbers = {"targets": list(cfg.targets), "paper_target": cfg.targets[0], "fixed_lr": cfg.fixed_lr,
               "max_steps": cfg.max_steps, "depths": list(cfg.depths), "width": cfg.width, "by_depth": by_depth}
    figs = [_curves(cfg, acts, grids, by_depth), _ratios(cfg, acts, numbers)]
    init_txt = ("He (catalogue gain) for the ReLU family, Xavier normal for sigmoid and tanh, LeCun normal for SELU"
                if cfg.init == "family" else cfg.init)
    settings = (f"MLPs 784-{cfg.width}x(d)-10 for d = {', '.join(map(str, cfg.depths))} hidden layers, plain SGD (no "
                f"momentum), batch {cfg.batch_size}, float32, on {cfg.train} MNIST training images (a random subset "
                f"per seed, the same for every activation); training error on {min(cfg.eval_examples, cfg.train)} "
                f"of them at {cfg.checkpoints} log-spaced steps up to {cfg.max_steps}. Initialisation: {init_txt}. "
                f"Learning rates {', '.join(f'{v:g}' for v in lrs)}: fair = each activation's fastest to each "
                f"target, fixed = {cfg.fixed_lr:g} for all; a run stops at the hardest target, or at a quarter of the "
                f"budget if it has not reached the easiest. Seeds 0..{cfg.seeds - 1}.")
    return Outcome(numbers=numbers, raw={"runs": raw}, figures=figs, settings=settings)


def _fmt(template: str):
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: template.format(v))


_PCT = _fmt("{:.0%}")


def _times_label(v: float, _pos=None) -> str:
    """'2x', '0.5x', ...: only mantissas 1, 2, 3, 5 get a label (no crowding on log axes)."""
    if v <= 0:
        return ""
    m = round(v / 10 ** math.floor(math.log10(v) + 1e-9), 6)
    return f"{v:g}x" if m in (1, 2, 3, 5) else ""


def _times():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(_times_label)


_OTHERS = ("#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#8c564b", "#ff7f0e", "#9467bd")


def _color(a: str, i: int) -> str:
    return COLORS.get(a, _OTHERS[i % len(_OTHERS)])


def _curves(cfg: Config, acts: list[str], grids: dict, by_depth: dict):
    t = cfg.targets[0]
    fig, ax = new_figure(len(cfg.depths), 1, width=4.4, height=4.0, sharey=True)
    for j, d in enumerate(cfg.depths):
        a0 = ax[0, j]
        for i, a in enumerate(acts):
            lr = by_depth[str(d)]["best_lr"][str(t)][a]
            runs = grids[d][a][lr]
            n = min(len(r["steps"]) for r in runs)  # runs stop at the hardest target: the common part
            s = np.asarray(runs[0]["steps"][:n], dtype=float)
            e = np.mean([r["err"][:n] for r in runs], axis=0)
            lw = 2.6 if a in ("relu", "tanh", "sigmoid") else 1.4
            a0.plot(np.maximum(s, 0.5), np.maximum(e, 1e-3), color=_color(a, i), lw=lw, label=f"{a} (lr {lr:g})")
        for u in cfg.targets:
            a0.axhline(u, color="0.3", ls="--", lw=0.8)
        a0.set(xscale="log", yscale="log", xlabel="SGD steps (step 0 drawn at 0.5)",
               title=f"{d} hidden layer{'s' if d > 1 else ''} of {cfg.width}")
        a0.yaxis.set_major_formatter(_PCT)
        a0.legend(fontsize=7)
    ax[0, 0].set_ylabel("training error")
    return png(fig, "curves", f"Training error on MNIST against SGD steps (log scales), mean of {cfg.seeds} seeds, "
               f"each activation at its fastest learning rate to {t:.0%}, at each depth; dashed: the targets. A curve "
               "ends where the first seed stops (at the hardest target).")


def _ratios(cfg: Config, acts: list[str], numbers: dict):
    from matplotlib.ticker import NullLocator

    others = [a for a in acts if a != "relu"]
    fig, ax = new_figure(len(cfg.targets), 1, width=3.8, height=3.8, sharey=True)
    depths = np.array(cfg.depths, dtype=float)
    for j, t in enumerate(cfg.targets):
        a0 = ax[0, j]
        for i, a in enumerate(others):
            rs = [numbers["by_depth"][str(d)]["ratio"]["fair"][str(t)][a] for d in cfg.depths]
            m = np.array([r["mean"] for r in rs])
            lo, hi = np.array([r["lo"] for r in rs]), np.array([r["hi"] for r in rs])
            off = 1 + 0.06 * (i - (len(others) - 1) / 2)
            a0.errorbar(depths * off, m, yerr=[m - lo, hi - m], fmt="o-", color=_color(a, i + 1), capsize=3,
                        label=a)
            for x, r in zip(depths * off, rs):
                if r["censored"]:
                    a0.annotate(">", (x, r["mean"]), textcoords="offset points", xytext=(4, -4), fontsize=9,
                                color=_color(a, i + 1))
        a0.axhline(1, color="0.3", lw=1)
        a0.axhline(6, color="C3", ls="--", lw=1, label="paper: 6x")
        a0.set(xscale="log", yscale="log", xlabel="hidden layers", title=f"to {t:.0%} training error")
        a0.set_xticks(cfg.depths, [str(d) for d in cfg.depths])
        a0.xaxis.set_minor_locator(NullLocator())  # only the depths run are labelled
        a0.yaxis.set_major_formatter(_times())
        a0.yaxis.set_minor_formatter(_times())
    ax[0, 0].set_ylabel("steps / ReLU's steps")
    ax[0, 0].legend(fontsize=7)
    return png(fig, "ratios", "Steps to each training-error target relative to ReLU against depth, each activation "
               "at its best learning rate (geometric mean over seeds, 95 % t-interval on log ratios; '>' marks lower "
               "bounds where some runs never got there); dashed: the paper's 6x (CIFAR-10 CNN, against tanh).")


def _desc(r: dict) -> str:
    s = f"{r['mean']:.2f}x [{r['lo']:.2f}, {r['hi']:.2f}]"
    return s + (" (a lower bound)" if r.get("censored") else "")


def against(numbers: dict, a: str) -> tuple[str, str]:
    """The verdict against one activation, and its sentence. At each depth: faster = the
    ratio's interval above 1 at some target; slower = below 1 at every target; about 6x =
    a ratio of at least 4 at the paper's target. Confirmed: about 6x at every depth;
    refuted: faster at no depth, or slower at every depth; otherwise confirmed with
    caveats, "depends on depth" when the depths disagree."""
    t = str(numbers["paper_target"])
    targets = [str(v) for v in numbers["targets"]]
    per = {}
    for d in numbers["depths"]:
        fair = numbers["by_depth"][str(d)]["ratio"]["fair"]
        per[d] = {"faster": any(fair[u][a]["lo"] > 1 for u in targets),
                  "slower": all(fair[u][a]["hi"] < 1 for u in targets),
                  "six": fair[t][a]["mean"] >= 4 and fair[t][a]["lo"] > 1, "r": fair[t][a]}
    at = "; ".join(f"depth {d}: {_desc(p['r'])}" for d, p in per.items())
    line = f"against {a}, steps to {float(t):.0%} / ReLU's ({at})"
    if all(p["six"] for p in per.values()):
        return CONFIRMED, line + ": about 6x or more at every depth"
    if not any(p["faster"] for p in per.values()) or all(p["slower"] for p in per.values()):
        return REFUTED, line + ": ReLU is not measurably faster at any depth"
    kinds = {("six" if p["six"] else "faster" if p["faster"] else "slower" if p["slower"] else "tie")
             for p in per.values()}
    how = ", ".join(f"depth {d} " + ("about 6x" if p["six"] else "faster" if p["faster"] else
                                      "slower" if p["slower"] else "no measurable difference")
                    for d, p in per.items())
    return CAVEATS, line + (f": depends on depth ({how})" if len(kinds) > 1 else ": measurably faster, not by 6x")


def verdict(numbers) -> Verdict:
    """One line against tanh and one against sigmoid (see :func:`against`); the claim is
    confirmed if both are, refuted if both are, and confirmed with caveats otherwise."""
    t = str(numbers["paper_target"])
    parts = {a: against(numbers, a) for a in ("tanh", "sigmoid")}
    deepest = str(max(numbers["depths"]))
    shallow = str(min(numbers["depths"]))
    fair_deep = numbers["by_depth"][deepest]["ratio"]["fair"][t]
    fair_shallow = numbers["by_depth"][shallow]["ratio"]["fair"][t]
    def x(r: dict) -> str:  # ">=" where some runs never got there: the ratio is a lower bound
        return f"{'>= ' if r.get('censored') else ''}{r['mean']:.2f}x"

    key = (f"steps to {float(t):.0%} / ReLU's at the best lr: tanh {x(fair_shallow['tanh'])} "
           f"(depth {shallow}) to {x(fair_deep['tanh'])} (depth {deepest}), sigmoid "
           f"{x(fair_shallow['sigmoid'])} to {x(fair_deep['sigmoid'])}")
    lines = [f"{a.capitalize()}: {v}: {line}." for a, (v, line) in parts.items()]
    for d in numbers["depths"]:
        b = numbers["by_depth"][str(d)]
        fair, fixed = b["ratio"]["fair"], b["ratio"]["fixed"]
        lines.append(f"Depth {d} ({b['arch']}), fastest rates to {float(t):.0%} (ReLU {b['best_lr'][t]['relu']:g}, "
                     f"tanh {b['best_lr'][t]['tanh']:g}, sigmoid {b['best_lr'][t]['sigmoid']:g}); at the other "
                     "targets: " + "; ".join(f"{float(u):.0%} tanh {_desc(fair[u]['tanh'])}, sigmoid "
                                             f"{_desc(fair[u]['sigmoid'])}" for u in fair if u != t)
                     + f". At one fixed rate {numbers['fixed_lr']:g}: tanh {_desc(fixed[t]['tanh'])}, sigmoid "
                     f"{_desc(fixed[t]['sigmoid'])}.")
        if b["best_lr_at_grid_edge"]:
            lines.append(f"At depth {d} the fastest rate of {', '.join(b['best_lr_at_grid_edge'])} is at an end of "
                         "the sweep for some target: a wider sweep could move it.")
    lines.append("The paper's 6x is for a four-layer CNN on CIFAR-10 against tanh; this is an MLP on MNIST.")
    verdicts = {v for v, _ in parts.values()}
    overall = verdicts.pop() if len(verdicts) == 1 else CAVEATS
    return Verdict(overall, " ".join(lines), key)


EXPERIMENT = register(
    name="relu_convergence",
    number=4,
    tutorial="000",
    claim="With SGD, ReLU converges about 6 times faster than sigmoid or tanh.",
    korean="확률적 경사하강법(SGD)을 쓴다고 할 때, 시그모이드 함수나 하이퍼볼릭 탄젠트 함수에 비해 수렴하는 "
    "속도가 약 6배 "
    "가까이 빠르다고 한다!",
    config=Config,
    run=run,
    verdict=verdict,
)
