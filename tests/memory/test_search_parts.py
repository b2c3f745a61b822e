"""The parts of search made cheaper at 100k memories give what the plain versions gave: corroboration
counts (three indexed lookups instead of one join), vector similarity of chosen memories (a binary
search instead of a dict of every id), strength totals without the parts, a large agent's int8
scan rescored in float32, and the bfloat16 model's vectors against float32's."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased

from helios.memory import embeddings, service, views
from helios.memory.embeddings import VectorIndex, hardware_bfloat16, next_version, to_blob
from helios.memory.schemas import MemoryBatch, MemoryUpdate
from helios.memory.strength import strength_parts, strength_total
from helios.memory.tables import Memory, MemoryEmbedding, RelationSupport

NAMES = ["AAPL", "Acme", "Bill", "rates"]
triples = st.lists(
    st.tuples(st.sampled_from(NAMES), st.sampled_from(["owns", "likes"]), st.sampled_from(NAMES)), max_size=3
)


def joined_corroborations(session, memory_ids):  # type: ignore[no-untyped-def]
    """The one-join query corroborations() was before."""
    mine, other = aliased(RelationSupport), aliased(RelationSupport)
    rows = session.execute(
        select(mine.memory_id, func.count(func.distinct(other.memory_id)))
        .join(other, (other.relation_id == mine.relation_id) & (other.memory_id != mine.memory_id))
        .join(Memory, (Memory.id == other.memory_id) & Memory.deleted_at.is_(None))
        .where(mine.memory_id.in_(list(memory_ids)))
        .group_by(mine.memory_id)
    )
    return {m: int(n) for m, n in rows}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(triples, min_size=1, max_size=8), st.lists(st.integers(0, 7), max_size=4))
def test_corroborations_equal_the_join(memory_context, actor, written, deleted) -> None:  # type: ignore[no-untyped-def]
    batch = MemoryBatch.model_validate(
        {
            "memories": [
                {
                    "content": f"Note {i} about " + " ".join(s for s, _, _ in ts),
                    "triples": [{"subject": s, "predicate": p, "object": o} for s, p, o in ts],
                }
                for i, ts in enumerate(written)
            ]
        }
    )
    with memory_context.db.transaction() as session:
        _, _, memories = service.write_memories(
            session, memory_context.memory, None, f"c{uuid.uuid4().hex[:8]}", batch, actor
        )
        ids = [m.id for m in memories]
        for index in deleted:
            memory = session.get(Memory, ids[index % len(ids)])
            if memory is not None and memory.deleted_at is None:
                service.delete_memory(session, memory, actor)
    with memory_context.db.reading() as session:
        assert views.corroborations(session, ids) == joined_corroborations(session, ids)
        assert views.corroborations(session, []) == {}


def test_similarity_of_chosen_memories_matches_the_matrix(memory_context, actor) -> None:  # type: ignore[no-untyped-def]
    runtime = memory_context.memory
    batch = MemoryBatch.model_validate({"memories": [{"content": f"note {i} on rates"} for i in range(30)]})
    with memory_context.db.transaction() as session:
        agent, _, memories = service.write_memories(session, runtime, None, "similar", batch, actor)
    ids = [m.id for m in memories]
    query = runtime.embedder.embed(["rates note"])[0]
    index = VectorIndex(runtime.embedder.dim)
    with memory_context.db.reading() as session:
        cached = index.current(session, agent.id)
        expected = {int(m): float(v @ query) for m, v in zip(cached.ids, cached.matrix, strict=True)}
        asked = [ids[5], ids[0], 10**9, ids[29], -1, ids[5]]
        found = index.similarity(session, agent.id, asked, query)
        assert found == {m: pytest.approx(expected[m]) for m in (ids[5], ids[0], ids[29])}
        assert index.similarity(session, agent.id, [], query) == {}
        assert index.similarity(session, agent.id + 1000, ids, query) == {}


@given(
    st.floats(0, 1),
    st.floats(0, 400),
    st.integers(0, 10_000),
    st.integers(0, 50),
    st.integers(0, 5),
    st.floats(1, 90),
)
def test_strength_total_is_the_parts_total(importance, days, reads, backing, wrong, half_life) -> None:  # type: ignore[no-untyped-def]
    now = dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
    kwargs = {
        "importance": importance,
        "last_used": now - dt.timedelta(days=days),
        "now": now,
        "half_life_days": half_life,
        "access_count": reads,
        "corroborations": backing,
        "wrong_predictions": wrong,
    }
    assert strength_total(**kwargs) == strength_parts(**kwargs).total


@pytest.mark.slow
@pytest.mark.skipif(
    not hardware_bfloat16(), reason="this CPU has no native bfloat16: the model stays float32"
)
def test_bfloat16_model_gives_float32_vectors_and_top_results() -> None:
    """Vectors stored by the float32 model stay comparable with the bfloat16 one's (one embedder
    name, no re-embedding): near-identical vectors, the same best match for each query."""
    from helios.memory.embeddings import MiniLmEmbedder

    texts = [
        "The user prefers their coffee black with no sugar",
        "Tesla shares fell sharply after the earnings call",
        "Remember to rotate the API keys every quarter",
        "My maximum allocation to NFLX is now 5 percent",
        "The ETS model for weekly sales was retrained on Monday",
        "I never want to hold anything in biotech",
    ]
    queries = [
        "how does she like her hot drinks",
        "what happened to TSLA",
        "security chores",
        "biotech stocks?",
    ]
    full, half = MiniLmEmbedder("float32"), MiniLmEmbedder("bfloat16")
    stored_full, stored_half = full.embed(texts), half.embed(texts)
    assert half.precision == "bfloat16" and stored_half.dtype == np.float32
    assert np.allclose(np.linalg.norm(stored_half, axis=1), 1, atol=1e-5)
    assert float((stored_full * stored_half).sum(axis=1).min()) > 0.999
    for query_full, query_half in zip(full.embed(queries), half.embed(queries), strict=True):
        # Old vectors searched with a new query, and new with new: the same best match.
        best = int(np.argmax(stored_full @ query_full))
        assert int(np.argmax(stored_full @ query_half)) == best
        assert int(np.argmax(stored_half @ query_half)) == best


def test_int8_scan_returns_the_float32_scan(memory_context, actor, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A large agent's int8 scan, rescored in float32, gives the same ids and scores as numpy's
    float32 scan (random vectors, so no ties)."""
    runtime = memory_context.memory
    batch = MemoryBatch.model_validate({"memories": [{"content": f"note {i}"} for i in range(400)]})
    with memory_context.db.transaction() as session:
        agent, _, memories = service.write_memories(session, runtime, None, "halves", batch, actor)
        rng = np.random.default_rng(11)
        stored = rng.standard_normal((len(memories), runtime.embedder.dim)).astype(np.float32)
        stored /= np.linalg.norm(stored, axis=1, keepdims=True)
        for memory, vector in zip(memories, stored, strict=True):
            session.execute(
                update(MemoryEmbedding)
                .where(MemoryEmbedding.memory_id == memory.id)
                .values(vector=to_blob(vector), version=next_version())
            )
    plain, halved = VectorIndex(runtime.embedder.dim), VectorIndex(runtime.embedder.dim)
    with memory_context.db.reading() as session:
        assert plain.current(session, agent.id).coarse is None
        monkeypatch.setattr(embeddings, "COARSE_FROM", 100)
        assert halved.current(session, agent.id).coarse is not None
        for query in rng.standard_normal((20, runtime.embedder.dim)).astype(np.float32):
            query /= np.linalg.norm(query)
            for k in (1, 10, 50):
                want = plain.nearest(session, [agent.id], query, k)
                got = halved.nearest(session, [agent.id], query, k)
                assert [m for m, _ in got] == [m for m, _ in want]
                assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-6)


