"""Formulas wherever an activation is accepted: actlab.get, the CLI, nn.save / nn.load,
the accuracy table: the registry's resolver hook, the façade, verify and nn."""

from __future__ import annotations

import json
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


def test_the_accuracy_table_measures_a_formula_against_its_own_formula():
    from actlab.verify import accuracy

    rows = accuracy.measure("log(1 + exp(x))")
    assert [r["dtype"] for r in rows] == ["float32", "float64"]
    for r in rows:
        for which in ("f", "df"):
            cell = r[which]["actlab"]
            assert cell["ulp"] <= 16 and cell["specials_ok"]
