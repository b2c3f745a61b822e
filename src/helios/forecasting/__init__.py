"""Pure forecasting: model families, metrics, conformal intervals, backtests.

Imports nothing else of Helios: no database, no HTTP. Training jobs, the registry and
predictions call into it with DataFrames in long format (``unique_id, ds, y``).
"""
