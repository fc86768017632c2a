"""A watch's results as one self-contained HTML page, in the claims report's style.

The page is a Jinja2 template (``torch/templates/watch.html.j2``, autoescaped, so a
module name or a note can never break it) fed plain strings and tables prepared here;
figures (gradient norms over steps, update-to-weight ratios, activation histograms) are
drawn with :data:`actlab.plots.STYLE` and embedded as base64 PNG, so the page works
offline as one file.
"""

from __future__ import annotations

import base64
import io
import math
import os
import platform
import time
from importlib import metadata
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape

from .._io import write_atomic

__all__ = ["render", "write"]

_TEMPLATES = Environment(
    # own templates first, then the pieces shared by every page (style.css, macros.html.j2)
    loader=ChoiceLoader([PackageLoader("actlab.torch", "templates"), PackageLoader("actlab", "templates")]),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _g(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if math.isfinite(v) else str(v)
    return str(v)


def _table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"head": list(rows[0]) if rows else [], "rows": [[_g(v) for v in r.values()] for r in rows]}


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode()


def _figures(r: dict[str, Any]) -> list[dict[str, str]]:
    import matplotlib as mpl
    from matplotlib.figure import Figure

    from ..plots import STYLE

    out = []
    with mpl.rc_context(STYLE):
        series = [(x["name"], x["grad_norm"]) for x in r["layers"] if x["grad_norm"]["values"]]
        updates = [(p["name"], p["update_ratio"]) for p in r["parameters"] if p["update_ratio"]["values"]]
        panels = [(data, title, xlabel) for data, title, xlabel in (
            (series, "||dL/da|| per activation layer", "forward pass"),
            (updates, "||update|| / ||weight|| per parameter", "optimiser step")) if data]
        if panels:
            fig = Figure(figsize=(5 * len(panels), 3.6), layout="constrained")
            for ax, (data, title, xlabel) in zip(fig.subplots(1, len(panels), squeeze=False).ravel(), panels):
                for name, s in data:
                    ax.plot(s["steps"], [v if v > 0 else math.nan for v in s["values"]], lw=1.0, label=name)
                ax.set_yscale("log")
                ax.set_xlabel(xlabel)
                ax.set_title(title)
                if len(data) <= 12:
                    ax.legend()
            out.append({"caption": "Over the sampled steps: " + "; ".join(
                {"forward pass": "the norm of the gradient of each activation layer's output",
                 "optimiser step": "the update-to-weight ratio of each parameter"}[x] for _, _, x in panels) + ".",
                "png": _png(fig)})
        hists = [x for x in r["layers"] if x.get("histogram") and sum(x["histogram"]["counts"])]
        if hists:
            cols = min(3, len(hists))
            rows = -(-len(hists) // cols)
            fig = Figure(figsize=(3.6 * cols, 2.6 * rows), layout="constrained")
            axes = fig.subplots(rows, cols, squeeze=False).ravel()
            edges = hists[0]["histogram"]["edges"]
            labels = [f"<={edges[0]:g}"] + [f"{e:g}" for e in edges[1:]] + [f">{edges[-1]:g}"]
            for ax, x in zip(axes, hists):
                counts = x["histogram"]["counts"]
                total = sum(counts)
                ax.bar(range(len(counts)), [c / total for c in counts], color="#4c72b0")
                ax.set_xticks(range(len(counts))[::4], labels[::4], fontsize=7)
                ax.set_title(f"{x['name']} ({x['spec']})", fontsize=9)
            for ax in axes[len(hists):]:
                ax.set_visible(False)
            out.append({"caption": "Histograms of the activations: fraction of values per bin; a bin is labelled "
                                   "by its upper edge (the bin ending at 0 holds ReLU's exact zeros).",
                        "png": _png(fig)})
    return out


def _environment() -> list[dict[str, str]]:
    env = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("actlab", "torch", "numpy"):
        try:
            env[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            env[pkg] = "not installed"
    env["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    return [{"item": k, "value": v} for k, v in env.items()]


def render(r: dict[str, Any], figures: bool = True) -> str:
    """The page for :meth:`actlab.torch.Watch.to_dict`'s result ``r``."""
    s = r["settings"]
    layers = [{"layer": x["name"], "call": x["torch"], "activation": x["spec"], "units": x.get("units"),
               "samples": x.get("samples"), "dead": _pct(x.get("dead_frac")), "inactive": _pct(x.get("inactive_frac")),
               "saturated": _pct(x.get("saturated_frac")), "mean": x.get("mean"), "std": x.get("std"),
               "dead units": _indices(x.get("dead")), "saturated units": _indices(x.get("saturated"))}
              for x in r["layers"]]
    params = [{"parameter": p["name"], "shape": "x".join(map(str, p["shape"])) or "scalar",
               "mean ||dL/dp||": p["mean_grad_norm"], "flag": p["flag"],
               "median update/weight": p["median_update_ratio"]} for p in r["parameters"]]
    overview = (f"{r['forward_passes']} forward passes watched, {r['sampled_forward_passes']} sampled "
                f"(every {s['every']}); {r['optimizer_steps']} optimiser steps. Thresholds: "
                f"dead_eps {s['dead_eps']:g}, sat_eps {s['sat_eps']:g}, sat_most {s['sat_most']:g}; "
                f"derivative: {s['derivative']}.")
    context = {
        "model": r.get("model", "a torch model"), "overview": overview, "warnings": r["warnings"],
        "warn_pct": f"{s['warn_frac']:.0%}", "layers": _table(layers), "parameters": _table(params),
        "figures": _figures(r) if figures else [],
        "lists": [("Not seen", r["not_seen"]), ("Not diagnosed", r["not_diagnosed"]), ("Notes", r["notes"])],
        "definitions": r["definitions"], "environment": _table(_environment()),
    }
    return _TEMPLATES.get_template("watch.html.j2").render(context)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _indices(v: list[int] | None, most: int = 12) -> str:
    if not v:
        return "-"
    return ", ".join(map(str, v[:most])) + (f", ... ({len(v)} in all)" if len(v) > most else "")


def write(r: dict[str, Any], path: str | os.PathLike) -> str:
    """Render and write the page atomically; returns the path."""
    write_atomic(path, render(r))
    return os.fspath(path)
