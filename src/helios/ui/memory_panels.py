"""Pieces of the Memory Graph page: a memory row with its strength bar, search hits with their
matches highlighted, and the forget review queue."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from nicegui import ui

from helios.memory.schemas import MemoryRead, SearchHit, StrengthParts

KIND_COLOURS = {"fact": "blue", "episode": "teal", "lesson": "purple", "preference": "orange"}


def highlighted(content: str, terms: list[str]) -> str:
    """``content`` escaped, with each matched word (and its stem's variants) in <mark>."""
    text = html.escape(content)
    if not terms:
        return text
    pattern = "|".join(re.escape(html.escape(t)) + r"\w*" for t in sorted(terms, key=len, reverse=True))
    return re.sub(rf"(?i)\b({pattern})", r"<mark>\1</mark>", text)


def strength_text(parts: StrengthParts) -> str:
    return (
        f"strength {parts.total:.2f} = importance {parts.importance:.2f} × decay {parts.decay:.2f} "
        f"(floored; {parts.days_since_use:.1f} days since use, half-life {parts.half_life_days:g} d) "
        f"+ access {parts.access:.2f} + corroboration {parts.corroboration:.2f}"
        + (
            f" × penalty {parts.penalty:.2f} ({parts.wrong_predictions} wrong predictions)"
            if parts.wrong_predictions
            else ""
        )
    )


def strength_bar(parts: StrengthParts, testid: str) -> None:
    with ui.element("div").classes("w-14 sm:w-20 shrink-0").props(f'data-testid="{testid}"'):
        ui.linear_progress(value=parts.total, show_value=False, size="8px").props("rounded color=amber-7")
        ui.label(f"{parts.total:.2f}").classes("text-[11px] text-slate-500 tabular-nums")
        ui.tooltip(strength_text(parts)).classes("text-xs")


def provenance(memory: MemoryRead) -> str | None:
    """Where a memory written by an assistant came from: the call and the exact prompt version."""
    link = memory.source_link or {}
    if link.get("type") != "assistant_call":
        return None
    digest = str(link.get("prompt_hash") or "")
    return (
        f"written by assistant {link.get('assistant', '?')} in call #{link.get('id', '?')} · "
        f"prompt v{link.get('prompt_version', '?')} · hash {digest[:12]}"
    )


def memory_row(
    memory: MemoryRead,
    *,
    can_edit: bool,
    on_delete: Callable[[int], None],
    on_restore: Callable[[int], None],
    terms: list[str] | None = None,
) -> None:
    row = ui.row().classes(
        "w-full items-start no-wrap gap-3 py-2 border-b border-slate-200 dark:border-slate-700"
    )
    with row.props(f'data-testid="memory-{memory.id}"'):
        with ui.column().classes("grow min-w-0 basis-0 gap-0"):
            # The kind sits above the text, so on a phone the text keeps the row's width.
            ui.badge(memory.kind.value, color=KIND_COLOURS.get(memory.kind.value, "grey")).props(
                "outline"
            ).classes("mb-1")
            ui.html(highlighted(memory.content, terms or [])).classes("text-sm break-words")
            note = f"#{memory.id} · valid from {memory.valid_from:%Y-%m-%d %H:%M}"
            if memory.superseded_by:
                note += f" · superseded by #{memory.superseded_by}"
            ui.label(note).classes("text-[11px] text-slate-500")
            if origin := provenance(memory):
                ui.label(origin).classes("text-[11px] text-slate-500 break-words").props(
                    f'data-testid="provenance-{memory.id}"'
                )
        strength_bar(memory.strength, f"strength-{memory.id}")
        if not can_edit:
            return
        if memory.deleted_at is None:
            ui.button(icon="delete", on_click=lambda: on_delete(memory.id)).props(
                f'flat dense round color=negative data-testid="delete-{memory.id}"'
            ).tooltip("Delete (restorable)")
        else:
            ui.button(icon="restore", on_click=lambda: on_restore(memory.id)).props(
                f'flat dense round color=positive data-testid="restore-{memory.id}"'
            ).tooltip("Restore")


def search_hit(hit: SearchHit, **actions) -> None:  # type: ignore[no-untyped-def]
    with ui.column().classes("w-full gap-0").props(f'data-testid="hit-{hit.memory.id}"'):
        memory_row(hit.memory, terms=hit.why.terms, **actions)
        with ui.row().classes("gap-1 pb-1"):
            ui.label(f"score {hit.score:.4f}").classes("text-[11px] text-slate-500 mr-2")
            for term in hit.why.terms:
                ui.chip(f"term: {term}", color="blue-1").props("dense square")
            if hit.why.semantic is not None:
                ui.chip(f"semantic {hit.why.semantic:.2f}", color="green-1").props("dense square")
            for name in hit.why.entities:
                ui.chip(f"entity: {name}", color="amber-1").props("dense square")
            if hit.why.superseded:
                ui.chip("superseded", color="grey-3").props("dense square")
