"""/api/v1/ai/models: every model Helios knows, ML and LLM alike. ``{ident}`` is a name or an id."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from helios.api.deps import (
    ContextDep,
    Cursor,
    Editor,
    Limit,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
    StoreDep,
    Viewer,
)
from helios.api.throttle import BUSY, ExpensiveCall
from helios.core.errors import InvalidInput, PayloadTooLarge
from helios.core.pagination import DEFAULT_LIMIT
from helios.core.parsing import json_object
from helios.registry import deployments, service, views
from helios.registry.predict import forecast_rows
from helios.registry.schemas import (
    ActiveAt,
    AliasRequest,
    DeploymentList,
    DeploymentRead,
    DeployRequest,
    Journal,
    Lineage,
    LlmConfig,
    LoadRequest,
    LoadResult,
    ModelChoices,
    ModelCreate,
    ModelDetail,
    ModelInfo,
    ModelKind,
    ModelList,
    ModelUpdate,
    PredictRequest,
    PredictResult,
    RollbackRequest,
    Stage,
    VersionRead,
)

router = APIRouter(prefix="/ai/models", tags=["models"])
CHUNK_BYTES = 1024 * 1024


@router.get("", response_model=ModelList)
def list_models(
    session: ReadSessionDep,
    _: Viewer,
    kind: ModelKind | None = None,
    task: str | None = None,
    stage: Stage | None = None,
    q: Annotated[str | None, Query(max_length=100, description="text in name or description")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ModelList:
    return views.list_models(session, kind=kind, task=task, stage=stage, text=q, cursor=cursor, limit=limit)


@router.post("", response_model=ModelDetail, status_code=status.HTTP_201_CREATED)
def create_model(body: ModelCreate, session: SessionDep, store: StoreDep, actor: Editor) -> ModelDetail:
    model = service.create_model(session, body, actor)
    return views.model_detail(session, store, model)


@router.get("/{ident}", response_model=ModelDetail)
def get_model(ident: str, session: ReadSessionDep, store: StoreDep, _: Viewer) -> ModelDetail:
    return views.model_detail(session, store, service.get_model(session, ident))


@router.patch("/{ident}", response_model=ModelDetail)
def update_model(
    ident: str, body: ModelUpdate, session: SessionDep, store: StoreDep, actor: Editor
) -> ModelDetail:
    model = service.update_model(session, service.get_model(session, ident, lock=True), body, actor)
    return views.model_detail(session, store, model)


@router.delete("/{ident}", status_code=status.HTTP_204_NO_CONTENT)
def delete_model(
    ident: str,
    session: SessionDep,
    context: ContextDep,
    actor: Editor,
    force: Annotated[bool, Query(description="delete even with an active version (admin only)")] = False,
) -> Response:
    service.delete_model(session, context.store, context.inference, ident, actor, force=force)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{ident}/versions", response_model=VersionRead, status_code=status.HTTP_201_CREATED)
async def register_version(
    ident: str,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    actor: Editor,
    files: Annotated[list[UploadFile], File(description="the files of a saved Fitted directory")],
    params: Annotated[str | None, Form(description="JSON object")] = None,
    metrics: Annotated[str | None, Form(description="JSON object")] = None,
    description: Annotated[str, Form()] = "",
    parent_version: Annotated[int | None, Form()] = None,
    code_revision: Annotated[str | None, Form(max_length=64)] = None,
) -> VersionRead:
    """Upload a saved ``Fitted`` directory as the next version; it is verified before it is stored."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "fitted"
        directory.mkdir()
        await _receive_files(files, directory, settings.max_upload_bytes)
        details = {
            "params": json_object(params, "params"),
            "metrics": json_object(metrics, "metrics"),
            "description": description,
            "parent_version": parent_version,
            "code_revision": code_revision,
        }
        # Locking the model row waits for other writers: never on the event loop.
        return await run_in_threadpool(_register, session, store, ident, directory, actor, details)


def _register(session, store, ident, directory, actor, details) -> VersionRead:  # type: ignore[no-untyped-def]
    model = service.get_model(session, ident, lock=True)
    version = service.register_artifact(session, store, model, directory, actor, **details)
    return views.single_version_read(session, store, model, version)


async def _receive_files(files: list[UploadFile], directory: Path, limit: int) -> None:
    """Each file streams to disk in chunks under the one upload limit (HELIOS_MAX_UPLOAD_BYTES)."""
    total = 0
    for upload in files:
        name = upload.filename or ""
        # The client's name only picks among the files a Fitted may hold; it never becomes a path.
        if not service.ARTIFACT_FILE.match(name):
            raise InvalidInput(
                f"artifact file name {name!r} is not accepted: only names like "
                "manifest.json or arrays.safetensors, no folders"
            )
        target = directory / name
        if target.exists():
            raise InvalidInput(f"artifact file {name!r} was sent twice")
        with target.open("wb") as out:
            while chunk := await upload.read(CHUNK_BYTES):
                total += len(chunk)
                if total > limit:
                    raise PayloadTooLarge(
                        f"the artifact is larger than the {limit:,}-byte upload limit "
                        "(HELIOS_MAX_UPLOAD_BYTES)"
                    )
                out.write(chunk)


