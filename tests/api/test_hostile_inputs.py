"""Hostile inputs (issue 9): integers beyond 64 bits and deeply nested JSON, anywhere a user can put
them, are a 422 naming the field — never a 500."""

from __future__ import annotations

import io

import pytest

from helios.core.errors import InvalidInput
from helios.core.parsing import MAX_JSON_DEPTH, load_json

HUGE = str(2**63)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/api/v1/ml/jobs/{HUGE}", "job_id"),
        (f"/api/v1/ml/jobs/{HUGE}/metrics", "job_id"),
        (f"/api/v1/ml/jobs/1/metrics?since={HUGE}", "since"),
        (f"/api/v1/datasets/prices/versions/{HUGE}", "version"),
        (f"/api/v1/datasets/prices/versions/1/data?offset={HUGE}", "offset"),
        (f"/api/v1/ai/models/{HUGE}", "ident"),
        (f"/api/v1/ai/models?cursor=-{HUGE}9", "cursor"),
    ],
)
def test_integers_beyond_64_bits_in_paths_and_queries_are_422(client, url: str, field: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["errors"][0]["field"] in (field, "name", "id", "model"), body
    assert "64-bit" in body["detail"]


def test_an_integer_beyond_64_bits_in_a_json_body_names_its_field(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/ml/train",
        content=f'{{"dataset": "prices", "family": "naive", "hyperparameters": {{"epochs": {HUGE}}}}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "hyperparameters.epochs"


def test_deeply_nested_json_bodies_are_422(client) -> None:  # type: ignore[no-untyped-def]
    for depth in (MAX_JSON_DEPTH + 5, 100_000):
        body = '{"dataset": "prices", "hyperparameters": ' + "[" * depth + "]" * depth + "}"
        response = client.post("/api/v1/ml/train", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, depth
        assert "nested deeper" in response.json()["detail"]


def test_deeply_nested_multipart_json_fields_are_422(client) -> None:  # type: ignore[no-untyped-def]
    nested = "[" * 50_000 + "]" * 50_000
    response = client.post(
        "/api/v1/datasets",
        data={"name": "draws", "kind": "draws", "rules": nested},
        files={"file": ("d.csv", io.BytesIO(b"ds,n1\n2024-01-01,1\n"))},
    )
    assert response.status_code == 422
    assert "nested deeper" in response.json()["detail"]


def test_load_json_checks_depth_without_recursing() -> None:
    load_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, "ok")
    with pytest.raises(InvalidInput):
        load_json("[" * (MAX_JSON_DEPTH + 2) + "]" * (MAX_JSON_DEPTH + 2), "x")
    with pytest.raises(InvalidInput) as huge:
        load_json('{"a": [1, -' + HUGE + "1]}", "x")
    assert huge.value.errors[0]["field"] == "a[1]"


def test_search_wildcards_match_only_themselves(client) -> None:  # type: ignore[no-untyped-def]
    for name, description in (("prices", "daily closes"), ("draws", "100% fair balls"), ("a_b", "")):
        assert client.post("/api/v1/ai/models", json={"name": name, "kind": "ml", "description": description})
    found = {
        q: [m["name"] for m in client.get("/api/v1/ai/models", params={"q": q}).json()["items"]] for q in "%_"
    }
    assert found == {"%": ["draws"], "_": ["a_b"]}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/agents/%C2%B2",  # '²' passes str.isdigit() but int() refuses it
        "/api/v1/ai/models/%C2%B2",
        "/api/v1/ai-assistant/assistants/%C2%B2",
        "/api/v1/ml/jobs/%C2%B3",
    ],
)
def test_digit_like_identifiers_are_not_found_not_a_crash(client, path: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code in (404, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
