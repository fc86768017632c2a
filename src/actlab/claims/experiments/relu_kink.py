"""ReLU's kink at 0 does not matter in practice: exact zeros almost never reach it (000)

ReLU is not differentiable at 0; tutorial 000 says this is ignored because an input of
exactly 0 is improbable. Backpropagation still needs a number there, and frameworks pick
relu'(0) = 0. If no pre-activation is ever exactly 0.0, the choice is never read and
training with relu'(0) = 0, 0.5 or 1 must give *bit-identical* weights; if some are, the
runs may part ways after the first such step.

The rule: REFUTED when relu'(0) changes the test accuracy of the plain runs by more than
``acc_tol``; CAVEATS when it does so in a variant (float16, BatchNorm, blank rows) or when
exact zeros are not rare (more than ``rare`` = 1e-6 of the plain runs' pre-activations);
CONFIRMED otherwise. "Almost never" is read as a rate: the first version asked for
bit-identical runs, which a long enough run breaks with a single exact zero (the full size
met one in 3e8 values, with no change in accuracy), so its verdict followed the run's
length, not the claim.

Each cell trains the same MLP (same seed, same initial weights, same batches) three times
with ``nn.Activation(derivative_at_zero=0 | 0.5 | 1)``, float32, plain SGD on an MNIST
training subset, while :class:`actlab.nn.Recorder` counts the pre-activations that are
exactly 0.0 (``frac_zero`` of every layer at every step). It reports the count, the first
step at which the three runs differ, the largest weight difference at the end and the
differences in final training loss and test accuracy.

Published work finds that the choice does matter in 16-bit precision and with batch
normalisation (Bertoin, Bolte, Gerchinovitz & Pauwels, "Numerical influence of ReLU'(0) on
backpropagation", NeurIPS 2021), so two more variants are measured: ``float16``, where
every pre-activation is rounded to float16 before the ReLU (as mixed-precision training
stores activations; the engine itself computes in float32), and ``batchnorm``, a
BatchNorm layer before every ReLU.

The exception, measured as a second variant: exact zeros are common at the *input*
(about 81 % of MNIST pixels are 0, which only zeroes terms of the first layer's sums),
but they reach a pre-activation only when a whole input row is 0 and the bias is exactly
0 — e.g. blank images with the default bias initialisation 0: then z = 0 W + 0 = 0
exactly in the first layer, so h = 0 and the next layer's z is exactly 0 too. The variant
replaces a fraction ``blank_frac`` of the training images with all-zero rows.

Figure 1: exact-zero pre-activations per training step (log scale) for every variant.
Figure 2: final-weight and accuracy differences between relu'(0) = 0.5 or 1 and 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import ci, new_figure, png, seeds_of
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, register, setting

DZ = (0.0, 0.5, 1.0)
VARIANTS = ("mnist", "blank_rows", "float16", "batchnorm")


@dataclass
class Config:
    seeds: int = 3
    width: int = 128
    depth: int = 3
    train_examples: int = 10000
    test_examples: int = 2000
    steps: int = 250
    batch: int = 64
    lr: float = 0.1
    blank_frac: float = setting(0.05, low=0, high=1, high_open=True)
    acc_tol: float = setting(0.005, low=0)  # |difference in test accuracy| counted as indistinguishable
    # "almost never": at most this fraction of the plain runs' pre-activations exactly 0.0
    rare: float = setting(1e-6, low=0, high=1)
    #: the settings next door, where the verdict must hold too (framework.robustness)
    NEIGHBOURS: ClassVar[dict] = {"lr": (0.05, 0.2), "width": (64, 256)}
    QUICK: ClassVar[dict] = {"seeds": 1, "width": 64, "depth": 2, "train_examples": 2000, "test_examples": 500,
                             "steps": 80}
    FULL: ClassVar[dict] = {"seeds": 5, "steps": 2500, "train_examples": 30000, "test_examples": 10000}
    # variants: plain MNIST, blank input rows, float16 pre-activations, BatchNorm (module docstring)


def _data(c: dict):
    from ... import data

    X, y = data.load_mnist(split="train")
    rng = np.random.default_rng([c["seed"], 10])
    idx = rng.choice(len(X), c["train_examples"], replace=False)
    X, y = np.array(X[idx]), y[idx]
    if c["variant"] == "blank_rows":
        blank = rng.choice(len(X), int(round(c["blank_frac"] * len(X))), replace=False)
        X[blank] = 0.0
    Xt, yt = data.load_mnist(split="test")
    return X, y, np.asarray(Xt[:c["test_examples"]]), yt[:c["test_examples"]]


def _half_activation(nn):
    """An nn.Activation that rounds its input to float16 first (float16 storage of the
    pre-activations), counting the exact zeros it then sees in training steps."""

    class HalfActivation(nn.Activation):
        def __init__(self, spec: str, *, derivative_at_zero: float | None = None) -> None:
            super().__init__(spec, derivative_at_zero=derivative_at_zero)
            self.zeros: list[int] = []

        def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
            x = x.astype(np.float16).astype(x.dtype)  # the one rounding a float16 store makes
            if train:
                self.zeros.append(int(np.count_nonzero(x == 0)))
            return super().forward(x, train)

    return HalfActivation


def _train(c: dict, dz: float, X, y, Xt, yt) -> dict:
    from ... import nn

    model = nn.mlp([784, *[c["width"]] * c["depth"], 10], activation="relu", seed=c["seed"],
                   batchnorm=c["variant"] == "batchnorm")
    if c["variant"] == "float16":
        half = _half_activation(nn)
        model.layers[:] = [half("relu") if isinstance(layer, nn.Activation) else layer for layer in model.layers]
    for layer in model.layers:
        if isinstance(layer, nn.Activation):
            layer.derivative_at_zero = dz
    rec = nn.Recorder(model, what=("pre",))
    hist = nn.fit(model, X, y, lr=c["lr"], batch_size=c["batch"], epochs=10**6, max_steps=c["steps"],
                  seed=c["seed"], recorder=rec, progress=False)
    if c["variant"] == "float16":  # the zeros after the rounding, counted by the layers themselves
        acts = [layer for layer in model.layers if isinstance(layer, nn.Activation)]
        zeros = np.array([a.zeros for a in acts], dtype=np.int64).T
        rows = np.full(len(zeros), c["batch"])
    else:
        frac = rec.series("pre", "frac_zero")  # (steps, layers)
        spe, last = -(-len(X) // c["batch"]), len(X) % c["batch"]  # fit's batches: the last of an epoch may be short
        rows = np.array([last if last and s % spe == spe - 1 else c["batch"] for s in range(len(frac))])
        zeros = np.rint(frac * (rows * c["width"])[:, None]).astype(np.int64)
    ev = nn.evaluate(model, Xt, yt)
    return {"weights": model.flat_value.copy(), "step_loss": hist.step_loss, "zeros": zeros,
            "entries": int(rows.sum() * c["width"] * c["depth"]),
            "test_acc": ev["acc"], "final_loss": float(np.mean(hist.step_loss[-20:])), "stopped": hist.stopped}


def cell(c: dict) -> dict:
    """Three trainings that differ only in relu'(0); compare them bit for bit."""
    X, y, Xt, yt = _data(c)
    runs = {dz: _train(c, dz, X, y, Xt, yt) for dz in DZ}
    base = runs[0.0]
    out = {"input_zero_frac": float(np.mean(X == 0)), "zeros_per_step": base["zeros"].sum(axis=1).tolist(),
           "zeros_per_layer": base["zeros"].sum(axis=0).tolist(),
           "pre_entries": base["entries"],
           "first_step_zero": int(np.argmax(base["zeros"].sum(axis=1) > 0)) if base["zeros"].any() else -1,
           "test_acc": {f"{dz:g}": r["test_acc"] for dz, r in runs.items()},
           "final_loss": {f"{dz:g}": r["final_loss"] for dz, r in runs.items()}, "compare": {}}
    for dz in DZ[1:]:
        r = runs[dz]
        diff = np.abs(r["weights"].astype(np.float64) - base["weights"])
        neq = np.flatnonzero(r["step_loss"] != base["step_loss"]) if len(r["step_loss"]) == len(base["step_loss"]) \
            else np.array([0])
        out["compare"][f"{dz:g}"] = {
            "bitwise_equal": bool(np.array_equal(r["weights"], base["weights"])),
            "max_abs_weight_diff": float(diff.max()),
            "first_loss_diff_step": int(neq[0]) if neq.size else -1,
            "acc_diff": float(r["test_acc"] - base["test_acc"]),
            "loss_diff": float(r["final_loss"] - base["final_loss"]),
            "zeros_total": int(r["zeros"].sum()),
        }
    return out


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    common = {k: getattr(cfg, k) for k in ("width", "depth", "train_examples", "test_examples", "steps", "batch",
                                           "lr", "blank_frac")}
    cells = [dict(common, variant=v, seed=s) for v in VARIANTS for s in seeds]
    res = runner.map(cell, cells, desc="relu'(0)")
    numbers: dict = {"steps": cfg.steps, "acc_tol": cfg.acc_tol, "rare": cfg.rare, "blank_frac": cfg.blank_frac}
    for v in VARIANTS:
        rows = [r for c, r in zip(cells, res) if c["variant"] == v]
        zeros = [int(sum(r["zeros_per_step"])) for r in rows]
        numbers[v] = {
            "input_zero_frac": ci([r["input_zero_frac"] for r in rows]),
            "zero_pre_total": zeros, "pre_entries": rows[0]["pre_entries"],
            "zero_pre_per_layer": np.sum([r["zeros_per_layer"] for r in rows], axis=0).tolist(),
            "steps_with_zeros": [int(np.count_nonzero(r["zeros_per_step"])) for r in rows],
            "zero_pre_step0": [int(r["zeros_per_step"][0]) for r in rows],
            "test_acc_dz0": ci([r["test_acc"]["0"] for r in rows]),
            "compare": {dz: {"bitwise_equal": all(r["compare"][dz]["bitwise_equal"] for r in rows),
                             "max_abs_weight_diff": max(r["compare"][dz]["max_abs_weight_diff"] for r in rows),
                             "max_abs_acc_diff": max(abs(r["compare"][dz]["acc_diff"]) for r in rows),
                             "max_abs_loss_diff": max(abs(r["compare"][dz]["loss_diff"]) for r in rows),
                             "acc_diff": ci([r["compare"][dz]["acc_diff"] for r in rows]),
                             "first_diff_step": min((r["compare"][dz]["first_loss_diff_step"] for r in rows
                                                     if r["compare"][dz]["first_loss_diff_step"] >= 0), default=-1)}
                        for dz in ("0.5", "1")},
        }
    figs = [_fig_zeros(cells, res, cfg), _fig_diff(numbers)]
    settings = (f"MLP 784-{'-'.join([str(cfg.width)] * cfg.depth)}-10 ReLU, He init, biases 0, float32, plain SGD "
                f"lr {cfg.lr}, batch {cfg.batch}, {cfg.steps} steps on {cfg.train_examples} MNIST training images "
                f"(random subset per seed); relu'(0) in {list(DZ)} via nn.Activation(derivative_at_zero=); exact "
                f"zeros counted by nn.Recorder (frac_zero of the pre-activations, every step); variant 'blank_rows' "
                f"sets {cfg.blank_frac:.0%} of the training rows to 0; accuracy on {cfg.test_examples} test images; "
                f"seeds 0..{cfg.seeds - 1}.")
    raw = {"cells": [dict(c, **r) for c, r in zip(cells, res)]}
    return Outcome(numbers=numbers, raw=raw, figures=figs, settings=settings)


