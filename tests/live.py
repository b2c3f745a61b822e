"""A real Helios server in a subprocess, for browser tests and the UI auth walk."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def helios(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "helios", *args],
        env={**os.environ, "HELIOS_HOME": str(home), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


_template: dict[str, Any] = {}


def migrated_home(home: Path) -> Path:
    """``home`` with its SQLite database already at the newest migration, copied from one this
    process migrated once (as tests/conftest.py does for the in-process tests). A server, or a seed
    before it, that migrated an empty database spent ~0.4 s on it, ~25 times a run. A home that has
    a database keeps it."""
    database = home / "helios.db"
    if not database.exists():
        home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_migrated_template(), database)
    return home


def _migrated_template() -> Path:
    if "path" not in _template:
        import tempfile

        from helios.db import migrate
        from helios.db.engine import Database

        _template["folder"] = tempfile.TemporaryDirectory(prefix="helios-live-template-")  # removed at exit
        path = Path(_template["folder"].name) / "template.db"
        engine = Database.connect(f"sqlite:///{path}")
        try:
            migrate.upgrade(engine.write_engine)
        finally:
            engine.dispose()
        # Closed cleanly, WAL is checkpointed into the main file: one file is the whole database.
        assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
        _template["path"] = path
    return _template["path"]


def seed_tokens(home: Path, roles: dict[str, str]) -> dict[str, str]:
    """Tokens ``name -> role`` created in ``home``'s database before its server starts; returns each
    name's secret. In-process, as the other seeds are: a `helios tokens create` per token cost a
    Python start and a full import each (15-25 s of setup for three on a loaded box), and the CLI
    command itself is tested in tests/cli."""
    from helios.config import Settings
    from helios.context import AppContext
    from helios.core import auth
    from helios.db import migrate

    context = AppContext.build(Settings(home=migrated_home(home)))
    try:
        migrate.upgrade(context.db.write_engine)
        with context.db.transaction() as session:
            issued = {
                name: auth.create_token(session, name, auth.Role.parse(role)) for name, role in roles.items()
            }
        return {name: token.secret for name, token in issued.items()}
    finally:
        context.db.dispose()


@contextmanager
def live_server(
    home: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    trains: bool = True,
    embedder: str = "hashing",
) -> Iterator[str]:
    """``helios serve`` on a free port. ``trains=False`` starts it without its training worker
    process (HELIOS_WORKERS=0), for tests that never train: a worker is one more Python start and
    import of the training stack, competing for the CPU with the server and Chromium. Memory embeds
    with the tests' small embedder unless ``embedder="minilm"`` (tests/live_serve.py says why)."""
    migrated_home(home)
    port = free_port()
    log = (home.parent / f"server-{port}.log").open("w")
    workers = {} if trains else {"HELIOS_WORKERS": "0"}
    program = {"hashing": "tests.live_serve", "minilm": "helios"}[embedder]
    # tests.live_serve is imported from the repository root, wherever pytest was started.
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    process = subprocess.Popen(
        [sys.executable, "-m", program, "serve", "--port", str(port), *extra],
        env={**os.environ, "PYTHONPATH": path, "HELIOS_HOME": str(home), **workers, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, home.parent / f"server-{port}.log")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"helios serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code in (200, 401):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"helios serve did not come up:\n{log.read_text()}")


def require_chromium() -> None:
    """Browser tests run for real in CI; elsewhere, without Chromium, they skip with one line."""
    if Path(CHROMIUM).exists() and shutil.which("chromium"):
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run must install Debian's chromium")
    pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")


# One Chromium (and one Playwright driver) for the browser tests that run one after another on a
# worker: starting both per test cost 1.2-1.4 s of CPU each time (a context in a running one:
# 0.5-0.6 s, page included), ~50 times a run, and several times that in wall time on a loaded 2-core
# box; per module, ~0.7 s of wall time each of ~20 times. Each test still gets a fresh browser context
# (its own cookies, storage and cache) that is closed when it ends. The browser is closed before the
# next test that is not marked ``browser`` (tests/conftest.py), not kept for the worker: between
# Playwright's sync calls its event loop counts as running in this thread, and asyncio.run() in such
# a test would refuse to start.
_open: dict[str, Any] = {}


def _shared_browser() -> Any:
    browser = _open.get("browser")
    if browser is not None and browser.is_connected():
        return browser
    close_shared_browser()  # crashed or never started: a new one
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    _open["playwright"] = playwright
    _open["browser"] = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    return _open["browser"]


def close_shared_browser() -> None:
    browser, playwright = _open.pop("browser", None), _open.pop("playwright", None)
    try:
        if browser is not None and browser.is_connected():
            browser.close()
    finally:
        if playwright is not None:
            playwright.stop()


@contextmanager
def browser_page(base_url: str) -> Iterator[Any]:
    require_chromium()
    browser = _shared_browser()
    before = set(browser.contexts)
    context = browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(20_000)
    # Playwright's expect() does not read the page's default: left alone, every expect(...) in the
    # browser tests gave up after 5 s, where a wait_for on the same page waits 20 s. On a loaded
    # 2-core box a page's first render or a server round trip can take longer than 5 s; an expect
    # that holds returns as soon as it does, so the longer limit costs nothing then.
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    _waits_for_the_socket(page)
    try:
        yield page
    finally:
        # This test's contexts: its page's and any it opened (browser.new_page() makes one per page).
        if browser.is_connected():
            for opened in [c for c in browser.contexts if c not in before]:
                opened.close()


# True once a NiceGUI page's socket has finished its handshake; pages that are not NiceGUI's
# (/docs) never set it and do not wait.
SOCKET_READY = "() => window.did_handshake !== false"


def _waits_for_the_socket(page: Any) -> None:
    """Make ``page.goto`` and ``page.reload`` return once the page's socket is connected. Before
    that, NiceGUI holds each event in its own 10 ms retry timer and sends whichever timer fires
    first after the handshake: a value typed and a button clicked at once could reach the server
    click first, and the click then read the old value (a bad cron refused in the test was saved
    as the field's default on a loaded CI box)."""
    for name in ("goto", "reload"):
        navigate = getattr(page, name)

        def then_connected(*args: Any, _navigate: Any = navigate, **kwargs: Any) -> Any:
            response = _navigate(*args, **kwargs)
            page.wait_for_function(SOCKET_READY)
            return response

        setattr(page, name, then_connected)


def pick_option(page: Any, testid: str, name: str) -> None:
    """Open the select ``testid`` and click its option ``name``. A click that lands while the page
    re-lays itself out (after a resize, a screenshot) can leave the menu shut on a loaded box:
    open it again rather than wait out the page's timeout."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    option = page.get_by_role("option", name=name)
    for _ in range(3):
        page.get_by_test_id(testid).click()
        try:
            option.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    option.click()


def menu_closed(page: Any) -> None:
    """Wait for an open select's menu to shut after its option was clicked. On a busy machine the
    server's answer to the pick can re-render the menu while it closes and leave it open over the
    form, where it takes the next click meant for a button below it; shut it as a person would."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    menus = page.locator(".q-menu")
    try:
        menus.first.wait_for(state="detached", timeout=5_000)
    except PlaywrightTimeout:
        page.keyboard.press("Escape")
        menus.first.wait_for(state="detached", timeout=5_000)


def settle(page: Any, condition: str, arg: Any = None) -> None:
    """Wait, up to the page's timeout, until ``condition`` (a JavaScript function of ``arg``)
    returns true; return either way. For a check no expect() makes (a chart's options, the order
    of a column): read once after waiting for something else, the value may not have been updated
    yet. Put before the unchanged assertion, which then reads the page as it is and, if it never
    got there, says what it shows rather than that a wait timed out. A condition that throws (a
    chart not drawn yet) counts as not yet."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    guarded = f"(arg) => {{ try {{ return Boolean(({condition})(arg)); }} catch (e) {{ return false; }} }}"
    with suppress(PlaywrightTimeout):
        page.wait_for_function(guarded, arg=arg)
