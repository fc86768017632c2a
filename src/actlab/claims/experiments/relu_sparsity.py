"""ReLU makes representations sparse; its output is unbounded (tutorial 004)

Sparsity: ReLU maps every negative pre-activation to exactly 0, so about half of the
hidden values of a freshly initialised network are exact zeros; smooth activations (ELU,
GELU, SiLU, softplus, sigmoid, tanh) and leaky ReLU output 0 only where their formula
underflows. The left panel of the first figure shows the fraction of *exact* zeros in the
hidden activations of an MLP on MNIST test images, at initialisation and after a short SGD
training run; the right panel the fraction of near-zeros (|a| < 0.01), where GELU and SiLU
become "soft-sparse".

Unboundedness: ReLU's range is [0, inf). Whether magnitudes actually grow with depth
depends on the weight scale: with He's initialisation the second moment is kept, with a
gain 1.5 times He's every layer multiplies the RMS by about 1.5. The second figure plots
the RMS of the hidden activations of a deep MLP (no training, MNIST inputs) against the
layer, log scale, without and with BatchNorm (which renormalises every layer): bounded
activations (tanh, sigmoid) cannot grow, unbounded ones grow geometrically without
normalisation and stay flat with BatchNorm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import COLORS, by, ci, fmt_ci, new_figure, png, seeds_of
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, activation_spec, register, setting

SMOOTH = ("elu", "gelu", "silu", "softplus", "sigmoid", "tanh", "leaky_relu")


@dataclass
class Config:
    seeds: int = 3
    activations: tuple[str, ...] = setting(("relu", "leaky_relu", "elu", "gelu", "silu", "softplus", "sigmoid", "tanh"),
                                           check=activation_spec)
    width: int = 128
    hidden: int = 3
    steps: int = 300
    batch: int = 64
    lr: float = 0.05
    eval_examples: int = 1000
    near_zero: float = 0.01
    growth_activations: tuple[str, ...] = setting(("relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid"),
                                                  check=activation_spec)
    growth_depth: int = 20
    growth_width: int = 128
    growth_gains: tuple[float, ...] = (1.0, 1.5)  # multiples of the catalogue He gain
    growth_examples: int = 256
    #: the settings next door, where the verdict must hold too (framework.robustness)
    NEIGHBOURS: ClassVar[dict] = {"width": (64, 256), "lr": (0.02, 0.1)}
    QUICK: ClassVar[dict] = {"seeds": 2, "steps": 100, "eval_examples": 500, "growth_depth": 12,
                             "activations": ("relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh"),
                             "growth_activations": ("relu", "gelu", "tanh")}
    FULL: ClassVar[dict] = {"seeds": 8, "steps": 1500, "eval_examples": 5000, "growth_depth": 40}


def _color(act: str, i: int) -> str:
    return COLORS.get(act, f"C{(i + 3) % 10}")


def _stats(model, X: np.ndarray, near: float) -> list[dict]:
    """Per hidden layer: exact zeros, near zeros, units dead on every example, RMS and max |a|."""
    from ... import nn

    with np.errstate(all="ignore"), nn.record(model, what=("post",), summary=False) as rec:
        model.forward(X)
    out = []
    for layer in rec.records[0]:
        a = np.asarray(layer["post"], np.float64)
        out.append({"frac_zero": float(np.mean(a == 0)), "frac_near_zero": float(np.mean(np.abs(a) < near)),
                    "dead_units": float(np.mean(np.all(a == 0, axis=0))), "rms": float(np.sqrt(np.mean(a * a))),
                    "abs_max": float(np.max(np.abs(a)))})
    return out


def _sparsity(c: dict) -> dict:
    from ... import data, nn

    X, y = data.load_mnist(split="train")
    n = min(len(X), c["steps"] * c["batch"])
    idx = np.random.default_rng([c["seed"], 5]).choice(len(X), n, replace=False)
    Xt, _ = data.load_mnist(split="test")
    Xe = Xt[np.random.default_rng([c["seed"], 6]).choice(len(Xt), c["eval_examples"], replace=False)]
    model = nn.mlp([784, *[c["width"]] * c["hidden"], 10], activation=c["act"], init="he", seed=c["seed"])
    before = _stats(model, Xe, c["near_zero"])
    hist = nn.fit(model, X[idx], y[idx], lr=c["lr"], batch_size=c["batch"], epochs=1, seed=c["seed"], progress=False)
    after = _stats(model, Xe, c["near_zero"])
    return {"init": before, "trained": after, "final_loss": float(np.mean(hist.step_loss[-20:])),
            "stopped": hist.stopped}


def _growth(c: dict) -> dict:
    from ... import data, nn
    from ...catalogue import registry

    X, _ = data.load_mnist(split="test")
    Xe = X[np.random.default_rng([c["seed"], 8]).choice(len(X), c["examples"], replace=False)]
    gain = c["gain_factor"] * (registry.get(c["act"]).gain or 1.0)
    model = nn.mlp([784, *[c["width"]] * c["depth"], 10], activation=c["act"], init="he", gain=gain,
                   batchnorm=c["bn"], seed=c["seed"], dtype=np.float64)
    # BatchNorm in training mode normalises with the statistics of this batch (at
    # initialisation its running statistics are still 0 and 1)
    with np.errstate(all="ignore"), nn.record(model, what=("post",)) as rec:
        model.forward(Xe, train=c["bn"])
    return {"rms": [math.sqrt(r["post"]["std"] ** 2 + r["post"]["mean"] ** 2) for r in rec.records[0]],
            "abs_max": [r["post"]["abs_max"] for r in rec.records[0]]}


def cell(c: dict) -> dict:
    return _sparsity(c) if c["kind"] == "sparsity" else _growth(c)


def growth_factor(rms: list[float]) -> float:
    """Per-layer growth of the RMS, (rms_L / rms_1)^(1/(L-1)) (geometric mean ratio).

    >>> round(growth_factor([1.0, 1.5, 2.25, 3.375]), 6)
    1.5
    """
    if len(rms) < 2 or not rms[0] > 0:
        return math.nan
    return (rms[-1] / rms[0]) ** (1.0 / (len(rms) - 1)) if math.isfinite(rms[-1]) else math.inf


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    acts = list(cfg.activations)
    scells = [{"kind": "sparsity", "act": a, "seed": s, "width": cfg.width, "hidden": cfg.hidden, "steps": cfg.steps,
               "batch": cfg.batch, "lr": cfg.lr, "eval_examples": cfg.eval_examples, "near_zero": cfg.near_zero}
              for a in acts for s in seeds]
    sres = runner.map(cell, scells, desc="sparsity")
    gacts = list(cfg.growth_activations)
    gcells = [{"kind": "growth", "act": a, "bn": bn, "gain_factor": g, "seed": s, "depth": cfg.growth_depth,
               "width": cfg.growth_width, "examples": cfg.growth_examples}
              for a in gacts for bn in (False, True) for g in cfg.growth_gains for s in seeds]
    gres = runner.map(cell, gcells, desc="magnitude growth")

    sg = by([dict(c, **r) for c, r in zip(scells, sres)], "act")

    def layer_mean(rows, phase, key):  # mean over hidden layers, per seed -> interval
        return ci([np.mean([layer[key] for layer in r[phase]]) for r in rows])

    sparsity = {a: {phase: {k: layer_mean(sg[a], phase, k) for k in ("frac_zero", "frac_near_zero", "dead_units",
                                                                      "abs_max")}
                    for phase in ("init", "trained")} | {"final_loss": ci([r["final_loss"] for r in sg[a]])}
                for a in acts}
    gg = by([dict(c, **r) for c, r in zip(gcells, gres)], "act", "bn", "gain_factor")
    growth = {a: {("bn" if bn else "plain"): {str(g): {"factor": ci([growth_factor(r["rms"]) for r in gg[(a, bn, g)]]),
                                                        "rms": np.mean([r["rms"] for r in gg[(a, bn, g)]], 0).tolist(),
                                                        "abs_max_last": ci([r["abs_max"][-1] for r in gg[(a, bn, g)]])}
                                              for g in cfg.growth_gains} for bn in (False, True)} for a in gacts}
    numbers = {"sparsity": sparsity, "growth": growth, "gains": [str(g) for g in cfg.growth_gains],
               "growth_depth": cfg.growth_depth}

    figs = [_fig_sparsity(sparsity, acts, cfg), _fig_growth(growth, gacts, cfg)]
    settings = (f"Sparsity: MLP 784-{'-'.join([str(cfg.width)] * cfg.hidden)}-10 (float32, He init with the "
                f"catalogue gain), SGD lr {cfg.lr}, batch {cfg.batch}, {cfg.steps} steps on MNIST; statistics on "
                f"{cfg.eval_examples} test images, averaged over hidden layers. Growth: {cfg.growth_depth} hidden "
                f"layers of {cfg.growth_width}, float64, He init times {list(cfg.growth_gains)}, with and without "
                f"BatchNorm (batch statistics), {cfg.growth_examples} test images. Seeds 0..{cfg.seeds - 1}.")
    raw = {"sparsity": [dict(c, **r) for c, r in zip(scells, sres)],
           "growth": [dict(c, **r) for c, r in zip(gcells, gres)]}
    return Outcome(numbers=numbers, raw=raw, figures=figs, settings=settings)


def _fig_sparsity(sp, acts, cfg):
    fig, ax = new_figure(2, 1, width=5.0, height=3.6)
    x = np.arange(len(acts))
    for j, key in enumerate(("frac_zero", "frac_near_zero")):
        for k, (phase, off) in enumerate((("init", -0.2), ("trained", 0.2))):
            m = np.array([sp[a][phase][key]["mean"] for a in acts])
            err = np.array([[m[i] - sp[a][phase][key]["lo"], sp[a][phase][key]["hi"] - m[i]]
                            for i, a in enumerate(acts)]).T
            ax[0, j].bar(x + off, np.maximum(m, 1e-6), 0.4, yerr=err, color=f"C{k}", capsize=2,
                         label="at initialisation" if phase == "init" else f"after {cfg.steps} SGD steps")
        ax[0, j].set_xticks(x, acts, rotation=45, ha="right")
        ax[0, j].set(yscale="log", ylim=(1e-6, 1.5), ylabel="fraction of hidden values",
                     title="exactly 0" if key == "frac_zero" else f"|a| < {cfg.near_zero}")
    ax[0, 0].legend(loc="upper right")
    return png(fig, "sparsity", "Fraction of hidden activations that are exactly zero (left) and below "
               f"{cfg.near_zero} in magnitude (right) on MNIST test images (bars at 1e-6: none; error bars: 95 % "
               "interval over seeds).")


def _fig_growth(growth, gacts, cfg):
    fig, ax = new_figure(2, 1, width=5.0, height=3.6, sharey=True)
    for j, norm in enumerate(("plain", "bn")):
        for k, a in enumerate(gacts):
            for g, ls in zip(cfg.growth_gains, ("-", "--", ":", "-.")):
                rms = np.array(growth[a][norm][str(g)]["rms"])
                ax[0, j].plot(np.arange(1, len(rms) + 1), rms, ls, color=_color(a, k), label=f"{a}, {g:g} x He")
        ax[0, j].set(yscale="log", xlabel="hidden layer", title="no normalisation" if norm == "plain" else "BatchNorm")
    ax[0, 0].set_ylabel("RMS of the activations")
    ax[0, 1].legend(fontsize=7, ncol=2)
    return png(fig, "magnitude_growth", f"RMS of the hidden activations of a {cfg.growth_depth}-layer MLP at "
               "initialisation on MNIST (mean over seeds): unbounded activations grow geometrically when the "
               "weights are larger than He's, bounded ones cannot, BatchNorm keeps every layer at the same scale.")


def verdict(numbers) -> Verdict:
    sp, gr = numbers["sparsity"], numbers["growth"]
    gains = numbers["gains"]
    big = gains[-1]
    relu_init, relu_trained = sp["relu"]["init"]["frac_zero"], sp["relu"]["trained"]["frac_zero"]
    smooth = {a: max(sp[a]["init"]["frac_zero"]["mean"], sp[a]["trained"]["frac_zero"]["mean"])
              for a in sp if a in SMOOTH}
    sparse_ok = relu_init["lo"] > 0.25 and relu_trained["lo"] > 0.25 and all(v < 0.01 for v in smooth.values())
    relu_g = gr["relu"]
    he = relu_g["plain"]["1.0"]["factor"] if "1.0" in relu_g["plain"] else None
    grow_big = relu_g["plain"][big]["factor"]
    bn_big = relu_g["bn"][big]["factor"]
    bounded = {a: gr[a]["plain"][big]["abs_max_last"]["mean"] for a in gr if a in ("tanh", "sigmoid")}
    grows = grow_big["lo"] > 1.1
    bn_flat = 0.9 < bn_big["mean"] < 1.1
    he_flat = he is not None and 0.9 < he["mean"] < 1.1
    others = f"; others <= {max(smooth.values()):.0e}" if smooth else ""
    key = (f"exact zeros: ReLU {relu_init['mean']:.2f} at init, {relu_trained['mean']:.2f} trained{others}; "
           f"ReLU RMS growth per layer {grow_big['mean']:.2f} at {big} x He, "
           f"{bn_big['mean']:.2f} with BatchNorm" + (f", {he['mean']:.2f} at He" if he else ""))
    detail = (f"ReLU outputs exact zeros for {fmt_ci(relu_init)} of hidden values at initialisation and "
              f"{fmt_ci(relu_trained)} after training"
              + ("; " + ", ".join(f"{a} {v:.1e}" for a, v in smooth.items()) + " (largest of init/trained)"
                 if smooth else "")
              + f". Without normalisation the RMS of ReLU activations grows by "
              f"{fmt_ci(grow_big)} per layer with weights {big} x He"
              + (f" and by {fmt_ci(he)} with He's initialisation" if he else "")
              + f"; with BatchNorm by {fmt_ci(bn_big)}. Bounded activations stay bounded (max |a| at the last layer: "
              + ", ".join(f"{a} {v:.2f}" for a, v in bounded.items()) + ").")
    if not sparse_ok or not grows:
        return Verdict(REFUTED, detail, key)
    if he_flat or not bn_flat:
        return Verdict(CAVEATS, "ReLU is sparse (exact zeros) and unbounded, but unboundedness only turns into "
                       "growing magnitudes when the weights are larger than He's (He's initialisation keeps the "
                       "scale; BatchNorm removes the growth" + ("" if bn_flat else " only partly") + "). " + detail,
                       key)
    return Verdict(CONFIRMED, detail, key)


EXPERIMENT = register(
    name="relu_sparsity",
    number=13,
    tutorial="004",
    claim="ReLU makes the network's representations sparse (negative inputs become exactly 0), and its output "
    "is unbounded, so extreme values can appear and affect later layers.",
    korean="희소성(Sparsity): 음수 입력을 0으로 만들어 네트워크의 희소성을 증가시킵니다. ... 출력 범위 제한 없음: "
    "양수 입력에 대해 출력 범위가 제한되지 않아 극단적인 값이 발생할 수 있습니다.",
    config=Config,
    run=run,
    verdict=verdict,
)
