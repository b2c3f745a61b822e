"""Registers every page: importing a page module defines its routes."""

from helios.ui import agents, datasets, home, memory_graph, model_registry, model_training  # noqa: F401
from helios.ui import assistant_config  # noqa: F401
