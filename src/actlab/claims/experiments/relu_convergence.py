"""ReLU converges faster than sigmoid and tanh with SGD: an MNIST race with a fair learning rate (tutorial 000)

Tutorial 000 repeats Krizhevsky et al. (2012): a four-layer CNN on CIFAR-10 reached 25 %
training error six times faster with ReLU than with tanh, each network at the learning
rate that trained it fastest. Here every activation trains the same MLP on a subset of
MNIST with plain SGD (no momentum, no regularisation), the initialisation of its family
(He with the catalogue's gain for the ReLU family, Xavier for sigmoid and tanh, LeCun for
SELU, each the scheme designed to keep that activation's signal variance), and the race
is run twice: at one fixed learning rate for all, and at each activation's best rate from
a small sweep (the paper's protocol). The training error is measured on a fixed sample of
the training subset at log-spaced steps; a run stops once it reaches the hardest target.

The left figure shows the training-error curves at the fair rates against steps on a log
scale (targets dashed): a horizontal gap between curves is a ratio of steps. The right
figure shows, for each activation, the steps to reach each target divided by ReLU's (the
geometric mean over seeds, paired by seed, with a 95 % t-interval on the log ratio), at the
fair and at the fixed rate, against the paper's 6x.
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
    seeds: int = 4
    activations: tuple[str, ...] = setting(("relu", "tanh", "sigmoid", "leaky_relu", "elu", "gelu", "silu", "selu"),
                                           check=activation_spec)
    lrs: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0)
    fixed_lr: float = 0.1
    targets: tuple[float, ...] = setting((0.25, 0.05), low=0, high=1, low_open=True, high_open=True)  # error rates
    arch: str = "784-64-10"
    train: int = 10000
    eval_examples: int = 1000
    batch_size: int = 128
    max_steps: int = 2000
    checkpoints: int = 40
    init: str = "family"
    QUICK: ClassVar[dict] = {"seeds": 3, "activations": ("relu", "tanh", "sigmoid"), "lrs": (0.1, 0.3, 1.0, 3.0),
                             "targets": (0.25, 0.1), "train": 3000, "eval_examples": 1000, "max_steps": 250,
                             "checkpoints": 25}
    FULL: ClassVar[dict] = {"seeds": 8, "lrs": (0.03, 0.1, 0.3, 1.0, 3.0, 10.0), "train": 60000, "eval_examples": 2000,
                            "max_steps": 3000, "checkpoints": 50}


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


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    acts = list(dict.fromkeys(("relu", *cfg.activations)))  # ReLU is the reference of every ratio
    lrs = sorted(set(cfg.lrs) | {cfg.fixed_lr})
    cells = [{"activation": a, "lr": lr, "seed": s, "arch": cfg.arch, "train": cfg.train, "eval": cfg.eval_examples,
              "batch_size": cfg.batch_size, "max_steps": cfg.max_steps, "checkpoints": cfg.checkpoints,
              "targets": list(cfg.targets), "init": cfg.init, "abandon": lr != cfg.fixed_lr}
             for a in acts for lr in lrs for s in seeds]
    rows = runner.map(cell, cells, desc="ReLU convergence race")
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
        "targets": list(cfg.targets), "paper_target": cfg.targets[0], "fixed_lr": cfg.fixed_lr,
        "max_steps": cfg.max_steps,
        "best_lr": best, "steps": steps, "ratio": ratio, "median_steps_by_lr": sweep,
        "diverged_runs": {a: sum(r["diverged"] for lr in lrs for r in grid[a][lr]) for a in acts},
        "best_lr_at_grid_edge": sorted({a for t in best for a in acts
                                        if len(lrs) > 1 and best[t][a] in (lrs[0], lrs[-1])}),
    }
    figs = [_curves(cfg, acts, grid, best), _ratios(cfg, acts, numbers)]
    init_txt = ("He (catalogue gain) for the ReLU family, Xavier normal for sigmoid and tanh, LeCun normal for SELU"
                if cfg.init == "family" else cfg.init)
    settings = (f"{cfg.arch} MLP, plain SGD (no momentum), batch {cfg.batch_size}, float32, on {cfg.train} MNIST "
                f"training images (a random subset per seed, the same for every activation); training error on "
                f"{min(cfg.eval_examples, cfg.train)} of them at {cfg.checkpoints} log-spaced steps "
                f"up to {cfg.max_steps}. "
                f"Initialisation: {init_txt}. "
                f"Learning rates {', '.join(f'{v:g}' for v in lrs)}: fair = each activation's fastest to each "
                f"target, fixed = {cfg.fixed_lr:g} for all; a run stops at the hardest target, or at a quarter of the "
                f"budget if it has not reached the easiest. Seeds 0..{cfg.seeds - 1}.")
    raw = {"runs": [dict(c, reach=r["reach"], diverged=r["diverged"], final_err=r["err"][-1], last_step=r["steps"][-1])
                    for c, r in zip(cells, rows)]}
    return Outcome(numbers=numbers, raw=raw, figures=figs, settings=settings)


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


def _curves(cfg: Config, acts: list[str], grid: dict, best: dict):
    fig, ax = new_figure(len(cfg.targets), 1, width=5.0, height=4.2)
    for j, t in enumerate(cfg.targets):
        a0 = ax[0, j]
        for i, a in enumerate(acts):
            lr = best[str(t)][a]
            runs = grid[a][lr]
            n = min(len(r["steps"]) for r in runs)  # runs stop at the hardest target: the common part
            s = np.asarray(runs[0]["steps"][:n], dtype=float)
            e = np.mean([r["err"][:n] for r in runs], axis=0)
            lw = 2.6 if a in ("relu", "tanh", "sigmoid") else 1.4
            a0.plot(np.maximum(s, 0.5), e, color=_color(a, i), lw=lw, label=f"{a} (lr {lr:g})")
        a0.axhline(t, color="0.3", ls="--", lw=1)
        a0.set(xscale="log", yscale="log", xlabel="SGD steps (step 0 drawn at 0.5)", ylabel="training error",
               title=f"fastest lr to {t:.0%} (dashed)")
        a0.yaxis.set_major_formatter(_PCT)
        a0.legend(fontsize=7, ncol=2)
    return png(fig, "curves", f"Training error of the {cfg.arch} MLP on MNIST against SGD steps (log scales), mean "
               f"of {cfg.seeds} seeds, each activation at its fastest learning rate to the target of the panel "
               "(dashed). A curve ends where the first seed stops (at the hardest target).")


def _ratios(cfg: Config, acts: list[str], numbers: dict):
    others = [a for a in acts if a != "relu"]
    fig, ax = new_figure(len(cfg.targets), 1, width=4.6, height=3.8)
    x = np.arange(len(others))
    for j, t in enumerate(cfg.targets):
        a0 = ax[0, j]
        for k, (mode, mk, off) in enumerate((("fair", "o", -0.15), ("fixed", "s", 0.15))):
            r = numbers["ratio"][mode][str(t)]
            m = np.array([r[a]["mean"] for a in others])
            lo = np.array([r[a]["lo"] for a in others])
            hi = np.array([r[a]["hi"] for a in others])
            label = "fair lr (best each)" if mode == "fair" else f"fixed lr {cfg.fixed_lr:g}"
            a0.errorbar(x + off, m, yerr=[m - lo, hi - m], fmt=mk, color=f"C{k}", capsize=3, label=label)
            for xi, a in zip(x, others):
                if r[a]["censored"]:
                    a0.annotate(">", (xi + off, r[a]["mean"]), textcoords="offset points", xytext=(4, -4),
                                fontsize=9, color=f"C{k}")
        a0.axhline(1, color="0.3", lw=1)
        a0.axhline(6, color="C3", ls="--", lw=1, label="paper: 6x (CIFAR-10 CNN, tanh)")
        a0.set_xticks(x, others, rotation=45, ha="right")
        a0.set(yscale="log", ylabel="steps / ReLU's steps", title=f"to {t:.0%} training error")
        a0.yaxis.set_major_formatter(_times())
        a0.yaxis.set_minor_formatter(_times())
        a0.legend(fontsize=7)
    return png(fig, "ratios", "Steps to reach each training-error target relative to ReLU (geometric mean over "
               "seeds, 95 % t-interval on log ratios; '>' marks lower bounds where some runs never reached it), at "
               "each activation's best learning rate and at one fixed rate.")


def verdict(numbers) -> Verdict:
    """Confirmed if, at the fair rates, ReLU is measurably faster (95 % interval of the
    ratio above 1 at either target) than both tanh and sigmoid, by 4x or more at the
    paper's target; refuted if it is faster than neither, or if one of them is measurably
    faster than ReLU at every target; otherwise confirmed with caveats."""
    targets = [str(v) for v in numbers["targets"]]
    t = str(numbers["paper_target"])
    fair, fixed, best = numbers["ratio"]["fair"], numbers["ratio"]["fixed"], numbers["best_lr"]
    classic = ("tanh", "sigmoid")

    def desc(r: dict) -> str:
        s = f"{r['mean']:.2f}x [{r['lo']:.2f}, {r['hi']:.2f}]"
        return s + (f" (a lower bound: {r['censored']} run(s) never got there)" if r.get("censored") else "")

    faster = {a: any(fair[u][a]["lo"] > 1 for u in targets) for a in classic}
    slower = {a: all(fair[u][a]["hi"] < 1 for u in targets) for a in classic}
    about6 = all(fair[t][a]["mean"] >= 4 for a in classic)
    key = (f"steps to {float(t):.0%} error / ReLU's at the fair lr: tanh {fair[t]['tanh']['mean']:.2f}x, sigmoid "
           f"{fair[t]['sigmoid']['mean']:.2f}x (fixed lr {numbers['fixed_lr']:g}: "
           f"tanh {fixed[t]['tanh']['mean']:.2f}x, "
           f"sigmoid {fixed[t]['sigmoid']['mean']:.2f}x)")
    lines = []
    for u in targets:
        lines.append(f"Steps to {float(u):.0%} training error relative to ReLU, each at its fastest rate (ReLU "
                     f"{best[u]['relu']:g}, tanh {best[u]['tanh']:g}, sigmoid {best[u]['sigmoid']:g}): tanh "
                     f"{desc(fair[u]['tanh'])}, sigmoid {desc(fair[u]['sigmoid'])}.")
    change = {a: fixed[t][a]["mean"] / fair[t][a]["mean"] for a in classic}

    def effect(f: float) -> str:
        return "inflates" if f > 1.25 else ("shrinks" if f < 0.8 else "hardly changes")

    lines.append(f"At one fixed rate {numbers['fixed_lr']:g} for all: "
                 + "; ".join(f"to {float(u):.0%} tanh {desc(fixed[u]['tanh'])}, sigmoid {desc(fixed[u]['sigmoid'])}"
                             for u in targets)
                 + ". At the paper's target the shared rate "
                 + " and ".join(f"{effect(change[a])} the {a} ratio ({change[a]:.2f}x the fair one)" for a in classic)
                 + ": a race at one rate measures the rate as much as the activation.")
    rest = [a for a in fair[t] if a not in classic]
    if rest:
        lines.append(f"Other activations (fair rate, to {float(t):.0%}): "
                     + ", ".join(f"{a} {fair[t][a]['mean']:.2f}x" for a in rest) + ".")
    edge = numbers.get("best_lr_at_grid_edge", [])
    if edge:
        lines.append(f"The fastest rate of {', '.join(edge)} is at an end of the sweep for some target: a wider sweep "
                     "could move it.")
    lines.append("The paper's 6x is for a four-layer CNN on CIFAR-10 against tanh; this is an MLP on MNIST.")
    detail = " ".join(lines)
    if not any(faster.values()):
        return Verdict(REFUTED, "At the fair learning rates ReLU is not measurably faster than tanh or sigmoid. "
                       + detail, key)
    if any(slower.values()):
        return Verdict(REFUTED, f"At the fair learning rates ReLU is faster than "
                       f"{' and '.join(a for a in classic if faster[a])} at some target only, and slower than "
                       f"{' and '.join(a for a in classic if slower[a])} at every target. " + detail, key)
    if all(faster.values()) and about6:
        return Verdict(CONFIRMED, "ReLU reaches the targets several times sooner than both. " + detail, key)
    quick = " and ".join(a for a in classic if faster[a])
    gap = "not by about 6x" if all(faster.values()) else "not than " + " or ".join(a for a in classic if not faster[a])
    return Verdict(CAVEATS, f"At the fair learning rates ReLU is measurably faster than {quick}, but {gap}. "
                   + detail, key)


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
