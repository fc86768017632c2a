"""The report renders every registered claim, offline, in HTML and Markdown."""

import base64
import re

import pytest

from actlab import claims as E
from actlab.claims import report
from actlab.claims.runner import Runner, SerialExecutor

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
            assert (tmp_path / "figures" / f"{f.name}.png").read_bytes() == f.png
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
