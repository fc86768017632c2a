"""Wall time of one experiment on a local Dask cluster of 1 and of 2 workers (a benchmark, not a test).

    .venv/bin/python benchmarks/cluster_speedup.py [--experiment dying_relu] [--size default] [--seeds 1]
        [--workers 1 2] [--repeat 3] [--trim] [--no-local] [--out FILE.json]

For each worker count: a ``distributed.LocalCluster`` of that many worker processes with
one thread each, started as docs/cluster.md recommends (without Dask's
``MALLOC_TRIM_THRESHOLD_``; ``--trim``: also with it), reached through
``actlab.claims.cluster.connect``; as a control, actlab's own process pool of as many
workers (``--no-local``: without it), which shows the speedup the machine itself gives at
the moment. Every run computes every cell (an empty in-memory cache). One warm-up round
(workers start, import actlab, load the data), then ``--repeat`` rounds, the runs
interleaved so that a change in the machine's load hits all alike. Wall time is the whole
``claims.run`` (sending, computing, gathering, the figures drawn here). Prints a Markdown
table (best and median wall time; speedup against the first worker count of the same
backend) and checks that every run gave the same numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import statistics
import sys
import time

from actlab import claims
from actlab._io import to_jsonable, write_atomic
from actlab.claims import cluster
from actlab.claims.runner import Cache, Runner, package_version


def _cpu() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experiment", default="dying_relu")
    p.add_argument("--size", default="default", choices=claims.SIZES)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-local", dest="local", action="store_false",
                   help="skip the control: the same runs on actlab's own process pool")
    p.add_argument("--trim", action="store_true",
                   help="also run on workers with Dask's default MALLOC_TRIM_THRESHOLD_ (slower: docs/cluster.md)")
    p.add_argument("--out", default=None, help="also write the figures as JSON to this file")
    a = p.parse_args(argv)
    import dask
    import distributed

    cfg = claims.make_config(a.experiment, a.size, a.seeds)
    load_before = os.getloadavg()[0]
    # (backend, workers) -> wall times; the local process pool is the control: the speedup
    # the machine gives at the moment, without Dask
    backends = ["dask", "dask-trim"] if a.trim else ["dask"]
    runs = [(b, n) for b in backends for n in a.workers] + ([("local", n) for n in a.workers] if a.local else [])
    times: dict[tuple[str, int], list[float]] = {r: [] for r in runs}
    cells: dict[tuple[str, int], int] = {}
    numbers = []
    with contextlib.ExitStack() as stack:
        runners = {}
        for backend, n in runs:
            if backend.startswith("dask"):
                # "dask": workers started as docs/cluster.md says (no MALLOC_TRIM_THRESHOLD_);
                # "dask-trim": with Dask's default environment
                key = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
                trim = {} if backend == "dask-trim" else {key: None}
                with dask.config.set(trim):
                    lc = stack.enter_context(distributed.LocalCluster(
                        n_workers=n, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                        silence_logs=logging.ERROR))
                ex = stack.enter_context(cluster.connect(lc.scheduler_address))
                ex.client.run(package_version)  # the workers import actlab before the clock starts
                runners[backend, n] = lambda ex=ex: Runner(None, executor=ex, progress=False)
            else:
                pool = stack.enter_context(Runner(None, workers=n, progress=False))  # its workers live across runs
                runners[backend, n] = lambda pool=pool: pool
        for rep in range(a.repeat + 1):  # interleaved: a change in the machine's load hits every run alike
            for run in runs:
                runner = runners[run]()
                runner.cache = Cache(None)  # every cell computed
                t = time.perf_counter()
                res = claims.run(a.experiment, a.size, runner=runner, config=cfg)
                seconds = time.perf_counter() - t
                print(f"{run[0]} {run[1]} worker(s): {seconds:.1f} s{' (warm-up, not counted)' if rep == 0 else ''}",
                      file=sys.stderr)
                if rep:  # the first round warms up: workers started, data loaded
                    times[run].append(seconds)
                cells[run] = res.cells["computed"]
                numbers.append(json.dumps(to_jsonable(res.outcome.numbers), sort_keys=True))
    rows = [{"backend": b, "workers": n, "cells": cells[b, n], "seconds": times[b, n], "best": min(times[b, n]),
             "median": statistics.median(times[b, n])} for b, n in runs]
    same = len(set(numbers)) == 1
    for r in rows:
        base = next(x for x in rows if x["backend"] == r["backend"])  # its first worker count
        r["speedup"] = base["best"] / r["best"]
        r["speedup_median"] = base["median"] / r["median"]
    command = "python benchmarks/cluster_speedup.py " + " ".join(argv if argv is not None else sys.argv[1:])
    env = {"cpu": f"{_cpu()} ({os.cpu_count()} logical cores)", "load average before": load_before,
           "load average after": os.getloadavg()[0],
           "python": platform.python_version(), "dask": distributed.__version__,
           "date": time.strftime("%Y-%m-%d %H:%M %Z")}
    print(f"`{command.strip()}`: {a.experiment} at size {a.size}, {a.seeds} seeds, {rows[0]['cells']} cells; "
          f"{env['cpu']}; load average {load_before:.1f} before, {env['load average after']:.1f} after\n")
    print(f"| cells run by | workers | wall time, best of {a.repeat} | median | speedup (best) | speedup (median) |")
    print("|---|---:|---:|---:|---:|---:|")
    names = {"dask": "Dask LocalCluster, workers as docs/cluster.md says",
             "dask-trim": "Dask LocalCluster, Dask's default MALLOC_TRIM_THRESHOLD_",
             "local": "actlab's process pool (no Dask)"}
    for r in rows:
        print(f"| {names[r['backend']]} | {r['workers']} | {r['best']:.1f} s | {r['median']:.1f} s | "
              f"{r['speedup']:.2f}x | {r['speedup_median']:.2f}x |")
    print(f"\nsame numbers in every run: {'yes' if same else 'NO'}")
    if a.out:
        os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
        write_atomic(a.out, json.dumps({"command": command.strip(), "rows": rows, "same_numbers": same,
                                        "environment": env}, indent=1))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
