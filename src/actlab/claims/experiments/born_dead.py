"""A zero from one ReLU does not zero the next layer; a whole layer at zero does: deep narrow nets are born dead (003)

Tutorial 003 says that once a ReLU passes an output of 0 to the next layer, the outputs
of all later neurons become 0. As stated this is wrong: a neuron of the next layer sums
*all* its inputs, so one input at 0 only removes one term. What is true is the
whole-layer version: if every unit of a layer outputs 0 for every input, all later
layers receive a constant, and the network's output is constant (with zero biases: 0 up
to the output bias). Such a network is *dead*; if it is so at initialisation it is *born
dead* (Lu, Shin, Su & Karniadakis, "Dying ReLU and Initialization: Theory and Numerical
Examples", Commun. Comput. Phys. 28 (2020) 1671-1706, arXiv:1903.06733: with weights and
biases from symmetric distributions "a deep ReLU network will eventually die in
probability as the depth goes to infinite", for a fixed width).

Part 1 (the sentence): a He-initialised 784-128-128-128-10 MLP on MNIST images. For each
pair of consecutive hidden layers, the fraction of next-layer outputs that are 0 on the
examples where some unit of the layer is 0 (the sentence says 100 %), and the effect of
forcing one active unit to 0: how many next-layer units turn 0 because of it.

Part 2 (born dead): Monte Carlo over many random ReLU nets of width N and depth L (all
hidden layers N wide, input dimension ``d_in``, weights N(0, 2/fan_in) (He), biases 0 or
N(0, bias_std^2): symmetric, the paper's setting), evaluated at M inputs drawn uniformly
from [-1, 1]^d_in. A net is dead by layer L when some hidden layer l <= L gives the same
output vector for all M inputs (then so does every later layer). Thousands of nets run at
once with batched matrix products (np.matmul on (nets, M, N) stacks), and one pass to the
deepest L gives every smaller depth (the first L layers of a deep net are a net of depth
L), so the curves over L are nested, not independent.

The theory compared with is an exact single-input formula, derived here (of the paper only
the statement quoted above, from its abstract, is used; its finite-depth bounds are not
reproduced): at one input x, each unit of a
layer is <= 0 with probability exactly 1/2 (symmetric continuous weights and biases,
independent of the layer's input), independently across units and layers, so
P(some hidden layer among L is all-zero at x) = 1 - (1 - 2^-N)^L. Dead on the whole input
set implies dead at x, so this is an upper bound on the born-dead probability, tending to
1 as L -> inf for fixed N (the paper's limit) and to 0 as N grows for fixed L. Rister &
Rubin ("Probabilistic bounds on neuron death in deep rectifier networks", arXiv:2007.06192)
report that the true probability approaches this single-point value as the network deepens.
The Monte Carlo also checks the single-point formula itself (separate nets evaluated at one
input; the largest deviation in standard errors over all depths and widths is reported)
and measures how close the whole-set death comes to it.

Figure 1: probability of being born dead against depth (log x), one line per width, with
the formula dashed. Figure 2: the same against width at fixed depths (log y). Figure 3:
part 1, next-layer zero fraction (the sentence predicts 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import ci, new_figure, png, seeds_of, wilson
from ..framework import CONFIRMED, REFUTED, Outcome, Verdict, register, setting


@dataclass
class Config:
    seeds: int = 3
    widths: tuple[int, ...] = (2, 3, 4, 5, 6, 8, 12)
    max_depth: int = 100
    nets: int = 1000  # random nets per (width, bias, seed) cell
    inputs: int = 64  # M input points per net
    d_in: int = 2
    bias_stds: tuple[float, ...] = setting((0.0, 0.5), low=0)
    mnist_examples: int = 1000
    mnist_width: int = 128
    #: the settings next door, where the verdict must hold too (framework.robustness)
    NEIGHBOURS: ClassVar[dict] = {"d_in": (1, 4)}
    QUICK: ClassVar[dict] = {"seeds": 2, "widths": (2, 3, 4, 8), "max_depth": 30, "nets": 300, "inputs": 32,
                             "bias_stds": (0.0,), "mnist_examples": 300}
    FULL: ClassVar[dict] = {"seeds": 5, "widths": (2, 3, 4, 5, 6, 8, 10, 12, 16), "max_depth": 200,
                            "nets": 2000, "mnist_examples": 5000}


def theory(width: int, depth: int | np.ndarray) -> np.ndarray | float:
    """1 - (1 - 2^-N)^L: probability that some hidden layer among L is all-zero at one input.

    >>> round(float(theory(2, 1)), 4), round(float(theory(2, 10)), 4), bool(theory(64, 10) < 1e-17)
    (0.25, 0.9437, True)
    """
    return -np.expm1(np.asarray(depth) * np.log1p(-(2.0 ** -width)))


def _monte_carlo(c: dict) -> dict:
    """Nets of one width at once: how many are constant over the M inputs by each depth."""
    rng = np.random.default_rng([c["seed"], c["width"], int(round(c["bias_std"] * 1000)), 7])
    B, M, N, L, d = c["nets"], c["inputs"], c["width"], c["max_depth"], c["d_in"]
    X = rng.uniform(-1.0, 1.0, (M, d))
    h = np.ascontiguousarray(np.broadcast_to(X, (B, M, d)))
    alive = np.arange(B)  # nets whose current layer still varies over the inputs
    dead_by = np.zeros(L, np.int64)
    fan = d
    for layer in range(L):
        W = rng.normal(0.0, math.sqrt(2.0 / fan), (B, fan, N))  # drawn for every net: the same nets whoever died
        b = rng.normal(0.0, c["bias_std"], (B, 1, N)) if c["bias_std"] > 0 else None
        if len(alive):
            z = np.matmul(h, W[alive])
            if b is not None:
                z += b[alive]
            np.maximum(z, 0.0, out=z)
            const = np.all(z.max(axis=1) == z.min(axis=1), axis=1)  # constant layer => constant from here on
            alive, h = alive[~const], z[~const]
        dead_by[layer] = B - len(alive)
        fan = N
    return {"dead_by_depth": dead_by.tolist(), "nets": B}


def _monte_carlo_x0_exact(c: dict) -> dict:
    """Single-input death for every net, layer by layer, including nets already constant."""
    rng = np.random.default_rng([c["seed"], c["width"], int(round(c["bias_std"] * 1000)), 8])
    B, N, L, d = c["nets"], c["width"], c["max_depth"], c["d_in"]
    h = np.broadcast_to(rng.uniform(-1.0, 1.0, (1, d)), (B, 1, d))
    hit = np.zeros(B, bool)
    by = np.zeros(L, np.int64)
    fan = d
    for layer in range(L):
        z = np.matmul(h, rng.normal(0.0, math.sqrt(2.0 / fan), (B, fan, N)))
        if c["bias_std"] > 0:
            z = z + rng.normal(0.0, c["bias_std"], (B, 1, N))
        h = np.maximum(z, 0.0)
        hit |= ~np.any(h[:, 0, :] > 0, axis=1)
        by[layer] = int(hit.sum())
        fan = N
    return {"x0_by_depth": by.tolist()}


def _propagation(c: dict) -> dict:
    """Part 1 on MNIST: does a zero in layer l zero the units of layer l + 1?"""
    from ... import data, nn

    X, _ = data.load_mnist(split="train")
    idx = np.random.default_rng([c["seed"], 9]).choice(len(X), c["examples"], replace=False)
    X = np.asarray(X[idx], np.float64)
    model = nn.mlp([784, c["width"], c["width"], c["width"], 10], activation="relu", seed=c["seed"],
                   dtype=np.float64)
    with nn.record(model, what=("post",), summary=False) as rec:
        model.forward(X)
    post = [np.asarray(r["post"]) for r in rec.records[0]]
    dense = model.dense_layers
    rng = np.random.default_rng([c["seed"], 10])
    out = []
    for k in range(len(post) - 1):
        h, nxt = post[k], post[k + 1]
        some_zero = np.any(h == 0, axis=1)
        frac_next_zero = float(np.mean(nxt[some_zero] == 0)) if some_zero.any() else math.nan
        all_zero_rows = float(np.mean(np.all(nxt == 0, axis=1)))
        # force one active unit of layer k to 0 on each example: how many next-layer units newly output 0?
        newly = []
        for i in range(len(h)):
            act = np.flatnonzero(h[i] > 0)
            if act.size == 0:
                continue
            j = rng.choice(act)
            z = h[i] @ dense[k + 1].W + dense[k + 1].b
            z2 = z - h[i, j] * dense[k + 1].W[j]
            newly.append(np.mean((z > 0) & (z2 <= 0)))
        out.append({"layer": k + 1, "frac_units_zero": float(np.mean(h == 0)),
                    "examples_with_a_zero": float(np.mean(some_zero)), "next_zero_given_zero": frac_next_zero,
                    "next_layer_all_zero": all_zero_rows, "newly_zero_after_forcing_one": float(np.mean(newly))})
    return {"layers": out}


def cell(c: dict) -> dict:
    if c["kind"] == "mc":
        r = _monte_carlo(c)
        r["x0_exact_by_depth"] = _monte_carlo_x0_exact(c)["x0_by_depth"]
        return r
    return _propagation(c)


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    mc_cells = [{"kind": "mc", "width": N, "bias_std": float(bs), "seed": s, "nets": cfg.nets, "inputs": cfg.inputs,
                 "max_depth": cfg.max_depth, "d_in": cfg.d_in} for bs in cfg.bias_stds for N in cfg.widths
                for s in seeds]
    prop_cells = [{"kind": "prop", "seed": s, "examples": cfg.mnist_examples, "width": cfg.mnist_width}
                  for s in seeds]
    mc = runner.map(cell, mc_cells, desc="born-dead Monte Carlo")
    prop = runner.map(cell, prop_cells, desc="zero propagation")
    L = cfg.max_depth
    depths = sorted({d for d in (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 300) if d <= L} | {L})
    shown = sorted({d for d in (1, 3, 10, 30, 100, 300) if d <= L} | {L})  # depths listed in the numbers
    curves, dead, worst_z = {}, {}, 0.0  # curves: every plotted depth (figures); dead: the listed ones
    for bs in cfg.bias_stds:
        kb = f"{bs:g}"
        curves[kb], dead[kb] = {}, {}
        for N in cfg.widths:
            rows = [r for c, r in zip(mc_cells, mc) if c["width"] == N and c["bias_std"] == bs]
            n = sum(r["nets"] for r in rows)
            D = np.sum([r["dead_by_depth"] for r in rows], axis=0)
            Xe = np.sum([r["x0_exact_by_depth"] for r in rows], axis=0)
            curves[kb][str(N)] = {str(d): wilson(int(D[d - 1]), n) for d in depths}
            dead[kb][str(N)] = {str(d): dict(curves[kb][str(N)][str(d)], theory=float(theory(N, d))) for d in shown}
            # z-score of the single-input Monte Carlo against the exact formula, over every depth
            p = theory(N, np.arange(1, L + 1))
            se = np.sqrt(np.maximum(p * (1 - p), 1e-300) / n)
            z = np.abs(Xe / n - p) / np.maximum(se, 1.0 / n)
            worst_z = max(worst_z, float(np.max(z)))
    layers = len(prop[0]["layers"])
    propagation = {str(k + 1): {key: ci([p["layers"][k][key] for p in prop])
                                for key in ("frac_units_zero", "next_zero_given_zero", "next_layer_all_zero",
                                            "newly_zero_after_forcing_one")} for k in range(layers)}
    numbers = {"widths": list(cfg.widths), "depths": shown, "max_depth": L,
               "bias_stds": [f"{b:g}" for b in cfg.bias_stds], "nets_per_width": cfg.nets * cfg.seeds, "dead": dead,
               "x0_formula_max_z": worst_z, "propagation": propagation,
               "formula": "P(dead by depth L) <= 1 - (1 - 2^-N)^L (exact at a single input)"}
    plotted = dict(numbers, dead=curves, depths=depths)
    figs = [_fig_depth(plotted, cfg), _fig_width(plotted, cfg), _fig_prop(numbers)]
    settings = (f"Monte Carlo: {cfg.nets} nets per cell x {cfg.seeds} seeds per (width, bias std); widths "
                f"{list(cfg.widths)}, depths 1..{L} (nested), input dimension {cfg.d_in}, {cfg.inputs} inputs "
                f"uniform on [-1, 1]^{cfg.d_in}, weights N(0, 2/fan_in), biases 0 or N(0, s^2) for s in "
                f"{list(cfg.bias_stds)}, float64; intervals: Wilson 95 % on the pooled count. Part 1: He-initialised "
                f"784-{cfg.mnist_width}x3-10 float64 MLP, biases 0, on {cfg.mnist_examples} MNIST training images "
                f"per seed.")
    raw = {"monte_carlo": [dict(c, **r) for c, r in zip(mc_cells, mc)], "propagation": prop}
    return Outcome(numbers=numbers, raw=raw, figures=figs, settings=settings)


def _fig_depth(n: dict, cfg: Config):
    fig, ax = new_figure(len(n["bias_stds"]), 1, width=4.6, height=3.6, sharey=True)
    cmap = __import__("matplotlib").colormaps["viridis"]
    Ls = np.arange(1, n["max_depth"] + 1)
    for j, kb in enumerate(n["bias_stds"]):
        a_ = ax[0, j]
        for i, N in enumerate(n["widths"]):
            col = cmap(i / max(len(n["widths"]) - 1, 1) * 0.9)
            r = [n["dead"][kb][str(N)][str(d)] for d in n["depths"]]
            p = np.array([x["mean"] for x in r])
            a_.errorbar(n["depths"], p, yerr=[p - [x["lo"] for x in r], np.array([x["hi"] for x in r]) - p],
                        fmt="o-", color=col, ms=4, capsize=2, label=f"N = {N}")
            a_.plot(Ls, theory(N, Ls), "--", color=col, lw=1.2)
        a_.set(xscale="log", ylim=(-0.02, 1.02), xlabel="depth L (hidden layers)",
               title=f"biases {'0' if kb == '0' else 'N(0, ' + kb + '^2)'}")
    ax[0, 0].set_ylabel("P(born dead)")
    ax[0, -1].legend(fontsize=8, loc="upper left")
    return png(fig, "dead_vs_depth", "Fraction of randomly initialised ReLU nets whose output is constant over "
               f"{cfg.inputs} inputs (dots, Wilson 95 % intervals) against depth, per width N; dashed: "
               "1 - (1 - 2^-N)^L, the exact probability that some layer is all-zero at one input (an upper bound).")


def _fig_width(n: dict, cfg: Config):
    fig, ax = new_figure(1, 1, width=5.0, height=3.8)
    a_ = ax[0, 0]
    kb = n["bias_stds"][0]
    for i, d in enumerate([d for d in (10, 30, 100, 300) if d <= n["max_depth"]] or [n["max_depth"]]):
        ws = n["widths"]
        p = np.array([n["dead"][kb][str(N)][str(d)]["mean"] for N in ws])
        a_.plot(ws, np.where(p > 0, p, np.nan), "o-", color=f"C{i}", label=f"L = {d} (Monte Carlo)")
        a_.plot(ws, theory(np.array(ws), d), "--", color=f"C{i}", lw=1.2)
    a_.set(yscale="log", xlabel="width N", ylabel="P(born dead)", title=f"biases {kb}; dashed: 1 - (1 - 2^-N)^L")
    a_.legend(fontsize=8)
    return png(fig, "dead_vs_width", "Born-dead probability against width at fixed depths (log scale; zero "
               "counts are not drawn): it falls roughly like L 2^-N, so practical widths are never born dead.")


def _fig_prop(n: dict):
    fig, ax = new_figure(1, 1, width=5.2, height=3.6)
    a_ = ax[0, 0]
    keys = sorted(n["propagation"], key=int)
    x = np.arange(len(keys))
    bars = [("next_zero_given_zero", "next-layer outputs = 0 | a unit = 0"),
            ("newly_zero_after_forcing_one", "next-layer units turned 0 by zeroing one unit"),
            ("next_layer_all_zero", "examples whose next layer is all 0")]
    for i, (k, lab) in enumerate(bars):
        a_.bar(x + (i - 1) * 0.27, [n["propagation"][key][k]["mean"] for key in keys], 0.27, label=lab)
    a_.axhline(1.0, color="k", ls=":", lw=1.5, label="the tutorial's sentence")
    a_.set(xticks=x, xticklabels=[f"layer {key} -> {int(key) + 1}" for key in keys], ylim=(0, 1.55), ylabel="fraction",
           title="He-initialised ReLU MLP on MNIST")
    a_.legend(fontsize=7, loc="upper right")
    return png(fig, "zero_propagation", "Does a 0 from one ReLU make the next layer output 0? Fraction of "
               "next-layer outputs that are 0 on examples where some unit of the layer is 0 (the sentence says 1), "
               "next-layer units newly at 0 when one active unit is forced to 0, and examples whose next layer is "
               "entirely 0 (mean over seeds).")


def verdict(numbers) -> Verdict:
    prop = numbers["propagation"]
    given = max(v["next_zero_given_zero"]["mean"] for v in prop.values())
    forced = max(v["newly_zero_after_forcing_one"]["mean"] for v in prop.values())
    kb = numbers["bias_stds"][0]
    L = numbers["max_depth"]
    narrow, wide = str(min(numbers["widths"])), str(max(numbers["widths"]))
    pn, pw = numbers["dead"][kb][narrow][str(L)], numbers["dead"][kb][wide][str(L)]
    key = (f"next-layer zero fraction {given:.2f} (sentence: 1.00); born dead at depth {L}: width {narrow} "
           f"{pn['mean']:.3f}, width {wide} {pw['mean']:.4f} (formula {pn['theory']:.3f}, {pw['theory']:.4f})")
    text = (f"On examples where some unit of a layer outputs 0, at most {given:.0%} of the next layer's outputs are "
            f"0 (the sentence predicts 100 %), and forcing one active unit to 0 turns at most {forced:.1%} of the next "
            "layer's units to 0: a neuron sums all its inputs, one of them at 0 removes one term. What does hold is "
            "the whole-layer version: if every unit of a layer is 0 for every input, the output is constant and "
            f"the net is dead. Randomly initialised (He, biases {kb}) nets are born dead at depth {L} with "
            f"probability {pn['mean']:.3f} [{pn['lo']:.3f}, {pn['hi']:.3f}] at width {narrow} and "
            f"{pw['mean']:.4f} at width "
            f"{wide}, rising to 1 with depth for a fixed width (Lu et al. 2020) and vanishing with width; the "
            f"single-input formula 1 - (1 - 2^-N)^L gives {pn['theory']:.3f} and {pw['theory']:.4f} (it bounds the "
            f"whole-input probability from above; the Monte Carlo at one input matches it within "
            f"{numbers['x0_formula_max_z']:.1f} standard errors at every depth and width).")
    if given >= 0.99:
        return Verdict(CONFIRMED, text, key)
    return Verdict(REFUTED, "As stated, the sentence is wrong. " + text, key)


EXPERIMENT = register(
    name="born_dead",
    number=7,
    tutorial="003",
    claim="Once a ReLU outputs 0 and passes it to the next layer, the outputs of all later neurons become 0 "
    "(the tutorial's description of dying ReLU).",
    korean="한 번 활성화 값이 0인 출력값을 다음 레이어의 입력으로 전달하게 되면 이후 뉴런들의 출력 값이 모두 0이 되는 "
    "현상이 발생하는 것이다. 이를 dying ReLU라 하며",
    config=Config,
    run=run,
    verdict=verdict,
)
