"""Column mapping: natural headers and wide files become the long format; bad mappings name the field."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helios.core.errors import InvalidInput
from helios.datasets.column_mapping import ColumnMapping
from helios.datasets.importers import ImportOptions, parse_upload

NATURAL = b"date,ticker,close\n2024-01-01,NOVA,1\n2024-01-02,NOVA,2\n2024-01-01,ORBI,3\n"
WIDE = b"date,NOVA,ORBI\n2024-01-01,1,\n2024-01-02,2,4\n2024-01-03,3,5\n"


def parse(raw: bytes, **mapping: object):  # type: ignore[no-untyped-def]
    return parse_upload(raw, ImportOptions(mapping=ColumnMapping(**mapping)), max_bytes=10**6)


def test_natural_headers_map_to_unique_id_ds_and_y() -> None:
    frame = parse(NATURAL, date_col="date", id_col="ticker", value_col="close").frame
    assert list(frame.columns) == ["unique_id", "ds", "y"]
    assert frame["unique_id"].tolist() == ["NOVA", "NOVA", "ORBI"]
    assert frame["y"].tolist() == [1.0, 2.0, 3.0]
    assert frame["ds"].iloc[1] == pd.Timestamp("2024-01-02")


def test_mapping_matches_names_ignoring_case_and_spaces() -> None:
    frame = parse(NATURAL, date_col=" DATE ", id_col="Ticker", value_col="close").frame
    assert len(frame) == 3


def test_without_mapping_the_error_lists_the_columns_and_the_mapping_options() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(NATURAL)
    detail = caught.value.detail
    assert "'date', 'ticker', 'close'" in detail
    assert "date_col" in detail and "id_col" in detail and "value_col" in detail and "--date-col" in detail


def test_a_wide_header_is_recognised_in_the_error() -> None:
    with pytest.raises(InvalidInput, match="looks like a wide file.*--wide --date-col 'date'"):
        parse(WIDE)


def test_a_wide_file_melts_into_one_series_per_column_skipping_empty_cells() -> None:
    parsed = parse(WIDE, wide=True, date_col="date")
    frame = parsed.frame
    assert frame.groupby("unique_id")["y"].apply(list).to_dict() == {
        "NOVA": [1.0, 2.0, 3.0],
        "ORBI": [4.0, 5.0],
    }
    assert any("1 empty cells were skipped" in note for note in parsed.notes)


def test_a_wide_file_finds_its_date_column_without_being_told() -> None:
    assert parse(WIDE, wide=True).frame["unique_id"].nunique() == 2


def test_a_bad_value_in_a_wide_file_names_its_line() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(WIDE.replace(b"2024-01-03,3,5", b"2024-01-03,x,5"), wide=True)
    assert caught.value.errors[0]["row"] == 4 and "'x' is not a number" in caught.value.errors[0]["message"]


def test_a_wide_parquet_file_melts_too() -> None:
    buffer = io.BytesIO()
    frame = pd.DataFrame(
        {"day": pd.to_datetime(["2024-01-01", "2024-01-02"]), "A": [1.0, 2.0], "B": [3.0, None]}
    )
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    melted = parse(buffer.getvalue(), wide=True, date_col="day").frame
    assert melted["unique_id"].tolist() == ["A", "A", "B"]


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        ({"date_col": "when"}, "date_col"),
        ({"date_col": "date", "id_col": "ticker", "value_col": "price"}, "value_col"),
        ({"date_col": "date", "id_col": "date", "value_col": "close"}, "id_col"),
        ({"wide": True, "value_col": "close"}, "value_col"),
    ],
)
def test_a_bad_mapping_names_the_field(mapping: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(NATURAL, **mapping)
    assert caught.value.errors[0]["field"] == field
    assert field in caught.value.detail


def test_renaming_onto_an_existing_column_is_refused() -> None:
    with pytest.raises(InvalidInput, match="already has a column 'y'"):
        parse(b"date,y,close\n2024-01-01,1,2\n", date_col="date", value_col="close")


def test_mapping_does_not_apply_to_draws() -> None:
    with pytest.raises(InvalidInput, match="Column mapping"):
        parse_upload(
            NATURAL,
            ImportOptions(kind="draws", game="powerball", mapping=ColumnMapping(date_col="date")),
            max_bytes=10**6,
        )
