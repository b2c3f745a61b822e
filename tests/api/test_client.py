"""The Python client against a real in-process app: same calls a user makes over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from helios.client import Helios, HeliosAPIError


@pytest.fixture
def hx(client):  # type: ignore[no-untyped-def]
    # TestClient is an httpx.Client over the ASGI app: borrow its transport.
    with Helios("http://testserver", transport=client._transport) as helios:
        yield helios


def test_client_imports_lists_and_reads_frames(hx: Helios, tmp_path: Path) -> None:
    csv = tmp_path / "p.csv"
    csv.write_text("unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-02,2\nB,2024-01-01,3\n")
    result = hx.datasets.import_file(csv, name="prices", description="test prices")
    assert result["created"] and result["version"]["rows"] == 3
    assert hx.datasets.list()["name"].tolist() == ["prices"]
    assert hx.datasets.get("prices")["description"] == "test prices"
    frame = hx.datasets.frame("prices", series=["A"])
    assert frame["y"].tolist() == [1.0, 2.0] and str(frame["ds"].dtype).startswith("datetime64")
    assert hx.health()["status"] == "ok"
    hx.datasets.delete("prices")
    assert hx.datasets.list().empty


def test_iterate_follows_cursors_across_pages(hx: Helios, tmp_path: Path) -> None:
    csv = tmp_path / "p.csv"
    for i in range(5):
        csv.write_text(f"unique_id,ds,y\nA,2024-01-01,{i}\n")
        hx.datasets.import_file(csv, name=f"set-{i}")
    seen = [d["name"] for d in hx.iterate("/datasets", page_size=2)]
    assert seen == [f"set-{i}" for i in range(5)]
    assert hx.datasets.list()["name"].tolist() == seen
    with pytest.raises(HeliosAPIError) as bad:
        hx.get("/datasets", params={"cursor": "bm90LWEtY3Vyc29y"})
    assert bad.value.status == 422 and bad.value.errors[0]["field"] == "cursor"


def test_client_raises_problem_details(hx: Helios, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("unique_id,ds\nA,2024-01-01\n")
    with pytest.raises(HeliosAPIError) as caught:
        hx.datasets.import_file(bad, name="bad")
    assert caught.value.status == 422 and "y" in caught.value.detail
    with pytest.raises(HeliosAPIError) as missing:
        hx.datasets.get("ghost")
    assert missing.value.status == 404


def test_client_trains_registers_and_deploys(hx: Helios, client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from helios.training.runner import run_job
    from helios.training.workers import claim_next

    csv = tmp_path / "p.csv"
    csv.write_text(
        "unique_id,ds,y\n" + "".join(f"A,2024-01-{d:02d},{10 + d % 5 + d * 0.3}\n" for d in range(1, 31))
    )
    hx.datasets.import_file(csv, name="prices")
    assert "drift" in hx.training.families()["slug"].tolist()
    job = hx.training.train("prices", "drift", validation={"horizon": 5}, target_model="prices-drift")
    context = client.app.state.helios
    run_job(context, claim_next(context, "test"))
    done = hx.training.wait(job["id"], timeout=30)
    assert done["status"] == "succeeded" and done["result_version"] == 1
    assert hx.training.journal(job["id"])["message"].iloc[-1].startswith("succeeded")
    hx.models.deploy("prices-drift", 1, note="first")
    assert hx.models.get("prices-drift")["active_version"] == 1
    forecast = hx.models.predict("prices-drift", 3)
    assert len(forecast) == 3
    assert hx.models.list(kind="ml")["name"].tolist() == ["prices-drift"]
    with pytest.raises(HeliosAPIError) as caught:
        hx.models.rollback("prices-drift")
    assert caught.value.status == 409
