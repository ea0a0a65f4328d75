"""Benchmarks: run each script from the repository root (see README.md here)."""
