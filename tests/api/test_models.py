"""/api/v1/ai/models through HTTP: register, list, deploy, roll back, trace, delete; errors as problems."""

from __future__ import annotations

import io

import pytest

from helios.core import auth

LLM = {"base_url": "http://127.0.0.1:11434/v1", "model_name": "llama3", "api_key_env": "OLLAMA_KEY"}


def create_llm(client, name="explainer", versions=2):  # type: ignore[no-untyped-def]
    created = client.post(
        "/api/v1/ai/models",
        json={
            "name": name,
            "kind": "llm",
            "task": "chat",
            "llm": LLM,
            "description": "explains forecasts",
            "tags": ["chat"],
        },
    )
    assert created.status_code == 201, created.text
    for i in range(1, versions):
        more = client.post(f"/api/v1/ai/models/{name}/llm-config", json={**LLM, "model_name": f"llama3-{i}"})
        assert more.status_code == 201, more.text
    return created.json()


def test_llm_model_versions_never_store_a_key(client) -> None:  # type: ignore[no-untyped-def]
    detail = create_llm(client)
    assert detail["kind"] == "llm" and detail["version_count"] == 1
    version = client.get("/api/v1/ai/models/explainer").json()["versions"][0]
    assert version["llm_config"]["api_key_env"] == "OLLAMA_KEY"
    bad = client.post("/api/v1/ai/models/explainer/llm-config", json={**LLM, "api_key": "sk-secret"})
    assert bad.status_code == 422 and "api_key" in bad.json()["detail"]
    bad_url = client.post(
        "/api/v1/ai/models/explainer/llm-config", json={**LLM, "base_url": "file:///etc/passwd"}
    )
    assert bad_url.status_code == 422


def test_deploy_rollback_history_and_active_at(client) -> None:  # type: ignore[no-untyped-def]
    create_llm(client, versions=3)
    assert (
        client.post("/api/v1/ai/models/explainer/deploy", json={"version": 1, "stage": "active"}).status_code
        == 200
    )
    second = client.post(
        "/api/v1/ai/models/explainer/deploy", json={"version": 2, "stage": "active", "note": "cheaper"}
    )
    assert second.json()["to_stage"] == "active" and second.json()["version"] == 2
    summary = client.get("/api/v1/ai/models/explainer").json()
    assert summary["active_version"] == 2
    assert {v["version"]: v["stage"] for v in summary["versions"]} == {1: "archived", 2: "active", 3: "none"}
    rolled = client.post("/api/v1/ai/models/explainer/rollback", json={"note": "worse answers"})
    assert rolled.status_code == 200 and rolled.json()["version"] == 1
    history = client.get("/api/v1/ai/models/explainer/deployments").json()
    assert history["active_now"] == 1 and len(history["items"]) == 5
    newest = client.get("/api/v1/ai/models/explainer/deployments", params={"limit": 2}).json()
    assert newest["items"] == history["items"][:2] and newest["total"] == 5
    older = client.get(
        "/api/v1/ai/models/explainer/deployments", params={"limit": 4, "cursor": newest["next_cursor"]}
    ).json()
    assert older["items"] == history["items"][2:] and older["next_cursor"] is None
    assert client.get("/api/v1/ai/models/explainer/active").json()["version"] == 1
    past = client.get("/api/v1/ai/models/explainer/active", params={"at": "2000-01-01T00:00:00Z"}).json()
    assert past["version"] is None