@router.post("/{ident}/llm-config", response_model=VersionRead, status_code=status.HTTP_201_CREATED)
def add_llm_config(
    ident: str, body: LlmConfig, session: SessionDep, store: StoreDep, actor: Editor
) -> VersionRead:
    """A changed endpoint config becomes the LLM model's next version."""
    model = service.get_model(session, ident, lock=True)
    version = service.add_llm_version(session, model, body, actor)
    return views.single_version_read(session, store, model, version)


@router.get("/{ident}/versions/{version}/files/{filename}", response_class=FileResponse)
def download_file(
    ident: str, version: int, filename: str, session: ReadSessionDep, store: StoreDep, _: Viewer
) -> FileResponse:
    model = service.get_model(session, ident)
    path = service.artifact_file(store, service.get_version(session, model, version), filename)
    return FileResponse(path, filename=filename, media_type="application/octet-stream")


@router.post("/{ident}/deploy", response_model=DeploymentRead)
def deploy(ident: str, body: DeployRequest, session: SessionDep, actor: Editor) -> DeploymentRead:
    return views.deployment_view(
        session, deployments.deploy(session, ident, body.version, body.stage, body.note, actor)
    )


@router.post("/{ident}/rollback", response_model=DeploymentRead)
def rollback(ident: str, body: RollbackRequest, session: SessionDep, actor: Editor) -> DeploymentRead:
    return views.deployment_view(session, deployments.rollback(session, ident, body.note, actor))


@router.get("/{ident}/deployments", response_model=DeploymentList)
def list_deployments(
    ident: str, session: ReadSessionDep, _: Viewer, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> DeploymentList:
    model = service.get_model(session, ident)
    return views.list_deployments(session, model, cursor=cursor, limit=limit)


@router.get("/{ident}/active", response_model=ActiveAt)
def active_at(
    ident: str,
    session: ReadSessionDep,
    _: Viewer,
    at: Annotated[dt.datetime | None, Query(description="default: now")] = None,
) -> ActiveAt:
    """Which version was active at a moment in time."""
    moment = at or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return views.active_at(session, service.get_model(session, ident), moment)


@router.put("/{ident}/aliases/{alias}", response_model=ModelDetail)
def set_alias(
    ident: str, alias: str, body: AliasRequest, session: SessionDep, store: StoreDep, actor: Editor
) -> ModelDetail:
    if body.alias != alias:
        raise InvalidInput(f"the alias in the path ({alias!r}) and the body ({body.alias!r}) differ")
    model = service.get_model(session, ident, lock=True)
    service.set_alias(session, model, alias, body.version, actor)
    return views.model_detail(session, store, model)


@router.delete("/{ident}/aliases/{alias}", status_code=status.HTTP_204_NO_CONTENT)
def remove_alias(ident: str, alias: str, session: SessionDep, actor: Editor) -> Response:
    service.remove_alias(session, service.get_model(session, ident, lock=True), alias, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{ident}/lineage", response_model=Lineage)
def lineage(ident: str, session: ReadSessionDep, _: Viewer) -> Lineage:
    return views.lineage(session, service.get_model(session, ident))


@router.get("/{ident}/journal", response_model=Journal)
def journal(ident: str, session: ReadSessionDep, _: Viewer) -> Journal:
    entries = views.journal(session, service.get_model(session, ident))
    return Journal(items=entries, total=len(entries))


@router.get("/{ident}/info", response_model=ModelInfo)
def info(ident: str, session: ReadSessionDep, context: ContextDep, _: Viewer) -> ModelInfo:
    return views.model_info(session, context.inference, service.get_model(session, ident))


@router.post("/{ident}/load", response_model=LoadResult, responses=BUSY)
def load(
    ident: str,
    body: LoadRequest,
    session: ReadSessionDep,
    context: ContextDep,
    _: Editor,
    __: ExpensiveCall,
) -> LoadResult:
    """Warm a version (default: the active one) into the in-memory inference cache."""
    model = service.get_model(session, ident)
    version = service.get_version(session, model, body.version)
    entry, already, evicted = context.inference.load(context.store, model.name, version)
    return LoadResult(version=entry.version, bytes=entry.bytes, already_loaded=already, evicted=evicted)


@router.post("/{ident}/predict", response_model=PredictResult, responses=BUSY)
def predict(
    ident: str,
    body: PredictRequest,
    session: ReadSessionDep,
    context: ContextDep,
    _: Viewer,
    __: ExpensiveCall,
) -> PredictResult:
    """Forecast from the end of the version's training data (default: the active version)."""
    model = service.get_model(session, ident)
    version = service.get_version(session, model, body.version)
    entry, _, _ = context.inference.load(context.store, model.name, version)
    columns, rows = forecast_rows(entry.fitted, body.horizon, body.levels)
    return PredictResult(model=model.name, version=version.version, columns=columns, rows=rows)


@router.get("/{ident}/choices", response_model=ModelChoices, responses=BUSY)
def choices(
    ident: str,
    session: ReadSessionDep,
    context: ContextDep,
    _: Viewer,
    __: ExpensiveCall,
    version: Annotated[int | None, Query(ge=1, description="default: the active version")] = None,
) -> ModelChoices:
    """What an ``auto`` version chose per series and why, and what each candidate cost (409 for a
    version of any other family: only ``auto`` makes per-series choices)."""
    model = service.get_model(session, ident)
    return views.model_choices(session, context.store, context.inference, model, version)
