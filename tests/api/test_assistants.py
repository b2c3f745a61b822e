"""The assistants API: prompts with immutable versions, labels, rollback, diff, rendering, config,
and every bad input answered with problem+json naming the field while nothing is stored."""

from __future__ import annotations

import pytest

from helios.core import auth
from helios.core.auth import Role

API = "/api/v1/ai-assistant"
PROMPT = {
    "system_prompt": "You are {{ persona }}, explaining forecasts for {{ tickers|join(', ') }}.",
    "messages": [{"role": "user", "template": "{{ question }}"}],
    "variables": ["persona", "question"],
    "settings": {"temperature": 0.3, "max_tokens": 200, "top_p": 0.9, "stop": ["###"]},
    "message": "first cut",
}


def llm_model(client, name: str = "local-llm", base_url: str = "http://127.0.0.1:9/v1", **params):  # type: ignore[no-untyped-def]
    config = {"base_url": base_url, "model_name": "test-model", "default_params": params}
    created = client.post(
        "/api/v1/ai/models", json={"name": name, "kind": "llm", "task": "chat", "llm": config}
    )
    assert created.status_code == 201, created.text
    # Assistants pin v1 rather than deploying it: a deployment wakes other domains' subscribers.


def assistant(client, name: str = "analyst", **extra):  # type: ignore[no-untyped-def]
    created = client.post(f"{API}/assistants", json={"name": name, "role": "analyst", **extra})
    assert created.status_code == 201, created.text
    return created.json()


