"""ReLU is cheaper to compute than sigmoid and tanh, but the activation is a small part of training (tutorials 000, 004)

Tutorial 000 says ReLU's formula is so simple that it is much faster than the other
activations; tutorial 004 lists "computational efficiency: a threshold only" among its
advantages. Two measurements answer "how much cheaper, and does it matter?":

* per element: the forward f(x) and the derivative f'(x) of each activation on n float32
  values (standard normal times 3), actlab's kernels into preallocated buffers and the
  tutorials' naive NumPy formulas (allocating, as they are written), timed with
  :mod:`actlab.bench`'s timer (median of repeats after a warm-up), against a plain copy of
  the array (the memory-bandwidth floor). The left figure shows these times (log scale).
  A backward pass need not evaluate f'(x) again: sigmoid' = y (1 - y), tanh' = 1 - y^2 and
  relu' = [y > 0] come from the output y the forward pass cached (PyTorch's autograd does
  this), so f' is also timed from y, and "f + f'" (what a training step pays per element)
  takes each activation's cheaper f'.
* in training: real SGD steps (batch 128, MNIST images) of a 784-64-10 and a
  784-256-256-10 MLP, with every layer's forward and backward timed inside the step; ReLU,
  sigmoid and tanh layers take f' from their cached output. The
  right figure splits the median step into matrix products (Dense layers), activation
  forward + backward, loss and optimiser. As a check that does not rely on the layer
  timers, each network is also run with the identity as its activation (the identity
  layer still copies its input): the step-time difference is the activation's cost.

Timings depend on the machine and on its load: every cell runs alone in one worker
process (one BLAS thread), each seed is one independent round of all cells, and the
verdict reads only ratios, each with a 95 % t interval over the rounds: the saving from
switching to ReLU is as noisy as it is small, so it is judged by its interval.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ...errors import check_choice
from ..figures import COLORS, ci, new_figure, png, seeds_of
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, activation_spec, register, setting

#: A ratio t(activation) / t(ReLU) at least this large counts as "ReLU is cheaper".
CHEAPER = 1.5
#: Switching to ReLU must save at least this fraction of a training step to matter.
MATTERS = 0.25
CLASSIC = ("sigmoid", "tanh")
PARTS = ("dense", "activation", "loss", "optimizer", "other")
LABELS = {"dense": "Dense (matmuls)", "activation": "activation", "loss": "loss", "optimizer": "SGD update",
          "other": "batch gather, calls"}


#: f' from the cached output y, for the activations whose derivative is a function of y
#: (into ``out``; ``tmp`` a scratch buffer): the backward pass a framework would run
FROM_OUTPUT = {
    "relu": lambda y, out, tmp: np.sign(y, out=out),  # y >= 0, so sign(y) = [y > 0]
    "sigmoid": lambda y, out, tmp: np.multiply(y, np.subtract(1.0, y, out=tmp), out=out),
    "tanh": lambda y, out, tmp: np.subtract(1.0, np.multiply(y, y, out=tmp), out=out),
}


@dataclass
class Config:
    seeds: int = 5
    activations: tuple[str, ...] = setting(("relu", "tanh", "sigmoid", "leaky_relu", "gelu"), check=activation_spec)
    n: int = 10**7
    repeat: int = 5
    archs: tuple[str, ...] = ("784-64-10", "784-256-256-10")
    batch_size: int = 128
    steps: int = 150
    warmup: int = setting(10, low=0)
    clock: str = "cpu"
    #: the settings next door, where the verdict must hold too (framework.robustness)
    NEIGHBOURS: ClassVar[dict] = {"batch_size": (64, 256)}
    QUICK: ClassVar[dict] = {"seeds": 2, "activations": ("relu", "tanh", "sigmoid"), "n": 10**6, "repeat": 3,
                             "steps": 30, "warmup": 5}

    def __post_init__(self) -> None:
        check_choice(self.clock, "clock", "relu_compute_cost", ("cpu", "wall"))
    FULL: ClassVar[dict] = {"seeds": 7, "repeat": 9, "steps": 500}


def _clock(name: str):
    """``"cpu"``: this process's CPU time (a cell is single-threaded in its worker, and CPU
    time ignores the moments the process waits for a core on a loaded machine); ``"wall"``."""
    return time.process_time if name == "cpu" else time.perf_counter


def _kernel(c: dict) -> dict:
    """ns per element of f and f' (actlab kernels and the naive formulas) and of a copy."""
    from ...bench import kernels as bench
    from ...catalogue import get
    from ...verify import naive

    act = get(c["activation"])
    x = bench.inputs_for(act, c["n"], np.dtype(np.float32), np.random.default_rng([c["seed"], 5]))
    out = np.empty_like(x)
    per = 1e9 / x.size
    clock, rep = _clock(c["clock"]), c["repeat"]
    res = {"copy": bench.median_time(lambda: np.copyto(out, x), rep, clock) * per,
           "actlab_f": bench.median_time(lambda: act.f(x, out=out), rep, clock) * per,
           "actlab_df": bench.median_time(lambda: act.df(x, out=out), rep, clock) * per, "actlab_df_y": None}
    from_y = FROM_OUTPUT.get(act.spec)
    if from_y is not None:
        y, tmp = act.f(x), np.empty_like(x)
        res["actlab_df_y"] = bench.median_time(lambda: from_y(y, out, tmp), rep, clock) * per
    nv = naive.NAIVE.get(act.name)
    with np.errstate(all="ignore"):  # the naive formulas overflow as written
        res["naive_f"] = bench.median_time(lambda: nv.f(x, **act.params), rep, clock) * per if nv else None
        res["naive_df"] = bench.median_time(lambda: nv.df(x, **act.params), rep, clock) * per if nv and nv.df else None
    return res


