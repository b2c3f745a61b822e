"""The web UI's side doors (issue 9): NiceGUI's socket and upload routes need a signed-in caller
who owns the page, a revoked token stops a page at its next click, client ids stay out of the
access log, and the content security policy leaves every page working in Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import browser_page, helios, live_server, seed_tokens


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Path]]:
    home = tmp_path_factory.mktemp("hardening") / "home"
    secrets = seed_tokens(home, {"admin": "admin", "editor": "editor", "doomed": "editor"})
    with live_server(home, env={"PYTHONUNBUFFERED": "1"}, trains=False) as url:  # the log test reads it live
        yield url, secrets, home


def sign_in(page, secret: str, path: str = "/datasets") -> None:  # type: ignore[no-untyped-def]
    page.goto(path)
    page.get_by_label("API token").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("principal").wait_for()


def test_socket_and_upload_routes_need_a_signed_in_caller(guarded) -> None:  # type: ignore[no-untyped-def]
    url, _, _ = guarded
    polling = httpx.get(f"{url}/_nicegui_ws/socket.io/?EIO=4&transport=polling")
    assert polling.status_code == 401
    upload = httpx.post(f"{url}/_nicegui/client/some-page/upload/5", files={"f": ("a.csv", b"x")})
    assert upload.status_code == 401

    import websockets.sync.client
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus):
        websockets.sync.client.connect(
            f"{url.replace('http', 'ws')}/_nicegui_ws/socket.io/?EIO=4&transport=websocket"
        )


def test_an_upload_into_another_users_page_is_refused(guarded) -> None:  # type: ignore[no-untyped-def]
    url, secrets, _ = guarded
    with browser_page(url) as page:
        sign_in(page, secrets["editor"])
        client_id = page.evaluate("window.clientId")
        assert client_id
        as_admin = httpx.post(
            f"{url}/_nicegui/client/{client_id}/upload/1",
            files={"f": ("a.csv", b"unique_id,ds,y\n")},
            headers={"Authorization": f"Bearer {secrets['admin']}"},
        )
        assert as_admin.status_code == 403
        anonymous = httpx.post(f"{url}/_nicegui/client/{client_id}/upload/1", files={"f": ("a.csv", b"")})
        assert anonymous.status_code == 401


def test_a_revoked_token_stops_the_open_page_at_its_next_action(guarded) -> None:  # type: ignore[no-untyped-def]
    url, secrets, home = guarded
    with browser_page(url) as page:
        sign_in(page, secrets["doomed"])
        assert page.get_by_test_id("import-open").is_enabled()
        result = helios(home, "tokens", "revoke", "doomed")
        assert result.returncode == 0, result.stderr
        page.get_by_test_id("import-open").click()
        page.wait_for_url(re.compile(r".*/login.*"), timeout=20_000)
        assert page.get_by_test_id("import-name").count() == 0


def test_pages_work_under_the_content_security_policy(guarded) -> None:  # type: ignore[no-untyped-def]
    url, secrets, _ = guarded
    with browser_page(url) as page:
        violations: list[str] = []
        page.on(
            "console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None
        )
        sign_in(page, secrets["editor"])
        for path in ("/datasets", "/models", "/training"):
            response = page.goto(path)
            assert response is not None
            assert response.headers["x-frame-options"] == "DENY"
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            page.get_by_test_id("principal").wait_for()
        page.goto("/datasets")
        page.get_by_test_id("import-open").click()
        page.get_by_test_id("import-name").wait_for()
        assert not violations, violations


def test_api_paths_never_fall_through_to_the_ui(guarded) -> None:  # type: ignore[no-untyped-def]
    url, _, _ = guarded
    for method in ("HEAD", "OPTIONS", "TRACE"):
        response = httpx.request(method, f"{url}/api/v1/datasets")
        assert response.status_code == 405, method
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "set-cookie" not in response.headers


def test_client_ids_stay_out_of_the_access_log(guarded) -> None:  # type: ignore[no-untyped-def]
    url, secrets, home = guarded
    with browser_page(url) as page:
        sign_in(page, secrets["editor"])
        client_id = page.evaluate("window.clientId")
        page.get_by_test_id("import-open").click()
        page.get_by_test_id("import-name").wait_for()
    logs = "".join(p.read_text() for p in home.parent.glob("server-*.log"))
    assert "client_id=…" in logs  # the socket was logged, just without its client id
    assert client_id not in logs
