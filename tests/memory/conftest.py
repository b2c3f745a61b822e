from __future__ import annotations

from collections.abc import Iterator

import pytest

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from tests.memory.fakes import fake_runtime


@pytest.fixture
def memory_context(context: AppContext) -> Iterator[AppContext]:
    context.memory = fake_runtime()
    yield context


@pytest.fixture
def actor():  # type: ignore[no-untyped-def]
    return LOCAL_USER
