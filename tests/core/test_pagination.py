"""Page[T] and keyset cursors: a walk sees every row once, in order, and bad cursors name `cursor`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from helios.core.errors import InvalidInput
from helios.core.pagination import Keyset, Page, count, decode_cursor, encode_cursor
from helios.db.base import UtcDateTime


class _Base(DeclarativeBase):
    pass


class Row(_Base):
    __tablename__ = "rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    group: Mapped[str] = mapped_column(String(8))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        session.add_all(
            Row(id=i, group="abc"[i % 3], at=start + dt.timedelta(hours=i // 2)) for i in range(1, 24)
        )
        session.flush()
        yield session
    engine.dispose()


def walk(session: Session, keyset: Keyset, limit: int) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        rows, cursor = keyset.page(session, select(Row), cursor=cursor, limit=limit)
        pages.append([r.id for r in rows])
        if cursor is None:
            return pages


def test_walk_by_id_sees_every_row_once_in_order(session: Session) -> None:
    pages = walk(session, Keyset("rows", (Row.id,)), limit=5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert sum(pages, []) == list(range(1, 24))


def test_descending_walk_on_a_two_column_key_with_ties(session: Session) -> None:
    keyset = Keyset("rows", (Row.group, Row.id), descending=True)
    flat = sum(walk(session, keyset, limit=4), [])
    expected = [r.id for r in session.scalars(select(Row).order_by(Row.group.desc(), Row.id.desc()))]
    assert flat == expected and len(flat) == 23


def test_walk_on_a_type_decorated_datetime_key(session: Session) -> None:
    """Columns behind a TypeDecorator (UtcDateTime, StrEnumText) page by the type they store."""
    keyset = Keyset("rows", (Row.at, Row.id), descending=True)
    flat = sum(walk(session, keyset, limit=3), [])
    assert flat == list(range(23, 0, -1))
    with pytest.raises(InvalidInput):
        keyset.page(session, select(Row), cursor=encode_cursor("rows", ["soon", 3]), limit=3)


def test_exact_multiple_ends_without_an_empty_page(session: Session) -> None:
    rows, cursor = Keyset("rows", (Row.id,)).page(session, select(Row), cursor=None, limit=23)
    assert len(rows) == 23 and cursor is None


def test_rows_added_ahead_of_the_cursor_are_not_skipped_or_repeated(session: Session) -> None:
    keyset = Keyset("rows", (Row.id,))
    first, cursor = keyset.page(session, select(Row), cursor=None, limit=10)
    session.delete(first[0])
    session.add(Row(id=100, group="z", at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC)))
    session.flush()
    rest = sum(walk_from(session, keyset, cursor), [])
    assert rest == [*range(11, 24), 100]


def walk_from(session: Session, keyset: Keyset, cursor: str | None) -> list[list[int]]:
    pages = []
    while cursor is not None:
        rows, cursor = keyset.page(session, select(Row), cursor=cursor, limit=7)
        pages.append([r.id for r in rows])
    return pages


def test_count_ignores_order(session: Session) -> None:
    assert count(session, select(Row).where(Row.group == "a").order_by(Row.id)) == 7


def test_page_serialises_with_total_optional() -> None:
    page = Page[int](items=[1, 2], next_cursor="x")
    assert page.model_dump() == {"items": [1, 2], "next_cursor": "x", "total": None}


@pytest.mark.parametrize(
    ("cursor", "reason"),
    [
        ("not base64 !!", "is not one this API handed out"),
        (encode_cursor("models", ["x"]), "does not belong to the rows list"),
        (encode_cursor("rows", ["seven"]), "wrong shape"),
        (encode_cursor("rows", [True]), "wrong shape"),
        (encode_cursor("rows", [1, 2]), "wrong shape"),
    ],
)
def test_bad_cursor_is_a_422_naming_cursor(session: Session, cursor: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Keyset("rows", (Row.id,)).page(session, select(Row), cursor=cursor, limit=5)
    assert reason in caught.value.detail
    assert caught.value.errors[0]["field"] == "cursor"


def test_datetime_keys_round_trip() -> None:
    at = dt.datetime(2026, 12, 1, 22, 30, 5, 123456)
    assert decode_cursor("jobs", encode_cursor("jobs", [at, 3]), [dt.datetime, int]) == (at, 3)
    with pytest.raises(InvalidInput):
        decode_cursor("jobs", encode_cursor("jobs", ["yesterday", 3]), [dt.datetime, int])


def test_cursor_round_trips_and_is_url_safe() -> None:
    cursor = encode_cursor("models", ["naïve/model+1", 7])
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor("models", cursor, [str, int]) == ("naïve/model+1", 7)
