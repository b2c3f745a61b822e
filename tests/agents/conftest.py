from __future__ import annotations

import pytest

from helios.core.auth import LOCAL_USER


@pytest.fixture
def actor():  # type: ignore[no-untyped-def]
    return LOCAL_USER
