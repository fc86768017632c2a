"""The claims report: every experiment run (through the cached runner), one HTML file and
one Markdown file.

The HTML file is self-contained (figures embedded as base64 PNG, CSS inline, no external
asset), works offline and reads on a phone (responsive layout, tables scroll sideways).
The Markdown version writes its figures as PNG files next to it. Layout: a summary table
(claim, tutorial, verdict, key number), one section per claim (the claim in English with
the Korean original quoted, what was run, figures, numbers, verdict and its reasoning),
the activation catalogue (f and f' of every registry entry, property table, accuracy
table) and the environment (versions, CPU, time taken).

Both are Jinja2 templates (``claims/templates/``: ``report.html.j2`` with the CSS,
``report.md.j2``) fed plain dicts and strings prepared here. The HTML one is autoescaped,
so a ``<``, ``&`` or quote in a claim, a setting, a caption or a number is shown as text
and can never break the page.
"""

from __future__ import annotations

import base64
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

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape

from .. import plots
from .._io import write_atomic
from ..catalogue import registry
from ..errors import ActlabError
from ..verify import accuracy
from . import framework as E
from .figures import fmt_ci
from .runner import Runner, default_cache_path, writable_dir

__all__ = ["build", "render_html", "render_markdown", "environment", "compare_sizes"]

VERDICT_CLASS = {E.CONFIRMED: "ok", E.CAVEATS: "warn", E.REFUTED: "bad", E.REPRODUCED: "ok", E.NOT_REPRODUCED: "bad"}


def _md_cell(s: object) -> str:
    """A Markdown table cell: a '|' would end the cell and a newline the row."""
    return str(s).replace("|", "\\|").replace("\n", " ")


# Everything printed into the HTML page is escaped; the Markdown report is not (its table
# cells go through md_cell), and escaping stays on for any other kind of template.
_TEMPLATES = Environment(
    # own templates first, then the pieces shared by every page (style.css, macros.html.j2)
    loader=ChoiceLoader([PackageLoader("actlab.claims", "templates"), PackageLoader("actlab", "templates")]),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), disabled_extensions=("md.j2",), default=True),
    undefined=StrictUndefined,  # a misspelt name in a template fails, rather than printing nothing
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_TEMPLATES.filters["md_cell"] = _md_cell


# ----------------------------------------------------------------------------- numbers

def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return f"{v:.4g}"
    if isinstance(v, dict) and {"mean", "lo", "hi", "n"} <= set(v):
        if any(v[k] is None for k in ("mean", "lo", "hi")):  # an estimate with nothing to estimate (a share of no gap)
            return f"undefined (n={v['n']})"
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

def _accuracy_resume_path(runner: Runner) -> Path | None:
    """Where the accuracy table saves each measured function, so an interrupted report resumes:
    next to the runner's cell cache (``.actlab-cache/accuracy.json`` by default), not in the
    report's folder, which holds the report only. None (no resuming) for an in-memory runner."""
    path = runner.cache.path
    return None if path is None else path.parent / "accuracy.json"


