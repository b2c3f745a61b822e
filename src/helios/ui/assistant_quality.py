"""The Test tab (run one version or two side by side over a test set, N repeats) and the
Experiments tab (start an A/B test, live results with the sequential test's verdict in words,
stop, promote). A test run is a job the server's worker does; the tab queues it and shows its
progress until the results are in. Database work runs off the event loop."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from nicegui import run, ui

from helios.assistants import experiment_results, experiments, runner, service, testing, views
from helios.assistants.schemas import (
    ExperimentCreate,
    ExperimentRead,
    TestRunRead,
    TestSetCreate,
    VariantIn,
    VersionRunResult,
)
from helios.core.auth import Principal, Role
from helios.core.errors import HeliosError
from helios.ui.assistant_editor import run_as, versions_of
from helios.ui.runtime import context

EXAMPLE_CASES = [
    {
        "variables": {"question": "Where is AAPL heading?"},
        "assertions": [{"kind": "contains", "value": "AAPL"}, {"kind": "max_length", "max_chars": 600}],
    }
]


def version_options(name: str) -> dict[int, str]:
    return {
        v.version: f"v{v.version}" + (f" ({', '.join(v.labels)})" if v.labels else "")
        for v in versions_of(name)
    }


class TestPanel:
    def __init__(self, principal: Principal, name: str) -> None:
        self.principal, self.name = principal, name

    def build(self) -> None:
        with ui.card().classes("helios-card w-full"):
            ui.label("Test on sample inputs").classes("font-medium")
            with ui.row().classes("items-end gap-3 flex-wrap"):
                self.test_set = ui.select({}, label="Test set").props('dense outlined data-testid="test-set"')
                self.test_set.classes("w-48")
                self.version_a = ui.select({}, label="Version A").props(
                    'dense outlined data-testid="test-version-a"'
                )
                self.version_b = ui.select({}, label="Version B (optional)", clearable=True)
                self.version_b.props('dense outlined data-testid="test-version-b"')
                for picker in (self.version_a, self.version_b):
                    picker.classes("w-44")
                self.repeats = (
                    ui.number("Repeats", value=1, min=1, max=20, step=1)
                    .props("dense outlined")
                    .classes("w-24")
                )
                self.run_button = ui.button("Run", icon="play_arrow", on_click=self.run)
                self.run_button.props('data-testid="test-run"')
                ui.button("New test set", icon="add", on_click=self.open_create).props(
                    'flat data-testid="test-set-new"'
                )
            self.results = ui.row().classes("w-full gap-4 items-start flex-wrap lg:flex-nowrap")
            self.results.props('data-testid="test-results"')
        self.refresh_versions()

    def refresh_versions(self) -> None:
        options = version_options(self.name)
        self.version_a.set_options(
            options, value=self.version_a.value if self.version_a.value in options else None
        )
        self.version_b.set_options(
            options, value=self.version_b.value if self.version_b.value in options else None
        )
        with context().db.reading() as session:
            sets = views.list_test_sets(session, service.get_assistant(session, self.name), limit=200).items
        labels = {s.id: s.name + (" (gates production)" if s.gates_production else "") for s in sets}
        self.test_set.set_options(
            labels, value=self.test_set.value if self.test_set.value in labels else None
        )

    def open_create(self) -> None:
        with ui.dialog() as dialog, ui.card().classes("w-[40rem] max-w-full"):
            ui.label("New test set").classes("text-lg font-semibold")
            name = ui.input("Name").props('data-testid="test-set-name"').classes("w-full")
            ui.label(
                "Rows: variables + assertions (contains, not_contains, regex, json_valid, max_length, "
                "llm_judge)"
            )
            cases = ui.codemirror(json.dumps(EXAMPLE_CASES, indent=2), language="JSON").classes(
                "w-full h-64 border"
            )
            cases.props('data-testid="test-set-cases"')
            gates = ui.checkbox("Gates the production label")

            def create() -> None:
                body = _test_set_body(name.value, cases.value, gates.value)
                if body is None:
                    return

                def creating(session: Any) -> int:
                    assistant = service.get_assistant(session, self.name)
                    return testing.create_test_set(session, assistant, body, self.principal).id

                created = run_as(self.principal, Role.editor, creating, f"Test set {body.name} saved")
                if created is not None:
                    dialog.close()
                    self.refresh_versions()
                    self.test_set.value = created

            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Save", on_click=create).props('data-testid="test-set-save"')
        dialog.open()

    async def run(self) -> None:
        numbers = [n for n in (self.version_a.value, self.version_b.value) if n is not None]
        if self.test_set.value is None or not numbers:
            ui.notify("Pick a test set and at least one version", type="warning")
            return
        try:
            self.principal.require(Role.editor)
            run_id = await run.io_bound(
                self._queue, self.test_set.value, numbers, int(self.repeats.value or 1)
            )
        except HeliosError as exc:
            ui.notify(exc.detail, type="negative", multi_line=True, timeout=8000)
            return
        if run_id is None:  # the app is shutting down
            return
        runner.wake()
        self.run_button.props("loading")
        self.watch(run_id)

    def _queue(self, test_set_id: int, numbers: list[int], repeats: int) -> int:
        with context().db.transaction() as session:
            test_set = testing.get_test_set(session, test_set_id)
            return testing.queue_run(session, test_set, numbers, repeats, self.principal).id

    def watch(self, run_id: int) -> None:
        """A progress bar (calls done of calls total) until the run is finished, then its results."""
        self.results.clear()
        with self.results, ui.column().classes("w-full gap-1").props('data-testid="test-progress"'):
            label = ui.label(f"Run #{run_id} queued").classes("text-sm text-slate-500")
            bar = ui.linear_progress(value=0, show_value=False, size="10px").props("rounded")

            async def poll() -> None:
                try:
                    report = await run.io_bound(self._read, run_id)
                except HeliosError as exc:  # the test set (and so the run) was deleted meanwhile
                    timer.cancel()
                    self.run_button.props(remove="loading")
                    label.text = exc.detail
                    return
                if report is None:  # the app is shutting down
                    return
                if not report.finished:
                    share = report.calls_done / report.calls_total if report.calls_total else 0.0
                    label.text = (
                        f"Run #{run_id} {report.status}: {report.calls_done} of {report.calls_total} calls"
                    )
                    bar.value = share
                    return
                timer.cancel()
                self.run_button.props(remove="loading")
                if report.status == "error":
                    ui.notify(f"Run #{run_id} broke off: {report.error}", type="negative", multi_line=True)
                self.show(report)

            timer = ui.timer(0.25, poll)

    def _read(self, run_id: int) -> TestRunRead:
        with context().db.reading() as session:
            return views.run_read(session, testing.get_run(session, run_id))

    def show(self, report: TestRunRead) -> None:
        self.results.clear()
        with self.results:
            if report.status == "error":
                ui.label(f"Run #{report.id} broke off: {report.error}").classes("text-red-600")
            for result in report.results:
                version_column(result)


def version_column(result: VersionRunResult) -> None:
    with (
        ui.card()
        .classes("helios-card flex-1 min-w-[18rem]")
        .props(f'data-testid="test-column-v{result.version}"')
    ):
        with ui.row().classes("w-full items-center justify-between"):
            ui.label(f"v{result.version}").classes("text-lg font-semibold")
            ui.badge("passed" if result.passed else "failed", color="green-7" if result.passed else "red-7")
        if result.notice:
            ui.label(result.notice).classes("text-amber-700")
            return
        ui.label(f"pass rate {result.pass_rate:.0%} · all repeats passed on {result.pass_all:.0%} of rows")
        for case in result.cases:
            with ui.column().classes("w-full gap-1 border-t pt-2"):
                ui.label(
                    f"row {case.case + 1}: {case.passes}/{case.repeats} passed "
                    f"(95% interval {case.low:.0%}–{case.high:.0%})"
                ).classes("text-sm font-medium")
                ui.label(case.outputs[0] or "(no answer)").classes(
                    "text-sm whitespace-pre-wrap bg-slate-50 p-2 rounded"
                )
                for failure in case.failures:
                    ui.label(failure).classes("text-sm text-red-600")


def _test_set_body(name: str, cases_json: str, gates: bool) -> TestSetCreate | None:
    try:
        cases = json.loads(cases_json or "[]")
        return TestSetCreate(name=(name or "").strip(), cases=cases, gates_production=gates)
    except json.JSONDecodeError as exc:
        ui.notify(f"cases: not valid JSON ({exc.msg} on line {exc.lineno})", type="negative")
    except ValueError as exc:
        first = exc.errors()[0]  # type: ignore[attr-defined]
        ui.notify(f"{'.'.join(map(str, first['loc']))}: {first['msg']}", type="negative", multi_line=True)
    return None


# --- experiments ------------------------------------------------------------------------------------


class ExperimentPanel:
    def __init__(self, principal: Principal, name: str, on_changed: Callable[[], None]) -> None:
        self.principal, self.name, self.on_changed = principal, name, on_changed

    def build(self) -> None:
        with ui.card().classes("helios-card w-full"):
            ui.label("Start an A/B test").classes("font-medium")
            with ui.row().classes("items-end gap-3 flex-wrap"):
                self.exp_name = (
                    ui.input("Name").props('dense outlined data-testid="exp-name"').classes("w-40")
                )
                self.control = ui.select({}, label="Control").props(
                    'dense outlined data-testid="exp-control"'
                )
                self.control_weight = (
                    ui.number("Weight", value=1, min=0).props("dense outlined").classes("w-20")
                )
                self.challenger = ui.select({}, label="Challenger").props(
                    'dense outlined data-testid="exp-challenger"'
                )
                self.challenger_weight = (
                    ui.number("Weight", value=1, min=0).props("dense outlined").classes("w-20")
                )
                for picker in (self.control, self.challenger):
                    picker.classes("w-44")
                ui.button("Start", icon="science", on_click=self.start).props('data-testid="exp-start"')
        self.board = ui.column().classes("w-full gap-4").props('data-testid="experiments"')
        self.refresh_versions()
        self.refresh()
        ui.timer(2.0, self.refresh)

    def refresh_versions(self) -> None:
        options = version_options(self.name)
        for picker in (self.control, self.challenger):
            picker.set_options(options, value=picker.value if picker.value in options else None)

    def start(self) -> None:
        try:
            body = ExperimentCreate(
                assistant=self.name,
                name=(self.exp_name.value or "").strip(),
                variants=[
                    VariantIn(
                        name="control", version=self.control.value or 0, weight=self.control_weight.value or 0
                    ),
                    VariantIn(
                        name="challenger",
                        version=self.challenger.value or 0,
                        weight=self.challenger_weight.value or 0,
                    ),
                ],
            )
        except ValueError as exc:
            first = exc.errors()[0]  # type: ignore[attr-defined]
            ui.notify(f"{'.'.join(map(str, first['loc']))}: {first['msg']}", type="negative", multi_line=True)
            return

        def starting(session: Any) -> int:
            assistant = service.get_assistant(session, self.name)
            return experiments.create_experiment(session, assistant, body, self.principal).id

        if run_as(self.principal, Role.editor, starting, f"Experiment {body.name} started") is not None:
            self.refresh()

    def refresh(self) -> None:
        with context().db.reading() as session:
            found = experiment_results.list_experiments(
                session, service.get_assistant(session, self.name), limit=20
            ).items
        signature = json.dumps([e.model_dump(mode="json") for e in found], sort_keys=True)
        if signature == getattr(self, "_shown", None):
            return  # nothing new: leave the board (and any open dialog) alone
        self._shown = signature
        self.board.clear()
        with self.board:
            if not found:
                ui.label("No experiments yet.").classes("text-slate-500")
            for item in found:
                self.experiment_card(item)

    def experiment_card(self, item: ExperimentRead) -> None:
        with ui.card().classes("helios-card w-full").props(f'data-testid="experiment-{item.id}"'):
            with ui.row().classes("w-full items-center justify-between"):
                ui.label(f"{item.name} · {item.status}").classes("text-lg font-semibold")
                if item.status == "running":
                    with ui.row().classes("gap-2"):
                        ui.button("Stop", on_click=lambda i=item: self.stop(i)).props(
                            f'flat data-testid="exp-stop-{item.id}"'
                        )
                        ui.button(
                            "Promote", icon="emoji_events", on_click=lambda i=item: self.confirm_promote(i)
                        ).props(f'data-testid="exp-promote-{item.id}"')
            ui.label(item.verdict).classes("text-base").props(f'data-testid="exp-verdict-{item.id}"')
            rows = [_variant_row(v) for v in item.variants]
            ui.table(columns=VARIANT_COLUMNS, rows=rows, row_key="name").props("flat dense").classes("w-full")
            means_chart(item)

    def stop(self, item: ExperimentRead) -> None:
        run_as(
            self.principal,
            Role.editor,
            lambda s: experiments.stop(s, experiments.get_experiment(s, item.id), self.principal),
            f"Stopped {item.name}",
        )
        self.refresh()

    def confirm_promote(self, item: ExperimentRead) -> None:
        with ui.dialog() as dialog, ui.card():
            ui.label(f"Promote a variant of {item.name} to production?").classes("font-semibold")
            leader = max(item.variants, key=lambda v: v.prob_best or 0).name
            winner = ui.select([v.name for v in item.variants], value=leader, label="Winner")
            winner.props('data-testid="promote-variant"')

            def promote() -> None:
                def promoting(session: Any) -> bool:
                    experiment = experiments.get_experiment(session, item.id)
                    experiments.promote(
                        session, experiment, winner.value, self.principal, force=False, note=""
                    )
                    return True

                if run_as(self.principal, Role.editor, promoting, f"{winner.value} promoted to production"):
                    dialog.close()
                    self.refresh()
                    self.on_changed()

            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Promote", on_click=promote).props('data-testid="promote-confirm"')
        dialog.open()


VARIANT_COLUMNS = [
    {"name": c, "label": label, "field": c, "align": "left"}
    for c, label in [
        ("name", "Variant"),
        ("version", "Version"),
        ("exposures", "Subjects"),
        ("outcomes", "Outcomes"),
        ("mean", "Mean (95% interval)"),
        ("best", "P(best)"),
        ("p", "Always-valid p"),
        ("state", "Guardrails"),
    ]
]


def _variant_row(v: Any) -> dict[str, Any]:
    mean = "—" if v.mean is None else f"{v.mean:.3f}"
    if v.low is not None:
        mean += f" ({v.low:.3f}–{v.high:.3f})"
    return {
        "name": v.name,
        "version": f"v{v.version}",
        "exposures": v.exposures,
        "outcomes": v.outcomes,
        "mean": mean,
        "best": "—" if v.prob_best is None else f"{v.prob_best:.1%}",
        "p": "—" if v.p_value is None else f"{v.p_value:.4f}",
        "state": v.paused_reason or "ok",
    }


def means_chart(item: ExperimentRead) -> None:
    names = [v.name for v in item.variants]
    means = [round(v.mean, 4) if v.mean is not None else None for v in item.variants]
    lows = [round(v.low, 4) if v.low is not None else None for v in item.variants]
    highs = [round(v.high, 4) if v.high is not None else None for v in item.variants]
    chart = ui.echart(
        {
            "animation": False,
            "grid": {"left": 70, "right": 20, "top": 40, "bottom": 50},
            "legend": {"top": 0, "right": 0},
            "tooltip": {"trigger": "axis"},
            "xAxis": {
                "type": "category",
                "data": names,
                "name": "Variant",
                "nameLocation": "middle",
                "nameGap": 30,
            },
            "yAxis": {
                "type": "value",
                "min": 0,
                "max": 1,
                "name": "Mean outcome (0–1)",
                "nameLocation": "middle",
                "nameGap": 45,
            },
            "series": [
                {"name": "Mean outcome", "type": "bar", "data": means, "barMaxWidth": 60},
                {
                    "name": "95% low",
                    "type": "line",
                    "data": lows,
                    "symbol": "diamond",
                    "lineStyle": {"opacity": 0},
                },
                {
                    "name": "95% high",
                    "type": "line",
                    "data": highs,
                    "symbol": "diamond",
                    "lineStyle": {"opacity": 0},
                },
            ],
        }
    )
    chart.classes("w-full h-56").props(f'data-testid="exp-chart-{item.id}"')