def _fig_zeros(cells, res, cfg: Config):
    fig, ax = new_figure(1, 1, width=5.4, height=3.6)
    a_ = ax[0, 0]
    for i, v in enumerate(VARIANTS):
        for j, r in enumerate(r for c, r in zip(cells, res) if c["variant"] == v):
            z = np.array(r["zeros_per_step"], float)
            steps = np.arange(len(z))
            a_.plot(steps, np.where(z > 0, z, np.nan), "o", ms=4, color=f"C{i}",
                    label=f"{v} ({int(z.sum())} in all)" if j == 0 else None)
    a_.set_xscale("symlog", linthresh=1)  # steps 0, 1, 2 apart, the whole run visible
    a_.set(yscale="log", xlabel="SGD step (symlog)", ylabel="exact-zero pre-activations in the batch",
           xlim=(-0.5, cfg.steps), title="pre-activations exactly 0.0 (relu'(0) = 0 run)")
    a_.legend(fontsize=8)
    return png(fig, "exact_zeros", f"Number of hidden pre-activations equal to 0.0 at each step (float32, batch "
               f"{cfg.batch} x {cfg.width} units x {cfg.depth} layers; steps without any are not drawn). Plain MNIST "
               "images give none; blank rows with zero biases give them at step 0, and later only where a bias has not "
               "moved yet (a unit that received no gradient).")


