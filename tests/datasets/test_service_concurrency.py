"""Concurrent imports into one dataset: every version is kept, numbered without gaps or twins."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from helios.context import AppContext
from helios.core.auth import LOCAL_USER
from helios.datasets import service, views
from helios.datasets.schemas import ImportRequest
from helios.datasets.tables import DatasetVersion


def _csv(i: int) -> bytes:
    return f"unique_id,ds,y\nA,2024-01-01,{i}\nA,2024-01-02,{i + 1}\nA,2024-01-03,{i + 2}\n".encode()


def _import(context: AppContext, i: int) -> int:
    with context.db.transaction() as session:
        _, version, _ = service.import_file(
            session, context.store, ImportRequest(name="race"), _csv(i), LOCAL_USER, max_bytes=10_000
        )
        return version.version


def test_concurrent_imports_number_versions_one_after_another(context: AppContext) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = sorted(pool.map(lambda i: _import(context, i), range(6)))
    assert numbers == [1, 2, 3, 4, 5, 6]
    with context.db.reading() as session:
        hashes = session.scalars(select(DatasetVersion.content_hash)).all()
        datasets = views.list_datasets(session).items
    assert len(set(hashes)) == 6
    assert len(datasets) == 1 and datasets[0].version_count == 6


def test_a_failed_import_leaves_nothing(context: AppContext) -> None:
    import pytest

    from helios.core.errors import InvalidInput

    with pytest.raises(InvalidInput), context.db.transaction() as session:
        service.import_file(
            session,
            context.store,
            ImportRequest(name="broken"),
            b"unique_id,ds,y\nA,x,1\n",
            LOCAL_USER,
            max_bytes=10_000,
        )
    with context.db.reading() as session:
        assert views.list_datasets(session).items == []
    assert not list(context.store.root.rglob("*.parquet"))
