"""Sigmoid makes gradients vanish with depth; ReLU does not (tutorials 000, 002)

Backpropagation multiplies, layer after layer, the backpropagated error by W and by the
activation's derivative: delta_k = f'(z_k) * (delta_{k+1} W_{k+1}^T). Sigmoid's derivative is
at most 1/4, so the tutorials conclude that the product shrinks geometrically with depth,
while ReLU's derivative is 1 on the active side. Whether the product shrinks also depends
on the scale of W, so every activation is measured with the tutorials' initialisations
(normal std 0.01 and std 1, as in "Deep Learning from Scratch") and with Xavier, He (gain
from the catalogue: sqrt 2 for ReLU, 1 for sigmoid) and LeCun.

The first figure plots ||dL/dz_k|| (the backpropagated error at the pre-activation of
hidden layer k, recorded by :class:`actlab.nn.Recorder` on a float64 MLP of width 100 on a
batch of MNIST images, softmax cross-entropy) against k for the deepest network, one panel
per initialisation (log scale: the values span tens of decades). The second summarises
every depth by the ratio ||delta_1|| / ||delta_L|| between the first and the last hidden
layer: below 1e-2 the gradient *vanishes* on the way down, above 1e2 it *explodes*. The
third follows that ratio during a short SGD training run. The fourth repeats the
activation-histogram experiment of "Deep Learning from Scratch" ch. 6.2 (5 layers x 100
units, 1000 Gaussian inputs) for sigmoid, tanh and ReLU with std 1, std 0.01, Xavier and
He (sqrt(2/n), the book's definition), over each activation's own range (the book's
range (0, 1) hides tanh's negative half and ReLU's values above 1).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..figures import COLORS, by, ci, new_figure, png, seeds_of
from ..framework import CAVEATS, CONFIRMED, REFUTED, Outcome, Verdict, activation_spec, register, setting

VANISH, EXPLODE = -2.0, 2.0  # log10 of ||delta_1|| / ||delta_L||: two decades either way
LABELS = {"normal(std=0.01)": "std 0.01", "normal(std=1)": "std 1", "xavier_normal": "Xavier",
          "he_normal": "He", "lecun_normal": "LeCun"}


@dataclass
class Config:
    seeds: int = 3
    activations: tuple[str, ...] = setting(("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu"),
                                           check=activation_spec)
    inits: tuple[str, ...] = ("normal(std=0.01)", "normal(std=1)", "xavier_normal", "he_normal", "lecun_normal")
    depths: tuple[int, ...] = (2, 5, 10, 20, 50)
    width: int = 100
    batch: int = 64
    train_depth: int = 20
    train_inits: tuple[str, ...] = ("xavier_normal", "he_normal")
    train_steps: int = 100
    train_batch: int = 64
    lr: float = 0.1
    record_every: int = 10
    hist_examples: int = 1000
    hist_layers: int = 5
    hist_bins: int = 30
    #: the settings next door, where the verdict must hold too (framework.robustness)
    NEIGHBOURS: ClassVar[dict] = {"width": (50, 200)}
    QUICK: ClassVar[dict] = {"seeds": 2, "batch": 32, "depths": (2, 10, 50), "train_depth": 10, "train_steps": 30,
                             "activations": ("sigmoid", "tanh", "relu")}
    FULL: ClassVar[dict] = {"seeds": 8, "batch": 256, "train_steps": 400, "depths": (2, 5, 10, 20, 30, 50, 100)}


def _label(init: str) -> str:
    return LABELS.get(init, init)


def _color(act: str, i: int) -> str:
    return COLORS.get(act, f"C{(i + 3) % 10}")


def _mnist_batch(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    from ... import data

    X, y = data.load_mnist(split="train")
    idx = np.random.default_rng([seed, 7]).choice(len(X), n, replace=False)
    return np.asarray(X[idx], np.float64), np.asarray(y[idx])


def _profile(act: str, init: str, depth: int, width: int, X: np.ndarray, y: np.ndarray, seed: int) -> dict:
    """Per-layer ||dL/dz_k|| and ||dL/dW_k|| at initialisation, from the engine's Recorder."""
    from ... import nn

    model = nn.mlp([X.shape[1], *[width] * depth, 10], activation=act, init=init, seed=[seed, depth],
                   dtype=np.float64)
    loss = nn.SoftmaxCrossEntropy()
    with np.errstate(all="ignore"), nn.record(model, what=("grad_pre", "grad_W")) as rec:
        loss.forward(model.forward(X), y)
        model.backward(loss.backward())
    return {"grad_pre": rec.series("grad_pre", "norm")[0].tolist(), "grad_W": rec.series("grad_W", "norm")[0].tolist()}


