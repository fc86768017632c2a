"""A ReLU unit loses the sign of a negative input; a wide enough ReLU layer loses nothing (tutorial 004)

Tutorial 004 lists among ReLU's drawbacks that "the information about negative inputs is
completely lost", and Leaky ReLU as a remedy. For one unit this is exact: relu(z) = 0 for
every z <= 0, so its output tells nothing about how negative z was. But a layer is many
units: h = relu(W x + b) keeps, for every unit that is active, the linear equation
w_j . x + b_j = h_j, and once the active rows of W span the input space, x is the
least-squares solution of those equations, recovered exactly. So the question is how
often a layer loses information, as a function of its width m against the input
dimension d.

Measured: random Gaussian layers (He weights, biases N(0, 0.1^2)) of width m = r d for
ratios r from 1 to 4, d-dimensional Gaussian inputs; for each input, x is reconstructed
from the layer's output by least squares on the active units, and counted as recovered
when the relative error is below 1e-8 (float64). Leaky ReLU (slope 0.01) is invertible
unit by unit, so it recovers every input: the control. The fraction recovered has Wilson
intervals; the number of active units and whether they span R^d are recorded.

Figure: fraction of inputs recovered exactly against the width ratio m/d, for ReLU and
Leaky ReLU, with the probability that at least d of m units are active (a necessary
condition, binomial with p = 1/2 for symmetric pre-activations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import new_figure, png, seeds_of, wilson
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, register, setting


@dataclass
class Config:
    seeds: int = 5
    dim: int = 20
    ratios: tuple[float, ...] = (1.0, 1.5, 2.0, 3.0, 4.0)
    inputs: int = 400
    bias_std: float = setting(0.1, low=0)
    tol: float = setting(1e-8, low=0, low_open=True)
    #: the settings next door, where the verdict must hold too (framework.robustness)
    NEIGHBOURS: ClassVar[dict] = {"dim": (10, 40), "bias_std": (0.0, 0.5)}
    QUICK: ClassVar[dict] = {"seeds": 2, "inputs": 200, "ratios": (1.0, 2.0, 4.0)}
    FULL: ClassVar[dict] = {"seeds": 10, "dim": 50, "inputs": 1000, "ratios": (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0)}


def cell(c: dict) -> dict:
    """One random layer: how many inputs its ReLU (and Leaky ReLU) output determines exactly."""
    from ...catalogue import get

    rng = np.random.default_rng([c["seed"], int(c["ratio"] * 100), 61])
    d = c["dim"]
    m = int(round(c["ratio"] * d))
    W = rng.normal(0.0, math.sqrt(2.0 / d), (d, m))
    b = rng.normal(0.0, c["bias_std"], m)
    X = rng.standard_normal((c["inputs"], d))
    Z = X @ W + b
    out = {"m": m}
    for name, spec in (("relu", "relu"), ("leaky_relu", "leaky_relu(slope=0.01)")):
        act = get(spec)
        H = act(Z)
        recovered, spans, active = 0, 0, []
        for x, h in zip(X, H):
            if name == "relu":
                rows = h > 0  # an inactive unit says only "z <= 0"
                A, t = W[:, rows].T, h[rows] - b[rows]
            else:  # invertible: z = h for h >= 0, h / slope below
                A, t = W.T, np.where(h >= 0, h, h / 0.01) - b
            active.append(int(A.shape[0]))
            if A.shape[0] >= d and np.linalg.matrix_rank(A) == d:
                spans += 1
                xr, *_ = np.linalg.lstsq(A, t, rcond=None)
                recovered += bool(np.linalg.norm(xr - x) <= c["tol"] * np.linalg.norm(x))
        out[name] = {"recovered": recovered, "spans": spans, "active_mean": float(np.mean(active))}
    return out


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    cells = [{"ratio": float(r), "dim": cfg.dim, "inputs": cfg.inputs, "bias_std": cfg.bias_std, "tol": cfg.tol,
              "seed": s} for r in cfg.ratios for s in seeds]
    res = runner.map(cell, cells, desc="relu_information")
    n = cfg.inputs * len(seeds)
    layers = {}
    for r in cfg.ratios:
        rows = [x for c, x in zip(cells, res) if c["ratio"] == float(r)]
        m = rows[0]["m"]
        # P(at least d of m symmetric units active) = P(Binomial(m, 1/2) >= d): necessary for recovery
        from scipy.stats import binom

        layers[f"{r:g}"] = {"m": m, "p_enough_active": float(binom.sf(cfg.dim - 1, m, 0.5)),
                            **{a: {"recovered": wilson(sum(x[a]["recovered"] for x in rows), n),
                                   "spans": wilson(sum(x[a]["spans"] for x in rows), n),
                                   "active_mean": float(np.mean([x[a]["active_mean"] for x in rows]))}
                               for a in ("relu", "leaky_relu")}}
    numbers = {"dim": cfg.dim, "ratios": [f"{r:g}" for r in cfg.ratios], "layers": layers, "inputs": n}
    settings = (f"Random layers R^{cfg.dim} -> R^m, m = ratio x {cfg.dim} for ratios {list(cfg.ratios)}, He-normal "
                f"weights, biases N(0, {cfg.bias_std}^2), {cfg.inputs} N(0, I) inputs per layer, float64, least "
                f"squares on the active units, recovered when the relative error is below {cfg.tol:g}; seeds "
                f"0..{cfg.seeds - 1} (one layer each); Wilson 95 % intervals over all inputs.")
    return Outcome(numbers=numbers, raw={"cells": [dict(c, **r) for c, r in zip(cells, res)]},
                   figures=[_figure(numbers)], settings=settings)


def _figure(n: dict):
    fig, ax = new_figure(1, 1, width=5.4, height=3.8)
    a_ = ax[0, 0]
    r = np.array([float(v) for v in n["ratios"]])
    for k, a in enumerate(("relu", "leaky_relu")):
        rec = [n["layers"][v][a]["recovered"] for v in n["ratios"]]
        m = np.array([x["mean"] for x in rec])
        a_.errorbar(r, m, yerr=[m - [x["lo"] for x in rec], np.array([x["hi"] for x in rec]) - m], fmt="o-",
                    color=f"C{k}", capsize=3, label=f"{a}: x recovered from the layer's output")
    a_.plot(r, [n["layers"][v]["p_enough_active"] for v in n["ratios"]], "k:", label="P(at least d units active)")
    a_.set(xlabel="layer width / input dimension", ylabel="fraction of inputs", ylim=(-0.02, 1.02),
           title=f"one random layer, input dimension {n['dim']}")
    a_.legend(fontsize=8)
    return png(fig, "recovery", "Fraction of inputs recovered exactly (relative error < 1e-8) from one layer's "
               "output, by least squares on the active units (Wilson 95 % intervals); dotted: the probability that "
               "enough units are active, which bounds ReLU's.")


def verdict(numbers) -> Verdict:
    lay = numbers["layers"]
    widest, narrowest = numbers["ratios"][-1], numbers["ratios"][0]
    relu_wide = lay[widest]["relu"]["recovered"]
    relu_narrow = lay[narrowest]["relu"]["recovered"]
    leaky = min(lay[v]["leaky_relu"]["recovered"]["mean"] for v in numbers["ratios"])
    key = (f"x recovered exactly from one ReLU layer: {relu_narrow['mean']:.0%} at width {narrowest}x the input, "
           f"{relu_wide['mean']:.0%} at {widest}x; Leaky ReLU {leaky:.0%} at every width")
    text = (f"One ReLU unit maps every negative input to 0: that information is lost, exactly. One layer keeps it "
            f"whenever its active units span the input space: from a random layer's output the input (dimension "
            f"{numbers['dim']}) is recovered exactly for "
            + ", ".join(f"{lay[v]['relu']['recovered']['mean']:.1%} [{lay[v]['relu']['recovered']['lo']:.1%}, "
                        f"{lay[v]['relu']['recovered']['hi']:.1%}] of inputs at width {v}x" for v in numbers["ratios"])
            + f" ({numbers['inputs']} inputs per width). Leaky ReLU, invertible unit by unit, recovers at least "
            f"{leaky:.1%} at every width: the remedy 004 names works, but a wide ReLU layer needs none.")
    if leaky < 0.99:
        return Verdict(REFUTED, "The remedy does not keep the input either. " + text, key)
    if relu_wide["hi"] < 0.1:
        return Verdict(CONFIRMED, "Even wide ReLU layers lose the input. " + text, key)
    if relu_wide["lo"] > 0.9:
        return Verdict(CAVEATS, "True for one unit, not for a wide enough layer. " + text, key)
    return Verdict(CAVEATS, "It depends on the layer's width. " + text, key)


EXPERIMENT = register(
    name="relu_information",
    number=14,
    tutorial="004",
    claim="With ReLU the information about negative inputs is completely lost; variants such as Leaky ReLU "
    "compensate for it.",
    korean="음수 값 정보 손실: 음수 입력에 대한 정보가 완전히 손실됩니다. 이를 보완하기 위해 Leaky ReLU 등의 변형을 "
    "사용할 수 있습니다.",
    config=Config,
    run=run,
    verdict=verdict,
)
