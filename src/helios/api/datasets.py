from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from helios.api.deps import (
    Cursor,
    Editor,
    Limit,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
    StoreDep,
    Viewer,
)
from helios.core.errors import InvalidInput, PayloadTooLarge
from helios.core.pagination import DEFAULT_LIMIT
from helios.core.parsing import SLUG_SCHEMA, load_json
from helios.datasets import service, views
from helios.datasets.export import MEDIA_TYPES, ExportFormat, export_version
from helios.datasets.schemas import (
    DataPage,
    DatasetKind,
    DatasetList,
    DatasetRead,
    DatasetVersionRead,
    ImportFormat,
    ImportRequest,
    ImportResult,
    VersionList,
)
from helios.forecasting.rules import GameRules

router = APIRouter(prefix="/datasets", tags=["datasets"])
CHUNK = 1024 * 1024


@router.get("", response_model=DatasetList)
def list_datasets(
    session: ReadSessionDep,
    _: Viewer,
    kind: DatasetKind | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> DatasetList:
    return views.list_datasets(session, kind=kind, cursor=cursor, limit=limit)


@router.post("", response_model=ImportResult, status_code=status.HTTP_201_CREATED)
async def import_dataset(
    request: Request,
    response: Response,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    actor: Editor,
    file: Annotated[UploadFile, File(description="CSV or Parquet file")],
    name: Annotated[str, Form(description="dataset slug", json_schema_extra=SLUG_SCHEMA)],
    kind: Annotated[DatasetKind, Form()] = "timeseries",
    format: Annotated[ImportFormat, Form()] = "auto",
    description: Annotated[str, Form()] = "",
    freq: Annotated[str | None, Form(description="m4-wide: frequency alias")] = None,
    start: Annotated[dt.date | None, Form(description="m4-wide: first timestamp")] = None,
    game: Annotated[str | None, Form(description="draws: preset rules, e.g. powerball")] = None,
    rules: Annotated[str | None, Form(description="draws: GameRules as JSON")] = None,
    date_col: Annotated[str | None, Form(description="column mapping: the column holding the dates")] = None,
    id_col: Annotated[str | None, Form(description="column mapping: the column naming each series")] = None,
    value_col: Annotated[
        str | None, Form(description="column mapping: the column holding the values")
    ] = None,
    wide: Annotated[bool, Form(description="one column per series beside the date column")] = False,
) -> ImportResult:
    raw = await _read_limited(file, settings.max_upload_bytes)
    import_request = ImportRequest(
        name=name,
        kind=kind,
        format=format,
        description=description,
        freq=freq or None,
        start=start,
        game=game or None,
        rules=_parse_rules(rules),
        filename=file.filename or "",
        date_col=date_col or None,
        id_col=id_col or None,
        value_col=value_col or None,
        wide=wide,
    )
    dataset, version, created = await _run_import(session, store, import_request, raw, actor, settings)
    if not created:
        response.status_code = status.HTTP_200_OK
    return await run_in_threadpool(views.import_result, session, dataset, version, created)


async def _run_import(session, store, import_request, raw, actor, settings):  # type: ignore[no-untyped-def]
    # Parsing a large file is CPU work, and the import locks the dataset: keep both off the event loop.
    return await run_in_threadpool(
        partial(
            service.import_file,
            max_bytes=settings.max_upload_bytes,
            max_rows=settings.max_import_rows,
        ),
        session,
        store,
        import_request,
        raw,
        actor,
    )


async def _read_limited(file: UploadFile, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await file.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"the file is larger than the {limit:,}-byte upload limit (HELIOS_MAX_UPLOAD_BYTES)"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_rules(raw: str | None) -> GameRules | None:
    if not raw:
        return None
    try:
        return GameRules.model_validate(load_json(raw, "rules"))
    except ValidationError as exc:
        raise InvalidInput(f"rules are not valid game rules JSON: {exc}") from None


@router.get("/{name}", response_model=DatasetRead)
def get_dataset(name: str, session: ReadSessionDep, _: Viewer) -> DatasetRead:
    return views.dataset_read(session, name)


@router.get("/{name}/versions", response_model=VersionList)
def list_versions(
    name: str, session: ReadSessionDep, _: Viewer, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> VersionList:
    return views.list_versions(session, name, cursor=cursor, limit=limit)


@router.get("/{name}/versions/{version}", response_model=DatasetVersionRead)
def get_version(name: str, version: str, session: ReadSessionDep, _: Viewer) -> DatasetVersionRead:
    return views.get_version_read(session, name, version)


@router.get("/{name}/versions/{version}/data", response_model=DataPage)
def read_data(
    name: str,
    version: str,
    session: ReadSessionDep,
    store: StoreDep,
    _: Viewer,
    series: Annotated[list[str] | None, Query(description="keep only these series (repeatable)")] = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 500,
) -> DataPage:
    return service.read_page(
        session,
        store,
        name,
        version,
        series=series,
        start=_naive(start),
        end=_naive(end),
        offset=offset,
        limit=limit,
    )


def _naive(value: dt.datetime | None):  # type: ignore[no-untyped-def]
    import pandas as pd

    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp


@router.get(
    "/{name}/versions/{version}/download",
    response_class=StreamingResponse,
    responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}},
)
def download_version(
    name: str,
    version: str,
    session: ReadSessionDep,
    store: StoreDep,
    _: Viewer,
    format: Annotated[ExportFormat, Query(description="csv or parquet")] = "csv",
) -> StreamingResponse:
    """The whole version as a file: CSV (re-importable as it is) or Parquet, streamed."""
    exported = export_version(session, store, name, version, format)
    return StreamingResponse(
        exported.chunks,
        media_type=exported.media_type,
        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
    )


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dataset(name: str, session: SessionDep, actor: Editor) -> Response:
    service.delete_dataset(session, name, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