def test_vector_cache_appends_new_memories_and_reloads_after_an_edit(
    memory_context, actor, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """After a write the cache reads only the new vectors and appends them (crossing into the
    int8 copy too); after an edit it reloads; either way it holds what a fresh load holds."""
    runtime = memory_context.memory
    monkeypatch.setattr(embeddings, "COARSE_FROM", 40)
    index = VectorIndex(runtime.embedder.dim)
    loads = []
    load = index._load
    monkeypatch.setattr(index, "_load", lambda *args: loads.append(1) or load(*args))

    def write(contents):  # type: ignore[no-untyped-def]
        batch = MemoryBatch.model_validate({"memories": [{"content": c} for c in contents]})
        with memory_context.db.transaction() as session:
            return service.write_memories(session, runtime, None, "cache", batch, actor)[2]

    def same_as_fresh(agent_id):  # type: ignore[no-untyped-def]
        with memory_context.db.reading() as session:
            cached, fresh = (
                index.current(session, agent_id),
                VectorIndex(runtime.embedder.dim)._load(session, agent_id, 0),
            )
            assert cached.ids.tolist() == fresh.ids.tolist()
            assert np.array_equal(cached.matrix, fresh.matrix)
            assert (cached.coarse is None) == (fresh.coarse is None)
            if cached.coarse is not None:
                assert np.array_equal(cached.coarse[0].numpy(), fresh.coarse[0].numpy())
                assert np.array_equal(cached.coarse[1].float().numpy(), fresh.coarse[1].float().numpy())
            query = runtime.embedder.embed(["rates and oil"])[0]
            assert index.nearest(session, [agent_id], query, 5) == VectorIndex(runtime.embedder.dim).nearest(
                session, [agent_id], query, 5
            )

    first = write([f"note {i} on rates" for i in range(30)])
    agent_id = first[0].agent_id
    same_as_fresh(agent_id)
    assert len(loads) == 1
    write([f"oil note {i}" for i in range(5)])
    same_as_fresh(agent_id)
    write([f"oil and rates {i}" for i in range(10)])  # 45 vectors: now with an int8 copy
    same_as_fresh(agent_id)
    assert len(loads) == 1 and index._agents[agent_id].coarse is not None
    with memory_context.db.transaction() as session:
        memory = session.get(Memory, first[3].id)
        service.update_memory(session, runtime, None, memory, MemoryUpdate(content="oil prices rose"))
    same_as_fresh(agent_id)
    assert len(loads) == 2


def test_vector_cache_picks_up_a_commit_that_landed_below_the_version_seen(
    memory_context, actor, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A writer takes its version before it commits: a vector can arrive with a version below the
    one the cache holds. The next refresh finds it (by id, in the margin) without a full load."""
    runtime = memory_context.memory
    index = VectorIndex(runtime.embedder.dim)
    loads = []
    load = index._load
    monkeypatch.setattr(index, "_load", lambda *args: loads.append(1) or load(*args))

    def write(contents):  # type: ignore[no-untyped-def]
        batch = MemoryBatch.model_validate({"memories": [{"content": c} for c in contents]})
        with memory_context.db.transaction() as session:
            return service.write_memories(session, runtime, None, "late", batch, actor)[2]

    agent_id = write([f"note {i} on rates" for i in range(20)])[0].agent_id
    with memory_context.db.reading() as session:
        seen = index.current(session, agent_id).stamp
    late = write(["a late oil note", "another late one"])
    with memory_context.db.transaction() as session:
        session.execute(
            update(MemoryEmbedding)
            .where(MemoryEmbedding.memory_id.in_([m.id for m in late]))
            .values(version=seen - 1_000_000)
        )
    write(["the next note"])
    with memory_context.db.reading() as session:
        cached = index.current(session, agent_id)
        fresh = VectorIndex(runtime.embedder.dim)._load(session, agent_id, 0)
        assert cached.ids.tolist() == fresh.ids.tolist() and np.array_equal(cached.matrix, fresh.matrix)
    assert len(loads) == 1


def test_a_named_window_reads_its_newest_memories_from_the_index_without_sorting_them(
    memory_context, actor
) -> None:  # type: ignore[no-untyped-def]
    """A query naming a time ("today") reads the window's newest memories by valid time in the
    order the (agent, deleted, valid_from) index holds them, so the read stops at its limit:
    ordered any other way, every memory of the window was sorted first (20-40 ms at 100k)."""
    from sqlalchemy import event, text

    from helios.memory import search

    context = memory_context
    with context.db.transaction() as session:
        batch = MemoryBatch.model_validate({"memories": [{"content": f"desk note {i}"} for i in range(30)]})
        service.write_memories(session, context.memory, None, "window", batch, actor)
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context_, executemany) -> None:  # type: ignore[no-untyped-def]
        if "valid_from >=" in statement and not statement.startswith("EXPLAIN"):
            seen.append((statement, parameters))

    engine = context.db.read_engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        with context.db.reading() as session:
            agent = session.scalar(text("SELECT id FROM agents WHERE name = 'window'"))
            hits = search.search(session, context.memory, "what did the desk note today", [agent])
            assert hits.items
            [(statement, parameters)] = seen
            if context.db.dialect != "sqlite":
                return  # PostgreSQL plans by cost: 30 rows say nothing of 100k (benchmarks/memory.py)
            explain = "EXPLAIN QUERY PLAN " + statement
            plan = " ".join(str(row) for row in session.connection().exec_driver_sql(explain, parameters))
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert "ix_memories_live_valid_from" in plan and "TEMP B-TREE" not in plan, plan


def test_a_few_texts_embed_as_a_batch_does() -> None:
    """A query (or up to SINGLE_THREAD_UP_TO texts) goes through the model's forward pass
    directly, a larger batch through encode: both give the same vectors, so memories stored in
    batches and the queries that search them stay comparable."""
    from helios.memory.embeddings import SINGLE_THREAD_UP_TO, MiniLmEmbedder

    texts = [
        f"Note {i}: the desk reviewed {name} after the close" for i, name in enumerate(["NVDA", "XOM"] * 20)
    ]
    embedder = MiniLmEmbedder()
    batch = embedder.embed(texts)  # more than SINGLE_THREAD_UP_TO: encode
    for i in (0, 7, 33):
        alone = embedder.embed([texts[i]])[0]
        assert float(alone @ batch[i]) > 0.9999
    few = embedder.embed(texts[:SINGLE_THREAD_UP_TO])  # padded together, masked apart
    assert float((few * batch[:SINGLE_THREAD_UP_TO]).sum(axis=1).min()) > 0.9999


def test_the_traced_transformer_embeds_as_eager_mode_does() -> None:
    """Queries go through the frozen TorchScript trace of the transformer (a speed-up, so a
    silent fall back to eager mode would go unnoticed): it is in use, and its vectors match
    eager mode's for one text, a padded batch and a text cut at the model's 256 tokens."""
    from helios.memory.embeddings import MiniLmEmbedder, _encode

    embedder = MiniLmEmbedder()
    model = embedder._loaded()
    assert embedder._traced is not None
    for texts in (
        ["What is my NFLX limit now?"],
        ["hi", "The desk reviewed NVDA after the close and kept the hedge", "ünïcödé 😀 ok"],
        ["NVDA " * 400],
    ):
        traced, eager = _encode(model, texts, embedder._traced), _encode(model, texts)
        traced /= np.linalg.norm(traced, axis=1, keepdims=True)
        eager /= np.linalg.norm(eager, axis=1, keepdims=True)
        assert float((traced * eager).sum(axis=1).min()) > 0.9999


def test_the_query_is_embedded_while_the_full_text_index_is_read(memory_context, actor, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The embedding (and vector scan) of a search runs on another thread while this one reads the
    full-text index: the embedder here waits until the full-text read has begun, which would
    never happen if the two ran one after the other (it gives up after 10 s, and the test fails)."""
    import threading

    from helios.memory import fulltext, search

    write_batch = MemoryBatch.model_validate({"memories": [{"content": "Gadwall ducks winter on the lake"}]})
    with memory_context.db.transaction() as session:
        service.write_memories(session, memory_context.memory, None, "overlap", write_batch, actor)
    reading = threading.Event()
    waited: list[bool] = []
    embedder = memory_context.memory.embedder
    plain_embed, plain_search = embedder.embed, fulltext.search

    def embed_once_reading(texts):  # type: ignore[no-untyped-def]
        waited.append(reading.wait(timeout=10))
        return plain_embed(texts)

    def full_text(*args, **kwargs):  # type: ignore[no-untyped-def]
        reading.set()
        return plain_search(*args, **kwargs)

    monkeypatch.setattr(embedder, "embed", embed_once_reading)
    monkeypatch.setattr(fulltext, "search", full_text)
    with memory_context.db.reading() as session:
        agent = session.scalar(select(Memory.agent_id).where(Memory.content.like("Gadwall%")))
        found = search.search(session, memory_context.memory, "where do gadwall ducks winter", [agent])
    assert waited == [True]
    assert [hit.memory.content for hit in found.items] == ["Gadwall ducks winter on the lake"]
    assert found.items[0].why.semantic is not None and found.items[0].why.terms
