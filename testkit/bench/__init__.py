"""Benchmarks: `python -m bench` (offline preview and gate) and `python -m bench.lambda_launch`."""