def _train(c: dict) -> dict:
    """A short SGD run; the Recorder keeps ||delta_k|| every ``record_every`` steps."""
    from ... import data, nn

    X, y = data.load_mnist(split="train")
    n = min(len(X), c["steps"] * c["batch"])  # the examples the run will see (float64 copy of these only)
    idx = np.random.default_rng([c["seed"], 3]).choice(len(X), n, replace=False)
    X, y = np.asarray(X[idx], np.float64), y[idx]
    model = nn.mlp([784, *[c["width"]] * c["depth"], 10], activation=c["act"], init=c["init"], seed=c["seed"],
                   dtype=np.float64)
    rec = nn.Recorder(model, what=("grad_pre",), every=c["record_every"])
    hist = nn.fit(model, X, y, lr=c["lr"], batch_size=c["batch"], epochs=100, max_steps=c["steps"], seed=c["seed"],
                  recorder=rec, progress=False)
    norms = rec.series("grad_pre", "norm")
    ratio = [float(np.log10(r[0] / r[-1])) if r[-1] > 0 and np.isfinite(r).all() and r[0] > 0 else math.nan
             for r in norms]
    loss = hist.step_loss
    return {"steps": rec.steps, "log10_ratio": ratio, "first_loss": float(loss[0]) if len(loss) else math.nan,
            "last_loss": float(np.mean(loss[-10:])) if len(loss) else math.nan, "stopped": hist.stopped}


def _hist(c: dict) -> dict:
    """Deep Learning from Scratch ch. 6.2: activations of 5 x 100 units for 1000 Gaussian inputs."""
    from ... import nn
    from ...catalogue import registry

    rng = np.random.default_rng([c["seed"], 11])
    x = rng.standard_normal((c["examples"], 100))
    init, gain = {"std 1": (1.0, None), "std 0.01": (0.01, None), "Xavier": ("xavier_normal", None),
                  "He": ("he_normal", math.sqrt(2.0))}[c["init"]]
    model = nn.mlp([100] * (c["layers"] + 1) + [10], activation=c["act"], init=init, gain=gain, seed=rng,
                   dtype=np.float64)
    with np.errstate(all="ignore"), nn.record(model, what=("post",), summary=False) as rec:
        model.forward(x)
    acts = [np.asarray(a["post"]) for a in rec.records[0]]
    lo, hi = registry.get(c["act"]).range
    if not math.isfinite(hi):  # unbounded: cover 99.5 % of every layer's values
        hi = max(float(np.quantile(a, 0.995)) for a in acts) or 1.0
    edges = np.linspace(lo, hi, c["bins"] + 1)
    out = []
    for a in acts:
        counts, _ = np.histogram(np.clip(a, lo, hi), bins=edges)
        sat = np.mean((a - lo < 0.02 * (hi - lo)) | (hi - a < 0.02 * (hi - lo))) if c["act"] != "relu" else math.nan
        out.append({"hist": (counts / a.size).tolist(), "mean": float(a.mean()), "std": float(a.std()),
                    "frac_zero": float(np.mean(a == 0)), "frac_saturated": float(sat),
                    "frac_clipped": float(np.mean(a > hi))})
    return {"edges": edges.tolist(), "layers": out}


def cell(c: dict) -> dict:
    if c["kind"] == "train":
        return _train(c)
    if c["kind"] == "hist":
        return _hist(c)
    X, y = _mnist_batch(c["seed"], c["batch"])
    return {str(d): _profile(c["act"], c["init"], d, c["width"], X, y, c["seed"]) for d in c["depths"]}


