"""Kernel benchmarks: actlab's f and f' against the tutorials' NumPy, PyTorch CPU and memory bandwidth.

Speed is measured here (``actlab bench kernels``), never asserted in tests. For each
registry entry and dtype, on n elements (default 10^7, standard normal times 3, fixed seed):

* **actlab**: ``f(x, out=buf)`` and ``df(x, out=buf)`` into preallocated buffers
  (vector entries: ``f`` and ``vjp(x, v, out=buf)`` on rows of 1000);
* **naive**: the formula of :mod:`actlab.verify.naive` as the tutorials write it (allocating, as
  they do); no vector derivative (the naive Jacobian is n^2);
* **torch**: torch's function into a preallocated output where torch has an ``out=``
  variant (else allocating; the table says which), f' as the autograd backward of
  ``f(x)`` with ``v = 1`` (what a network computes: v·f'(x)); at 1 thread (= NumPy's
  ufuncs, which are single-threaded) and at torch's default thread count;
* **copy**: ``np.copyto(buf, x)``, which reads and writes as many bytes as an elementwise
  kernel: the memory-bandwidth floor.

Each time is the median of ``repeat`` runs after one warm-up, in ns per element.
Ratios: naive/actlab and torch/actlab (> 1 means actlab is faster) and actlab/copy (1 is
the bandwidth floor). Targets: never slower than naive; piecewise-linear entries within
1.25x of copy; no slower than torch at the same thread count.
"""

from __future__ import annotations

import functools
import os
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np

from .._io import write_markdown_json
from ..catalogue.registry import REGISTRY, Bound, get, lookup
from ..verify import naive, peers

__all__ = ["kernels", "is_piecewise_linear", "targets", "text", "markdown", "write"]

VECTOR_ROW = 1000
TARGET_COPY_RATIO = 1.25


