"""Hostile uploads (issue 9): a Parquet decompression bomb is refused from its footer, a header with
a million columns is refused before it is parsed, and errors stay short whatever the file."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helios.core.errors import InvalidInput
from helios.datasets.importers import ImportOptions, parse_upload
from helios.datasets.tabular import MAX_LISTED_PROBLEMS

LIMIT = 5 * 1024 * 1024


def parquet(table: pa.Table, **options) -> bytes:  # type: ignore[no-untyped-def]
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", **options)
    return sink.getvalue()


def constant_rows(rows: int) -> bytes:
    """Rows of one repeated value compress to almost nothing: the shape of the bomb in the issue."""
    batch = pa.table(
        {
            "unique_id": pa.array(["A"] * 100_000),
            "ds": pa.array([0] * 100_000, pa.timestamp("ns")),
            "y": pa.array([1.0] * 100_000),
        }
    )
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, batch.schema, compression="zstd") as writer:
        for _ in range(rows // 100_000):
            writer.write_table(batch)
    return sink.getvalue()


def test_parquet_claiming_more_rows_than_allowed_is_refused_from_its_footer() -> None:
    bomb = constant_rows(3_000_000)
    assert len(bomb) < 200_000
    with pytest.raises(InvalidInput) as refused:
        parse_upload(bomb, ImportOptions(), max_bytes=LIMIT, max_rows=1_000_000)
    assert "3,000,000 rows" in refused.value.detail and "HELIOS_MAX_IMPORT_ROWS" in refused.value.detail


def test_parquet_that_would_expand_beyond_reason_is_refused() -> None:
    wide_text = pa.table({"unique_id": ["x" * 1_000_000] * 20, "ds": list(range(20)), "y": [1.0] * 20})
    bomb = parquet(wide_text, use_dictionary=False)
    assert len(bomb) < 100_000
    with pytest.raises(InvalidInput) as refused:
        parse_upload(bomb, ImportOptions(), max_bytes=LIMIT)
    assert "decompression bomb" in refused.value.detail


def test_parquet_within_the_limits_still_imports() -> None:
    rows = 200_000
    table = pa.table(
        {
            "unique_id": ["A"] * rows,
            "ds": pa.array(range(0, rows * 60_000_000_000, 60_000_000_000), pa.timestamp("ns")),
            "y": [1.0] * rows,
        }
    )
    parsed = parse_upload(parquet(table), ImportOptions(), max_bytes=LIMIT, max_rows=rows)
    assert len(parsed.frame) == rows


def test_csv_over_the_row_limit_is_refused() -> None:
    raw = b"unique_id,ds,y\n" + b"A,2024-01-01,1\n" * 1001
    with pytest.raises(InvalidInput) as refused:
        parse_upload(raw, ImportOptions(), max_bytes=LIMIT, max_rows=1000)
    assert "at most 1,000" in refused.value.detail


def test_a_million_columns_are_refused_with_a_short_error() -> None:
    header = ",".join(["a"] * 1_000_000).encode()
    with pytest.raises(InvalidInput) as refused:
        parse_upload(header + b"\n" + b"1," * 999_999 + b"1\n", ImportOptions(), max_bytes=LIMIT)
    assert "1,000,000 columns" in refused.value.detail
    assert len(refused.value.detail) < 500 and len(refused.value.errors) <= MAX_LISTED_PROBLEMS


def test_many_unknown_columns_are_named_a_few_then_counted() -> None:
    names = ",".join(f"extra{i}" for i in range(500))
    raw = f"unique_id,ds,y,{names}\nA,2024-01-01,1{',0' * 500}\n".encode()
    with pytest.raises(InvalidInput) as refused:
        parse_upload(raw, ImportOptions(), max_bytes=LIMIT)
    detail = refused.value.detail
    assert "500 column(s)" in detail and "'extra0'" in detail and "and 495 more" in detail
    assert "extra499" not in detail
    assert len(refused.value.errors) == MAX_LISTED_PROBLEMS


def test_a_million_column_upload_gets_a_small_problem_over_the_api(client) -> None:  # type: ignore[no-untyped-def]
    header = ",".join(["a"] * 1_000_000).encode()
    response = client.post(
        "/api/v1/datasets", data={"name": "wide"}, files={"file": ("w.csv", io.BytesIO(header + b"\n"))}
    )
    assert response.status_code == 422
    assert len(response.content) < 5_000