#: log10 of the smallest positive float64 (subnormal): a gradient norm that underflowed to 0
#: was below it, so log10(0 / b) is bounded above by this minus log10(b)
LOG10_TINY = math.log10(math.ulp(0.0))


def _log_ratio(norms: list[float]) -> float:
    """log10(||delta_1|| / ||delta_L||); where ||delta_1|| underflowed to 0 in float64 (sigmoid
    at depth 50 and more), the upper bound log10(5e-324 / ||delta_L||) instead of -inf: the
    ratio is at most that, and the means and intervals over seeds stay finite (the runs are
    counted as ``underflowed``).

    >>> _log_ratio([1e-3, 10.0]), round(_log_ratio([0.0, 10.0]), 2)
    (-4.0, -324.31)
    """
    a, b = norms[0], norms[-1]
    if not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return math.inf if a != 0 else math.nan
    return math.log10(a / b) if a > 0 else LOG10_TINY - math.log10(b)


def classify(log10_ratio: float) -> str:
    """'vanishes' (< 1e-2), 'explodes' (> 1e2) or 'kept' for ||delta_1|| / ||delta_L||.

    >>> classify(-31.0), classify(-0.2), classify(41.0)
    ('vanishes', 'kept', 'explodes')
    """
    if log10_ratio < VANISH:
        return "vanishes"
    if log10_ratio > EXPLODE:
        return "explodes"
    return "kept"


def _fmt_ratio(r: float) -> str:
    return f"1e{r:+.0f}" if abs(r) >= 2 else f"{10 ** r:.2g}"


def _train_summary(rows: list[dict]) -> dict:
    """Mean log10 ratio per recorded step over the seeds whose runs did not stop early."""
    n = len(rows[0]["steps"])
    full = [r["log10_ratio"] for r in rows if len(r["log10_ratio"]) == n]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a step where every seed overflowed: NaN, said so
        series = np.nanmean(np.array(full, dtype=float), axis=0).tolist() if full else []
    return {"steps": rows[0]["steps"], "log10_ratio": series, "loss_first": ci([r["first_loss"] for r in rows]),
            "loss_last": ci([r["last_loss"] for r in rows]), "stopped": sum(r["stopped"] is not None for r in rows)}


