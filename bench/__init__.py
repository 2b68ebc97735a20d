"""Benchmarks: each reports our path against a baseline measured in the same run."""