def median_time(fn: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """Median seconds of ``repeat`` calls after one warm-up (``clock``: wall time by default;
    ``time.process_time`` counts only this process's CPU time, robust on a loaded machine)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times)


def is_piecewise_linear(act: Bound) -> bool:
    """Whether f is linear between its kinks: zero second differences on [-8, 8] away from them.

    >>> is_piecewise_linear(get("relu")), is_piecewise_linear(get("sigmoid"))
    (True, False)
    """
    if act.definition.vector:
        return False
    h = 1e-3
    x = np.linspace(-8.0, 8.0, 1601) + 0.0003
    kinks = np.array(list(act.kinks) or [np.inf])
    x = x[np.min(np.abs(x[:, None] - kinks[None, :]), axis=1) > 2 * h]
    with np.errstate(all="ignore"):
        second = act.f(x + h) - 2 * act.f(x) + act.f(x - h)
    scale = 1 + np.abs(act.f(x))
    return bool(np.all(np.abs(second) <= 1e-9 * scale))


def inputs_for(act: Bound, n: int, dtype: np.dtype, rng: np.random.Generator) -> np.ndarray:
    x = (rng.standard_normal(n) * 3).astype(dtype)
    with np.errstate(all="ignore"):  # entries defined on a half-line (log1mexp): stay inside it
        if np.isnan(act.f(np.array([-1.0, -2.0]))).all():
            x = np.abs(x)
        elif np.isnan(act.f(np.array([1.0, 2.0]))).all():
            x = -np.abs(x)
    if act.definition.vector:
        x = x[: n - n % VECTOR_ROW].reshape(-1, VECTOR_ROW)
    return x


def _torch_times(act: Bound, x: np.ndarray, repeat: int, threads: int) -> dict:
    torch = peers._torch()
    p = peers.peer(act.name)
    if torch is None or p is None:
        return {}
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        t = torch.from_numpy(x)
        o = torch.empty_like(t)
        out_ok = p.out is not None
        if out_ok:
            try:
                p.out(t, o, **act.params)
            except (TypeError, RuntimeError):
                out_ok = False
        with torch.no_grad():
            if out_ok:
                f = median_time(lambda: p.out(t, o, **act.params), repeat)
            else:
                f = median_time(lambda: p.call(t, **act.params), repeat)
        tg = t.clone().requires_grad_(True)
        y = p.call(tg, **act.params)
        v = torch.ones_like(y)
        df = median_time(lambda: torch.autograd.grad(y, tg, v, retain_graph=True), repeat) if y.requires_grad else None
        return {"f": f, "df": df, "out": out_ok}
    finally:
        torch.set_num_threads(saved)


def _measure(act: Bound, x: np.ndarray, repeat: int, torch_threads: int) -> dict:
    d = act.definition
    out = np.empty_like(x)
    out_f = np.empty_like(act.f(x))  # GLU halves its input
    res: dict = {"actlab": {}, "naive": {}, "torch1": {}, "torchN": {}}
    res["actlab"]["f"] = median_time(lambda: act.f(x, out=out_f), repeat)
    if d.vector:
        v = np.ones_like(out_f)
        res["actlab"]["df"] = median_time(lambda: act.vjp(x, v, out=out), repeat)
    else:
        res["actlab"]["df"] = median_time(lambda: act.df(x, out=out), repeat)
    nv = naive.NAIVE.get(act.name)
    if nv is not None:
        with np.errstate(all="ignore"):  # the baselines overflow as written
            res["naive"]["f"] = median_time(lambda: nv.f(x, **act.params), repeat)
            if nv.df is not None:
                res["naive"]["df"] = median_time(lambda: nv.df(x, **act.params), repeat)
    res["torch1"] = _torch_times(act, x, repeat, 1)
    if torch_threads != 1:
        res["torchN"] = _torch_times(act, x, repeat, torch_threads)
    return res


def kernels(
    n: int = 10**7,
    names: Sequence[str] | None = None,
    repeat: int = 5,
    dtypes: Sequence[str] = ("float32", "float64"),
    seed: int = 0,
    progress: bool = False,
) -> dict:
    """Time every entry (default: the whole registry) and return the table data.

    Returns ``{"n", "repeat", "numpy_threads": 1, "torch_threads", "copy": {dtype: ns/el},
    "rows": [{"name", "spec", "dtype", "vector", "piecewise_linear", "ns": {impl: {"f", "df"}},
    "torch_out": bool, "ratios": {...}, "misses": [...]}], "runtime_s"}`` with times in ns per element.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    chosen = list(REGISTRY) if names is None else [lookup(nm).name for nm in names]
    torch = peers._torch()
    torch_threads = torch.get_num_threads() if torch is not None else 0
    result: dict = {
        "n": n, "repeat": repeat, "seed": seed, "numpy": np.__version__,
        "torch": None if torch is None else torch.__version__,
        "numpy_threads": 1, "torch_threads": torch_threads, "cpus": os.cpu_count(), "copy": {}, "rows": [],
    }
    bar = tqdm(total=len(chosen) * len(dtypes), desc="bench", unit="fn", disable=not progress)
    for dt in dtypes:
        dtype = np.dtype(dt)
        rng = np.random.default_rng(seed)
        base = (rng.standard_normal(n) * 3).astype(dtype)
        copy = functools.partial(np.copyto, np.empty_like(base), base)  # the memory-bound reference
        result["copy"][dtype.name] = median_time(copy, repeat) / n * 1e9
        del base, copy
        for name in chosen:
            act = get(name)
            x = inputs_for(act, n, dtype, np.random.default_rng(seed))
            raw = _measure(act, x, repeat, torch_threads)
            ns = {impl: {k: (v / x.size * 1e9 if isinstance(v, float) else None)
                         for k, v in times.items() if k != "out"}
                  for impl, times in raw.items()}
            row = {
                "name": act.name, "spec": act.spec, "dtype": dtype.name, "vector": act.definition.vector,
                "piecewise_linear": is_piecewise_linear(act), "ns": ns,
                "torch_out": raw["torch1"].get("out"),
            }
            row["ratios"] = _ratios(row, result["copy"][dtype.name])
            row["misses"] = targets(row)
            result["rows"].append(row)
            bar.update()
    bar.close()
    result["runtime_s"] = round(time.perf_counter() - start, 1)
    return result


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _ratios(row: dict, copy_ns: float) -> dict:
    ns = row["ns"]
    out = {}
    for w in ("f", "df"):
        ours = ns["actlab"].get(w)
        out[w] = {
            "naive/actlab": _ratio(ns["naive"].get(w), ours),
            "torch/actlab": _ratio(ns["torch1"].get(w), ours),
            "torchN/actlab": _ratio(ns["torchN"].get(w), ours),
            "actlab/copy": _ratio(ours, copy_ns),
        }
    return out


def targets(row: dict) -> list[str]:
    """The targets this row misses, as short sentences with the figure."""
    misses = []
    for w, r in row["ratios"].items():
        label = "f" if w == "f" else "f'"
        if r["naive/actlab"] is not None and r["naive/actlab"] < 1:
            misses.append(f"{label} slower than naive ({1 / r['naive/actlab']:.2f}x)")
        if r["torch/actlab"] is not None and r["torch/actlab"] < 1:
            misses.append(f"{label} slower than torch ({1 / r['torch/actlab']:.2f}x)")
        if row["piecewise_linear"] and r["actlab/copy"] > TARGET_COPY_RATIO:
            misses.append(f"{label} {r['actlab/copy']:.2f}x copy (piecewise-linear target {TARGET_COPY_RATIO}x)")
    return misses


def _fmt(v: float | None, digits: int = 2) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


_COLUMNS = ("actlab", "naive", "torch1", "torchN")


def markdown(result: dict, command: str = "actlab bench kernels") -> str:
    """The benchmark table as Markdown (used for docs/kernels.md)."""
    tn = result["torch_threads"]
    lines = [
        "# Kernel speed",
        "",
        f"Generated by `{command}` in {result['runtime_s']:.0f} s: n = {result['n']:,} elements, median of "
        f"{result['repeat']} runs, NumPy {result['numpy']} (ufuncs: 1 thread), PyTorch {result['torch'] or 'absent'} "
        f"at 1 thread (*torch*) and at its default {tn} threads (*torch{tn}*), {result['cpus']} CPUs shared with "
        "other work (expect a few per cent of noise).",
        "",
        "Memory-bandwidth floor (`np.copyto` of the same array): "
        + ", ".join(f"{dt} {v:.2f} ns/element" for dt, v in result["copy"].items()) + ".",
        "",
        "Times in ns per element; f' is actlab's `df(x, out=)` (vector entries: `vjp(x, v, out=)` on rows of 1000), "
        "the naive formula's derivative, and torch's autograd backward with v = 1. Ratios > 1 in naive/actlab and "
        "torch/actlab mean actlab is faster. *out* says whether torch wrote into a preallocated output "
        "(— : torch has no out= variant, so it allocates). PL = piecewise-linear (target: within "
        f"{TARGET_COPY_RATIO}x of copy).",
        "",
        f"| function | dtype | PL | f actlab | f naive | f torch | f torch{tn} | f naive/actlab | f torch/actlab "
        f"| f actlab/copy | f' actlab | f' naive | f' torch | f' torch{tn} | f' naive/actlab | f' torch/actlab "
        "| f' actlab/copy | torch out | misses |",
        "|---|---|---|" + "---:|" * 14 + "---|---|",
    ]
    for r in result["rows"]:
        cells = []
        for w in ("f", "df"):
            cells += [_fmt(r["ns"][c].get(w)) for c in _COLUMNS]
            cells += [_fmt(r["ratios"][w][k]) for k in ("naive/actlab", "torch/actlab", "actlab/copy")]
        out = "—" if r["torch_out"] is None else ("yes" if r["torch_out"] else "alloc")
        lines.append(f"| {r['spec']} | {r['dtype']} | {'yes' if r['piecewise_linear'] else ''} | "
                     + " | ".join(cells) + f" | {out} | {'; '.join(r['misses'])} |")
    missed = [r for r in result["rows"] if r["misses"]]
    lines += ["", "## Entries missing a target", ""]
    if not missed:
        lines.append("None: every entry meets every target in this run.")
    for r in missed:
        lines.append(f"- {r['spec']} {r['dtype']}: " + "; ".join(r["misses"]))
    return "\n".join(lines) + "\n"


def text(result: dict) -> str:
    """The table for a terminal."""
    head = (f"{'function':22s} {'dtype':8s} {'f ns':>7s} {'naive/':>7s} {'torch/':>7s} {'/copy':>6s} "
            f"{'fp ns':>7s} {'naive/':>7s} {'torch/':>7s} {'/copy':>6s}  misses")
    out = [head, "-" * len(head)]
    for r in result["rows"]:
        cells = []
        for w in ("f", "df"):
            q = r["ratios"][w]
            cells += [f"{_fmt(r['ns']['actlab'][w]):>7s}", f"{_fmt(q['naive/actlab']):>7s}",
                      f"{_fmt(q['torch/actlab']):>7s}", f"{_fmt(q['actlab/copy']):>6s}"]
        out.append(f"{r['spec']:22s} {r['dtype']:8s} " + " ".join(cells) + "  " + "; ".join(r["misses"]))
    out.append("copy " + ", ".join(f"{dt} {v:.2f} ns/el" for dt, v in result["copy"].items())
               + f"; runtime {result['runtime_s']:.0f} s")
    return "\n".join(out)


def write(result: dict, out_dir: str | os.PathLike, command: str = "actlab bench kernels") -> list[str]:
    """Write ``kernels.md`` and ``kernels.json`` into ``out_dir`` atomically; return the paths."""
    return write_markdown_json(out_dir, "kernels", markdown(result, command), {**result, "command": command})
