"""Figures of the catalogue, in the tutorials' layout: f with f' beside it (and f''); and
the training curves of a run.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (so no
global figure state and no screen: the Agg canvas renders it); :func:`save` writes it
atomically. One style for all: labelled axes, a light grid, the axes through 0, kinks
marked — a filled dot at the value the catalogue returns there and open dots at the
one-sided limits when they differ (so ReLU's f'(0) = 0 convention is visible).

Vector entries are drawn along a one-parameter slice of their input: output 0 of f(x, 0)
(e.g. softmax of (x, 0), which is sigmoid(x)), or of f(x, x) when the output is shorter
than the input (GLU: x·σ(x)); the derivative is the directional derivative along the slice.

>>> from actlab import plots
>>> fig = plots.plot(["relu"], derivative=True)
>>> [ax.get_ylabel() for ax in fig.axes]
['f(x)', "f'(x)"]
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ._io import write_atomic
from .catalogue.registry import REGISTRY, Bound, get
from .errors import ActlabError

__all__ = ["plot", "gallery", "figure_for", "save", "parse_sweeps", "training_curves", "STYLE"]

#: The one style of every actlab figure (catalogue plots and experiment figures alike):
#: readable on a phone (large fonts, thick lines), light grid, no top/right spines.
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "lines.linewidth": 2.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.constrained_layout.use": True,
}
_PANELS = (("f", "f(x)"), ("df", "f'(x)"), ("d2f", "f''(x)"))


def parse_sweeps(items: Iterable[str]) -> dict[str, list[float]]:
    """``["alpha=0.1,0.3"]`` -> ``{"alpha": [0.1, 0.3]}`` (the ``--param`` option).

    >>> parse_sweeps(["alpha=0.1,0.3", "beta=2"])
    {'alpha': [0.1, 0.3], 'beta': [2.0]}
    """
    out: dict[str, list[float]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = [float(v) for v in values.split(",")]
        except ValueError:
            raise ActlabError("A parameter sweep is NAME=V1,V2,... e.g. 'alpha=0.1,0.3'. "
                              f"Got {item!r} instead.") from None
    return out


class _Curve:
    """f, f', f'' of one bound activation along x (vector entries: along their slice)."""

    def __init__(self, act: Bound):
        self.act = act
        d = act.definition
        self.vector = d.vector
        if self.vector:
            probe = np.asarray(act.f(np.zeros(2)))
            self.direction = np.array([1.0, 1.0]) if probe.size < 2 else np.array([1.0, 0.0])

    @property
    def label(self) -> str:
        if not self.vector:
            return self.act.spec
        path = "(x, x)" if self.direction[1] else "(x, 0)"
        return f"{self.act.spec}{path}[0]"

    def has(self, which: str) -> bool:
        return which != "d2f" or (not self.vector and self.act.has_d2f)

    def __call__(self, which: str, x: np.ndarray) -> np.ndarray:
        if not self.vector:
            return np.asarray(getattr(self.act, which)(x), dtype=float)
        rows = x[:, None] * self.direction[None, :]
        if which == "f":
            return self.act.f(rows)[:, 0]
        jac = self.act.jacobian(rows)  # (n, m, 2)
        return jac[:, 0, :] @ self.direction

    @property
    def kinks(self) -> list[float]:
        return [] if self.vector else sorted(self.act.kinks)


def _bind_all(names: Sequence[str | Bound], params: dict[str, list[float]] | None) -> list[Bound]:
    acts = []
    for name in names:
        base = get(name)
        if not params:
            acts.append(base)
            continue
        sweeps = [{}]
        for key, values in params.items():
            sweeps = [{**s, key: v} for s in sweeps for v in values]
        acts += [get(base, **s) for s in sweeps]
    return acts


def _draw(ax, curve: _Curve, which: str, x: np.ndarray, color) -> None:
    kinks = [k for k in curve.kinks if x[0] < k < x[-1]]
    # break the line at each kink so that a jump is not drawn as a vertical segment
    xs = np.sort(np.concatenate([x, np.array(kinks, dtype=float)]))
    y = curve(which, xs)
    for k in kinks:
        y = np.where(xs == k, np.nan, y)
    ax.plot(xs, y, color=color, label=curve.label)
    for k in kinks:
        kk = np.array([k, np.nextafter(k, -np.inf), np.nextafter(k, np.inf)])
        at, left, right = curve(which, kk)
        # one-sided limits that differ from the value at the kink (beyond rounding): open dots
        sides = {float(s) for s in (left, right) if not abs(s - at) <= 1e-9 * (1 + abs(at))}
        for side in sides:
            ax.plot([k], [side], "o", markerfacecolor="white", markeredgecolor=color, markersize=5, zorder=3)
        ax.plot([k], [at], "o", color=color, markersize=5, zorder=4)