def run(cfg: Config, runner) -> Outcome:
    seeds = seeds_of(cfg)
    acts, inits, depths = list(cfg.activations), list(cfg.inits), sorted(cfg.depths)
    L = depths[-1]
    cells = [{"kind": "init", "act": a, "init": i, "seed": s, "depths": depths, "width": cfg.width,
              "batch": cfg.batch} for a in acts for i in inits for s in seeds]
    res = runner.map(cell, cells, desc="gradient profiles")
    tcells = [{"kind": "train", "act": a, "init": i, "seed": s, "depth": cfg.train_depth, "width": cfg.width,
               "steps": cfg.train_steps, "batch": cfg.train_batch, "lr": cfg.lr, "record_every": cfg.record_every}
              for a in acts for i in cfg.train_inits for s in seeds]
    tres = runner.map(cell, tcells, desc="short training")
    hist_acts = [a for a in ("sigmoid", "tanh", "relu")]
    hist_inits = ["std 1", "std 0.01", "Xavier", "He"]
    hcells = [{"kind": "hist", "act": a, "init": i, "seed": s, "examples": cfg.hist_examples,
               "layers": cfg.hist_layers, "bins": cfg.hist_bins} for a in hist_acts for i in hist_inits for s in seeds]
    hres = runner.map(cell, hcells, desc="DLFS histograms")

    # ---- reduce: log10 ratio first/last hidden layer, per depth, intervals over seeds
    raw_rows = [dict(act=c["act"], init=c["init"], seed=c["seed"], depth=int(d),
                     log10_ratio=_log_ratio(p["grad_pre"]), grad_pre=p["grad_pre"], grad_W=p["grad_W"])
                for c, r in zip(cells, res) for d, p in r.items()]
    groups = by(raw_rows, "act", "init", "depth")
    ratio = {a: {i: {str(d): ci([r["log10_ratio"] for r in groups[(a, i, d)]])
                            | {"underflowed": sum(r["grad_pre"][0] == 0 for r in groups[(a, i, d)])}
                     for d in depths} for i in inits} for a in acts}
    klass = {a: {i: classify(ratio[a][i][str(L)]["mean"]) for i in inits} for a in acts}
    with np.errstate(divide="ignore"):
        per_layer = {a: {i: np.log10(np.array([r["grad_pre"] for r in groups[(a, i, L)]])).mean(0).tolist()
                         for i in inits} for a in acts}
    tgroups = by([dict(c, **r) for c, r in zip(tcells, tres)], "act", "init")
    training = {a: {i: _train_summary(tgroups[(a, i)]) for i in cfg.train_inits} for a in acts}
    hgroups = by([dict(c, **r) for c, r in zip(hcells, hres)], "act", "init")
    histo = {a: {i: {"std_last": ci([r["layers"][-1]["std"] for r in hgroups[(a, i)]]),
                     "saturated_last": ci([r["layers"][-1]["frac_saturated"] for r in hgroups[(a, i)]]),
                     "zero_last": ci([r["layers"][-1]["frac_zero"] for r in hgroups[(a, i)]]),
                     "mean_per_layer": [ci([r["layers"][k]["mean"] for r in hgroups[(a, i)]])["mean"]
                                        for k in range(cfg.hist_layers)],
                     "std_per_layer": [ci([r["layers"][k]["std"] for r in hgroups[(a, i)]])["mean"]
                                       for k in range(cfg.hist_layers)]}
                 for i in hist_inits} for a in hist_acts}
    numbers = {"max_depth": L, "inits": inits, "activations": acts, "log10_ratio": ratio, "class": klass,
               "training": training, "train_depth": cfg.train_depth, "train_steps": cfg.train_steps,
               "dlfs_histograms": histo}

    figs = [_fig_profile(per_layer, acts, inits, L), _fig_depth(ratio, acts, inits, depths),
            _fig_training(training, acts, cfg), _fig_hist(hgroups, hist_acts, hist_inits, cfg)]
    settings = (f"MLP 784-{cfg.width}x(depth)-10, float64, biases 0, softmax cross-entropy on {cfg.batch} MNIST "
                f"training images (true labels); depths {depths}; initialisations {inits} (He and orthogonal take "
                f"the catalogue gain of the activation, so He = LeCun for sigmoid); seeds 0..{cfg.seeds - 1}. "
                f"||delta_k|| is the L2 norm over the batch of dL/dz_k from nn.Recorder. Training: depth "
                f"{cfg.train_depth}, SGD lr {cfg.lr}, batch {cfg.train_batch}, {cfg.train_steps} steps, inits "
                f"{list(cfg.train_inits)}. Histograms: DLFS ch. 6.2, {cfg.hist_layers} layers x 100 units, "
                f"{cfg.hist_examples} N(0, 1) inputs.")
    raw = {"profiles": [{k: v for k, v in r.items()} for r in raw_rows],
           "training": [dict(c, **r) for c, r in zip(tcells, tres)],
           "histograms": [dict(c, layers=[{k: v for k, v in layer.items() if k != "hist"} for layer in r["layers"]])
                          for c, r in zip(hcells, hres)]}
    return Outcome(numbers=numbers, raw=raw, figures=figs, settings=settings)


def _fig_profile(per_layer, acts, inits, L):
    fig, ax = new_figure(len(inits), 1, width=3.6, height=3.4, sharey=True)
    for j, init in enumerate(inits):
        a_ = ax[0, j]
        for k, act in enumerate(acts):
            v = np.array(per_layer[act][init])
            a_.plot(np.arange(1, len(v) + 1), np.where(np.isfinite(v), 10.0 ** np.clip(v, -300, 300), np.nan),
                    color=_color(act, k), label=act)
        a_.set(yscale="log", xlabel="hidden layer k (input side = 1)", title=_label(init))
    ax[0, 0].set_ylabel("||dL/dz_k|| at initialisation")
    ax[0, -1].legend(loc="lower right")
    return png(fig, "gradient_per_layer", f"Backpropagated error per hidden layer of a depth-{L} MLP at "
               "initialisation (mean of log10 over seeds). A line falling to the left is a gradient that vanishes "
               "before it reaches the first layers; rising to the left, one that explodes.")


