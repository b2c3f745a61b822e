"""Model Registry page: model cards with a search box and filters; each card opens the model's page
(``model_detail``) with its versions, stages, deployments, lineage and metric trend."""

from __future__ import annotations

from fastapi import Request
from nicegui import ui

from helios.core.errors import NotFound
from helios.registry import views
from helios.registry.schemas import ModelSummary, Stage
from helios.training import scoreboard
from helios.ui import registry_charts as charts
from helios.ui.guard import page_principal
from helios.ui.model_detail import ModelPage, kind_badge, load_model, number_text, stage_badge
from helios.ui.runtime import context
from helios.ui.shell import frame

LIMIT = 200


class ModelListPage:
    def __init__(self) -> None:
        self.text, self.kind, self.task, self.stage = "", "", "", ""

    def build(self) -> None:
        with ui.column().classes("gap-0"):
            ui.label("Models").classes("text-2xl font-semibold")
            ui.label(
                "Every trained model and LLM endpoint: its versions, stages and where it came from."
            ).classes("text-slate-500")
        with ui.row().classes("w-full items-center gap-3"):
            search = ui.input(
                placeholder="Search name or description", on_change=lambda e: self.set("text", e.value)
            )
            search.props('outlined dense clearable debounce=300 data-testid="models-search"').classes("w-72")
            with search.add_slot("prepend"):
                ui.icon("search")
            self.select("kind", {"": "All kinds", "ml": "ML", "llm": "LLM"}, "w-36")
            self.task_select = self.select("task", {"": "All tasks"}, "w-40")
            self.select(
                "stage", {"": "Any stage", **{s: f"has {s}" for s in Stage if s != Stage.none}}, "w-40"
            )
            self.count = ui.label().classes("text-slate-500 text-sm ml-auto")
        self.grid = ui.element("div").classes("w-full grid gap-4 grid-cols-1 md:grid-cols-2 xl:grid-cols-3")
        self.grid.props('data-testid="model-grid"')
        self.empty = ui.column().classes("w-full")
        self.refresh()

    def select(self, field: str, options: dict[str, str], width: str) -> ui.select:
        widget = ui.select(options, value="", on_change=lambda e: self.set(field, e.value))
        return widget.props(f'outlined dense options-dense data-testid="models-{field}"').classes(width)

    def set(self, field: str, value: str | None) -> None:
        setattr(self, field, (value or "").strip())
        self.refresh()

    def refresh(self) -> None:
        with context().db.reading() as session:
            items = views.list_models(
                session,
                kind=self.kind or None,
                task=self.task or None,
                stage=self.stage or None,
                text=self.text or None,
                limit=LIMIT,
            ).items
            tasks = sorted({m.task for m in views.list_models(session, limit=LIMIT).items})
        self.task_select.set_options({"": "All tasks", **{t: t for t in tasks}}, value=self.task)
        self.count.text = f"{len(items)} model{'s' * (len(items) != 1)}"
        self.grid.clear()
        with self.grid:
            for item in items:
                model_card(item)
        self.empty.clear()
        if not items:
            with self.empty:
                if any((self.text, self.kind, self.task, self.stage)):
                    no_match()
                else:
                    no_models()


def model_card(model: ModelSummary) -> None:
    card = ui.card().classes("helios-card p-4 gap-2 cursor-pointer hover:shadow-lg transition-shadow")
    card.props(f'data-testid="model-card-{model.name}"')
    card.on("click", lambda: ui.navigate.to(f"/models/{model.name}"))
    with card:
        with ui.row().classes("w-full items-center no-wrap gap-2"):
            ui.label(model.name).classes("text-base font-semibold truncate grow min-w-0")
            kind_badge(model.kind)
        with ui.row().classes("w-full items-center gap-2 text-sm text-slate-500"):
            ui.icon("category", size="16px")
            ui.label(model.task)
            ui.label("·")
            ui.label(f"{model.version_count} version{'s' * (model.version_count != 1)}")
        with ui.row().classes("w-full items-center gap-2 min-h-[26px]"):
            if model.active_version is not None:
                stage_badge(model.active_version, Stage.active, f"card-active-{model.name}")
            if model.staging_version is not None:
                stage_badge(model.staging_version, Stage.staging, f"card-staging-{model.name}")
            if model.active_version is None and model.staging_version is None:
                ui.label("nothing deployed").classes("text-xs text-slate-400 italic")
        key_metric(model)
        score_reading(model)
        if model.description:
            ui.label(model.description).classes("text-sm text-slate-500 line-clamp-2")