def _cached_activation(nn):
    """An nn.Activation whose backward takes f' from the output it cached (FROM_OUTPUT)."""

    class CachedActivation(nn.Activation):
        def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
            self._y = super().forward(x, train)
            return self._y

        def backward(self, grad_y: np.ndarray) -> np.ndarray:
            y = self._y
            g = np.empty_like(y)
            FROM_OUTPUT[self.spec](y, g, np.empty_like(y))
            return np.multiply(g, grad_y, out=g)

    return CachedActivation


def _timer(method, bucket: list, clock):
    def wrapper(*args, **kw):
        t0 = clock()
        y = method(*args, **kw)
        bucket[0] += clock() - t0
        return y

    return wrapper


def _steps(c: dict) -> dict:
    """Median seconds per SGD step and per part of it, every layer timed inside the step."""
    from ... import data, nn

    X, y = data.load_mnist(split="train")
    rng = np.random.default_rng([c["seed"], 6])
    model = nn.mlp(c["arch"], activation=c["activation"], seed=c["seed"])
    if c["activation"] in FROM_OUTPUT:  # the backward pass from the cached output
        cached = _cached_activation(nn)
        model.layers[:] = [cached(c["activation"]) if isinstance(layer, nn.Activation) else layer
                           for layer in model.layers]
    loss = nn.SoftmaxCrossEntropy()
    opt = nn.SGD(model.parameters(), lr=0.01)
    acc = {p: [0.0] for p in PARTS}
    clock = _clock(c["clock"])
    for layer in model.layers:
        bucket = acc["dense" if isinstance(layer, nn.Dense) else "activation"]
        layer.forward = _timer(layer.forward, bucket, clock)
        layer.backward = _timer(layer.backward, bucket, clock)
    loss.forward = _timer(loss.forward, acc["loss"], clock)
    loss.backward = _timer(loss.backward, acc["loss"], clock)
    opt.step = _timer(opt.step, acc["optimizer"], clock)
    b = c["batch_size"]
    xb = np.empty((b, X.shape[1]), X.dtype)
    yb = np.empty(b, y.dtype)
    rows = {p: [] for p in ("step", *PARTS)}
    for i in range(c["warmup"] + c["steps"]):
        for v in acc.values():
            v[0] = 0.0
        idx = rng.integers(0, len(X), b)
        t0 = clock()
        np.take(X, idx, axis=0, out=xb)
        np.take(y, idx, axis=0, out=yb)
        z = model.forward(xb, True, copy=False)
        loss.forward(z, yb)
        model.backward(loss.backward())
        opt.step()
        total = clock() - t0
        if i >= c["warmup"]:
            rows["step"].append(total)
            for p in PARTS[:-1]:
                rows[p].append(acc[p][0])
            rows["other"].append(total - sum(acc[p][0] for p in PARTS[:-1]))
    step = np.array(rows["step"])
    return {"step_s": float(np.median(step)), **{f"{p}_s": float(np.median(rows[p])) for p in PARTS},
            "share": float(np.median(np.array(rows["activation"]) / step))}


