"""Helpers shared by the experiments: intervals over seeds and the one figure style.

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

__all__ = ["ci", "fmt_ci", "new_figure", "png", "STYLE", "COLORS", "seeds_of"]

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