def _fig_depth(ratio, acts, inits, depths):
    fig, ax = new_figure(len(inits), 1, width=3.6, height=3.4, sharey=True)
    for j, init in enumerate(inits):
        a_ = ax[0, j]
        for k, act in enumerate(acts):
            r = [ratio[act][init][str(d)] for d in depths]
            m = np.array([x["mean"] for x in r])
            a_.plot(depths, 10.0 ** np.clip(m, -300, 300), "o-", color=_color(act, k), label=act)
            a_.fill_between(depths, 10.0 ** np.clip([x["lo"] for x in r], -300, 300),
                            10.0 ** np.clip([x["hi"] for x in r], -300, 300), color=_color(act, k), alpha=0.15)
        a_.axhspan(10 ** VANISH, 10 ** EXPLODE, color="0.85", alpha=0.5, lw=0)
        a_.set(xscale="log", yscale="log", xlabel="depth (hidden layers)", title=_label(init))
        a_.set_xticks(depths, [str(d) for d in depths])
        a_.xaxis.set_minor_locator(__import__("matplotlib").ticker.NullLocator())
    ax[0, 0].set_ylabel("||delta_1|| / ||delta_L||")
    ax[0, -1].legend(loc="lower left")
    return png(fig, "ratio_vs_depth", "Ratio of the gradient norm at the first hidden layer to the last, against "
               "depth (band: 95 % interval over seeds; grey: within two decades, 'kept').")


def _fig_training(training, acts, cfg):
    inits = list(cfg.train_inits)
    fig, ax = new_figure(len(inits), 1, width=4.4, height=3.4, sharey=True)
    for j, init in enumerate(inits):
        a_ = ax[0, j]
        for k, act in enumerate(acts):
            t = training[act][init]
            if t["log10_ratio"]:
                a_.plot(t["steps"][:len(t["log10_ratio"])], 10.0 ** np.clip(t["log10_ratio"], -300, 300),
                        color=_color(act, k), label=act)
        a_.set(yscale="log", xlabel="SGD step", title=f"{_label(init)}, depth {cfg.train_depth}")
    ax[0, 0].set_ylabel("||delta_1|| / ||delta_L||")
    ax[0, -1].legend(loc="center right", fontsize=8)
    return png(fig, "ratio_during_training", f"The same ratio during {cfg.train_steps} SGD steps on MNIST "
               f"(lr {cfg.lr}, batch {cfg.train_batch}; mean of log10 over seeds). A line ends where the loss "
               "became non-finite in every seed (counted as 'stopped' in the numbers).")


def _fig_hist(hgroups, hacts, hinits, cfg):
    fig, ax = new_figure(len(hinits), len(hacts), width=3.2, height=2.7)
    cmap = __import__("matplotlib").colormaps["viridis"]
    for r_, act in enumerate(hacts):
        for j, init in enumerate(hinits):
            a_ = ax[r_, j]
            first = hgroups[(act, init)][0]  # seed 0
            edges = np.array(first["edges"])
            for k, layer in enumerate(first["layers"]):
                a_.stairs(np.maximum(layer["hist"], 1e-5), edges, color=cmap(k / max(cfg.hist_layers - 1, 1)),
                          label=f"layer {k + 1}")
            a_.set(yscale="log", ylim=(1e-4, 1.2), title=f"{act}, {init}")
            if r_ == len(hacts) - 1:
                a_.set_xlabel("activation value")
            if j == 0:
                a_.set_ylabel("fraction of values")
    ax[0, -1].legend(fontsize=7)
    return png(fig, "dlfs_histograms", "Deep Learning from Scratch ch. 6.2, over each activation's own range "
               "(tanh: -1..1; ReLU: 0 to the 99.5th percentile, larger values in the last bin): per-layer "
               "histograms of 5 layers x 100 units for 1000 Gaussian inputs, seed 0 (log scale).")