def cell(c: dict) -> dict:
    return _kernel(c) if c["kind"] == "kernel" else _steps(c)


def _geo(ratios: list[float]) -> dict:
    """Median of per-round ratios, with the geometric mean and a 95 % t-interval on logs."""
    r = ci([math.log(v) for v in ratios])
    return {"median": float(statistics.median(ratios)), "mean": math.exp(r["mean"]), "lo": math.exp(r["lo"]),
            "hi": math.exp(r["hi"]), "n": r["n"]}


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    acts = list(dict.fromkeys(("relu", *cfg.activations)))
    kc = [{"kind": "kernel", "activation": a, "n": cfg.n, "repeat": cfg.repeat, "seed": s, "clock": cfg.clock}
          for s in seeds for a in acts]
    sc = [{"kind": "steps", "arch": arch, "activation": a, "batch_size": cfg.batch_size, "steps": cfg.steps,
           "warmup": cfg.warmup, "seed": s, "clock": cfg.clock} for s in seeds for arch in cfg.archs
          for a in (*acts, "identity")]
    # Timing cells run one at a time in one worker: parallel cells would perturb each other.
    kr = runner.map(cell, kc, desc="activation kernels", serial=True)
    sr = runner.map(cell, sc, desc="training steps", serial=True)
    K = {(c["activation"], c["seed"]): r for c, r in zip(kc, kr)}
    S = {(c["arch"], c["activation"], c["seed"]): r for c, r in zip(sc, sr)}
    per_element: dict = {}
    ratio: dict = {}
    for impl in ("actlab", "naive"):
        per_element[impl], ratio[impl] = {}, {}
        for w in ("f", "df"):
            key = f"{impl}_{w}"
            have = [a for a in acts if all(K[a, s][key] is not None for s in seeds)]
            per_element[impl][w] = {a: ci([K[a, s][key] for s in seeds]) for a in have}
            if "relu" in have:
                ratio[impl][w] = {a: _geo([K[a, s][key] / K["relu", s][key] for s in seeds])
                                  for a in have if a != "relu"}
        # forward + backward together: what one training step pays per element, each f' at its cheaper
        both = [a for a in acts if all(K[a, s][f"{impl}_{w}"] is not None for s in seeds for w in ("f", "df"))]
        if "relu" in both:
            def back(a: str, s: int, impl: str = impl) -> float:
                from_y = K[a, s].get(f"{impl}_df_y")
                return min(K[a, s][f"{impl}_df"], from_y) if from_y is not None else K[a, s][f"{impl}_df"]

            fb = {(a, s): K[a, s][f"{impl}_f"] + back(a, s) for a in both for s in seeds}
            ratio[impl]["fb"] = {a: _geo([fb[a, s] / fb["relu", s] for s in seeds]) for a in both if a != "relu"}
    per_element["actlab"]["df_y"] = {a: ci([K[a, s]["actlab_df_y"] for s in seeds]) for a in acts
                                     if K[a, seeds[0]]["actlab_df_y"] is not None}
    share, step_ms, parts_ms, saving, swap = {}, {}, {}, {}, {}
    for arch in cfg.archs:
        share[arch] = {a: ci([S[arch, a, s]["share"] for s in seeds]) for a in (*acts, "identity")}
        step_ms[arch] = {a: ci([1e3 * S[arch, a, s]["step_s"] for s in seeds]) for a in (*acts, "identity")}
        parts_ms[arch] = {a: {p: float(np.median([1e3 * S[arch, a, s][f"{p}_s"] for s in seeds])) for p in PARTS}
                          for a in (*acts, "identity")}
        # fraction of an activation's step saved by switching it to ReLU: per round, then a t interval
        saving[arch] = {a: ci([1 - S[arch, "relu", s]["step_s"] / S[arch, a, s]["step_s"] for s in seeds])
                        for a in acts if a != "relu"}
        swap[arch] = {a: float(np.median([1 - S[arch, "identity", s]["step_s"] / S[arch, a, s]["step_s"]
                                          for s in seeds])) for a in acts}
    numbers = {
        "n": cfg.n, "copy_ns": float(np.median([K["relu", s]["copy"] for s in seeds])),
        "per_element_ns": per_element, "ratio_to_relu": ratio,
        "activation_share": share, "step_ms": step_ms, "parts_ms": parts_ms,
        "step_saving_with_relu": saving, "identity_swap_share": swap,
    }
    figs = [_figure(cfg, acts, numbers)]
    settings = (f"Times are {'CPU time of the process' if cfg.clock == 'cpu' else 'wall time'}. Per element: "
                f"n = {cfg.n:,} float32 values (3 x standard normal), median of {cfg.repeat} calls after a "
                "warm-up, actlab f(x, out=) / df(x, out=) and the naive NumPy formulas. "
                f"Training: {', '.join(cfg.archs)} "
                f"MLPs, SGD steps on random MNIST batches of {cfg.batch_size}, float32, He init, "
                f"{cfg.warmup} warm-up + "
                f"{cfg.steps} timed steps, every layer timed, median step. Every cell alone in one worker process "
                f"(one BLAS thread); rounds (seeds) 0..{cfg.seeds - 1}.")
    raw = {"kernels": [dict(c, **r) for c, r in zip(kc, kr)], "steps": [dict(c, **r) for c, r in zip(sc, sr)]}
    return Outcome(numbers=numbers, raw=raw, figures=figs, settings=settings)


