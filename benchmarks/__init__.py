"""Benchmarks: one command each, every figure measured side by side in one run."""
