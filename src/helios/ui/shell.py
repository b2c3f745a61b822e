"""The one app shell every page lives in: header, left drawer, dark mode."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

# Pages appear here as their capability lands; there are no placeholder entries.
NAVIGATION: list[tuple[str, str, str]] = [
    ("Datasets", "/datasets", "dataset"),
    ("Training", "/training", "model_training"),
    ("Models", "/models", "hub"),
    ("Predictions", "/predictions", "insights"),
    ("Agents", "/agents", "smart_toy"),
    ("Memory", "/memory", "psychology"),
    ("Assistants", "/assistants", "support_agent"),
]

ACCENT = "#f59e0b"

# Dark mode is the browser's choice, kept in its localStorage: it survives page changes, server restarts and
# sign-ins, and needs no round trip (applied before the page is first painted).
_DARK_MODE_SCRIPT = """<script>
(function () {
  const KEY = "helios-dark";
  const apply = () => { const v = localStorage.getItem(KEY); if (v !== null) Quasar.Dark.set(v === "true"); };
  window.heliosToggleDark = () => {
    Quasar.Dark.toggle();
    localStorage.setItem(KEY, String(Quasar.Dark.isActive));
  };
  if (window.Quasar) apply(); else window.addEventListener("DOMContentLoaded", apply);
})();
</script>"""


@contextmanager
def frame(title: str, principal_name: str = "local") -> Iterator[None]:
    ui.colors(primary="#2563eb", secondary="#475569", accent=ACCENT, positive="#16a34a", negative="#dc2626")
    ui.query("body").style("background: var(--helios-bg)")
    ui.add_head_html(
        "<style>:root{--helios-bg:#f1f5f9}.body--dark{--helios-bg:#0b1120}"
        ".helios-card{border-radius:12px}"
        ".helios-drawer{background:#fff!important}.body--dark .helios-drawer{background:#0f172a!important}"
        "</style>"
    )
    ui.add_body_html(_DARK_MODE_SCRIPT)
    with ui.header(elevated=False).classes("items-center justify-between bg-slate-900 text-white px-4 h-14"):
        with ui.row().classes("items-center gap-2"):
            ui.button(icon="menu", on_click=lambda: drawer.toggle()).props("flat round dense color=white")
            ui.label("☀ Helios").classes("text-lg font-semibold tracking-wide")
            ui.label(f"/ {title}").classes("text-slate-400")
        with ui.row().classes("items-center gap-1"):
            ui.label(principal_name).classes("text-slate-400 text-sm mr-2").props('data-testid="principal"')
            ui.button(icon="menu_book").props(
                'flat round dense color=white href=/docs target=_blank aria-label="API docs"'
            ).tooltip("API docs")
            dark_toggle = ui.button(icon="dark_mode").props(
                'flat round dense color=white aria-label="Toggle dark mode"'
            )
            dark_toggle.on("click", js_handler="() => window.heliosToggleDark()")
            dark_toggle.tooltip("Toggle dark mode")
    # Beside the page on wide screens; on a phone it waits for the menu button rather than cover the page.
    drawer = ui.left_drawer(value=None, bordered=True).classes("helios-drawer p-0")
    with drawer, ui.list().classes("w-full pt-2"):
        for label, target, icon in NAVIGATION:
            active = title == label
            with ui.item(on_click=lambda t=target: ui.navigate.to(t)).classes(
                "rounded-r-full mr-3 " + ("bg-blue-50 dark:bg-slate-800 text-blue-700" if active else "")
            ):
                with ui.item_section().props("avatar"):
                    ui.icon(icon)
                ui.item_section(label)
    with ui.column().classes("w-full max-w-7xl mx-auto p-6 gap-6"):
        yield
