"""Softmax overflows; subtracting the max fixes it (tutorial 003)

The left panel feeds the row ``[x, 0]`` to the naive formula ``exp(a) / sum(exp(a))``
and to the max-subtracted one, in float32 and float64, and plots the first output as x
grows: the naive one turns into NaN (inf / inf) exactly where ``exp`` overflows, at
x = log(max float) = 88.72 (float32) and 709.78 (float64); the stable one stays at 1.
The right panel measures the stable formula against mpmath (50 digits) on random rows at
growing scales, in ulp: subtracting the max costs no accuracy.

The tutorial's own code is also run, as written, in a fresh Python process with the
installed NumPy: its ``step_function`` uses ``np.int`` (removed in NumPy 1.24), its first
``softmax`` sums instead of exponentiating, and its "fixed" ``sofmtax`` (sic) refers to an
undefined ``c`` and to the global ``a`` instead of its argument. The outcome of each run
(the exception or the wrong value) is recorded, not asserted from memory.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from mpmath import mp, mpf

from ..figures import ci, new_figure, png, seeds_of
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, register


@dataclass
class Config:
    seeds: int = 5
    rows_per_scale: int = 20
    row_length: int = 10
    scales: tuple[float, ...] = (1.0, 10.0, 100.0, 1000.0)
    QUICK: ClassVar[dict] = {"seeds": 2, "rows_per_scale": 5}
    FULL: ClassVar[dict] = {"seeds": 10, "rows_per_scale": 50}


def naive_softmax(a: np.ndarray) -> np.ndarray:
    """The textbook formula, as the tutorial writes it (with its typos fixed)."""
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(a)
        return e / np.sum(e)


def stable_softmax(a: np.ndarray) -> np.ndarray:
    """The tutorial's fix: exp(a - max a) / sum (exp(a - max a)) (with its bugs fixed)."""
    e = np.exp(a - np.max(a))
    return e / np.sum(e)


def _mp_softmax(row: np.ndarray) -> list:
    with mp.workdps(50):
        e = [mp.exp(mpf(float(v))) for v in row]
        s = mp.fsum(e)
        return [v / s for v in e]


def _threshold(dtype: np.dtype) -> float:
    """The smallest x of ``dtype`` for which the naive softmax of [x, 0] is not finite (bisection on floats)."""
    lo, hi = dtype.type(1.0), dtype.type(2000.0)  # naive is finite at lo, not at hi
    with np.errstate(over="ignore"):
        hi = min(hi, np.finfo(dtype).max)
    while np.nextafter(lo, hi) != hi:
        mid = dtype.type((float(lo) + float(hi)) / 2)
        if mid in (lo, hi):
            mid = np.nextafter(lo, hi)
        if np.all(np.isfinite(naive_softmax(np.array([mid, 0], dtype=dtype)))):
            lo = mid
        else:
            hi = mid
    return float(hi)


# The tutorial's code, verbatim except that plotting lines are dropped (they need a screen),
# each with the call whose value is printed (as JSON) and the value a correct version gives.
TUTORIAL_CODE = {
    "step_function": (
        "import numpy as np\n"
        "def step_function(x):\n"
        "\treturn np.array(x > 0, dtype=np.int)\n"
        "x = np.arange(-5.0, 5.0, 0.1)\n",
        "step_function(np.array([-1.0, 2.0]))",
        [0, 1],
    ),
    "softmax": (
        textwrap.dedent("""\
            import numpy as np

            a = np.array([0.3, 2.9, 4.0])

            def softmax(x):
                exp_a = np.sum(a)
                sum_exp_a = np.sum(exp_a)
                y = exp_a / sum_exp_a
                return y
            """),
        "softmax(a)",
        [0.3, 2.9, 4.0],  # -> softmax of this row
    ),
    "sofmtax": (
        textwrap.dedent("""\
            import numpy as np

            a = np.array([0.3, 2.0, 4.0])

            def sofmtax(x):
                maximum = np.max(a)
                exp_a = np.exp(a-c)
                sum_exp_a = np.sum(exp_a)
                y = exp_a / sum_exp_a
                return y
            """),
        "sofmtax(a)",
        [0.3, 2.0, 4.0],
    ),
    # the same with the undefined c replaced by the intended `maximum`: it still reads the global a
    "sofmtax_c_fixed": (
        textwrap.dedent("""\
            import numpy as np

            a = np.array([0.3, 2.0, 4.0])

            def sofmtax(x):
                maximum = np.max(a)
                exp_a = np.exp(a-maximum)
                sum_exp_a = np.sum(exp_a)
                y = exp_a / sum_exp_a
                return y
            """),
        "sofmtax(np.array([1000.0, 0.0]))",
        [1000.0, 0.0],
    ),
}


