"""Helpers shared by the experiments: the statistics a verdict rests on (t intervals over
seeds, Wilson intervals for proportions, bootstrap intervals, a monotone-trend test with
its effect size) and the one figure style.

>>> r = ci([1.0, 2.0, 3.0])
>>> r["mean"], round(r["lo"], 3), round(r["hi"], 3), r["n"]
(2.0, -0.484, 4.484, 3)
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..plots import STYLE  # noqa: E402  (one style for every figure)
from .framework import Figure  # noqa: E402

__all__ = ["ci", "wilson", "bootstrap_ci", "trend", "fmt_ci", "new_figure", "png", "STYLE", "COLORS", "seeds_of"]

COLORS = {"relu": "#1f77b4", "sigmoid": "#d62728", "tanh": "#2ca02c", "step": "#7f7f7f", "identity": "#9467bd",
          "softmax": "#ff7f0e", "linear": "#9467bd"}


def ci(values: Iterable[float], level: float = 0.95) -> dict:
    """Mean and ``level`` Student-t interval over seeds: {mean, lo, hi, sd, n}.

    With one value the interval is the point itself (no spread can be measured).
    """
    from scipy import stats

    v = np.asarray(list(values), dtype=float)
    n = int(v.size)
    mean = float(v.mean()) if n else math.nan
    if n < 2:
        return {"mean": mean, "lo": mean, "hi": mean, "sd": 0.0, "n": n}
    sd = float(v.std(ddof=1))
    if sd == 0.0:
        return {"mean": mean, "lo": mean, "hi": mean, "sd": 0.0, "n": n}
    lo, hi = stats.t.interval(level, n - 1, loc=mean, scale=sd / math.sqrt(n))
    return {"mean": mean, "lo": float(lo), "hi": float(hi), "sd": sd, "n": n}


def wilson(k: int, n: int, level: float = 0.95) -> dict:
    """A proportion ``k / n`` with its Wilson score interval (SciPy), shaped like :func:`ci`:
    {mean, lo, hi, n, k}. Unlike a t interval over seeds it never leaves [0, 1].

    >>> r = wilson(0, 50)
    >>> r["mean"], r["lo"], round(r["hi"], 4)
    (0.0, 0.0, 0.0713)
    """
    from scipy.stats import binomtest

    k, n = int(k), int(n)
    if n == 0:
        return {"mean": math.nan, "lo": math.nan, "hi": math.nan, "n": 0, "k": 0}
    lo, hi = binomtest(k, n).proportion_ci(level, method="wilson")
    return {"mean": k / n, "lo": float(lo), "hi": float(hi), "n": n, "k": k}


def bootstrap_ci(values: Iterable[float], level: float = 0.95, seed: int = 0, resamples: int = 9999) -> dict:
    """Mean and a BCa bootstrap interval (SciPy), shaped like :func:`ci`; for skewed
    per-seed numbers (ratios, steps to a target) where a t interval would be symmetric.
    The resampling is seeded: the same values give the same interval.

    >>> r = bootstrap_ci([1.0, 1.2, 0.9, 1.1, 5.0])
    >>> r["lo"] < r["mean"] < r["hi"], r["n"]
    (True, 5)
    """
    from scipy import stats

    v = np.asarray(list(values), dtype=float)
    n = int(v.size)
    mean = float(v.mean()) if n else math.nan
    if n < 2 or float(np.ptp(v)) == 0.0:
        return {"mean": mean, "lo": mean, "hi": mean, "sd": 0.0, "n": n}
    res = stats.bootstrap((v,), np.mean, confidence_level=level, n_resamples=resamples, method="BCa",
                          random_state=np.random.default_rng(seed))
    lo, hi = res.confidence_interval
    return {"mean": mean, "lo": float(lo), "hi": float(hi), "sd": float(v.std(ddof=1)), "n": n}


def trend(levels: Sequence[float], values: Sequence[Sequence[float]]) -> dict:
    """Does a measured quantity rise (or fall) monotonically with a setting? ``values[i]``
    holds the per-seed measurements at ``levels[i]``. Kendall's tau over all (level,
    value) pairs with its two-sided p-value, and the Theil-Sen slope per unit of
    log10(level) with its 95 % interval as the effect size (levels are learning rates,
    widths, depths: spread on a log scale). {tau, p, slope, slope_lo, slope_hi, n}.

    >>> t = trend([0.01, 0.1, 1.0], [[0.0, 0.1], [0.2, 0.3], [0.5, 0.6]])
    >>> round(t["tau"], 3), t["p"] < 0.05, round(t["slope"], 3)
    (0.894, True, 0.25)
    """
    from scipy import stats

    x = np.concatenate([np.full(len(v), math.log10(lv)) for lv, v in zip(levels, values)])
    y = np.concatenate([np.asarray(v, dtype=float) for v in values])
    if len(set(y.tolist())) < 2:
        return {"tau": 0.0, "p": 1.0, "slope": 0.0, "slope_lo": 0.0, "slope_hi": 0.0, "n": int(y.size)}
    tau, p = stats.kendalltau(x, y)
    slope, _, lo, hi = stats.theilslopes(y, x)
    return {"tau": float(tau), "p": float(p), "slope": float(slope), "slope_lo": float(lo), "slope_hi": float(hi),
            "n": int(y.size)}


def fmt_ci(r: dict, digits: int = 3) -> str:
    """``0.512 [0.49, 0.53] (n=5)``."""
    if r["n"] < 2 or r["lo"] == r["hi"]:
        return f"{r['mean']:.{digits}g} (n={r['n']})"
    return f"{r['mean']:.{digits}g} [{r['lo']:.{digits}g}, {r['hi']:.{digits}g}] (n={r['n']})"


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 4.2, height: float = 3.4, **kw):
    """A figure in the actlab style, ``ncols x nrows`` panels of ``width x height`` inches."""
    matplotlib.rcParams.update(STYLE)  # labels take their font size when they are made
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kw)
    return fig, axes


def png(fig, name: str, caption: str) -> Figure:
    """Render ``fig`` to PNG bytes in the actlab style and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=STYLE["savefig.dpi"])
    plt.close(fig)
    return Figure(name, caption, buf.getvalue())


def seeds_of(cfg) -> list[int]:
    """The seeds of a config: 0 .. cfg.seeds - 1 (fixed, so runs are reproducible)."""
    return list(range(cfg.seeds))


def by(rows: Sequence[dict], *keys: str) -> dict:
    """Group cell results (dicts) by the values of ``keys``: {tuple(values): [rows]}."""
    out: dict = {}
    for r in rows:
        out.setdefault(tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]], []).append(r)
    return out