def _fig_diff(n: dict):
    fig, ax = new_figure(2, 1, width=3.8, height=3.4)
    x = np.arange(len(VARIANTS))
    for i, dz in enumerate(("0.5", "1")):
        w = [max(n[v]["compare"][dz]["max_abs_weight_diff"], 1e-12) for v in VARIANTS]
        a = [max(n[v]["compare"][dz]["max_abs_acc_diff"], 1e-6) for v in VARIANTS]
        ax[0, 0].bar(x + (i - 0.5) * 0.35, w, 0.35, label=f"relu'(0) = {dz}")
        ax[0, 1].bar(x + (i - 0.5) * 0.35, a, 0.35, label=f"relu'(0) = {dz}")
        for j, v in enumerate(VARIANTS):
            if n[v]["compare"][dz]["bitwise_equal"]:
                ax[0, 0].text(j + (i - 0.5) * 0.35, 3e-12, "bit-identical", rotation=90, ha="center", va="bottom",
                              fontsize=8)
            if n[v]["compare"][dz]["max_abs_acc_diff"] == 0:
                ax[0, 1].text(j + (i - 0.5) * 0.35, 2e-6, "identical", rotation=90, ha="center", va="bottom",
                              fontsize=8)
    ax[0, 0].set(yscale="log", xticks=x, xticklabels=list(VARIANTS), ylabel="max |W - W(relu'(0)=0)|",
                 title="final weights", ylim=(1e-12, 10))
    ax[0, 1].axhline(n["acc_tol"], color="k", ls=":", label="tolerance")
    ax[0, 1].set(yscale="log", xticks=x, xticklabels=list(VARIANTS), ylabel="max |test accuracy difference|",
                 title="test accuracy", ylim=(1e-6, 1))
    ax[0, 0].legend(fontsize=8)
    ax[0, 1].legend(fontsize=8)
    return png(fig, "differences", "Largest differences against relu'(0) = 0 over seeds (bars at the floor, "
               "1e-12 or 1e-6, mean exactly 0: bit-identical weights, identical accuracy).")


