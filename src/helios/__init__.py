"""Helios: a self-hosted control room for forecasting agents."""

__version__ = "0.1.0"
