"""The forget review queue: a rule, a dry run listing what it would forget (each can be kept
back), one Apply for the reviewed set, and every past delete/forget undoable as one action."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import run, ui
from pydantic import ValidationError

from helios.agents import service as agents
from helios.core.auth import Principal, Role
from helios.core.errors import HeliosError
from helios.memory import service, views
from helios.memory.schemas import ForgetResult, MemoryKind
from helios.ui.memory_panels import strength_bar
from helios.ui.runtime import context
from helios.ui.words import counted

HISTORY = 10


class ForgetPanel:
    def __init__(self, agent: str, principal: Principal, on_change: Callable[[], None]) -> None:
        self.agent, self.principal, self.on_change = agent, principal, on_change
        self.keep: dict[int, bool] = {}
        self.rule: dict[str, Any] = {}

    def build(self) -> None:
        with ui.card().classes("helios-card w-full p-3 gap-2"):
            ui.label("Forget outdated memories").classes("text-base font-semibold")
            ui.label(
                "Every condition you set must hold. Review first; applying is one action you can undo."
            ).classes("text-xs text-slate-500")
            with ui.row().classes("w-full items-center gap-3"):
                self.older = ui.number("older than (days)", min=0).props(
                    'outlined dense data-testid="forget-older"'
                )
                self.weaker = ui.number("strength below", min=0, max=1, step=0.05).props(
                    'outlined dense data-testid="forget-strength"'
                )
                self.kinds = (
                    ui.select([k.value for k in MemoryKind], multiple=True, label="kinds")
                    .props('outlined dense use-chips data-testid="forget-kinds"')
                    .classes("w-64")
                )
                self.superseded = ui.checkbox("only superseded facts").props(
                    'data-testid="forget-superseded"'
                )
                ui.button("Review", icon="checklist", on_click=self.review).props(
                    'data-testid="forget-review"'
                )
            self.queue = ui.column().classes("w-full gap-0").props('data-testid="forget-queue"')
            ui.label("Recent deletes and forgets").classes("text-sm font-medium mt-2")
            self.history = ui.column().classes("w-full gap-0").props('data-testid="forget-history"')

    def current_rule(self) -> dict[str, Any]:
        rule: dict[str, Any] = {}
        if self.older.value:
            rule["older_than_days"] = self.older.value
        if self.weaker.value:
            rule["strength_below"] = self.weaker.value
        if self.kinds.value:
            rule["kinds"] = list(self.kinds.value)
        if self.superseded.value:
            rule["superseded"] = True
        return rule

    async def review(self) -> None:
        from helios.ui.memory_graph import forget_request, run_forget

        try:
            request = forget_request(self.current_rule(), dry_run=True)
        except ValidationError as exc:
            ui.notify(_first_error(exc), type="negative", multi_line=True)
            return
        self.rule = request.rule.model_dump(exclude_none=True)
        result: ForgetResult = await run.io_bound(run_forget, self.agent, request, self.principal)
        self.show_queue(result)

    def show_queue(self, result: ForgetResult) -> None:
        self.keep = {m.id: True for m in result.items}
        self.queue.clear()
        with self.queue:
            if not result.items:
                ui.label("No memory matches this rule.").classes("text-sm text-slate-500")
                return
            found = counted(result.count, "memory", "memories")
            ui.label(f"{found} would be forgotten; untick any to keep.").classes("text-sm")
            for memory in result.items:
                with (
                    ui.row()
                    .classes("w-full items-center no-wrap gap-2 py-1")
                    .props(f'data-testid="queue-{memory.id}"')
                ):
                    ui.checkbox(
                        value=True, on_change=lambda e, i=memory.id: self.keep.__setitem__(i, e.value)
                    )
                    ui.label(memory.content).classes("grow text-sm truncate")
                    strength_bar(memory.strength, f"queue-strength-{memory.id}")
            ui.button("Apply: forget the ticked ones", icon="delete_sweep", on_click=self.apply).props(
                'color=negative data-testid="forget-apply"'
            )

    async def apply(self) -> None:
        from helios.ui.memory_graph import forget_request, run_forget

        chosen = [i for i, keep in self.keep.items() if keep]
        if not chosen:
            ui.notify("Nothing ticked: nothing forgotten")
            return
        try:
            self.principal.require(Role.editor)
            request = forget_request(self.rule, dry_run=False, memory_ids=chosen)
            result = await run.io_bound(run_forget, self.agent, request, self.principal)
        except HeliosError as exc:
            ui.notify(exc.detail, type="negative", multi_line=True)
            return
        self.queue.clear()
        ui.notify(f"Forgot {counted(result.count, 'memory', 'memories')}; undo it below", type="positive")
        self.on_change()

    def refresh_history(self) -> None:
        with context().db.reading() as session:
            agent = agents.get_agent(session, self.agent)
            items = views.deletions(session, agent, cursor=None, limit=HISTORY).items
        self.history.clear()
        with self.history:
            if not items:
                ui.label("None yet.").classes("text-sm text-slate-500")
            for item in items:
                with ui.row().classes("w-full items-center gap-2").props(f'data-testid="deletion-{item.id}"'):
                    what = (
                        "forget " + ", ".join(f"{k}={v}" for k, v in item.rule.items())
                        if item.reason == "forget"
                        else item.reason
                    )
                    ui.label(
                        f"{item.created_at:%Y-%m-%d %H:%M} · {what} · "
                        f"{counted(item.memory_count, 'memory', 'memories')}"
                    ).classes("text-sm grow")
                    if item.undone_at:
                        ui.label("undone").classes("text-xs text-slate-500")
                    else:
                        ui.button("Undo", icon="undo", on_click=lambda i=item.id: self.undo(i)).props(
                            f'flat dense data-testid="undo-{item.id}"'
                        )

    def undo(self, deletion_id: int) -> None:
        try:
            self.principal.require(Role.editor)
            with context().db.transaction() as session:
                restored = service.undo_deletion(session, service.get_deletion(session, deletion_id))
        except HeliosError as exc:
            ui.notify(exc.detail, type="negative", multi_line=True)
            return
        ui.notify(f"Restored {counted(restored, 'memory', 'memories')}", type="positive")
        self.on_change()


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(p) for p in error["loc"])
    return f"{field}: {error['msg']}" if field else error["msg"]
