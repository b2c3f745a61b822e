"""The shield in front of the whole app replays the attacks that once worked (issue 9): another
origin driving open loopback mode, DNS rebinding, bodies received before auth, oversized bodies,
and odd methods on API paths falling through to the web UI."""

from __future__ import annotations

import asyncio
import io

import pytest
from sqlalchemy import func, select

from helios.core import auth
from helios.core.auth import Role
from helios.datasets.tables import Dataset

CSV = b"unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-02,2\n"


def upload(client, headers=None, name="prices"):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/datasets",
        data={"name": name},
        files={"file": ("p.csv", io.BytesIO(CSV))},
        headers=headers or {},
    )


def dataset_count(client) -> int:  # type: ignore[no-untyped-def]
    with client.app.state.helios.db.reading() as session:
        return session.scalar(select(func.count(Dataset.id)))


def make_token(client, role: Role) -> str:  # type: ignore[no-untyped-def]
    with client.app.state.helios.db.transaction() as session:
        return auth.create_token(session, f"t-{role.name}", role).secret


def test_open_mode_refuses_a_write_from_another_origin(client) -> None:  # type: ignore[no-untyped-def]
    # What a fetch(..., {mode: "no-cors"}) from http://evil.example sends.
    refused = upload(client, {"Origin": "http://evil.example"})
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "evil.example" in refused.json()["detail"]
    by_referer = upload(client, {"Referer": "http://127.0.0.1:9999/attack.html"})
    assert by_referer.status_code == 403
    opaque = upload(client, {"Origin": "null"})
    assert opaque.status_code == 403
    assert dataset_count(client) == 0
    own = upload(client, {"Origin": "http://testserver"})
    assert own.status_code == 201, own.text


def test_a_token_does_not_make_a_cross_origin_write_acceptable(client) -> None:  # type: ignore[no-untyped-def]
    admin = make_token(client, Role.admin)
    refused = upload(client, {"Authorization": f"Bearer {admin}", "Origin": "http://127.0.0.1:9999"})
    assert refused.status_code == 403
    assert dataset_count(client) == 0


def test_allow_listed_origin_may_write(settings) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from helios.app import create_app

    app = create_app(settings.model_copy(update={"allowed_origins": ["https://ops.example"]}), ui=False)
    with TestClient(app) as client:
        assert upload(client, {"Origin": "https://ops.example"}).status_code == 201


def test_dns_rebinding_host_is_refused_with_and_without_auth(client) -> None:  # type: ignore[no-untyped-def]
    rebound = client.get("/api/v1/datasets", headers={"Host": "attacker.example"})
    assert rebound.status_code == 403
    assert "attacker.example" in rebound.json()["detail"]
    assert client.get("/api/v1/health", headers={"Host": "attacker.example:8765"}).status_code == 403
    for host in ("localhost:8765", "127.0.0.1:8765", "[::1]:8765"):
        assert client.get("/api/v1/datasets", headers={"Host": host}).status_code == 200, host
    admin = make_token(client, Role.admin)
    with_token = client.get(
        "/api/v1/datasets", headers={"Host": "attacker.example", "Authorization": f"Bearer {admin}"}
    )
    assert with_token.status_code == 403


def test_content_length_over_the_limit_is_refused_before_the_body(client) -> None:  # type: ignore[no-untyped-def]
    limit = client.app.state.helios.settings.max_upload_bytes
    status, received = call_asgi(client.app, "POST", "/api/v1/datasets", content_length=limit * 3)
    assert status == 413
    assert received == 0, "the body was read before the 413"


def test_unauthenticated_and_viewer_uploads_are_refused_before_the_body(client) -> None:  # type: ignore[no-untyped-def]
    viewer = make_token(client, Role.viewer)
    status, received = call_asgi(client.app, "POST", "/api/v1/datasets", content_length=1000)
    assert (status, received) == (401, 0)
    status, received = call_asgi(client.app, "POST", "/api/v1/datasets", content_length=1000, token=viewer)
    assert (status, received) == (403, 0)


def test_chunked_body_is_cut_off_at_the_limit(client) -> None:  # type: ignore[no-untyped-def]
    limit = client.app.state.helios.settings.max_upload_bytes
    chunk = b"x" * (1024 * 1024)
    sent = 0

    def body():  # type: ignore[no-untyped-def]
        nonlocal sent
        yield b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nbig\r\n'
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        while sent < limit * 4:
            sent += len(chunk)
            yield chunk

    response = client.post(
        "/api/v1/datasets", content=body(), headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 413, response.text
    assert "HELIOS_MAX_UPLOAD_BYTES" in response.json()["detail"]
    assert dataset_count(client) == 0


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE", "PUT"])
def test_odd_methods_on_api_paths_answer_problem_json(client, method: str) -> None:  # type: ignore[no-untyped-def]
    known = client.request(method, "/api/v1/datasets")
    assert known.status_code == 405
    assert known.headers["content-type"].startswith("application/problem+json")
    assert "GET" in known.headers["allow"] and "set-cookie" not in known.headers
    unknown = client.request(method, "/api/v1/no-such-thing")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")


def test_security_headers_on_every_response(client) -> None:  # type: ignore[no-untyped-def]
    for response in (client.get("/api/v1/health"), client.get("/login"), client.get("/api/v1/nothing")):
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"


def call_asgi(app, method: str, path: str, *, content_length: int, token: str | None = None):  # type: ignore[no-untyped-def]
    """Drive the app at the ASGI level, counting how much of the body it asked for."""
    received = 0
    headers = [
        (b"host", b"testserver"),
        (b"content-length", str(content_length).encode()),
        (b"content-type", b"multipart/form-data; boundary=b"),
    ]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    status = 0

    async def receive():  # type: ignore[no-untyped-def]
        nonlocal received
        received += 64 * 1024
        return {"type": "http.request", "body": b"x" * 64 * 1024, "more_body": received < content_length}

    async def send(message):  # type: ignore[no-untyped-def]
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    asyncio.run(app(scope, receive, send))
    return status, received
