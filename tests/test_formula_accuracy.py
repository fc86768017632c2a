"""The naive spellings of the issue, as accurate as the catalogue: within 16 ulp of mpmath
evaluating the *user's formula* at 50 digits, f and f', float32 and float64, on the
catalogue's grid; the catalogue's limits at +-inf; no RuntimeWarning (warnings are errors).

The grid is :func:`actlab.verify.accuracy.grid` with the powers of ten beyond 1e20 thinned
to every eighth (the mpmath reference of a naive formula needs ~1400 bits there, ~25 ms a
point without gmpy); the full grid is measured by running this file:

    .venv/bin/python tests/test_formula_accuracy.py            # the table, full grid
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
from mpmath import mp

import actlab
from actlab.formula import mp_reference, resolve
from actlab.verify import accuracy, reference

#: (spelling, the catalogue entry it is, its parameters)
NAIVE = [
    ("log(1 + exp(x))", "softplus", {}),
    ("1/(1 + exp(-x))", "sigmoid", {}),
    ("(exp(x) - exp(-x))/(exp(x) + exp(-x))", "tanh", {}),
    ("log(1/(1 + exp(-x)))", "log_sigmoid", {}),
    ("x/(1 + exp(-x))", "silu", {}),
    ("x*tanh(log(1 + exp(x)))", "mish", {}),
    ("0.5*x*(1 + erf(x/sqrt(2)))", "gelu", {}),
    ("where(x > 0, x, exp(x) - 1)", "elu", {}),
    ("x/(1 + abs(x))", "softsign", {}),
]
#: other spellings of the same functions (checked on the [-10, 10] part of the grid and the specials)
VARIANTS = [
    ("log(exp(x) + 1)", "softplus"), ("x + log(1 + exp(-x))", "softplus"), ("exp(x)/(1 + exp(x))", "sigmoid"),
    ("(1 + tanh(x/2))/2", "sigmoid"), ("2/(1 + exp(-2*x)) - 1", "tanh"), ("(1 - exp(-2*x))/(1 + exp(-2*x))", "tanh"),
    ("-log(1 + exp(-x))", "log_sigmoid"), ("x - log(1 + exp(x))", "log_sigmoid"), ("log(sigmoid(x))", "log_sigmoid"),
    ("x*sigmoid(x)", "silu"), ("x*tanh(softplus(x))", "mish"), ("x*erfc(-x/sqrt(2))/2", "gelu"),
    ("x/2*(1 + erf(x/sqrt(2)))", "gelu"), ("x - tanh(x)", "tanh_shrink"), ("1 - 1/(1 + exp(x))", "sigmoid"),
    ("log(1 - exp(-x))", "log1mexp"),
]
BOUND = 16.0


def thinned(dtype, act) -> np.ndarray:
    g = accuracy.grid(dtype, act)
    a = np.abs(g.astype(np.float64))
    with np.errstate(all="ignore"):  # +-inf and NaN are in the grid
        k = np.round(np.log10(np.where(a > 0, a, 1.0)))
        keep = ~np.isfinite(a) | (a < 1e20) | (k % 8 == 0) | (a == np.finfo(dtype).max)
    return g[keep]


def exact_values(ref, which: str, xs: np.ndarray) -> dict[float, object]:
    fn = getattr(ref, which)
    with mp.workdps(reference.DPS):
        return {float(v): reference._at(fn, float(v), {}) for v in np.unique(xs.astype(np.float64))
                if not np.isnan(v)}


def errors(b, which: str, xs: np.ndarray, table: dict[float, object], dtype) -> tuple[float, float, bool]:
    """(max ulp over finite x, the x, whether +-inf and NaN give the exact limit / NaN)."""
    got = getattr(b, which)(xs)
    assert got.dtype == dtype
    exact = [None if np.isnan(v) else table[float(v)] for v in xs.astype(np.float64)]
    err = accuracy.ulp_errors(got, exact, dtype)
    fin = np.isfinite(xs)
    i = int(np.flatnonzero(fin)[np.argmax(err[fin])])
    return float(err[i]), float(xs[i]), bool(np.all(err[~fin] <= 1.0))


def measure(text: str, grid=thinned) -> dict[str, dict[str, tuple[float, float, bool]]]:
    """{dtype: {which: (max ulp, at x, specials ok)}} for a formula against mpmath."""
    b = resolve(text)
    ref = mp_reference(b, mp)
    grids = {dt: grid(np.dtype(dt), b) for dt in ("float32", "float64")}
    kinks = np.array(list(b.kinks), np.float64)
    out: dict[str, dict[str, tuple[float, float, bool]]] = {dt: {} for dt in grids}
    for which in ("f", "df"):
        union = np.concatenate([g.astype(np.float64) for g in grids.values()])
        if which == "df":
            union = union[~np.isin(union, kinks)]
        table = exact_values(ref, which, union)
        for dt, g in grids.items():
            xs = g if which == "f" else g[~np.isin(g.astype(np.float64), kinks)]
            out[dt][which] = errors(b, which, xs, table, np.dtype(dt))
    return out


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    return {text: measure(text) for text, _, _ in NAIVE}


@pytest.mark.parametrize(("text", "entry", "params"), NAIVE)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("which", ["f", "df"])
def test_naive_spelling_within_16_ulp_of_mpmath(results, text, entry, params, dtype, which):
    ulp, at, specials = results[text][dtype][which]
    assert ulp <= BOUND, f"{text} {which} {dtype}: {ulp:.3g} ulp at x = {at!r}"
    assert specials, f"{text} {which} {dtype}: wrong at +-inf or NaN"


@pytest.mark.parametrize(("text", "entry", "params"), NAIVE)
def test_naive_spelling_has_the_catalogues_limits(text, entry, params):
    b, cat = resolve(text), actlab.get(entry, **params)
    x = np.array([-np.inf, np.inf])
    for which in ("f", "df", "d2f"):
        ours, theirs = getattr(b, which)(x), getattr(cat, which)(x)
        np.testing.assert_array_equal(ours, theirs, err_msg=f"{text} {which}")


def _plain_grid(dtype, act) -> np.ndarray:
    g = thinned(dtype, act)
    a = np.abs(g.astype(np.float64))
    with np.errstate(invalid="ignore"):
        return g[(a <= 10) | ~np.isfinite(a) | np.isin(a, [1e4, 1e-300, 37.0, 709.8, 88.7])]


@pytest.mark.parametrize(("text", "entry"), VARIANTS)
def test_other_spellings_become_the_entry_and_are_accurate(text, entry):
    b = resolve(text)
    assert entry in b.definition.analysis["rewritten"], b.definition.analysis["rewritten"]
    res = measure(text, grid=_plain_grid)
    for dt, cells in res.items():
        for which, (ulp, at, specials) in cells.items():
            assert ulp <= BOUND and specials, f"{text} {which} {dt}: {ulp:.3g} ulp at {at!r}"


@pytest.mark.parametrize(("text", "entry"), [
    ("0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))", "gelu_tanh(x)"),
    ("x * sigmoid(1.702 * x)", "silu(x, beta=851/500)"),
    ("x * sigmoid(-2 * x)", "-silu(-x, beta=2)"),
    ("3 * x / (1 + exp(-x))", "3*silu(x, beta=1)"),
    ("(x + 1) * tanh(log(1 + exp(x + 1)))", "mish(x + 1)"),
    ("2 * x / (1 + abs(x))", "2*softsign(x)"),
])
def test_rewrites_into_catalogue_calls(text, entry):
    assert resolve(text).definition.analysis["rewritten"] == entry


def main() -> None:  # pragma: no cover - the report's table
    texts = sys.argv[1:] or [t for t, _, _ in NAIVE]
    full = accuracy.grid
    head = ("formula", "dtype", "f ulp", "at x", "f' ulp", "at x")
    print("{:44s} {:8s} {:>8s} {:>12s} {:>8s} {:>12s}  +-inf/NaN".format(*head))
    for text in texts:
        start = time.perf_counter()
        res = measure(text, grid=full)
        for dt, c in res.items():
            ok = "ok" if c["f"][2] and c["df"][2] else "WRONG"
            print(f"{text:44s} {dt:8s} {c['f'][0]:8.3g} {c['f'][1]:12.4g} {c['df'][0]:8.3g} {c['df'][1]:12.4g}  {ok}")
        print(f"{'':44s} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
