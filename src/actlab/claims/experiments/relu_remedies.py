"""ThresholdReLU, Softplus and Swish remedy dying ReLU: they lose fewer units where ReLU units die (tutorial 003)

What the tutorial says. 003: ReLU passes a 0 on, the next layers' outputs all become 0 ("dying
ReLU"); to remedy it, activations improved to represent some negative values are used:
LeakyReLU, ELU, PReLU, ThresholdReLU, Softplus, Swish. Claim 6 (dying_relu) tests the first
three; this claim tests the other three: thresholded ReLU (Keras' ThresholdedReLU, f(z) = z if
z > theta else 0, theta = 1), softplus (log(1 + e^z)) and Swish with beta = 1 (SiLU, z sigmoid(z)).
Read literally the description fits none of them well: thresholded ReLU outputs no negative
value and has zero output and zero slope on all of z <= 1, a zero region 1 wider than ReLU's;
softplus outputs no negative value either but its slope is never 0; only Swish outputs negative
values (down to about -0.28). So what each does is measured, not assumed.

Definitions. ReLU's "inactive" (z <= 0 on every example) does not fit the three, so every arm,
ReLU included, uses one definition by the gradient: a hidden unit is *dead* when the largest
|f'(z)| over the training examples is at most 1e-3 (:data:`actlab.nn.diagnostics.DEAD_EPS`): the
weights feeding it then get (next to) no gradient. For ReLU this is exactly inactive (f' is 0 or
1, f'(0) = 0); for thresholded ReLU it is z <= 1 everywhere; for softplus z <= about -6.9; for
Swish z <= about -9 (or z inside a band of width about 0.01 around its minimum at -1.28). A unit
*was lost for good* when it was alive at initialisation and dead at the end; units dead at
initialisation are subtracted and reported apart; a unit *recovered* when it was alive at
initialisation, dead at some checkpoint before the end and alive at the end (as in claim 6, on
the dead sets). Inactive (z <= 0 everywhere) is recorded too, for reference.

Design: claim 6's setting. Its stage 1 (ReLU at every learning rate, the main width and depth)
runs through claim 6's own cell with claim 6's settings, so the cells are shared with it; its
*dying range* (rates at which ReLU lost significantly at least 5 % of its units) and its lowest
``max_mitigation_lrs`` rates come from claim 6's ``lr_part``. At those rates ReLU and the three
remedies are trained again through this module's cell (the same seeds, data subsets and
initial draws as claim 6: He initialisation scaled by each activation's catalogue gain, biases
0), recording the dead and inactive sets at claim 6's checkpoints, divergence (a non-finite
loss stops the run; it counts at chance, 0.1, in the accuracy) and the held-out accuracy. A
run in which a whole layer has f' exactly 0 on every training example passes no gradient
below it: it is stopped there, as claim 6 stops a collapsed ReLU run.

Statistics. Units pool over seeds and layers with Wilson 95 % intervals (optimistic: the units
of one network die together); accuracy differences to ReLU are paired by seed, 95 % t interval.

The rule (fixed before any run). At each tested rate, against ReLU at the same rate and seeds
(through this module's cell, so the definitions match), a remedy *works* when it diverged in no
more runs than ReLU, its accuracy is not lower (the interval of the difference is not entirely
below -acc_margin) and it lost significantly fewer units for good (Wilson intervals apart) or
recovered significantly more of its dead units: claim 6's ``arm_outcome``. It *makes it worse*
when it lost significantly more units than ReLU or its accuracy is significantly lower (the
interval entirely below -acc_margin). CONFIRMED when all three work at every tested rate;
REFUTED when none works at any; CAVEATS otherwise, naming which works and why not. An empty
dying range (or no ReLU run that finished) tests nothing: CAVEATS, "not tested".

Figure (remedies): at the tested rates, the units each arm lost for good (Wilson bars), its
held-out accuracy minus ReLU's, the fraction of its units dead at initialisation, and the
fraction lost over training (mean over seeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...nn.diagnostics import DEAD_EPS
from ..figures import by, ci, new_figure, png
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, activation_spec, register, setting
from . import dying_relu as D

_D = D.Config
_OWN = ("seeds", "lrs", "width", "depth", "train_examples", "test_examples", "steps", "batch", "checkpoints",
        "max_mitigation_lrs")
COLORS = {"relu": "#1f77b4", "thresholded_relu": "#d62728", "softplus": "#2ca02c", "silu": "#9467bd"}


def _shared(size: dict) -> dict:
    """Claim 6's size dict restricted to the fields this claim has: each size shares claim 6's cells."""
    return {k: v for k, v in size.items() if k in _OWN}


@dataclass
class Config:
    # every value but `activations` is claim 6's (dying_relu.Config), so stage 1 is claim 6's cells
    seeds: int = _D.seeds
    # the remedies tested against ReLU (always run, the baseline)
    activations: tuple[str, ...] = setting(("thresholded_relu", "softplus", "silu"), check=activation_spec)
    lrs: tuple[float, ...] = _D.lrs
    width: int = _D.width
    depth: int = _D.depth
    train_examples: int = _D.train_examples  # also the probe set of the dead test
    test_examples: int = _D.test_examples
    steps: int = _D.steps
    batch: int = _D.batch
    checkpoints: int = _D.checkpoints
    material: float = setting(_D.material, low=0, high=1, low_open=True)  # the dying range: >= this lost
    acc_margin: float = setting(_D.acc_margin, low=0, high=1)  # an accuracy this much lower is worse
    max_mitigation_lrs: int = _D.max_mitigation_lrs  # remedies at this many of the lowest dying rates
    QUICK: ClassVar[dict] = _shared(_D.QUICK)
    FULL: ClassVar[dict] = _shared(_D.FULL)
    NEIGHBOURS: ClassVar[dict] = dict(_D.NEIGHBOURS)


def _common(cfg: Config) -> dict:
    return {"train_examples": cfg.train_examples, "test_examples": cfg.test_examples, "steps": cfg.steps,
            "batch": cfg.batch, "checkpoints": cfg.checkpoints}


def stage1_cells(cfg: Config) -> list[dict]:
    """Claim 6's stage-1 cells of the main setting, exactly as dying_relu.run builds them (cache hits)."""
    lrs = sorted(set(float(v) for v in cfg.lrs))
    return [dict(_common(cfg), setting="main", width=cfg.width, depth=cfg.depth, act="relu", bn=0, lr=lr, seed=s)
            for lr in lrs for s in range(cfg.seeds)]


