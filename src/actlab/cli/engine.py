"""``actlab train``, ``evaluate`` and ``diagnose``: the network engine on MNIST-format data."""

from __future__ import annotations

import argparse
import sys

from .. import runs
from ..nn.diagnostics import DEAD_EPS, SAT_EPS, SAT_MOST
from ._parser import defaults, define_option, positive_int


def add(sub: argparse._SubParsersAction) -> None:
    d = defaults(runs.run)
    p = sub.add_parser("train", help="train an MLP on MNIST; writes history.json, model.npz, curves.png")
    p.add_argument("--data", default=d["data"], help="'mnist' (bundled / $ACTLAB_DATA) or a directory of IDX files")
    p.add_argument("--arch", default=d["arch"], help="layer sizes, e.g. %(default)s")
    p.add_argument("--activation", nargs="+", default=[d["activation"]], metavar="SPEC",
                   help="hidden activation(s): one spec, or one per hidden layer, e.g. 'leaky_relu(slope=0.1)'")
    p.add_argument("--output", default=d["output"], help="output activation (fused into the loss)")
    p.add_argument("--init", default=d["init"], help="initialiser, e.g. he, xavier_normal, 'normal(std=0.01)'")
    p.add_argument("--optimizer", default=d["optimizer"], help=f"{', '.join(runs.OPTIMIZERS)}")
    p.add_argument("--lr", type=float, default=d["lr"])
    p.add_argument("--momentum", type=float, default=d["momentum"])
    p.add_argument("--weight-decay", type=float, default=d["weight_decay"])
    p.add_argument("--schedule", default=d["schedule"], help="constant, step or cosine")
    p.add_argument("--epochs", type=int, default=d["epochs"])
    p.add_argument("--batch-size", type=int, default=d["batch_size"])
    p.add_argument("--seed", type=int, default=d["seed"])
    p.add_argument("--batchnorm", action="store_true")
    p.add_argument("--dropout", type=float, default=d["dropout"])
    p.add_argument("--dtype", default=d["dtype"], choices=["float32", "float64"])
    p.add_argument("--limit", type=int, default=d["limit"], help="train on the first N examples only")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--out", default="runs/train", metavar="DIR",
                   help="output folder; its checkpoint.npz (written every epoch) lets a re-run resume")
    p.add_argument("--restart", action="store_true", help="discard a checkpoint in --out and start over")
    _max_memory(p)
    define_option(p)
    p.set_defaults(func=_train)

    d = defaults(runs.evaluate_file)
    p = sub.add_parser("evaluate", help="accuracy and confusion matrix of a saved model")
    p.add_argument("model", help="a model.npz written by 'actlab train' or nn.save")
    p.add_argument("--data", default=d["data"])
    p.add_argument("--split", default=d["split"], choices=["train", "test"])
    _max_memory(p)
    p.set_defaults(func=_evaluate)

    d = defaults(runs.diagnose_file)
    p = sub.add_parser("diagnose", help="per-layer dead, inactive and saturated units of a saved model (.npz)")
    p.add_argument("model", help="a model.npz written by 'actlab train' or nn.save")
    p.add_argument("--data", default=d["data"], help="'mnist' (bundled / $ACTLAB_DATA) or a directory of IDX files")
    p.add_argument("--split", default=d["split"], choices=["train", "test"])
    p.add_argument("--limit", type=positive_int, default=d["limit"], help="use the first N examples only")
    p.add_argument("--dead-eps", type=float, default=DEAD_EPS, help="dead: |f'(z)| <= this on every example")
    p.add_argument("--sat-eps", type=float, default=SAT_EPS, help="saturated: |f'(z)| < this on most examples")
    p.add_argument("--sat-most", type=float, default=SAT_MOST, help="'most' for saturation (fraction of examples)")
    _max_memory(p)
    p.set_defaults(func=_diagnose)


def _max_memory(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-memory", default=None, metavar="SIZE",
                   help="refuse work estimated to need more memory than SIZE, e.g. 4G or 500M (checked before "
                        "anything is allocated; default: the memory available now)")


def _train(a: argparse.Namespace) -> int:
    res = runs.run(a.out, data=a.data, arch=a.arch, activation=a.activation, output=a.output, init=a.init,
                   optimizer=a.optimizer, lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay,
                   schedule=a.schedule, epochs=a.epochs, batch_size=a.batch_size, seed=a.seed,
                   batchnorm=a.batchnorm, dropout=a.dropout, dtype=a.dtype, limit=a.limit,
                   progress=not a.no_progress, restart=a.restart, max_memory=a.max_memory)
    h = res["history"]
    if h.resumed_from:
        print(f"resumed from the checkpoint of epoch {h.resumed_from} in {res['out']}")
    for r in h.epochs:
        print(f"epoch {r['epoch']}: loss {r['loss']:.4f}  acc {r['acc']:.4f}  test_loss {r['val_loss']:.4f}  "
              f"test_acc {r['val_acc']:.4f}  {r['seconds']:.1f} s  {r['examples_per_s']:,.0f} examples/s")
    if h.stopped:
        print(h.stopped, file=sys.stderr)
    print(f"wrote {res['out']}/history.json, model.npz, curves.png, checkpoint.npz")
    return 1 if h.stopped and "loss is" in h.stopped else 0


def _evaluate(a: argparse.Namespace) -> int:
    res = runs.evaluate_file(a.model, data=a.data, split=a.split, max_memory=a.max_memory)
    print(f"{a.model} ({res['arch']}) on {a.split}: accuracy {res['acc']:.4f}  loss {res['loss']:.4f}  n {res['n']}")
    cm = res["confusion"]
    print("confusion matrix (rows: true class, columns: predicted)")
    print("     " + " ".join(f"{j:5d}" for j in range(cm.shape[1])))
    for i, row in enumerate(cm):
        print(f"{i:4d} " + " ".join(f"{v:5d}" for v in row))
    return 0


def _diagnose(a: argparse.Namespace) -> int:
    from ..nn import diagnostics

    res = runs.diagnose_file(a.model, data=a.data, split=a.split, limit=a.limit, dead_eps=a.dead_eps,
                             sat_eps=a.sat_eps, sat_most=a.sat_most, max_memory=a.max_memory)
    print(f"{a.model} ({res['model'].arch}) on {res['samples']} {a.split} examples")
    print(diagnostics.format_units(res["units"]))
    if res["gradients"]:
        print(diagnostics.format_gradients(res["gradients"]))
    print(res["definitions"])
    return 0
