"""The claims of the tutorials, measured: the experiment framework
(:mod:`~actlab.claims.framework`), one module per claim (:mod:`actlab.claims.experiments`),
the published results that calibrate the methods (:mod:`actlab.claims.calibrations`),
the cached, resumable runner (:mod:`~actlab.claims.runner`) and the report
(:mod:`~actlab.claims.report`).
"""

from . import calibrations, experiments  # noqa: F401  (registers every claim and calibration)
from .framework import (
    CAVEATS,
    CONFIRMED,
    EXPERIMENTS,
    NOT_REPRODUCED,
    REFUTED,
    REPRODUCED,
    SIZES,
    VERDICTS,
    Experiment,
    Figure,
    Outcome,
    Result,
    Verdict,
    get,
    make_config,
    names,
    parse_sets,
    register,
    robustness,
    run,
)

__all__ = [
    "CAVEATS", "CONFIRMED", "EXPERIMENTS", "NOT_REPRODUCED", "REFUTED", "REPRODUCED", "SIZES", "VERDICTS",
    "Experiment", "Figure", "Outcome",
    "Result", "Verdict", "get", "make_config", "names", "parse_sets", "register", "robustness", "run",
]