def test_list_filters_and_cursor(client) -> None:  # type: ignore[no-untyped-def]
    for name in ("alpha", "beta", "gamma"):
        create_llm(client, name=name, versions=1)
    client.post("/api/v1/ai/models/beta/deploy", json={"version": 1, "stage": "staging"})
    first = client.get("/api/v1/ai/models", params={"limit": 2}).json()
    assert [m["name"] for m in first["items"]] == ["alpha", "beta"] and first["next_cursor"]
    rest = client.get("/api/v1/ai/models", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [m["name"] for m in rest["items"]] == ["gamma"] and rest["next_cursor"] is None
    staged = client.get("/api/v1/ai/models", params={"stage": "staging"}).json()["items"]
    assert [m["name"] for m in staged] == ["beta"] and staged[0]["staging_version"] == 1
    assert client.get("/api/v1/ai/models", params={"q": "GAM"}).json()["items"][0]["name"] == "gamma"
    assert client.get("/api/v1/ai/models", params={"kind": "ml"}).json()["items"] == []
    assert client.get("/api/v1/ai/models", params={"cursor": "%%%"}).status_code == 422
    assert client.get("/api/v1/ai/models", params={"stage": "live"}).status_code == 422


def test_lineage_journal_info_and_aliases(client) -> None:  # type: ignore[no-untyped-def]
    create_llm(client)
    client.post("/api/v1/ai/models/explainer/deploy", json={"version": 2, "stage": "active"})
    alias = client.put(
        "/api/v1/ai/models/explainer/aliases/champion", json={"alias": "champion", "version": 2}
    )
    assert alias.status_code == 200 and alias.json()["aliases"] == {"champion": 2}
    graph = client.get("/api/v1/ai/models/explainer/lineage").json()
    kinds = {n["kind"] for n in graph["nodes"]}
    assert {"model_version", "deployment"} <= kinds and graph["edges"]
    journal = client.get("/api/v1/ai/models/explainer/journal").json()["items"]
    assert any("none → active" in e["message"] for e in journal)
    info = client.get("/api/v1/ai/models/explainer/info").json()
    assert info["active_version"] == 2 and info["last_deployment"]["to_stage"] == "active"
    assert client.delete("/api/v1/ai/models/explainer/aliases/champion").status_code == 204
    assert client.delete("/api/v1/ai/models/explainer/aliases/champion").status_code == 404


def test_delete_refuses_active_unless_admin_forces(client) -> None:  # type: ignore[no-untyped-def]
    create_llm(client)
    client.post("/api/v1/ai/models/explainer/deploy", json={"version": 1, "stage": "active"})
    with client.app.state.helios.db.transaction() as session:
        editor = auth.create_token(session, "ed", auth.Role.editor).secret
        admin = auth.create_token(session, "ad", auth.Role.admin).secret
    refused = client.delete("/api/v1/ai/models/explainer", headers={"Authorization": f"Bearer {editor}"})
    assert refused.status_code == 409 and "active" in refused.json()["detail"]
    forced_by_editor = client.delete(
        "/api/v1/ai/models/explainer", params={"force": True}, headers={"Authorization": f"Bearer {editor}"}
    )
    assert forced_by_editor.status_code == 403
    forced = client.delete(
        "/api/v1/ai/models/explainer", params={"force": True}, headers={"Authorization": f"Bearer {admin}"}
    )
    assert forced.status_code == 204
    assert (
        client.get("/api/v1/ai/models/explainer", headers={"Authorization": f"Bearer {admin}"}).status_code
        == 404
    )
    audit = client.app.state.helios.db
    from sqlalchemy import select

    from helios.core.tables import AuditEntry

    with audit.reading() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == "explainer")).all()
    assert "model.delete" in actions


def test_bad_requests_are_problems(client) -> None:  # type: ignore[no-untyped-def]
    create_llm(client)
    assert client.post("/api/v1/ai/models", json={"name": "Bad Name", "kind": "ml"}).status_code == 422
    assert (
        client.post("/api/v1/ai/models", json={"name": "explainer", "kind": "llm", "llm": LLM}).status_code
        == 409
    )
    assert client.post("/api/v1/ai/models", json={"name": "x", "kind": "llm"}).status_code == 422
    wrong_stage = client.post(
        "/api/v1/ai/models/explainer/deploy", json={"version": 1, "stage": "production"}
    )
    assert wrong_stage.status_code == 422 and "stage" in wrong_stage.json()["detail"]
    missing = client.post("/api/v1/ai/models/explainer/deploy", json={"version": 7})
    assert missing.status_code == 404 and "version 7" in missing.json()["detail"]
    assert client.post("/api/v1/ai/models/ghost/rollback", json={}).status_code == 404
    ml = client.post("/api/v1/ai/models/explainer/versions", files={"files": ("manifest.json", b"{}")})
    assert ml.status_code == 422 and "llm" in ml.json()["detail"]


TRAVERSAL = [
    "../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%252e%252e%252f",
    "..\\..\\win.ini",
    "/etc/passwd",
    "manifest.json;rm",
    "manifest.json#x",
    "a/manifest.json",
]


@pytest.mark.parametrize("name", TRAVERSAL)
def test_traversal_in_upload_download_and_delete_is_refused(client, name, tmp_path) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/ai/models", json={"name": "prices", "kind": "ml"})
    upload = client.post(
        "/api/v1/ai/models/prices/versions",
        files=[("files", (name, io.BytesIO(b"{}"))), ("files", ("manifest.json", io.BytesIO(b"{}")))],
    )
    assert 400 <= upload.status_code < 500
    download = client.get(f"/api/v1/ai/models/prices/versions/1/files/{name}")
    assert 400 <= download.status_code < 500
    delete = client.delete(f"/api/v1/ai/models/{name}")
    assert 400 <= delete.status_code < 500
    assert client.get("/api/v1/ai/models/prices").status_code == 200
    store = client.app.state.helios.store.root
    assert not [p for p in store.rglob("*") if p.is_file()]
