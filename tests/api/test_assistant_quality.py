"""Prompt tests on sample inputs (assertions, repeats, side by side, the production gate) and A/B
experiments (sticky assignment, outcomes, results, guardrails, stop, promote) through the API."""

from __future__ import annotations

import time

from sqlalchemy import select

from helios.core import auth
from helios.core.auth import Role
from helios.core.tables import AuditEntry
from tests.api.test_assistant_chat import ask, ready
from tests.api.test_assistants import API, assistant, problem, save
from tests.assistants.fake_llm import fake_llm_fixture  # noqa: F401

CASES = [
    {
        "variables": {"persona": "an analyst", "question": "AAPL up?"},
        "assertions": [
            {"kind": "contains", "value": "AAPL"},
            {"kind": "regex", "value": "^echo: "},
            {"kind": "max_length", "max_chars": 200},
            {"kind": "llm_judge", "value": "answers the question"},
        ],
    },
    {
        "variables": {"persona": "an analyst", "question": "[json] give JSON"},
        "assertions": [{"kind": "json_valid"}, {"kind": "not_contains", "value": "bad"}],
    },
]


def two_versions(client, fake_llm) -> None:  # type: ignore[no-untyped-def]
    ready(client, fake_llm)  # v1 = PROMPT, production
    # v2 wraps the question, so its answers are not JSON and say "bad": it fails rows 2 and the judge.
    save(client, messages=[{"role": "user", "template": "bad take on {{ question }}"}], message="worse")


def make_test_set(client, **extra) -> dict:  # type: ignore[no-untyped-def]
    created = client.post(f"{API}/prompts/analyst/test-sets", json={"name": "smoke", "cases": CASES, **extra})
    assert created.status_code == 201, created.text
    return created.json()


def run_tests(client, test_set_id: int, versions: list[int], timeout: float = 30.0, **extra) -> dict:  # type: ignore[no-untyped-def]
    """Queue a run (202) and wait for the server's worker to finish it; the finished run."""
    queued = client.post(f"{API}/test-sets/{test_set_id}/runs", json={"versions": versions}, **extra)
    assert queued.status_code == 202, queued.text
    return wait_for(client, queued.json()["id"], timeout, **extra)


def wait_for(client, run_id: int, timeout: float = 30.0, **extra) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        read = client.get(f"{API}/test-runs/{run_id}", **extra)
        assert read.status_code == 200, read.text
        body = read.json()
        if body["finished"]:
            return body
        assert time.monotonic() < deadline, f"run {run_id} still {body['status']} after {timeout} s"
        time.sleep(0.05)


def test_a_run_reports_pass_rates_intervals_and_pass_all_side_by_side(client, fake_llm) -> None:  # type: ignore[no-untyped-def]
    two_versions(client, fake_llm)
    created = make_test_set(client, repeats=3)
    body = run_tests(client, created["id"], [1, 2])
    assert body["status"] == "failed" and body["repeats"] == 3 and body["versions"] == [1, 2]
    assert body["calls_done"] == body["calls_total"] == 2 * 3 * 2 and body["finished_at"] is not None
    v1, v2 = body["results"]
    assert v1["version"] == 1 and v1["passed"] is True and v1["pass_rate"] == 1.0 and v1["pass_all"] == 1.0
    assert v1["cases"][0]["low"] > 0.29 and v1["cases"][0]["high"] == 1.0  # Wilson for 3/3
    assert v1["cases"][0]["outputs"] == ["echo: AAPL up?"] * 3
    assert v2["passed"] is False and v2["cases"][1]["pass_rate"] == 0.0
    assert v2["cases"][1]["failures"] == ["contains 'bad'"]
    assert any("judge says" in f for f in v2["cases"][0]["failures"])
    assert client.get(f"{API}/test-runs/{body['id']}").json()["results"][1]["version"] == 2


