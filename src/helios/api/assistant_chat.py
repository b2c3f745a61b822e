"""/api/v1/ai-assistant/chat: an assistant answers with its production prompt or experiment variant.

The request is planned and logged in two short transactions; the model call in between holds
none, so a slow model never blocks other writers. With ``stream: true`` the answer arrives as
server-sent events: ``meta`` (version, variant, rendered prompt), ``delta`` (text), ``done``
(the logged call, its outcome, and a notice when there was no answer).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from helios.api.deps import ContextDep, Viewer
from helios.assistants import chat
from helios.assistants.schemas import CallOutcome, ChatRequest, ChatResult
from helios.context import AppContext
from helios.core.auth import Principal

router = APIRouter(prefix="/ai-assistant", tags=["assistants"])


@router.post(
    "/chat",
    response_model=ChatResult,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "JSON, or events with stream: true"},
        404: {"description": "no such assistant, or it has no production prompt"},
        422: {"description": "a missing or unknown variable, or a template that hit a limit"},
    },
)
def chat_with_assistant(body: ChatRequest, context: ContextDep, actor: Viewer):  # type: ignore[no-untyped-def]
    """Answer with the assistant's production prompt (or the subject's experiment variant). When no
    model is configured or reachable, the outcome says so and the rendered prompt is still shown."""
    plan = chat.plan_chat(context.db, context, body)
    if not body.stream:
        return chat.finish_chat(context, plan, chat.answer(plan), actor)
    return StreamingResponse(
        _events(context, plan, actor), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


def _events(context: AppContext, plan: chat.ChatPlan, actor: Principal) -> Iterator[str]:
    meta = {
        "prompt_version": plan.rendered.version,
        "content_hash": plan.rendered.content_hash,
        "experiment_id": plan.experiment_id,
        "variant": plan.variant,
        "rendered": [m.model_dump() for m in plan.rendered.messages],
        "context": plan.notes,
    }
    yield f"event: meta\ndata: {json.dumps(meta)}\n\n"
    reply = chat.Reply(CallOutcome.error)
    for delta in chat.stream_answer(plan, reply):
        yield f"event: delta\ndata: {json.dumps({'text': delta})}\n\n"
    done = chat.finish_chat(context, plan, reply, actor)
    yield f"event: done\ndata: {done.model_dump_json(exclude={'rendered'})}\n\n"
