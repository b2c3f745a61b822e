"""/api/v1/ai-assistant: assistants, their prompts (``{id}`` = the assistant's name), versions,
labels, diffs, rendering and the server-wide config. Chat, tests and experiments are in
``assistant_chat`` and ``assistant_experiments``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from helios.api.deps import Admin, Cursor, Editor, Limit, ReadSessionDep, SessionDep, Viewer
from helios.assistants import prompts, service, views
from helios.assistants.schemas import (
    LABEL,
    AssistantConfig,
    AssistantConfigUpdate,
    AssistantCreate,
    AssistantList,
    AssistantRead,
    AssistantUpdate,
    CallList,
    LabelMove,
    LabelRead,
    PromptDiff,
    PromptList,
    PromptSummary,
    PromptVersionCreate,
    PromptVersionList,
    PromptVersionRead,
    RenderedPrompt,
    RenderRequest,
)
from helios.core.pagination import DEFAULT_LIMIT

router = APIRouter(prefix="/ai-assistant", tags=["assistants"])
PROBLEMS = {404: {"description": "no such assistant or version"}, 422: {"description": "invalid input"}}
Label = Annotated[str, Path(pattern=LABEL, description="production, staging or any name")]


# --- config ------------------------------------------------------------------------------------


@router.get("/config", response_model=AssistantConfig)
def get_config(session: ReadSessionDep, _: Viewer) -> AssistantConfig:
    return views.config_read(service.read_config(session))


@router.put("/config", response_model=AssistantConfig, responses=PROBLEMS)
def put_config(body: AssistantConfigUpdate, session: SessionDep, actor: Admin) -> AssistantConfig:
    return views.config_read(service.update_config(session, body, actor))


# --- assistants --------------------------------------------------------------------------------


@router.get("/assistants", response_model=AssistantList)
def list_assistants(
    session: ReadSessionDep, _: Viewer, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> AssistantList:
    return views.list_assistants(session, cursor=cursor, limit=limit)


@router.post(
    "/assistants", response_model=AssistantRead, status_code=status.HTTP_201_CREATED, responses=PROBLEMS
)
def create_assistant(body: AssistantCreate, session: SessionDep, actor: Editor) -> AssistantRead:
    return views.assistant_read(session, service.create_assistant(session, body, actor))


@router.get("/assistants/{name}", response_model=AssistantRead, responses=PROBLEMS)
def get_assistant(name: str, session: ReadSessionDep, _: Viewer) -> AssistantRead:
    return views.assistant_read(session, service.get_assistant(session, name))


@router.patch("/assistants/{name}", response_model=AssistantRead, responses=PROBLEMS)
def update_assistant(name: str, body: AssistantUpdate, session: SessionDep, actor: Editor) -> AssistantRead:
    assistant = service.update_assistant(session, service.get_assistant(session, name), body, actor)
    return views.assistant_read(session, assistant)


@router.delete("/assistants/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
def delete_assistant(name: str, session: SessionDep, actor: Editor) -> Response:
    service.delete_assistant(session, service.get_assistant(session, name), actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/assistants/{name}/calls", response_model=CallList, responses=PROBLEMS)
def list_calls(
    name: str, session: ReadSessionDep, _: Viewer, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> CallList:
    return views.list_calls(session, service.get_assistant(session, name), cursor=cursor, limit=limit)


# --- prompts -----------------------------------------------------------------------------------


@router.get("/prompts", response_model=PromptList)
def list_prompts(
    session: ReadSessionDep, _: Viewer, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> PromptList:
    return views.list_prompts(session, cursor=cursor, limit=limit)


@router.get("/prompts/{id}", response_model=PromptSummary, responses=PROBLEMS)
def get_prompt(id: str, session: ReadSessionDep, _: Viewer) -> PromptSummary:
    assistant = service.get_assistant(session, id)
    return views.prompt_summary(session, assistant)


@router.put(
    "/prompts/{id}", response_model=PromptVersionRead, status_code=status.HTTP_201_CREATED, responses=PROBLEMS
)
def save_prompt(id: str, body: PromptVersionCreate, session: SessionDep, actor: Editor) -> PromptVersionRead:
    """Save a new immutable version of the assistant's prompt."""
    assistant = service.get_assistant(session, id)
    return views.version_read(session, assistant, service.save_version(session, assistant, body, actor))


@router.get("/prompts/{id}/versions", response_model=PromptVersionList, responses=PROBLEMS)
def list_versions(
    id: str, session: ReadSessionDep, _: Viewer, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> PromptVersionList:
    return views.list_versions(session, service.get_assistant(session, id), cursor=cursor, limit=limit)


@router.get("/prompts/{id}/versions/{version}", response_model=PromptVersionRead, responses=PROBLEMS)
def get_version(id: str, version: int, session: ReadSessionDep, _: Viewer) -> PromptVersionRead:
    assistant = service.get_assistant(session, id)
    return views.version_read(session, assistant, prompts.get_version(session, assistant, version))


@router.get("/prompts/{id}/diff", response_model=PromptDiff, responses=PROBLEMS)
def diff_versions(
    id: str,
    session: ReadSessionDep,
    _: Viewer,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> PromptDiff:
    assistant = service.get_assistant(session, id)
    old = prompts.get_version(session, assistant, from_version)
    new = prompts.get_version(session, assistant, to_version)
    return prompts.diff(assistant, old, new)


@router.get("/prompts/{id}/labels", response_model=list[LabelRead], responses=PROBLEMS)
def list_labels(id: str, session: ReadSessionDep, _: Viewer) -> list[LabelRead]:
    return views.label_reads(session, service.get_assistant(session, id))


@router.put(
    "/prompts/{id}/labels/{label}",
    response_model=LabelRead,
    responses={**PROBLEMS, 409: {"description": "the version fails a gating test set"}},
)
def move_label(id: str, label: Label, body: LabelMove, session: SessionDep, actor: Editor) -> LabelRead:
    """Point a label at a version; rollback is moving it back to an older one."""
    assistant = service.get_assistant(session, id)
    row = service.move_label(session, assistant, label, body.version, actor, force=body.force, note=body.note)
    return views.label_read(session, row)


@router.delete("/prompts/{id}/labels/{label}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
def remove_label(id: str, label: Label, session: SessionDep, actor: Editor) -> Response:
    prompts.remove_label(session, service.get_assistant(session, id), label, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/prompts/{id}/render", response_model=RenderedPrompt, responses=PROBLEMS)
def render_prompt(id: str, body: RenderRequest, session: ReadSessionDep, _: Viewer) -> RenderedPrompt:
    """The messages a version makes from the given variables, without calling any model."""
    assistant = service.get_assistant(session, id)
    version = (
        prompts.get_version(session, assistant, body.version)
        if body.version
        else prompts.labelled_version(session, assistant)
    )
    return prompts.render_version(version, body.variables)
