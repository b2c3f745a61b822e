"""The launch form: pick data and a model family, tune it with a form generated from the family's
hyperparameter schema, and queue a training job. What the service rejects is shown next to the
field it names, and nothing is queued."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import events, run, ui
from pydantic import ValidationError

from helios.core.auth import Principal, Role
from helios.core.errors import HeliosError
from helios.datasets import views as datasets
from helios.training import service, views
from helios.training.schemas import (
    DEFAULT_VALIDATION_HORIZON,
    EarlyStoppingSettings,
    FamilyRead,
    JobCreate,
    ValidationSettings,
)
from helios.ui.hyperparameter_form import HyperparameterForm
from helios.ui.runtime import context


def _section(title: str, icon: str) -> None:
    with ui.row().classes("items-center gap-2 mt-2"):
        ui.icon(icon, size="18px").classes("text-slate-400")
        ui.label(title).classes("text-xs uppercase tracking-wide font-semibold text-slate-500")


def _dataset_choices() -> tuple[dict[str, str], dict[str, str]]:
    with context().db.reading() as session:
        items = datasets.all_datasets(session)
    return {d.name: f"{d.name}  ·  {d.kind}" for d in items}, {d.name: d.kind for d in items}


def _versions(name: str) -> list[tuple[int, int, list[str], str]]:
    """(version, rows, series names, date range) per version, newest first."""
    with context().db.reading() as session:
        versions = datasets.all_versions(session, name)
        return [
            (
                v.version,
                v.rows,
                [s.get("unique_id") for s in (v.profile or {}).get("series", [])],
                f"{v.start:%Y-%m-%d} → {v.end:%Y-%m-%d}" if v.start and v.end else "",
            )
            for v in versions
        ]


# Every text and number field of the launch form, as the page shows it: testid -> text.
READ_FIELDS = (
    "Object.fromEntries([...document.querySelectorAll("
    '\'input[data-testid^="launch-"], input[data-testid^="hp-"]\')].map(i => [i.dataset.testid, i.value]))'
)


def _set_typed(widget: ui.input | ui.number, text: str) -> None:
    if isinstance(widget, ui.number):
        try:
            value: float | None = float(text) if text.strip() else None
        except ValueError:
            return  # the browser's number field never shows one; keep what the server has
        if value != widget.value:
            widget.value = value
    elif text != (widget.value or ""):
        widget.value = text


def _create(body: JobCreate, principal: Principal) -> int:
    principal.require(Role.editor)
    with context().db.transaction() as session:
        return service.create_job(session, body, principal).id


class LaunchDialog:
    """Opened from the job list; ``on_launched(job_id)`` runs once a job is queued."""

    def __init__(self, principal: Principal, on_launched: Callable[[int], Any]) -> None:
        self.principal = principal
        self.on_launched = on_launched
        self.families: dict[str, FamilyRead] = {}
        self.dataset_options: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self.versions: list[tuple[int, int, list[str], str]] = []
        self.hyperparameters: HyperparameterForm | None = None
        self.target_edited = False
        self.dialog = ui.dialog().props("persistent")

    def open(self) -> None:
        # Read afresh each time: a dataset imported since the page loaded is offered too.
        self.families = {f.slug: f for f in views.families().items}
        self.dataset_options, self.kinds = _dataset_choices()
        self.hyperparameters, self.target_edited = None, False
        self.dialog.clear()
        with self.dialog, ui.card().classes("helios-card w-[920px] max-w-[95vw] p-0 gap-0"):
            with ui.row().classes("w-full items-center justify-between px-6 pt-4 pb-2 no-wrap"):
                with ui.column().classes("gap-0"):
                    ui.label("New training job").classes("text-lg font-semibold")
                    ui.label("Runs in a worker process; watch it live on its page.").classes(
                        "text-sm text-slate-500"
                    )
                ui.button(icon="close", on_click=self.dialog.close).props("flat round dense")
            ui.separator()
            with ui.column().classes("w-full gap-2 px-6 pb-3 max-h-[66vh] overflow-y-auto no-wrap"):
                self._data_section()
                self._model_section()
                self.hyperparameter_box = ui.column().classes("w-full gap-1")
                self.early_box = ui.column().classes("w-full gap-1")
                self._output_section()
            ui.separator()
            self._footer()
        self._pick_first_dataset()
        self.dialog.open()

    # --- sections -----------------------------------------------------------------------------------

    def _data_section(self) -> None:
        _section("Data", "dataset")
        with ui.row().classes("w-full gap-4 no-wrap"):
            self.dataset = ui.select(self.dataset_options, label="Dataset", on_change=self._dataset_changed)
            self.dataset.props('outlined dense bottom-slots data-testid="launch-dataset"').classes("w-1/2")
            self.version = ui.select({}, label="Version", on_change=self._version_changed)
            self.version.props('outlined dense bottom-slots data-testid="launch-version"').classes("w-1/2")
        self.series = ui.select([], label="Series", multiple=True, with_input=True, clearable=True)
        self.series.props(
            'outlined dense use-chips bottom-slots hint="Leave empty to train on every series" '
            'data-testid="launch-series"'
        ).classes("w-full")

    def _model_section(self) -> None:
        _section("Model", "psychology")
        self.family = ui.select({}, label="Model family", on_change=self._family_changed)
        self.family.props('outlined dense bottom-slots data-testid="launch-family"').classes("w-full")
        self.family_description = (
            ui.label().classes("text-sm text-slate-500 -mt-1 px-1").props('data-testid="family-description"')
        )

    def _output_section(self) -> None:
        _section("Validation and result", "fact_check")
        # One column on a phone (room for the two-line hints), three from sm up: side by side they cut
        # "Validation horizon" to "Validati…" and the target model's name at 390 px.
        with ui.element("div").classes("w-full grid grid-cols-1 sm:grid-cols-3 gap-x-4 gap-y-4 sm:gap-y-1"):
            # Empty means "not given": the server resolves it the same way for the UI, CLI and client.
            self.horizon = ui.number("Validation horizon", value=None, step=1)
            self.horizon.props(
                "outlined dense bottom-slots "
                f"hint=\"Last steps held out and scored; empty: the model's horizon, else "
                f'{DEFAULT_VALIDATION_HORIZON}" data-testid="launch-horizon"'
            ).classes("w-full")
            self.seed = ui.number("Seed", value=0, min=0, max=2**31 - 1, precision=0, step=1)
            self.seed.props(
                'outlined dense bottom-slots hint="Same seed, same data: same model" '
                'data-testid="launch-seed"'
            ).classes("w-full")
            self.target = ui.input("Target model", on_change=self._target_touched)
            self.target.props('outlined dense bottom-slots data-testid="launch-target"').classes("w-full")

    def _footer(self) -> None:
        with ui.column().classes("w-full px-6 py-3 gap-2"):
            self.error = (
                ui.label()
                .classes(
                    "w-full text-sm text-red-700 dark:text-red-300 bg-red-50 dark:bg-red-950/40 "
                    "rounded-lg px-3 py-2 whitespace-pre-line"
                )
                .props('data-testid="launch-error"')
            )
            self.error.set_visibility(False)
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                # The click carries what the fields show: a value typed just before Launch may not
                # have reached the server yet (a browser test under load launched "typed-la" while the
                # field showed "typed-last"). What the person sees is what is launched.
                self.submit = ui.button("Launch training", icon="rocket_launch")
                self.submit.on("click", self._launch_clicked, js_handler=f"() => emit({READ_FIELDS})")
                self.submit.props('data-testid="launch-submit"')

    # --- reacting to choices --------------------------------------------------------------------------

    def _pick_first_dataset(self) -> None:
        if not self.dataset_options:
            self._show_error("There are no datasets yet: import one on the Datasets page first.")
            self.submit.disable()
            return
        self.dataset.value = next(iter(self.dataset_options))

    def _dataset_changed(self) -> None:
        name = self.dataset.value
        self.versions = _versions(name) if name else []
        options: dict[Any, str] = {}
        if self.versions:
            options["latest"] = f"latest (v{self.versions[0][0]})"
        options.update({v: f"v{v} · {rows:,} rows · {span}" for v, rows, _, span in self.versions})
        self.version.set_options(options, value="latest" if self.versions else None)
        kind = self.kinds.get(name, "timeseries")
        fitting = {
            slug: slug for slug, f in self.families.items() if (f.task == "draws") == (kind == "draws")
        }
        current = self.family.value if self.family.value in fitting else next(iter(fitting), None)
        self.family.set_options(fitting, value=current)
        self._version_changed()
        self._update_target()

    def _version_changed(self) -> None:
        chosen = self.version.value
        number = self.versions[0][0] if chosen == "latest" and self.versions else chosen
        names = next((series for v, _, series, _ in self.versions if v == number), [])
        kept = [s for s in (self.series.value or []) if s in names]
        self.series.set_options(names, value=kept)
        self.series.set_visibility(bool(names))

    def _family_changed(self) -> None:
        family = self.families.get(self.family.value)
        self.family_description.text = family.description if family else ""
        self.hyperparameter_box.clear()
        self.early_box.clear()
        self.hyperparameters = None
        if family is None:
            return
        with self.hyperparameter_box:
            _section(f"Hyperparameters · {family.slug}", "tune")
            self.hyperparameters = HyperparameterForm(family.hyperparameters_schema)
            self.hyperparameters.build()
        if family.iterative:
            with self.early_box:
                self._early_stopping_section()
        self._update_target()

    def _early_stopping_section(self) -> None:
        _section("Early stopping", "front_hand")
        defaults = EarlyStoppingSettings()
        self.early = ui.switch("Stop when the monitored metric stops improving", value=False)
        self.early.props('data-testid="launch-early"')
        with ui.row().classes("w-full gap-4 no-wrap") as rule:
            self.monitor = ui.select(
                ["val_loss", "train_loss"],
                value=defaults.monitor,
                label="Monitor",
                new_value_mode="add-unique",
            )
            self.monitor.props(
                'outlined dense bottom-slots hint="Metric watched after each epoch" '
                'data-testid="launch-monitor"'
            ).classes("w-1/3")
            self.patience = ui.number(
                "Patience (epochs)", value=defaults.patience, min=1, max=10_000, precision=0, step=1
            )
            self.patience.props(
                'outlined dense bottom-slots hint="Epochs without improvement before stopping" '
                'data-testid="launch-patience"'
            ).classes("w-1/3")
            self.min_delta = ui.number("Min delta", value=defaults.min_delta, min=0)
            self.min_delta.props(
                'outlined dense bottom-slots hint="Smallest change that counts as improvement" '
                'data-testid="launch-min-delta"'
            ).classes("w-1/3")
        rule.bind_visibility_from(self.early, "value")

    def _target_touched(self) -> None:
        self.target_edited = (self.target.value or "") != self._default_target()

    def _default_target(self) -> str:
        if not self.dataset.value or not self.family.value:
            return ""
        return f"{self.dataset.value}-{self.family.value}".replace("_", "-")[:64]

    def _update_target(self) -> None:
        if not self.target_edited:
            self.target.value = self._default_target()
            self.target_edited = False
        self.target.props(f'hint="Default: {self._default_target()}"')

    # --- launching --------------------------------------------------------------------------------------

    async def _launch_clicked(self, event: events.GenericEventArguments) -> None:
        self._take_typed_values(event.args)
        await self.launch()

    async def launch(self) -> None:
        self._clear_errors()
        body = self._body()
        if body is None:
            return
        self.submit.props("loading")
        try:
            job_id = await run.io_bound(_create, body, self.principal)
        except HeliosError as exc:
            self._show_problem(exc.detail, exc.errors)
            return
        finally:
            self.submit.props(remove="loading")
        if job_id is None:
            return
        self.dialog.close()
        ui.notify(f"Queued training job #{job_id}", type="positive")
        self.on_launched(job_id)
        ui.navigate.to(f"/training/{job_id}")  # watch it where it runs

    def _take_typed_values(self, shown: object) -> None:
        """Set the text and number fields to what the page showed when Launch was clicked."""
        if not isinstance(shown, dict):
            return
        fields = {"launch-target": self.target, "launch-horizon": self.horizon, "launch-seed": self.seed}
        if self.hyperparameters:
            fields |= {f"hp-{name}": w for name, w in self.hyperparameters.widgets.items()}
        for testid, widget in fields.items():
            if isinstance(widget, ui.input | ui.number) and isinstance(shown.get(testid), str):
                _set_typed(widget, shown[testid])

    def _body(self) -> JobCreate | None:
        hyperparameters, problems = self.hyperparameters.values() if self.hyperparameters else ({}, {})
        if problems:
            self._show_problem(
                "Fix the marked hyperparameters: " + ", ".join(problems),
                [{"field": f"hyperparameters.{k}", "message": v} for k, v in problems.items()],
            )
            return None
        family = self.families.get(self.family.value)
        seed = int(self.seed.value or 0)
        if family and "seed" in family.hyperparameters_schema.get("properties", {}):
            hyperparameters["seed"] = seed  # one seed for the job and the network
        try:
            return JobCreate(
                dataset=self.dataset.value or "",
                family=self.family.value or "",
                dataset_version=self.version.value or "latest",
                series=list(self.series.value or []) or None,
                hyperparameters=hyperparameters,
                early_stopping=self._early_stopping(family),
                validation=ValidationSettings(
                    horizon=self.horizon.value  # pydantic refuses 2.5 rather than rounding it
                ),
                seed=seed,
                target_model=(self.target.value or "").strip() or None,
            )
        except ValidationError as exc:
            errors = [
                {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
            ]
            self._show_problem("The form is not complete.", errors)
            return None

    def _early_stopping(self, family: FamilyRead | None) -> EarlyStoppingSettings | None:
        if not family or not family.iterative or not self.early.value:
            return None
        return EarlyStoppingSettings(
            monitor=self.monitor.value or "val_loss",
            patience=int(self.patience.value or 1),
            min_delta=float(self.min_delta.value or 0.0),
        )

    def _fields(self) -> dict[str, Any]:
        fields = {
            "dataset": self.dataset,
            "dataset_version": self.version,
            "series": self.series,
            "family": self.family,
            "seed": self.seed,
            "target_model": self.target,
            "validation": self.horizon,
            "validation.horizon": self.horizon,
        }
        family = self.families.get(self.family.value)
        if family and family.iterative and self.early_box.default_slot.children:
            fields.update(
                {
                    "early_stopping.monitor": self.monitor,
                    "early_stopping.patience": self.patience,
                    "early_stopping.min_delta": self.min_delta,
                }
            )
        return fields

    def _show_problem(self, detail: str, errors: list[dict[str, Any]]) -> None:
        fields, unplaced = self._fields(), []
        for error in errors:
            field, message = str(error.get("field") or ""), str(error.get("message") or "")
            if field.startswith("hyperparameters.") and self.hyperparameters:
                placed = self.hyperparameters.show_error(field.split(".")[1], message)
            elif field in fields:
                fields[field].error = message
                placed = True
            else:
                placed = False
            if not placed:
                unplaced.append(f"• {field}: {message}" if field else f"• {message}")
        self._show_error("\n".join([detail, *unplaced]))

    def _show_error(self, text: str) -> None:
        self.error.text = text
        self.error.set_visibility(True)

    def _clear_errors(self) -> None:
        self.error.set_visibility(False)
        for widget in self._fields().values():
            widget.error = None
        if self.hyperparameters:
            self.hyperparameters.clear_errors()
