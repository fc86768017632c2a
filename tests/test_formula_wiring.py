"""Formulas wherever an activation is accepted: actlab.get, the CLI, nn.save / nn.load,
the accuracy table: the registry's resolver hook, the façade, verify and nn."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import actlab
from actlab.formula import FormulaActivation, undefine


def _run(code: str, cwd) -> str:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=cwd)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_get_takes_a_formula_after_import_actlab_which_stays_light(tmp_path):
    out = _run("import sys, actlab; light = [m for m in ('sympy', 'mpmath') if m in sys.modules]; "
               "b = actlab.get('x*tanh(softplus(x))'); print(light, b.definition.analysis['rewritten'], "
               "float(b(1.0)) == float(actlab.get('mish')(1.0)))", tmp_path)
    assert out.split() == ["[]", "mish(x)", "True"]


def test_define_then_get_with_parameters():
    try:
        actlab.define("x * sigmoid(b * x)", name="swish_b_wired", b=1.0)
        b = actlab.get("swish_b_wired(b=1.5)")
        assert b.params == {"b": 1.5} and actlab.get(b.spec).params == {"b": 1.5}
        assert actlab.get("x * sigmoid(1.5 * x)")(2.0) == b(2.0)
        with pytest.raises(actlab.UnknownNameError, match="Did you mean 'sigmoid'"):
            actlab.get("x * sigmoud(x)")
        with pytest.raises(actlab.UnknownNameError, match="Unknown activation"):
            actlab.get("sigmoud")  # no x: the registry's own error
    finally:
        if isinstance(actlab.REGISTRY.get("swish_b_wired"), FormulaActivation):
            undefine("swish_b_wired")


def test_a_saved_model_stores_its_formula_and_defines_it_again_on_load(tmp_path):
    path = tmp_path / "model.npz"
    _run("import actlab\nfrom actlab import nn\n"
         "actlab.define('x * sigmoid(b * x) + 0.1 * relu(x - 1)', name='swish_b_saved', b=1.0)\n"
         f"m = nn.mlp('4-8-3', activation=['swish_b_saved(b=1.5)'], seed=0)\nnn.save(m, {str(path)!r})\n", tmp_path)
    out = _run("import numpy as np\nfrom actlab import nn\n"
               f"m = nn.load({str(path)!r})\n"
               "print(m.layers[1].spec)\n"
               "X = np.random.default_rng(0).normal(size=(8, 4))\n"
               "print(nn.gradcheck(m, X, np.arange(8) % 3) < 1e-6)\n", tmp_path)
    assert out.split() == ["swish_b_saved(b=1.5)", "True"]
    arch = nn_architecture(path)
    layer = arch["layers"][1]
    assert layer["formula"] == {"name": "swish_b_saved", "formula": "x * sigmoid(b * x) + 0.1 * relu(x - 1)",
                                "defaults": {"b": 1.0}}


def nn_architecture(path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return json.loads(str(z["__architecture__"]))


def test_cli_plot_and_accuracy_take_formulas(tmp_path):
    png = tmp_path / "f.png"
    res = subprocess.run([sys.executable, "-m", "actlab", "plot", "x*sigmoid(x)", "--derivative", "--out", str(png)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert png.stat().st_size > 1000


def test_the_gallery_draws_typed_formulas_under_safe_file_names(tmp_path):
    from actlab import plots

    paths = plots.gallery(tmp_path, names=["1/(1 + exp(-x))", "relu", "x/(1 + abs(x))"])
    assert [p.rsplit("/", 1)[-1].split("_")[0] for p in paths] == ["formula", "relu.png", "formula"]
    assert len(set(paths)) == 3 and all(os.path.dirname(p) == str(tmp_path) for p in paths)


def test_the_accuracy_table_measures_a_formula_against_its_own_formula():
    from actlab.verify import accuracy

    rows = accuracy.measure("log(1 + exp(x))")
    assert [r["dtype"] for r in rows] == ["float32", "float64"]
    for r in rows:
        for which in ("f", "df"):
            cell = r[which]["actlab"]
            assert cell["ulp"] <= 16 and cell["specials_ok"]


# ---- named formulas in other processes: the runner's and the accuracy table's workers ----------

def formula_cell(cell: dict) -> dict:
    """A cell that evaluates its activation spec (in a spawned worker, with the runner's pool)."""
    import os

    return {"y": float(actlab.get(cell["activation"])(1.0)), "pid": os.getpid()}


@pytest.fixture
def swish_b():
    from actlab.formula import define_text

    act = define_text("swish_b_worker(b=1.0) = x * sigmoid(b * x)")
    define_text("twice_worker = 2 * swish_b_worker(x, b=0.5)")
    yield act
    for name in ("twice_worker", "swish_b_worker"):
        if isinstance(actlab.REGISTRY.get(name), FormulaActivation):
            undefine(name)


def test_definitions_list_the_named_formulas_a_setting_uses_callees_first(swish_b):
    from actlab.formula import definitions

    assert [d["name"] for d in definitions({"activations": ["relu", "twice_worker"]})] == \
        ["swish_b_worker", "twice_worker"]
    assert definitions(["relu", "x * sigmoid(x)", "swish_b_worker_not"]) == []


def test_spawned_runner_workers_define_the_named_formulas_their_cells_use(swish_b, tmp_path):
    import os

    import mpmath

    from actlab.claims import runner as R

    cells = [{"activation": "swish_b_worker(b=1.5)"}, {"activation": "twice_worker"}, {"activation": "relu"}]
    expect = [1 / (1 + mpmath.exp(-1.5)), 2 / (1 + mpmath.exp(-0.5)), 1]  # mpmath, not actlab
    with R.Runner(tmp_path / "c.sqlite", workers=2, progress=False) as r:
        out = r.map(formula_cell, cells)
        assert all(o["pid"] != os.getpid() for o in out)
        assert [o["y"] for o in out] == pytest.approx([float(e) for e in expect], rel=1e-15)
        # the cache key holds the definition: the same spec under another formula is another cell
        actlab.define("x * tanh(b * x)", "swish_b_worker", replace=True, b=1.0)
        again = r.map(formula_cell, cells)
        assert r.stats == {**r.stats, "computed": 5, "cached": 1}
    assert again[0]["y"] == pytest.approx(float(mpmath.tanh(1.5)), rel=1e-15)
    assert again[1]["y"] == pytest.approx(float(2 * mpmath.tanh(0.5)), rel=1e-15)  # its caller follows it
    assert actlab.get("twice_worker")(1.0) == again[1]["y"]  # here as in the workers


def test_the_accuracy_table_measures_named_formulas_in_worker_processes(swish_b):
    from actlab.verify import accuracy

    out = accuracy.table(["swish_b_worker", "twice_worker"], jobs=2)
    assert out["jobs"] == 2 and {r["name"] for r in out["rows"]} == {"swish_b_worker", "twice_worker"}
    assert all(r[w]["actlab"]["ulp"] <= 16 for r in out["rows"] for w in ("f", "df"))


def test_cli_define_names_a_formula_for_the_command(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "actlab", "run", "relu_sparsity", "--quick", "--cache", str(tmp_path / "c.sqlite"),
         "--define", "swish_b(b=1.0) = x * sigmoid(b * x)", "--set", "activations=relu,swish_b(b=1.5)",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    numbers = json.loads((tmp_path / "relu_sparsity.json").read_text())["numbers"]
    assert "swish_b(b=1.5)" in json.dumps(numbers)
    for bad, msg in [("swish_b(b=1.0) = x * tanh(b * x", "never closed"), ("= x", "NAME = FORMULA"),
                     ("relu = x", "catalogue entry"), ("f(b=one) = b * x", "must be a number")]:
        res = subprocess.run([sys.executable, "-m", "actlab", "plot", "relu", "--define", bad, "--out",
                              str(tmp_path / "p.png")], capture_output=True, text=True, timeout=120)
        assert res.returncode == 2 and msg in res.stderr and res.stderr.count("\n") == 1, res.stderr


def test_replacing_a_formula_rebuilds_its_callers_or_replaces_nothing(swish_b):
    from actlab.formula import define_text

    define_text("thrice_worker = 1.5 * twice_worker(x)")
    with pytest.raises(actlab.ActlabError, match="already defined"):
        define_text("swish_b_worker(b=1.0) = x * tanh(b * x)")
    actlab.define("x * tanh(b * x)", "swish_b_worker", replace=True, b=1.0)
    assert actlab.get("thrice_worker")(1.0) == pytest.approx(3 * np.tanh(0.5), rel=1e-15)
    with pytest.raises(actlab.ActlabError, match="breaks the formula 'twice_worker'.*nothing was replaced"):
        actlab.define("x * c", "swish_b_worker", replace=True, c=1.0)  # twice_worker passes b=0.5
    assert actlab.get("swish_b_worker").definition.text == "x * tanh(b * x)"
    assert actlab.get("thrice_worker")(1.0) == pytest.approx(3 * np.tanh(0.5), rel=1e-15)
    undefine("thrice_worker")
