"""The benchmark suite: the pytest-benchmark files (``bench_*.py``) and the plumbing they share
(profiles, data, the harness, the memory probe, pinned processes, the run's record)."""
