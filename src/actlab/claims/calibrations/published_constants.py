"""The minima of GELU, Swish and Mish, and how far GELU's two approximations stray

Non-monotonic activations dip below zero once. Their minima are computed here by mpmath
at 50 digits (Newton's method on f'(x) = 0 from the catalogue-independent formulas) and
compared with what is published:

* Mish (Misra 2019, "Mish: A Self Regularized Non-Monotonic Activation Function",
  arXiv:1908.08681): minimum about -0.30884 at x about -1.1924; the rule is agreement
  to the published digits (half a unit of the last one).
* Swish / SiLU x sigmoid(x) (Ramachandran, Zoph & Le 2017; Elfwing et al. 2018): the
  minimum has a closed form through Lambert's W, at x = -(1 + W(1/e)) with value -W(1/e);
  the rule is agreement to 40 digits.
* GELU x Phi(x) (Hendrycks & Gimpel 2016): its minimum, and the largest absolute error over
  the real line of the paper's two approximations, 0.5 x (1 + tanh(sqrt(2/pi)(x +
  0.044715 x^3))) and x sigmoid(1.702 x): computed and reported; the paper gives no number
  to compare with, so they are not judged.

Each minimum is also evaluated by actlab's catalogue in float64: the value must be the
correctly rounded one within 2 ulp and f' there below 1e-15, which calibrates the
catalogue itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import new_figure, png
from ..framework import NOT_REPRODUCED, REPRODUCED, Outcome, Verdict, register

#: the published digits (Misra 2019, Section 3)
PUBLISHED = {"mish": {"x": "-1.1924", "value": "-0.30884"}}


@dataclass
class Config:
    seeds: int = 1  # nothing here is random
    dps: int = 50
    QUICK: ClassVar[dict] = {}
    FULL: ClassVar[dict] = {}


def _formulas(mp):
    Phi = lambda x: mp.erfc(-x / mp.sqrt(2)) / 2  # noqa: E731
    return {
        "gelu": lambda x: x * Phi(x),
        "silu": lambda x: x / (1 + mp.exp(-x)),
        "mish": lambda x: x * mp.tanh(mp.log1p(mp.exp(x))),
        "gelu_tanh": lambda x: x * (1 + mp.tanh(mp.sqrt(2 / mp.pi) * (x + mp.mpf("0.044715") * x ** 3))) / 2,
        "gelu_sigmoid": lambda x: x / (1 + mp.exp(-mp.mpf("1.702") * x)),
    }


def minima(dps: int = 50) -> dict:
    """x* and f(x*) of gelu, silu and mish as decimal text, from f'(x*) = 0.

    >>> m = minima(30)
    >>> m["silu"]["x"][:12], m["mish"]["value"][:8]
    ('-1.278464542', '-0.30884')
    """
    import mpmath as mp

    out = {}
    with mp.workdps(dps + 15):
        f = _formulas(mp)
        for name, start in (("gelu", -0.75), ("silu", -1.28), ("mish", -1.19)):
            x = mp.findroot(lambda t, g=f[name]: mp.diff(g, t), mp.mpf(start))
            out[name] = {"x": mp.nstr(x, dps), "value": mp.nstr(f[name](x), dps)}
        w = mp.lambertw(1 / mp.e).real
        out["silu_closed_form"] = {"x": mp.nstr(-(1 + w), dps), "value": mp.nstr(-w, dps)}
    return out


def approximation_errors(dps: int = 30) -> dict:
    """The largest |approximation - gelu| over the real line and where it is (the error
    vanishes at 0 and at +-inf, so the maximum is interior: found on a grid, refined by
    Newton's method on the error's derivative)."""
    import mpmath as mp

    out = {}
    with mp.workdps(dps + 10):
        f = _formulas(mp)
        for name in ("gelu_tanh", "gelu_sigmoid"):
            err = lambda t, g=f[name]: g(t) - f["gelu"](t)  # noqa: E731
            grid = [mp.mpf(k) / 20 for k in range(-200, 201)]
            x0 = max(grid, key=lambda t: abs(err(t)))
            x = mp.findroot(lambda t: mp.diff(err, t), x0)
            out[name] = {"x": mp.nstr(x, 12), "max_abs_error": mp.nstr(abs(err(x)), 12)}
    return out


def _catalogue_check(mins: dict) -> dict:
    """actlab's f and f' at each minimiser, in float64, against the mpmath values."""
    import mpmath as mp

    from ...catalogue import registry
    from ...verify.accuracy import ulp_errors

    out = {}
    for name in ("gelu", "silu", "mish"):
        b = registry.get(name)
        x = np.float64(mp.mpf(mins[name]["x"]))
        with mp.workdps(60):
            exact = _formulas(mp)[name](mp.mpf(float(x)))  # at the double nearest x*
        out[name] = {"ulp": float(ulp_errors(np.asarray(b(x)), [exact], np.float64)[0]),
                     "df": float(abs(b.df(x)))}
    return out


def cell(c: dict) -> dict:
    mins = minima(c["dps"])
    return {"minima": mins, "approximations": approximation_errors(), "catalogue": _catalogue_check(mins)}


def run(cfg: Config, runner) -> Outcome:
    (res,) = runner.map(cell, [{"dps": cfg.dps}], desc="published_constants")
    numbers = {**res, "published": PUBLISHED}
    settings = f"mpmath at {cfg.dps} digits (Newton's method on f'); actlab's catalogue in float64 at each minimiser."
    return Outcome(numbers=numbers, raw={}, figures=[_figure(numbers)], settings=settings)


def _figure(n: dict):
    from ...catalogue import registry

    fig, ax = new_figure(2, 1, width=4.8, height=3.6)
    x = np.linspace(-4.0, 1.0, 801)
    for k, name in enumerate(("gelu", "silu", "mish")):
        m = n["minima"][name]
        ax[0, 0].plot(x, registry.get(name)(x), color=f"C{k}", label=name)
        ax[0, 0].plot([float(m["x"])], [float(m["value"])], "o", color=f"C{k}")
    ax[0, 0].set(xlabel="x", ylabel="f(x)", ylim=(-0.4, 0.6), title="the minima (dots: mpmath)")
    ax[0, 0].legend(fontsize=8)
    x = np.linspace(-6.0, 6.0, 2001)
    exact = registry.get("gelu")(x)
    approximations = {"gelu_tanh": registry.get("gelu_tanh")(x), "gelu_sigmoid": registry.get("silu(beta=1.702)")(x)}
    for k, (name, y) in enumerate(approximations.items()):
        top = float(n["approximations"][name]["max_abs_error"])
        ax[0, 1].plot(x, np.abs(y - exact), color=f"C{k + 3}", label=f"{name}: max {top:.2g}")
    ax[0, 1].set(yscale="log", ylim=(1e-9, 0.1), xlabel="x", ylabel="|approximation - GELU|",
                 title="GELU's two approximations")
    ax[0, 1].legend(fontsize=8)
    return png(fig, "minima", "Left: GELU, Swish (SiLU) and Mish near their minima, drawn by actlab's catalogue; dots: "
               "the minima computed by mpmath. Right: the absolute error of GELU's tanh and sigmoid approximations.")


def _within(value: str, published: str) -> bool:
    """Whether ``value`` rounds to ``published`` (agreement to half a unit of its last digit).

    >>> _within("-0.308840", "-0.30884"), _within("-0.30886", "-0.30884")
    (True, False)
    """
    decimals = len(published.split(".")[1])
    return abs(float(value) - float(published)) <= 0.5 * 10 ** -decimals


def verdict(numbers) -> Verdict:
    import mpmath as mp

    m, pub, cat, apx = numbers["minima"], numbers["published"], numbers["catalogue"], numbers["approximations"]
    mish_ok = _within(m["mish"]["x"], pub["mish"]["x"]) and _within(m["mish"]["value"], pub["mish"]["value"])
    with mp.workdps(60):
        closed = max(abs(mp.mpf(m["silu"][k]) - mp.mpf(m["silu_closed_form"][k])) for k in ("x", "value"))
    silu_ok = closed <= mp.mpf("1e-40")
    cat_ok = all(v["ulp"] <= 2 and v["df"] <= 1e-15 for v in cat.values())
    key = (f"Mish min {m['mish']['value'][:9]} at {m['mish']['x'][:8]} (paper -0.30884 at -1.1924); Swish min = "
           f"-W(1/e) to {float(closed):.0e}; GELU min {m['gelu']['value'][:9]} at {m['gelu']['x'][:8]}")
    text = (f"Mish's minimum is {m['mish']['value'][:12]} at x = {m['mish']['x'][:12]} (Misra 2019: about -0.30884 at "
            f"-1.1924); Swish's is {m['silu']['value'][:12]} at {m['silu']['x'][:12]}, equal to the closed form "
            f"-W(1/e) at -(1 + W(1/e)) within {float(closed):.0e}; GELU's is {m['gelu']['value'][:12]} at "
            f"{m['gelu']['x'][:12]}. actlab's catalogue at these minimisers: "
            + ", ".join(f"{k} {v['ulp']:.2g} ulp, |f'| {v['df']:.1e}" for k, v in cat.items())
            + ". GELU's approximations stray at most " + ", ".join(
                f"{a['max_abs_error']} ({k}, at x = {a['x']})" for k, a in apx.items()) + " (reported, not judged).")
    missed = [w for w, ok in (("Mish's published minimum", mish_ok), ("Swish's closed form", silu_ok),
                              ("the catalogue at the minima", cat_ok)) if not ok]
    if not missed:
        return Verdict(REPRODUCED, text, key)
    return Verdict(NOT_REPRODUCED, f"Not reproduced: {', '.join(missed)}. " + text, key)


CALIBRATION = register(
    name="published_constants",
    number=4,
    kind="calibration",
    tutorial="Misra 2019; Ramachandran et al. 2017; Hendrycks & Gimpel 2016",
    claim="Mish has its minimum, about -0.30884, at x about -1.1924; Swish's minimum is -W(1/e) at -(1 + W(1/e)); "
    "GELU dips to a minimum near x = -0.75, and its tanh and sigmoid approximations stay close to it.",
    korean="",
    config=Config,
    run=run,
    verdict=verdict,
)
