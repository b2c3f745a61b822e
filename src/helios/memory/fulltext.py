"""Full-text search over memory content: an FTS5 table (porter stemming; its ``agent`` column holds
one token per memory, ``a<agent id>``) on SQLite, a stored ``english`` tsvector with a GIN index on
PostgreSQL. Both only answer "which of this agent's memories hold these words, newest first" with a
LIMIT; the ranking (Okapi BM25) is done here.

Why not FTS5's ``bm25()`` or ``ts_rank_cd``: both score every row that matches before LIMIT
applies, and ``bm25()`` first counts each query word's documents by walking its whole posting
list, on every query. At 100,000 memories made of common words that is 50-250 ms a query, where
a LIMITed match that walks postings newest-first stops after N rows (well under a millisecond).
So a query runs in passes: every word at once (AND), then each selective word alone, rarest first
(a word in more than ``SELECTIVE_SHARE`` of the agent's memories is queried alone only while the
candidates are short of ``limit``). Candidates are scored BM25 from their own text with document
frequencies counted by the index and cached (``TermCounts``). English stop words never reach the
index: they match nearly everything and rank nothing. First and second person pronouns are kept:
in an agent's memory of a conversation "I", "my" and "you" mark what a person said about
themselves (measured: without them "Do I like biotech stocks?" lost "I never want to hold
anything in biotech" to every "biotech sector" remark, on the benchmark's tune half).

Whatever a person types is first reduced to plain words (``query_words``), each quoted for FTS5
and passed as text to ``plainto_tsquery``, so quotes, ``c++``, ``AND``, ``NEAR(``, emoji or
5,000 characters can never reach either query language as syntax.
"""

from __future__ import annotations

import functools
import json
import math
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

FTS_TABLE = "memory_fts"
MAX_WORDS = 64
# Words queried alone at most (rarest first); the others still count in the AND pass and the score.
MAX_PASSES = 8
SELECTIVE_SHARE = 0.05
# Candidates scored at most, as a multiple of limit (BM25 here costs ~10 us a candidate).
SCORED = 4
# PostgreSQL: counts the planner estimates at least this high are taken as estimated (_count);
# rows walked newest first for an AND of common words (_matching).
ESTIMATE_FROM = 1_000
WALK_ROWS = 6_000
K1, B = 1.2, 0.75
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "don",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "more",
        "most",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "s",
        "t",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
    ]
)


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


def search_terms(words: Sequence[str]) -> list[str]:
    return [w for w in words if w not in STOP_WORDS]


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """A rough stem for scoring candidates the index already matched with its own stemmer (cached:
    scoring a query's candidates stems ~1,000 words, most of them seen before)."""
    for suffix in ("ings", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:6]


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def add(session: Session, rows: Sequence[tuple[int, int, str]]) -> None:
    """Index (memory id, agent id, content) rows; PostgreSQL indexes by itself (generated column)."""
    if rows and _sqlite(session):
        session.execute(
            text(f"INSERT INTO {FTS_TABLE}(rowid, content, agent) VALUES (:id, :content, :agent)"),
            [{"id": i, "content": c, "agent": f"a{a}"} for i, a, c in rows],
        )


def remove(session: Session, memory_ids: Sequence[int]) -> None:
    if memory_ids and _sqlite(session):
        statement = text(f"DELETE FROM {FTS_TABLE} WHERE rowid IN :ids").bindparams(
            bindparam("ids", expanding=True)
        )
        session.execute(statement, {"ids": list(memory_ids)})


def replace(session: Session, memory_id: int, agent_id: int, content: str) -> None:
    remove(session, [memory_id])
    add(session, [(memory_id, agent_id, content)])