def test_the_gate_refuses_production_for_a_failing_version_unless_an_admin_forces(client, fake_llm) -> None:  # type: ignore[no-untyped-def]
    two_versions(client, fake_llm)
    gate = make_test_set(client, gates_production=True)
    never_run = client.put(f"{API}/prompts/analyst/labels/production", json={"version": 2})
    assert never_run.status_code == 409 and "smoke" in never_run.json()["detail"]
    assert run_tests(client, gate["id"], [2])["status"] == "failed"
    failing = client.put(f"{API}/prompts/analyst/labels/production", json={"version": 2})
    assert failing.status_code == 409
    assert client.get(f"{API}/prompts/analyst").json()["labels"]["production"] == 1
    with client.app.state.helios.db.transaction() as session:
        editor = auth.create_token(session, "ed", Role.editor).secret
        admin = auth.create_token(session, "ad", Role.admin).secret
    as_editor = {"Authorization": f"Bearer {editor}"}
    forced_by_editor = client.put(
        f"{API}/prompts/analyst/labels/production", json={"version": 2, "force": True}, headers=as_editor
    )
    assert forced_by_editor.status_code == 403
    forced = client.put(
        f"{API}/prompts/analyst/labels/production",
        json={"version": 2, "force": True},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert forced.status_code == 200 and forced.json()["version"] == 2
    assert run_tests(client, gate["id"], [1], headers=as_editor)["status"] == "passed"
    back = client.put(f"{API}/prompts/analyst/labels/production", json={"version": 1}, headers=as_editor)
    assert back.status_code == 200
    staging = client.put(f"{API}/prompts/analyst/labels/staging", json={"version": 2}, headers=as_editor)
    assert staging.status_code == 200  # only production is gated


def test_no_provider_runs_nothing_and_passes_nothing(client) -> None:  # type: ignore[no-untyped-def]
    assistant(client)
    save(client)
    created = make_test_set(client)
    body = run_tests(client, created["id"], [1])
    assert body["status"] == "unavailable" and body["results"][0]["passed"] is False
    assert "no model provider" in body["results"][0]["notice"]


def test_test_set_bad_input(client, fake_llm) -> None:  # type: ignore[no-untyped-def]
    two_versions(client, fake_llm)
    url = f"{API}/prompts/analyst/test-sets"
    bad_regex = [{"variables": {}, "assertions": [{"kind": "regex", "value": "(unclosed"}]}]
    problem(client.post(url, json={"name": "a", "cases": bad_regex}), 422, "cases.0.assertions.0.value")
    no_value = [{"variables": {}, "assertions": [{"kind": "contains"}]}]
    problem(client.post(url, json={"name": "a", "cases": no_value}), 422, "cases.0.assertions.0.value")
    no_max = [{"variables": {}, "assertions": [{"kind": "max_length"}]}]
    problem(client.post(url, json={"name": "a", "cases": no_max}), 422, "cases.0.assertions.0.max_chars")
    problem(
        client.post(url, json={"name": "a", "cases": [{"variables": {}, "assertions": [{"kind": "vibes"}]}]}),
        422,
        "cases.0.assertions.0.kind",
    )
    assert client.get(url).json()["total"] == 0
    unknown_var = [
        {"variables": {"persona": "x", "question": "q", "mood": "y"}, "assertions": [{"kind": "json_valid"}]}
    ]
    created = client.post(url, json={"name": "b", "cases": unknown_var}).json()
    refused = client.post(f"{API}/test-sets/{created['id']}/runs", json={"versions": [1]})
    assert "mood" in problem(refused, 422, "cases.0.variables.mood")
    problem(
        client.post(f"{API}/test-sets/{created['id']}/runs", json={"versions": [1, 9]}), 422, "versions.1"
    )
    problem(client.post(f"{API}/test-sets/{created['id']}/runs", json={"versions": [1, 1]}), 422, "versions")
    assert fake_llm.requests == []


# --- experiments --------------------------------------------------------------------------------------


def experiment(client, **extra) -> dict:  # type: ignore[no-untyped-def]
    body = {
        "assistant": "analyst",
        "name": "shorter",
        "variants": [
            {"name": "control", "version": 1, "weight": 1},
            {"name": "brief", "version": 2, "weight": 1},
        ],
        **extra,
    }
    created = client.post(f"{API}/experiments", json=body)
    assert created.status_code == 201, created.text
    return created.json()


def test_assignment_is_sticky_and_chat_serves_the_variant(client, fake_llm) -> None:  # type: ignore[no-untyped-def]
    two_versions(client, fake_llm)
    exp = experiment(client)
    first = {
        s: client.post(f"{API}/experiments/{exp['id']}/assign", json={"subject": s}).json()
        for s in map(str, range(40))
    }
    again = {
        s: client.post(f"{API}/experiments/{exp['id']}/assign", json={"subject": s}).json()
        for s in map(str, range(40))
    }
    assert first == again
    assert {a["variant"] for a in first.values()} == {"control", "brief"}
    subject = next(s for s, a in first.items() if a["variant"] == "brief")
    answer = ask(client, subject=subject).json()
    assert (
        answer["variant"] == "brief"
        and answer["prompt_version"] == 2
        and answer["experiment_id"] == exp["id"]
    )
    assert answer["answer"] == "echo: bad take on Where is AAPL heading?"
    assert ask(client).json()["prompt_version"] == 1  # no subject: production


def test_outcomes_results_verdict_and_promotion(client, fake_llm) -> None:  # type: ignore[no-untyped-def]
    two_versions(client, fake_llm)
    exp = experiment(client)
    url = f"{API}/experiments/{exp['id']}"
    assigned = {
        s: client.post(f"{url}/assign", json={"subject": s}).json()["variant"]
        for s in (f"u{i}" for i in range(400))
    }
    early = client.get(url).json()
    assert "Too early" in early["verdict"]
    outcomes = [
        {"subject": s, "thumbs": "up" if v == "brief" or int(s[1:]) % 3 == 0 else "down"}
        for s, v in assigned.items()
    ]
    accepted = client.post(f"{url}/outcomes", json={"outcomes": outcomes})
    assert accepted.status_code == 200 and accepted.json()["accepted"] == 400
    result = client.get(url).json()
    control, brief = result["variants"]
    assert control["outcomes"] + brief["outcomes"] == 400
    assert brief["mean"] == 1.0 and 0.2 < control["mean"] < 0.5
    assert brief["prob_best"] > 0.99 and brief["p_value"] < 0.05 and brief["difference"] > 0.5
    assert "brief is better than control" in result["verdict"]
    promoted = client.post(f"{url}/promote", json={})
    assert (
        promoted.status_code == 200
        and promoted.json()["status"] == "promoted"
        and promoted.json()["winner"] == "brief"
    )
    assert client.get(f"{API}/prompts/analyst").json()["labels"]["production"] == 2
    with client.app.state.helios.db.reading() as session:
        audit = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "experiment")).all()
    assert "experiment.promote" in audit
    late = client.post(f"{url}/outcomes", json={"outcomes": outcomes[:1]})
    assert late.status_code == 409


