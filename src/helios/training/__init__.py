"""Training jobs: launch, run in worker processes (or on Ray), watch, stop, compare."""