# ----------------------------------------------------------------------------- one run

def cell(c: dict) -> dict:
    """Train claim 6's network with activation ``c["act"]``, recording its dead and inactive units on
    the training subset at claim 6's checkpoints."""
    from ... import nn
    from ...nn import diagnostics

    X, _, Xt, yt = D._data(c)
    marks = set(D.checkpoint_steps(c["steps"], c["checkpoints"]))
    dead: list[list[np.ndarray]] = []
    inactive: list[list[np.ndarray]] = []
    collapsed: list[bool] = []  # per checkpoint: a layer with f' exactly 0 on every training example

    def callback(step, m, loss):
        if step in marks:
            reps = diagnostics.dead_units(m, X)
            dead.append([r.dead.copy() for r in reps])
            inactive.append([r.inactive.copy() for r in reps])
            collapsed.append(any(not r.max_abs_df.any() for r in reps))
            # such a layer passes no gradient down: the layers up to it are frozen for good (claim 6 stops a
            # collapsed ReLU run the same way)
            return step > 0 and collapsed[-1]
        return None

    model, hist = D.train(c, callback)
    losses = np.asarray(hist.step_loss, dtype=float)
    diverged = hist.stopped is not None and "loss is" in hist.stopped
    out = {"diverged": diverged, "stopped": hist.stopped, "steps_run": int(np.isfinite(losses).sum()),
           "units": [int(m.size) for m in dead[0]], "init_dead": [int(m.sum()) for m in dead[0]],
           "init_dead_units": [np.flatnonzero(m).tolist() for m in dead[0]]}
    if diverged:  # nothing left to count at the end
        return out | {"test_acc": float("nan")}
    counts = D.unit_counts(dead)
    init, end = dead[0], dead[-1]
    alive0 = sum(int((~m).sum()) for m in init)
    return out | counts | {
        "test_acc": nn.evaluate(model, Xt, yt)["acc"],
        "collapsed": collapsed[-1],
        # lost for good yet z > 0 on some example: dead only because f' is 0 above 0 too (thresholded ReLU's band)
        "died_not_inactive": [int((~i & e & ~n).sum()) for i, e, n in zip(init, end, inactive[-1])],
        "inactive_init": [int(m.sum()) for m in inactive[0]], "inactive_end": [int(m.sum()) for m in inactive[-1]],
        "end_dead_units": [np.flatnonzero(m).tolist() for m in end],
        "died_series": [sum(int((~i & m).sum()) for i, m in zip(init, ms)) / max(alive0, 1) for ms in dead],
    }