def save(client, name: str = "analyst", **changes):  # type: ignore[no-untyped-def]
    response = client.put(f"{API}/prompts/{name}", json={**PROMPT, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def problem(response, status: int, field: str) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert field in {e["field"] for e in body.get("errors", [])}, body
    return body["detail"]


def version_count(client, name: str = "analyst") -> int:  # type: ignore[no-untyped-def]
    return client.get(f"{API}/prompts/{name}/versions").json()["total"]


def test_versions_are_immutable_hashed_and_labelled(client) -> None:  # type: ignore[no-untyped-def]
    assistant(client)
    v1 = save(client)
    assert v1["version"] == 1 and len(v1["content_hash"]) == 64 and v1["author"] == "local"
    v2 = save(client, system_prompt=PROMPT["system_prompt"] + " Be brief.", message="shorter")
    assert v2["version"] == 2 and v2["content_hash"] != v1["content_hash"]
    same = save(client, message="only the message differs")
    assert same["content_hash"] == v1["content_hash"] and same["version"] == 3

    moved = client.put(f"{API}/prompts/analyst/labels/production", json={"version": 2})
    assert moved.status_code == 200 and moved.json()["version"] == 2
    client.put(f"{API}/prompts/analyst/labels/staging", json={"version": 3})
    summary = client.get(f"{API}/prompts/analyst").json()
    assert summary["labels"] == {"production": 2, "staging": 3}
    assert summary["production"]["version"] == 2

    rollback = client.put(
        f"{API}/prompts/analyst/labels/production", json={"version": 1, "note": "v2 rambles"}
    )
    assert rollback.json()["version"] == 1
    assert client.get(f"{API}/prompts/analyst/versions/2").json()["system_prompt"].endswith("Be brief.")
    versions = client.get(f"{API}/prompts/analyst/versions").json()
    assert [v["version"] for v in versions["items"]] == [3, 2, 1]
    assert versions["items"][2]["labels"] == ["production"]
    with client.app.state.helios.db.reading() as session:
        from sqlalchemy import select

        from helios.core.tables import AuditEntry

        actions = session.scalars(select(AuditEntry.details).where(AuditEntry.action == "prompt.label")).all()
    assert {"label": "production", "from": 2, "to": 1, "note": "v2 rambles"} in actions


def test_diff_between_any_two_versions(client) -> None:  # type: ignore[no-untyped-def]
    assistant(client)
    save(client)
    save(
        client,
        system_prompt=PROMPT["system_prompt"] + "\nCite the interval.",
        settings={**PROMPT["settings"], "temperature": 0.7},
    )
    diff = client.get(f"{API}/prompts/analyst/diff", params={"from": 1, "to": 2}).json()
    parts = {p["part"]: p["unified"] for p in diff["parts"]}
    assert diff["changed"] is True
    assert "+Cite the interval." in parts["system_prompt"]
    assert "-temperature: 0.3" in parts["settings"] and "+temperature: 0.7" in parts["settings"]
    assert parts["messages.0.template"] == ""
    same = client.get(f"{API}/prompts/analyst/diff", params={"from": 1, "to": 1}).json()
    assert same["changed"] is False
    assert client.get(f"{API}/prompts/analyst/diff", params={"from": 1, "to": 9}).status_code == 404


def test_render_uses_production_and_names_missing_or_unknown_variables(client) -> None:  # type: ignore[no-untyped-def]
    assistant(client)
    save(client)
    assert client.post(f"{API}/prompts/analyst/render", json={"variables": {}}).status_code == 404
    client.put(f"{API}/prompts/analyst/labels/production", json={"version": 1})
    rendered = client.post(
        f"{API}/prompts/analyst/render", json={"variables": {"persona": "a risk analyst", "question": "Why?"}}
    ).json()
    assert rendered["messages"][0] == {
        "role": "system",
        "content": "You are a risk analyst, explaining forecasts for .",
    }
    assert rendered["messages"][1] == {"role": "user", "content": "Why?"}
    missing = client.post(f"{API}/prompts/analyst/render", json={"variables": {"persona": "x"}})
    assert "question" in problem(missing, 422, "variables.question")
    unknown = client.post(
        f"{API}/prompts/analyst/render", json={"variables": {"persona": "x", "question": "q", "mood": "y"}}
    )
    assert "mood" in problem(unknown, 422, "variables.mood")


BAD_VERSIONS = [
    ({"system_prompt": "{{ persona }} {{ secret }}"}, "system_prompt", "secret"),
    ({"messages": [{"role": "user", "template": "{{ question"}]}, "messages.0.template", "syntax"),
    ({"system_prompt": "{{ ''.__class__.__mro__ }}"}, "system_prompt", "internals"),
    ({"system_prompt": "{{ cycler.__init__.__globals__ }}"}, "system_prompt", "internals"),
    ({"system_prompt": "{{ x|center(999999999) }}"}, "system_prompt", "center"),
    ({"settings": {"temperature": 2.5}}, "settings.temperature", "less than or equal"),
    ({"settings": {"temperature": -0.1}}, "settings.temperature", "greater than"),
    ({"settings": {"max_tokens": 0}}, "settings.max_tokens", "greater than"),
    ({"settings": {"top_p": 0}}, "settings.top_p", "greater than"),
    ({"variables": ["persona", "question", "1bad"]}, "variables.2", "not a variable name"),
    ({"variables": ["persona", "question", "predictions"]}, "variables.2", "filled by the server"),
]


@pytest.mark.parametrize(("change", "field", "says"), BAD_VERSIONS)
def test_bad_versions_are_refused_naming_the_field_and_store_nothing(client, change, field, says) -> None:  # type: ignore[no-untyped-def]
    assistant(client)
    save(client)
    response = client.put(f"{API}/prompts/analyst", json={**PROMPT, **change})
    assert says in problem(response, 422, field)
    assert version_count(client) == 1


def test_max_tokens_above_the_models_own_limit_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    client.put(f"{API}/config", json={"allow_local_model_servers": True})
    llm_model(client, max_output_tokens=256)
    assistant(client, llm_model="local-llm", llm_version=1)
    response = client.put(f"{API}/prompts/analyst", json={**PROMPT, "settings": {"max_tokens": 1000}})
    assert "256" in problem(response, 422, "settings.max_tokens")
    assert version_count(client) == 0


def test_internal_base_urls_are_refused_until_an_admin_allows_local_servers(client) -> None:  # type: ignore[no-untyped-def]
    llm_model(client, base_url="http://169.254.169.254/v1")
    refused = client.post(
        f"{API}/assistants",
        json={"name": "a1", "role": "analyst", "llm_model": "local-llm", "llm_version": 1},
    )
    assert "169.254.169.254" in problem(refused, 422, "llm_model")
    assert client.get(f"{API}/assistants").json()["total"] == 0
    assert client.get(f"{API}/config").json()["allow_local_model_servers"] is False
    assert client.put(f"{API}/config", json={"allow_local_model_servers": True}).status_code == 200
    assert (
        client.post(
            f"{API}/assistants",
            json={"name": "a1", "role": "analyst", "llm_model": "local-llm", "llm_version": 1},
        ).status_code
        == 201
    )


def test_assistant_bad_input(client) -> None:  # type: ignore[no-untyped-def]
    assistant(client)
    problem(client.post(f"{API}/assistants", json={"name": "Bad Name", "role": "x"}), 422, "name")
    assert client.post(f"{API}/assistants", json={"name": "analyst", "role": "x"}).status_code == 409
    problem(
        client.post(f"{API}/assistants", json={"name": "b", "role": "x", "llm_model": "nope"}),
        422,
        "llm_model",
    )
    problem(
        client.post(f"{API}/assistants", json={"name": "b", "role": "x", "llm_version": 2}),
        422,
        "llm_version",
    )
    problem(client.patch(f"{API}/assistants/analyst", json={"memory": {"limit": 500}}), 422, "memory.limit")
    problem(client.put(f"{API}/config", json={"request_timeout_s": 0}), 422, "request_timeout_s")
    problem(client.put(f"{API}/prompts/analyst/labels/Bad Label", json={"version": 1}), 422, "label")
    assert client.put(f"{API}/prompts/analyst/labels/production", json={"version": 4}).status_code == 404
    assert client.get(f"{API}/assistants").json()["total"] == 1
    assert client.get(f"{API}/assistants/analyst").json()["memory"]["limit"] == 5


def test_only_an_admin_changes_the_config(client) -> None:  # type: ignore[no-untyped-def]
    with client.app.state.helios.db.transaction() as session:
        editor = auth.create_token(session, "ed", Role.editor).secret
        admin = auth.create_token(session, "ad", Role.admin).secret
    body = {"allow_local_model_servers": True}
    denied = client.put(f"{API}/config", json=body, headers={"Authorization": f"Bearer {editor}"})
    assert denied.status_code == 403
    allowed = client.put(f"{API}/config", json=body, headers={"Authorization": f"Bearer {admin}"})
    assert allowed.status_code == 200 and allowed.json()["updated_by"] == "ad"


def test_lists_page_with_cursors(client) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        assistant(client, f"a{i}")
    first = client.get(f"{API}/assistants", params={"limit": 2}).json()
    assert [a["name"] for a in first["items"]] == ["a0", "a1"] and first["total"] == 5
    second = client.get(f"{API}/assistants", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [a["name"] for a in second["items"]] == ["a2", "a3"]
    prompts = client.get(f"{API}/prompts", params={"limit": 10}).json()
    assert [p["id"] for p in prompts["items"]] == [f"a{i}" for i in range(5)]
    problem(client.get(f"{API}/assistants", params={"cursor": "garbage"}), 422, "cursor")
