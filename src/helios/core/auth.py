"""API tokens and roles: viewer < editor < admin.

Tokens look like ``hel_<43 url-safe chars>``; only their sha256 is stored. With ``HELIOS_AUTH=auto``
a server bound to loopback is open to the local user until the first token is created; after that,
and always when bound elsewhere or with ``HELIOS_AUTH=required``, every request needs a token.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from helios.core.clock import utcnow
from helios.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from helios.core.pagination import DEFAULT_LIMIT, Keyset, count
from helios.core.tables import ApiToken, AuditEntry, WebSession

TOKEN_PREFIX = "hel_"
SESSION_LIFETIME = dt.timedelta(days=30)


class Role(enum.IntEnum):
    viewer = 1
    editor = 2
    admin = 3

    @classmethod
    def parse(cls, name: str) -> Role:
        try:
            return cls[name.strip().lower()]
        except KeyError:
            raise InvalidInput(f"unknown role {name!r}; choose viewer, editor or admin") from None


@dataclass(frozen=True)
class Principal:
    """Who is making a request: a token's owner, or the local user when auth is open."""

    name: str
    role: Role
    token_id: int | None = None

    def require(self, role: Role) -> None:
        if self.role < role:
            raise Forbidden(f"this needs the {role.name} role; your token {self.name!r} is {self.role.name}")


LOCAL_USER = Principal(name="local", role=Role.admin)


@dataclass(frozen=True)
class IssuedToken:
    id: int
    name: str
    role: Role
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, name: str, role: Role) -> IssuedToken:
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput("a token needs a name of 1 to 64 characters")
    taken = session.scalar(select(ApiToken.id).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))
    if taken:
        raise Conflict(f"an active token named {name!r} already exists")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, role=role.name, token_hash=hash_secret(secret), prefix=secret[:8])
    session.add(row)
    session.flush()
    record_audit(session, LOCAL_USER, "token.create", "api_token", str(row.id), {"name": name})
    return IssuedToken(row.id, name, role, secret)


TOKENS = Keyset("tokens", (ApiToken.id,))


def token_page(
    session: Session, *, include_revoked: bool = False, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> tuple[list[ApiToken], str | None, int]:
    """One page of tokens in the order they were made, the next page's cursor, and the count."""
    query = select(ApiToken)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    rows, next_cursor = TOKENS.page(session, query, cursor=cursor, limit=limit)
    return rows, next_cursor, count(session, query)


def list_tokens(session: Session, include_revoked: bool = False) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query))


def revoke_token(session: Session, ident: str) -> ApiToken:
    """Revoke by id or by name."""
    query = select(ApiToken).where(ApiToken.revoked_at.is_(None))
    query = (
        query.where(ApiToken.id == int(ident)) if ident.isdecimal() else query.where(ApiToken.name == ident)
    )
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"no active token {ident!r}")
    row.revoked_at = utcnow()
    record_audit(session, LOCAL_USER, "token.revoke", "api_token", str(row.id), {"name": row.name})
    return row


def any_active_token(session: Session) -> bool:
    return bool(session.scalar(select(func.count(ApiToken.id)).where(ApiToken.revoked_at.is_(None))))


def authenticate(session: Session, secret: str | None) -> Principal:
    if not secret:
        raise Unauthorized("this needs an API token: send 'Authorization: Bearer <token>'")
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_secret(secret), ApiToken.revoked_at.is_(None))
    )
    if row is None:
        raise Unauthorized("the API token is unknown or revoked")
    return Principal(name=row.name, role=Role[row.role], token_id=row.id)


def start_web_session(session: Session, secret: str) -> str:
    """Sign a browser in with a token: returns the session id its cookie will hold."""
    principal = authenticate(session, secret)
    session_id = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            session_hash=hash_secret(session_id),
            token_id=principal.token_id,
            expires_at=utcnow() + SESSION_LIFETIME,
        )
    )
    session.flush()
    return session_id


def authenticate_web_session(session: Session, session_id: str | None) -> Principal:
    """The principal behind a browser's session; dies with the session, its expiry or its token."""
    if not session_id:
        raise Unauthorized("sign in first: this needs a signed-in session or an API token")
    row = session.execute(
        select(ApiToken)
        .join(WebSession, WebSession.token_id == ApiToken.id)
        .where(
            WebSession.session_hash == hash_secret(session_id),
            WebSession.revoked_at.is_(None),
            WebSession.expires_at > utcnow(),
            ApiToken.revoked_at.is_(None),
        )
    ).scalar_one_or_none()
    if row is None:
        raise Unauthorized("the session ended (signed out, expired or its token revoked); sign in again")
    return Principal(name=row.name, role=Role[row.role], token_id=row.id)


def end_web_session(session: Session, session_id: str) -> None:
    session.execute(
        update(WebSession)
        .where(WebSession.session_hash == hash_secret(session_id), WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def touch_token(session: Session, token_id: int) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))


def record_audit(
    session: Session, actor: Principal, action: str, entity_type: str, entity_id: str, details: dict
) -> None:
    session.add(
        AuditEntry(
            actor=actor.name,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            details=details,
            token_id=actor.token_id,
        )
    )
