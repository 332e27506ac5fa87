"""Throughput benchmarks for the shim and the embedded ledger; run with `python -m benchmarks.run`.

Not part of the pytest suite: every number is a ratio against a baseline measured in the same run,
because absolute timings on a shared two-core machine say little.
"""
