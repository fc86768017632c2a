"""Accuracy, time and memory of full MNIST training with the engine (a benchmark, not a test).

    .venv/bin/python benchmarks/train_accuracy.py [--seeds 0 1 2] [--archs 784-64-10 784-256-256-10]
        [--optimizer sgd] [--lr 0.1] [--momentum 0.9] [--epochs 5] [--out results/bench/train_accuracy.json]

Per architecture and seed: ReLU, He init, batch 128, test accuracy after each epoch.
Reports mean and spread (min, max, std) of the final test accuracy over seeds, wall time,
examples/s, the peak resident memory of the process (getrusage) and the traced Python/
NumPy memory (tracemalloc) after step 50, at the end of epoch 2 and at the last step. The
first evaluation (end of epoch 1) allocates the buffers for the evaluation chunk once;
equal values at the end of epoch 2 and at the last step mean no per-step growth.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import tracemalloc

from actlab import nn
from actlab._io import write_atomic
from actlab.data import load_mnist


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--archs", nargs="+", default=["784-64-10", "784-256-256-10"])
    p.add_argument("--optimizer", default="sgd")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--out", default="results/bench/train_accuracy.json")
    a = p.parse_args(argv)
    X, y = load_mnist(split="train")
    Xt, yt = load_mnist(split="test")
    rows = []
    for arch in a.archs:
        accs = []
        for seed in a.seeds:
            model = nn.mlp(arch, activation="relu", init="he", seed=seed)
            mem: dict[int, int] = {}
            total = a.epochs * -(-len(X) // a.batch_size)

            marks = (50, 2 * (total // a.epochs), total)

            def watch(step, m, loss):
                if step in marks:
                    mem[step] = tracemalloc.get_traced_memory()[0]

            tracemalloc.start()
            t = time.perf_counter()
            h = nn.fit(model, X, y, optimizer=a.optimizer, lr=a.lr, momentum=a.momentum, epochs=a.epochs,
                       batch_size=a.batch_size, seed=seed, val=(Xt, yt), progress=False, callback=watch)
            seconds = time.perf_counter() - t
            tracemalloc.stop()
            acc = h.epochs[-1]["val_acc"]
            accs.append(acc)
            train_s = sum(r["seconds"] for r in h.epochs)
            row = {"arch": arch, "seed": seed, "test_acc": acc, "per_epoch_test_acc": [r["val_acc"] for r in h.epochs],
                   "wall_s": seconds, "train_examples_per_s": a.epochs * len(X) / train_s,
                   "traced_bytes_step50": mem.get(50), "traced_bytes_epoch2": mem.get(marks[1]),
                   "traced_bytes_last": mem.get(total),
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "stopped": h.stopped}
            rows.append(row)
            print(json.dumps(row), flush=True)
        print(f"{arch}: test accuracy mean {statistics.mean(accs):.4f}  min {min(accs):.4f}  max {max(accs):.4f}  "
              f"std {statistics.pstdev(accs):.4f} over seeds {a.seeds}", flush=True)
    write_atomic(a.out, json.dumps({"args": vars(a), "rows": rows, "command": " ".join(sys.argv)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
