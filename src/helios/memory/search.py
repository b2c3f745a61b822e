"""Hybrid search: full text, semantic similarity and the graph, fused by weighted relevance.

Each signal finds at most ``depth(k)`` candidates and scores them in 0-1: full text as BM25 over
the best match of this query (``memory.fulltext``), semantic as cosine rescaled from the
embedder's ``min_similarity`` (so a weak match stays weak rather than being stretched to 1), the
graph as the share of the query's entities a memory supports, each entity weighted by how few
memories hold it (a ticker in half the memories says little; a person's name in two says a lot).
An entity held by more than ``GRAPH_CAP`` memories only marks candidates the other signals found,
so no query reads thousands of support rows. Only the union of candidates is read, a few columns
each; whole rows are loaded for the ``k`` returned. Reciprocal rank fusion was tried first and
dropped: its scores for rank 1 and rank 2 differ by under 2%, so strength, not relevance, ended
up deciding the order. The fused relevance is scaled by strength (``1 - STRENGTH_SHARE +
STRENGTH_SHARE * strength``: decay lowers rank, never removes). A superseded fact passes its
relevance to its replacement (read when it was no candidate), then is scaled by
``SUPERSEDED_FACTOR`` and kept below it. Near-copies among the best ``depth(k)`` keep one place
between them, the newest's (``memory.repeats``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from helios.core.clock import as_utc, utcnow
from helios.db.lists import one_of
from helios.memory import embeddings, fulltext, repeats, timeframe
from helios.memory.graph import entity_key
from helios.memory.runtime import MemoryRuntime
from helios.memory.schemas import SearchHit, SearchResult, Why
from helios.memory.strength import strength_parts, strength_total
from helios.memory.tables import Entity, EntitySupport, Memory
from helios.memory.views import corroborations, memory_read

MIN_DEPTH = 50
GRAPH_CAP = 200
# Chosen on the tune half of benchmarks/memory_corpus.py (semantic 0.5/0.7 x terms 0.2/0.35 x
# entities 0.05/0.15 x strength share 0.1/0.3; entities and strength tied there, so they kept their
# earlier values); BENCHMARKS.md reports the other half.
WEIGHTS = {"terms": 0.2, "semantic": 0.7, "entities": 0.15, "time": 0.25}
# A query that names a time ("last week"): relevance of a memory from outside it is scaled by this.
OUTSIDE_WINDOW = 0.5
WINDOW_CANDIDATES = 4
STRENGTH_SHARE = 0.3
SUPERSEDED_FACTOR = 0.5
MAX_EMBEDDED_CHARS = 2_000
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_T = TypeVar("_T")


@dataclass
class _Signals:
    window: timeframe.Window | None = None
    query: np.ndarray | None = None
    relevance: dict[str, dict[int, float]] = field(default_factory=dict)
    similarity: dict[int, float] = field(default_factory=dict)
    entities: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    # Each agent's vectors, read once per search (one look at the table's newest version).
    vectors: dict[int, embeddings.AgentVectors] = field(default_factory=dict)

    def fused(self) -> dict[int, float]:
        scores: dict[int, float] = defaultdict(float)
        for signal, found in self.relevance.items():
            for memory_id, value in found.items():
                scores[memory_id] += WEIGHTS[signal] * value
        return scores

    def candidates(self) -> set[int]:
        return {m for found in self.relevance.values() for m in found}


def depth(k: int) -> int:
    """Candidates each signal contributes: a few times k, never so few that fusion has no choice."""
    return max(MIN_DEPTH, 4 * k)


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
    signals = _Signals(window=timeframe.find(text, utcnow()))
    topic = timeframe.without(text, signals.window)
    words = fulltext.query_words(topic)
    if topic.strip():
        # The query's embedding and vector scan (PyTorch and numpy, which let go of the GIL) run on
        # another thread while this one reads the full-text index: on two cores the search waits
        # for the longer of the two, not their sum.
        views = [_vectors(session, runtime, signals, agent_id) for agent_id in agent_ids]
        semantic = _background().submit(_nearest, runtime, topic, views, depth(k))
        try:
            found = fulltext.search(session, agent_ids, words, depth(k), runtime.terms)
        finally:
            signals.query, nearest = semantic.result()
        signals.relevance["terms"] = _relative(dict(found))
        _similar(runtime, signals, nearest)
        _graph(session, topic, agent_ids, signals)
    if signals.window is not None:
        _timed(session, runtime, agent_ids, signals, depth(k))
    return SearchResult(query=text, items=_ranked(session, runtime, signals, words, k, agent_names or {}))


def _nearest(
    runtime: MemoryRuntime, text: str, views: list[embeddings.AgentVectors], n: int
) -> tuple[np.ndarray, list[tuple[int, float]]]:
    """The query's vector and its n nearest memories (no database: safe on another thread)."""
    query = runtime.embedder.embed([text[:MAX_EMBEDDED_CHARS]])[0]
    return query, embeddings.nearest(views, query, n)


