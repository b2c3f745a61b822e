"""A dataset version out again, as the file people use elsewhere: CSV (re-importable as it is) or the
stored Parquet. Both stream: CSV is written batch by batch, Parquet is the stored file read in chunks."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from helios.core.artifacts import ArtifactStore
from helios.datasets.service import get_version

ExportFormat = Literal["csv", "parquet"]
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
CHUNK = 1 << 20
CSV_BATCH_ROWS = 50_000


@dataclass(frozen=True)
class Export:
    filename: str
    media_type: str
    chunks: Iterator[bytes]


def export_version(
    session: Session, store: ArtifactStore, name: str, version: int | str, fmt: ExportFormat
) -> Export:
    """The version's rows as ``fmt``; the file is opened now, so a missing version fails before streaming."""
    row = get_version(session, name, version)
    path = store.resolve(row.artifact_key)
    filename = f"{name}-v{row.version}.{fmt}"
    chunks = _parquet_chunks(path) if fmt == "parquet" else _csv_chunks(pq.ParquetFile(path))
    return Export(filename, MEDIA_TYPES[fmt], chunks)


def _parquet_chunks(path) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _csv_chunks(source: pq.ParquetFile) -> Iterator[bytes]:
    dates_only = _dates_only(source)
    # Canonical names never need quoting; written as people write a header.
    yield (",".join(source.schema_arrow.names) + "\n").encode()
    for batch in source.iter_batches(batch_size=CSV_BATCH_ROWS):
        buffer = io.BytesIO()
        table = _readable(pa.Table.from_batches([batch]), dates_only)
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        yield buffer.getvalue()


def _dates_only(source: pq.ParquetFile) -> bool:
    """Daily (or coarser) data is written as YYYY-MM-DD, as people write it; otherwise ISO date-times."""
    if "ds" not in source.schema_arrow.names:
        return False
    stamps = source.read(columns=["ds"]).column("ds")
    return bool(pc.all(pc.equal(pc.floor_temporal(stamps, unit="day"), stamps)).as_py() in (True, None))


def _readable(table: pa.Table, dates_only: bool) -> pa.Table:
    if "ds" not in table.column_names or not pa.types.is_timestamp(table.schema.field("ds").type):
        return table
    fmt = "%Y-%m-%d" if dates_only else "%Y-%m-%dT%H:%M:%S"
    index = table.column_names.index("ds")
    return table.set_column(index, "ds", pc.strftime(table.column("ds"), format=fmt))
