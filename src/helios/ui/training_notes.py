"""On a job's page: re-run it (same settings, on its own data version or the latest), and the tags
and note a person keeps on a run. Both write through the training service, for editors only."""

from __future__ import annotations

from nicegui import run, ui

from helios.core.auth import Principal, Role
from helios.core.errors import HeliosError
from helios.training import service, views
from helios.training.schemas import JobAnnotation, JobRead
from helios.ui.runtime import context


def _rerun(job_id: int, latest: bool, principal: Principal) -> int:
    principal.require(Role.editor)
    with context().db.transaction() as session:
        return service.rerun_job(session, job_id, principal, latest_version=latest).id


def _annotate(job_id: int, body: JobAnnotation, principal: Principal) -> JobRead:
    principal.require(Role.editor)
    with context().db.transaction() as session:
        return views.job_read(session, service.annotate_job(session, job_id, body, principal))


def rerun_button(principal: Principal, job: JobRead) -> None:
    """A split button: re-run on the job's own data version, or on the dataset's latest."""

    async def rerun(latest: bool) -> None:
        try:
            new_id = await run.io_bound(_rerun, job.id, latest, principal)
        except HeliosError as exc:
            ui.notify(exc.detail, type="negative", multi_line=True)
            return
        ui.notify(f"Queued training job #{new_id}, a re-run of #{job.id}", type="positive")
        ui.navigate.to(f"/training/{new_id}")

    button = ui.button("Re-run", icon="replay").props('outline data-testid="job-rerun"')
    button.tooltip("A new job with these settings")
    with button, ui.menu().props('data-testid="rerun-menu"'):
        ui.menu_item(f"On the same data ({job.dataset} v{job.dataset_version})", lambda: rerun(False)).props(
            'data-testid="rerun-same"'
        )
        ui.menu_item(f"On the latest version of {job.dataset}", lambda: rerun(True)).props(
            'data-testid="rerun-latest"'
        )
    button.set_enabled(principal.role >= Role.editor)


class NotesCard:
    """Tags as chips and a free-text note; editors change them in place."""

    def __init__(self, principal: Principal, job: JobRead) -> None:
        self.principal, self.job = principal, job
        self.can_edit = principal.role >= Role.editor

    def build(self) -> None:
        with ui.card().classes("helios-card w-full gap-2").props('data-testid="job-notes"'):
            with ui.row().classes("w-full items-center justify-between"):
                ui.label("Tags and note").classes("font-semibold")
                self.edit_button = ui.button(icon="edit", on_click=self.edit).props(
                    'flat round dense size=sm data-testid="notes-edit"'
                )
                self.edit_button.set_visibility(self.can_edit)
            self.shown = ui.column().classes("w-full gap-1")
            self.editor = ui.column().classes("w-full gap-2")
            self.editor.set_visibility(False)
        self.show()

    def show(self) -> None:
        self.shown.clear()
        with self.shown:
            with ui.row().classes("gap-1").props('data-testid="job-tags"'):
                for tag in self.job.tags:
                    ui.badge(tag, color="blue-grey-6").classes("text-xs px-2 py-1")
                if not self.job.tags:
                    ui.label("no tags").classes("text-sm text-slate-400")
            ui.label(self.job.note or "No note yet.").classes(
                "text-sm whitespace-pre-wrap break-words " + ("" if self.job.note else "text-slate-400")
            ).props('data-testid="job-note"')

    def edit(self) -> None:
        self.shown.set_visibility(False)
        self.editor.clear()
        with self.editor:
            self.tags = (
                ui.input("Tags", value=", ".join(self.job.tags))
                .props('outlined dense bottom-slots hint="comma-separated" data-testid="notes-tags"')
                .classes("w-full")
            )
            self.note = (
                ui.textarea("Note", value=self.job.note or "")
                .props('outlined dense autogrow data-testid="notes-note"')
                .classes("w-full")
            )
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.close).props("flat")
                ui.button("Save", on_click=self.save).props('data-testid="notes-save"')
        self.editor.set_visibility(True)

    def close(self) -> None:
        self.editor.set_visibility(False)
        self.shown.set_visibility(True)

    async def save(self) -> None:
        tags = [t.strip() for t in (self.tags.value or "").split(",") if t.strip()]
        try:
            body = JobAnnotation(tags=tags, note=self.note.value or "")
            self.job = await run.io_bound(_annotate, self.job.id, body, self.principal)
        except HeliosError as exc:
            ui.notify(exc.detail, type="negative", multi_line=True)
            return
        except ValueError as exc:  # pydantic: a tag too long, too many tags
            self.tags.error = str(exc).splitlines()[-1] if str(exc) else "not valid"
            return
        self.show()
        self.close()
        ui.notify("Saved", type="positive")