def _figure(cfg: Config, acts: list[str], numbers: dict):
    fig, ax = new_figure(1 + len(cfg.archs), 1, width=4.6, height=4.0)
    a0 = ax[0, 0]
    x = np.arange(len(acts))
    for k, (impl, w, mk) in enumerate((("actlab", "f", "o"), ("actlab", "df", "s"), ("naive", "f", "^"),
                                       ("naive", "df", "v"))):
        d = numbers["per_element_ns"][impl][w]
        xs = [i for i, a in enumerate(acts) if a in d]
        a0.plot(x[xs] + (k - 1.5) * 0.12, [d[acts[i]]["mean"] for i in xs], mk, color=f"C{k}",
                label=impl + (" f" if w == "f" else " f'"), ls="none")
    a0.axhline(numbers["copy_ns"], color="0.3", ls="--", lw=1, label="copy (bandwidth floor)")
    a0.set_xticks(x, acts, rotation=45, ha="right")
    a0.set(yscale="log", ylabel="ns per element", title=f"per element, n = {numbers['n']:.0e} float32")
    a0.legend(fontsize=7)
    colors = {"dense": "C0", "activation": "C3", "loss": "C2", "optimizer": "C1", "other": "0.6"}
    rows = [*acts, "identity"]
    for j, arch in enumerate(cfg.archs):
        a1 = ax[0, 1 + j]
        left = np.zeros(len(rows))
        for p in PARTS:
            v = np.array([numbers["parts_ms"][arch][a][p] for a in rows])
            a1.barh(np.arange(len(rows)), v, left=left, color=colors[p],
                    label=LABELS[p] if j == len(cfg.archs) - 1 else None)
            left += v
        for i, a in enumerate(rows):
            a1.annotate(f"{numbers['activation_share'][arch][a]['mean']:.0%}", (left[i], i), xytext=(3, -3),
                        textcoords="offset points", fontsize=8, color=COLORS.get("sigmoid"))
        a1.set_yticks(np.arange(len(rows)), rows)
        a1.invert_yaxis()
        a1.set(xlabel="ms per training step (median)", title=f"{arch}, batch {cfg.batch_size}")
        a1.set_xlim(0, left.max() * 1.25)
        if j == len(cfg.archs) - 1:
            a1.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return png(fig, "cost", "Left: time per element of f and f' (log scale; dashed: a plain copy). Right: one "
               "training step split into its parts; the red percentage is the activation's share (forward + "
               "backward) of the step.")