#: the three sentences the claim bundles, each judged on its own
PARTS = {
    "values_shrink": "sigmoid's outputs, in (0, 1), get remarkably smaller layer after layer (000)",
    "sigmoid_vanishes": "sigmoid makes the gradient vanish with depth (000)",
    "relu_never": "with ReLU the vanishing gradient does not occur (000: '발생하지 않는다')",
    "relu_mitigates": "ReLU greatly mitigates it (002: '크게 완화시킨다', 004: '완화')",
}


def parts(numbers) -> dict[str, tuple[str, str]]:
    """Each sentence's verdict and reason, read the same way: a statement about
    activations in deep networks, tested under every initialisation tried.

    * sigmoid vanishes: confirmed under every initialisation, caveats under some, refuted under none;
    * ReLU never vanishes: a universal statement, refuted by one initialisation under which
      ReLU's gradient vanishes or explodes;
    * ReLU mitigates: confirmed when, under each initialisation designed for its activation
      (Xavier, He, LeCun), ReLU's ratio is nearer 1 (in decades) than sigmoid's, and ReLU keeps
      the gradient under at least one of them."""
    L = numbers["max_depth"]
    r = numbers["log10_ratio"]
    inits = list(numbers["inits"])
    k = {a: {i: classify(r[a][i][str(L)]["mean"]) for i in inits} for a in ("sigmoid", "relu")}
    sig_v = [i for i in inits if k["sigmoid"][i] == "vanishes"]
    relu_bad = {i: v for i, v in k["relu"].items() if v != "kept"}
    designed = [i for i in inits if i in ("xavier_normal", "he_normal", "lecun_normal")]
    nearer = [i for i in designed if abs(r["relu"][i][str(L)]["mean"]) < abs(r["sigmoid"][i][str(L)]["mean"])]
    out = {}
    # the forward sentence, on the DLFS histogram networks: the mean sigmoid output, first and last layer
    hist = numbers.get("dlfs_histograms", {}).get("sigmoid", {})
    falls = {i: h["mean_per_layer"][0] / max(h["mean_per_layer"][-1], 1e-300) for i, h in hist.items()}
    if hist:
        said = ", ".join(f"{i} {h['mean_per_layer'][0]:.2f} -> {h['mean_per_layer'][-1]:.2f}" for i, h in hist.items())
        if all(f >= 10 for f in falls.values()):
            out["values_shrink"] = (CONFIRMED, f"the mean output falls tenfold or more ({said})")
        elif any(f >= 2 for f in falls.values()):
            out["values_shrink"] = (CAVEATS, f"the mean output halves only with some initialisations ({said})")
        else:
            out["values_shrink"] = (REFUTED, f"the mean output stays near 0.5 from layer to layer ({said}): what "
                                    "shrinks is the backpropagated gradient, through sigmoid' <= 1/4")
    if len(sig_v) == len(inits):
        out["sigmoid_vanishes"] = (CONFIRMED, "it vanishes under every initialisation tried")
    elif sig_v:
        out["sigmoid_vanishes"] = (CAVEATS, f"it vanishes with {', '.join(map(_label, sig_v))}, not with "
                                   + ", ".join(_label(i) for i in inits if i not in sig_v)
                                   + " (large weights compensate sigmoid' <= 1/4, but then the units saturate)")
    else:
        out["sigmoid_vanishes"] = (REFUTED, "it vanishes under no initialisation tried")
    if not relu_bad:
        out["relu_never"] = (CONFIRMED, "ReLU keeps the gradient within two decades under every initialisation tried")
    else:
        out["relu_never"] = (REFUTED, "ReLU's gradient " + ", ".join(f"{v} with {_label(i)}"
                                                                   for i, v in relu_bad.items()))
    kept = [i for i in designed if k["relu"][i] == "kept"]
    if designed and len(nearer) == len(designed) and kept:
        out["relu_mitigates"] = (CONFIRMED, "under " + ", ".join(map(_label, designed)) + " ReLU's ratio is nearer 1 "
                                 "than sigmoid's, and ReLU keeps it with " + ", ".join(map(_label, kept)))
    elif nearer:
        out["relu_mitigates"] = (CAVEATS, "ReLU's ratio is nearer 1 than sigmoid's only with "
                                 + ", ".join(map(_label, nearer)))
    else:
        out["relu_mitigates"] = (REFUTED, "ReLU's ratio is nowhere nearer 1 than sigmoid's")
    return out


