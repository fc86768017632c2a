"""The claims report: every experiment run (through the cached runner), one HTML file and
one Markdown file.

The HTML file is self-contained (figures embedded as base64 PNG, CSS inline, no external
asset), works offline and reads on a phone (responsive layout, tables scroll sideways).
The Markdown version writes its figures as PNG files next to it. Layout: a summary table
(claim, tutorial, verdict, key number), one section per claim (the claim in English with
the Korean original quoted, what was run, figures, numbers, verdict and its reasoning),
the activation catalogue (f and f' of every registry entry, property table, accuracy
table) and the environment (versions, CPU, time taken).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import platform
import subprocess
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import plots
from .._io import write_atomic
from ..catalogue import registry
from ..verify import accuracy
from . import framework as E
from .figures import fmt_ci
from .runner import Runner, default_cache_path

__all__ = ["build", "render_html", "render_markdown", "environment"]

VERDICT_CLASS = {E.CONFIRMED: "ok", E.CAVEATS: "warn", E.REFUTED: "bad"}

CSS = """
:root{--fg:#1b1b1b;--bg:#fff;--mut:#666;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--line:#ddd}
*{box-sizing:border-box}body{font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);
background:var(--bg);margin:0 auto;max-width:62rem;padding:1rem}
h1{font-size:1.6rem}h2{font-size:1.3rem;border-top:1px solid var(--line);padding-top:1rem;margin-top:2rem}
h3{font-size:1.05rem}img{max-width:100%;height:auto;display:block;margin:.5rem 0}
figure{margin:1rem 0}figcaption{color:var(--mut);font-size:.9rem}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}table{border-collapse:collapse;font-size:.9rem}
td,th{border:1px solid var(--line);padding:.3rem .5rem;vertical-align:top;text-align:left}
th{background:#f6f8fa}.ok{color:var(--ok);font-weight:600}.warn{color:var(--warn);font-weight:600}
.bad{color:var(--bad);font-weight:600}blockquote{margin:.5rem 0;padding:.3rem .8rem;border-left:4px solid var(--line);
color:#333;background:#fafafa}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;padding:.5rem}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(18rem,1fr));gap:.5rem}
@media (max-width:40rem){body{font-size:15px;padding:.6rem}td,th{padding:.2rem .3rem}}
"""


# ----------------------------------------------------------------------------- numbers

def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return f"{v:.4g}"
    if isinstance(v, dict) and {"mean", "lo", "hi", "n"} <= set(v):
        return fmt_ci(v, 4)
    if isinstance(v, list):
        s = ", ".join(_fmt(x) for x in v[:8])
        return f"[{s}{', ...' if len(v) > 8 else ''}]"
    return str(v)


def flatten(numbers: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Rows (key path, formatted value) of a nested numbers dict; intervals stay one value."""
    rows: list[tuple[str, str]] = []
    for k, v in numbers.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not ({"mean", "lo", "hi", "n"} <= set(v)):
            rows += flatten(v, key + " / ")
        else:
            rows.append((key, _fmt(v)))
    return rows


# ----------------------------------------------------------------------------- environment

def environment(seconds: float | None = None) -> dict:
    """Versions, CPU and timing: what a reader needs to reproduce the numbers."""
    env: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env["cpu"] = f"{cpu or 'unknown'} ({os.cpu_count()} logical cores)"
    for pkg in ("actlab", "numpy", "scipy", "matplotlib", "mpmath", "tqdm", "torch"):
        try:
            env[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            env[pkg] = "not installed"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                                cwd=Path(__file__).parent)
        if commit.returncode == 0:
            env["git commit"] = commit.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    env["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    if seconds is not None:
        env["time taken"] = f"{seconds:.1f} s"
    return env


# ----------------------------------------------------------------------------- catalogue

def catalogue_cell(c: dict) -> dict:
    """One catalogue figure (f, f', f'') as base64 PNG; warnings raised while drawing are recorded."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plots.figure_for(c["name"])
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
    return {"name": c["name"], "png": base64.b64encode(buf.getvalue()).decode(),
            "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught})}


def catalogue(with_accuracy: bool = True, accuracy_cache: str | os.PathLike | None = None,
              runner: Runner | None = None) -> dict:
    """Figures of f and f' of every registry entry, its property table and the accuracy table.

    Figures come from :func:`actlab.plots.figure_for` (through ``runner``: cached, parallel;
    none without a runner), the accuracy table from
    :func:`actlab.verify.accuracy.table` (measured against mpmath, cached in ``accuracy_cache``).
    """
    def gain(b) -> str:
        try:
            return "-" if b.gain is None else f"{b.gain:.4g}"
        except (ArithmeticError, ValueError) as err:  # a catalogue entry's gain failed: show it, keep going
            return f"error: {err}"

    rows = []
    for b in registry.iter_bound():
        d = b.definition
        rows.append({
            "name": b.spec, "formula": d.formula, "family": d.family,
            "kind": "vector" if d.vector else d.smoothness,
            "range": f"({b.range[0]:g}, {b.range[1]:g})",
            "monotonic": "yes" if d.monotonic else "no", "zero-centred": "yes" if d.zero_centred else "no",
            "kinks": ", ".join(f"f'({k:g}) = {v:g}" for k, v in b.kinks.items()) or "-",
            "gain": gain(b),
        })
    figures = []
    if runner is not None:
        cells = runner.map(catalogue_cell, [{"name": n} for n in registry.names()], desc="catalogue figures")
        figures = [E.Figure(f"catalogue_{c['name']}", c["name"] + (f" (warnings: {'; '.join(c['warnings'])})"
                                                                    if c["warnings"] else ""),
                            base64.b64decode(c["png"])) for c in cells if c["png"]]
    accuracy_md = None
    if with_accuracy:
        tab = accuracy.table(partial=accuracy_cache)
        accuracy_md = accuracy.markdown(tab, command="actlab report")
    return {"properties": rows, "figures": figures, "accuracy_markdown": accuracy_md}


# ----------------------------------------------------------------------------- building

def build(
    out: str | os.PathLike = "report",
    size: str = "default",
    *,
    names: Sequence[str] | None = None,
    runner: Runner | None = None,
    with_accuracy: bool | None = None,
    with_catalogue_figures: bool = True,
    results: list[E.Result] | None = None,
) -> dict:
    """Run the experiments (all, or ``names``) at ``size`` and write ``out/report.html`` and
    ``out/report.md`` (+ ``out/figures/``, ``out/results.json``). Returns the paths and results.

    ``results`` renders results computed elsewhere instead of running the experiments."""
    chosen = list(names) if names is not None else E.names()
    configs = {n: E.make_config(n, size) for n in chosen}  # validate everything before any work
    own = runner is None
    if runner is None:
        runner = Runner(default_cache_path())
    t0 = time.perf_counter()
    try:
        if results is None:
            results = [E.run(n, size, runner=runner, config=configs[n]) for n in chosen]
    except BaseException:
        if own:
            runner.close()
        raise
    if with_accuracy is None:
        with_accuracy = size != "quick"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        cat = catalogue(with_accuracy, accuracy_cache=out / "accuracy-partial.json",
                        runner=runner if with_catalogue_figures else None)
    finally:
        if own:
            runner.close()
    seconds = time.perf_counter() - t0
    env = environment(seconds)
    command = "actlab report" + ("" if size == "default" else f" --{size}")
    html_text = render_html(results, cat, env, command)
    md_text = render_markdown(results, cat, env, command, out / "figures")
    paths = {"html": out / "report.html", "markdown": out / "report.md", "json": out / "results.json"}
    write_atomic(paths["html"], html_text)
    write_atomic(paths["markdown"], md_text)
    write_atomic(paths["json"], json.dumps([r.to_dict() for r in results]))
    return {"paths": paths, "results": results, "seconds": seconds}


def _anchor(name: str) -> str:
    return f"claim-{name}"


def render_html(results: list[E.Result], cat: dict, env: dict, command: str) -> str:
    esc = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>actlab: the tutorials' claims, measured</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>actlab: the tutorials' claims, measured</h1>",
        f"<p>Every claim below was turned into an experiment; its verdict is computed from the measured numbers by "
        f"a rule written next to the experiment. Produced by <code>{esc(command)}</code>.</p>",
        "<div class='scroll'><table><tr><th>#</th><th>claim</th><th>tutorial</th><th>verdict</th><th>key number</th>"
        "</tr>",
    ]
    for r in results:
        exp = E.get(r.experiment)
        parts.append(
            f"<tr><td>{exp.number}</td><td><a href='#{_anchor(exp.name)}'>{esc(exp.claim)}</a></td>"
            f"<td>{esc(exp.tutorial)}</td><td class='{VERDICT_CLASS[r.verdict.verdict]}'>{esc(r.verdict.verdict)}"
            f"</td><td>{esc(r.verdict.key)}</td></tr>")
    parts.append("</table></div>")
    for r in results:
        exp = E.get(r.experiment)
        parts.append(f"<h2 id='{_anchor(exp.name)}'>{exp.number}. {esc(exp.title)}</h2>")
        parts.append(f"<p><b>Claim</b> (tutorial {esc(exp.tutorial)}): {esc(exp.claim)}</p>")
        parts.append(f"<blockquote lang='ko'>{esc(exp.korean)}</blockquote>")
        body = exp.doc.strip().split("\n", 1)[1].strip() if "\n" in exp.doc.strip() else ""
        if body:
            parts.append("".join(f"<p>{esc(p)}</p>" for p in body.split("\n\n")))
        parts.append(f"<h3>What was run</h3><p>{esc(r.outcome.settings)}</p>")
        parts.append(f"<p><code>actlab run {esc(exp.name)}{'' if r.size == 'default' else ' --' + r.size}</code>; "
                     f"{r.cells.get('computed', 0)} cells computed, {r.cells.get('cached', 0)} from the cache, "
                     f"{r.seconds:.1f} s.</p>")
        for f in r.outcome.figures:
            b64 = base64.b64encode(f.png).decode()
            parts.append(f"<figure><img alt='{esc(f.caption)}' src='data:image/png;base64,{b64}'>"
                         f"<figcaption>{esc(f.caption)}</figcaption></figure>")
        parts.append("<h3>Numbers</h3><div class='scroll'><table><tr><th>quantity</th><th>value</th></tr>")
        parts += [f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in flatten(r.outcome.numbers)]
        parts.append("</table></div>")
        parts.append(f"<h3>Verdict: <span class='{VERDICT_CLASS[r.verdict.verdict]}'>{esc(r.verdict.verdict)}</span>"
                     f"</h3><p>{esc(r.verdict.reasoning)}</p>")
    parts.append("<h2 id='catalogue'>The activation catalogue</h2>")
    parts.append(_table_html(cat["properties"]))
    if cat["figures"]:
        parts.append("<div class='gallery'>")
        for f in cat["figures"]:
            b64 = base64.b64encode(f.png).decode()
            parts.append(f"<figure><img alt='{esc(f.caption)}' src='data:image/png;base64,{b64}'>"
                         f"<figcaption>{esc(f.caption)}</figcaption></figure>")
        parts.append("</div>")
    parts.append("<h3>Accuracy against mpmath</h3>")
    if cat["accuracy_markdown"]:
        parts.append(f"<pre>{esc(cat['accuracy_markdown'])}</pre>")
    else:
        parts.append("<p>Not measured in this run (<code>actlab report</code> without --quick measures it; "
                     "<code>actlab accuracy</code> alone).</p>")
    parts.append("<h2 id='environment'>Environment</h2>")
    parts.append(_table_html([{"item": k, "value": v} for k, v in env.items()]))
    parts.append("</body></html>")
    return "\n".join(parts)


def _table_html(rows: list[dict]) -> str:
    if not rows:
        return ""
    esc = html.escape
    head = "".join(f"<th>{esc(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in r.values()) + "</tr>" for r in rows)
    return f"<div class='scroll'><table><tr>{head}</tr>{body}</table></div>"


def _md_cell(s: object) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def _table_md(rows: list[dict]) -> str:
    if not rows:
        return ""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_md_cell(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def render_markdown(results: list[E.Result], cat: dict, env: dict, command: str, fig_dir: Path) -> str:
    """The report in Markdown; figures are written to ``fig_dir`` and linked relatively."""
    fig_dir.mkdir(parents=True, exist_ok=True)
    rel = fig_dir.name

    def fig_md(f: E.Figure) -> str:
        write_atomic(fig_dir / f"{f.name}.png", f.png)
        return f"![{_md_cell(f.caption)}]({rel}/{f.name}.png)\n\n*{f.caption}*\n"

    out = ["# actlab: the tutorials' claims, measured", "",
           "Every claim below was turned into an experiment; its verdict is computed from the measured numbers "
           f"by a rule written next to the experiment. Produced by `{command}`.", "",
           _table_md([{"#": E.get(r.experiment).number, "claim": E.get(r.experiment).claim,
                       "tutorial": E.get(r.experiment).tutorial, "verdict": r.verdict.verdict,
                       "key number": r.verdict.key} for r in results]), ""]
    for r in results:
        exp = E.get(r.experiment)
        out += [f"## {exp.number}. {exp.title}", "", f"**Claim** (tutorial {exp.tutorial}): {exp.claim}", "",
                f"> {exp.korean}", ""]
        body = exp.doc.strip().split("\n", 1)[1].strip() if "\n" in exp.doc.strip() else ""
        if body:
            out += [body, ""]
        out += ["### What was run", "", r.outcome.settings, "",
                f"`actlab run {exp.name}{'' if r.size == 'default' else ' --' + r.size}`; "
                f"{r.cells.get('computed', 0)} cells computed, {r.cells.get('cached', 0)} from the cache, "
                f"{r.seconds:.1f} s.", ""]
        out += [fig_md(f) for f in r.outcome.figures]
        out += ["### Numbers", "", _table_md([{"quantity": k, "value": v} for k, v in flatten(r.outcome.numbers)]),
                "", f"### Verdict: {r.verdict.verdict}", "", r.verdict.reasoning, ""]
    out += ["## The activation catalogue", "", _table_md(cat["properties"]), ""]
    out += [fig_md(f) for f in cat["figures"]]
    out += ["### Accuracy against mpmath", ""]
    out += [cat["accuracy_markdown"] or "Not measured in this run (`actlab report` without --quick measures it).", ""]
    out += ["## Environment", "", _table_md([{"item": k, "value": v} for k, v in env.items()]), ""]
    return "\n".join(out)
