"""Request dependencies as ``Annotated`` aliases. Sessions commit at the request boundary:
a request that fails leaves nothing half-written."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from helios.api.security import identify
from helios.config import Settings
from helios.context import AppContext
from helios.core.artifacts import ArtifactStore
from helios.core.auth import Principal, Role
from helios.core.pagination import DEFAULT_LIMIT, MAX_LIMIT


def get_context(request: Request) -> AppContext:
    return request.app.state.helios


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_settings(context: ContextDep) -> Settings:
    return context.settings


def get_store(context: ContextDep) -> ArtifactStore:
    return context.store


def get_write_session(context: ContextDep) -> Iterator[Session]:
    with context.db.transaction() as session:
        yield session


def get_read_session(context: ContextDep) -> Iterator[Session]:
    with context.db.reading() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ArtifactStore, Depends(get_store)]
# scope="function": the write commits before the response leaves. FastAPI's default ends a yield
# dependency after the response is sent, so a client could read before the commit (a test read
# the old actual right after its revision was answered), and a failed commit followed a 2xx.
SessionDep = Annotated[Session, Depends(get_write_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session)]


def require(role: Role) -> Callable[..., Principal]:
    def dependency(request: Request, context: ContextDep) -> Principal:
        principal = identify(context, request)
        principal.require(role)
        return principal

    dependency.required_role = role  # type: ignore[attr-defined]  # read by the auth-walk test
    return dependency


Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Editor = Annotated[Principal, Depends(require(Role.editor))]
Admin = Annotated[Principal, Depends(require(Role.admin))]


# Every list route takes these two, beside its own filters (see helios.core.pagination).
Cursor = Annotated[
    str | None, Query(max_length=1000, description="next_cursor from the previous page; omit for the first")
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"items per page (default {DEFAULT_LIMIT})")]
