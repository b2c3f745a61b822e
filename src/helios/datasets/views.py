"""Read views of datasets: rows -> schemas. Routers, the UI and the CLI read datasets through here."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helios.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, Keyset, count, every
from helios.datasets.schemas import DatasetList, DatasetRead, DatasetVersionRead, ImportResult, VersionList
from helios.datasets.service import get_dataset, get_version
from helios.datasets.tables import Dataset, DatasetVersion

DATASETS = Keyset("datasets", (Dataset.name,))
VERSIONS = Keyset("dataset-versions", (DatasetVersion.version,), descending=True)


def list_datasets(
    session: Session, *, kind: str | None = None, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> DatasetList:
    query = select(Dataset).where(Dataset.deleted_at.is_(None))
    if kind:
        query = query.where(Dataset.kind == kind)
    datasets, next_cursor = DATASETS.page(session, query, cursor=cursor, limit=limit)
    return DatasetList(items=dataset_reads(session, datasets), next_cursor=next_cursor)


def all_datasets(session: Session, *, kind: str | None = None) -> list[DatasetRead]:
    """Every live dataset, for in-process callers that show the whole list (UI, CLI)."""
    return list(every(lambda c: list_datasets(session, kind=kind, cursor=c, limit=MAX_LIMIT)))


def all_versions(session: Session, name: str) -> list[DatasetVersionRead]:
    """Every version of a dataset, newest first, for in-process callers (UI, CLI)."""
    return list(every(lambda c: list_versions(session, name, cursor=c, limit=MAX_LIMIT)))


def dataset_read(session: Session, name: str) -> DatasetRead:
    return dataset_reads(session, [get_dataset(session, name)])[0]


def dataset_reads(session: Session, datasets: list[Dataset]) -> list[DatasetRead]:
    ids = [d.id for d in datasets]
    latest, counts = _latest_versions(session, ids), _version_counts(session, ids)
    return [_dataset_read(d, latest.get(d.id), counts.get(d.id, 0)) for d in datasets]


def list_versions(
    session: Session, name: str, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> VersionList:
    """A dataset's versions, newest first; ``total`` is its version count."""
    dataset = get_dataset(session, name)
    query = select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id)
    rows, next_cursor = VERSIONS.page(session, query, cursor=cursor, limit=limit)
    return VersionList(
        items=[version_read(v) for v in rows], next_cursor=next_cursor, total=count(session, query)
    )


def version_read(version: DatasetVersion) -> DatasetVersionRead:
    return DatasetVersionRead.model_validate(version)


def get_version_read(session: Session, name: str, version: int | str) -> DatasetVersionRead:
    """``version`` is a number or ``latest``."""
    return version_read(get_version(session, name, version))


def import_result(session: Session, dataset: Dataset, version: DatasetVersion, created: bool) -> ImportResult:
    return ImportResult(
        dataset=dataset_reads(session, [dataset])[0], version=version_read(version), created=created
    )


def _dataset_read(dataset: Dataset, latest: DatasetVersion | None, versions: int) -> DatasetRead:
    return DatasetRead(
        name=dataset.name,
        kind=dataset.kind,  # type: ignore[arg-type]
        description=dataset.description,
        created_at=dataset.created_at,
        created_by=dataset.created_by,
        version_count=versions,
        latest=version_read(latest) if latest else None,
    )


def _latest_versions(session: Session, ids: list[int]) -> dict[int, DatasetVersion]:
    if not ids:
        return {}
    newest = (
        select(DatasetVersion.dataset_id, func.max(DatasetVersion.version).label("v"))
        .where(DatasetVersion.dataset_id.in_(ids))
        .group_by(DatasetVersion.dataset_id)
        .subquery()
    )
    rows = session.scalars(
        select(DatasetVersion).join(
            newest,
            (DatasetVersion.dataset_id == newest.c.dataset_id) & (DatasetVersion.version == newest.c.v),
        )
    )
    return {row.dataset_id: row for row in rows}


def _version_counts(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(
        select(DatasetVersion.dataset_id, func.count())
        .where(DatasetVersion.dataset_id.in_(ids))
        .group_by(DatasetVersion.dataset_id)
    )
    return {dataset_id: n for dataset_id, n in rows}
