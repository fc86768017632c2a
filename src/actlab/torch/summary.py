"""A watch's results as plain data, the warnings, and the text table.

Verdicts per unit are actlab's own (:class:`actlab.nn.diagnostics.LayerUnits`, the same
definitions and wording as the engine's diagnostics); gradient flags are
:func:`actlab.nn.diagnostics.gradient_summary`'s (a weight's gradient *vanishes* below
1e-2 times the last weight's, *explodes* above 1e2 times).
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

import numpy as np

from ..catalogue.registry import get
from ..nn.diagnostics import LayerUnits, definitions, gradient_summary
from .stats import HIST_EDGES

if TYPE_CHECKING:
    from .watcher import Watch

__all__ = ["collect", "layer_units", "text", "advice"]


def advice(spec: str, what: str) -> str:
    """What to try against dead (or ``what="saturated"``) units, by the kind of activation:
    bounded on both sides (it saturates at large |z|) or not (ReLU's family).

    >>> advice("relu", "dead")
    'try a lower learning rate, BatchNorm or leaky_relu'
    """
    try:
        b = get(spec)
        bounded = b.bounded_below and b.bounded_above
    except ValueError:  # PReLU's "prelu(learned, n slopes)" is a label, not a spec
        bounded = False
    if bounded:  # sigmoid, tanh, hard_tanh, ...: large |z| flattens them
        return ("try a smaller initial weight scale (Xavier/Glorot), BatchNorm, or an activation that does not "
                "saturate (relu, gelu)")
    # ReLU's family: z pushed to the flat side, typically by a large update
    return "try a lower learning rate, BatchNorm or leaky_relu"


def layer_units(w: Watch) -> list[tuple[Any, LayerUnits]]:
    out = []
    for index, layer in enumerate(w._layers.values()):
        if layer.diagnosed:
            units = layer.stats.units_report(index, layer.mapped.spec, w.sat_most)
            if units is not None:
                out.append((layer, units))
    return out


def _by_name(steps: list[tuple[int, list[str], Any]]) -> dict[str, list[tuple[int, float]]]:
    """Per-step stacked values (one tensor per step) as a series per parameter name."""
    out: dict[str, list[tuple[int, float]]] = {}
    for step, names, values in steps:
        for name, v in zip(names, values.cpu().tolist()):
            out.setdefault(name, []).append((step, v))
    return out


def _series(pairs: list[tuple[int, Any]]) -> dict[str, list]:
    return {"steps": [s for s, _ in pairs], "values": [float(v) for _, v in pairs]}


def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def collect(w: Watch) -> dict[str, Any]:
    units = {id(layer): u for layer, u in layer_units(w)}
    layers = []
    for index, layer in enumerate(w._layers.values()):
        u = units.get(id(layer))
        row: dict[str, Any] = {"index": index, "name": layer.name, "kind": layer.kind,
                               "torch": layer.mapped.torch_name, "spec": layer.mapped.spec or layer.mapped.name,
                               "diagnosed": layer.diagnosed, "error": layer.stats.error}
        if u is not None:
            row |= {"units": u.units, "samples": u.samples, "dead_frac": u.dead_frac,
                    "inactive_frac": u.inactive_frac, "saturated_frac": u.saturated_frac,
                    "frac_zero_derivative": u.frac_zero_out,
                    "dead": np.flatnonzero(u.dead).tolist(), "inactive": np.flatnonzero(u.inactive).tolist(),
                    "saturated": np.flatnonzero(u.saturated).tolist(), "max_abs_df": u.max_abs_df}
            since = layer.stats.dead_since(w.recent)
            row |= {"first_step": layer.stats.first_step, "last_step": layer.stats.last_step,
                    "recently_dead": np.flatnonzero(since).tolist(), "recently_dead_frac": float(since.mean())}
        moments = layer.stats.moments()
        if moments is not None:
            mean, std = moments
            n = layer.stats.out_samples
            total = n * mean.size
            m = float(mean.sum() * n / total)
            var = float(((std**2 + mean**2).sum() * n) / total - m * m)
            row |= {"mean": m, "std": float(np.sqrt(max(var, 0.0))), "unit_mean": mean, "unit_std": std,
                    "histogram": {"edges": list(HIST_EDGES), "counts": layer.stats.histogram()}}
        row["grad_norm"] = _series(layer.grads)
        layers.append(row)

    params = []
    grads = _by_name(w._grad_steps)
    for name, pairs in w._param_grads.items():
        grads.setdefault(name, []).extend((step, float(v)) for step, v in pairs)
    updates = _by_name(w._updates)
    for name, p in w.model.named_parameters():
        series = _series(grads.get(name, []))
        ratios = updates.get(name, [])
        params.append({"name": name, "shape": list(p.shape), "grad_norm": series,
                       "update_ratio": {"steps": [s for s, _ in ratios], "values": [r for _, r in ratios]},
                       "mean_grad_norm": _mean(series["values"]),
                       "median_update_ratio": statistics.median([r for _, r in ratios]) if ratios else None,
                       "flag": None})
    weights = [p for p in params if len(p["shape"]) >= 2 and p["mean_grad_norm"] is not None]
    if weights:
        for p, g in zip(weights, gradient_summary(None, norms=[p["mean_grad_norm"] for p in weights])):
            p["flag"], p["ratio_to_last"] = g.flag, g.ratio

    result = {
        "model": type(w.model).__name__,
        "settings": {"every": w.every, "dead_eps": w.dead_eps, "sat_eps": w.sat_eps, "sat_most": w.sat_most,
                     "unit_dim": w.unit_dim, "derivative": w.derivative, "warn_frac": w.warn_frac,
                     "recent": w.recent},
        "forward_passes": w.forward_passes, "sampled_forward_passes": -(-w.forward_passes // w.every),
        "optimizer_steps": w.optimizer_steps,
        "definitions": definitions(w.dead_eps, w.sat_eps, w.sat_most),
        "layers": layers, "parameters": params,
        "not_seen": list(w.not_seen), "not_diagnosed": list(w.not_diagnosed), "notes": list(w.notes),
    }
    result["warnings"] = _warnings(result, w.warn_frac, w.recent)
    return result


def _warnings(result: dict[str, Any], warn_frac: float, recent: int) -> list[str]:
    out = []
    for row in result["layers"]:
        if row.get("error"):
            out.append(f"layer {row['name']}: {row['error']}")
        for what in ("dead", "saturated"):
            frac = row.get(f"{what}_frac")
            if frac is None or frac == 0:
                continue
            if what == "saturated":
                # a dead unit is saturated too (f' = 0 < sat_eps): warn for the others only
                frac_alive = len(set(row["saturated"]) - set(row["dead"])) / row["units"]
                if frac_alive < warn_frac:
                    continue
            if frac >= warn_frac:
                out.append(f"{100 * frac:.0f} % of layer {row['name']}'s {row['spec']} units are {what}: "
                           f"{advice(row['spec'], what)}")
        died = row.get("recently_dead_frac")
        if died is not None and died > 0 and died >= warn_frac and died > row["dead_frac"]:
            out.append(f"{100 * died:.0f} % of layer {row['name']}'s {row['spec']} units died during training (dead "
                       f"on every sample of the last {recent} forward passes): {advice(row['spec'], 'dead')}")
    for p in result["parameters"]:
        if p["flag"] in ("vanishing", "exploding"):
            out.append(f"the gradient of {p['name']} is {p['flag']}: its norm is {p['ratio_to_last']:.2g} times "
                       f"the last weight's ({'below 1e-2' if p['flag'] == 'vanishing' else 'above 1e2'})")
        elif p["flag"] in ("non-finite", "zero"):
            out.append(f"the gradient of {p['name']} is {p['flag']}")
    return out


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _g(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}"


def text(r: dict[str, Any]) -> str:
    """The summary table (see :meth:`actlab.torch.Watch.summary`)."""
    s = r["settings"]
    lines = [f"actlab.torch.watch: {r['forward_passes']} forward passes ({r['sampled_forward_passes']} sampled, "
             f"every {s['every']}), {r['optimizer_steps']} optimiser steps", ""]
    w = max([len(x["name"]) for x in r["layers"]] + [5])
    a = max([len(x["spec"]) for x in r["layers"]] + [10])
    recent = f"dead@{s['recent']}"
    lines.append(f"{'layer':<{w}}  {'activation':<{a}}  {'units':>5}  {'samples':>8}  {'dead':>6}  {recent:>8}  "
                 f"{'inactive':>8}  {'saturated':>9}  {'mean':>8}  {'std':>8}  {'||dL/da||':>9}")
    for x in r["layers"]:
        if not x["diagnosed"] or "units" not in x:
            note = "not diagnosed" if not x["diagnosed"] else (x.get("error") or "not called")
            lines.append(f"{x['name']:<{w}}  {x['spec']:<{a}}  {note}")
            continue
        lines.append(f"{x['name']:<{w}}  {x['spec']:<{a}}  {x['units']:>5}  {x['samples']:>8}  "
                     f"{_pct(x['dead_frac']):>6}  {_pct(x['recently_dead_frac']):>8}  {_pct(x['inactive_frac']):>8}  "
                     f"{_pct(x['saturated_frac']):>9}  "
                     f"{_g(x.get('mean')):>8}  {_g(x.get('std')):>8}  {_g(_mean(x['grad_norm']['values'])):>9}")
    if r["parameters"]:
        pw = max([len(p["name"]) for p in r["parameters"]] + [9])
        lines += ["", f"{'parameter':<{pw}}  {'shape':<12}  {'||dL/dp||':>9}  {'flag':<10}  {'update/weight':>13}"]
        for p in r["parameters"]:
            shape = "x".join(map(str, p["shape"])) or "scalar"
            lines.append(f"{p['name']:<{pw}}  {shape:<12}  {_g(p['mean_grad_norm']):>9}  {p['flag'] or '-':<10}  "
                         f"{_g(p['median_update_ratio']):>13}")
        lines.append(f"(dead@{s['recent']}: dead on every sample of the last {s['recent']} forward passes; "
                     "||dL/da||, ||dL/dp||: means over sampled steps; update/weight: median over sampled optimiser "
                     "steps; flag: ||dL/dW|| relative to the last weight's)")
    for title, key in (("Not seen", "not_seen"), ("Not diagnosed", "not_diagnosed"), ("Notes", "notes"),
                       ("Warnings", "warnings")):
        if r[key]:
            lines += ["", f"{title}:"] + [f"  - {item}" for item in r[key]]
    lines += ["", "Definitions: " + r["definitions"]]
    return "\n".join(lines)
