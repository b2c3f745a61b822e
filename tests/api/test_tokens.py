"""/api/v1/tokens lists like every other list: Page[T] with a keyset cursor."""

from __future__ import annotations

from helios.core import auth
from helios.core.auth import Role


def test_token_list_pages_and_hides_revoked_unless_asked(client) -> None:  # type: ignore[no-untyped-def]
    with client.app.state.helios.db.transaction() as session:
        admin = auth.create_token(session, "admin", Role.admin).secret
        for name in ("ci", "dashboard", "old"):
            auth.create_token(session, name, Role.viewer)
        auth.revoke_token(session, "old")
    headers = {"Authorization": f"Bearer {admin}"}
    first = client.get("/api/v1/tokens", params={"limit": 2}, headers=headers).json()
    assert [t["name"] for t in first["items"]] == ["admin", "ci"] and first["total"] == 3
    rest = client.get("/api/v1/tokens", params={"cursor": first["next_cursor"]}, headers=headers).json()
    assert [t["name"] for t in rest["items"]] == ["dashboard"] and rest["next_cursor"] is None
    every = client.get("/api/v1/tokens", params={"include_revoked": True}, headers=headers).json()
    assert [t["name"] for t in every["items"]][-1] == "old" and every["total"] == 4
    assert all("secret" not in t and "token_hash" not in t for t in every["items"])