_BACKGROUND: ThreadPoolExecutor | None = None
_BACKGROUND_LOCK = threading.Lock()


def _background() -> ThreadPoolExecutor:
    global _BACKGROUND
    with _BACKGROUND_LOCK:
        if _BACKGROUND is None:
            _BACKGROUND = ThreadPoolExecutor(max_workers=4, thread_name_prefix="memory-search")
        return _BACKGROUND


def _vectors(
    session: Session, runtime: MemoryRuntime, signals: _Signals, agent_id: int
) -> embeddings.AgentVectors:
    if agent_id not in signals.vectors:
        signals.vectors[agent_id] = runtime.vectors.current(session, agent_id)
    return signals.vectors[agent_id]


def _similar(runtime: MemoryRuntime, signals: _Signals, found: Iterable[tuple[int, float]]) -> None:
    floor = runtime.embedder.min_similarity
    matches = {m: s for m, s in found if s >= floor}
    signals.similarity.update(matches)
    signals.relevance.setdefault("semantic", {}).update(
        {m: (s - floor) / (1 - floor) for m, s in matches.items()}
    )


def _timed(
    session: Session, runtime: MemoryRuntime, agent_ids: Sequence[int], signals: _Signals, n: int
) -> None:
    """Memories of the window the query names (valid time), newest first, as candidates in their
    own right: the semantic signal's top n over all time may have missed the one that week."""
    window = signals.window
    assert window is not None
    rows = session.execute(
        select(Memory.id, Memory.agent_id)
        .where(
            Memory.agent_id.in_(list(agent_ids)),
            Memory.deleted_at.is_(None),
            Memory.valid_from >= window.start,
            Memory.valid_from < window.end,
        )
        # Newest by valid time, as the live-memory index (agent_id, valid_from) holds them, so
        # the read stops at the limit; ordered by id it sorted every memory of the window first
        # (20-40 ms for "today" when the agent recorded 100k memories today).
        .order_by(Memory.valid_from.desc())
        .limit(WINDOW_CANDIDATES * n)
    ).all()
    signals.relevance["time"] = {m: 1.0 for m, _ in rows}
    if signals.query is None:
        return
    by_agent: dict[int, list[int]] = defaultdict(list)
    for memory_id, agent_id in rows:
        if memory_id not in signals.similarity:
            by_agent[agent_id].append(memory_id)
    for agent_id, ids in by_agent.items():
        vectors = _vectors(session, runtime, signals, agent_id)
        _similar(runtime, signals, vectors.similarity(ids, signals.query).items())


def _graph(session: Session, text: str, agent_ids: Sequence[int], signals: _Signals) -> None:
    """Memories that support entities the query names, weighted by how specific each entity is."""
    keys = _phrases(text)
    if not keys:
        return
    named = session.execute(
        select(Entity.id, Entity.name).where(
            Entity.agent_id.in_(list(agent_ids)), one_of(session, Entity.key, keys)
        )
    ).all()
    if not named:
        return
    holders = {entity_id: _holders(session, entity_id) for entity_id, _ in named}
    held_by = {e: len(held) for e, held in holders.items()}  # GRAPH_CAP + 1 means "many"
    common = [e for e, n in held_by.items() if n > GRAPH_CAP]
    for entity_id in common:
        holders[entity_id] = []
    if common and (candidates := signals.candidates()):
        for memory_id, entity_id in _supports(session, common, candidates):
            holders[entity_id].append(memory_id)
    weight = {e: 1 / math.log2(2 + n) for e, n in held_by.items()}
    total, names = sum(weight.values()), dict(named)
    shared: dict[int, float] = defaultdict(float)
    for entity_id, held in holders.items():
        for memory_id in held:
            if names[entity_id] not in signals.entities[memory_id]:
                signals.entities[memory_id].append(names[entity_id])
                shared[memory_id] += weight[entity_id] / total
    signals.relevance["entities"] = dict(shared)


def _holders(session: Session, entity_id: int) -> list[int]:
    """Up to GRAPH_CAP + 1 live memories supporting the entity (one more than the cap: "many")."""
    return list(
        session.scalars(
            select(EntitySupport.memory_id)
            .join(Memory, (Memory.id == EntitySupport.memory_id) & Memory.deleted_at.is_(None))
            .where(EntitySupport.entity_id == entity_id)
            .limit(GRAPH_CAP + 1)
        )
    )


