"""Self-gated activations x·g(x): GELU (exact and tanh approximation), SiLU/Swish, Mish,
and their relatives."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from ..registry import Param, activation

inf = math.inf