@dataclass
class TermCounts:
    """How many of some agents' memories hold a word, cached when counting cost something: a count
    under ``CACHE_FROM`` walks a short posting list and is redone every query, so small agents
    (and tests) always see exact numbers; a large one is a few minutes stale at worst. In agents
    holding ``CACHE_FROM`` memories or more, a rare word's count is cached too (on PostgreSQL it
    cost two statements a query, the planner's estimate and then the count): a handful of
    memories more or less moves its idf by little. A word held by none is never cached, so the
    first memory that holds it is found at once."""

    ttl_s: float = 300.0
    CACHE_FROM = 1_000
    _counts: dict[tuple[tuple[int, ...], str], tuple[float, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, session: Session, agent_ids: Sequence[int], word: str | None) -> int:
        """Memories of these agents holding ``word``; all their memories for ``None``."""
        key = (tuple(sorted(agent_ids)), word or "")
        with self._lock:
            cached = self._counts.get(key)
        if cached and time.monotonic() - cached[0] < self.ttl_s:
            return cached[1]
        found = _count(session, agent_ids, word)
        if found >= self.CACHE_FROM or (found > 0 and self._large(agent_ids)):
            with self._lock:
                if len(self._counts) > 100_000:
                    self._counts.clear()
                self._counts[key] = (time.monotonic(), found)
        return found

    def _large(self, agent_ids: Sequence[int]) -> bool:
        """These agents hold CACHE_FROM memories or more (by the count cached for them)."""
        with self._lock:
            total = self._counts.get((tuple(sorted(agent_ids)), ""))
        return total is not None and total[1] >= self.CACHE_FROM


def _agents_match(agent_ids: Sequence[int]) -> str:
    return "agent : (" + " OR ".join(f'"a{int(a)}"' for a in agent_ids) + ")"


def _count(session: Session, agent_ids: Sequence[int], word: str | None) -> int:
    if _sqlite(session):
        match = _agents_match(agent_ids) + (f' AND content : "{word}"' if word else "")
        statement = text(f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :match")
        return int(session.scalar(statement, {"match": match}) or 0)
    # A tsvector has no posting-list count: an exact count of a common word reads every row that
    # holds it (36k rows, ~50 ms at 100k memories). The planner's estimate from ANALYZE's lexeme
    # statistics is within a few percent there, which BM25's idf does not notice; an estimate under
    # ESTIMATE_FROM (a rare word, a small agent, no statistics yet) is replaced by the exact count,
    # cheap at that size.
    condition = " AND fts_document @@ plainto_tsquery('english', :word)" if word else ""
    where = f"agent_id IN :agents AND deleted_at IS NULL{condition}"
    parameters = {"agents": list(agent_ids), "word": word}
    explain = text(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM memories WHERE {where}").bindparams(
        bindparam("agents", expanding=True)
    )
    plan = session.scalar(explain, parameters)
    estimate = int((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"])
    if estimate >= ESTIMATE_FROM:
        return estimate
    statement = text(f"SELECT count(*) FROM memories WHERE {where}").bindparams(
        bindparam("agents", expanding=True)
    )
    return int(session.scalar(statement, parameters) or 0)


def _matching(
    session: Session, agent_ids: Sequence[int], words: Sequence[str], limit: int, common: bool = False
) -> list[int]:
    """Ids of the newest ``limit`` memories (of these agents) holding every one of ``words``;
    ``common``: every word is in a good share of them, so the newest rows are likely to hold all."""
    if _sqlite(session):
        # Words hold no quote (see _WORD), so each one quoted is a plain phrase to FTS5.
        match = _agents_match(agent_ids) + " AND content : (" + " AND ".join(f'"{w}"' for w in words) + ")"
        statement = text(
            f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :match ORDER BY rowid DESC LIMIT :limit"
        )
        return list(session.scalars(statement, {"match": match, "limit": limit}))
    parameters = {"agents": list(agent_ids), "words": " ".join(words), "limit": limit}
    if common:
        found = list(session.scalars(_NEWEST_WALKED, {**parameters, "rows": WALK_ROWS}))
        if len(found) == limit:
            return found
    return list(session.scalars(_INDEXED_MATCHES, parameters))


# PostgreSQL estimates an AND of words as if they were independent (1 row where 597 of 100k
# match, 51 where 3,162 do), so it answers from the GIN index: every word's posting list read,
# every match fetched and sorted (10-15 ms at 100k, most of it the posting lists of the common
# words). When every word is common the newest rows hold the AND soon enough, and walking them
# newest first stops at the LIMIT (~0.7 us a row, idle): at most WALK_ROWS of them, then the
# indexed query after all. ts_match_vq is @@ spelled as a function: the walk cannot use the index
# anyway, and the operator would have the planner read the column's lexeme statistics (~2 ms).
_INDEXED_MATCHES = text(
    "SELECT id FROM memories WHERE agent_id IN :agents AND deleted_at IS NULL "
    "AND fts_document @@ plainto_tsquery('english', :words) ORDER BY id DESC LIMIT :limit"
).bindparams(bindparam("agents", expanding=True))
_NEWEST_WALKED = text(
    "SELECT id FROM (SELECT id, fts_document FROM memories WHERE agent_id IN :agents "
    "AND deleted_at IS NULL ORDER BY id DESC LIMIT :rows) recent "
    "WHERE ts_match_vq(fts_document, plainto_tsquery('english', :words)) ORDER BY id DESC LIMIT :limit"
).bindparams(bindparam("agents", expanding=True))


def search(
    session: Session,
    agent_ids: Sequence[int],
    words: Sequence[str],
    limit: int,
    counts: TermCounts | None = None,
) -> list[tuple[int, float]]:
    """(id, BM25) of up to ``limit`` live memories holding some of ``words``, best first."""
    terms = search_terms(words)
    if not terms or not agent_ids:
        return []
    counts = counts or TermCounts()
    documents = counts.count(session, agent_ids, None)
    frequency = {t: counts.count(session, agent_ids, t) for t in terms}
    terms = [t for t in terms if frequency[t] > 0]
    if not terms:
        return []
    holds: dict[int, set[str]] = {}
    selective = max(limit, SELECTIVE_SHARE * documents)
    if len(terms) > 1:
        # (A small agent's index answers fast anyway; the walk is for large ones.)
        common = documents >= ESTIMATE_FROM and all(frequency[t] > selective for t in terms)
        for memory_id in _matching(session, agent_ids, terms, limit, common):
            holds[memory_id] = set(terms)
    for term in sorted(terms, key=lambda t: frequency[t])[:MAX_PASSES]:
        common = frequency[term] > selective
        if (common and len(holds) >= limit) or len(holds) >= SCORED * limit:
            break
        # A selective word brings all its memories, up to a few times limit, not only the newest
        # (its count may be a few minutes old, so it does not cap the read); a common one only
        # tops the candidates up to limit.
        wanted = limit if common else SCORED * limit
        for memory_id in _matching(session, agent_ids, [term], wanted):
            holds.setdefault(memory_id, set()).add(term)
    idf = {t: math.log(1 + (documents - frequency[t] + 0.5) / (frequency[t] + 0.5)) for t in terms}
    scored = _bm25(_contents(session, list(holds)), holds, idf)
    return sorted(scored, key=lambda pair: (-pair[1], -pair[0]))[:limit]


def _contents(session: Session, memory_ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    statement = _CONTENTS_IN if _sqlite(session) else _CONTENTS_ANY
    for start in range(0, len(memory_ids), 900):
        rows = session.execute(statement, {"ids": memory_ids[start : start + 900]})
        found.update((int(i), c) for i, c in rows)
    return found


_CONTENTS_IN = text("SELECT id, content FROM memories WHERE id IN :ids AND deleted_at IS NULL").bindparams(
    bindparam("ids", expanding=True)
)
# One array parameter: the same statement whatever the count, prepared once (``helios.db.lists``).
_CONTENTS_ANY = text("SELECT id, content FROM memories WHERE id = ANY(:ids) AND deleted_at IS NULL")


def _bm25(
    contents: dict[int, str], holds: dict[int, set[str]], idf: dict[str, float]
) -> list[tuple[int, float]]:
    stems = {t: stem(t) for t in idf}
    tokens = {i: [stem(w) for w in _WORD.findall(c.lower())] for i, c in contents.items()}
    average = sum(len(t) for t in tokens.values()) / max(len(tokens), 1) or 1.0
    scored = []
    for memory_id, words in tokens.items():
        norm = K1 * (1 - B + B * len(words) / average)
        score = 0.0
        for term, weight in idf.items():
            # The index matched it with its own stemmer; the rough stem here only counts repeats.
            tf = max(words.count(stems[term]), 1 if term in holds[memory_id] else 0)
            if tf:
                score += weight * tf * (K1 + 1) / (tf + norm)
        scored.append((memory_id, score))
    return scored
