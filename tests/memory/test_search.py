"""Search takes any text a person can type, and ranks by meaning as well as words."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helios.agents import service as agents
from helios.memory import search, service
from helios.memory.runtime import MemoryRuntime
from helios.memory.schemas import MemoryBatch
from helios.memory.strength import FLOOR, strength_parts

TYPED = [
    '"unbalanced quote',
    "c++ and c#",
    "AND",
    "OR NOT",
    "NEAR(",
    "NEAR(a b",
    "col:value",
    "a*",
    "-minus",
    "^caret",
    "rate-limit",
    "🚀📉 emoji",
    "'; DROP TABLE memories; --",
    "\\",
    "x" * 5_000,
    "   ",
    "",
    "ß straße",
    "中文 查询",
    "(",
    ")",
    "{}",
    "%_",
    ":",
    "NEAR/3",
]


@pytest.fixture
def stocked(memory_context, actor):  # type: ignore[no-untyped-def]
    batch = MemoryBatch.model_validate(
        {
            "memories": [
                {"content": "C++ build of the pricing engine failed on Friday"},
                {"content": "AAPL rate-limit for the quotes API is 5 requests per second"},
                {"content": "The 🚀 launch of the NEAR( parser went well"},
                {"content": "Volatility spiked after the central bank announcement"},
            ]
        }
    )
    with memory_context.db.transaction() as session:
        agent, _, _ = service.write_memories(session, memory_context.memory, None, "searcher", batch, actor)
    return memory_context, agent.id


def run(context, agent_id: int, text: str, k: int = 10):  # type: ignore[no-untyped-def]
    with context.db.reading() as session:
        return search.search(session, context.memory, text, [agent_id], k=k)


@pytest.mark.parametrize("text", TYPED)
def test_typed_text_never_errors(stocked, text: str) -> None:  # type: ignore[no-untyped-def]
    context, agent_id = stocked
    result = run(context, agent_id, text)
    if not text.strip():
        assert result.items == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_text_is_a_query(stocked, text: str) -> None:  # type: ignore[no-untyped-def]
    context, agent_id = stocked
    result = run(context, agent_id, text)
    assert len(result.items) <= 10
    assert all(0 <= hit.strength <= 1 and hit.score > 0 for hit in result.items)


def test_words_that_are_query_syntax_are_found_as_words(stocked) -> None:  # type: ignore[no-untyped-def]
    context, agent_id = stocked
    hits = run(context, agent_id, "rate-limit").items
    assert "rate-limit" in hits[0].memory.content and "rate" in hits[0].why.terms
    assert "c++" in run(context, agent_id, "c++ build").items[0].memory.content.lower()


def test_strength_decays_with_a_floor_and_shows_its_parts() -> None:
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    fresh = strength_parts(
        importance=0.8,
        last_used=now,
        now=now,
        half_life_days=30,
        access_count=0,
        corroborations=0,
        wrong_predictions=0,
    )
    month = strength_parts(
        importance=0.8,
        last_used=now - dt.timedelta(days=30),
        now=now,
        half_life_days=30,
        access_count=0,
        corroborations=0,
        wrong_predictions=0,
    )
    ancient = strength_parts(
        importance=0.8,
        last_used=now - dt.timedelta(days=3650),
        now=now,
        half_life_days=30,
        access_count=0,
        corroborations=0,
        wrong_predictions=0,
    )
    assert fresh.total == 0.8 and month.decay == 0.5 and month.total < fresh.total
    assert ancient.total == pytest.approx(0.8 * FLOOR, abs=1e-3)  # decay never hides a memory
    used = strength_parts(
        importance=0.5,
        last_used=now,
        now=now,
        half_life_days=30,
        access_count=10,
        corroborations=2,
        wrong_predictions=0,
    )
    wrong = strength_parts(
        importance=0.5,
        last_used=now,
        now=now,
        half_life_days=30,
        access_count=0,
        corroborations=0,
        wrong_predictions=2,
    )
    assert used.total > 0.5 and used.access > 0 and used.corroboration == 0.1
    assert wrong.total == pytest.approx(0.5 * 0.49, abs=1e-3)


def test_real_model_finds_by_meaning_without_shared_words(context, actor) -> None:  # type: ignore[no-untyped-def]
    """The one test that loads all-MiniLM-L6-v2 from its package (offline)."""
    context.memory = MemoryRuntime.default()
    batch = MemoryBatch.model_validate(
        {
            "memories": [
                {"content": "The user prefers their coffee black with no sugar"},
                {"content": "Tesla shares fell sharply after the earnings call"},
                {"content": "Remember to rotate the API keys every quarter"},
            ]
        }
    )
    with context.db.transaction() as session:
        agent, _, _ = service.write_memories(session, context.memory, None, "semantic", batch, actor)
    with context.db.reading() as session:
        assert agents.get_agent(session, "semantic")
        hits = search.search(
            session, context.memory, "how does she like her hot drinks", [agent.id], k=3
        ).items
    assert "coffee" in hits[0].memory.content and hits[0].why.semantic > 0.25 and hits[0].why.terms == []


def write(context, actor, agent: str, items: list[dict]) -> list[int]:  # type: ignore[no-untyped-def, type-arg]
    with context.db.transaction() as session:
        _, _, memories = service.write_memories(
            session, context.memory, None, agent, MemoryBatch.model_validate({"memories": items}), actor
        )
        return [m.id for m in memories]


def said(day: int) -> str:
    return f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}T12:00:00Z"


def test_a_changed_fact_found_by_the_old_words_answers_with_the_new(memory_context, actor) -> None:  # type: ignore[no-untyped-def]
    """The replacement shares no word with the question: it is found through what it replaced."""
    (old,) = write(memory_context, actor, "changes", [{"content": "My maximum allocation to NFLX is 5%"}])
    chatter = [{"content": f"NFLX allocation chart number {i}", "valid_from": said(i)} for i in range(6)]
    write(memory_context, actor, "changes", chatter)
    (new,) = write(
        memory_context, actor, "changes", [{"content": "Make that 2% from today.", "supersedes": [old]}]
    )
    agent = agents_id(memory_context, "changes")
    hits = run(memory_context, agent, "What is my current maximum allocation to NFLX?").items
    ids = [h.memory.id for h in hits]
    assert ids[0] == new and old in ids and ids.index(old) > 0
    assert hits[ids.index(old)].why.superseded and not hits[0].why.superseded


def test_a_statement_said_again_keeps_one_place_the_newest(memory_context, actor) -> None:  # type: ignore[no-untyped-def]
    copies = write(
        memory_context,
        actor,
        "repeats",
        [
            {"content": "Thanks, that's all for NVDA today.", "valid_from": said(day)}
            for day in (3, 40, 9, 21)
        ],
    )
    (limit,) = write(
        memory_context,
        actor,
        "repeats",
        [{"content": "Update: the NVDA position limit is 1% of the book."}],
    )
    ids = [h.memory.id for h in run(memory_context, agents_id(memory_context, "repeats"), "NVDA").items]
    assert ids[:2] == [copies[1], limit]  # the copy said on day 40, then what the others crowded out
    assert set(ids[2:]) == set(copies) - {copies[1]}


def test_a_question_that_names_a_day_keeps_that_days_copy(memory_context, actor) -> None:  # type: ignore[no-untyped-def]
    copies = write(
        memory_context,
        actor,
        "dated-repeats",
        [{"content": "Acme announced a buyback.", "valid_from": said(day)} for day in (30, 60)],
    )
    hits = run(memory_context, agents_id(memory_context, "dated-repeats"), "Acme buyback on February 3").items
    assert hits[0].memory.id == copies[0]


def agents_id(context, name: str) -> int:  # type: ignore[no-untyped-def]
    with context.db.reading() as session:
        return agents.get_agent(session, name).id
