"""Prompt versions (immutable, content-hashed), labels that point at them, diffs and rendering.

A save checks everything a render could trip on later: every template parses in the sandbox,
reaches no Python internals, and uses only declared variables (or the context variables the
server fills). So a version that exists can always render given its declared variables.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helios.assistants.rendering import CONTEXT_VARIABLES, CheckedTemplate, check_template, render
from helios.assistants.schemas import (
    BehaviourSettings,
    ChatMessage,
    DiffPart,
    PromptDiff,
    PromptVersionCreate,
    RenderedPrompt,
)
from helios.assistants.tables import Assistant, PromptLabel, PromptVersion
from helios.core.auth import Principal, record_audit
from helios.core.clock import utcnow
from helios.core.errors import InvalidInput, NotFound

PRODUCTION = "production"


def field_error(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", errors=[{"field": field, "message": message}])


# --- saving -----------------------------------------------------------------------------------


def content_hash(body: PromptVersionCreate) -> str:
    """sha256 over what the model sees and how it samples; the commit message is not content."""
    content = {
        "system_prompt": body.system_prompt,
        "messages": [m.model_dump() for m in body.messages],
        "variables": sorted(body.variables),
        "settings": body.settings.model_dump(),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def check_version(body: PromptVersionCreate, max_tokens_limit: int) -> None:
    """Everything a save refuses, each as a 422 naming the field."""
    declared = _declared(body.variables)
    for where, checked in _templates(body):
        unknown = sorted(checked.variables - declared - CONTEXT_VARIABLES)
        if unknown:
            raise field_error(
                where,
                f"unknown variable {unknown[0]!r}; declare it in 'variables' (declared: "
                f"{', '.join(sorted(declared)) or 'none'})",
            )
    if body.settings.max_tokens > max_tokens_limit:
        raise field_error(
            "settings.max_tokens",
            f"{body.settings.max_tokens} is above this model's limit of {max_tokens_limit}",
        )


def _declared(variables: list[str]) -> set[str]:
    import re

    for i, name in enumerate(variables):
        if not re.match(r"^[A-Za-z][A-Za-z0-9_]{0,63}$", name):
            raise field_error(f"variables.{i}", f"{name!r} is not a variable name (letters, digits, _)")
        if name in CONTEXT_VARIABLES:
            raise field_error(f"variables.{i}", f"{name!r} is filled by the server; do not declare it")
    if len(set(variables)) != len(variables):
        raise field_error("variables", "a variable is declared twice")
    return set(variables)


def _templates(body: PromptVersionCreate) -> list[tuple[str, CheckedTemplate]]:
    checked = [("system_prompt", check_template(body.system_prompt, "system_prompt"))]
    for i, message in enumerate(body.messages):
        where = f"messages.{i}.template"
        checked.append((where, check_template(message.template, where)))
    return checked


def add_version(
    session: Session, assistant: Assistant, body: PromptVersionCreate, actor: Principal, max_tokens_limit: int
) -> PromptVersion:
    check_version(body, max_tokens_limit)
    number = (
        session.scalar(
            select(func.max(PromptVersion.version)).where(PromptVersion.assistant_id == assistant.id)
        )
        or 0
    ) + 1
    version = PromptVersion(
        assistant_id=assistant.id,
        version=number,
        system_prompt=body.system_prompt,
        messages=[m.model_dump() for m in body.messages],
        variables=list(body.variables),
        settings=body.settings.model_dump(),
        message=body.message,
        author=actor.name,
        content_hash=content_hash(body),
    )
    session.add(version)
    assistant.updated_at = utcnow()
    session.flush()
    record_audit(session, actor, "prompt.version", "assistant", assistant.name, {"version": number})
    return version


# --- looking up -------------------------------------------------------------------------------


def get_version(session: Session, assistant: Assistant, number: int) -> PromptVersion:
    row = session.scalar(
        select(PromptVersion).where(
            PromptVersion.assistant_id == assistant.id, PromptVersion.version == number
        )
    )
    if row is None:
        raise NotFound(f"assistant {assistant.name!r} has no prompt version {number}")
    return row


def labelled_version(session: Session, assistant: Assistant, label: str = PRODUCTION) -> PromptVersion:
    row = session.scalar(
        select(PromptVersion)
        .join(PromptLabel, PromptLabel.version_id == PromptVersion.id)
        .where(PromptLabel.assistant_id == assistant.id, PromptLabel.label == label)
    )
    if row is None:
        raise NotFound(
            f"assistant {assistant.name!r} has no {label!r} prompt yet; save a version and label it {label}"
        )
    return row


def labels_of(session: Session, assistant_ids: list[int]) -> dict[int, dict[str, int]]:
    """assistant id -> {label: version number}."""
    rows = session.execute(
        select(PromptLabel.assistant_id, PromptLabel.label, PromptVersion.version)
        .join(PromptVersion, PromptVersion.id == PromptLabel.version_id)
        .where(PromptLabel.assistant_id.in_(assistant_ids))
    )
    labels: dict[int, dict[str, int]] = {i: {} for i in assistant_ids}
    for assistant_id, label, number in rows:
        labels[assistant_id][label] = number
    return labels


def set_label(
    session: Session,
    assistant: Assistant,
    label: str,
    version: PromptVersion,
    actor: Principal,
    note: str = "",
) -> tuple[PromptLabel, int | None]:
    """Point ``label`` at ``version`` (rollback is this, to an older version); the previous number."""
    row = session.scalar(
        select(PromptLabel).where(PromptLabel.assistant_id == assistant.id, PromptLabel.label == label)
    )
    previous = session.get(PromptVersion, row.version_id).version if row else None
    if row is None:
        row = PromptLabel(
            assistant_id=assistant.id, label=label, version_id=version.id, updated_by=actor.name
        )
        session.add(row)
    row.version_id, row.updated_at, row.updated_by = version.id, utcnow(), actor.name
    session.flush()
    details = {"label": label, "from": previous, "to": version.version, "note": note}
    record_audit(session, actor, "prompt.label", "assistant", assistant.name, details)
    return row, previous


def remove_label(session: Session, assistant: Assistant, label: str, actor: Principal) -> None:
    row = session.scalar(
        select(PromptLabel).where(PromptLabel.assistant_id == assistant.id, PromptLabel.label == label)
    )
    if row is None:
        raise NotFound(f"assistant {assistant.name!r} has no label {label!r}")
    session.delete(row)
    session.flush()
    record_audit(session, actor, "prompt.unlabel", "assistant", assistant.name, {"label": label})


# --- diff -------------------------------------------------------------------------------------


def diff(assistant: Assistant, old: PromptVersion, new: PromptVersion) -> PromptDiff:
    parts = [_part("system_prompt", old.system_prompt, new.system_prompt, old, new)]
    for i in range(max(len(old.messages), len(new.messages))):
        before = _message_text(old.messages, i)
        after = _message_text(new.messages, i)
        parts.append(_part(f"messages.{i}.template", before, after, old, new))
    parts.append(_part("variables", "\n".join(old.variables), "\n".join(new.variables), old, new))
    parts.append(_part("settings", _settings_text(old.settings), _settings_text(new.settings), old, new))
    changed = any(p.unified for p in parts)
    return PromptDiff(
        assistant=assistant.name,
        from_version=old.version,
        to_version=new.version,
        changed=changed,
        parts=parts,
    )


def _message_text(messages: list[dict[str, Any]], i: int) -> str:
    return f"[{messages[i]['role']}]\n{messages[i]['template']}" if i < len(messages) else ""


def _settings_text(settings: dict[str, Any]) -> str:
    return "\n".join(f"{k}: {json.dumps(v)}" for k, v in sorted(settings.items()))


def _part(name: str, before: str, after: str, old: PromptVersion, new: PromptVersion) -> DiffPart:
    lines = difflib.unified_diff(
        before.splitlines(),
        after.splitlines(),
        fromfile=f"v{old.version}/{name}",
        tofile=f"v{new.version}/{name}",
        lineterm="",
    )
    return DiffPart(part=name, unified="\n".join(lines))


# --- rendering --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionSnapshot:
    """What rendering needs of a prompt version, detached from any session. Versions never change,
    so one snapshot serves every call in the process."""

    id: int
    version: int
    content_hash: str
    system_prompt: str
    messages: list[dict[str, Any]]
    variables: list[str]
    settings: dict[str, Any]


_SNAPSHOTS: dict[tuple[int, int, str], VersionSnapshot] = {}
_SNAPSHOTS_LOCK = threading.Lock()


def snapshot(session: Session, version_id: int, number: int, digest: str) -> VersionSnapshot:
    """The version with this id, number and hash, read once per process. The key holds all three
    because SQLite may hand a deleted row's id to a new row; the hash covers everything rendered."""
    key = (version_id, number, digest)
    found = _SNAPSHOTS.get(key)
    if found is not None:
        return found
    row = session.get(PromptVersion, version_id)
    if row is None:
        raise NotFound(f"no prompt version with id {version_id}")
    found = VersionSnapshot(
        row.id, row.version, row.content_hash, row.system_prompt, row.messages, row.variables, row.settings
    )
    with _SNAPSHOTS_LOCK:
        if len(_SNAPSHOTS) > 4096:
            _SNAPSHOTS.clear()
        if (row.id, row.version, row.content_hash) == key:
            _SNAPSHOTS[key] = found
    return found


