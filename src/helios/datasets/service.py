"""Dataset operations: import a file as a new immutable version, list, read pages, soft delete.

Services take a session and plain arguments and only ``flush()``; the caller commits.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helios.core.artifacts import ArtifactStore
from helios.core.auth import Principal, record_audit
from helios.core.clock import utcnow
from helios.core.errors import Conflict, InvalidInput, NotFound, did_you_mean
from helios.core.events import DatasetVersionCreated, after_commit, publish
from helios.core.parsing import check_slug
from helios.datasets import importers
from helios.datasets.column_mapping import ColumnMapping
from helios.datasets.profile import content_hash, profile
from helios.datasets.schemas import DataPage, ImportRequest
from helios.datasets.tables import Dataset, DatasetVersion
from helios.forecasting.rules import PRESETS

MAX_PAGE = 5000

# Other domains (training jobs, model versions, predictions) register a check, at start-up (see
# ``helios.context.connect_domains``), that names what of theirs still uses any of a dataset's
# versions (given their ids); deleting is refused while any check names something.
ReferenceCheck = Callable[[Session, list[int]], list[str]]
_reference_checks: list[ReferenceCheck] = []


def register_reference_check(check: ReferenceCheck) -> None:
    if check not in _reference_checks:
        _reference_checks.append(check)


# --- import -----------------------------------------------------------------------------------


def import_file(
    session: Session,
    store: ArtifactStore,
    request: ImportRequest,
    raw: bytes,
    actor: Principal,
    *,
    max_bytes: int,
    max_rows: int = importers.DEFAULT_MAX_ROWS,
) -> tuple[Dataset, DatasetVersion, bool]:
    """Parse, validate and store ``raw`` as the next version of dataset ``request.name``.

    Identical content (same hash) returns the existing version with ``created=False``.
    Nothing is stored unless everything validates.
    """
    check_slug(request.name)
    parsed = importers.parse_upload(raw, _import_options(request), max_bytes=max_bytes, max_rows=max_rows)
    digest = content_hash(parsed)
    dataset = _dataset_for_import(session, request, parsed.kind, actor)
    existing = session.scalar(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == dataset.id, DatasetVersion.content_hash == digest
        )
    )
    if existing is not None:
        return dataset, existing, False
    version = _store_version(session, store, dataset, parsed, digest, request, actor)
    record_audit(session, actor, "dataset.import", "dataset", dataset.name, {"version": version.version})
    publish(session, _version_created(dataset, version))
    return dataset, version, True


def _version_created(dataset: Dataset, version: DatasetVersion) -> DatasetVersionCreated:
    return DatasetVersionCreated(
        dataset=dataset.name,
        kind=dataset.kind,
        version=version.version,
        version_id=version.id,
        rows=version.rows,
        series=version.series_count,
        start=version.start,
        end=version.end,
        actor=version.created_by,
    )


def _import_options(request: ImportRequest) -> importers.ImportOptions:
    rules = request.rules
    if rules is None and request.game:
        rules = PRESETS.get(request.game.lower())
        if rules is None:
            known = ", ".join(sorted(PRESETS))
            raise InvalidInput(f"unknown game {request.game!r}; known games: {known}")
    return importers.ImportOptions(
        kind=request.kind,
        format=request.format,
        freq=request.freq,
        start=request.start,
        rules=rules,
        game=request.game,
        mapping=ColumnMapping(
            date_col=request.date_col, id_col=request.id_col, value_col=request.value_col, wide=request.wide
        ),
    )


def _dataset_for_import(session: Session, request: ImportRequest, kind: str, actor: Principal) -> Dataset:
    """The live dataset of that name, locked for this transaction (created if new), so that
    concurrent imports number their versions one after another."""
    dataset = _locked_dataset(session, request.name)
    if dataset is None:
        try:
            with session.begin_nested():
                dataset = Dataset(
                    name=request.name, kind=kind, description=request.description, created_by=actor.name
                )
                session.add(dataset)
        except IntegrityError:
            # A concurrent import created it first; continue as the next version of theirs.
            dataset = _locked_dataset(session, request.name)
            if dataset is None:
                raise
    if dataset.kind != kind:
        raise Conflict(f"dataset {request.name!r} holds {dataset.kind} data; this file is {kind} data")
    elif request.description:
        dataset.description = request.description
    return dataset


def _locked_dataset(session: Session, name: str) -> Dataset | None:
    return session.scalar(
        select(Dataset).where(Dataset.name == name, Dataset.deleted_at.is_(None)).with_for_update()
    )


def _store_version(
    session: Session,
    store: ArtifactStore,
    dataset: Dataset,
    parsed: importers.ParsedData,
    digest: str,
    request: ImportRequest,
    actor: Principal,
) -> DatasetVersion:
    number = (
        session.scalar(
            select(func.max(DatasetVersion.version)).where(DatasetVersion.dataset_id == dataset.id)
        )
        or 0
    ) + 1
    key = f"datasets/{dataset.id}/{digest[:32]}.parquet"
    data = _to_parquet(parsed.frame)
    # The file moves into place once the version's row commits; a failed import leaves only
    # staging behind, for the start-up sweep.
    staged = store.stage_file(key, data)
    after_commit(session, lambda: store.publish(staged, key))
    stats = profile(parsed)
    summary = stats.model_dump(mode="json") if hasattr(stats, "model_dump") else dict(stats)
    version = DatasetVersion(
        dataset_id=dataset.id,
        version=number,
        content_hash=digest,
        artifact_key=key,
        size_bytes=len(data),
        rows=int(summary["rows"]),
        series_count=int(summary.get("series_count") or 0),
        start=_timestamp(summary.get("start")),
        end=_timestamp(summary.get("end")),
        source_format=parsed.format,
        source_filename=request.filename[:255],
        profile=summary,
        rules=parsed.rules.model_dump(mode="json") if parsed.rules else None,
        created_by=actor.name,
    )
    session.add(version)
    session.flush()
    return version


def _timestamp(value: object) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).to_pydatetime()


def _to_parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer, compression="zstd")
    return buffer.getvalue()


# --- reading ----------------------------------------------------------------------------------


def get_dataset(session: Session, name: str) -> Dataset:
    dataset = session.scalar(select(Dataset).where(Dataset.name == name, Dataset.deleted_at.is_(None)))
    if dataset is None:
        known = session.scalars(select(Dataset.name).where(Dataset.deleted_at.is_(None)))
        raise NotFound(f"no dataset named {name!r}{did_you_mean(name, known)}")
    return dataset


def get_version(session: Session, name: str, version: int | str) -> DatasetVersion:
    """``version`` is a number or ``latest``."""
    dataset = get_dataset(session, name)
    query = select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id)
    if str(version) == "latest":
        row = session.scalar(query.order_by(DatasetVersion.version.desc()).limit(1))
    else:
        row = session.scalar(query.where(DatasetVersion.version == _version_number(version)))
    if row is None:
        raise NotFound(f"dataset {name!r} has no version {version}")
    return row


# --- what other domains ask of datasets (they never read its tables) ----------------------------


def get_version_by_id(session: Session, version_id: int) -> DatasetVersion:
    version = session.get(DatasetVersion, version_id)
    if version is None:
        raise NotFound(f"no dataset version #{version_id}")
    return version


def dataset_of(session: Session, version: DatasetVersion) -> Dataset:
    """The dataset a version belongs to (deleted or not: a version outlives its name)."""
    return session.get_one(Dataset, version.dataset_id)


def version_labels(session: Session, version_ids: Iterable[int]) -> dict[int, tuple[str, int]]:
    """Dataset name and version number for each version id, in one query."""
    ids = set(version_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(DatasetVersion.id, Dataset.name, DatasetVersion.version)
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .where(DatasetVersion.id.in_(ids))
    )
    return {version_id: (name, number) for version_id, name, number in rows}


def version_ids_named(name: str) -> Select[tuple[int]]:
    """The ids of the versions of dataset ``name``, as a subquery for ``column.in_(...)``."""
    return (
        select(DatasetVersion.id)
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .where(Dataset.name == name)
    )


def _version_number(version: int | str) -> int:
    try:
        return int(version)
    except ValueError:
        raise InvalidInput(f"version must be a number or 'latest', not {version!r}") from None


def load_frame(store: ArtifactStore, version: DatasetVersion) -> pd.DataFrame:
    """The whole version as a DataFrame (training and predictions read it this way)."""
    return _cached_table(store, version.artifact_key).table.to_pandas()


def read_page(
    session: Session,
    store: ArtifactStore,
    name: str,
    version: int | str,
    *,
    series: list[str] | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    offset: int = 0,
    limit: int = 500,
) -> DataPage:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    if offset < 0:
        raise InvalidInput("offset must not be negative")
    cached = _cached_table(store, get_version(session, name, version).artifact_key)
    selected = cached.select(series, start, end)
    total = selected.num_rows
    page = selected.slice(offset, limit)
    return DataPage(
        columns=page.column_names,
        rows=_json_rows(page),
        total=total,
        offset=offset,
        limit=limit,
        next_offset=offset + limit if offset + limit < total else None,
    )


def _json_rows(table: pa.Table) -> list[list[object]]:
    # Vectorised: timestamps become ISO strings in Arrow; missing floats are already nulls
    # (Table.from_pandas stores NaN as null), so to_pylist gives JSON-ready values.
    columns = []
    for name in table.column_names:
        values = table.column(name)
        if pa.types.is_timestamp(values.type):
            values = pc.strftime(values, format="%Y-%m-%dT%H:%M:%S")
        columns.append(values.to_pylist())
    return [list(row) for row in zip(*columns, strict=True)]


@dataclass
class _CachedVersion:
    """A version's table held in memory (versions are immutable, so caching is always safe),
    with where each series starts, for filtered pages without a scan."""

    table: pa.Table
    series_bounds: dict[str, tuple[int, int]]
    ds: np.ndarray | None

    def select(
        self, series: list[str] | None, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> pa.Table:
        if not series:
            # ds is sorted within each series, not across them: clip dates series by series.
            dated = start is not None or end is not None
            pieces = (
                list(self.series_bounds.values())
                if dated and self.series_bounds
                else [(0, self.table.num_rows)]
            )
        else:
            unknown = [s for s in series if s not in self.series_bounds]
            if unknown:
                raise NotFound(f"no series {', '.join(map(repr, unknown))} in this version")
            pieces = [self.series_bounds[s] for s in series]
        if start is not None or end is not None:
            pieces = [self._clip(lo, hi, start, end) for lo, hi in pieces]
        return pa.concat_tables([self.table.slice(lo, hi - lo) for lo, hi in pieces])

    def _clip(
        self, lo: int, hi: int, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> tuple[int, int]:
        stamps = self.ds[lo:hi]  # sorted by ds within a series
        if start is not None:
            lo = lo + int(np.searchsorted(stamps, np.datetime64(start), side="left"))
        if end is not None:
            hi = lo + int(np.searchsorted(self.ds[lo:hi], np.datetime64(end), side="right"))
        return lo, max(lo, hi)


_CACHE_SIZE = 8
_cache: OrderedDict[str, _CachedVersion] = OrderedDict()
_cache_lock = threading.Lock()


def _cached_table(store: ArtifactStore, key: str) -> _CachedVersion:
    cache_key = f"{store.root}:{key}"
    with _cache_lock:
        if cache_key in _cache:
            _cache.move_to_end(cache_key)
            return _cache[cache_key]
    table = pq.read_table(store.resolve(key))
    entry = _CachedVersion(table, _series_bounds(table), _ds_array(table))
    with _cache_lock:
        _cache[cache_key] = entry
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return entry


def _series_bounds(table: pa.Table) -> dict[str, tuple[int, int]]:
    if "unique_id" not in table.column_names:
        return {}
    ids = table.column("unique_id").to_numpy(zero_copy_only=False)
    if len(ids) == 0:
        return {}
    change = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(ids)]])
    return {str(ids[s]): (int(s), int(e)) for s, e in zip(starts, ends, strict=True)}


def _ds_array(table: pa.Table) -> np.ndarray | None:
    if "ds" not in table.column_names:
        return None
    return table.column("ds").to_numpy().astype("datetime64[ns]")


# --- delete -----------------------------------------------------------------------------------


def delete_dataset(session: Session, name: str, actor: Principal) -> None:
    """Soft delete: the versions and their files stay for lineage, the name becomes free."""
    dataset = get_dataset(session, name)
    version_ids = list(
        session.scalars(select(DatasetVersion.id).where(DatasetVersion.dataset_id == dataset.id))
    )
    users = [user for check in _reference_checks for user in check(session, version_ids)]
    if users:
        raise Conflict(f"dataset {name!r} is still used by {', '.join(users)}; remove those first")
    dataset.deleted_at = utcnow()
    record_audit(session, actor, "dataset.delete", "dataset", name, {})
    session.flush()


def series_frame(
    session: Session, store: ArtifactStore, name: str, version: int, series: str | None
) -> pd.DataFrame:
    """One series (or, for draws, every draw) of a version, for charts."""
    cached = _cached_table(store, get_version(session, name, version).artifact_key)
    return cached.select([series] if series else None, None, None).to_pandas()


def series_names(session: Session, store: ArtifactStore, name: str, version: int) -> list[str]:
    return list(_cached_table(store, get_version(session, name, version).artifact_key).series_bounds)
