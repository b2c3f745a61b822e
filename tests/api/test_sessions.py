"""Browser sign-in (issue 9): the cookie holds a server-side session id, never the token; it is
SameSite=Strict and Secure over HTTPS; signing out or revoking the token ends it; and it never
authorises a write from another origin."""

from __future__ import annotations

import io
import time

from fastapi.testclient import TestClient

from helios.api.security import SESSION_COOKIE
from helios.core import auth
from helios.core.auth import Role
from helios.core.tables import ApiToken


def make_token(client, name: str = "ed", role: Role = Role.editor) -> str:  # type: ignore[no-untyped-def]
    with client.app.state.helios.db.transaction() as session:
        return auth.create_token(session, name, role).secret


def sign_in(client, secret: str):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"token": secret, "next": "/datasets"}, follow_redirects=False)


def test_cookie_holds_a_session_id_with_strict_attributes(client) -> None:  # type: ignore[no-untyped-def]
    secret = make_token(client)
    response = sign_in(client, secret)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    session_id = client.cookies.get(SESSION_COOKIE)
    assert session_id and session_id != secret and secret not in cookie
    assert "samesite=strict" in cookie.lower() and "httponly" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain HTTP on loopback would drop a Secure cookie
    assert client.get("/api/v1/datasets").status_code == 200


def test_cookie_is_secure_over_https(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver") as client:
        response = sign_in(client, make_token(client))
        assert "secure" in response.headers["set-cookie"].lower()


def test_logout_ends_the_session_on_the_server(client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, make_token(client))
    copied = client.cookies.get(SESSION_COOKIE)
    client.get("/logout", follow_redirects=False)
    replayed = client.get("/api/v1/datasets", cookies={SESSION_COOKIE: copied})
    assert replayed.status_code == 401


def test_revoking_the_token_ends_its_sessions(client) -> None:  # type: ignore[no-untyped-def]
    make_token(client, "keeps-auth-on", Role.viewer)  # with no token left, loopback would be open
    sign_in(client, make_token(client, "doomed"))
    assert client.get("/api/v1/datasets").status_code == 200
    with client.app.state.helios.db.transaction() as session:
        auth.revoke_token(session, "doomed")
    assert client.get("/api/v1/datasets").status_code == 401


def test_the_raw_token_in_a_cookie_is_not_a_session(client) -> None:  # type: ignore[no-untyped-def]
    secret = make_token(client)
    assert client.get("/api/v1/datasets", cookies={SESSION_COOKIE: secret}).status_code == 401


def test_cookie_does_not_authorise_a_write_from_another_port(client) -> None:  # type: ignore[no-untyped-def]
    # Same site (127.0.0.1), another origin: what a page on another local port would send.
    sign_in(client, make_token(client))
    refused = client.post(
        "/api/v1/datasets",
        data={"name": "csrf"},
        files={"file": ("p.csv", io.BytesIO(b"unique_id,ds,y\nA,2024-01-01,1\n"))},
        headers={"Origin": "http://127.0.0.1:9999"},
    )
    assert refused.status_code == 403
    assert client.get("/api/v1/datasets").json()["items"] == []


def test_using_a_token_records_when_it_was_last_used(client) -> None:  # type: ignore[no-untyped-def]
    secret = make_token(client, "reader", Role.viewer)
    client.get("/api/v1/datasets", headers={"Authorization": f"Bearer {secret}"})
    deadline = time.monotonic() + 10
    last_used = None
    while time.monotonic() < deadline and last_used is None:
        with client.app.state.helios.db.reading() as session:
            last_used = session.query(ApiToken).filter_by(name="reader").one().last_used_at
        time.sleep(0.05)
    assert last_used is not None
