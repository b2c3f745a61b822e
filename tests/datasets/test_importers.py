"""parse_upload on long-format time series: what it accepts, how it canonicalises, and how it refuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helios.core.errors import PayloadTooLarge
from helios.datasets.importers import MAX_LISTED_PROBLEMS, ImportOptions, parse_upload
from helios.datasets.profile import content_hash
from tests.datasets.samples import (
    M4_WEEKLY_TRAIN,
    parquet_bytes,
    parse,
    refusal,
    shared_file,
)

PRICES = """\
unique_id,ds,y
MSFT,2024-01-03,372.5
AAPL,2024-01-02,185.6
MSFT,2024-01-02,370.9
AAPL,2024-01-03,184.2
"""


# --- accepted files -------------------------------------------------------------------------------------


def test_a_csv_becomes_the_canonical_frame_sorted_by_series_and_date() -> None:
    parsed = parse(PRICES)
    assert parsed.kind == "timeseries" and parsed.format == "csv" and parsed.rules is None
    frame = parsed.frame
    assert list(frame.columns) == ["unique_id", "ds", "y"]
    assert frame["unique_id"].tolist() == ["AAPL", "AAPL", "MSFT", "MSFT"]
    assert frame["ds"].dt.day.tolist() == [2, 3, 2, 3]
    assert frame["y"].tolist() == [185.6, 184.2, 370.9, 372.5]
    assert str(frame["ds"].dtype) == "datetime64[ns]" and frame["y"].dtype == np.float64
    assert frame["unique_id"].dtype == object and isinstance(frame["unique_id"].iloc[0], str)
    assert isinstance(frame.index, pd.RangeIndex)


def test_column_names_are_trimmed_and_case_insensitive_and_a_bom_is_fine() -> None:
    raw = "\ufeff Unique_ID ,DS,  Y\nA,2024-01-01,1\n".encode()
    assert parse(raw).frame.columns.tolist() == ["unique_id", "ds", "y"]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_delimiters_are_detected(delimiter: str) -> None:
    parsed = parse(PRICES.replace(",", delimiter))
    pd.testing.assert_frame_equal(parsed.frame, parse(PRICES).frame)


def test_a_semicolon_file_may_use_decimal_commas() -> None:
    assert parse("ds;y\n2024-01-01;1,5\n2024-01-02;2\n").frame["y"].tolist() == [1.5, 2.0]


def test_without_unique_id_the_file_is_one_series_and_the_note_says_so() -> None:
    parsed = parse("ds,y\n2024-01-02,2\n2024-01-01,1\n")
    assert parsed.frame["unique_id"].unique().tolist() == ["series"]
    assert parsed.frame["y"].tolist() == [1.0, 2.0]
    assert any("one series named 'series'" in note for note in parsed.notes)


def test_ohlcv_columns_are_kept_in_canonical_order_and_y_defaults_to_close() -> None:
    raw = (
        "Volume,close,unique_id,ds,open,high,low\n"
        "100,10.5,X,2024-01-01,10,11,9.5\n"
        "200,11,X,2024-01-02,10.5,,\n"
    )
    frame = parse(raw).frame
    assert frame.columns.tolist() == ["unique_id", "ds", "y", "open", "high", "low", "close", "volume"]
    assert frame["y"].tolist() == frame["close"].tolist() == [10.5, 11.0]
    assert np.isnan(frame["high"].iloc[1])  # price columns may be empty; y may not


def test_windows_line_endings_and_times_of_day_are_read() -> None:
    frame = parse("ds,y\r\n2024-01-01 09:30:00,1\r\n2024-01-01 10:30:00,2\r\n").frame
    assert frame["ds"].tolist() == [pd.Timestamp("2024-01-01 09:30"), pd.Timestamp("2024-01-01 10:30")]


def test_a_decimal_comma_in_a_comma_separated_file_is_not_a_number() -> None:
    assert refusal('ds,y\n2024-01-01,"1,500"\n').errors[0]["message"] == "'1,500' is not a number"


def test_numbers_where_dates_belong_are_refused() -> None:
    refused = refusal(parquet_bytes(pd.DataFrame({"ds": [20240101, 20240102], "y": [1.0, 2.0]})))
    assert refused.errors[0]["column"] == "ds" and "not dates" in refused.errors[0]["message"]


def test_timezone_offsets_become_naive_utc_and_other_date_formats_are_inferred() -> None:
    aware = parse("ds,y\n2024-01-01T02:00:00+02:00,1\n2024-01-01T01:00:00Z,2\n").frame
    assert aware["ds"].tolist() == [pd.Timestamp("2024-01-01 00:00"), pd.Timestamp("2024-01-01 01:00")]
    us = parse("ds,y\n01/02/2024,1\n01/03/2024,2\n").frame
    assert us["ds"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]


def test_parquet_is_detected_by_its_magic_and_gives_the_same_frame_and_hash() -> None:
    from_csv = parse(PRICES)
    source = pd.read_csv(pd.io.common.StringIO(PRICES))
    source["ds"] = pd.to_datetime(source["ds"]).dt.tz_localize("Europe/Paris").dt.tz_convert("UTC")
    from_parquet = parse(parquet_bytes(source.sample(frac=1, random_state=3)))
    assert from_parquet.format == "parquet"
    pd.testing.assert_frame_equal(
        from_parquet.frame, from_csv.frame.assign(ds=from_csv.frame["ds"] - pd.Timedelta(hours=1))
    )
    again = parse(parquet_bytes(from_csv.frame.iloc[::-1]))
    pd.testing.assert_frame_equal(again.frame, from_csv.frame)
    assert content_hash(again) == content_hash(from_csv)


def test_parquet_with_int_ids_and_date_column_is_canonicalised() -> None:
    frame = pd.DataFrame({"UNIQUE_ID": [2, 1], "ds": [pd.Timestamp("2024-01-01").date()] * 2, "y": [1, 2]})
    parsed = parse(parquet_bytes(frame)).frame
    assert parsed["unique_id"].tolist() == ["1", "2"] and parsed["y"].dtype == np.float64
    assert str(parsed["ds"].dtype) == "datetime64[ns]"


# --- refused files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"  \n\r\n"])
def test_an_empty_file_is_refused(raw: bytes) -> None:
    assert "empty" in refusal(raw).detail


def test_a_header_without_rows_is_refused_naming_row_2() -> None:
    refused = refusal("unique_id,ds,y\n")
    assert "no data rows" in refused.detail and refused.errors[0]["row"] == 2


def test_a_file_over_the_limit_is_too_large() -> None:
    with pytest.raises(PayloadTooLarge, match="over the"):
        parse_upload(PRICES.encode(), ImportOptions(), max_bytes=10)


def test_binary_and_utf16_files_are_refused() -> None:
    assert "binary" in refusal(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").detail
    assert "UTF-16" in refusal(PRICES.encode("utf-16")).detail


def test_a_latin1_file_is_refused_naming_the_line() -> None:
    refused = refusal("unique_id,ds,y\nA,2024-01-01,1\nCafé,2024-01-01,2\n".encode("latin-1"))
    assert "not UTF-8" in refused.detail and "line 3" in refused.detail
    assert refused.errors == [{"row": 3, "column": None, "message": "not UTF-8 text"}]


def test_missing_and_unknown_columns_are_named_with_a_rename_hint() -> None:
    refused = refusal("Date,unique_id,price,colour\n2024-01-01,A,1,red\n")
    assert "'Date'" in refused.detail and "'colour'" in refused.detail
    assert "rename 'Date' to 'ds'" in refused.detail and "rename 'price' to 'y'" in refused.detail
    named = {(error["column"], error["message"]) for error in refused.errors}
    assert ("ds", "required column is missing") in named and ("colour", "unknown column") in named
    assert all(error["row"] == 1 for error in refused.errors)


def test_a_pandas_index_column_gets_its_own_hint() -> None:
    assert "index=False" in refusal(",ds,y\n0,2024-01-01,1\n").detail


def test_two_columns_that_differ_only_in_case_are_refused() -> None:
    assert "same column" in refusal("ds,y,Y\n2024-01-01,1,2\n").detail


def test_an_unparsable_date_is_named_with_row_column_and_value() -> None:
    refused = refusal("unique_id,ds,y\nA,2024-01-01,1\nA,2024-02-30,2\n")
    assert refused.errors == [
        {"row": 3, "column": "ds", "message": "'2024-02-30' is not a date; write dates as YYYY-MM-DD"}
    ]
    assert "row 3, column ds" in refused.detail


def test_a_non_numeric_y_is_named_with_its_value() -> None:
    refused = refusal("unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-02,twelve\n")
    assert refused.errors == [{"row": 3, "column": "y", "message": "'twelve' is not a number"}]


@pytest.mark.parametrize(
    ("cell", "words"),
    [("nan", "empty or NaN"), ("", "empty or NaN"), ("inf", "infinite"), ("-Infinity", "infinite")],
)
def test_nan_inf_and_empty_y_are_refused(cell: str, words: str) -> None:
    refused = refusal(f"ds,y\n2024-01-01,1\n2024-01-02,{cell}\n")
    assert refused.errors[0]["row"] == 3 and refused.errors[0]["column"] == "y"
    assert words in refused.errors[0]["message"]


def test_a_repeated_series_date_names_both_rows() -> None:
    refused = refusal("unique_id,ds,y\nA,2024-01-01,1\nB,2024-01-01,1\nA,2024-01-01,2\n")
    assert refused.errors[0]["row"] == 4 and refused.errors[0]["column"] == "ds"
    assert (
        refused.errors[0]["message"]
        == "series 'A' has 2024-01-01 twice (also at row 2); keep one row per date"
    )


def test_a_row_with_extra_fields_is_named() -> None:
    refused = refusal("unique_id,ds,y\nA,2024-01-01,1\nA,2024-01-02,2,5\n")
    assert refused.errors[0]["row"] == 3 and "4 field(s)" in refused.errors[0]["message"]


def test_rows_are_file_lines_even_after_blank_lines() -> None:
    refused = refusal("ds,y\n2024-01-01,1\n\n\n2024-01-02,oops\n")
    assert refused.errors[0]["row"] == 5


def test_problems_are_capped_and_the_detail_counts_them_all() -> None:
    rows = "".join(f"2024-01-{day:02d},x{day}\n" for day in range(1, 29))
    refused = refusal("ds,y\n" + rows)
    assert len(refused.errors) == MAX_LISTED_PROBLEMS
    assert "28 problems" in refused.detail and f"{MAX_LISTED_PROBLEMS} of them are listed" in refused.detail


def test_a_bad_value_far_past_the_first_block_is_still_found_by_line() -> None:
    # The fast reader types columns from its first block; a bad cell later must still be located exactly.
    days = pd.date_range("2000-01-01", periods=60_000, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    lines = [f"{day},{i}.5" for i, day in enumerate(days)]
    lines[54_321] = lines[54_321].split(",")[0] + ",n/a?"
    refused = refusal("ds,y\n" + "\n".join(lines) + "\n")
    assert refused.errors == [{"row": 54_323, "column": "y", "message": "'n/a?' is not a number"}]


def test_a_corrupt_parquet_file_is_refused() -> None:
    good = parquet_bytes(pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=50), "y": np.arange(50.0)}))
    truncated = good[:4] + good[40:-30] + good[-8:]
    assert "corrupt" in refusal(truncated).detail


def test_parquet_columns_are_checked_like_csv_ones() -> None:
    refused = refusal(parquet_bytes(pd.DataFrame({"ds": [pd.Timestamp("2024-01-01")], "value": [1.0]})))
    assert {(e["row"], e["column"]) for e in refused.errors} == {(None, "y"), (None, "value")}


def test_a_text_file_declared_parquet_is_refused() -> None:
    assert "not Parquet" in refusal(PRICES, format="parquet").detail


def test_an_unclosed_quote_is_refused_naming_the_line_it_opens_on() -> None:
    refused = refusal('ds,y\n2024-01-01,1\n"2024-01-02,2\n2024-01-03,3\n')
    assert refused.errors[0]["row"] == 3 and "must be quoted" in refused.detail


# --- M4 wide ---------------------------------------------------------------------------------------------

M4 = '"V1","V2","V3","V4","V5"\n"W2","10","11","12",""\n"W1","1","2","3","4"\n'


def test_m4_wide_places_every_series_on_the_calendar_from_start() -> None:
    parsed = parse(M4, freq="w", start="2024-01-01")  # a Monday: weeks end on Mondays
    assert parsed.format == "m4-wide"  # found from the V1..Vn header
    frame = parsed.frame
    assert frame["unique_id"].tolist() == ["W1"] * 4 + ["W2"] * 3
    assert frame["ds"].iloc[:4].tolist() == list(pd.date_range("2024-01-01", periods=4, freq="7D"))
    assert frame["ds"].iloc[4] == pd.Timestamp("2024-01-01")
    assert frame["y"].tolist() == [1, 2, 3, 4, 10, 11, 12]


def test_m4_wide_needs_freq_and_start_and_an_aligned_start() -> None:
    assert "give freq" in refusal(M4).detail
    assert "not on the MS calendar" in refusal(M4, freq="M", start="2024-01-15").detail
    assert "unknown frequency" in refusal(M4, freq="fortnightly", start="2024-01-01").detail


def test_m4_wide_refuses_a_value_after_padding_and_names_the_cell() -> None:
    refused = refusal('"V1","V2","V3","V4"\n"W1","1","","3"\n', freq="D", start="2024-01-01")
    assert refused.errors[0]["row"] == 2 and refused.errors[0]["column"] == "V4"


def test_m4_wide_refuses_non_numbers_and_repeated_series() -> None:
    refused = refusal('"V1","V2","V3"\n"W1","1","x"\n"W1","1","2"\n', freq="D", start="2024-01-01")
    messages = {(error["row"], error["column"], error["message"]) for error in refused.errors}
    assert (2, "V3", "'x' is not a number") in messages
    assert (3, "V1", "series 'W1' appears on more than one row") in messages


def test_the_real_m4_weekly_training_file() -> None:
    path = shared_file(M4_WEEKLY_TRAIN)
    if path is None:
        pytest.skip("shared M4 weekly data is absent (set HELIOS_SHARED_DATA)")
    parsed = parse(path.read_bytes(), format="m4-wide", freq="W", start="2000-01-03")
    lengths = parsed.frame.groupby("unique_id").size()
    assert len(lengths) == 359 and lengths.min() == 80 and lengths.max() == 2597


# --- the parser as a property ----------------------------------------------------------------------------

_IDS = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Zs")), min_size=1, max_size=8
)
_VALUES = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def long_frames(draw: st.DrawFn) -> pd.DataFrame:
    ids = draw(st.lists(_IDS, min_size=1, max_size=3, unique=True))
    rows = []
    for uid in ids:
        days = draw(st.lists(st.integers(0, 30_000), min_size=1, max_size=6, unique=True))
        rows += [(uid, pd.Timestamp("1950-01-01") + pd.Timedelta(days=d), draw(_VALUES)) for d in days]
    frame = pd.DataFrame(rows, columns=["unique_id", "ds", "y"])
    return frame.sample(frac=1, random_state=draw(st.integers(0, 1000)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(long_frames())
def test_any_valid_frame_round_trips_through_csv_and_parquet_to_one_canonical_frame(frame: pd.DataFrame):
    from_csv = parse(frame.to_csv(index=False))
    expected = frame.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(from_csv.frame, expected, check_exact=True)
    from_parquet = parse(parquet_bytes(frame))
    assert content_hash(from_parquet) == content_hash(from_csv)
