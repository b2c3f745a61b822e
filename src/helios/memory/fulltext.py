"""Full-text search over memory content: FTS5 (porter stemming, BM25) on SQLite, an
``english`` tsvector expression index with ``websearch_to_tsquery`` on PostgreSQL.

Whatever a person types is first reduced to plain words (``query_words``) and the words are OR'ed,
so quotes, ``c++``, ``AND``, ``NEAR(``, emoji or 5,000 characters can never reach either query
language as syntax: the worst any input can do is match nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

FTS_TABLE = "memory_fts"
MAX_WORDS = 64
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def query_words(typed: str) -> list[str]:
    """Distinct lowercased words of ``typed``, in order, at most ``MAX_WORDS`` of up to 64 chars."""
    words: list[str] = []
    for match in _WORD.finditer(typed[:20_000]):
        word = match.group().lower()[:64]
        if word not in words:
            words.append(word)
            if len(words) == MAX_WORDS:
                break
    return words


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def add(session: Session, rows: Sequence[tuple[int, str]]) -> None:
    if rows and _sqlite(session):
        session.execute(
            text(f"INSERT INTO {FTS_TABLE}(rowid, content) VALUES (:id, :content)"),
            [{"id": i, "content": c} for i, c in rows],
        )


def remove(session: Session, memory_ids: Sequence[int]) -> None:
    if memory_ids and _sqlite(session):
        statement = text(f"DELETE FROM {FTS_TABLE} WHERE rowid IN :ids").bindparams(
            bindparam("ids", expanding=True)
        )
        session.execute(statement, {"ids": list(memory_ids)})


def replace(session: Session, memory_id: int, content: str) -> None:
    remove(session, [memory_id])
    add(session, [(memory_id, content)])


def search(
    session: Session, agent_ids: Sequence[int], words: Sequence[str], limit: int
) -> list[tuple[int, float]]:
    """(id, relevance) of live memories matching any of ``words``, best first; higher is better."""
    if not words or not agent_ids:
        return []
    if _sqlite(session):
        # Words hold no quote (see _WORD), so each one quoted is a plain phrase to FTS5.
        match = " OR ".join(f'"{w}"' for w in words)
        statement = text(
            f"SELECT m.id, -bm25({FTS_TABLE}) FROM {FTS_TABLE} JOIN memories m ON m.id = {FTS_TABLE}.rowid "
            f"WHERE {FTS_TABLE} MATCH :match AND m.agent_id IN :agents AND m.deleted_at IS NULL "
            f"ORDER BY bm25({FTS_TABLE}) LIMIT :limit"
        )
    else:
        match = " or ".join(words)
        statement = text(
            "SELECT id, ts_rank_cd(to_tsvector('english', content), query) "
            "FROM memories, websearch_to_tsquery('english', :match) query "
            "WHERE to_tsvector('english', content) @@ query AND agent_id IN :agents "
            "AND deleted_at IS NULL "
            "ORDER BY ts_rank_cd(to_tsvector('english', content), query) DESC, id DESC LIMIT :limit"
        )
    statement = statement.bindparams(bindparam("agents", expanding=True))
    rows = session.execute(statement, {"match": match, "agents": list(agent_ids), "limit": limit})
    return [(int(i), float(r)) for i, r in rows]