def render_version(
    version: PromptVersion | VersionSnapshot, values: dict[str, Any], context: dict[str, Any] | None = None
) -> RenderedPrompt:
    """The chat messages ``version`` makes from ``values`` (+ the server's context variables)."""
    unknown = sorted(set(values) - set(version.variables))
    if unknown:
        raise field_error(
            f"variables.{unknown[0]}",
            f"v{version.version} declares no variable {unknown[0]!r} "
            f"(declared: {', '.join(version.variables) or 'none'})",
        )
    missing = [name for name in version.variables if name not in values]
    if missing:
        raise field_error(f"variables.{missing[0]}", f"a value for {missing[0]!r} is required")
    scope = {name: [] for name in CONTEXT_VARIABLES} | (context or {}) | values
    digest = version.content_hash
    messages = [
        ChatMessage(
            role="system",
            content=render(_compiled(digest, version.system_prompt, "system_prompt"), scope, "system_prompt"),
        )
    ]
    for i, message in enumerate(version.messages):
        where = f"messages.{i}.template"
        compiled = _compiled(digest, message["template"], where)
        messages.append(ChatMessage(role=message["role"], content=render(compiled, scope, where)))
    return RenderedPrompt(
        version=version.version,
        content_hash=digest,
        messages=messages,
        settings=_settings(digest, version.settings),
    )


_CACHE: dict[tuple[str, str], CheckedTemplate] = {}
_SETTINGS: dict[str, BehaviourSettings] = {}


def _compiled(digest: str, source: str, where: str) -> CheckedTemplate:
    # Versions are immutable and the content hash covers every template, so (hash, place) names
    # one compiled template for the life of the process (no hashing of the template text per call).
    key = (digest, where)
    checked = _CACHE.get(key)
    if checked is None or checked.source != source:
        if len(_CACHE) > 2048:
            _CACHE.clear()
        checked = _CACHE[key] = check_template(source, where)
    return checked


def _settings(digest: str, settings: dict[str, Any]) -> BehaviourSettings:
    found = _SETTINGS.get(digest)
    if found is None:
        if len(_SETTINGS) > 2048:
            _SETTINGS.clear()
        found = _SETTINGS[digest] = BehaviourSettings.model_validate(settings)
    return found.model_copy()
