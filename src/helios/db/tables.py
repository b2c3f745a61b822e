"""Imports every domain's tables so ``Base.metadata`` is complete (Alembic, create_all)."""

from helios.agents import tables as agent_tables  # noqa: F401
from helios.assistants import tables as assistant_tables  # noqa: F401
from helios.core import tables as core_tables  # noqa: F401
from helios.datasets import tables as dataset_tables  # noqa: F401
from helios.db.base import Base
from helios.memory import tables as memory_tables  # noqa: F401
from helios.predictions import tables as prediction_tables  # noqa: F401
from helios.registry import tables as registry_tables  # noqa: F401
from helios.training import tables as training_tables  # noqa: F401

metadata = Base.metadata
