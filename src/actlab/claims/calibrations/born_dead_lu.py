"""Deep narrow ReLU networks are born dead (Lu, Shin, Su & Karniadakis 2019)

Lu, Shin, Su & Karniadakis, "Dying ReLU and Initialization: Theory and Numerical
Examples" (arXiv:1903.06733; Commun. Comput. Phys. 28, 2020): with weights and biases
from symmetric distributions, "a deep ReLU network will eventually die in probability as
the depth goes to infinite", and dies sooner the narrower it is. Their numerical setting
is reproduced: one-dimensional input, widths 2 to 10, depths 1 to 50, biases 0, He
weights; a network is born dead when its output is the same for every input (checked on
inputs spread over [-1, 1], both signs).

With biases 0 and a 1-D input the network is positively homogeneous, f(x) = x f(1) for
x > 0 and |x| f(-1) for x < 0, so it is constant iff both rays are dead. Along one ray
every layer's units are each <= 0 with probability 1/2, independently, so the ray is dead
by depth L with probability exactly 1 - (1 - 2^-N)^L: an upper bound on the born-dead
probability, shown beside the Monte Carlo.

Rule, fixed before any run: (a) the single-ray Monte Carlo matches the exact formula
within 4 standard errors at every width and depth; (b) the born-dead probability never
exceeds the bound by more than 3 binomial standard errors; (c) it rises with depth and
falls with width (each step allowed 3 standard errors of noise); (d) the narrowest
network (width 2) is born dead with probability above 0.9 by depth 50: the paper's limit
statement at its own depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..experiments.born_dead import cell as born_dead_cell
from ..experiments.born_dead import theory
from ..figures import new_figure, png, seeds_of, wilson
from ..framework import NOT_REPRODUCED, REPRODUCED, Outcome, Verdict, register


@dataclass
class Config:
    seeds: int = 4
    widths: tuple[int, ...] = (2, 3, 4, 5, 6, 8, 10)
    max_depth: int = 50
    nets: int = 1000
    inputs: int = 64
    QUICK: ClassVar[dict] = {"seeds": 2, "widths": (2, 3, 4, 6, 10), "nets": 500, "inputs": 32}
    FULL: ClassVar[dict] = {"seeds": 10, "nets": 2000}


def cell(c: dict) -> dict:
    return born_dead_cell(c)


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    cells = [{"kind": "mc", "width": N, "bias_std": 0.0, "seed": s, "nets": cfg.nets, "inputs": cfg.inputs,
              "max_depth": cfg.max_depth, "d_in": 1} for N in cfg.widths for s in seeds]
    res = runner.map(cell, cells, desc="born_dead_lu")
    L = cfg.max_depth
    depths = sorted({d for d in (1, 2, 3, 5, 10, 20, 30, 40, 50) if d <= L} | {L})
    dead, worst_z, over, rise = {}, 0.0, 0.0, 0.0
    for N in cfg.widths:
        rows = [r for c, r in zip(cells, res) if c["width"] == N]
        n = sum(r["nets"] for r in rows)
        D = np.sum([r["dead_by_depth"] for r in rows], axis=0)
        X1 = np.sum([r["x0_exact_by_depth"] for r in rows], axis=0)
        p = theory(N, np.arange(1, L + 1))
        se = np.sqrt(np.maximum(p * (1 - p), 1e-300) / n)
        worst_z = max(worst_z, float(np.max(np.abs(X1 / n - p) / np.maximum(se, 1 / n))))
        over = max(over, float(np.max((D / n - p) / np.maximum(se, 1 / n))))  # standard errors above the bound
        dead[str(N)] = {str(d): dict(wilson(int(D[d - 1]), n), bound=float(theory(N, d))) for d in depths}
    for d in depths:  # falls with width: a wider net's probability above a narrower one's, in standard errors
        for a, b in zip(cfg.widths, cfg.widths[1:]):
            pa, pb = dead[str(a)][str(d)], dead[str(b)][str(d)]
            se = math.sqrt(max(pa["mean"] * (1 - pa["mean"]) / pa["n"] + pb["mean"] * (1 - pb["mean"]) / pb["n"],
                               1e-300))
            rise = max(rise, (pb["mean"] - pa["mean"]) / max(se, 1 / pa["n"]))
    numbers = {"widths": list(cfg.widths), "depths": depths, "max_depth": L, "dead": dead,
               "single_ray_max_z": worst_z, "above_bound_max_z": over, "width_rise_max_z": rise,
               "nets_per_width": cfg.nets * cfg.seeds}
    settings = (f"{cfg.nets} nets x {cfg.seeds} seeds per width {list(cfg.widths)}, depths 1..{L} (nested), input "
                f"dimension 1, {cfg.inputs} inputs uniform on [-1, 1], He weights N(0, 2/fan_in), biases 0, float64; "
                "Wilson 95 % intervals on the pooled counts.")
    return Outcome(numbers=numbers, raw={"monte_carlo": [dict(c, **r) for c, r in zip(cells, res)]},
                   figures=[_figure(numbers)], settings=settings)


def _figure(n: dict):
    fig, ax = new_figure(1, 1, width=5.6, height=3.8)
    a_ = ax[0, 0]
    cmap = __import__("matplotlib").colormaps["viridis"]
    Ls = np.arange(1, n["max_depth"] + 1)
    for i, N in enumerate(n["widths"]):
        col = cmap(i / max(len(n["widths"]) - 1, 1) * 0.9)
        r = [n["dead"][str(N)][str(d)] for d in n["depths"]]
        p = np.array([x["mean"] for x in r])
        a_.errorbar(n["depths"], p, yerr=[p - [x["lo"] for x in r], np.array([x["hi"] for x in r]) - p], fmt="o-",
                    color=col, ms=4, capsize=2, label=f"N = {N}")
        a_.plot(Ls, theory(N, Ls), "--", color=col, lw=1.0)
    a_.set(xlabel="depth L", ylabel="P(born dead)", ylim=(-0.02, 1.02), title="1-D input, biases 0")
    a_.legend(fontsize=7, ncol=2)
    return png(fig, "born_dead_lu", "Probability that a randomly initialised ReLU net of width N is constant on "
               "[-1, 1] (dots, Wilson 95 % intervals) against depth; dashed: the single-ray probability "
               "1 - (1 - 2^-N)^L, an upper bound.")


def verdict(numbers) -> Verdict:
    L, narrow = numbers["max_depth"], str(min(numbers["widths"]))
    p = numbers["dead"][narrow][str(L)]
    wide = numbers["dead"][str(max(numbers["widths"]))][str(L)]
    checks = (("the single-ray formula", numbers["single_ray_max_z"] <= 4),
              ("the bound", numbers["above_bound_max_z"] <= 3),
              ("the fall with width", numbers["width_rise_max_z"] <= 3),
              (f"death by depth {L} at width {narrow}", p["mean"] > 0.9))
    key = (f"born dead by depth {L}: width {narrow} {p['mean']:.3f} (bound {p['bound']:.3f}), width "
           f"{max(numbers['widths'])} {wide['mean']:.3f} (bound {wide['bound']:.3f})")
    text = (f"Born-dead probability at depth {L}: {p['mean']:.3f} [{p['lo']:.3f}, {p['hi']:.3f}] at width {narrow}, "
            f"{wide['mean']:.3f} [{wide['lo']:.3f}, {wide['hi']:.3f}] at width {max(numbers['widths'])} "
            f"({numbers['nets_per_width']} nets per width), rising with depth and falling with width as Lu et al. "
            f"state. The single-ray Monte Carlo matches 1 - (1 - 2^-N)^L within {numbers['single_ray_max_z']:.1f} "
            f"standard errors, and the whole network, which dies only when both rays do, never exceeds it by more "
            f"than {max(numbers['above_bound_max_z'], 0):.1f} standard errors.")
    missed = [name for name, ok in checks if not ok]
    if not missed:
        return Verdict(REPRODUCED, text, key)
    return Verdict(NOT_REPRODUCED, f"Not reproduced: {', '.join(missed)}. " + text, key)


CALIBRATION = register(
    name="born_dead_lu",
    number=5,
    kind="calibration",
    tutorial="Lu et al. 2019",
    claim="With symmetric random weights and zero biases, a deep ReLU network is born dead (a constant function) "
    "with a probability that rises to 1 with depth and falls with width.",
    korean="",
    config=Config,
    run=run,
    verdict=verdict,
)