def verdict(numbers) -> Verdict:
    """The three sentences (:func:`parts`) combined: confirmed if all are, refuted if all
    are, confirmed with caveats otherwise (the text says which holds)."""
    L = numbers["max_depth"]
    r = numbers["log10_ratio"]
    inits = list(numbers["inits"])
    k = {a: {i: classify(r[a][i][str(L)]["mean"]) for i in inits} for a in numbers["activations"]}

    def rr(a, i):
        x = r[a][i][str(L)]
        # an underflowed run enters the mean with its upper bound: the mean is a bound too
        return (f"<= {_fmt_ratio(x['mean'])} ({x['underflowed']}/{x['n']} runs underflowed to 0 in float64)"
                if x.get("underflowed") else _fmt_ratio(x["mean"]))

    p = parts(numbers)
    others = {a: [_label(i) for i in inits if k[a][i] == "kept"] for a in numbers["activations"]
              if a not in ("sigmoid", "relu")}
    key = ("; ".join(f"{name.replace('_', ' ')}: {v}" for name, (v, _) in p.items())
           + f" (depth {L}, ||delta_1||/||delta_L||: sigmoid " + ", ".join(f"{_label(i)} {rr('sigmoid', i)}"
                                                                          for i in inits)
           + "; ReLU " + ", ".join(f"{_label(i)} {rr('relu', i)}" for i in inits) + ")")
    lines = " ".join(f"[{PARTS[name]}: {v}] {why}." for name, (v, why) in p.items())
    detail = (f"At depth {L} the gradient norm at the first hidden layer relative to the last is, for sigmoid: "
              + ", ".join(f"{_label(i)} {rr('sigmoid', i)} ({k['sigmoid'][i]})" for i in inits)
              + "; for ReLU: " + ", ".join(f"{_label(i)} {rr('relu', i)} ({k['relu'][i]})" for i in inits) + ". "
              + "Initialisations keeping it within two decades for the other activations: "
              + "; ".join(f"{a}: {', '.join(v) or 'none'}" for a, v in others.items()) + ".")
    tr = numbers.get("training", {})
    runs = [f"{a} {_label(i)}: ratio {_fmt_ratio(t['log10_ratio'][-1])}, loss {t['loss_first']['mean']:.2f} -> "
            f"{t['loss_last']['mean']:.2f}" for a in ("sigmoid", "relu") for i, t in tr.get(a, {}).items()
            if t["log10_ratio"]]
    if runs:
        detail += (f" After {numbers['train_steps']} SGD steps at depth {numbers['train_depth']}: "
                   + "; ".join(runs) + ".")
    verdicts = {v for v, _ in p.values()}
    overall = verdicts.pop() if len(verdicts) == 1 else CAVEATS
    return Verdict(overall, lines + " " + detail, key)


EXPERIMENT = register(
    name="vanishing_gradients",
    number=3,
    tutorial="000, 002",
    claim="Sigmoid makes gradients vanish in deep networks (its derivative is at most 1/4, so the chain-rule "
    "product shrinks per layer); ReLU, whose derivative is 1 for positive inputs, does not.",
    korean="시그모이드 함수는 ... 레이어를 거치면 거칠수록 값이 현저하게 작아지게 되어 기울기 소실(Vanishing "
    "gradient) 현상이 발생한다 ... 렐루 함수를 은닉층에서 많이 사용하는 이유: 기울기 소실(Vanishing Gradient) "
    "문제가 발생하지 않는다.",
    config=Config,
    run=run,
    verdict=verdict,
)
