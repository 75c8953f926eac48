"""Benchmarks that print ratios against named peers; run them all with `python -m bench`.

Each `bench_*.py` module here exposes `main()`, which prints a small table.
No test assertions here: benchmarks measure, tests judge.
"""
