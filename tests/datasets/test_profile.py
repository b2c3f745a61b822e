"""profile() and content_hash() on parsed uploads."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from helios.datasets.importers import ParsedData
from helios.datasets.profile import content_hash, profile
from helios.forecasting.rules import POWERBALL, GameRules, RuleEra
from tests.datasets.samples import NY_EXPORT, parquet_bytes, parse


def _csv(series: dict[str, pd.DatetimeIndex]) -> str:
    rows = [f"{uid},{stamp:%Y-%m-%d},{i}" for uid, stamps in series.items() for i, stamp in enumerate(stamps)]
    return "unique_id,ds,y\n" + "\n".join(rows) + "\n"


def test_each_series_gets_its_frequency_and_gaps() -> None:
    daily = pd.date_range("2024-01-01", periods=30, freq="D").delete([4, 17])
    business = pd.bdate_range("2024-01-01", periods=40).delete([9])  # one weekday missing; weekends aren't
    monthly = pd.date_range("2020-01-01", periods=24, freq="MS").delete([5, 6, 7])
    irregular = pd.DatetimeIndex(["2024-01-01", "2024-01-04", "2024-01-09", "2024-03-05"])  # no usual step
    stats = profile(parse(_csv({"D1": daily, "B1": business, "M1": monthly, "X1": irregular})))
    by_id = {s.unique_id: s for s in stats.series}
    assert (by_id["D1"].frequency, by_id["D1"].gaps) == ("D", 2)
    assert (by_id["B1"].frequency, by_id["B1"].gaps) == ("B", 1)
    assert (by_id["M1"].frequency, by_id["M1"].gaps) == ("MS", 3)
    assert (by_id["X1"].frequency, by_id["X1"].gaps) == (None, None)
    assert stats.total_gaps == 6 and stats.series_count == 4
    assert stats.rows == 28 + 39 + 21 + 4
    assert stats.start == dt.datetime(2020, 1, 1) and stats.end == dt.datetime(2024, 3, 5)
    assert by_id["B1"].rows == 39 and by_id["B1"].start == dt.datetime(2024, 1, 1)


def test_weekly_series_anchored_on_any_weekday() -> None:
    weekly = pd.date_range("2024-01-03", periods=20, freq="W-WED").delete([3])
    stats = profile(parse(_csv({"W": weekly})))
    assert stats.frequency == "W-WED" and stats.total_gaps == 1


def test_draws_profile_counts_draws_and_the_eras_they_span() -> None:
    stats = profile(parse(NY_EXPORT, kind="draws"))
    assert stats.kind == "draws" and stats.draws == stats.rows == 4 and stats.series_count == 1
    assert stats.start == dt.datetime(2010, 2, 3) and stats.end == dt.datetime(2026, 7, 11)
    assert [(era.start, era.main, era.bonus, era.draws) for era in stats.eras] == [
        (dt.date(1997, 11, 1), "5 of 1-59", "1 of 1-39", 1),
        (dt.date(2012, 1, 15), "5 of 1-59", "1 of 1-35", 1),
        (dt.date(2015, 10, 4), "5 of 1-69", "1 of 1-26", 2),
    ]
    assert stats.model_dump(mode="json")["eras"][2]["end"] is None


PRICES = "unique_id,ds,y,volume\nB,2024-01-02,2,10\nA,2024-01-01,1.5,\nA,2024-01-02,-0.0,7\n"


def test_the_same_content_hashes_alike_from_csv_parquet_and_any_row_order() -> None:
    parsed = parse(PRICES)
    reordered = "Y,Volume,unique_id,DS\n0,7,A,2024-01-02\n2,10,B,2024-01-02\n1.5,,A,2024-01-01\n"
    assert content_hash(parse(reordered)) == content_hash(parsed)
    assert content_hash(parse(parquet_bytes(parsed.frame.iloc[::-1]))) == content_hash(parsed)
    assert len(content_hash(parsed)) == 64


def test_any_change_of_values_names_or_rules_changes_the_hash() -> None:
    base = content_hash(parse(PRICES))
    assert content_hash(parse(PRICES.replace("1.5", "1.6"))) != base
    assert content_hash(parse(PRICES.replace("2024-01-01", "2024-01-03"))) != base
    assert content_hash(parse(PRICES.replace(",B,", ",C,").replace("\nB,", "\nC,"))) != base
    draws = parse(NY_EXPORT, kind="draws")
    other_rules = GameRules(name="powerball-copy", eras=POWERBALL.eras)
    assert content_hash(ParsedData("draws", draws.frame, other_rules, "csv")) != content_hash(draws)


def test_ids_cannot_collide_by_concatenation() -> None:
    one = parse("unique_id,ds,y\nab,2024-01-01,1\nc,2024-01-01,1\n")
    other = parse("unique_id,ds,y\na,2024-01-01,1\nbc,2024-01-01,1\n")
    assert content_hash(one) != content_hash(other)


def test_a_game_without_bonus_profiles_too() -> None:
    rules = GameRules(name="pick3", eras=[RuleEra(start=dt.date(2020, 1, 1), main_count=3, main_max=9)])
    stats = profile(parse("ds,n1,n2,n3\n2024-01-01,1,2,3\n", kind="draws", rules=rules))
    assert stats.eras[0].bonus is None and stats.eras[0].draws == 1