def _supports(session: Session, entity_ids: list[int], memory_ids: set[int]) -> list[tuple[int, int]]:
    rows = session.execute(
        select(EntitySupport.memory_id, EntitySupport.entity_id).where(
            EntitySupport.entity_id.in_(entity_ids), one_of(session, EntitySupport.memory_id, memory_ids)
        )
    )
    return [(m, e) for m, e in rows]


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
    rows = _scoring_rows(session, list(fused))
    rows.update(_scoring_rows(session, _replacements_missing(rows)))
    backing = corroborations(session, list(rows))
    totals = {i: _strength(r, runtime, backing.get(i, 0), now, strength_total) for i, r in rows.items()}
    scores = {i: fused.get(i, 0.0) * (1 - STRENGTH_SHARE + STRENGTH_SHARE * totals[i]) for i in rows}
    if signals.window is not None:
        for i, r in rows.items():
            if not signals.window.holds(as_utc(r.valid_from)):
                scores[i] *= OUTSIDE_WINDOW
    superseded = _supersede(scores, rows, now)
    _one_place_per_repeat(session, runtime, signals, scores, rows, depth(k))
    best = [i for i in sorted(scores, key=lambda i: (-scores[i], -i)) if scores[i] > 0][:k]
    memories = {m.id: m for m in session.scalars(select(Memory).where(one_of(session, Memory.id, best)))}
    strengths = {i: _strength(rows[i], runtime, backing.get(i, 0), now, strength_parts) for i in memories}
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
        if i in memories
    ]


def _replacements_missing(rows: dict[int, Row]) -> list[int]:
    """What replaced a candidate, where it is no candidate itself (one per superseded candidate)."""
    return sorted({r.superseded_by for r in rows.values() if r.superseded_by and r.superseded_by not in rows})


def _supersede(scores: dict[int, float], rows: dict[int, Row], now: dt.datetime) -> set[int]:
    """A superseded fact passes its relevance to what replaced it (a question that finds the old
    statement asks about the same thing, and the replacement is what holds now: "my NFLX limit is
    5%" found by its words lifts "from now on it is 2%"), then ranks below it, scaled by
    ``SUPERSEDED_FACTOR``. One step: a replacement replaced in turn lifts its own replacement only
    when that one is a candidate too."""
    superseded = {i for i, r in rows.items() if _is_superseded(r, now)}
    for i in superseded:
        replacement = rows[i].superseded_by
        if replacement in scores:
            scores[replacement] = max(scores[replacement], scores[i])
    for i in superseded:
        scores[i] *= SUPERSEDED_FACTOR
    for i in superseded:
        replacement = rows[i].superseded_by
        if replacement in scores:
            scores[i] = min(scores[i], scores[replacement] * 0.9)
    return superseded


def _one_place_per_repeat(
    session: Session,
    runtime: MemoryRuntime,
    signals: _Signals,
    scores: dict[int, float],
    rows: dict[int, Row],
    n: int,
) -> None:
    """Near-copies among the best n share one place (``memory.repeats``)."""
    best = sorted(scores, key=lambda i: (-scores[i], -i))[:n]
    by_agent: dict[int, list[int]] = defaultdict(list)
    for i in best:
        by_agent[rows[i].agent_id].append(i)
    found: dict[int, np.ndarray] = {}
    for agent_id, ids in by_agent.items():  # from the vectors the semantic signal just read
        found.update(_vectors(session, runtime, signals, agent_id).vectors_of(ids))
    said_at = {i: as_utc(rows[i].valid_from) for i in best}
    for group in repeats.groups(best, found):
        if len(group) > 1:
            repeats.collapse(scores, group, said_at, signals.window is None)


def _scoring_rows(session: Session, memory_ids: list[int]) -> dict[int, Row]:
    """What ranking needs of each live candidate, without loading (or parsing JSON of) whole rows."""
    columns = (
        Memory.id,
        Memory.agent_id,
        Memory.importance,
        Memory.last_accessed,
        Memory.recorded_at,
        Memory.access_count,
        Memory.wrong_predictions,
        Memory.superseded_by,
        Memory.valid_from,
        Memory.valid_until,
    )
    found: dict[int, Row] = {}
    for start in range(0, len(memory_ids), 900):
        chunk = memory_ids[start : start + 900]
        query = select(*columns).where(one_of(session, Memory.id, chunk), Memory.deleted_at.is_(None))
        found.update({row.id: row for row in session.execute(query)})
    return found


def _strength(
    row: Row, runtime: MemoryRuntime, corroborated: int, now: dt.datetime, how: Callable[..., _T]
) -> _T:
    return how(
        importance=row.importance,
        last_used=row.last_accessed or row.recorded_at,
        now=now,
        half_life_days=runtime.half_life_days,
        access_count=row.access_count,
        corroborations=corroborated,
        wrong_predictions=row.wrong_predictions,
    )


def _is_superseded(row: Row, now: dt.datetime) -> bool:
    return row.superseded_by is not None or (row.valid_until is not None and as_utc(row.valid_until) <= now)


def _terms_in(content: str, words: list[str]) -> list[str]:
    # Stems match too ("forecasts" finds "forecast"), as they did in the index.
    present = {fulltext.stem(w.casefold()) for w in _WORD.findall(content)}
    return [w for w in fulltext.search_terms(words) if fulltext.stem(w) in present]
