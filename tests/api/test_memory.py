"""Memory API: writes (all or nothing, fields named), agents made on first write, reads, graph,
timeline, search, soft delete / restore / purge, forgetting with review and undo."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.memory.fakes import fake_runtime

API = "/api/v1"


@pytest.fixture
def mclient(client):  # type: ignore[no-untyped-def]
    client.app.state.helios.memory = fake_runtime()
    return client


def write(client, agent: str, *memories: dict, status: int = 201):  # type: ignore[no-untyped-def]
    response = client.post(f"{API}/memory/agents/{agent}/memories", json={"memories": list(memories)})
    assert response.status_code == status, response.text
    return response.json()


def test_first_write_creates_the_agent_and_stores_every_field(mclient) -> None:  # type: ignore[no-untyped-def]
    body = write(
        mclient,
        "scout",
        {
            "content": "AAPL earnings beat the consensus",
            "kind": "episode",
            "importance": 0.8,
            "metadata": {"quarter": "Q3", "tags": ["earnings"]},
            "source": "user",
            "source_link": {"type": "prediction", "id": 7},
            "valid_from": "2026-11-01T10:00:00Z",
        },
    )
    assert body["agent"] == "scout" and body["agent_created"] is True
    item = body["items"][0]
    assert item["kind"] == "episode" and item["importance"] == 0.8
    assert item["metadata"] == {"quarter": "Q3", "tags": ["earnings"]}
    assert item["source_link"] == {"type": "prediction", "id": 7}
    assert item["valid_from"].startswith("2026-11-01T10:00:00")
    assert 0 < item["strength"]["total"] <= 1 and item["strength"]["importance"] == 0.8
    again = write(mclient, "scout", {"content": "second"})
    assert again["agent_created"] is False
    agent = mclient.get(f"{API}/agents/scout").json()
    assert agent["memory_count"] == 2


@pytest.mark.parametrize(
    ("memory", "field"),
    [
        ({"content": ""}, "memories[1].content"),
        ({"content": "   "}, "memories[1].content"),
        ({"content": "x" * 10_001}, "memories[1].content"),
        ({"content": "ok", "importance": 1.5}, "memories[1].importance"),
        ({"content": "ok", "importance": -0.1}, "memories[1].importance"),
        ({"content": "ok", "metadata": "not an object"}, "memories[1].metadata"),
        ({"content": "ok", "metadata": {"big": "x" * 20_000}}, "memories[1].metadata"),
        ({"content": "ok", "kind": "rumour"}, "memories[1].kind"),
        (
            {"content": "ok", "valid_from": "2026-02-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z"},
            "memories[1]",
        ),
        ({"content": "ok", "supersedes": [999]}, "memories[1].supersedes[0]"),
    ],
)
def test_a_bad_item_names_its_field_and_stores_nothing(mclient, memory: dict, field: str) -> None:  # type: ignore[no-untyped-def]
    response = mclient.post(
        f"{API}/memory/agents/strict/memories", json={"memories": [{"content": "fine"}, memory]}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    assert mclient.get(f"{API}/agents/strict").status_code == 404  # not even the agent


def test_batch_limits(mclient) -> None:  # type: ignore[no-untyped-def]
    too_many = [{"content": f"m{i}"} for i in range(1001)]
    response = mclient.post(f"{API}/memory/agents/a/memories", json={"memories": too_many})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "memories"
    assert mclient.post(f"{API}/memory/agents/a/memories", json={"memories": []}).status_code == 422
    body = write(mclient, "a", *[{"content": f"note number {i}"} for i in range(1000)])
    assert len(body["items"]) == 1000


def test_bad_agent_name_and_unknown_memory(mclient) -> None:  # type: ignore[no-untyped-def]
    response = mclient.post(f"{API}/memory/agents/{'x' * 70}/memories", json={"memories": [{"content": "a"}]})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "agent_id"
    for method, path in [
        ("GET", "/memory/424242"),
        ("PATCH", "/memory/424242"),
        ("DELETE", "/memory/424242"),
    ]:
        got = mclient.request(method, f"{API}{path}", json={} if method == "PATCH" else None)
        assert got.status_code == 404, (method, got.text)
    assert mclient.get(f"{API}/memory/agents/nobody").status_code == 404


def test_patch_changes_fields_and_reindexes(mclient) -> None:  # type: ignore[no-untyped-def]
    memory = write(mclient, "p", {"content": "the moon is made of cheese"})["items"][0]
    changed = mclient.patch(
        f"{API}/memory/{memory['id']}",
        json={"content": "volatility clusters after shocks", "importance": 0.9},
    )
    assert changed.status_code == 200 and changed.json()["importance"] == 0.9
    hits = mclient.get(f"{API}/memory/search", params={"q": "volatility", "agent_id": "p"}).json()["items"]
    assert [h["memory"]["id"] for h in hits] == [memory["id"]]
    assert mclient.get(f"{API}/memory/search", params={"q": "cheese", "agent_id": "p"}).json()["items"] == []
    bad = mclient.patch(f"{API}/memory/{memory['id']}", json={"valid_until": "2000-01-01T00:00:00Z"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "valid_until"
    assert mclient.patch(f"{API}/memory/{memory['id']}", json={"importance": 2}).status_code == 422


def test_soft_delete_restore_and_purge(mclient) -> None:  # type: ignore[no-untyped-def]
    first, second = write(
        mclient,
        "d",
        {
            "content": "TSLA deliveries fell",
            "triples": [{"subject": "TSLA", "predicate": "reported", "object": "deliveries"}],
        },
        {"content": "rates stay high"},
    )["items"]
    deleted = mclient.delete(f"{API}/memory/{first['id']}")
    assert deleted.status_code == 200 and deleted.json()["memory_count"] == 1
    assert mclient.get(f"{API}/memory/search", params={"q": "TSLA deliveries"}).json()["items"] == []
    graph = mclient.get(f"{API}/memory/agents/d/graph").json()
    assert graph["nodes"] == [] and graph["edges"] == []
    listed = mclient.get(f"{API}/memory/agents/d/memories", params={"deleted": True}).json()
    assert [m["id"] for m in listed["items"]] == [first["id"]]
    restored = mclient.post(f"{API}/memory/{first['id']}/restore")
    assert restored.status_code == 200 and restored.json()["deleted_at"] is None
    assert len(mclient.get(f"{API}/memory/agents/d/graph").json()["edges"]) == 1
    # Purged once the restore period is over: gone with its graph.
    mclient.delete(f"{API}/memory/{first['id']}")
    context = mclient.app.state.helios
    context.memory.purge_after_days = 0
    purged = mclient.post(f"{API}/memory/purge").json()
    assert purged["purged"] == 1 and purged["relations_removed"] == 1 and purged["entities_removed"] >= 2
    assert mclient.get(f"{API}/memory/{first['id']}").status_code == 404
    assert mclient.post(f"{API}/memory/{first['id']}/restore").status_code == 404
    assert mclient.get(f"{API}/memory/{second['id']}").status_code == 200


def test_agent_crud_and_delete_takes_its_memories_restorably(mclient) -> None:  # type: ignore[no-untyped-def]
    created = mclient.post(
        f"{API}/agents",
        json={
            "name": "trader",
            "description": "watches tech",
            "models": ["m1"],
            "watches": [{"dataset": "stocks", "tickers": ["AAPL"]}],
        },
    )
    assert created.status_code == 201, created.text
    assert mclient.post(f"{API}/agents", json={"name": "trader"}).status_code == 409
    assert mclient.post(f"{API}/agents", json={"name": "bad name!"}).status_code == 422
    patched = mclient.patch(f"{API}/agents/trader", json={"description": "watches everything"})
    assert patched.json()["description"] == "watches everything"
    write(mclient, "trader", {"content": "one"}, {"content": "two"})
    listed = mclient.get(f"{API}/agents").json()
    assert listed["total"] == 1 and listed["items"][0]["memory_count"] == 2
    gone = mclient.delete(f"{API}/agents/trader").json()
    assert gone["memories_deleted"] == 2
    assert mclient.get(f"{API}/agents/trader").status_code == 404
    assert (
        mclient.post(
            f"{API}/memory/agents/trader/memories", json={"memories": [{"content": "x"}]}
        ).status_code
        == 409
    )
    back = mclient.post(f"{API}/agents/trader/restore")
    assert back.status_code == 200 and back.json()["memory_count"] == 2


def test_agent_detail_pages_by_time_and_strength_with_graph_and_timeline(mclient) -> None:  # type: ignore[no-untyped-def]
    days = ["2026-11-01T09:00:00Z", "2026-11-01T15:00:00Z", "2026-11-03T09:00:00Z"]
    items = write(
        mclient,
        "t",
        *[
            {
                "content": f"Acme Corp memo {i}",
                "importance": imp,
                "valid_from": day,
                "triples": [{"subject": "Acme Corp", "predicate": "issued", "object": f"memo {i}"}],
            }
            for i, (imp, day) in enumerate(zip([0.2, 0.9, 0.5], days, strict=True))
        ],
    )["items"]
    page = mclient.get(f"{API}/memory/agents/t", params={"limit": 2}).json()
    assert [m["id"] for m in page["memories"]["items"]] == [items[2]["id"], items[1]["id"]]
    rest = mclient.get(
        f"{API}/memory/agents/t/memories", params={"limit": 2, "cursor": page["memories"]["next_cursor"]}
    )
    assert [m["id"] for m in rest.json()["items"]] == [items[0]["id"]]
    strong = mclient.get(f"{API}/memory/agents/t/memories", params={"order": "strength", "limit": 2}).json()
    assert [m["importance"] for m in strong["items"]] == [0.9, 0.5]
    tail = mclient.get(
        f"{API}/memory/agents/t/memories",
        params={"order": "strength", "limit": 2, "cursor": strong["next_cursor"]},
    ).json()
    assert [m["importance"] for m in tail["items"]] == [0.2] and tail["next_cursor"] is None
    assert mclient.get(f"{API}/memory/agents/t/memories", params={"cursor": "junk"}).status_code == 422
    assert [(d["day"], d["count"]) for d in page["timeline"]] == [("2026-11-03", 1), ("2026-11-01", 2)]
    graph = page["graph"]
    acme = next(n for n in graph["nodes"] if n["name"] == "Acme Corp")
    assert len(acme["memory_ids"]) == 3 and len(graph["edges"]) == 3
    summaries = mclient.get(f"{API}/memory/agents").json()["items"]
    assert summaries[0]["agent"] == "t" and summaries[0]["memory_count"] == 3


def test_graph_as_of_shows_what_was_believed_then(mclient) -> None:  # type: ignore[no-untyped-def]
    # Both facts are dated in the past of whatever day the test runs: Bill valid from 300 days ago
    # until Peter replaced him 100 days ago. (Fixed dates, 2026-01-01 and 2026-06-01, left the
    # outcome to the calendar: before June 2026 Bill would still have been the CEO now.)
    today = dt.datetime.now(dt.UTC).date()
    bill_from, peter_from = today - dt.timedelta(days=300), today - dt.timedelta(days=100)
    old = write(
        mclient,
        "h",
        {
            "content": "CEO of Initech is Bill",
            "valid_from": f"{bill_from}T00:00:00Z",
            "triples": [
                {"subject": "Initech", "predicate": "ceo", "object": "Bill", "object_type": "person"}
            ],
        },
    )["items"][0]
    write(
        mclient,
        "h",
        {
            "content": "CEO of Initech is Peter",
            "valid_from": f"{peter_from}T00:00:00Z",
            "supersedes": [old["id"]],
            "triples": [
                {"subject": "Initech", "predicate": "ceo", "object": "Peter", "object_type": "person"}
            ],
        },
    )

    def ceo(params: dict) -> set[str]:  # type: ignore[type-arg]
        graph = mclient.get(f"{API}/memory/agents/h/graph", params=params).json()
        names = {n["id"]: n["name"] for n in graph["nodes"]}
        return {names[e["target"]] for e in graph["edges"] if e["predicate"] == "ceo"}

    assert ceo({}) == {"Peter"}
    # Both were recorded just now; "as of" now, after both were recorded and after Bill's validity
    # ended (when Peter's began), the agent believes Peter.
    now = dt.datetime.now(dt.UTC)
    assert ceo({"as_of": now.isoformat()}) == {"Peter"}
    old_now = mclient.get(f"{API}/memory/{old['id']}").json()
    assert old_now["valid_until"].startswith(str(peter_from)) and old_now["superseded_by"] is not None


def test_search_ranks_replacement_above_superseded_and_explains(mclient) -> None:  # type: ignore[no-untyped-def]
    old = write(mclient, "s", {"content": "The risk limit for NVDA is 5 percent", "importance": 0.9})[
        "items"
    ][0]
    new = write(
        mclient,
        "s",
        {"content": "The risk limit for NVDA is 2 percent", "importance": 0.3, "supersedes": [old["id"]]},
    )["items"][0]
    write(mclient, "s", {"content": "unrelated note about weather"})
    hits = mclient.get(f"{API}/memory/search", params={"q": "risk limit NVDA", "agent_id": "s"}).json()[
        "items"
    ]
    assert [h["memory"]["id"] for h in hits[:2]] == [new["id"], old["id"]]
    assert hits[1]["why"]["superseded"] is True and hits[0]["why"]["superseded"] is False
    assert {"risk", "limit", "nvda"} <= set(hits[0]["why"]["terms"])
    assert hits[0]["why"]["semantic"] is not None
    assert set(hits[0]) == {"memory", "score", "strength", "why"}
    assert mclient.get(f"{API}/memory/{new['id']}").json()["access_count"] == 1  # reads reinforce
    assert mclient.get(f"{API}/memory/search", params={"q": ""}).json()["items"] == []
    assert mclient.get(f"{API}/memory/search", params={"q": "x", "k": 101}).status_code == 422


def test_forget_dry_run_review_apply_and_undo(mclient) -> None:  # type: ignore[no-untyped-def]
    items = write(
        mclient,
        "f",
        *[{"content": f"episode {i}", "kind": "episode"} for i in range(3)],
        {"content": "a lasting fact", "kind": "fact"},
    )["items"]
    rule = {"kinds": ["episode"]}
    dry = mclient.post(f"{API}/memory/agents/f/forget", json={"rule": rule}).json()
    assert dry["dry_run"] is True and dry["count"] == 3 and dry["deletion_id"] is None
    assert mclient.get(f"{API}/agents/f").json()["memory_count"] == 4  # a dry run changes nothing
    keep = items[0]["id"]
    reviewed = [m["id"] for m in dry["items"] if m["id"] != keep]
    applied = mclient.post(
        f"{API}/memory/agents/f/forget", json={"rule": rule, "dry_run": False, "memory_ids": reviewed}
    ).json()
    assert applied["count"] == 2 and applied["deletion_id"]
    assert mclient.get(f"{API}/agents/f").json()["memory_count"] == 2
    stale = mclient.post(
        f"{API}/memory/agents/f/forget",
        json={"rule": {"kinds": ["fact"]}, "dry_run": False, "memory_ids": [keep]},
    )
    assert stale.status_code == 422 and stale.json()["errors"][0]["field"] == "memory_ids[0]"
    assert mclient.post(f"{API}/memory/agents/f/forget", json={"rule": {}}).status_code == 422
    history = mclient.get(f"{API}/memory/agents/f/deletions").json()["items"]
    assert history[0]["reason"] == "forget" and history[0]["rule"] == rule
    undone = mclient.post(f"{API}/memory/deletions/{applied['deletion_id']}/undo").json()
    assert undone["restored"] == 2
    assert mclient.get(f"{API}/agents/f").json()["memory_count"] == 4
    assert mclient.post(f"{API}/memory/deletions/{applied['deletion_id']}/undo").status_code == 409


def test_search_embeds_the_query_without_holding_the_write_lock(mclient) -> None:  # type: ignore[no-untyped-def]
    """Reads are recorded after the search, in their own short transaction: while the model embeds
    the query another writer gets SQLite's lock at once (first-use model loading takes seconds)."""
    import sqlite3

    context = mclient.app.state.helios
    write(mclient, "desk", {"content": "NOVA guidance raised"})
    inner = context.memory.embedder
    free: list[bool] = []

    class LockProbe:
        name, dim, min_similarity = inner.name, inner.dim, inner.min_similarity

        def embed(self, texts):  # type: ignore[no-untyped-def]
            if context.db.dialect == "sqlite":
                # A background writer (the event bus, a scheduler's lease) may hold the lock for a moment;
                # the search itself would hold it for as long as this embed call blocks, so a short wait
                # tells the two apart.
                probe = sqlite3.connect(context.db.write_engine.url.database, timeout=2, isolation_level=None)
                try:
                    probe.execute("BEGIN IMMEDIATE")
                    probe.execute("ROLLBACK")
                    free.append(True)
                except sqlite3.OperationalError:
                    free.append(False)
                finally:
                    probe.close()
            return inner.embed(texts)

    context.memory.embedder = LockProbe()
    found = mclient.get("/api/v1/memory/search", params={"q": "NOVA guidance", "agent_id": "desk"})
    assert found.status_code == 200 and found.json()["items"][0]["memory"]["access_count"] == 0
    assert False not in free
    listed = mclient.get("/api/v1/memory/agents/desk").json()
    assert listed["memories"]["items"][0]["access_count"] == 1  # the read was still recorded
