import numpy as np
import pytest

import actlab
from actlab.registry import REGISTRY

ELEMENTWISE = [n for n, a in REGISTRY.items() if not a.vector]
VECTOR = [n for n, a in REGISTRY.items() if a.vector]
FLOATS = [np.float32, np.float64]


@pytest.fixture(autouse=True)
def _numpy_errors_raise():
    # warnings are errors (pyproject); make NumPy's floating-point events visible too
    with np.errstate(all="warn"):
        yield


def bound(name):
    return actlab.get(name)
