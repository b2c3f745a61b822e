"""Every UI page is behind the auth rules once tokens exist, and a person can sign in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import browser_page, live_server, seed_tokens


def ui_pages() -> list[str]:
    from nicegui import Client

    import helios.ui.pages  # noqa: F401  (registers the pages)

    return sorted(set(Client.page_routes.values()))


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    home = tmp_path_factory.mktemp("guarded") / "home"
    made = seed_tokens(home, {f"t-{role}": role for role in ("viewer", "editor", "admin")})
    secrets = {role: made[f"t-{role}"] for role in ("viewer", "editor", "admin")}
    with live_server(home, trains=False) as url:
        yield url, secrets


def test_every_page_needs_a_token(guarded) -> None:  # type: ignore[no-untyped-def]
    url, secrets = guarded
    pages = ui_pages()
    assert "/datasets" in pages
    for path in pages:
        anonymous = httpx.get(url + path, headers={"accept": "text/html"})
        assert anonymous.status_code == 401, path
        assert "Sign in" in anonymous.text
        bogus = httpx.get(url + path, headers={"Authorization": "Bearer hel_wrong"})
        assert bogus.status_code == 401, path
        viewer = httpx.get(
            url + path, headers={"Authorization": f"Bearer {secrets['viewer']}"}, follow_redirects=True
        )
        assert viewer.status_code == 200, path


def test_sign_in_then_viewer_cannot_import(guarded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, secrets = guarded
    with browser_page(url) as page:
        page.goto("/datasets")
        page.get_by_label("API token").fill("hel_not-a-token")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("alert").get_by_text("unknown or revoked").wait_for()
        page.get_by_label("API token").fill(secrets["viewer"])
        page.get_by_role("button", name="Sign in").click()
        page.get_by_test_id("principal").get_by_text("t-viewer").wait_for()
        assert page.get_by_test_id("import-open").is_disabled()
