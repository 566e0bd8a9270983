"""Benchmarks of the console against the floor and the usual Python alternative (issue 6).

Run with `scripts/bench [--quick]`; see docs/benchmarks.md.
"""