# ----------------------------------------------------------------------------- reduction

def dead_zone(spec: str, eps: float = DEAD_EPS) -> dict:
    """Where |f'(z)| <= eps (on a 1e-4 grid of z in [-30, 10], float64): the bound of the zone that reaches
    -30 (``below``, None if none), the other bands, and the smallest output (negative values or not)."""
    import actlab

    z = np.linspace(-30.0, 10.0, 400001)
    act = actlab.get("leaky_relu(slope=0.25)" if spec == "prelu" else spec)
    small = np.abs(act.df(z)) <= eps
    edges = np.flatnonzero(np.diff(small.astype(np.int8)))
    starts = ([0] if small[0] else []) + [int(i) + 1 for i in edges if not small[i]]
    ends = [int(i) for i in edges if small[i]] + ([len(z) - 1] if small[-1] else [])
    bands = [[round(float(z[a]), 4), round(float(z[b]), 4)] for a, b in zip(starts, ends)]
    below = bands.pop(0)[1] if bands and small[0] else None
    return {"below": below, "bands": bands, "min_output": float(np.min(act.f(z))) + 0.0}


def _arm_stats(rows: list[dict]) -> dict:
    """The numbers of one (activation, lr): rows are its runs, one per seed, in seed order."""
    ok = [r for r in rows if not r["diverged"]]
    out = {"runs": len(rows), "diverged": len(rows) - len(ok), "acc_seeds": [D._acc(r) for r in rows],
           "test_acc": ci([r["test_acc"] for r in ok]) if ok else None,
           # the initial network does not depend on the rate; diverged runs are counted here too
           "init_dead": D._prop(sum(sum(r["init_dead"]) for r in rows), sum(sum(r["units"]) for r in rows))}
    if ok:
        out |= {"died": D._died(ok), "died_seeds": [D._died_frac(r) for r in ok],
                "recovered": D._prop(sum(sum(r["recovered"]) for r in ok), sum(sum(r["ever"]) for r in ok)),
                "died_not_inactive": D._prop(sum(sum(r["died_not_inactive"]) for r in ok),
                                             sum(sum(r["died"]) for r in ok)),
                "inactive_end": D._prop(sum(sum(r["inactive_end"]) for r in ok), sum(sum(r["units"]) for r in ok)),
                "collapsed": sum(r["collapsed"] for r in ok)}
    return out


def worse(relu: dict, arm: dict, margin: float) -> list[str]:
    """How a remedy makes it worse than ReLU at one rate: significantly more units lost, lower accuracy."""
    why = []
    if arm.get("died", {}).get("n") and relu.get("died", {}).get("n") and arm["died"]["lo"] > relu["died"]["hi"]:
        why.append("more units lost")
    if arm["acc_diff"]["hi"] < -margin:
        why.append("lower accuracy")
    return why