def verdict(numbers) -> Verdict:
    r = numbers["ratio_to_relu"]["actlab"]
    rn = numbers["ratio_to_relu"].get("naive", {})
    worst = min(r["fb"][a]["median"] for a in CLASSIC)  # f + f' per element, as a training step pays
    saving = {arch: max((s[a] for a in CLASSIC), key=lambda v: v["mean"])
              for arch, s in numbers["step_saving_with_relu"].items()}
    share = {arch: {a: s[a]["mean"] for a in ("relu", *CLASSIC, "identity")}
             for arch, s in numbers["activation_share"].items()}
    swap = numbers["identity_swap_share"]
    best = max(saving.values(), key=lambda v: v["mean"])
    best_saving = best["mean"]
    key = (f"per element (f + f', f' from the output) sigmoid/ReLU {r['fb']['sigmoid']['median']:.1f}x, tanh/ReLU "
           f"{r['fb']['tanh']['median']:.1f}x; switching sigmoid/tanh to ReLU saves at most {best_saving:.0%} "
           f"[{best['lo']:.0%}, {best['hi']:.0%}] of a training step")
    naive_txt = ""
    if rn.get("f") and all(a in rn["f"] for a in CLASSIC):
        naive_txt = (f" With the tutorials' naive NumPy formulas: sigmoid {rn['f']['sigmoid']['median']:.1f}x, tanh "
                     f"{rn['f']['tanh']['median']:.1f}x (f).")
    dy = numbers["per_element_ns"]["actlab"].get("df_y", {})
    detail = (f"Per element (actlab kernels, n = {numbers['n']:.0e}, median over rounds), sigmoid takes "
              f"{r['f']['sigmoid']['median']:.1f}x ReLU's time for f, {r['df']['sigmoid']['median']:.1f}x for f' and "
              f"{r['fb']['sigmoid']['median']:.1f}x for both; tanh {r['f']['tanh']['median']:.1f}x, "
              f"{r['df']['tanh']['median']:.1f}x and {r['fb']['tanh']['median']:.1f}x (both f' from the cached output "
              "where cheaper: " + ", ".join(f"{a} {v['mean']:.2f} ns" for a, v in dy.items())
              + f" per element against f'(x) recomputed); a plain copy costs "
              f"{numbers['copy_ns']:.2f} ns/element (ReLU's f is memory-bound: "
              f"{numbers['per_element_ns']['actlab']['f']['relu']['mean'] / numbers['copy_ns']:.2f}x the copy)."
              + naive_txt
              + " In training steps the activation (forward + backward) takes "
              + "; ".join(f"{arch}: ReLU {share[arch]['relu']:.0%}, sigmoid {share[arch]['sigmoid']:.0%}, tanh "
                          f"{share[arch]['tanh']:.0%} of the step, the identity (a copy) "
                          f"{share[arch]['identity']:.0%} (identity-swap check, step time saved by the identity: "
                          "sigmoid "
                          f"{swap[arch]['sigmoid']:.0%}, tanh {swap[arch]['tanh']:.0%})" for arch in share)
              + ". Switching sigmoid or tanh to ReLU saves at most "
              + ", ".join(f"{v['mean']:.0%} [{v['lo']:.0%}, {v['hi']:.0%}] ({arch})" for arch, v in saving.items())
              + " of a step: the matrix products dominate, and at these layer sizes a fixed per-call cost (the "
              "identity's share) is a large part of any activation's.")
    top = max(((arch, a, v["mean"]) for arch, d in numbers["activation_share"].items() for a, v in d.items()),
              key=lambda t: t[2])
    if top[1] not in ("relu", *CLASSIC, "identity"):
        detail += (f" The dearest activation measured is {top[1]} ({top[2]:.0%} of a {top[0]} step): there the "
                   "kernel, not the matmuls, decides.")
    if worst < 1.2:
        return Verdict(REFUTED, "ReLU is not clearly cheaper per element than sigmoid and tanh. " + detail, key)
    if worst >= CHEAPER and best["lo"] >= MATTERS:
        return Verdict(CONFIRMED, "ReLU is much cheaper per element, and it shows in training time. " + detail, key)
    qual = "much cheaper" if worst >= CHEAPER else "somewhat cheaper"
    why = (f"switching saves under {MATTERS:.0%} of a training step" if best["hi"] < MATTERS else
           f"whether switching saves {MATTERS:.0%} of a training step is within the noise" if best["lo"] < MATTERS
           else "")
    return Verdict(CAVEATS, f"ReLU is {qual} per element (at least {worst:.1f}x){', but ' + why if why else ''}. "
                   + detail, key)


EXPERIMENT = register(
    name="relu_compute_cost",
    number=5,
    tutorial="000",
    claim="ReLU is much cheaper to compute than sigmoid or tanh (a threshold only), which speeds up training.",
    korean="렐루 함수의 공식은 음수면 0, 양수면 자기 자신을 반환하는 아주 단순한 공식이다 보니, 경사 하강 시 "
    "다른 활성화 함수에 "
    "비해 학습 속도가 매우 빠르다! (004: 계산 효율성: ReLU는 단순한 임계값 연산만으로 구현되므로 계산이 "
    "매우 빠릅니다.)",
    config=Config,
    run=run,
    verdict=verdict,
)
