"""Hybrid search: full text, semantic similarity and the graph, fused by weighted relevance.

Each signal finds up to ``CANDIDATES`` memories and scores them in 0-1: full text as BM25 (or
ts_rank_cd) over the best match of this query, semantic as cosine rescaled from the embedder's
``min_similarity`` (so a weak match stays weak rather than being stretched to 1), the graph as the
share of the query's entities a memory supports. Reciprocal rank fusion was tried first and
dropped: its scores for rank 1 and rank 2 differ by under 2%, so strength, not relevance, ended up
deciding the order. The fused relevance is scaled by strength (``0.7 + 0.3 * strength``: decay
lowers rank, never removes), and a superseded fact is halved and kept below its replacement.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from helios.core.clock import as_utc, utcnow
from helios.memory import fulltext
from helios.memory.graph import entity_key
from helios.memory.runtime import MemoryRuntime
from helios.memory.schemas import SearchHit, SearchResult, Why
from helios.memory.tables import Entity, EntitySupport, Memory
from helios.memory.views import corroborations, memory_read, strength_of

CANDIDATES = 100
WEIGHTS = {"terms": 0.35, "semantic": 0.5, "entities": 0.15}
STRENGTH_SHARE = 0.3
SUPERSEDED_FACTOR = 0.5
MAX_EMBEDDED_CHARS = 2_000
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Words that match everywhere and explain nothing; left out of ``why.terms`` only.
_FILLER = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "to",
        "was",
        "were",
        "with",
    ]
)


@dataclass
class _Signals:
    relevance: dict[str, dict[int, float]] = field(default_factory=dict)
    similarity: dict[int, float] = field(default_factory=dict)
    entities: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))

    def fused(self) -> dict[int, float]:
        scores: dict[int, float] = defaultdict(float)
        for signal, found in self.relevance.items():
            for memory_id, value in found.items():
                scores[memory_id] += WEIGHTS[signal] * value
        return scores


def search(
    session: Session,
    runtime: MemoryRuntime,
    text: str,
    agent_ids: Sequence[int],
    *,
    k: int = 10,
    agent_names: dict[int, str] | None = None,
) -> SearchResult:
    if not text.strip() or not agent_ids:
        return SearchResult(query=text, items=[])
    words = fulltext.query_words(text)
    signals = _Signals()
    signals.relevance["terms"] = _relative(dict(fulltext.search(session, agent_ids, words, CANDIDATES)))
    _semantic(session, runtime, text, agent_ids, signals)
    _graph(session, text, agent_ids, signals)
    return SearchResult(query=text, items=_ranked(session, runtime, signals, words, k, agent_names or {}))


def _semantic(
    session: Session, runtime: MemoryRuntime, text: str, agent_ids: Sequence[int], signals: _Signals
) -> None:
    query = runtime.embedder.embed([text[:MAX_EMBEDDED_CHARS]])[0]
    nearest = runtime.vectors.nearest(session, agent_ids, query, CANDIDATES)
    floor = runtime.embedder.min_similarity
    matches = {m: s for m, s in nearest if s >= floor}
    signals.relevance["semantic"] = {m: (s - floor) / (1 - floor) for m, s in matches.items()}
    signals.similarity = matches


def _graph(session: Session, text: str, agent_ids: Sequence[int], signals: _Signals) -> None:
    """Memories that support an entity the query names, most entities shared first."""
    keys = _phrases(text)
    if not keys:
        return
    rows = session.execute(
        select(EntitySupport.memory_id, Entity.name)
        .join(Entity, Entity.id == EntitySupport.entity_id)
        .join(Memory, (Memory.id == EntitySupport.memory_id) & Memory.deleted_at.is_(None))
        .where(Entity.agent_id.in_(list(agent_ids)), Entity.key.in_(keys))
        .limit(5 * CANDIDATES)
    )
    for memory_id, name in rows:
        if name not in signals.entities[memory_id]:
            signals.entities[memory_id].append(name)
    named = {name for names in signals.entities.values() for name in names}
    signals.relevance["entities"] = {m: len(names) / len(named) for m, names in signals.entities.items()}


def _relative(found: dict[int, float]) -> dict[int, float]:
    best = max(found.values(), default=0.0)
    return {m: v / best for m, v in found.items()} if best > 0 else {}


def _phrases(text: str) -> list[str]:
    """Every run of one to four words in the query, as entity keys."""
    tokens = [w.casefold() for w in _WORD.findall(text[:MAX_EMBEDDED_CHARS])][:200]
    phrases = {" ".join(tokens[i : i + n]) for n in range(1, 5) for i in range(len(tokens) - n + 1)}
    return sorted(entity_key(p) for p in phrases)[:1_000]


def _ranked(
    session: Session,
    runtime: MemoryRuntime,
    signals: _Signals,
    words: list[str],
    k: int,
    agent_names: dict[int, str],
) -> list[SearchHit]:
    fused = signals.fused()
    if not fused:
        return []
    now = utcnow()
    memories = {
        m.id: m
        for m in session.scalars(
            select(Memory).where(Memory.id.in_(list(fused)), Memory.deleted_at.is_(None))
        )
    }
    backing = corroborations(session, list(memories))
    strengths = {i: strength_of(m, runtime, backing.get(i, 0), now) for i, m in memories.items()}
    scores = {i: fused[i] * (1 - STRENGTH_SHARE + STRENGTH_SHARE * strengths[i].total) for i in memories}
    superseded = {i for i, m in memories.items() if _is_superseded(m, now)}
    for i in superseded:
        scores[i] *= SUPERSEDED_FACTOR
    for i in superseded:
        replacement = memories[i].superseded_by
        if replacement in scores:
            scores[i] = min(scores[i], scores[replacement] * 0.9)
    best = sorted(scores, key=lambda i: (-scores[i], -i))[:k]
    return [
        SearchHit(
            memory=memory_read(memories[i], agent_names.get(memories[i].agent_id, ""), strengths[i]),
            score=round(scores[i], 6),
            strength=strengths[i].total,
            why=Why(
                terms=_terms_in(memories[i].content, words),
                semantic=round(signals.similarity[i], 4) if i in signals.similarity else None,
                entities=signals.entities.get(i, []),
                superseded=i in superseded,
            ),
        )
        for i in best
    ]


def _is_superseded(memory: Memory, now: dt.datetime) -> bool:
    return memory.superseded_by is not None or (
        memory.valid_until is not None and as_utc(memory.valid_until) <= now
    )


def _terms_in(content: str, words: list[str]) -> list[str]:
    # Stems match too ("forecasts" finds "forecast"), as they did in the index.
    present = {w.casefold() for w in _WORD.findall(content)}
    return [
        w
        for w in words
        if w not in _FILLER and (w in present or any(p.startswith(w[:5]) and len(w) > 4 for p in present))
    ]