def build(
    out: str | os.PathLike = "report",
    size: str = "default",
    *,
    names: Sequence[str] | None = None,
    runner: Runner | None = None,
    with_accuracy: bool | None = None,
    with_catalogue_figures: bool = True,
    results: list[E.Result] | None = None,
    robust: bool | None = None,
) -> dict:
    """Run the experiments (all, or ``names``) at ``size`` and write ``out/report.html``,
    ``out/report.md``, ``out/results.json`` and, if there is a figure, ``out/figures/``;
    nothing else: the accuracy table resumes from a file next to the runner's cache. Returns
    the paths and results.

    ``results`` renders results computed elsewhere instead of running the experiments.
    ``robust`` (default: at every size but quick) adds each experiment's robustness table
    (:func:`actlab.claims.framework.robustness`), computed at quick size."""
    chosen = list(names) if names is not None else E.names()
    configs = {n: E.make_config(n, size) for n in chosen}  # validate everything before any work
    writable_dir(out, "report")  # and the folder: not a traceback after all the computing
    own = runner is None
    if runner is None:
        runner = Runner(default_cache_path())
    t0 = time.perf_counter()
    try:
        if results is None:
            results = [E.run(n, size, runner=runner, config=configs[n]) for n in chosen]
        if robust if robust is not None else size != "quick":
            for r in results:
                r.robustness = E.robustness(r.experiment, "quick", runner=runner, base=r)
    except BaseException:
        if own:
            runner.close()
        raise
    if with_accuracy is None:
        with_accuracy = size != "quick"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        cat = catalogue(with_accuracy, accuracy_cache=_accuracy_resume_path(runner),
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


# ----------------------------------------------------------------------------- rendering

def _figure(f: E.Figure, owner: str = "") -> dict:
    """A figure for the templates; the page embeds ``png`` (base64), the Markdown links the
    file, named after its experiment (two experiments may both have a figure "ratios")."""
    return {"name": f.name, "file": f"{owner}_{f.name}" if owner else f.name, "caption": f.caption,
            "png": base64.b64encode(f.png).decode()}


def _table(rows: list[dict]) -> dict:
    """A table for the templates' ``table`` macro: the first row's keys, then every row's values.

    >>> macros = _TEMPLATES.get_template("macros.html.j2").module
    >>> print(macros.table(_table([{"item": "<b>", "value": "x & 'y'"}])))
    <div class='scroll'><table>
    <tr><th>item</th><th>value</th></tr>
    <tr><td>&lt;b&gt;</td><td>x &amp; &#39;y&#39;</td></tr>
    </table></div>
    """
    return {"head": list(rows[0]) if rows else [], "rows": [list(r.values()) for r in rows]}


def _claim(r: E.Result) -> dict:
    """One claim section, every value ready to print: the templates only loop and test."""
    exp = E.get(r.experiment)
    doc = exp.doc.strip()
    body = doc.split("\n", 1)[1].strip() if "\n" in doc else ""  # the docstring without its title line
    return {
        "name": exp.name, "number": exp.number, "kind": exp.kind,
        "label": str(exp.number) if exp.kind == "claim" else f"C{exp.number}",
        "source": f"tutorial {exp.tutorial}" if exp.kind == "claim" else exp.tutorial,
        "title": exp.title, "tutorial": exp.tutorial,
        "claim": exp.claim, "korean": exp.korean, "body": body, "paragraphs": body.split("\n\n") if body else [],
        "settings": r.outcome.settings,
        "command": f"actlab run {exp.name}{'' if r.size == 'default' else ' --' + r.size}",
        "computed": r.cells.get("computed", 0), "cached": r.cells.get("cached", 0), "seconds": f"{r.seconds:.1f}",
        "figures": [_figure(f, r.experiment) for f in r.outcome.figures],
        "numbers": _table([{"quantity": k, "value": v} for k, v in flatten(r.outcome.numbers)]),
        "robustness": _table([{"setting": x["setting"], "value": _fmt(x["value"]) if x["value"] != "" else "",
                               "verdict (quick size)": x["verdict"], "holds": "yes" if x["same"] else "no: depends"}
                              for x in r.robustness]),
        "verdict": r.verdict.verdict, "verdict_class": VERDICT_CLASS[r.verdict.verdict],
        "key": r.verdict.key, "reasoning": r.verdict.reasoning,
    }


def _context(results: list[E.Result], cat: dict, env: dict, command: str) -> dict:
    """What both templates print: plain dicts, lists and strings."""
    return {
        "command": command,
        "claims": [_claim(r) for r in results if E.get(r.experiment).kind == "claim"],
        "calibrations": [_claim(r) for r in results if E.get(r.experiment).kind == "calibration"],
        "properties": _table(cat["properties"]),
        "catalogue_figures": [_figure(f) for f in cat["figures"]],
        "accuracy_markdown": cat["accuracy_markdown"],
        "environment": _table([{"item": k, "value": v} for k, v in env.items()]),
    }


def render_html(results: list[E.Result], cat: dict, env: dict, command: str) -> str:
    """The report as one self-contained HTML page (figures embedded, CSS inline)."""
    return _TEMPLATES.get_template("report.html.j2").render(_context(results, cat, env, command))


def render_markdown(results: list[E.Result], cat: dict, env: dict, command: str, fig_dir: Path) -> str:
    """The report in Markdown; figures are written to ``fig_dir`` (created only if there
    is a figure) and linked relatively."""
    figures = [(f"{r.experiment}_{f.name}", f) for r in results for f in r.outcome.figures]
    figures += [(f.name, f) for f in cat["figures"]]
    if figures:
        fig_dir.mkdir(parents=True, exist_ok=True)
    for file, f in figures:
        write_atomic(fig_dir / f"{file}.png", f.png)
    context = _context(results, cat, env, command) | {"fig_dir": fig_dir.name}
    return _TEMPLATES.get_template("report.md.j2").render(context)


def compare_sizes(paths: list[str | os.PathLike]) -> str:
    """A Markdown table of every experiment's verdict in several ``results.json`` files
    (one per size, as ``actlab report [--quick|--full]`` writes them), a column per file in
    the order given and a last column saying whether they agree: the table of
    docs/claims-full.md.

    >>> import json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for size, v in (("quick", "confirmed"), ("default", "refuted")):
    ...     _ = (d / f"{size}.json").write_text(json.dumps([{"experiment": "relu_kink", "size": size,
    ...                                                       "verdict": {"verdict": v, "key": ""}}]))
    >>> print(compare_sizes([d / "quick.json", d / "default.json"]))
    | # | experiment | quick | default | agree |
    |---|---|---|---|---|
    | 10 | relu_kink | confirmed | refuted | no |
    """
    runs = []
    for p in paths:
        try:
            rows = json.loads(Path(p).read_text())
            runs.append({r["experiment"]: r for r in rows})
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ActlabError(f"{p} is not a results.json written by actlab report ({err}).") from None
    sizes = [next(iter(r.values()))["size"] if r else "?" for r in runs]
    names = [n for n in E.names() if any(n in r for r in runs)]
    lines = ["| # | experiment | " + " | ".join(sizes) + " | agree |", "|---|" + "---|" * (len(sizes) + 2)]
    for n in names:
        e = E.get(n)
        label = str(e.number) if e.kind == "claim" else f"C{e.number}"
        vs = [r[n]["verdict"]["verdict"] if n in r else "-" for r in runs]
        agree = "yes" if len({v for v in vs if v != "-"}) <= 1 else "no"
        lines.append(f"| {label} | {n} | " + " | ".join(vs) + f" | {agree} |")
    return "\n".join(lines)
