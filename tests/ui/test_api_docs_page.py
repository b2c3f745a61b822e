"""The API docs render with the app's own assets (offline, /docs is not blank); the shell's header links
them and keeps dark mode across pages and reloads."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.live import browser_page


def _outside(requested: list[str], base_url: str) -> list[str]:
    own = urlsplit(base_url).netloc
    web = [urlsplit(url) for url in requested if urlsplit(url).scheme in ("http", "https")]
    return [url.geturl() for url in web if url.netloc != own]


def test_swagger_ui_renders_the_api_with_no_outside_request(server: str) -> None:
    with browser_page(server) as page:
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto("/docs")
        page.get_by_text("/api/v1/datasets").first.wait_for()
        assert page.locator(".swagger-ui .info .title").inner_text().startswith("Helios")
        assert _outside(requested, server) == []


def test_dark_mode_persists_across_pages_and_reloads(server: str) -> None:
    with browser_page(server) as page:
        page.goto("/datasets")
        body_is_dark = "() => document.body.classList.contains('body--dark')"
        assert page.evaluate(body_is_dark) is False
        page.get_by_label("Toggle dark mode").click()
        page.wait_for_function(body_is_dark)
        page.goto("/models")
        page.wait_for_function(body_is_dark)
        page.reload()
        page.wait_for_function(body_is_dark)
        page.get_by_label("Toggle dark mode").click()
        page.wait_for_function(f"() => !({body_is_dark})()")
        page.goto("/training")
        page.get_by_label("Toggle dark mode").wait_for()
        assert page.evaluate(body_is_dark) is False


def test_the_header_links_the_api_docs(server: str) -> None:
    with browser_page(server) as page:
        page.goto("/datasets")
        assert page.get_by_label("API docs").get_attribute("href") == "/docs"


def test_on_a_phone_the_drawer_waits_for_the_menu_button(server: str) -> None:
    with browser_page(server) as page:
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/datasets")
        drawer = page.locator(".helios-drawer")
        page.get_by_label("Toggle dark mode").wait_for()
        assert not drawer.is_visible()  # the page is not covered on load
        page.locator("header button").first.click()
        drawer.wait_for(state="visible")