def run(cfg: Config, runner) -> Outcome:
    lrs = sorted(set(float(v) for v in cfg.lrs))
    keys = [f"{lr:g}" for lr in lrs]
    remedies = [a for a in dict.fromkeys(cfg.activations) if a != "relu"]
    stage1 = stage1_cells(cfg)
    rows1 = [dict(c, **r) for c, r in zip(stage1, runner.map(D.cell, stage1, desc="ReLU remedies: claim 6's grid"))]
    g1 = by(rows1, "lr")
    grid = {f"{lr:g}": D._stats(g1[lr], cfg.depth) for lr in lrs}
    part = D.lr_part(grid, keys, cfg.material)
    tested = [float(lr) for lr in part["dying"][:cfg.max_mitigation_lrs]]
    stage2 = [dict(_common(cfg), width=cfg.width, depth=cfg.depth, act=a, bn=0, lr=lr, seed=s)
              for a in ["relu", *remedies] for lr in tested for s in range(cfg.seeds)]
    rows2 = [dict(c, **r) for c, r in zip(stage2, runner.map(cell, stage2, desc="ReLU remedies: the remedies"))]
    g2 = by(rows2, "act", "lr")
    relu = {f"{lr:g}": _arm_stats(g2[("relu", lr)]) for lr in tested}
    arms = {}
    for a in remedies:
        arms[a] = {}
        for lr in tested:
            st = _arm_stats(g2[(a, lr)])
            arms[a][f"{lr:g}"] = st | {"acc_diff": D._paired(st["acc_seeds"], relu[f"{lr:g}"]["acc_seeds"])}
    tested_under = (f"MLP 784-{'-'.join([str(cfg.width)] * cfg.depth)}-10 (He init with each activation's gain, "
                    f"biases 0, float32), plain SGD (batch {cfg.batch}, {cfg.steps} steps) on {cfg.train_examples} "
                    f"MNIST training images (a subset per seed), {cfg.seeds} seeds; held-out accuracy on "
                    f"{cfg.test_examples} test images; claim 6's ReLU grid at lrs {', '.join(keys)}")
    numbers = {
        "definition": ("dead: max over the training examples of |f'(z)| <= 1e-3 (ReLU: z <= 0 everywhere); lost for "
                       "good: alive at initialisation, dead at the end; recovered: alive at initialisation, dead at "
                       "a checkpoint before the end, alive at the end"),
        "tested_under": tested_under, "material": cfg.material, "acc_margin": cfg.acc_margin,
        "lrs": keys, "grid": {lr: {k: v[k] for k in ("runs", "diverged", "died") if k in v} for lr, v in grid.items()},
        "lr_part": part["outcome"], "dying": part["dying"], "tested": [f"{lr:g}" for lr in tested],
        "relu": relu, "arms": arms, "zones": {a: dead_zone(a) for a in ["relu", *remedies]},
        "checkpoint_steps": D.checkpoint_steps(cfg.steps, cfg.checkpoints),
        "series": {a: {f"{lr:g}": [r["died_series"] for r in g2[(a, lr)] if not r["diverged"]] for lr in tested}
                   for a in ["relu", *remedies]},
    }
    settings_text = (f"{tested_under}. ReLU and the remedies ({', '.join(remedies)}) at the lowest "
                     f"{cfg.max_mitigation_lrs} rates where claim 6's ReLU lost significantly at least "
                     f"{cfg.material:.0%} of its units, same seeds. {numbers['definition']}.")
    raw = {"grid": [{k: v for k, v in r.items() if k != "series"} for r in rows1],
           "runs": [{k: v for k, v in r.items() if k != "died_series"} for r in rows2]}
    return Outcome(numbers=numbers, raw=raw, figures=[_figure(numbers)], settings=settings_text)


# ----------------------------------------------------------------------------- figure

def _bar(ax, x, r, width, col):
    if r is None:  # every run diverged
        ax.plot(x, 0, "x", color=col, ms=8, mew=2)
    elif not r["n"]:  # no unit to count
        ax.plot(x, 0, "o", color=col, ms=5, mfc="none")
    else:
        lo, hi = max(r["lo"], -1.0), min(r["hi"], 1.0)  # a difference of accuracies: drawn within [-1, 1]
        ax.bar(x, r["mean"], width, color=col)
        ax.errorbar(x, r["mean"], yerr=[[r["mean"] - lo], [hi - r["mean"]]], color="k", capsize=2)


