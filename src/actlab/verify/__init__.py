"""What actlab is checked against: mpmath references at 50 digits
(:mod:`~actlab.verify.reference`), errors in ulp over a grid of hard inputs
(:mod:`~actlab.verify.accuracy`), the tutorials' naive NumPy formulas
(:mod:`~actlab.verify.naive`) and PyTorch's functions (:mod:`~actlab.verify.peers`).

The engine never imports this room (mpmath stays out of ``actlab.nn``); the tests, the
accuracy table, the benchmarks and the claims report do.
"""
