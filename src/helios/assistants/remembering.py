"""What an assistant writes to its agent's memory: each answered exchange, when its memory policy
says ``remember``, through the memory domain's service (never its tables).

Every memory carries where it came from: the source link names the logged call, and the metadata
holds the prompt version's content hash and id (and the experiment variant), so a memory can be
traced to the exact prompt and settings that produced it — the hash is the same one the call log,
the version list and the diff show.

The write is its own short transaction after the call is logged: the memory service embeds the
text before its first statement, so SQLite's write lock is never held while the embedder runs, and
a memory that cannot be written (a deleted agent, say) never loses the answer or its log row.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from helios.assistants.schemas import CallOutcome
from helios.core.auth import Principal, Role
from helios.core.errors import HeliosError

if TYPE_CHECKING:
    from helios.assistants.chat import ChatPlan, Reply

log = logging.getLogger(__name__)
MAX_QUESTION_CHARS = 1_000
MAX_ANSWER_CHARS = 4_000
IMPORTANCE = 0.3  # an exchange is an episode; facts an agent should keep are written on purpose


def author(assistant: str) -> Principal:
    """Who the memory service records as the writer: the assistant itself."""
    return Principal(name=f"assistant:{assistant}"[:64], role=Role.editor)


def exchange_memory(plan: ChatPlan, reply: Reply, call_id: int, asked_by: str) -> dict[str, Any]:
    question = _clip(plan.question, MAX_QUESTION_CHARS)
    answer = _clip(reply.answer or "", MAX_ANSWER_CHARS)
    provenance = {
        "assistant": plan.assistant,
        "call_id": call_id,
        "prompt_version": plan.rendered.version,
        "prompt_version_id": plan.version_id,
        "prompt_hash": plan.rendered.content_hash,
    }
    if plan.experiment_id is not None:
        provenance |= {"experiment_id": plan.experiment_id, "variant": plan.variant}
    return {
        "content": f"Asked {plan.assistant} (prompt v{plan.rendered.version}): {question}\n"
        f"Answered: {answer}",
        "kind": "episode",
        "importance": IMPORTANCE,
        "source": "system",
        "source_link": {"type": "assistant_call", "id": call_id, **provenance},
        "metadata": {**provenance, "asked_by": asked_by, "tickers": plan.tickers},
        "entities": [{"name": ticker, "type": "ticker"} for ticker in plan.tickers[:20]],
    }


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def remember_exchange(
    app: Any, plan: ChatPlan, reply: Reply, call_id: int, actor: Principal
) -> tuple[list[int], str]:
    """The ids written and a note for the result's context (why nothing was, when nothing was)."""
    if not plan.remember or plan.memory_agent is None:
        return [], "this assistant's memory policy does not remember answers"
    if reply.outcome != CallOutcome.answered:
        return [], "no answer, so nothing was remembered"
    try:
        from helios.memory import service as memory
        from helios.memory.schemas import MemoryBatch
    except ImportError:
        return [], "agent memory is not part of this install; nothing was remembered"
    batch = MemoryBatch.model_validate({"memories": [exchange_memory(plan, reply, call_id, actor.name)]})
    try:
        with app.db.transaction() as session:
            _, _, written = memory.write_memories(
                session, app.memory, app.store, plan.memory_agent, batch, author(plan.assistant)
            )
            ids = [m.id for m in written]
    except HeliosError as exc:
        log.warning("assistant %s could not remember call %s: %s", plan.assistant, call_id, exc.detail)
        return [], f"not remembered: {exc.detail}"
    short_hash = plan.rendered.content_hash[:12]
    return ids, f"remembered as memory #{ids[0]} of {plan.memory_agent} (prompt hash {short_hash})"
