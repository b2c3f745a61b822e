"""``column IN (values)`` for long lists, as the database reads it best.

On PostgreSQL a list is sent as one array parameter (``column = ANY(%(values)s)``): the statement's
text is the same whatever the count, so psycopg prepares it once and the server stops planning it
on every call, where an ``IN`` list of 150 parameters is a new statement for each length (planned
anew each time: ~1 ms under load for a search's candidate columns). SQLite keeps ``IN``: it has no
arrays, and its plans cost microseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ARRAY, any_, literal
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement


def one_of(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column`` is one of ``values``."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(values, ARRAY(column.type)))
    return column.in_(values)