def test_guardrails_pause_a_variant_that_errs(client, fake_llm) -> None:  # type: ignore[no-untyped-def]
    ready(client, fake_llm, max_retries=0)
    save(client, messages=[{"role": "user", "template": "[error500] {{ question }}"}], message="broken")
    exp = experiment(client, guardrails={"max_error_rate": 0.5, "min_calls": 3})
    subjects = [s for s in (f"s{i}" for i in range(60))]
    for subject in subjects:
        ask(client, subject=subject)
    brief = client.get(f"{API}/experiments/{exp['id']}").json()["variants"][1]
    assert brief["paused_reason"] and "error rate" in brief["paused_reason"]
    assert brief["calls"] == 3  # paused at the guardrail's minimum
    after = [ask(client, subject=s).json()["variant"] for s in subjects[:10]]
    assert set(after) == {"control"}


def test_experiment_bad_input_stores_nothing(client, fake_llm) -> None:  # type: ignore[no-untyped-def]
    two_versions(client, fake_llm)
    base = {"assistant": "analyst", "name": "x"}
    zero = [{"name": "a", "version": 1, "weight": 0}, {"name": "b", "version": 2, "weight": 0}]
    problem(client.post(f"{API}/experiments", json={**base, "variants": zero}), 422, "variants")
    negative = [{"name": "a", "version": 1, "weight": -1}, {"name": "b", "version": 2, "weight": 1}]
    problem(client.post(f"{API}/experiments", json={**base, "variants": negative}), 422, "variants.0.weight")
    missing = [{"name": "a", "version": 1, "weight": 1}, {"name": "b", "version": 7, "weight": 1}]
    problem(client.post(f"{API}/experiments", json={**base, "variants": missing}), 422, "variants.1.version")
    assert client.get(f"{API}/experiments").json()["total"] == 0
    exp = experiment(client)
    url = f"{API}/experiments/{exp['id']}/outcomes"
    client.post(f"{API}/experiments/{exp['id']}/assign", json={"subject": "known"})
    good = {"subject": "known", "thumbs": "up"}
    problem(
        client.post(url, json={"outcomes": [good, {"subject": "stranger", "thumbs": "up"}]}),
        422,
        "outcomes.1.subject",
    )
    problem(client.post(url, json={"outcomes": [{**good, "variant": "nope"}]}), 422, "outcomes.0.variant")
    problem(client.post(url, json={"outcomes": [{"subject": "known"}]}), 422, "outcomes.0")
    problem(
        client.post(url, json={"outcomes": [{"subject": "known", "score": 1.5}]}), 422, "outcomes.0.score"
    )
    assert sum(v["outcomes"] for v in client.get(f"{API}/experiments/{exp['id']}").json()["variants"]) == 0
    assert (
        client.post(f"{API}/experiments", json={**base, "variants": zero[:1] + missing[:1]}).status_code
        == 422
    )
    second = {
        **base,
        "variants": [{"name": "a", "version": 1, "weight": 1}, {"name": "b", "version": 2, "weight": 1}],
    }
    assert client.post(f"{API}/experiments", json=second).status_code == 409
    problem(client.post(f"{API}/experiments/{exp['id']}/promote", json={"variant": "zzz"}), 422, "variant")
    assert client.post(f"{API}/experiments/999/outcomes", json={"outcomes": [good]}).status_code == 404
