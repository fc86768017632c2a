"""The ``actlab`` command line: a thin layer over the library.

Each subcommand parses its arguments, calls one library function and prints. Any
:class:`~actlab.errors.ActlabError` becomes one line on stderr and exit status 2, like
argparse's own usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .errors import ActlabError

Handler = Callable[[argparse.Namespace], int | None]


def _catalogue(sub: argparse._SubParsersAction) -> None:
    from . import registry

    p = sub.add_parser("list", help="list the activation catalogue with its properties")
    p.set_defaults(func=lambda a: _print_catalogue(registry))


def _print_catalogue(registry) -> int:
    for b in registry.iter_bound():
        d = b.definition
        kind = "vector" if d.vector else d.smoothness
        print(f"{b.spec:28s} {kind:8s} range={b.range}  {'monotonic ' if d.monotonic else ''}"
              f"{'zero-centred' if d.zero_centred else ''}")
    return 0


def _tools(sub: argparse._SubParsersAction) -> None:
    """accuracy, plot, gallery and bench: the tools around the catalogue."""

    def one_line_errors(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        # a bad argument is one line on stderr and exit status 2, like an ActlabError
        def error(message: str) -> None:
            print(f"{p.prog}: error: {message}", file=sys.stderr)
            sys.exit(2)

        p.error = error  # type: ignore[method-assign]
        return p

    def positive_int(text: str) -> int:
        try:
            value = int(float(text)) if "e" in text.lower() else int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
        return value

    p = one_line_errors(sub.add_parser("accuracy", help="max ulp error of f and f' vs mpmath, beside naive and torch"))
    p.add_argument("--names", nargs="+", metavar="NAME", help="registry entries (default: all)")
    p.add_argument("--out", default="results/accuracy", metavar="DIR", help="writes accuracy.md and accuracy.json")
    p.add_argument("--jobs", type=positive_int, default=None, help="worker processes (default: min(2, cpus))")
    p.set_defaults(func=_run_accuracy)

    p = one_line_errors(sub.add_parser("plot", help="plot activations with their derivatives"))
    p.add_argument("names", nargs="+", metavar="NAME", help="registry entries or specs, e.g. 'elu(alpha=0.5)'")
    p.add_argument("--derivative", action="store_true", help="add a panel with f'")
    p.add_argument("--second", action="store_true", help="add a panel with f''")
    p.add_argument("--param", action="append", default=[], metavar="NAME=V1,V2",
                   help="sweep a parameter: one curve per value (repeatable)")
    p.add_argument("--xlim", nargs=2, type=float, default=(-5.0, 5.0), metavar=("LO", "HI"))
    p.add_argument("--out", default="activation.png", metavar="FILE", help=".png or .svg")
    p.set_defaults(func=_run_plot)

    p = one_line_errors(sub.add_parser("gallery", help="one figure per registry entry"))
    p.add_argument("--out", default="results/gallery", metavar="DIR")
    p.add_argument("--names", nargs="+", metavar="NAME", help="registry entries (default: all)")
    p.add_argument("--format", default="png", choices=["png", "svg"])
    p.set_defaults(func=_run_gallery)

    p = one_line_errors(sub.add_parser("bench", help="benchmarks (speed is measured here, never in tests)"))
    bench_sub = p.add_subparsers(dest="bench", required=True, metavar="BENCH")
    b = one_line_errors(bench_sub.add_parser("kernels", help="ns/element of f and f' vs naive NumPy, torch, copy"))
    b.add_argument("--n", type=positive_int, default=10**7, help="elements per array (default 10^7)")
    b.add_argument("--names", nargs="+", metavar="NAME", help="registry entries (default: all elementwise)")
    b.add_argument("--repeat", type=positive_int, default=5, help="timings per measurement; the median is kept")
    b.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    b.add_argument("--out", default="results/bench", metavar="DIR", help="writes kernels.md and kernels.json")
    b.set_defaults(func=_run_bench)


def _run_accuracy(a: argparse.Namespace) -> int:
    import os

    from . import accuracy

    jobs = a.jobs or min(2, os.cpu_count() or 1)
    partial = os.path.join(a.out, ".accuracy.partial.json")
    result = accuracy.table(a.names, jobs=jobs, partial=partial, progress=True)
    print(accuracy.text(result))
    cmd = "actlab accuracy" + (f" --names {' '.join(a.names)}" if a.names else "") + f" --out {a.out}"
    for path in accuracy.write_table(result, a.out, command=cmd):
        print(f"wrote {path}")
    os.remove(partial)
    return 0


def _run_plot(a: argparse.Namespace) -> int:
    from . import plots

    fig = plots.plot(a.names, derivative=a.derivative, second=a.second, params=plots.parse_sweeps(a.param),
                     xlim=tuple(a.xlim))
    print(f"wrote {plots.save(fig, a.out)}")
    return 0


def _run_gallery(a: argparse.Namespace) -> int:
    from . import plots

    for path in plots.gallery(a.out, names=a.names, fmt=a.format, progress=True):
        print(f"wrote {path}")
    return 0


def _run_bench(a: argparse.Namespace) -> int:
    from . import bench

    cmd = f"actlab bench kernels --n {a.n} --repeat {a.repeat}" + (f" --names {' '.join(a.names)}" if a.names else "")
    cmd += f" --dtypes {' '.join(a.dtypes)} --out {a.out}"
    result = bench.kernels(n=a.n, names=a.names, repeat=a.repeat, dtypes=tuple(a.dtypes), progress=True)
    print(bench.text(result))
    for path in bench.write(result, a.out, command=cmd):
        print(f"wrote {path}")
    return 0


def _data(sub: argparse._SubParsersAction) -> None:
    """data info / data download: the MNIST-format datasets (logic in actlab.data)."""
    p = sub.add_parser("data", help="datasets: what is found, and downloading MNIST-format files")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    i = dsub.add_parser("info", help="show where the data is found, item counts and checksum status")
    i.add_argument("--data", metavar="DIR", help="directory with the four IDX files (default: $ACTLAB_DATA, "
                   "else the bundled data/mnist)")
    i.set_defaults(func=_data_info)
    d = dsub.add_parser("download", help="fetch, verify (checksum) and store the four IDX files; resumes")
    d.add_argument("--dataset", default="mnist", help="dataset to fetch: mnist (default) or fashion-mnist")
    d.add_argument("--mirror", metavar="URL", help="base URL the file names are appended to")
    d.add_argument("--dir", metavar="DIR", help="target directory (default: $ACTLAB_DATA/DATASET, "
                   "else data/DATASET in the repository)")
    d.set_defaults(func=_data_download)


def _data_info(a: argparse.Namespace) -> int:
    from . import data

    print(data.info(a.data))
    return 0


def _data_download(a: argparse.Namespace) -> int:
    from . import data

    for f in data.download(a.dataset, mirror=a.mirror, directory=a.dir):
        print(f"{f.status:10s} {f.path}  ({f.identity[0]} {f.identity[1]}, {f.identity[2].replace('_', ' ')} ok)")
    return 0


def _experiments(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("experiments", help="list the experiments (one per claim of the tutorials)")
    p.set_defaults(func=_list_experiments)

    def sizes(q: argparse.ArgumentParser) -> None:
        g = q.add_mutually_exclusive_group()
        g.add_argument("--quick", dest="size", action="store_const", const="quick", help="smallest size (CI)")
        g.add_argument("--full", dest="size", action="store_const", const="full", help="largest size")
        q.set_defaults(size="default")
        q.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
        q.add_argument("--cache", default=None, help="SQLite cache of finished cells (default: .actlab-cache/)")

    p = sub.add_parser("run", help="run one experiment and print its verdict")
    p.add_argument("name", help="experiment name (see 'actlab experiments')")
    sizes(p)
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (0 .. N-1)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")
    p.add_argument("--out", default=None, help="write result.json and the figures (PNG) into this directory")
    p.set_defaults(func=_run_experiment)

    p = sub.add_parser("report", help="run every experiment and write the claims report (HTML + Markdown)")
    sizes(p)
    p.add_argument("--out", default="report", help="output directory (default: report/)")
    p.set_defaults(func=_report)


def _list_experiments(a: argparse.Namespace) -> int:
    from . import experiments as E

    for n in E.names():
        e = E.get(n)
        print(f"{e.number:3d}  {n:24s} ({e.tutorial})  {e.claim}")
    return 0


def _runner(a: argparse.Namespace):
    from .runner import Runner, default_cache_path

    return Runner(a.cache or default_cache_path(), workers=a.workers)


def _run_experiment(a: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from . import experiments as E

    cfg = E.make_config(a.name, a.size, a.seeds, E.parse_sets(a.set))  # validates before any work
    with _runner(a) as runner:
        res = E.run(a.name, a.size, runner=runner, config=cfg)
    print(f"{a.name}: {res.verdict.verdict}\n  key: {res.verdict.key}\n  {res.verdict.reasoning}")
    print(f"  ({res.cells['computed']} cells computed, {res.cells['cached']} from the cache, {res.seconds:.1f} s)")
    if a.out:
        from .report import _write

        out = Path(a.out)
        d = res.to_dict()
        for f in res.outcome.figures:
            _write(out / f"{a.name}_{f.name}.png", f.png)
        _write(out / f"{a.name}.json", json.dumps(d))
        print(f"  wrote {out / (a.name + '.json')} and {len(res.outcome.figures)} figure(s)")
    return 0


def _report(a: argparse.Namespace) -> int:
    from . import report

    with _runner(a) as runner:
        res = report.build(a.out, a.size, runner=runner)
    for r in res["results"]:
        print(f"{r.experiment:24s} {r.verdict.verdict:24s} {r.verdict.key}")
    print(f"wrote {res['paths']['html']} and {res['paths']['markdown']} in {res['seconds']:.1f} s")
    return 0


def _engine(sub: argparse._SubParsersAction) -> None:
    """train, evaluate and bench train: the network engine (logic in actlab.train / actlab.engine_bench)."""

    def one_line(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        def error(message: str) -> None:
            print(f"{p.prog}: error: {message}", file=sys.stderr)
            sys.exit(2)

        p.error = error  # type: ignore[method-assign]
        return p

    p = one_line(sub.add_parser("train", help="train an MLP on MNIST; writes history.json, model.npz, curves.png"))
    p.add_argument("--data", default="mnist", help="'mnist' (bundled / $ACTLAB_DATA) or a directory of IDX files")
    p.add_argument("--arch", default="784-64-10", help="layer sizes, e.g. 784-64-10")
    p.add_argument("--activation", nargs="+", default=["relu"], metavar="SPEC",
                   help="hidden activation(s): one spec, or one per hidden layer, e.g. 'leaky_relu(slope=0.1)'")
    p.add_argument("--output", default="softmax", help="output activation (fused into the loss)")
    p.add_argument("--init", default="he", help="initialiser, e.g. he, xavier_normal, 'normal(std=0.01)'")
    p.add_argument("--optimizer", default="sgd", help="sgd, momentum, nesterov or adam")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.0)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--schedule", default="constant", help="constant, step or cosine")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batchnorm", action="store_true")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--limit", type=int, default=None, help="train on the first N examples only")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--out", default="runs/train", metavar="DIR",
                   help="output folder; its checkpoint.npz (written every epoch) lets a re-run resume")
    p.add_argument("--restart", action="store_true", help="discard a checkpoint in --out and start over")
    p.set_defaults(func=_run_train)

    p = one_line(sub.add_parser("evaluate", help="accuracy and confusion matrix of a saved model"))
    p.add_argument("model", help="a model.npz written by 'actlab train' or nn.save")
    p.add_argument("--data", default="mnist")
    p.add_argument("--split", default="test", choices=["train", "test"])
    p.set_defaults(func=_run_evaluate)

    bench = sub.choices.get("bench")
    if bench is not None:  # 'actlab bench' belongs to the tools section; add 'train' to it
        bench_sub = next(a for a in bench._actions if isinstance(a, argparse._SubParsersAction))
        b = one_line(bench_sub.add_parser("train", help="training throughput vs PyTorch CPU and the sgemm rate"))
        b.add_argument("--arch", nargs="+", default=["784-64-10", "784-256-256-10"])
        b.add_argument("--batch-sizes", nargs="+", type=int, default=[32, 128])
        b.add_argument("--steps", type=int, default=300, help="timed steps per configuration")
        b.add_argument("--repeat", type=int, default=3, help="timings per configuration; the best is kept")
        b.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                       help="wall time, or CPU time of the process (fairer on a machine shared with other jobs)")
        b.add_argument("--out", default="results/bench", metavar="DIR", help="writes train.md and train.json")
        b.set_defaults(func=_run_bench_train)


def _run_train(a: argparse.Namespace) -> int:
    from . import train

    res = train.run(a.out, data=a.data, arch=a.arch, activation=a.activation, output=a.output, init=a.init,
                    optimizer=a.optimizer, lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay,
                    schedule=a.schedule, epochs=a.epochs, batch_size=a.batch_size, seed=a.seed,
                    batchnorm=a.batchnorm, dropout=a.dropout, dtype=a.dtype, limit=a.limit,
                    progress=not a.no_progress, restart=a.restart)
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


def _run_evaluate(a: argparse.Namespace) -> int:
    from . import train

    res = train.evaluate_file(a.model, data=a.data, split=a.split)
    print(f"{a.model} ({res['arch']}) on {a.split}: accuracy {res['acc']:.4f}  loss {res['loss']:.4f}  n {res['n']}")
    cm = res["confusion"]
    print("confusion matrix (rows: true class, columns: predicted)")
    print("     " + " ".join(f"{j:5d}" for j in range(cm.shape[1])))
    for i, row in enumerate(cm):
        print(f"{i:4d} " + " ".join(f"{v:5d}" for v in row))
    return 0


def _run_bench_train(a: argparse.Namespace) -> int:
    from . import engine_bench

    result = engine_bench.run(archs=a.arch, batch_sizes=a.batch_sizes, steps=a.steps, repeat=a.repeat, clock=a.clock)
    print(engine_bench.text(result))
    for path in engine_bench.write(result, a.out):
        print(f"wrote {path}")
    return 0


def _diagnostics(sub: argparse._SubParsersAction) -> None:
    """diagnose: dead / saturated units and gradient flags of a saved model (logic in actlab.diagnostics)."""
    p = sub.add_parser("diagnose", help="per-layer dead, inactive and saturated units of a saved model (.npz)")
    p.add_argument("model", help="a model.npz written by 'actlab train' or nn.save")
    p.add_argument("--data", default="mnist", help="'mnist' (bundled / $ACTLAB_DATA) or a directory of IDX files")
    p.add_argument("--split", default="test", choices=["train", "test"])
    p.add_argument("--limit", type=int, default=None, help="use the first N examples only")
    p.add_argument("--dead-eps", type=float, default=1e-3, help="dead: |f'(z)| <= this on every example")
    p.add_argument("--sat-eps", type=float, default=0.01, help="saturated: |f'(z)| < this on most examples")
    p.add_argument("--sat-most", type=float, default=0.9, help="'most' for saturation (fraction of examples)")
    p.set_defaults(func=_run_diagnose)


def _run_diagnose(a: argparse.Namespace) -> int:
    from . import diagnostics

    res = diagnostics.diagnose_file(a.model, data=a.data, split=a.split, limit=a.limit, dead_eps=a.dead_eps,
                                    sat_eps=a.sat_eps, sat_most=a.sat_most)
    print(f"{a.model} ({res['model'].arch}) on {res['samples']} {a.split} examples")
    print(diagnostics.format_units(res["units"]))
    if res["gradients"]:
        print(diagnostics.format_gradients(res["gradients"]))
    print(res["definitions"])
    return 0


# Each concern adds its subcommands here, in its own function.
SECTIONS: list[Callable[[argparse._SubParsersAction], None]] = [_catalogue, _tools, _data, _experiments, _engine,
                                                                _diagnostics]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="actlab",
        description="A lab for neural-network activation functions: catalogue, engine, experiments, report.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SECTIONS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ActlabError as err:
        print(f"actlab {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"actlab {args.command}: interrupted; finished work is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