def run_tutorial_code(name: str) -> dict:
    """Run one snippet in a fresh interpreter with the installed NumPy.

    Returns whether it raised, its last output line (the exception, or the JSON value)
    and, when it ran, whether the value equals the correct result for the intended input.
    """
    code, call, row = TUTORIAL_CODE[name]
    prog = code + f"\nimport json\nprint(json.dumps(np.asarray({call}).tolist()))\n"
    proc = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=120)
    lines = (proc.stderr if proc.returncode else proc.stdout).strip().splitlines()
    if proc.returncode:  # the exception line of the traceback (its message may span lines)
        lines = [ln for ln in lines if re.match(r"^[A-Za-z_.]*(Error|Exception)\b", ln)] or lines
    out = {"raised": proc.returncode != 0, "last_line": lines[-1] if lines else "", "numpy": np.__version__,
           "call": call}
    if name == "step_function":
        expected = np.asarray(row, dtype=float)
    else:
        expected = stable_softmax(np.asarray(row, dtype=float))
    out["expected"] = expected.tolist()
    if not out["raised"]:
        got = np.asarray(json.loads(out["last_line"]), dtype=float)
        out["correct"] = bool(got.shape == expected.shape and np.allclose(got, expected, rtol=1e-12))
    else:
        out["correct"] = False
    return out


def cell(c: dict) -> dict:
    if c["kind"] == "threshold":
        dt = np.dtype(c["dtype"])
        xs = np.linspace(0, 800, 801)
        with np.errstate(over="ignore"):
            grid = xs.astype(dt)
        naive = [float(naive_softmax(np.array([x, 0], dtype=dt))[0]) for x in grid]
        stable = [float(stable_softmax(np.array([x, 0], dtype=dt))[0]) for x in grid]
        return {"threshold": _threshold(dt), "predicted": float(np.log(np.finfo(dt).max.astype(np.float64))),
                "x": xs.tolist(), "naive": naive, "stable": stable}
    if c["kind"] == "tutorial":
        return run_tutorial_code(c["snippet"])
    # accuracy of the stable formula against mpmath, random rows at one scale
    dt = np.dtype(c["dtype"])
    rng = np.random.default_rng([c["seed"], int(c["scale"])])
    worst_stable, worst_actlab, worst_abs, finite_naive = 0.0, 0.0, 0.0, 0
    eps = float(np.finfo(dt).eps)
    from ...catalogue import get
    from ...verify.accuracy import ulp_errors

    soft = get("softmax")
    for _ in range(c["rows"]):
        row = rng.normal(0.0, c["scale"], size=c["length"]).astype(dt)
        exact = _mp_softmax(row)
        p = stable_softmax(row)
        worst_stable = max(worst_stable, float(ulp_errors(p, exact, dt).max()))
        with mp.workdps(50):
            worst_abs = max(worst_abs, max(float(abs(mpf(float(v)) - e)) for v, e in zip(p, exact)) / eps)
        worst_actlab = max(worst_actlab, float(ulp_errors(soft.f(row), exact, dt).max()))
        finite_naive += bool(np.all(np.isfinite(naive_softmax(row))))
    return {"stable_ulp": worst_stable, "actlab_ulp": worst_actlab, "stable_abs_eps": worst_abs,
            "naive_finite_frac": finite_naive / c["rows"]}


