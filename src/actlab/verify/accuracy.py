"""Accuracy of the catalogue against mpmath, in units in the last place (ulp).

The error of a float result ``a`` against the exact value ``r`` is ``|a - r| / ulp(r)``,
where ``ulp(r)`` is the spacing of the dtype at ``r`` rounded to that dtype (the smallest
subnormal when it rounds to 0). A correctly rounded result has error <= 0.5; a result
that is inf or NaN where the reference is not (or the other way round) has error inf.
"""

from __future__ import annotations

import os

import numpy as np
from mpmath import mp, mpf

from .._io import write_atomic, write_markdown_json
from ..catalogue import registry
from ..catalogue.registry import Bound
from ..errors import ActlabError
from . import naive, peers, reference

__all__ = ["ulp_errors", "grid", "vector_rows", "measure", "table", "markdown", "write_table"]


def ulp_errors(actual: np.ndarray, exact: list[object], dtype: np.dtype | type) -> np.ndarray:
    """Elementwise error of ``actual`` (in ``dtype``) against mpf values (None = NaN), in ulp."""
    dtype = np.dtype(dtype)
    actual = np.asarray(actual, dtype=dtype).ravel()
    rounded = reference.to_float(exact, dtype)
    errors = np.zeros(actual.size)
    with mp.workdps(reference.DPS):
        for i, (a, r, e) in enumerate(zip(actual, rounded, exact)):
            if np.isnan(r) or np.isinf(r) or np.isnan(a) or np.isinf(a):
                same = (np.isnan(a) and np.isnan(r)) or a == r
                errors[i] = 0.0 if same else np.inf
                continue
            # exact value of the spacing of dtype at |r| (spacing(0) is the smallest subnormal)
            # spacing of |r| (a subnormal for subnormals); at max the next float is inf, so
            # take the spacing of the binade below, which is the same
            mag = np.minimum(np.abs(r).astype(dtype), np.nextafter(np.finfo(dtype).max, dtype.type(0)))
            with np.errstate(under="ignore"):
                spacing = mpf(float(np.spacing(mag)))
            errors[i] = float(abs(mpf(float(a)) - e) / spacing)
    return errors


@np.errstate(over="ignore", under="ignore")  # the grid holds subnormals and overflows on purpose
def grid(dtype: np.dtype | type, act: Bound | None = None, n: int = 400) -> np.ndarray:
    """The dense test grid of the accuracy contract, as exact values of ``dtype``.

    It holds a uniform grid on [-10, 10], both signs of 10^k for k from the smallest
    normal up to the largest finite power, +-0, +-tiny, +-max, +-1e-300 (float64), the
    overflow edges of exp (+-88.7 float32, +-709.8 float64, with neighbours), +-1e4,
    +-inf, NaN, and each kink of ``act`` with its two neighbouring floats.
    """
    dtype = np.dtype(dtype)
    fi = np.finfo(dtype)
    pts: list[float] = list(np.linspace(-10.0, 10.0, n))
    for k in range(int(np.log10(fi.tiny)), int(np.log10(fi.max)) + 1):
        pts += [10.0**k, -(10.0**k)]
    for k in np.linspace(-3, 3, 25):  # log-spaced magnitudes around the interesting range
        pts += [10.0**k, -(10.0**k)]
    edge = 88.7 if dtype == np.float32 else 709.8
    for v in (edge, 88.72283, 89.4, 103.97, 709.78, 710.0, 745.13, 1e4, 1e-300, 37.0, 17.0, 20.0, 30.0, 3.0):
        pts += [v, -v]
    pts += [0.0, -0.0, float(fi.tiny), -float(fi.tiny), float(fi.smallest_subnormal), float(fi.max), -float(fi.max)]
    pts += [np.inf, -np.inf, np.nan]
    x = np.array(pts, dtype=np.float64)
    x = x.astype(dtype)
    x = x[np.isfinite(x) | np.isinf(np.array(pts)) | np.isnan(np.array(pts))]
    if act is not None:
        for k in act.kinks:
            kk = np.array(k, dtype=dtype)
            x = np.concatenate([x, [kk, np.nextafter(kk, dtype.type(np.inf)), np.nextafter(kk, dtype.type(-np.inf))]])
    # unique, keeping -0.0 and one NaN
    finite = np.unique(x[~np.isnan(x)])
    extra = [dtype.type(-0.0)] if 0.0 in finite else []
    return np.concatenate([finite, np.array(extra, dtype=dtype), np.array([np.nan], dtype=dtype)]).astype(dtype)


