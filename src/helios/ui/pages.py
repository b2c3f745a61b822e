"""Registers every page: importing a page module defines its routes."""

from helios.ui import datasets, home, model_registry, model_training  # noqa: F401
from helios.ui import assistant_config  # noqa: F401