def plot(
    names: Sequence[str | Bound],
    derivative: bool = False,
    second: bool = False,
    params: dict[str, list[float]] | None = None,
    xlim: tuple[float, float] = (-5.0, 5.0),
    n: int = 1001,
    title: str | None = None,
) -> Figure:
    """One figure: f of every activation (panels f' and f'' beside it on request).

    ``params`` sweeps parameters, one curve per combination, e.g. ``{"alpha": [0.1, 0.3]}``
    (each named activation must have them; an unknown one gets a close match).
    """
    import matplotlib as mpl

    if not names:
        raise ActlabError("Give at least one activation to plot, e.g. 'relu'.")
    lo, hi = map(float, xlim)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ActlabError(f"The 'xlim' parameter of plot must be two finite numbers LO < HI. Got {xlim!r} instead.")
    curves = [_Curve(a) for a in _bind_all(names, params)]
    panels = [p for p in _PANELS if p[0] == "f" or (p[0] == "df" and derivative) or (p[0] == "d2f" and second)]
    if second and not any(c.has("d2f") for c in curves):
        raise ActlabError(f"None of {', '.join(c.act.name for c in curves)} has a second derivative in the catalogue.")
    x = np.linspace(lo, hi, n)
    paths = {c.label[len(c.act.spec):] for c in curves if c.vector}
    xlabel = f"x   (vector entries: output [0] of input {', '.join(sorted(p[:-3] for p in paths))})" if paths else "x"
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(4.2 * len(panels), 3.4), layout="constrained")
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        colors = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
        for ax, (which, ylabel) in zip(axes, panels):
            for i, c in enumerate(curves):
                if c.has(which):
                    _draw(ax, c, which, x, colors[i % len(colors)])
            ax.axhline(0, color="0.4", linewidth=0.8, zorder=1)
            ax.axvline(0, color="0.4", linewidth=0.8, zorder=1)
            ax.set_xlim(lo, hi)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.set_title({"f": "activation", "df": "first derivative", "d2f": "second derivative"}[which])
        if len(curves) > 1:
            axes[0].legend(fontsize=8, frameon=False)
        fig.suptitle(title or ", ".join(dict.fromkeys(c.act.name for c in curves)))
    return fig


def figure_for(name: str) -> Figure:
    """The gallery figure of one registry entry: f, f' and (where it exists) f''.

    Entries with parameters also show two other values of their first parameter.
    """
    act = get(name)
    d = act.definition
    sweep = None
    if d.params:
        p = d.params[0]
        candidates = [p.default * 0.5, p.default, p.default * 2] if p.default else [p.default, 0.5, 1.0]
        ok = []
        for v in candidates:
            try:
                d.bind(**{p.name: v})
                ok.append(v)
            except ActlabError:
                pass
        sweep = {p.name: ok}
    xlim = (-5.0, 5.0)
    if not d.vector:
        kinks = [k for k in act.kinks if np.isfinite(k)]
        if kinks and max(abs(k) for k in kinks) > 4:
            m = max(abs(k) for k in kinks) + 2
            xlim = (-m, m)
    return plot([name], derivative=True, second=not d.vector and act.has_d2f, params=sweep, xlim=xlim,
                title=f"{name}: ${d.formula}$" if _mathtext_ok(d.formula) else name)


def _mathtext_ok(formula: str) -> bool:
    """Whether matplotlib's mathtext can render the catalogue's LaTeX formula."""
    from matplotlib.mathtext import MathTextParser

    try:
        MathTextParser("path").parse(f"${formula}$")
    except ValueError:
        return False
    return True


def save(fig: Figure, path: str | os.PathLike) -> str:
    """Write ``fig`` to ``path`` (.png or .svg) atomically; return the path."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in ("png", "svg"):
        raise ActlabError(f"A figure is saved as .png or .svg. Got {path!r} instead.")
    buf = io.BytesIO()
    fig.savefig(buf, format=ext)
    write_atomic(path, buf.getvalue())
    return path


def gallery(out_dir: str | os.PathLike, names: Sequence[str] | None = None, fmt: str = "png",
            progress: bool = False) -> list[str]:
    """One figure per registry entry (default: all), ``out_dir/NAME.fmt``; returns the paths.

    ``names`` may hold specs and typed formulas: a formula's file is named by
    :func:`file_stem` (its text may hold '/' and spaces)."""
    from tqdm import tqdm

    chosen = list(REGISTRY) if names is None else list(dict.fromkeys(get(n).name for n in names))
    paths = []
    for name in tqdm(chosen, desc="gallery", unit="fig", disable=not progress):
        paths.append(save(figure_for(name), os.path.join(out_dir, f"{file_stem(name)}.{fmt}")))
    return paths


def file_stem(name: str) -> str:
    """A file name for an entry: its name, or for a typed formula a readable slug of its
    text and a hash of it (two formulas never share a file).

    >>> file_stem("relu"), file_stem("1/(1 + exp(-x))")
    ('relu', 'formula_1_1_exp_x_a41ef174')
    """
    import hashlib

    if re.fullmatch(r"[A-Za-z0-9_]+", name):
        return name
    slug = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")[:40]
    return f"formula_{slug}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def training_curves(history: Any, path: str | os.PathLike) -> str:
    """Loss of every mini-batch and accuracy per epoch (train and held-out) of an
    :class:`actlab.nn.History`, written atomically to ``path``; returns the path."""
    import matplotlib as mpl

    cfg = history.config
    layers = cfg.get("layers", [])
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(10, 3.8), layout="constrained")
        a1, a2 = fig.subplots(1, 2)
        a1.plot(np.arange(1, len(history.step_loss) + 1), history.step_loss, lw=0.6, label="mini-batch loss")
        a1.set_xlabel("step")
        a1.set_ylabel("loss")
        a1.set_yscale("log")
        epochs = [r["epoch"] for r in history.epochs]
        for key, style, label in (("acc", "o-", "train (running)"), ("val_acc", "s-", "held-out")):
            if any(r.get(key) is not None for r in history.epochs):
                a2.plot(epochs, [r[key] for r in history.epochs], style, label=label)
        a2.set_xlabel("epoch")
        a2.set_ylabel("accuracy")
        a2.legend()
        a1.legend()
        fig.suptitle(f"{cfg.get('arch', '')} {layers[1].get('spec', '') if len(layers) > 1 else ''}")
        return save(fig, path)
