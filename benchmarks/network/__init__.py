"""Throughput on the real Fabric network: see benchmarks/README.md (`python -m benchmarks.network`)."""