def run(cfg: Config, runner) -> Outcome:
    dtypes = ["float32", "float64"]
    thr = runner.map(cell, [{"kind": "threshold", "dtype": d} for d in dtypes], desc="softmax thresholds")
    snippets = list(TUTORIAL_CODE)
    tut = runner.map(cell, [{"kind": "tutorial", "snippet": s} for s in snippets], desc="tutorial code")
    acc_cells = [{"kind": "accuracy", "dtype": d, "scale": s, "seed": seed, "rows": cfg.rows_per_scale,
                  "length": cfg.row_length} for d in dtypes for s in cfg.scales for seed in seeds_of(cfg)]
    acc = runner.map(cell, acc_cells, desc="softmax vs mpmath")

    numbers: dict = {"threshold": {}, "predicted": {}, "stable_max_ulp": {}, "actlab_max_ulp": {}, "stable_abs_eps": {},
                     "naive_finite_frac": {}}
    for d, t in zip(dtypes, thr):
        numbers["threshold"][d] = t["threshold"]
        numbers["predicted"][d] = t["predicted"]
    for d in dtypes:
        rows = [(c, r) for c, r in zip(acc_cells, acc) if c["dtype"] == d]
        numbers["stable_max_ulp"][d] = max(r["stable_ulp"] for _, r in rows)
        numbers["actlab_max_ulp"][d] = max(r["actlab_ulp"] for _, r in rows)
        numbers["stable_abs_eps"][d] = max(r["stable_abs_eps"] for _, r in rows)
        numbers["naive_finite_frac"][d] = {
            str(s): ci([r["naive_finite_frac"] for c, r in rows if c["scale"] == s]) for s in cfg.scales}
    numbers["tutorial_code"] = dict(zip(snippets, tut))

    fig, ax = new_figure(2, 1, width=4.6)
    for d, t, ls in zip(dtypes, thr, ("-", "--")):
        x = np.array(t["x"])
        ax[0, 0].plot(x, np.nan_to_num(t["naive"], nan=-0.05), ls, label=f"naive {d} (NaN drawn at -0.05)")
        ax[0, 0].axvline(t["threshold"], color="gray", lw=1, ls=ls)
    ax[0, 0].plot(np.array(thr[1]["x"]), thr[1]["stable"], ":", color="k", label="max-subtracted (both)")
    ax[0, 0].set(xlabel="x in the row [x, 0]", ylabel="first softmax output", title="naive softmax turns NaN")
    ax[0, 0].legend(loc="center right")
    for d, mk in zip(dtypes, ("o", "s")):
        for key, ls, what in (("stable_abs_eps", "-", "absolute error / eps"), ("stable_ulp", ":", "relative (ulp)")):
            per_scale = [max(r[key] for c, r in zip(acc_cells, acc) if c["dtype"] == d and c["scale"] == s)
                         for s in cfg.scales]
            ax[0, 1].plot(cfg.scales, np.maximum(per_scale, 1e-2), mk + ls, label=f"{d}, {what}")
    ax[0, 1].set(xscale="log", yscale="log", xlabel="scale of the random row entries (std)",
                 ylabel="worst error vs mpmath", title="max-subtracted softmax vs mpmath")
    ax[0, 1].legend()
    fig_ = png(fig, "softmax_overflow", "Left: first output of softmax([x, 0]); vertical lines: measured overflow "
               "thresholds. Right: worst error of the max-subtracted softmax against mpmath, absolute (in units of "
               "machine epsilon) and relative (ulp); the relative error of tiny outputs grows with the scale, as the "
               "conditioning of exp(a - max) dictates (error of the rounded difference times |a - max|).")
    settings = (f"Overflow threshold found by bisection over the floats of each dtype; accuracy on "
                f"{cfg.rows_per_scale} random rows of length {cfg.row_length} per scale {list(cfg.scales)} and seed "
                f"(seeds 0..{cfg.seeds - 1}), against mpmath at 50 digits; tutorial snippets run with "
                f"`{sys.executable.rsplit('/', 1)[-1]} -c` under NumPy {np.__version__}.")
    return Outcome(numbers=numbers, raw={"accuracy_cells": [dict(c, **r) for c, r in zip(acc_cells, acc)]},
                   figures=[fig_], settings=settings)


def verdict(numbers) -> Verdict:
    thr, pred = numbers["threshold"], numbers["predicted"]
    overflow_where_predicted = all(abs(thr[d] - pred[d]) < 0.01 for d in pred)
    stable_ok = all(v <= 4.0 for v in numbers["stable_abs_eps"].values())
    tut = numbers["tutorial_code"]
    bugs = [k for k, v in tut.items() if not v["correct"]]
    bug_text = "; ".join(f"{k}: `{tut[k]['call']}` gives {tut[k]['last_line']!r} (correct: {tut[k]['expected']})"
                         for k in bugs)
    key = (f"naive NaN from x = {thr['float32']:.4f} (float32), {thr['float64']:.4f} (float64); stable: worst "
           f"absolute error {max(numbers['stable_abs_eps'].values()):.2g} eps")
    if not (overflow_where_predicted and stable_ok):
        return Verdict(REFUTED, f"Overflow thresholds {thr} vs predicted {pred}; stable worst ulp "
                       f"{numbers['stable_max_ulp']}, worst absolute error in eps {numbers['stable_abs_eps']}.", key)
    why = (f"The naive formula first fails at x = {thr['float32']:.5g} (float32) and {thr['float64']:.6g} "
           f"(float64), within 0.01 of log(max float) = {pred['float32']:.5g} / {pred['float64']:.6g}; the "
           f"max-subtracted formula stays finite and within {max(numbers['stable_abs_eps'].values()):.2g} machine "
           f"epsilons of mpmath in absolute terms (relative error of the tiniest outputs up to "
           f"{max(numbers['stable_max_ulp'].values()):.3g} ulp, the conditioning of exp at large |a - max|). "
           "The shift is exact because exp(a - m) = exp(a) exp(-m) cancels between numerator and "
           "denominator (not, as the tutorial says, because exp is monotonic).")
    if bugs:
        return Verdict(CAVEATS, why + f" But the tutorial's code does not run as printed ({len(bugs)} problems): "
                       + bug_text + ".", key + f"; {len(bugs)} bugs in the tutorial's code")
    return Verdict(CONFIRMED, why, key)


EXPERIMENT = register(
    name="softmax_overflow",
    number=11,
    tutorial="003",
    claim="The softmax formula overflows for large inputs; subtracting the maximum input fixes it.",
    korean="지수 함수의 특성상 과도하게 큰 수치의 값을 출력할 수 있게 되어 컴퓨터가 이를 올바르게 "
    "표현하지 못할 수 있다. "
    "... 핵심 방법은 입력 신호 중 최대값을 빼는 것이다.",
    config=Config,
    run=run,
    verdict=verdict,
)
