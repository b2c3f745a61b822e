from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict

from helios.api.deps import Admin, Cursor, Limit, ReadSessionDep, SessionDep
from helios.core import auth
from helios.core.pagination import DEFAULT_LIMIT, Page

router = APIRouter(prefix="/tokens", tags=["tokens"])


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    role: str = "viewer"


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    role: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenIssued(TokenRead):
    secret: str


class TokenList(Page[TokenRead]):
    """Tokens in the order they were made."""


@router.get("", response_model=TokenList)
def list_tokens(
    session: ReadSessionDep,
    _: Admin,
    include_revoked: bool = False,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> TokenList:
    rows, next_cursor, total = auth.token_page(
        session, include_revoked=include_revoked, cursor=cursor, limit=limit
    )
    return TokenList(items=[TokenRead.model_validate(t) for t in rows], next_cursor=next_cursor, total=total)


@router.post("", response_model=TokenIssued, status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, session: SessionDep, _: Admin) -> TokenIssued:
    issued = auth.create_token(session, body.name, auth.Role.parse(body.role))
    row = next(t for t in auth.list_tokens(session) if t.id == issued.id)
    return TokenIssued(**TokenRead.model_validate(row).model_dump(), secret=issued.secret)


@router.delete("/{ident}", response_model=TokenRead)
def revoke_token(ident: str, session: SessionDep, _: Admin) -> TokenRead:
    return TokenRead.model_validate(auth.revoke_token(session, ident))
