"""A real Helios server in a subprocess, for browser tests and the UI auth walk."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

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


def seed_tokens(home: Path, roles: dict[str, str]) -> dict[str, str]:
    """Tokens ``name -> role`` created in ``home``'s database before its server starts; returns each
    name's secret. In-process, as the other seeds are: a `helios tokens create` per token cost a
    Python start and a full import each (15-25 s of setup for three on a loaded box), and the CLI
    command itself is tested in tests/cli."""
    from helios.config import Settings
    from helios.context import AppContext
    from helios.core import auth
    from helios.db import migrate

    context = AppContext.build(Settings(home=home))
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
def live_server(home: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port()
    log = (home.parent / f"server-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "helios", "serve", "--port", str(port), *extra],
        env={**os.environ, "HELIOS_HOME": str(home), **(env or {})},
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


@contextmanager
def browser_page(base_url: str) -> Iterator[object]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(base_url=base_url, viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            browser.close()


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
