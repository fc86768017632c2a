"""The report renders every registered claim, offline, in HTML and Markdown."""

import base64
import dataclasses
import re
from html.parser import HTMLParser

import pytest

from actlab import claims as E
from actlab.claims import report
from actlab.claims.runner import Runner, SerialExecutor
from actlab.verify import accuracy

from .test_experiments import quick_results

# The quick results are computed once per process: keep these tests on one xdist worker.
pytestmark = pytest.mark.xdist_group("experiments")


def test_report_contains_every_claim(tmp_path):
    results = list(quick_results().values())
    runner = Runner(None, executor=SerialExecutor(), progress=False)
    out = report.build(tmp_path, "quick", runner=runner, results=results, with_accuracy=False,
                       with_catalogue_figures=False)
    html = out["paths"]["html"].read_text()
    md = out["paths"]["markdown"].read_text()
    for name in E.names():
        exp = E.get(name)
        r = quick_results()[name]
        assert f"id='claim-{name}'" in html and exp.korean[:20] in md
        assert r.verdict.verdict in html and r.verdict.key[:30] in md.replace("\\|", "|")
        for f in r.outcome.figures:
            assert (tmp_path / "figures" / f"{name}_{f.name}.png").read_bytes() == f.png
            assert base64.b64encode(f.png).decode() in html  # embedded, not linked
    # self-contained: no external asset (scripts, stylesheets, images) is loaded
    assert not re.search(r"""(src|href)\s*=\s*['"](https?:)?//""", html)
    assert "name='viewport'" in html and "@media" in html
    for act in ("relu", "softmax"):  # catalogue table iterates the registry
        assert f"<td>{act}</td>" in html
    assert "numpy" in html and "time taken" in html


def test_catalogue_figure_cell():
    c = report.catalogue_cell({"name": "relu"})
    assert base64.b64decode(c["png"])[:4] == b"\x89PNG" and c["name"] == "relu"


def test_flatten_formats_intervals():
    rows = dict(report.flatten({"a": {"b": 0.5, "c": {"mean": 1.0, "lo": 0.5, "hi": 1.5, "n": 3, "sd": 0.2}}}))
    assert rows == {"a / b": "0.5", "a / c": "1 [0.5, 1.5] (n=3)"}


def test_flatten_shows_an_undefined_estimate():
    # sigmoid_decline's share where sigmoid is not slower than ReLU at some seed: no gap to share
    share = {"mean": None, "lo": None, "hi": None, "n": 8, "defined": False, "not_slower": 2}
    assert dict(report.flatten({"share": share})) == {"share": "undefined (n=8)"}


# ---------------------------------------------------------------- escaping and the output folder

HOSTILE = "<script>alert(1)</script> \"quoted\" & 'single'"


class _Page(HTMLParser):
    """Parses a page, checking that every element closes where it should (a stray '<' or
    quote in a value would open or swallow tags), and keeps each text with its element."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self) -> None:
        super().__init__()  # convert_charrefs: texts and attributes arrive unescaped
        self.stack: list[str] = []
        self.opened: list[str] = []
        self.texts: list[tuple[str, str]] = []
        self.alts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.opened.append(tag)
        if tag == "img":
            self.alts.append(dict(attrs)["alt"])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()

    def handle_data(self, data):
        if data.strip():
            self.texts.append((self.stack[-1] if self.stack else "", data.strip()))


def _hostile_report(monkeypatch, tmp_path) -> tuple[str, str]:
    """HTML and Markdown of a one-claim report with HOSTILE in every text it prints. The
    shared quick results are copied (dataclasses.replace), never changed; the registered
    experiment is swapped for this test only."""
    r = quick_results()["linear_collapse"]
    exp = E.get(r.experiment)
    monkeypatch.setitem(E.EXPERIMENTS, exp.name, dataclasses.replace(
        exp, claim=HOSTILE, korean=HOSTILE, tutorial=HOSTILE, doc=f"Title {HOSTILE}\n\n{HOSTILE}"))
    fig = dataclasses.replace(r.outcome.figures[0], caption=HOSTILE)
    outcome = dataclasses.replace(r.outcome, settings=HOSTILE, figures=[fig],
                                  numbers={HOSTILE: {"value": HOSTILE}, "list": [HOSTILE]})
    verdict = dataclasses.replace(r.verdict, key=HOSTILE, reasoning=HOSTILE)
    results = [dataclasses.replace(r, outcome=outcome, verdict=verdict)]
    cat = {"properties": [{"name": HOSTILE, HOSTILE: HOSTILE}],  # a header too
           "figures": [E.Figure("catalogue_hostile", HOSTILE, fig.png)], "accuracy_markdown": HOSTILE}
    env = {HOSTILE: HOSTILE}
    return (report.render_html(results, cat, env, HOSTILE),
            report.render_markdown(results, cat, env, HOSTILE, tmp_path / "figures"))


def test_html_escapes_every_value(monkeypatch, tmp_path):
    page, md = _hostile_report(monkeypatch, tmp_path)
    assert "<script" not in page and HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&amp;" in page
    parsed = _Page()
    parsed.feed(page)
    parsed.close()
    assert parsed.stack == [] and "script" not in parsed.opened  # every element closed, nothing injected
    assert parsed.opened.count("h2") == 3 and parsed.opened.count("figure") == 2
    assert parsed.opened.count("table") == 4  # summary, numbers, catalogue, environment
    # each value comes back as written, as the text of its element or as the figure's alt text
    texts = set(parsed.texts)
    for tag in ("a", "blockquote", "p", "code", "figcaption", "pre", "th", "td"):
        assert (tag, HOSTILE) in texts, tag
    assert ("td", f"[{HOSTILE}]") in texts and ("h2", f"1. Title {HOSTILE}") in texts
    assert parsed.alts == [HOSTILE, HOSTILE]
    # the Markdown report is not HTML-escaped: it shows the text as written
    assert f"> {HOSTILE}" in md and "&lt;" not in md


@pytest.mark.parametrize("with_figures", [True, False])
def test_report_folder_holds_only_the_report(tmp_path, monkeypatch, with_figures):
    r = quick_results()["linear_collapse"]
    if not with_figures:
        r = dataclasses.replace(r, outcome=dataclasses.replace(r.outcome, figures=[]))
    resume = []

    def table(partial=None, **kw):  # stands in for the (slow) measurement; records its resume file
        resume.append(partial)
        partial.write_text("{}")
        return {}

    monkeypatch.setattr(accuracy, "table", table)
    monkeypatch.setattr(accuracy, "markdown", lambda tab, **kw: "| accuracy |")
    out = tmp_path / "report"
    with Runner(tmp_path / "cache" / "cells.sqlite", executor=SerialExecutor(), progress=False) as runner:
        report.build(out, "quick", runner=runner, results=[r], with_accuracy=True, with_catalogue_figures=False)
    expected = {"report.html", "report.md", "results.json"} | ({"figures"} if with_figures else set())
    assert {p.name for p in out.iterdir()} == expected
    assert resume == [tmp_path / "cache" / "accuracy.json"]  # resumable, next to the runner's cache