def _figure(n: dict):
    from matplotlib.patches import Patch

    names = ["relu", *n["arms"]]
    fig, ax = new_figure(4, 1, width=3.8, height=3.4)
    width = 0.8 / len(names)
    for j, lr in enumerate(n["tested"]):
        for i, a in enumerate(names):
            v = n["relu"][lr] if a == "relu" else n["arms"][a][lr]
            x, col = j + (i - len(names) / 2 + 0.5) * width, COLORS.get(a, "k")
            _bar(ax[0, 0], x, v.get("died"), width, col)
            if a != "relu":
                _bar(ax[0, 1], x, v["acc_diff"], width, col)
            for s in n["series"][a][lr]:  # a run stopped when a layer collapsed has fewer checkpoints
                ax[0, 3].plot(np.maximum(n["checkpoint_steps"][:len(s)], 1), s, "-" if j == 0 else "--", color=col,
                              lw=1, alpha=0.7)
    for i, a in enumerate(names if n["tested"] else []):  # the initial network does not depend on the rate
        _bar(ax[0, 2], i, (n["relu"] if a == "relu" else n["arms"][a])[n["tested"][0]]["init_dead"], 0.7,
             COLORS.get(a, "k"))
    if not n["tested"]:
        ax[0, 0].text(0.5, 0.5, "not tested:\nno dying range", transform=ax[0, 0].transAxes, ha="center")
    lrs = [f"lr {lr}" for lr in n["tested"]]
    ax[0, 0].set(xticks=range(len(lrs)), xticklabels=lrs, title="units lost for good",
                 ylabel="dead at end, alive at init")
    ax[0, 1].set(xticks=range(len(lrs)), xticklabels=lrs, title="held-out accuracy minus ReLU's",
                 ylabel="paired difference (same seed)")
    ax[0, 1].axhline(0, color="k", lw=0.8)
    ax[0, 2].set(xticks=range(len(names)), xticklabels=names, title="dead at initialisation",
                 ylabel="fraction of units")
    ax[0, 2].tick_params(axis="x", labelrotation=25, labelsize=7)
    ax[0, 3].set(title="lost over training (solid: first rate)", xlabel="SGD step (step 0 drawn at 1)",
                 xscale="log", ylabel="fraction of units alive at init", ylim=(-0.03, 1.03))
    ax[0, 0].legend(handles=[Patch(color=COLORS.get(a, "k"), label=a) for a in names], fontsize=7)
    return png(fig, "remedies", "ReLU and the remedies at the lowest rates where claim 6's ReLU lost units (same "
               "seeds). Dead: |f'(z)| <= 1e-3 on every training example. Units pooled over seeds and layers, Wilson "
               "95 % bars (x: every run diverged; o: no unit to count); accuracy: 95 % t interval of the paired "
               "difference (a diverged run at chance, 0.1). Right: each run's fraction of its initially alive "
               "units that are dead at each checkpoint.")


# ----------------------------------------------------------------------------- verdict

def _f(r: dict | None) -> str:
    return "-" if not r or not r.get("n") else f"{r['mean']:.3f} ({r['k']}/{r['n']})"


def _m(r: dict | None) -> str:
    return "-" if not r or not r.get("n") else f"{r['mean']:.3f}"


def judge(numbers) -> dict:
    """Per remedy: the outcome at each tested rate ('works' or why not), how it makes it worse, and overall."""
    margin, out = numbers["acc_margin"], {}
    for a, per in numbers["arms"].items():
        at = {lr: D.arm_outcome(numbers["relu"][lr], v, margin) for lr, v in per.items()}
        bad = {lr: worse(numbers["relu"][lr], v, margin) for lr, v in per.items()}
        good = [lr for lr, o in at.items() if o == "works"]
        out[a] = {"at": at, "worse": {lr: w for lr, w in bad.items() if w},
                  "outcome": "not tested" if not at else "works" if len(good) == len(at) else
                  "partly" if good else "fails"}
    return out


def _arm_text(a: str, j: dict, n: dict) -> str:
    per, relu, z = n["arms"][a], n["relu"], n["zones"]
    parts = []
    for lr, o in j["at"].items():
        v, d = per[lr], per[lr]["acc_diff"]
        w = j["worse"].get(lr)
        parts.append(f"lr {lr}: {o}{' and makes it worse (' + ', '.join(w) + ')' if w else ''}: lost "
                     f"{_f(v.get('died'))} vs ReLU {_f(relu[lr].get('died'))}, recovered {_f(v.get('recovered'))} vs "
                     f"{_f(relu[lr].get('recovered'))}, diverged {v['diverged']}/{v['runs']} vs "
                     f"{relu[lr]['diverged']}/{relu[lr]['runs']}, accuracy {d['mean']:+.3f} [{d['lo']:+.3f}, "
                     f"{d['hi']:+.3f}]")
    first = n["tested"][0]
    text = (f"{a} {j['outcome']}: " + "; ".join(parts) + f". Dead at initialisation (subtracted): "
            f"{_f(per[first]['init_dead'])} vs ReLU {_f(relu[first]['init_dead'])}")
    za, zr = z[a]["below"], z["relu"]["below"]
    if za is not None and zr is not None and za > zr:
        band = [per[lr]["died_not_inactive"] for lr in per if per[lr].get("died_not_inactive", {}).get("n")]
        k, m = sum(b["k"] for b in band), sum(b["n"] for b in band)
        more = any("more units lost" in w for w in j["worse"].values())
        text += (f". Its zero-gradient region is z <= {za:g}, {za - zr:g} wider than ReLU's (z <= {zr:g})"
                 + (", so it dies more" if more else "")
                 + (f": {k}/{m} of the units it lost still had z > 0 on some example (alive by ReLU's definition)"
                    if m else ""))
    elif za is not None:
        text += f". It is dead only where z <= {za:.3g} everywhere (|f'| <= {DEAD_EPS:g})"
    return text


