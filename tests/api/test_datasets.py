"""The datasets API end to end: upload, versions, data pages, errors as problem+json, delete."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from sqlalchemy import func, select

from helios.datasets.tables import DatasetVersion

CSV = (
    "unique_id,ds,y\n"
    "AAPL,2024-01-01,10\nAAPL,2024-01-02,11\nAAPL,2024-01-03,12\nAAPL,2024-01-04,13\n"
    "MSFT,2024-01-01,20\nMSFT,2024-01-02,21\nMSFT,2024-01-03,22\nMSFT,2024-01-04,23\n"
)


def upload(client, name="prices", content=CSV.encode(), filename="prices.csv", **form):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/datasets", data={"name": name, **form}, files={"file": (filename, io.BytesIO(content))}
    )


def version_count(client) -> int:  # type: ignore[no-untyped-def]
    with client.app.state.helios.db.reading() as session:
        return session.scalar(select(func.count(DatasetVersion.id)))


def test_upload_creates_a_version_with_its_profile(client) -> None:  # type: ignore[no-untyped-def]
    response = upload(client)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["created"] is True
    version = body["version"]
    assert (version["version"], version["rows"], version["series_count"]) == (1, 8, 2)
    assert version["start"].startswith("2024-01-01") and version["end"].startswith("2024-01-04")
    assert len(version["content_hash"]) == 64
    assert version["source_filename"] == "prices.csv"
    listed = client.get("/api/v1/datasets").json()["items"]
    assert [d["name"] for d in listed] == ["prices"] and listed[0]["version_count"] == 1


def test_identical_content_returns_the_existing_version(client) -> None:  # type: ignore[no-untyped-def]
    first = upload(client).json()["version"]
    reordered = "unique_id,ds,y\n" + "\n".join(reversed(CSV.strip().splitlines()[1:])) + "\n"
    again = upload(client, content=reordered.encode(), filename="other.csv")
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["version"]["version"] == first["version"]
    assert version_count(client) == 1


def test_new_content_makes_the_next_version(client) -> None:  # type: ignore[no-untyped-def]
    upload(client)
    response = upload(client, content=(CSV + "AAPL,2024-01-05,14\n").encode())
    assert response.status_code == 201
    assert response.json()["version"]["version"] == 2
    versions = client.get("/api/v1/datasets/prices/versions").json()["items"]
    assert [v["version"] for v in versions] == [2, 1]


def test_lists_page_with_cursors(client) -> None:  # type: ignore[no-untyped-def]
    for name in ("c-set", "a-set", "b-set"):
        upload(client, name=name)
    upload(client, name="a-set", content=(CSV + "AAPL,2024-01-05,14\n").encode())
    first = client.get("/api/v1/datasets", params={"limit": 2}).json()
    assert [d["name"] for d in first["items"]] == ["a-set", "b-set"] and first["next_cursor"]
    rest = client.get("/api/v1/datasets", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [d["name"] for d in rest["items"]] == ["c-set"] and rest["next_cursor"] is None
    page = client.get("/api/v1/datasets/a-set/versions", params={"limit": 1}).json()
    assert [v["version"] for v in page["items"]] == [2] and page["total"] == 2
    after = client.get("/api/v1/datasets/a-set/versions", params={"cursor": page["next_cursor"]}).json()
    assert [v["version"] for v in after["items"]] == [1] and after["next_cursor"] is None


def test_a_cursor_from_another_list_is_a_422_naming_cursor(client) -> None:  # type: ignore[no-untyped-def]
    upload(client, name="a-set")
    upload(client, name="b-set")
    cursor = client.get("/api/v1/datasets", params={"limit": 1}).json()["next_cursor"]
    response = client.get("/api/v1/datasets/a-set/versions", params={"cursor": cursor})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "cursor"
    assert client.get("/api/v1/datasets", params={"limit": 0}).status_code == 422


def test_parquet_upload_of_the_same_data_is_the_same_version(client) -> None:  # type: ignore[no-untyped-def]
    upload(client)
    frame = pd.read_csv(io.StringIO(CSV), parse_dates=["ds"])
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    response = upload(client, content=buffer.getvalue(), filename="prices.parquet")
    assert response.status_code == 200 and response.json()["created"] is False


def test_data_pages_filter_by_series_and_dates(client) -> None:  # type: ignore[no-untyped-def]
    upload(client)
    page = client.get(
        "/api/v1/datasets/prices/versions/1/data",
        params={"series": "MSFT", "start": "2024-01-02", "limit": 2},
    ).json()
    assert page["columns"][:3] == ["unique_id", "ds", "y"]
    assert page["total"] == 3 and page["next_offset"] == 2
    assert [row[2] for row in page["rows"]] == [21.0, 22.0]
    rest = client.get(
        "/api/v1/datasets/prices/versions/latest/data",
        params={"series": "MSFT", "start": "2024-01-02", "limit": 2, "offset": 2},
    ).json()
    assert [row[2] for row in rest["rows"]] == [23.0] and rest["next_offset"] is None
    ranged = client.get(
        "/api/v1/datasets/prices/versions/1/data", params={"end": "2024-01-02", "limit": 100}
    ).json()
    assert ranged["total"] == 4


BAD_FILES = [
    ("missing column", b"unique_id,ds\nA,2024-01-01\n", "y"),
    ("extra column", b"unique_id,ds,y,colour\nA,2024-01-01,1,red\n", "colour"),
    ("bad date", b"unique_id,ds,y\nA,2024-01-01,1\nA,not-a-date,2\n", "ds"),
    ("duplicate", b"unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-01,2\n", "twice"),
    ("non numeric", b"unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-02,abc\n", "abc"),
    ("empty", b"", "empty"),
    ("header only", b"unique_id,ds,y\n", "no data rows"),
    ("binary", b"\x00\x01\x02\xff\xfe" * 50, ""),
    ("latin-1", "unique_id,ds,y\nZürich,2024-01-01,1\n".encode("latin-1"), "UTF-8"),
]


@pytest.mark.parametrize(("label", "content", "mentions"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_refused_with_a_clear_problem(client, label, content, mentions) -> None:  # type: ignore[no-untyped-def]
    response = upload(client, content=content)
    assert response.status_code in (400, 413, 415, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["detail"]
    assert mentions.lower() in (problem["detail"] + str(problem.get("errors", ""))).lower()
    assert version_count(client) == 0
    assert client.get("/api/v1/datasets").json()["items"] == []


def test_bad_row_is_named(client) -> None:  # type: ignore[no-untyped-def]
    response = upload(client, content=b"unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-02,oops\n")
    errors = response.json()["errors"]
    assert any(e.get("row") == 3 and e.get("column") == "y" for e in errors), errors


def test_file_over_the_limit_is_413(client) -> None:  # type: ignore[no-untyped-def]
    huge = b"unique_id,ds,y\n" + b"A,2024-01-01,1\n" * 400_000  # ~6 MB > 5 MB test limit
    response = upload(client, content=huge)
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert version_count(client) == 0


@pytest.mark.parametrize("name", ["Bad Name", "../etc", "a/b", "", "-lead", "x" * 65, "naïve"])
def test_name_must_be_a_slug(client, name) -> None:  # type: ignore[no-untyped-def]
    response = upload(client, name=name)
    assert response.status_code == 422
    assert version_count(client) == 0


def test_uploaded_filename_is_never_a_path(client) -> None:  # type: ignore[no-untyped-def]
    response = upload(client, filename="../../../../tmp/evil.csv")
    assert response.status_code == 201
    store_root = client.app.state.helios.store.root
    files = [p for p in store_root.rglob("*") if p.is_file()]
    assert files and all("evil" not in str(p) for p in files)
    assert all(store_root in p.parents for p in files)


def test_unknown_dataset_version_and_route_are_404_problems(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/datasets/nope").status_code == 404
    upload(client)
    missing = client.get("/api/v1/datasets/prices/versions/9/data")
    assert missing.status_code == 404 and "version 9" in missing.json()["detail"]
    unknown = client.get("/api/v1/nothing-here")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")


def test_delete_is_soft_and_frees_the_name(client) -> None:  # type: ignore[no-untyped-def]
    upload(client)
    assert client.delete("/api/v1/datasets/prices").status_code == 204
    assert client.get("/api/v1/datasets/prices").status_code == 404
    assert version_count(client) == 1  # kept for lineage
    again = upload(client)
    assert again.status_code == 201 and again.json()["version"]["version"] == 1


def test_delete_is_refused_while_referenced(client) -> None:  # type: ignore[no-untyped-def]
    from helios.datasets import service

    def training_job_uses_it(session, dataset_id):  # type: ignore[no-untyped-def]
        return ["training job 7"]

    upload(client)
    service.register_reference_check(training_job_uses_it)
    try:
        response = client.delete("/api/v1/datasets/prices")
    finally:
        service._reference_checks.remove(training_job_uses_it)
    assert response.status_code == 409 and "training job 7" in response.json()["detail"]
    assert client.get("/api/v1/datasets/prices").status_code == 200


def test_draws_import_with_preset_rules(client) -> None:  # type: ignore[no-untyped-def]
    content = b"ds,n1,n2,n3,n4,n5,bonus\n2024-01-01,1,2,3,4,69,26\n2024-01-03,5,6,7,8,9,1\n"
    response = upload(client, name="draws", content=content, kind="draws", game="powerball")
    assert response.status_code == 201, response.text
    assert response.json()["version"]["rules"]["name"] == "powerball"
    bad = upload(
        client,
        name="draws",
        kind="draws",
        game="powerball",
        content=b"ds,n1,n2,n3,n4,n5,bonus\n2024-01-01,1,2,3,4,70,26\n",
    )
    assert bad.status_code == 422 and "70" in bad.text
    assert version_count(client) == 1


def test_health(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok" and body["database"] in ("sqlite", "postgresql")


NATURAL = "date,ticker,close\n2024-01-01,NOVA,1\n2024-01-02,NOVA,2\n2024-01-01,ORBI,3\n2024-01-02,ORBI,4\n"


def test_upload_with_column_mapping_accepts_natural_headers(client) -> None:  # type: ignore[no-untyped-def]
    response = upload(client, content=NATURAL.encode(), date_col="date", id_col="ticker", value_col="close")
    assert response.status_code == 201, response.text
    assert response.json()["version"]["series_count"] == 2


def test_upload_of_a_wide_file_melts_it(client) -> None:  # type: ignore[no-untyped-def]
    wide = "date,NOVA,ORBI\n2024-01-01,1,3\n2024-01-02,2,4\n"
    response = upload(client, content=wide.encode(), wide="true", date_col="date")
    assert response.status_code == 201, response.text
    assert (response.json()["version"]["rows"], response.json()["version"]["series_count"]) == (4, 2)


def test_unmapped_natural_headers_say_how_to_map_them(client) -> None:  # type: ignore[no-untyped-def]
    response = upload(client, content=NATURAL.encode())
    assert response.status_code == 422
    assert "'date', 'ticker', 'close'" in response.json()["detail"] and "id_col" in response.json()["detail"]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"date_col": "when", "id_col": "ticker", "value_col": "close"}, "date_col"),
        ({"date_col": "date", "id_col": "close", "value_col": "close"}, "value_col"),
    ],
)
def test_a_bad_mapping_is_a_422_naming_the_field_and_stores_nothing(client, form, field) -> None:  # type: ignore[no-untyped-def]
    response = upload(client, content=NATURAL.encode(), **form)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == field
    assert version_count(client) == 0
    assert client.get("/api/v1/datasets").json()["items"] == []


def test_download_a_version_as_csv_reimports_to_the_same_content(client) -> None:  # type: ignore[no-untyped-def]
    first = upload(client).json()["version"]
    response = client.get("/api/v1/datasets/prices/versions/1/download", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="prices-v1.csv"' in response.headers["content-disposition"]
    assert response.text.splitlines()[0] == "unique_id,ds,y" and '2024-01-01",10' in response.text
    again = upload(client, content=response.content, filename="prices-v1.csv")
    assert again.status_code == 200 and again.json()["version"]["content_hash"] == first["content_hash"]


def test_download_a_version_as_parquet(client) -> None:  # type: ignore[no-untyped-def]
    upload(client)
    response = client.get("/api/v1/datasets/prices/versions/latest/download", params={"format": "parquet"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    assert 'filename="prices-v1.parquet"' in response.headers["content-disposition"]
    frame = pd.read_parquet(io.BytesIO(response.content))
    assert len(frame) == 8 and list(frame.columns) == ["unique_id", "ds", "y"]


def test_download_refuses_an_unknown_format_and_version(client) -> None:  # type: ignore[no-untyped-def]
    upload(client)
    assert client.get("/api/v1/datasets/prices/versions/1/download?format=xlsx").status_code == 422
    assert client.get("/api/v1/datasets/prices/versions/9/download").status_code == 404
