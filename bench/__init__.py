"""Benchmarks that print figures measured in one run (see docs/performance.md)."""