def key_metric(model: ModelSummary) -> None:
    """The key metric's value (of the active version, else the latest) and its trend across versions."""
    with ui.row().classes("w-full items-end no-wrap gap-3"):
        with ui.column().classes("gap-0 shrink-0"):
            ui.label(model.key_metric or "key metric").classes(
                "text-[11px] uppercase tracking-wide text-slate-500"
            )
            ui.label(number_text(model.key_metric_value)).classes("text-xl font-semibold tabular-nums")
        known = sum(v is not None for v in model.key_metric_trend)
        if known >= 2:
            ui.echart(charts.sparkline(model.key_metric_trend)).classes("grow h-12 min-w-0")
        else:
            note = "no trend yet: one version scored" if known else "no metrics recorded"
            ui.label(note).classes("grow text-right text-xs text-slate-400 pb-1")


def score_reading(model: ModelSummary) -> None:
    """What the key metric means in words, and a flag when the intervals cover far less than claimed."""
    reading = scoreboard.explain(model.shown_metrics).get(model.key_metric or "")
    if reading:
        ui.label(reading).classes("text-xs text-slate-600 dark:text-slate-300").props(
            f'data-testid="card-reading-{model.name}"'
        )
    warning = scoreboard.interval_warning(model.shown_metrics)
    if warning:
        with ui.row().classes("items-center gap-1 no-wrap text-xs text-amber-700 dark:text-amber-300"):
            ui.icon("warning", size="16px")
            ui.label(warning).props(f'data-testid="card-warning-{model.name}"')


def no_models() -> None:
    with ui.card().classes("w-full helios-card items-center py-12 gap-2").props('data-testid="models-empty"'):
        ui.icon("model_training", size="52px").classes("text-slate-400")
        ui.label("No models yet").classes("text-lg font-medium")
        ui.label("A model appears here when a training job finishes, or when you register one:").classes(
            "text-slate-500"
        )
        with ui.column().classes("gap-1 mt-2 font-mono text-sm"):
            ui.label("helios models register ./saved-model --name my-forecaster")
            ui.label(
                "helios models create-llm explainer --model-name llama3 --base-url http://127.0.0.1:11434/v1"
            )


def no_match() -> None:
    card = ui.card().classes("w-full helios-card items-center py-10 gap-1")
    with card.props('data-testid="models-no-match"'):
        ui.icon("filter_alt_off", size="40px").classes("text-slate-400")
        ui.label("No model matches these filters").classes("text-base font-medium")


def unknown_model(name: str, detail: str) -> None:
    card = ui.card().classes("w-full helios-card items-center py-12 gap-2")
    with card.props('data-testid="model-missing"'):
        ui.icon("search_off", size="48px").classes("text-slate-400")
        ui.label(f"There is no model named “{name}”").classes("text-lg font-medium")
        ui.label(detail).classes("text-slate-500")
        ui.link("← Back to all models", "/models").classes("mt-2")


@ui.page("/models", title="Models · Helios")
def models_page(request: Request) -> None:
    principal = page_principal(request)
    with frame("Models", principal.name):
        ModelListPage().build()


@ui.page("/models/{name}", title="Model · Helios")
def model_page(request: Request, name: str) -> None:
    principal = page_principal(request)
    with frame("Models", principal.name):
        try:
            state = load_model(name)
        except NotFound as exc:
            unknown_model(name, exc.detail)
            return
        ui.page_title(f"{state.detail.name} · Models · Helios")
        version = request.query_params.get("version", "")
        ModelPage(principal, state, focus=int(version) if version.isdecimal() else None).build()
