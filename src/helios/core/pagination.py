"""One list shape for every list Helios serves: ``Page[T]`` with an opaque keyset cursor.

The contract, the same on every list route (API, client, CLI and UI page alike):

- A list answers ``Page[T]``: ``items`` (at most ``limit`` of them, in the list's fixed order),
  ``next_cursor`` (pass it back as ``cursor`` for the next page; ``null`` on the last page) and
  ``total`` (every match across all pages, where counting is cheap; ``null`` where it is not).
- Every list route takes ``limit`` (1..``MAX_LIMIT``, default ``DEFAULT_LIMIT``), ``cursor`` and the
  route's own filters; the filters must be the same on every page of one walk.
- Cursors are keyset positions (the sort key of the last item sent), never offsets, so a page stays
  correct while rows are added or deleted ahead of it, and the database seeks by index instead of
  counting skipped rows. They are opaque: base64url of ``{"s": scope, "k": [key values]}``. A cursor
  that does not decode, belongs to another list (``scope``) or holds values of the wrong type is
  refused with 422 naming the ``cursor`` field.

How a domain serves a list (in its ``views.py``)::

    MODELS = Keyset("models", (Model.name,))

    def list_models(session, *, cursor=None, limit=DEFAULT_LIMIT) -> ModelList:
        rows, next_cursor = MODELS.page(session, select(Model), cursor=cursor, limit=limit)
        return ModelList(items=[summary(r) for r in rows], next_cursor=next_cursor)

with ``class ModelList(Page[ModelSummary])`` in its ``schemas.py`` (a named subclass keeps the
OpenAPI schema name readable). Key columns must together be unique (end with the primary key when
the first columns are not), are never NULL and hold ``str``, ``int`` or ``datetime`` values.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import TypeDecorator

from helios.core.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")
KeyValue = str | int | dt.datetime


class Page(BaseModel, Generic[T]):
    """One page of a list; see the module docstring for the contract."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="pass as ?cursor= for the next page; null on the last page"
    )
    total: int | None = Field(
        default=None, description="matches across all pages, where counting is cheap; else null"
    )


def every(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    """Every item of a list, page after page: ``fetch(cursor)`` returns the page after ``cursor``.
    For callers in the server's process (UI, CLI) that show a whole list; HTTP callers use
    ``helios.client.Client.iterate``."""
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.items
        if not (cursor := page.next_cursor):
            return


def bad_cursor(reason: str) -> InvalidInput:
    return InvalidInput(
        f"cursor {reason}; it must be a next_cursor this list handed out; start again without it",
        errors=[{"field": "cursor", "message": reason}],
    )


def encode_cursor(scope: str, key: Sequence[KeyValue]) -> str:
    values = [v.isoformat() if isinstance(v, dt.datetime) else v for v in key]
    raw = json.dumps({"s": scope, "k": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(scope: str, cursor: str, types: Sequence[type]) -> tuple[KeyValue, ...]:
    """The key values inside ``cursor``, checked against this list's ``scope`` and key ``types``."""
    try:
        body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad_cursor("is not one this API handed out") from None
    if not isinstance(body, dict) or body.get("s") != scope:
        raise bad_cursor(f"does not belong to the {scope} list")
    key = body.get("k")
    if not isinstance(key, list) or len(key) != len(types):
        raise bad_cursor("holds a position of the wrong shape")
    return tuple(map(_key_value, key, types))


def _key_value(value: Any, kind: type) -> KeyValue:
    if kind is dt.datetime and isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass
    # bool is an int to Python but never a key value.
    elif isinstance(value, kind) and not isinstance(value, bool):
        return value  # type: ignore[no-any-return]
    raise bad_cursor("holds a position of the wrong shape")


@dataclass(frozen=True)
class Keyset:
    """A list's fixed order: ``scope`` names the list (a cursor from one list is refused by another),
    ``columns`` the unique sort key, ``descending`` the direction of every column (newest first)."""

    scope: str
    columns: tuple[InstrumentedAttribute[Any], ...]
    descending: bool = False

    def page(
        self, session: Session, query: Select[Any], *, cursor: str | None, limit: int
    ) -> tuple[list[Any], str | None]:
        """Up to ``limit`` rows of ``query`` after ``cursor``, and the cursor for the page after them."""
        if cursor:
            query = query.where(self._after(decode_cursor(self.scope, cursor, self._types())))
        order = [c.desc() if self.descending else c.asc() for c in self.columns]
        rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
        if len(rows) <= limit:
            return rows, None
        rows = rows[:limit]
        return rows, encode_cursor(self.scope, [getattr(rows[-1], c.key) for c in self.columns])

    def _types(self) -> list[type]:
        # A TypeDecorator (UtcDateTime, StrEnumText) says ``object``; what it stores says the type.
        types = [c.type.impl_instance if isinstance(c.type, TypeDecorator) else c.type for c in self.columns]
        return [t.python_type for t in types]

    def _after(self, key: tuple[KeyValue, ...]) -> Any:
        # (a, b) > (x, y) spelled out as a > x OR (a = x AND b > y): portable, and index-friendly.
        clauses = []
        for i, column in enumerate(self.columns):
            beyond = column < key[i] if self.descending else column > key[i]
            clauses.append(and_(*(c == v for c, v in zip(self.columns[:i], key[:i], strict=True)), beyond))
        return or_(*clauses)


def count(session: Session, query: Select[Any]) -> int:
    """How many rows ``query`` matches, for ``Page.total``."""
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