def verdict(numbers) -> Verdict:
    under = f"Tested under: {numbers['tested_under']}. Definitions: {numbers['definition']}."
    grid = ", ".join(f"lr {lr} {_f(v.get('died'))}" + (f" ({v['diverged']}/{v['runs']} diverged)" if v["diverged"]
                                                         else "") for lr, v in numbers["grid"].items())
    relu_txt = f"Claim 6's ReLU grid, units lost for good: {grid}."
    if not numbers["tested"] or not numbers["arms"]:
        why = ("no remedy was asked for" if numbers["tested"] else "no ReLU run finished" if numbers["lr_part"] ==
               "no runs" else f"ReLU lost significantly at least {numbers['material']:.0%} of its units at no rate")
        return Verdict(CAVEATS, f"{under} {relu_txt} Not tested: {why}, so the remedies were not judged.",
                       f"not tested: {why}")
    j = judge(numbers)
    z = numbers["zones"]
    neg = [a for a in j if z[a]["min_output"] < 0]
    text = [under, relu_txt, f"Dying range: {', '.join(numbers['dying'])}; tested at {', '.join(numbers['tested'])}.",
            "Against ReLU at the same rate and seeds: " + "; ".join(_arm_text(a, j[a], numbers) for a in j) + ".",
            "Negative outputs (the tutorial's description): " + ", ".join(
                f"{a} min f = {z[a]['min_output']:.3g}" for a in j) + f"; only {', '.join(neg) or 'none'} can output "
            "a negative value."]
    blew = [f"{a} at lr {lr}" for a, r in j.items() for lr, o in r["at"].items() if o.startswith("diverged")]
    if blew:
        text.append(f"Diverged more often than ReLU ({', '.join(blew)}): its diverged runs have no units left to "
                    "count; it trades dying for divergence at that rate.")
    good = [a for a, r in j.items() if r["outcome"] == "works"]
    some = [a for a, r in j.items() if r["outcome"] in ("works", "partly")]
    first = numbers["tested"][0]
    key = (f"lost at lr {first}: ReLU {_m(numbers['relu'][first].get('died'))}, "
           + ", ".join(f"{a} {_m(v[first].get('died'))} (dead at init {_m(v[first]['init_dead'])})"
                       for a, v in numbers["arms"].items())
           + "; " + ", ".join(f"{a} {r['outcome']}" + (" (worse)" if r["worse"] else "") for a, r in j.items()))
    if len(good) == len(j):
        return Verdict(CONFIRMED, " ".join(text + ["Every remedy works at every tested rate."]), key)
    if not some:
        return Verdict(REFUTED, " ".join(text + ["No remedy works at any tested rate."]), key)
    text.append(f"Works at every tested rate: {', '.join(good) or 'none'}; at some: "
                f"{', '.join(a for a in some if a not in good) or 'none'}; at none: "
                f"{', '.join(a for a in j if a not in some) or 'none'}.")
    return Verdict(CAVEATS, " ".join(text), key)


EXPERIMENT = register(
    name="relu_remedies",
    number=20,
    tutorial="003",
    claim="To remedy dying ReLU, activations that can represent some negative values are used; among them "
    "ThresholdReLU, Softplus and Swish (LeakyReLU, ELU and PReLU are claim 6's).",
    korean="이를 dying ReLU라 하며 이러한 한계점을 개선하기 위해 음수 값을 일부 표현할 수 있도록 "
    "개선한 활성화 함수들이 사용된다. "
    "그 종류로는 LeakyReLU, ELU, PReLU, ThresholdReLU, Softplus, Swish 등이 있다. (003)",
    config=Config,
    run=run,
    verdict=verdict,
)