def verdict(numbers) -> Verdict:
    m, b = numbers["mnist"], numbers["blank_rows"]
    tol = numbers["acc_tol"]
    zeros_m = sum(m["zero_pre_total"])
    bit_m = all(m["compare"][dz]["bitwise_equal"] for dz in ("0.5", "1"))
    acc_m = max(m["compare"][dz]["max_abs_acc_diff"] for dz in ("0.5", "1"))
    acc_b = max(b["compare"][dz]["max_abs_acc_diff"] for dz in ("0.5", "1"))
    w_b = max(b["compare"][dz]["max_abs_weight_diff"] for dz in ("0.5", "1"))
    zeros_b, step0_b = sum(b["zero_pre_total"]), sum(b["zero_pre_step0"])
    key = (f"exact-zero pre-activations: {zeros_m} of {m['pre_entries'] * len(m['zero_pre_total'])} on MNIST "
           f"({'bit-identical' if bit_m else f'acc diff {acc_m:.4f}'}); blank rows: {zeros_b} ({step0_b} at step 0), "
           f"acc diff {acc_b:.4f}, max weight diff {w_b:.2g}")
    text = (f"Input zeros are common ({m['input_zero_frac']['mean']:.0%} of the MNIST pixels) but they only remove "
            f"terms from the first layer's sums. Over {numbers['steps']} float32 SGD steps the hidden pre-activations "
            f"were exactly 0.0 {zeros_m} times in "
            f"{m['pre_entries'] * len(m['zero_pre_total'])} values; the runs with relu'(0) = 0, 0.5 and 1 "
            + ("ended with bit-identical weights: the value at the kink was never read." if bit_m else
               f"differ by at most {acc_m:.4f} in test accuracy (max weight difference "
               f"{max(m['compare'][dz]['max_abs_weight_diff'] for dz in ('0.5', '1')):.2g}).")
            + f" Exception: with {numbers['blank_frac']:.0%} all-zero input rows and biases initialised to 0, "
            f"{zeros_b} pre-activations were exactly 0 ({step0_b} at the first step, before the biases moved), so "
            f"relu'(0) changes the first bias update and the weights part ways (max difference {w_b:.2g}); test "
            f"accuracy still differs by at most {acc_b:.4f}.")
    extra = {}
    for v, what in (("float16", "pre-activations rounded to float16"), ("batchnorm", "BatchNorm before each ReLU")):
        if v not in numbers:  # results computed before these variants existed
            continue
        e = numbers[v]
        zeros = sum(e["zero_pre_total"])
        bit = all(e["compare"][dz]["bitwise_equal"] for dz in ("0.5", "1"))
        acc = max(e["compare"][dz]["max_abs_acc_diff"] for dz in ("0.5", "1"))
        extra[v] = acc
        text += (f" With {what}: {zeros} exact zeros in {e['pre_entries'] * len(e['zero_pre_total'])} values, "
                 + ("bit-identical runs." if bit else f"test accuracy differs by at most {acc:.4f}."))
    key += "; " + ", ".join(f"{v} acc diff {a:.4f}" for v, a in extra.items()) if extra else ""
    if acc_m > tol:
        return Verdict(REFUTED, f"relu'(0) changed the test accuracy by {acc_m:.4f} (> {tol}). " + text, key)
    sensitive = [v for v, a in extra.items() if a > tol]
    if sensitive:
        return Verdict(CAVEATS, f"It depends on {' and '.join(sensitive)}: there relu'(0) changed the test accuracy "
                       f"by more than {tol}. " + text, key)
    if acc_b > tol:
        return Verdict(CAVEATS, f"It depends on the data: with blank input rows and zero biases relu'(0) changed the "
                       f"test accuracy by more than {tol}. " + text, key)
    # "almost never" is a rate, not "never": a long enough run meets an exact zero (1 in 3e8 values at full size),
    # so a rule asking for bit-identical runs would turn with the run's length, not with the claim
    rare = numbers.get("rare", 0.0)
    total = m["pre_entries"] * len(m["zero_pre_total"])
    if zeros_m > rare * total:
        return Verdict(CAVEATS, f"Exact zeros are not rare here: {zeros_m / total:.2g} of the pre-activations, "
                       f"above {rare:g}. " + text, key)
    return Verdict(CONFIRMED, text, key)


EXPERIMENT = register(
    name="relu_kink",
    number=10,
    tutorial="000",
    claim="ReLU is not differentiable at 0, but this is ignored in practice because an input of exactly 0 is "
    "improbable.",
    korean="ReLU는 0에서 미분이 불가능하다. (이에 대해 활성화 함수로는 미분 불가능 하다할지라도, 출력값 문제는 아니고, "
    "0에 걸릴 확률이 적으니, 이를 무시하고 사용한다.)",
    config=Config,
    run=run,
    verdict=verdict,
)
