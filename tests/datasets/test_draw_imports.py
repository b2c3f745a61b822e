"""parse_upload on draw histories: plain draw CSVs under declared rules, and New York's Powerball export."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from helios.datasets.importers import ImportOptions
from helios.forecasting.rules import POWERBALL, GameRules, RuleEra
from tests.datasets.samples import NY_EXPORT, POWERBALL_EXPORT, parquet_bytes, parse, refusal, shared_file

PICK3 = GameRules(name="pick3", eras=[RuleEra(start=dt.date(2020, 1, 1), main_count=3, main_max=10)])
EURO = GameRules(
    name="euro",
    eras=[RuleEra(start=dt.date(2020, 1, 1), main_count=2, main_max=50, bonus_count=2, bonus_max=12)],
)


def test_a_draw_csv_is_checked_sorted_within_rows_and_by_date_with_the_sort_noted() -> None:
    parsed = parse("ds,n1,n2,n3\n2024-01-03,9,2,5\n2024-01-01,1,2,3\n", kind="draws", rules=PICK3)
    assert parsed.kind == "draws" and parsed.rules == PICK3
    assert parsed.frame.columns.tolist() == ["ds", "n1", "n2", "n3"]
    assert parsed.frame.to_numpy()[:, 1:].tolist() == [[1, 2, 3], [2, 5, 9]]
    assert all(parsed.frame[c].dtype == np.int64 for c in ("n1", "n2", "n3"))
    assert parsed.frame["ds"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-03")]
    assert any("sorted the main numbers of 1 draw(s)" in note and "rows 2" in note for note in parsed.notes)


def test_several_bonus_balls_are_columns_bonus1_to_bonusm() -> None:
    parsed = parse("DS,N1,N2,Bonus1,Bonus2\n2024-01-03,40,2,12,1\n", kind="draws", rules=EURO)
    assert parsed.frame.columns.tolist() == ["ds", "n1", "n2", "bonus1", "bonus2"]
    assert parsed.frame.iloc[0, 1:].tolist() == [2, 40, 1, 12]


def test_a_draw_file_also_comes_as_parquet_and_bonus1_names_a_single_bonus() -> None:
    frame = pd.DataFrame(
        {
            "ds": [pd.Timestamp("2016-01-02")],
            "n1": [1],
            "n2": [2],
            "n3": [3],
            "n4": [4],
            "n5": [69],
            "bonus1": [26],
        }
    )
    parsed = parse(parquet_bytes(frame), kind="draws", game="Powerball")
    assert parsed.rules == POWERBALL and parsed.frame.columns[-1] == "bonus"


def test_draws_need_rules_and_a_known_game() -> None:
    assert "needs the game's rules" in refusal("ds,n1\n2024-01-01,1\n", kind="draws").detail
    assert "known presets: powerball" in refusal("ds,n1\n2024-01-01,1\n", kind="draws", game="keno").detail


def test_a_number_outside_the_era_range_names_row_column_and_range() -> None:
    refused = refusal("ds,n1,n2,n3\n2024-01-01,1,2,3\n2024-01-02,1,2,11\n", kind="draws", rules=PICK3)
    assert refused.errors == [
        {"row": 3, "column": "n3", "message": "n3 = 11 is outside 1-10, the range in force on 2024-01-02"}
    ]


def test_a_number_drawn_twice_names_the_second_ball() -> None:
    refused = refusal("ds,n1,n2,n3\n2024-01-01,4,7,4\n", kind="draws", rules=PICK3)
    assert refused.errors[0]["row"] == 2 and refused.errors[0]["column"] == "n3"
    assert "4 is drawn twice" in refused.errors[0]["message"]


def test_a_date_no_era_covers_is_refused() -> None:
    refused = refusal("ds,n1,n2,n3\n2019-12-31,1,2,3\n", kind="draws", rules=PICK3)
    assert refused.errors[0]["column"] == "ds"
    assert "no era of the pick3 rules covers" in refused.errors[0]["message"]


def test_the_wrong_number_of_balls_is_a_column_problem() -> None:
    refused = refusal("ds,n1,n2,n3,n4\n2024-01-01,1,2,3,4\n", kind="draws", rules=PICK3)
    assert refused.errors == [{"row": 1, "column": "n4", "message": "unknown column"}]
    missing = refusal("ds,n1,n2\n2024-01-01,1,2\n", kind="draws", rules=PICK3)
    assert missing.errors == [{"row": 1, "column": "n3", "message": "required column is missing"}]


def test_missing_and_fractional_numbers_and_repeated_dates_are_refused() -> None:
    refused = refusal("ds,n1,n2,n3\n2024-01-01,1,2,\n2024-01-02,1,2.5,3\n", kind="draws", rules=PICK3)
    assert {(e["row"], e["column"]) for e in refused.errors} == {(2, "n3"), (3, "n2")}
    twice = refusal("ds,n1,n2,n3\n2024-01-01,1,2,3\n2024-01-01,4,5,6\n", kind="draws", rules=PICK3)
    assert twice.errors[0]["row"] == 3 and "two draws on 2024-01-01" in twice.errors[0]["message"]


# --- New York Powerball export -----------------------------------------------------------------------


def test_the_ny_export_keeps_the_main_draw_sorted_by_date_across_three_eras() -> None:
    parsed = parse(NY_EXPORT, kind="draws")
    assert parsed.format == "ny-powerball" and parsed.rules == POWERBALL
    frame = parsed.frame
    assert frame.columns.tolist() == ["ds", "n1", "n2", "n3", "n4", "n5", "bonus"]
    assert frame["ds"].dt.year.tolist() == [2010, 2013, 2016, 2026]
    assert frame.iloc[2, 1:].tolist() == [3, 12, 40, 61, 69, 26]  # listed 61 03 12 40 69 in the file
    assert any("rows 3" in note for note in parsed.notes)
    assert any("Multiplier" in note for note in parsed.notes)


def test_the_ny_export_refuses_a_number_outside_its_era_naming_the_file_column() -> None:
    # 38 was a valid Powerball in 2010 (1-39) but not in 2013 (1-35).
    bad = NY_EXPORT.replace('"06/01/2013","04 07 25 46 59 35"', '"06/01/2013","04 07 25 46 59 38"')
    refused = refusal(bad, kind="draws")
    assert refused.errors == [
        {
            "row": 4,
            "column": "Winning Numbers",
            "message": "bonus = 38 is outside 1-35, the range in force on 2013-06-01",
        }
    ]


def test_the_ny_export_refuses_a_row_with_the_wrong_count_and_a_bad_date() -> None:
    short = NY_EXPORT.replace('"08 10 14 45 59 05"', '"08 10 14 45 59"')
    assert refusal(short, kind="draws").errors[0] == {
        "row": 2,
        "column": "Winning Numbers",
        "message": "has 5 numbers; a draw has 5 main numbers then 1 bonus number(s)",
    }
    misdated = NY_EXPORT.replace('"07/11/2026"', '"2026-07-11"')
    assert refusal(misdated, kind="draws").errors[0]["column"] == "Draw Date"


def test_the_ny_export_is_a_draw_history_not_a_time_series() -> None:
    assert "kind draws" in refusal(NY_EXPORT).detail


def test_the_real_ny_export() -> None:
    path = shared_file(POWERBALL_EXPORT)
    if path is None:
        pytest.skip("shared Powerball export is absent (set HELIOS_SHARED_DATA)")
    parsed = parse(path.read_bytes(), kind="draws", format="ny-powerball")
    frame = parsed.frame
    assert len(frame) == 1965
    assert (frame["ds"].iloc[0], frame["ds"].iloc[-1]) == (
        pd.Timestamp("2010-02-03"),
        pd.Timestamp("2026-07-11"),
    )
    assert frame["ds"].is_monotonic_increasing
    main = frame[["n1", "n2", "n3", "n4", "n5"]].to_numpy()
    assert (np.diff(main, axis=1) > 0).all()
    assert any(note.startswith("sorted the main numbers") for note in parsed.notes)
    assert ImportOptions(kind="draws").game is None  # the export alone implied the Powerball rules
