"""Benchmarks of the ladder (pytest-benchmark) and the report that turns their results into a lesson."""
