"""Benchmarks: speed is measured here, never asserted in tests. :mod:`~actlab.bench.kernels`
times every catalogue kernel against the tutorials' naive NumPy, PyTorch and a memory copy;
:mod:`~actlab.bench.training` times training steps against PyTorch and the sgemm rate.
"""
