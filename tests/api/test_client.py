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
    assert [d["name"] for d in hx.datasets.list()] == ["prices"]
    assert hx.datasets.get("prices")["description"] == "test prices"
    frame = hx.datasets.frame("prices", series=["A"])
    assert frame["y"].tolist() == [1.0, 2.0] and str(frame["ds"].dtype).startswith("datetime64")
    assert hx.health()["status"] == "ok"
    hx.datasets.delete("prices")
    assert hx.datasets.list() == []


def test_client_raises_problem_details(hx: Helios, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("unique_id,ds\nA,2024-01-01\n")
    with pytest.raises(HeliosAPIError) as caught:
        hx.datasets.import_file(bad, name="bad")
    assert caught.value.status == 422 and "y" in caught.value.detail
    with pytest.raises(HeliosAPIError) as missing:
        hx.datasets.get("ghost")
    assert missing.value.status == 404
