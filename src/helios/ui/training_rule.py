"""The early-stopping rule of one job: said in words, and editable while the job runs."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from helios.core.auth import Principal, Role
from helios.core.errors import HeliosError
from helios.training import service
from helios.training.schemas import EarlyStoppingPatch, JobRead
from helios.ui import training_charts as charts
from helios.ui.runtime import write


def rule_text(rule: dict[str, Any]) -> str:
    direction = "fallen" if rule.get("mode", "min") == "min" else "risen"
    by = f" by more than {charts.number(rule.get('min_delta'))}" if rule.get("min_delta") else ""
    return f"stops when {rule.get('monitor')} has not {direction}{by} for {rule.get('patience')} epochs"


def stop_reason(job: JobRead) -> str:
    reason = job.stop_reason or ""
    if reason == "early_stopping" and job.early_stopping:
        kept = f"; epoch {job.best_epoch} was the best and is the one kept" if job.best_epoch else ""
        return f"Early stopping: {rule_text(job.early_stopping).removeprefix('stops when ')}{kept}."
    return reason


class RuleEditor:
    """A card: the rule in words, a switch and its fields, Apply. Once the job ends, only the words."""

    def __init__(self, job: JobRead, principal: Principal) -> None:
        self.job_id = job.id
        self.principal = principal
        self.can_edit = principal.role >= Role.editor
        rule = job.early_stopping or {}
        with ui.card().classes("helios-card w-full gap-2"):
            with ui.row().classes("w-full items-center justify-between no-wrap"):
                ui.label("Early stopping").classes("font-semibold")
                self.enabled = ui.switch(value=bool(rule)).props('dense data-testid="rule-enabled"')
            self.text = ui.label().classes("text-xs text-slate-500 -mt-1").props('data-testid="rule-text"')
            with ui.column().classes("w-full gap-1") as self.fields:
                self.monitor = ui.select(
                    ["val_loss", "train_loss"],
                    value=rule.get("monitor", "val_loss"),
                    label="Monitor",
                    new_value_mode="add-unique",
                ).classes("w-full")
                self.monitor.props('outlined dense data-testid="rule-monitor"')
                with ui.row().classes("w-full gap-2 no-wrap"):
                    self.patience = ui.number(
                        "Patience", value=rule.get("patience", 5), min=1, max=10_000, precision=0, step=1
                    ).classes("w-1/2")
                    self.patience.props('outlined dense data-testid="rule-patience"')
                    self.min_delta = ui.number("Min delta", value=rule.get("min_delta", 0.0), min=0)
                    self.min_delta.classes("w-1/2").props('outlined dense data-testid="rule-min-delta"')
            self.fields.bind_visibility_from(self.enabled, "value")
            self.apply = ui.button("Apply", icon="check", on_click=self.submit).classes("self-end px-3")
            self.apply.props('outline dense data-testid="rule-apply"')

    def render(self, job: JobRead) -> None:
        finished = job.status in charts.FINISHED
        self.text.text = rule_text(job.early_stopping) if job.early_stopping else "off: trains every epoch"
        for widget in (self.enabled, self.monitor, self.patience, self.min_delta, self.apply):
            widget.set_enabled(self.can_edit and not finished)
        if finished:  # nothing left to change: the card just says what the rule was
            for element in (self.enabled, self.fields, self.apply):
                element.set_visibility(False)

    async def submit(self) -> None:
        patch = EarlyStoppingPatch(enabled=False)
        if self.enabled.value:
            patch = EarlyStoppingPatch(
                enabled=True,
                monitor=self.monitor.value or "val_loss",
                patience=int(self.patience.value or 1),
                min_delta=float(self.min_delta.value or 0.0),
            )
        try:
            await run.io_bound(
                write,
                lambda s: service.patch_early_stopping(s, self.job_id, patch, self.principal),
                self.principal,
            )
        except HeliosError as exc:
            ui.notify(exc.detail, type="negative", multi_line=True)
            return
        ui.notify("Early stopping updated; it applies from the next epoch", type="positive")
