"""``actlab experiments``, ``run`` and ``report``: the claims of the tutorials, measured.

``run`` and ``report`` compute their cells in local processes, or on a Dask cluster with
``--scheduler tcp://HOST:8786`` (or ``$ACTLAB_SCHEDULER``; see docs/cluster.md).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Iterator

from .. import claims
from ..claims import cluster, report
from ..claims.runner import Cache, Runner, default_cache_path, writable_dir
from ._parser import define_option


def _seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _sizes(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", dest="size", action="store_const", const="quick", help="smallest size (CI)")
    g.add_argument("--full", dest="size", action="store_const", const="full", help="largest size")
    p.set_defaults(size="default")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--cache", default=None, help=f"SQLite cache of finished cells (default: {default_cache_path()})")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="send the cells to the Dask scheduler at ADDRESS, e.g. tcp://HOST:8786 (default: "
                        "$ACTLAB_SCHEDULER; empty: local processes); needs pip install actlab[dask]")
    p.add_argument("--scheduler-timeout", type=_seconds, default=cluster.DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"how long to wait for the scheduler (default: {cluster.DEFAULT_TIMEOUT:g})")


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("experiments", help="list the experiments: the tutorials' claims, then the calibrations")
    p.set_defaults(func=_list)

    p = sub.add_parser("calibrate", help="reproduce the published results that calibrate the claims' methods "
                       "(exit 1 if one is not reproduced)")
    _sizes(p)
    p.add_argument("--out", default=None, help="write NAME.json and the figures (PNG) into this directory")
    p.set_defaults(func=_calibrate)

    p = sub.add_parser("run", help="run one experiment and print its verdict")
    p.add_argument("name", help="experiment name (see 'actlab experiments')")
    _sizes(p)
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (0 .. N-1)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")
    p.add_argument("--out", default=None, help="write NAME.json and the figures (PNG) into this directory")
    p.add_argument("--robust", action="store_true",
                   help="also run it at quick size with each neighbouring setting and say whether the verdict holds")
    define_option(p)
    p.set_defaults(func=_run)

    p = sub.add_parser("verdicts", help="compare the verdicts of several results.json files (one per size)")
    p.add_argument("results", nargs="+", metavar="RESULTS_JSON", help="results.json files written by actlab report")
    p.set_defaults(func=_verdicts)

    p = sub.add_parser("report", help="run every experiment and write the claims report (HTML + Markdown)")
    _sizes(p)
    p.add_argument("--out", default="report", help="output directory (default: report/)")
    p.add_argument("--robust", action=argparse.BooleanOptionalAction, default=None,
                   help="each verdict at neighbouring settings, at quick size (default: on, off with --quick)")
    define_option(p)
    p.set_defaults(func=_report)


def _list(a: argparse.Namespace) -> int:
    for kind, label in (("claim", "{:3d}"), ("calibration", "C{:<2d}")):
        print("the tutorials' claims:" if kind == "claim" else "\ncalibrations (published results):")
        for n in claims.names(kind):
            e = claims.get(n)
            print(f"{label.format(e.number)}  {n:24s} ({e.tutorial})  {e.claim}")
    return 0


def _calibrate(a: argparse.Namespace) -> int:
    chosen = claims.names("calibration")
    configs = {n: claims.make_config(n, a.size) for n in chosen}  # validated before any work
    if a.out:
        writable_dir(a.out, "--out")
    missed = []
    with _runner(a) as runner:
        for n in chosen:
            res = claims.run(n, a.size, runner=runner, config=configs[n])
            print(f"{n:22s} {res.verdict.verdict:15s} {res.verdict.key}\n{'':22s} ({_cells(res.cells)}, "
                  f"{res.seconds:.1f} s)")
            if a.out:
                res.save(a.out)
            if res.verdict.verdict != claims.REPRODUCED:
                missed.append(n)
    print(f"{len(chosen) - len(missed)} of {len(chosen)} published results reproduced"
          + (f"; not reproduced: {', '.join(missed)} (see 'actlab run NAME' for the reasons)" if missed else ""))
    return 1 if missed else 0


def _scheduler(a: argparse.Namespace) -> str | None:
    """``--scheduler``, else ``$ACTLAB_SCHEDULER``; None (local processes) if empty."""
    address = a.scheduler if a.scheduler is not None else os.environ.get("ACTLAB_SCHEDULER", "")
    return address.strip() or None


@contextlib.contextmanager
def _runner(a: argparse.Namespace) -> Iterator[Runner]:
    """The runner, its cache checked and its scheduler (if any) reached before any work; the
    progress bar only on a terminal (a log or a pipe gets the results and the messages, not
    the bar's redraws). On a cluster, the cells that time themselves still run here, one at
    a time: timings from several machines would not compare."""
    cache = Cache(a.cache or default_cache_path())
    progress = sys.stderr.isatty()
    address = _scheduler(a)
    if address is None:
        with Runner(cache, workers=a.workers, progress=progress) as runner:
            yield runner
        return
    executor = cluster.connect(address, a.scheduler_timeout)
    try:
        if a.workers is not None:
            print(f"actlab {a.command}: note: --workers is ignored with a scheduler (its workers run the cells)",
                  file=sys.stderr)
        print(f"actlab {a.command}: cells go to {executor.describe()}", file=sys.stderr)
        for note in executor.notes():
            print(f"actlab {a.command}: note: {note}", file=sys.stderr)
        with Runner(cache, executor=executor, progress=progress, serial_here=True) as runner:
            yield runner
    finally:
        executor.shutdown(wait=False)


def _cells(c: dict) -> str:
    return f"{c['computed']} computed, {c['cached']} from the cache"


def _run(a: argparse.Namespace) -> int:
    cfg = claims.make_config(a.name, a.size, a.seeds, claims.parse_sets(a.set))  # validates before any work
    if a.out:
        writable_dir(a.out, "--out")  # so is where the results go
    with _runner(a) as runner:
        res = claims.run(a.name, a.size, runner=runner, config=cfg)
        if a.robust:
            res.robustness = claims.robustness(a.name, "quick", runner=runner, base=res)
    print(f"{a.name}: {res.verdict.verdict}\n  key: {res.verdict.key}\n  {res.verdict.reasoning}")
    print(f"  ({res.cells['computed']} cells computed, {res.cells['cached']} from the cache, {res.seconds:.1f} s)")
    if a.robust:
        print("  robustness (quick size):" if res.robustness else "  robustness: no neighbouring settings declared")
        for x in res.robustness:
            print(f"    {x['setting']:>12s} {str(x['value']):<22s} {x['verdict']:24s} "
                  f"{'holds' if x['same'] else 'differs: depends on it'}")
    if a.out:
        paths = res.save(a.out)
        print(f"  wrote {paths[0]} and {len(paths) - 1} figure(s)")
    return 0


def _verdicts(a: argparse.Namespace) -> int:
    print(report.compare_sizes(a.results))
    return 0


def _report(a: argparse.Namespace) -> int:
    with _runner(a) as runner:
        res = report.build(a.out, a.size, runner=runner, robust=a.robust)
        total = dict(runner.stats)
    for r in res["results"]:
        print(f"{r.experiment:24s} {r.verdict.verdict:24s} {r.verdict.key}")
        print(f"{'':24s} ({_cells(r.cells)})")
    rest = {k: total[k] - sum(r.cells[k] for r in res["results"]) for k in ("computed", "cached")}
    print(f"cells: {_cells(total)} in all (the catalogue's figures: {_cells(rest)})")
    print(f"wrote {res['paths']['html']} and {res['paths']['markdown']} in {res['seconds']:.1f} s")
    return 0
