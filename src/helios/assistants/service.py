"""Assistants: create, change, look up; the server-wide config; saving prompt versions and moving
labels (with the production test gate); which provider an assistant talks to.

The LLM model is a registry ``llm`` model, reached only through the registry's service.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from helios.assistants import prompts, providers
from helios.assistants.providers import Provider, check_base_url
from helios.assistants.providers import ProviderProblem as ProviderProblem  # complete_json raises it
from helios.assistants.schemas import (
    DEFAULT_MAX_TOKENS_LIMIT,
    LABEL,
    AssistantConfigUpdate,
    AssistantCreate,
    AssistantUpdate,
    BehaviourSettings,
    ChatMessage,
    PromptVersionCreate,
)
from helios.assistants.tables import Assistant, AssistantSettings, PromptLabel, PromptVersion
from helios.core.auth import Principal, Role, record_audit
from helios.core.clock import utcnow
from helios.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from helios.registry import service as registry


def get_assistant(session: Session, ident: str) -> Assistant:
    """By name, or by numeric id when no assistant has that name."""
    row = session.scalar(select(Assistant).where(Assistant.name == ident))
    if row is None and ident.isdecimal():
        row = session.get(Assistant, int(ident))
    if row is None:
        raise NotFound(f"no assistant {ident!r}")
    return row


def create_assistant(session: Session, body: AssistantCreate, actor: Principal) -> Assistant:
    if session.scalar(select(Assistant.id).where(Assistant.name == body.name)):
        raise Conflict(f"an assistant named {body.name!r} already exists")
    assistant = Assistant(name=body.name, role=body.role, description=body.description, created_by=actor.name)
    _apply_model(session, assistant, body.llm_model, body.llm_version)
    _apply_memory(assistant, body.memory)
    session.add(assistant)
    session.flush()
    record_audit(session, actor, "assistant.create", "assistant", body.name, {"role": body.role})
    return assistant


def update_assistant(
    session: Session, assistant: Assistant, body: AssistantUpdate, actor: Principal
) -> Assistant:
    changes = body.model_dump(exclude_unset=True)
    if "role" in changes and body.role is not None:
        assistant.role = body.role
    if "description" in changes and body.description is not None:
        assistant.description = body.description
    if "llm_model" in changes or "llm_version" in changes:
        model = changes.get("llm_model", assistant.llm_model)
        version = changes.get("llm_version", assistant.llm_version if "llm_model" not in changes else None)
        _apply_model(session, assistant, model, version)
    if body.memory is not None:
        _apply_memory(assistant, body.memory)
    assistant.updated_at = utcnow()
    session.flush()
    record_audit(session, actor, "assistant.update", "assistant", assistant.name, {"fields": sorted(changes)})
    return assistant


def delete_assistant(session: Session, assistant: Assistant, actor: Principal) -> None:
    name = assistant.name
    session.delete(assistant)
    session.flush()
    record_audit(session, actor, "assistant.delete", "assistant", name, {})


def _apply_model(session: Session, assistant: Assistant, model: str | None, version: int | None) -> None:
    """Point the assistant at a registry llm model after checking it exists and may be called."""
    if model is None:
        if version is not None:
            raise _field("llm_version", "a pinned version needs an llm_model")
        assistant.llm_model, assistant.llm_version = None, None
        return
    try:
        found = registry.get_model(session, model)
    except NotFound:
        raise _field(
            "llm_model", f"no registry model {model!r}; create it with helios models create-llm"
        ) from None
    if found.kind != "llm":
        raise _field("llm_model", f"{model!r} is an ML model; an assistant needs an llm model")
    llm_config = _llm_config(session, found, version, "llm_version" if version else "llm_model")
    check_base_url(
        llm_config.get("base_url", ""), read_config(session).allow_local_model_servers, "llm_model"
    )
    assistant.llm_model, assistant.llm_version = found.name, version


def _llm_config(session: Session, model, version: int | None, field: str) -> dict:  # type: ignore[no-untyped-def]
    try:
        row = registry.get_version(session, model, version)
    except NotFound as exc:
        raise _field(field, exc.detail) from None
    if not row.llm_config:
        raise _field(field, f"{model.name} v{row.version} holds no endpoint config")
    return row.llm_config


def _apply_memory(assistant: Assistant, memory) -> None:  # type: ignore[no-untyped-def]
    if memory.remember and not memory.agent:
        raise _field("memory.remember", "name the agent (memory.agent) whose memory the answers go to")
    assistant.memory_agent = memory.agent
    assistant.memory_limit = memory.limit
    assistant.memory_min_strength = memory.min_strength
    assistant.memory_remember = memory.remember


def _field(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", errors=[{"field": field, "message": message}])


# --- the server-wide config --------------------------------------------------------------------


def read_config(session: Session) -> AssistantSettings:
    row = session.get(AssistantSettings, 1)
    return (
        row
        if row is not None
        else AssistantSettings(
            id=1,
            allow_local_model_servers=False,
            request_timeout_s=30.0,
            max_retries=2,
            updated_at=None,
            updated_by=None,
        )
    )


def update_config(session: Session, body: AssistantConfigUpdate, actor: Principal) -> AssistantSettings:
    actor.require(Role.admin)
    row = session.get(AssistantSettings, 1)
    if row is None:
        row = AssistantSettings(id=1, allow_local_model_servers=False, request_timeout_s=30.0, max_retries=2)
        session.add(row)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at, row.updated_by = utcnow(), actor.name
    session.flush()
    record_audit(session, actor, "assistant.config", "assistant_settings", "1", changes)
    return row


# --- prompt versions and labels --------------------------------------------------------------


def save_version(
    session: Session, assistant: Assistant, body: PromptVersionCreate, actor: Principal
) -> PromptVersion:
    return prompts.add_version(session, assistant, body, actor, max_tokens_limit(session, assistant))


def max_tokens_limit(session: Session, assistant: Assistant) -> int:
    """The model's own output limit when its config declares one (``max_output_tokens``)."""
    if assistant.llm_model is None:
        return DEFAULT_MAX_TOKENS_LIMIT
    try:
        config = _llm_config(
            session, registry.get_model(session, assistant.llm_model), assistant.llm_version, "llm"
        )
    except (NotFound, InvalidInput):
        return DEFAULT_MAX_TOKENS_LIMIT
    limit = (config.get("default_params") or {}).get("max_output_tokens")
    return int(limit) if isinstance(limit, int) and limit > 0 else DEFAULT_MAX_TOKENS_LIMIT


