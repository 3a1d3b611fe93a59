"""Offline tooling: benchmarks, model fitting, dataset readers (imports the runtime, never imported by it)."""
