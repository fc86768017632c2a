"""The tools around the catalogue: naive baselines, PyTorch peers, the accuracy table,
figures and the kernel benchmark (its output, never its speed).

The PyTorch tests compare actlab with torch's own functions and autograd: an independent
implementation. The naive formulas are checked against actlab away from overflow, so
that a baseline measures what it claims to.
"""

import json

import numpy as np
import pytest
import torch  # the project's venv has it (pyproject [peers]); these tests compare against it

import actlab
from actlab import cli, plots
from actlab.catalogue.registry import REGISTRY
from actlab.verify import accuracy, naive, peers

ELEMENTWISE = [n for n, a in REGISTRY.items() if not a.vector]
WITH_PEER = [n for n in REGISTRY if peers.peer(n) is not None]
WITH_NAIVE = [n for n in REGISTRY if n in naive.NAIVE]


def run(capsys, *argv):
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys, *argv):
    code, _, err = run(capsys, *argv)
    assert code == 2, (argv, code, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


# ---- naive baselines and peers cover the registry ------------------------------------


def test_naive_and_peer_tables_name_registry_entries():
    assert set(naive.NAIVE) <= set(REGISTRY), set(naive.NAIVE) - set(REGISTRY)
    # every entry is either given a torch peer or listed as lacking one, with a reason
    for name in REGISTRY:
        assert (peers.peer(name) is None) == (name in peers.TORCH_LACKS), name
    for name, reason in peers.TORCH_LACKS.items():
        assert reason, name


def _away_from_kinks(act, x, gap=1e-3):
    kinks = np.array(list(act.kinks) or [np.inf])
    return x[np.min(np.abs(x[:, None] - kinks[None, :]), axis=1) > gap]


def _domain(act, x):
    """Keep x inside the domain of entries defined on a half-line (log1mexp)."""
    with np.errstate(invalid="ignore"):
        return x[~np.isnan(act.f(x))]


@pytest.mark.parametrize("name", [n for n in WITH_NAIVE if not REGISTRY[n].vector])
def test_naive_formula_agrees_with_actlab_where_it_does_not_overflow(name):
    act = actlab.get(name)
    nv = naive.NAIVE[name]
    x = _domain(act, _away_from_kinks(act, np.linspace(-6, 6, 601) + 3e-4))
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(nv.f(x, **act.params), act.f(x), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(nv.df(x, **act.params), act.df(x), rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("name", [n for n in WITH_NAIVE if REGISTRY[n].vector])
def test_naive_vector_formula_agrees_with_actlab(name):
    act = actlab.get(name)
    nv = naive.NAIVE[name]
    row = np.random.default_rng(3).normal(size=6)
    np.testing.assert_allclose(nv.f(row, **act.params), act.f(row), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(nv.jacobian(row, **act.params), act.jacobian(row), rtol=1e-10, atol=1e-14)


def test_naive_softmax_overflows_as_the_tutorial_warns():
    x = np.array([1000.0, 1000.0])
    with np.errstate(all="ignore"):
        assert np.isnan(naive.NAIVE["softmax"].f(x)).all()
    np.testing.assert_array_equal(actlab.get("softmax")(x), [0.5, 0.5])


# ---- PyTorch agreement ------------------------------------------------------------------


# Where torch itself is off in float64, measured here: (entry, which) -> (rtol, reason).
TORCH_FLOAT64_DEVIATIONS = {
    ("hard_sigmoid", "df"): (3e-8, "torch's hardsigmoid_backward multiplies by 1/6 rounded to float32 "
                                   "(0.1666666716...; relative error 2.98e-8)"),
}


@pytest.mark.parametrize("name", [n for n in WITH_PEER if not REGISTRY[n].vector])
def test_agrees_with_torch_in_float64(name):
    act = actlab.get(name)
    x = _domain(act, _away_from_kinks(act, np.linspace(-8, 8, 1601) + 7e-4))
    for which in ("f", "df"):
        rtol, _ = TORCH_FLOAT64_DEVIATIONS.get((name, which), (1e-12, ""))
        np.testing.assert_allclose(getattr(act, which)(x), getattr(peers, which)(act, x), rtol=rtol, atol=1e-14,
                                   err_msg=f"{name} {which}")


def test_torch_float64_deviations_are_still_there():
    """Each loosened tolerance above is needed: torch is off by more than 1e-12 there."""
    for (name, which), (rtol, reason) in TORCH_FLOAT64_DEVIATIONS.items():
        act = actlab.get(name)
        x = _away_from_kinks(act, np.linspace(-2, 2, 41) + 7e-4)
        rel = np.abs(getattr(peers, which)(act, x) / getattr(act, which)(x) - 1)
        assert 1e-12 < np.nanmax(rel) <= rtol, (name, which, reason)


def test_hard_sigmoid_slope_is_exactly_one_sixth():
    # the independent side of the deviation above: d/dx (x + 3)/6 = 1/6, correctly rounded
    assert actlab.get("hard_sigmoid").df(np.array([0.5]))[0] == 1 / 6


@pytest.mark.parametrize("name", [n for n in WITH_PEER if not REGISTRY[n].vector and actlab.get(n).kinks])
def test_kink_conventions_agree_with_torch_autograd(name):
    # the same one-sided choice as torch; the value may differ in the last bit where it is a
    # product of constants (selu: scale * alpha)
    act = actlab.get(name)
    k = np.array(sorted(act.kinks), dtype=np.float64)
    np.testing.assert_allclose(act.df(k), peers.df(act, k), rtol=3e-16, atol=0, err_msg=f"{name} f' at kinks {k}")


@pytest.mark.parametrize("name", [n for n in WITH_PEER if REGISTRY[n].vector])
def test_vector_agrees_with_torch_in_float64(name):
    act = actlab.get(name)
    rows = np.random.default_rng(4).normal(scale=3.0, size=(5, 8))
    np.testing.assert_allclose(act.f(rows), peers.f(act, rows), rtol=1e-12, atol=1e-15)
    for row in rows:
        np.testing.assert_allclose(act.jacobian(row), peers.jacobian(act, row), rtol=1e-12, atol=1e-15)


def test_peers_respect_parameters():
    act = actlab.get("elu", alpha=0.5)
    x = np.array([-2.0, -0.5, 1.0])
    np.testing.assert_allclose(peers.f(act, x), torch.nn.functional.elu(torch.tensor(x), 0.5).numpy(), rtol=0)
    assert not np.allclose(peers.f(act, x), peers.f(actlab.get("elu"), x))


# ---- the accuracy table -----------------------------------------------------------------


def test_accuracy_command_writes_valid_markdown_and_json(tmp_path, capsys):
    code, out, _ = run(capsys, "accuracy", "--names", "relu", "softmax", "--out", tmp_path, "--jobs", 1)
    assert code == 0
    data = json.loads((tmp_path / "accuracy.json").read_text())
    md = (tmp_path / "accuracy.md").read_text()
    assert [(r["name"], r["dtype"]) for r in data["rows"]] == [
        (n, d) for n in ("relu", "softmax") for d in ("float32", "float64")]
    for r in data["rows"]:
        assert md.count(f"| {r['spec']} | {r['dtype']} |") == 1
        assert r["f"]["torch"] is not None and r["df"]["torch"] is not None
    relu = data["rows"][1]
    assert relu["f"]["actlab"]["ulp"] == 0.0  # max(0, x) is exact
    softmax = data["rows"][3]
    assert softmax["f"]["naive"]["ulp"] == "inf"  # the tutorial's exp(a)/sum(exp(a)) gives NaN at 800
    assert softmax["f"]["actlab"]["ulp"] <= REGISTRY["softmax"].ulp["f"]
    assert "runtime" in out
    assert not (tmp_path / ".accuracy.partial.json").exists()


def test_accuracy_table_resumes_finished_functions(tmp_path):
    partial = tmp_path / "partial.json"
    first = accuracy.table(["relu"], partial=partial)
    assert first["reused"] == 0 and partial.exists()
    second = accuracy.table(["relu"], partial=partial)
    assert second["reused"] == 1 and second["rows"] == first["rows"]


def test_worse_than_torch_flags_only_real_differences():
    row = {"f": {"actlab": {"ulp": 3.0}, "torch": {"ulp": 1.0}},
           "df": {"actlab": {"ulp": 0.55}, "torch": {"ulp": 0.0}}}
    assert accuracy.worse_than_torch(row) == ["f"]


# ---- figures ----------------------------------------------------------------------------


def test_plot_command_writes_png_and_svg(tmp_path, capsys):
    png, svg = tmp_path / "a.png", tmp_path / "b.svg"
    assert run(capsys, "plot", "relu", "sigmoid", "--derivative", "--second", "--out", png)[0] == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    assert run(capsys, "plot", "leaky_relu", "--derivative", "--param", "slope=0.1,0.3", "--xlim", -3, 3,
               "--out", svg)[0] == 0
    assert b"<svg" in svg.read_bytes()[:1000]


def test_plot_marks_kinks_and_sweeps_parameters():
    fig = plots.plot(["leaky_relu"], derivative=True, params={"slope": [0.1, 0.3]}, xlim=(-2, 2))
    f_ax, df_ax = fig.axes
    curves = [ln for ln in f_ax.get_lines() if len(ln.get_xdata()) > 10]
    assert [ln.get_label() for ln in curves] == ["leaky_relu(slope=0.1)", "leaky_relu(slope=0.3)"]
    # on f': a filled dot at the convention f'(0), open dots at the one-sided limits
    dots = [(ln.get_ydata()[0], ln.get_markerfacecolor()) for ln in df_ax.get_lines() if len(ln.get_xdata()) == 1
            and ln.get_xdata()[0] == 0 and ln.get_marker() == "o"]
    filled = sorted(float(y) for y, face in dots if face != "white")
    opened = sorted(float(y) for y, face in dots if face == "white")
    assert filled == [0.1, 0.3] and opened == [1.0, 1.0]


def test_gallery_writes_one_figure_per_entry(tmp_path, capsys):
    names = [actlab.names(vector=False)[0], actlab.names(vector=True)[0]]
    assert run(capsys, "gallery", "--names", *names, "--out", tmp_path)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.png" for n in names)


# ---- the benchmark ----------------------------------------------------------------------


def test_bench_kernels_writes_valid_tables(tmp_path, capsys):
    names = ["relu", "sigmoid", actlab.names(vector=True)[0]]
    code, out, _ = run(capsys, "bench", "kernels", "--n", 20000, "--repeat", 1, "--names", *names,
                       "--dtypes", "float64", "--out", tmp_path)
    assert code == 0
    data = json.loads((tmp_path / "kernels.json").read_text())
    assert [r["name"] for r in data["rows"]] == names
    for r in data["rows"]:
        assert r["ns"]["actlab"]["f"] > 0 and r["ns"]["naive"]["f"] > 0 and r["ns"]["torch1"]["f"] > 0
        assert set(r["ratios"]["f"]) == {"naive/actlab", "torch/actlab", "torchN/actlab", "actlab/copy"}
    assert data["rows"][0]["piecewise_linear"] and not data["rows"][1]["piecewise_linear"]
    assert "| relu | float64 |" in (tmp_path / "kernels.md").read_text()


# ---- bad arguments: one line, exit status 2 ----------------------------------------------


@pytest.mark.parametrize("argv,needle", [
    (["plot", "sigmod"], "Did you mean 'sigmoid'"),
    (["accuracy", "--names", "rleu"], "Did you mean 'relu'"),
    (["bench", "kernels", "--names", "sigmiod"], "Did you mean 'sigmoid'"),
    (["gallery", "--names", "sofmax"], "Did you mean 'softmax'"),
    (["plot", "leaky_relu", "--param", "slop=0.1"], "Did you mean 'slope'"),
    (["plot", "relu", "--param", "slope"], "NAME=V1,V2"),
    (["plot", "relu", "--out", "x.jpg"], ".png or .svg"),
    (["plot", "relu", "--xlim", "1", "0"], "LO < HI"),
    (["plot", "relu", "--xlim", "a", "b"], "invalid float"),
    (["bench", "kernels", "--n", "0"], "positive integer"),
    (["bench", "kernels", "--repeat", "x"], "positive integer"),
    (["accuracy", "--jobs", "-1"], "positive integer"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, argv, needle):
    assert needle in one_line_error(capsys, *argv)


def test_list_command_prints_every_entry_with_its_aliases(capsys):
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(actlab.REGISTRY)
    for line, entry in zip(lines, actlab.REGISTRY.values()):
        assert line.startswith(entry.name)
        for alias in entry.aliases:  # the names people bring from PyTorch, JAX and SciPy
            assert alias in line and actlab.lookup(alias) is entry
    assert any("hardswish" in line for line in lines)
