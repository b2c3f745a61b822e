"""The client's dataset import with a column mapping and its download, over a real in-process app."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from helios.client import Helios, HeliosAPIError


@pytest.fixture
def hx(client):  # type: ignore[no-untyped-def]
    with Helios("http://testserver", transport=client._transport) as helios:
        yield helios


def test_client_imports_with_mapping_and_downloads(hx: Helios, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "natural.csv"
    csv.write_text("date,ticker,close\n2024-01-01,NOVA,1\n2024-01-02,NOVA,2\n2024-01-01,ORBI,3\n")
    with pytest.raises(HeliosAPIError) as refused:
        hx.datasets.import_file(csv, name="prices")
    assert refused.value.status == 422 and "value_col" in refused.value.detail
    result = hx.datasets.import_file(csv, name="prices", date_col="date", id_col="ticker", value_col="close")
    assert result["version"]["series_count"] == 2
    wide = tmp_path / "wide.csv"
    wide.write_text("date,NOVA,ORBI\n2024-01-01,1,3\n2024-01-02,2,4\n")
    assert hx.datasets.import_file(wide, name="wide", wide=True, date_col="date")["version"]["rows"] == 4

    written = hx.datasets.download("prices", 1, format="csv", output=tmp_path / "out.csv")
    assert pd.read_csv(written)["unique_id"].tolist() == ["NOVA", "NOVA", "ORBI"]
    monkeypatch.chdir(tmp_path)
    named = hx.datasets.download("prices", format="parquet")
    assert named == Path("prices-v1.parquet") and len(pd.read_parquet(named)) == 3
    with pytest.raises(HeliosAPIError) as missing:
        hx.datasets.download("prices", 5, output=tmp_path / "none.csv")
    assert missing.value.status == 404 and not (tmp_path / "none.csv").exists()


def test_client_bad_mapping_names_the_field(hx: Helios, tmp_path: Path) -> None:
    csv = tmp_path / "natural.csv"
    csv.write_text("date,ticker,close\n2024-01-01,NOVA,1\n")
    with pytest.raises(HeliosAPIError) as caught:
        hx.datasets.import_file(csv, name="prices", date_col="date", id_col="date", value_col="close")
    assert caught.value.problem["errors"][0]["field"] == "id_col"
    assert hx.datasets.list().empty