def move_label(
    session: Session,
    assistant: Assistant,
    label: str,
    number: int,
    actor: Principal,
    *,
    force: bool = False,
    note: str = "",
) -> PromptLabel:
    """Point ``label`` at version ``number``; production must pass the gating test sets first."""
    # The API checks the label in its path; the page and the local CLI come here directly, and a
    # label is shown on every viewer's assistant page: the same rule for all.
    if not re.fullmatch(LABEL, label):
        raise prompts.field_error(
            "label", f"{label!r} is not a label: a lowercase letter, then up to 31 of a-z, 0-9, '_' or '-'"
        )
    version = prompts.get_version(session, assistant, number)
    if label == prompts.PRODUCTION:
        from helios.assistants import testing

        failing = testing.gate_failures(session, assistant, version)
        if failing and not force:
            raise Conflict(
                f"v{number} has not passed the gating test set(s) {', '.join(failing)}; "
                f"run them on v{number}, or an admin can force the move"
            )
        if failing:
            if actor.role < Role.admin:
                raise Forbidden("forcing production past a failing test gate needs the admin role")
            note = f"{note} (forced past failing gate: {', '.join(failing)})".strip()
    row, _ = prompts.set_label(session, assistant, label, version, actor, note)
    return row


# --- the provider ----------------------------------------------------------------------------


def provider_for(session: Session, assistant: Assistant) -> Provider | None:
    """The endpoint the assistant talks to now; None when it has no model (or no usable config)."""
    if assistant.llm_model is None:
        return None
    try:
        model = registry.get_model(session, assistant.llm_model)
        config = _llm_config(session, model, assistant.llm_version, "llm_model")
    except (NotFound, InvalidInput):
        return None
    settings = read_config(session)
    return Provider(
        model=model.name,
        base_url=config["base_url"],
        model_name=config["model_name"],
        api_key_env=config.get("api_key_env"),
        default_params=dict(config.get("default_params") or {}),
        timeout_s=settings.request_timeout_s,
        max_retries=settings.max_retries,
        allow_local=settings.allow_local_model_servers,
    )


def provider_named(session: Session, ident: str) -> Provider | None:
    """The endpoint assistant ``ident`` talks to, for another domain that needs an LLM (memory's
    entity finding); None when there is no such assistant or it has no usable model."""
    try:
        return provider_for(session, get_assistant(session, ident))
    except NotFound:
        return None


def complete_json(provider: Provider, system: str, user: str, *, max_tokens: int = 1024) -> str:
    """One completion asking for a JSON object, outside any session (the HTTP call holds no
    lock). The text comes back unparsed: the caller validates it against its own schema.
    Raises ``ProviderProblem`` when the endpoint cannot be reached or refuses."""
    messages = [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)]
    settings = BehaviourSettings(temperature=0.0, max_tokens=max_tokens, response_format="json_object")
    return providers.complete(provider, messages, settings).text
