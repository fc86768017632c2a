import os

# Cells run in this process under the tests (SerialExecutor): keep OpenBLAS at one thread,
# as the runner's worker processes are; on a shared 2-core machine a multi-threaded BLAS
# spins against other work and small matmuls run 10-20x slower. Must precede numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# a developer's own cluster must never receive the tests' cells
os.environ.pop("ACTLAB_SCHEDULER", None)

import numpy as np
import pytest

import actlab
from actlab.catalogue.registry import REGISTRY

ELEMENTWISE = [n for n, a in REGISTRY.items() if not a.vector]
VECTOR = [n for n, a in REGISTRY.items() if a.vector]
FLOATS = [np.float32, np.float64]


@pytest.fixture(autouse=True)
def _numpy_errors_raise():
    # Warnings are errors (pyproject). Pin NumPy's default error state so that a test can
    # never pass because some earlier code silenced overflow/invalid/divide globally.
    with np.errstate(divide="warn", over="warn", invalid="warn", under="ignore"):
        yield


def bound(name):
    return actlab.get(name)