def vector_rows(dtype: np.dtype | type, seed: int = 0) -> list[np.ndarray]:
    """Rows for the vector functions: random rows of length 2 to 1000 at several scales,
    plus rows with entries beyond the overflow edge of exp."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    rows = []
    for n, scale in ((2, 1.0), (3, 10.0), (10, 1.0), (10, 100.0), (100, 3.0), (1000, 1.0), (1000, 30.0)):
        rows.append(rng.normal(0.0, scale, size=n))
    rows.append(np.array([800.0, 799.0, -800.0, 0.0]))
    rows.append(np.array([100.0, 0.0, -100.0, 50.0]))
    rows.append(np.array([0.3, 2.9, 4.0]))  # tutorial 003's example
    return [r.astype(dtype) for r in rows]


# ---- the accuracy table: actlab beside the naive formulas and PyTorch ------------------
#
# One row per (function, dtype): the max ulp error over the grid above of f and f' (vector
# entries: f elementwise and the Jacobian entries, over vector_rows) for actlab, the
# tutorials' naive formulas (actlab.verify.naive) and torch (actlab.verify.peers). The reference values
# are computed once and shared by the three, so the columns are directly comparable.

IMPLS = ("actlab", "naive", "torch")
FLAG_MARGIN = 0.1  # ulp
TABLE_DTYPES = ("float32", "float64")


def _max_err(actual: np.ndarray | None, exact: list[object], dtype: np.dtype,
             x: np.ndarray | None = None) -> dict | None:
    """The worst error in ulp over finite inputs and where it is (``at``: the input x, when
    given), and whether the non-finite inputs (+-inf, NaN) give the exact limit / NaN
    (``specials_ok``; None when there are none)."""
    if actual is None:
        return None
    with np.errstate(all="ignore"):  # the naive formulas overflow on purpose
        actual = np.asarray(actual).astype(dtype)
    err = ulp_errors(actual, exact, dtype)
    finite = np.ones(err.shape, bool) if x is None else np.isfinite(x.ravel())
    special = err[~finite]
    # at +-inf the limit itself may not be representable (arctan: pi/2): allow 1 ulp there
    cell = {"ulp": 0.0, "at": None, "specials_ok": bool(np.all(special <= 1.0)) if special.size else None}
    if finite.any():
        i = int(np.flatnonzero(finite)[np.argmax(err[finite])])
        cell["ulp"] = float(err[i])
        cell["at"] = None if x is None else float(x.ravel()[i])
    return cell


def _naive_call(fn, *args, **params):
    with np.errstate(all="ignore"):  # baselines are measured as written, warnings and all
        return fn(*args, **params)


def _elementwise_cells(act: Bound, dtype: np.dtype) -> dict[str, dict]:

    nv = naive.NAIVE.get(act.name)
    cells: dict[str, dict] = {}
    for which in ("f", "df"):
        x = grid(dtype, act)
        if which == "df":  # at a kink f' is a convention (checked by the tests), not a value
            x = x[~np.isin(x, np.array(list(act.kinks), dtype=dtype))]
        exact = reference.evaluate(act.name, which, x, act.params)
        got = {
            "actlab": getattr(act, which)(x),
            "naive": None if nv is None else _naive_call(getattr(nv, which), x, **act.params),
            "torch": getattr(peers, which)(act, x),
        }
        cells[which] = {impl: _max_err(got[impl], exact, dtype, x) for impl in IMPLS}
    return cells


def _vector_cells(act: Bound, dtype: np.dtype) -> dict[str, dict]:

    nv = naive.NAIVE.get(act.name)
    got: dict[str, dict[str, list]] = {w: {i: [] for i in IMPLS} for w in ("f", "df")}
    exact: dict[str, list] = {"f": [], "df": []}
    for row in vector_rows(dtype):
        if act.name == "glu" and row.size % 2:  # GLU halves its input
            row = row[:-1]
        exact["f"] += reference.evaluate_rows(act.name, "f", row[None, :], act.params)[0]
        outs = {
            "actlab": act.f(row),
            "naive": None if nv is None else _naive_call(nv.f, row, **act.params),
            "torch": peers.f(act, row),
        }
        for impl in IMPLS:
            got["f"][impl].append(outs[impl])
        if row.size <= 100:  # the Jacobian has n^2 entries: mpmath on 1000^2 is too slow
            jac = reference.evaluate_rows(act.name, "jacobian", row[None, :], act.params)[0]
            exact["df"] += [v for r in jac for v in r]
            outs = {
                "actlab": act.jacobian(row),
                "naive": None if nv is None else _naive_call(nv.jacobian, row, **act.params),
                "torch": peers.jacobian(act, row),
            }
            for impl in IMPLS:
                got["df"][impl].append(outs[impl])
    cells: dict[str, dict] = {}
    for which in ("f", "df"):
        cells[which] = {}
        for impl in IMPLS:
            parts = got[which][impl]
            joined = None if any(p is None for p in parts) else np.concatenate([np.ravel(p) for p in parts])
            cells[which][impl] = _max_err(joined, exact[which], dtype)
    return cells


def measure(name: str, dtypes: tuple[str, ...] = TABLE_DTYPES) -> list[dict]:
    """The accuracy rows of one registry entry at its default parameters, one per dtype.

    Each row: ``name``, ``spec``, ``dtype``, ``vector``, and for ``f`` and ``df`` a dict
    ``{impl: {"ulp": max error, "at": x of the worst case} or None}`` over
    :data:`IMPLS` (None: no naive version / no torch function / torch not installed).
    """

    act = registry.get(name)
    rows = []
    for dt in dtypes:
        dtype = np.dtype(dt)
        cells = (_vector_cells if act.definition.vector else _elementwise_cells)(act, dtype)
        rows.append({"name": act.name, "spec": act.spec, "dtype": dtype.name, "vector": act.definition.vector, **cells})
    return rows


def worse_than_torch(row: dict) -> list[str]:
    """Which of f, df actlab gets less accurately than torch in this row.

    Differences among correctly rounded results (<= 0.5 ulp) and differences below
    :data:`FLAG_MARGIN` ulp (the rounding of the last operation) are not counted; a wrong
    value at +-inf/NaN where torch's is right is.
    """
    bad = []
    for which in ("f", "df"):
        ours, theirs = row[which]["actlab"], row[which]["torch"]
        if ours is None or theirs is None:
            continue
        if ours["ulp"] > max(theirs["ulp"], 0.5) + FLAG_MARGIN or (
            ours.get("specials_ok") is False and theirs.get("specials_ok")
        ):
            bad.append(which)
    return bad


def _fingerprint(name: str) -> str:
    """A hash of everything a row depends on, so that a resumed run recomputes changed entries."""
    import hashlib
    import inspect


    d = registry.get(name).definition
    parts = [np.__version__, str(sorted(d.defaults.items()))]
    source = getattr(d, "formula_source", None)
    if source is not None:  # a formula entry: its kernels' code is the same for every formula
        parts.append(source.text)
    ref = reference.reference_of(name)
    fns = [d.f_kernel, d.df_kernel, d.jacobian_kernel, ref.f, ref.df, ref.jacobian]
    nv = naive.NAIVE.get(name)
    if nv is not None:
        fns += [nv.f, nv.df, nv.jacobian]
    for fn in fns:
        if fn is not None:
            try:
                parts.append(inspect.getsource(fn))
            except (OSError, TypeError):
                parts.append(repr(fn))
    torch = peers._torch()
    parts.append(torch.__version__ if torch is not None else "no torch")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _measure_job(name: str, formulas: list[dict]) -> tuple[str, list[dict]]:
    if formulas:  # a spawned worker knows the catalogue only
        from .. import formula

        formula.install(formulas)
    return name, measure(name)


def table(
    names: list[str] | None = None,
    jobs: int = 1,
    partial: str | os.PathLike | None = None,
    progress: bool = False,
) -> dict:
    """The accuracy table of ``names`` (default: the whole registry, in catalogue order).

    Functions are measured in ``jobs`` worker processes (spawned, so that torch's thread
    pool is never forked). With ``partial`` (a JSON file), each finished function is
    saved there at once and reused by the next run if its code has not changed, so an
    interrupted run resumes. Returns ``{"rows": [...], "runtime_s", "jobs", "torch",
    "numpy", "flagged": [(name, dtype, [which])]}``.
    """
    import concurrent.futures
    import json
    import multiprocessing
    import time

    from tqdm import tqdm

    start = time.perf_counter()
    if names is None:
        names = registry.names()
    names = [registry.get(n).name for n in names]  # formula specs too (their name is the formula)
    formulas = [n for n in names if registry.get(n).definition.family == "formula"]
    missing = [n for n in names if n not in reference.REFERENCES and n not in formulas]
    if missing:
        raise ActlabError(f"No mpmath reference (actlab.verify.reference) yet for: {', '.join(missing)}.")
    done: dict[str, dict] = {}
    if partial is not None and os.path.exists(partial):
        with open(partial) as fh:
            try:
                done = json.load(fh)
            except json.JSONDecodeError:
                done = {}
    prints = {n: _fingerprint(n) for n in names}
    results = {n: done[n]["rows"] for n in names if n in done and done[n].get("fingerprint") == prints[n]}
    todo = [n for n in names if n not in results]

    def finished(name: str, rows: list[dict]) -> None:
        results[name] = rows
        if partial is not None:
            done[name] = {"fingerprint": prints[name], "rows": rows}
            write_atomic(partial, json.dumps(done))

    bar = tqdm(total=len(todo), desc="accuracy", unit="fn", disable=not progress)
    if jobs <= 1 or len(todo) <= 1:
        for n in todo:
            finished(*_measure_job(n, []))
            bar.update()
    else:
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            from ..formula import definitions

            futures = [pool.submit(_measure_job, n, definitions(n)) for n in todo]
            for fut in concurrent.futures.as_completed(futures):
                finished(*fut.result())
                bar.update()
    bar.close()
    rows = [r for n in names for r in results[n]]
    torch = peers._torch()
    return {
        "rows": rows,
        "flagged": [[r["name"], r["dtype"], w] for r in rows if (w := worse_than_torch(r))],
        "runtime_s": round(time.perf_counter() - start, 2),
        "reused": len(names) - len(todo),
        "jobs": jobs,
        "numpy": np.__version__,
        "torch": None if torch is None else torch.__version__,
    }


def _label(which: str) -> str:
    return "f" if which == "f" else "f'"


def _fmt_ulp(cell: dict | None) -> str:
    if cell is None:
        return "—"
    u = cell["ulp"]
    mark = "*" if cell.get("specials_ok") is False else ""
    if not np.isfinite(u):
        return "inf" + mark
    return (f"{u:.2f}" if u < 10 else f"{u:.3g}") + mark


def markdown(result: dict, command: str = "actlab accuracy") -> str:
    """The table as Markdown (used for docs/accuracy.md)."""
    lines = [
        "# Accuracy of the catalogue against mpmath",
        "",
        f"Generated by `{command}` (runtime {result['runtime_s']:.0f} s with {result['jobs']} processes; "
        f"NumPy {result['numpy']}, PyTorch {result['torch'] or 'not installed'}).",
        "",
        "Max error in ulp against mpmath at 50 digits over `actlab.verify.accuracy.grid` (elementwise: "
        "a uniform grid on [-10, 10], every power of ten from the smallest normal to the largest "
        "finite, the exp overflow edges, +-0, subnormals, +-inf and NaN; f' excludes the kinks, "
        "whose value is a convention) or `actlab.verify.accuracy.vector_rows` (vector entries: f "
        "elementwise on rows of 2 to 1000 entries up to |x| = 800; f' = the Jacobian entries, "
        "rows up to 100). The figure is the max over finite inputs; a `*` marks a wrong result at "
        "an input of +-inf or NaN (more than 1 ulp from the limit, or NaN not propagated). *naive* is the tutorials' "
        "formula (`actlab.verify.naive`; inf = it overflows to inf/NaN where the true value is finite), "
        "*torch* is PyTorch's own function "
        "with autograd derivatives (`actlab.verify.peers`); — means there is none. A correctly rounded "
        "result has error <= 0.5 ulp.",
        "",
        ("| function | dtype | f actlab | f naive | f torch | f' actlab | f' naive | f' torch | "
         "actlab worse than torch |"),
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["rows"]:
        worse = ", ".join(_label(w) for w in worse_than_torch(r))
        cells = [_fmt_ulp(r[w][i]) for w in ("f", "df") for i in IMPLS]
        lines.append(f"| {r['spec']} | {r['dtype']} | " + " | ".join(cells) + f" | {worse} |")
    lines += ["", "## Summary", ""] + [f"- {item}" for item in summary(result)]
    lines += ["", "## Where actlab is less accurate than PyTorch", ""]
    if not result["flagged"]:
        lines.append("Nowhere: on every entry torch has, actlab's f and f' are at least as accurate.")
    for name, dtype, which in result["flagged"]:
        r = next(r for r in result["rows"] if r["name"] == name and r["dtype"] == dtype)
        for w in which:
            a, t = r[w]["actlab"], r[w]["torch"]
            where = f" (worst at x = {a['at']!r})" if a.get("at") is not None else ""
            lines.append(f"- {name} {_label(w)} {dtype}: actlab {_fmt_ulp(a)} ulp{where}, torch {_fmt_ulp(t)} ulp")
    return "\n".join(lines) + "\n"


def summary(result: dict) -> list[str]:
    """The highlights of the table, as sentences with the figures."""

    rows = result["rows"]
    within = [r for r in rows if all(r[w]["actlab"]["ulp"] <= registry.get(r["spec"]).definition.ulp[w]
                                     for w in ("f", "df"))]
    beyond = []
    for r in rows:
        if r not in within:
            figures = ", ".join(f"{_label(w)} {_fmt_ulp(r[w]['actlab'])}" for w in ("f", "df"))
            beyond.append(f"{r['spec']} {r['dtype']} ({figures})")
    naive_broken = sorted({r["name"] for r in rows for w in ("f", "df")
                           if r[w]["naive"] is not None and not np.isfinite(r[w]["naive"]["ulp"])})
    has_naive = sorted({r["name"] for r in rows if r["f"]["naive"] is not None})
    torch_worse = [f"{r['spec']} {r['dtype']} {_label(w)} ({_fmt_ulp(r[w]['torch'])} vs {_fmt_ulp(r[w]['actlab'])})"
                   for r in rows for w in ("f", "df") if r[w]["torch"] is not None
                   and r[w]["torch"]["ulp"] > max(r[w]["actlab"]["ulp"], 0.5) * 10]
    return [
        f"actlab is within its documented ulp bound (f, f' <= 4 ulp unless the entry says otherwise) on "
        f"{len(within)} of {len(rows)} rows" + (f"; beyond it: {'; '.join(beyond)}." if beyond else "."),
        f"The naive formula overflows or cancels to inf/NaN at some finite input for {len(naive_broken)} of the "
        f"{len(has_naive)} entries that have one: {', '.join(naive_broken)}.",
        "PyTorch is more than 10x less accurate than actlab (finite inputs) on: "
        + ("; ".join(torch_worse) if torch_worse else "nothing") + ".",
    ]


def text(result: dict) -> str:
    """The table for a terminal."""
    head = f"{'function':24s} {'dtype':8s} " + " ".join(f"{w + ' ' + i:>11s}" for w in ("f", "f'") for i in IMPLS)
    out = [head, "-" * len(head)]
    for r in result["rows"]:
        flag = "  <- worse than torch: " + ",".join(worse_than_torch(r)) if worse_than_torch(r) else ""
        out.append(f"{r['spec']:24s} {r['dtype']:8s} " + " ".join(f"{_fmt_ulp(r[w][i]):>11s}" for w in ("f", "df")
                                                                for i in IMPLS) + flag)
    out.append(f"runtime {result['runtime_s']:.1f} s ({result['jobs']} processes, {result['reused']} functions reused)")
    return "\n".join(out)


def write_table(result: dict, out_dir: str | os.PathLike, command: str = "actlab accuracy") -> list[str]:
    """Write ``accuracy.md`` and ``accuracy.json`` into ``out_dir`` atomically; return the paths."""
    return write_markdown_json(out_dir, "accuracy", markdown(result, command), {**result, "command": command})
