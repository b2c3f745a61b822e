"""Registers every page: importing a page module defines its routes."""

from helios.ui import (  # noqa: F401
    agents,
    assistant_config,  # noqa: F401
    datasets,
    home,
    memory_graph,
    model_registry,
    model_training,
    prediction_dashboard,
)
