"""Every elementwise catalogue entry written in the formula language.

The symbolic side needs to see inside a catalogue call in two places: limits at +-inf
(SymPy cannot take the limit of an opaque function) and the mpmath reference of a
formula (which evaluates the formula as the user wrote it, catalogue calls included,
from these definitions). The kernels never use them: a catalogue call in a kernel is the
registry's own f, f' and f''. The tests check each form against the catalogue.

The forms are the plain definitions (``log(1 + exp(x))``), as a user would write them;
the mpmath evaluator raises its precision until they are exact.
"""

from __future__ import annotations

CLOSED_FORMS: dict[str, str] = {
    "gelu": "x * erfc(-x / sqrt(2)) / 2",
    "gelu_tanh": "x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x ** 3))) / 2",
    "silu": "x / (1 + exp(-beta * x))",
    "mish": "x * tanh(log(1 + exp(x)))",
    "identity": "x",
    "step": "where(x > 0, 1, 0)",
    "relu": "max(x, 0)",
    "relu6": "min(max(x, 0), 6)",
    "leaky_relu": "where(x >= 0, x, slope * x)",
    "prelu": "where(x >= 0, x, slope * x)",
    "rrelu": "where(x >= 0, x, (lower + upper) / 2 * x)",
    "threshold": "where(x > threshold, x, value)",
    "thresholded_relu": "where(x > theta, x, 0)",
    "hard_tanh": "min(max(x, min_val), max_val)",
    "hard_sigmoid": "min(max(x + 3, 0), 6) / 6",
    "hard_silu": "x * min(max(x + 3, 0), 6) / 6",
    "hard_shrink": "where(abs(x) > lambd, x, 0)",
    "soft_shrink": "where(x > lambd, x - lambd, where(x < -lambd, x + lambd, 0))",
    "sparse_sigmoid": "min(max(x + 1, 0), 2) / 2",
    "sparse_plus": "where(x <= -1, 0, where(x < 1, (x + 1) ** 2 / 4, x))",
    "sigmoid": "1 / (1 + exp(-x))",
    "log_sigmoid": "-log(1 + exp(-x))",
    "tanh": "tanh(x)",
    "tanh_shrink": "x - tanh(x)",
    "softsign": "x / (1 + abs(x))",
    "arctan": "atan(x)",
    "softplus": "log(1 + exp(beta * x)) / beta",
    "elu": "where(x > 0, x, alpha * (exp(x) - 1))",
    # SELU's constants as the catalogue has them: the float64 values of the paper's, exactly
    "selu": "1.050700987355480453544487318140454590320587158203125 * where(x > 0, x, "
            "1.6732632423543771782448175144963897764682769775390625 * (exp(x) - 1))",
    "celu": "where(x > 0, x, alpha * (exp(x / alpha) - 1))",
    "exponential": "exp(x)",
    "log1mexp": "log(1 - exp(-x))",
    "squareplus": "(x + sqrt(x ** 2 + b)) / 2",
    "bent_identity": "(sqrt(x ** 2 + 1) - 1) / 2 + x",
    "sinusoid": "sin(x)",
    "gaussian": "exp(-x ** 2)",
}
