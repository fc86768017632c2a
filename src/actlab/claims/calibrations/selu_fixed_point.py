"""SELU's self-normalising fixed point (Klambauer et al. 2017), from its closed forms and through 100 layers

Klambauer, Unterthiner, Mayr & Hochreiter, "Self-Normalizing Neural Networks", NeurIPS
2017 (arXiv:1706.02515), choose SELU's two constants so that the map from a layer's
activation mean and variance (mu, nu) to the next layer's has the fixed point (0, 1) for
weights with sum 0 and squared sum 1 (LeCun-normal weights approximate that), and show it
is attracting. Three of their statements are checked:

1. The constants: alpha_01 = 1.6732632423543772848170429916717 and
   lambda_01 = 1.0507009873554804934193349852946 (the paper's values, also PyTorch's
   ``nn.SELU``). Here they are computed from the fixed-point conditions E[selu(z)] = 0
   and E[selu(z)^2] = 1 for z ~ N(0, 1), which have closed forms in erfc and exp,
   evaluated by mpmath at 50 digits, and compared with the paper's digits and with the
   constants of actlab's own ``selu`` entry.
2. The Jacobian of the (mu, nu) map at the fixed point (weights' sum 0, squared sum 1)
   has spectral norm 0.7877 < 1 (the paper's number): computed by mpmath quadrature
   and differentiation of the moment integrals.
3. Through 100 SELU layers of LeCun-normal weights, Gaussian inputs of variance 0.25, 1
   and 4 end at mean 0 and variance 1 (the attracting fixed point). A finite layer of
   width n draws weights whose sum and squared sum are off by O(1/sqrt(n)), so the
   tolerance is the sampling error of a width-n layer: |mean| <= 3/sqrt(n) and
   |variance - 1| <= 3 sqrt(2/n), fixed before any run.

Figure: mean and variance per layer for the three input variances (mean over seeds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import by, ci, fmt_ci, new_figure, png, seeds_of
from ..framework import NOT_REPRODUCED, REPRODUCED, Outcome, Verdict, register, setting

#: the paper's constants (Klambauer et al. 2017, eq. 14 and the text after it)
PUBLISHED = {"alpha": "1.6732632423543772848170429916717", "lambda": "1.0507009873554804934193349852946",
             "jacobian_norm": 0.7877}


@dataclass
class Config:
    seeds: int = 5
    depth: int = 100
    width: int = 512
    examples: int = 1000
    input_stds: tuple[float, ...] = setting((0.5, 1.0, 2.0))
    QUICK: ClassVar[dict] = {"seeds": 2, "width": 256, "examples": 256}
    FULL: ClassVar[dict] = {"seeds": 10, "width": 1024, "examples": 2000}


def constants(dps: int = 50) -> dict:
    """alpha_01 and lambda_01 from the fixed-point conditions, in closed form, as decimal text.

    E[selu(z)] = 0 gives alpha = -sqrt(2/pi) / (erfc(1/sqrt 2) e^(1/2) - 1); E[selu(z)^2] = 1
    then gives lambda = (1/2 + alpha^2 (e^2 Phi(-2) - 2 e^(1/2) Phi(-1) + 1/2))^(-1/2).

    >>> c = constants()
    >>> c["alpha"][:18], c["lambda"][:18]
    ('1.6732632423543772', '1.0507009873554804')
    """
    import mpmath as mp

    with mp.workdps(dps + 10):
        Phi = lambda t: mp.erfc(-t / mp.sqrt(2)) / 2  # noqa: E731 (the normal CDF, exact)
        alpha = -mp.sqrt(2 / mp.pi) / (mp.erfc(1 / mp.sqrt(2)) * mp.exp(mp.mpf(1) / 2) - 1)
        neg = mp.e ** 2 * Phi(-2) - 2 * mp.exp(mp.mpf(1) / 2) * Phi(-1) + mp.mpf(1) / 2  # E[(e^z - 1)^2; z < 0]
        lam = 1 / mp.sqrt(mp.mpf(1) / 2 + alpha ** 2 * neg)
        return {"alpha": mp.nstr(alpha, dps), "lambda": mp.nstr(lam, dps)}


def jacobian(dps: int = 30) -> dict:
    """The Jacobian of (mu, nu) -> (E[y], E[y^2]), y = selu(z), z ~ N(mu omega, nu tau), at the
    fixed point mu = 0, nu = 1 with omega = 0, tau = 1 (normalised weights), and its
    spectral norm. With omega = 0 the mean does not reach z: the first column is 0."""
    import mpmath as mp

    with mp.workdps(dps):
        c = constants(dps)
        a, lam = mp.mpf(c["alpha"]), mp.mpf(c["lambda"])

        def moment(power: int, mu: mp.mpf, nu: mp.mpf, omega: float = 0.0, tau: float = 1.0) -> mp.mpf:
            m, s = mu * omega, mp.sqrt(nu * tau)

            def f(z):
                y = lam * z if z > 0 else lam * a * mp.expm1(z)
                return y ** power * mp.npdf(z, m, s)

            return mp.quad(f, [-mp.inf, 0, mp.inf])

        J = mp.matrix(2, 2)
        for i, p in enumerate((1, 2)):
            J[i, 0] = mp.diff(lambda mu, p=p: moment(p, mu, mp.mpf(1)), 0)
            J[i, 1] = mp.diff(lambda nu, p=p: moment(p, mp.mpf(0), nu), 1)
        fixed = [moment(1, mp.mpf(0), mp.mpf(1)), moment(2, mp.mpf(0), mp.mpf(1))]
        norm = max(mp.svd_r(J, compute_uv=False))
        return {"J": [[float(J[i, j]) for j in range(2)] for i in range(2)], "spectral_norm": float(norm),
                "fixed_point": [float(v) for v in fixed]}


def _network(c: dict) -> dict:
    from ... import nn

    model = nn.mlp([c["width"]] * (c["depth"] + 1) + [10], activation="selu", init="lecun_normal", seed=c["seed"],
                   dtype=np.float64)
    X = np.random.default_rng([c["seed"], 21]).normal(0.0, c["input_std"], (c["examples"], c["width"]))
    with nn.record(model, what=("post",)) as rec:
        model.forward(X)
    return {"mean": [r["post"]["mean"] for r in rec.records[0]], "var": [r["post"]["std"] ** 2 for r in rec.records[0]]}


def cell(c: dict) -> dict:
    if c["kind"] == "constants":
        return {"constants": constants(), "jacobian": jacobian()}
    return _network(c)


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    cells = [{"kind": "network", "depth": cfg.depth, "width": cfg.width, "examples": cfg.examples,
              "input_std": float(v), "seed": s} for v in cfg.input_stds for s in seeds]
    exact, *res = runner.map(cell, [{"kind": "constants"}, *cells], desc="selu_fixed_point")
    g = by([dict(c, **r) for c, r in zip(cells, res)], "input_std")
    layers = {str(v): {"mean_last": ci([r["mean"][-1] for r in g[v]]), "var_last": ci([r["var"][-1] for r in g[v]]),
                       "mean_per_layer": np.mean([r["mean"] for r in g[v]], 0).tolist(),
                       "var_per_layer": np.mean([r["var"] for r in g[v]], 0).tolist()} for v in cfg.input_stds}
    import mpmath as mp

    from ...catalogue.smooth import SELU_ALPHA, SELU_SCALE

    with mp.workdps(60):  # the nearest doubles to the exact constants, rounded once from 60 digits
        nearest = float(mp.mpf(exact["constants"]["alpha"])), float(mp.mpf(exact["constants"]["lambda"]))
    catalogue = {"alpha": SELU_ALPHA, "scale": SELU_SCALE, "nearest_doubles": (SELU_ALPHA, SELU_SCALE) == nearest}
    numbers = {"constants": exact["constants"], "published": PUBLISHED, "jacobian": exact["jacobian"],
               "catalogue": catalogue, "layers": layers, "depth": cfg.depth, "width": cfg.width,
               "tolerance": {"mean": 3 / math.sqrt(cfg.width), "var": 3 * math.sqrt(2 / cfg.width)}}
    settings = (f"Constants and Jacobian: mpmath at 50 and 30 digits. Network: {cfg.depth} SELU layers of "
                f"{cfg.width} units, LeCun-normal weights, biases 0, float64, {cfg.examples} Gaussian inputs of std "
                f"{', '.join(f'{v:g}' for v in cfg.input_stds)}; seeds 0..{cfg.seeds - 1}.")
    return Outcome(numbers=numbers, raw={"network": [dict(c, **r) for c, r in zip(cells, res)]},
                   figures=[_figure(layers, cfg)], settings=settings)


def _figure(layers: dict, cfg: Config):
    fig, ax = new_figure(1, 1, width=5.6, height=3.8)
    a_ = ax[0, 0]
    for k, (v, s) in enumerate(layers.items()):
        L = np.arange(1, len(s["var_per_layer"]) + 1)
        a_.plot(L, s["var_per_layer"], color=f"C{k}", label=f"variance, input std {float(v):g}")
        a_.plot(L, s["mean_per_layer"], "--", color=f"C{k}", label=f"mean, input std {float(v):g}")
    a_.axhline(1.0, color="0.5", lw=1)
    a_.axhline(0.0, color="0.5", lw=1)
    a_.set(xlabel="layer", ylabel="activation statistic", title=f"SELU, {cfg.width} units, LeCun-normal weights")
    a_.legend(fontsize=7)
    return png(fig, "selu_layers", f"Mean (dashed) and variance (solid) of SELU activations through {cfg.depth} "
               "layers (mean over seeds): every input variance is drawn to the fixed point (0, 1).")


def verdict(numbers) -> Verdict:
    c, pub, jac, tol = numbers["constants"], numbers["published"], numbers["jacobian"], numbers["tolerance"]
    digits = min(_agree(c["alpha"], pub["alpha"]), _agree(c["lambda"], pub["lambda"]))
    published_digits = min(len(pub[k].replace(".", "")) for k in ("alpha", "lambda"))
    norm_ok = abs(jac["spectral_norm"] - pub["jacobian_norm"]) <= 0.5e-4  # the paper's 4 decimals
    lay = numbers["layers"]
    worst_mean = max(abs(s["mean_last"]["mean"]) for s in lay.values())
    worst_var = max(abs(s["var_last"]["mean"] - 1) for s in lay.values())
    net_ok = worst_mean <= tol["mean"] and worst_var <= tol["var"]
    cat = numbers["catalogue"]
    agree = "all" if digits == published_digits else digits
    key = (f"alpha, lambda: the paper's {published_digits} digits, {agree} equal; Jacobian norm "
           f"{jac['spectral_norm']:.5f} (paper "
           f"0.7877); layer {numbers['depth']}: |mean| <= {worst_mean:.3f}, |var - 1| <= {worst_var:.3f}")
    text = (f"From the fixed-point conditions alone, alpha_01 = {c['alpha'][:22]} and lambda_01 = {c['lambda'][:22]}, "
            f"equal to the paper's constants in {digits} of their {published_digits} significant digits, rounded "
            f"(actlab's selu entry uses alpha = {cat['alpha']!r}, lambda = {cat['scale']!r}: "
            f"{'the' if cat['nearest_doubles'] else 'not the'} nearest doubles). The Jacobian of "
            f"the moment map at (0, 1) is {[[round(v, 6) for v in row] for row in jac['J']]}, spectral norm "
            f"{jac['spectral_norm']:.6f} (paper: 0.7877 < 1, so the fixed point attracts). Through "
            f"{numbers['depth']} layers of {numbers['width']} units the last layer's mean is "
            + ", ".join(fmt_ci(s["mean_last"]) for s in lay.values()) + " and variance "
            + ", ".join(fmt_ci(s["var_last"]) for s in lay.values())
            + f" for input stds {', '.join(lay)} (tolerance |mean| <= {tol['mean']:.3f}, |var - 1| <= "
            f"{tol['var']:.3f}: the sampling error of a width-{numbers['width']} layer).")
    if digits == published_digits and cat["nearest_doubles"] and norm_ok and net_ok:
        return Verdict(REPRODUCED, text, key)
    missed = [w for w, ok in (("the constants", digits == published_digits),
                              ("actlab's constants", cat["nearest_doubles"]), ("the Jacobian norm", norm_ok),
                              ("the fixed point through depth", net_ok)) if not ok]
    return Verdict(NOT_REPRODUCED, f"Not reproduced: {', '.join(missed)}. " + text, key)


def _agree(ours: str, published: str) -> int:
    """How many of the published value's significant digits ``ours`` (more digits) gives
    when rounded to as many: all of them, or the length of the common prefix.

    >>> _agree("1.0507009873554", "1.0507009874"), _agree("2.5", "2.6"), _agree("1.049", "1.05")
    (11, 1, 3)
    """
    import mpmath as mp

    n = len(published.replace(".", "").lstrip("0"))
    with mp.workdps(n + 10):
        if mp.nstr(mp.mpf(ours), n, strip_zeros=False) == published:
            return n
    return next((i for i, (x, y) in enumerate(zip(ours, published)) if x != y), n) - ("." in ours[:n])


CALIBRATION = register(
    name="selu_fixed_point",
    number=1,
    kind="calibration",
    tutorial="Klambauer et al. 2017",
    claim="SELU's constants alpha_01 = 1.6733 and lambda_01 = 1.0507 make (0, 1) a fixed point of the activations' "
    "mean and variance; the Jacobian there has spectral norm 0.7877 < 1, so the fixed point is attracting and "
    "deep SELU networks keep mean 0 and variance 1.",
    korean="",
    config=Config,
    run=run,
    verdict=verdict,
)
