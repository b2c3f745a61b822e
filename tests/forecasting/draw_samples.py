"""Draw histories for the draws tests: fair synthetic games and the real Powerball export (when present)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from helios.forecasting.draw_history import bonus_columns, main_columns
from helios.forecasting.rules import GameRules

POWERBALL_EXPORT = Path("powerball") / "Lottery_Powerball_Winning_Numbers__Beginning_2010.csv"


WEDNESDAY_SATURDAY = (2, 5)


def fair_draws(
    rules: GameRules,
    start: str,
    count: int,
    seed: int,
    weekdays: tuple[int, ...] = WEDNESDAY_SATURDAY,
    main_weights: dict[int, float] | None = None,
) -> pd.DataFrame:
    """``count`` draws on ``weekdays`` from ``start``, each under the era in force on its date. Fair unless
    ``main_weights`` makes some main numbers likelier (number -> relative weight, 1 by default)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, periods=count * 7 // len(weekdays) + 14, freq="D")
    days = days[days.dayofweek.isin(weekdays)][:count]
    rows = []
    for day in days:
        era = rules.era_on(day.date())
        main = _pick(rng, era.main_min, era.main_max, era.main_count, main_weights or {})
        bonus = _pick(rng, era.bonus_min, era.bonus_max, era.bonus_count, {})
        rows.append([day, *main, *bonus])
    columns = ["ds", *main_columns(rules.main_count), *bonus_columns(rules.bonus_count)]
    return pd.DataFrame(rows, columns=columns)


def _pick(rng: np.random.Generator, low: int, high: int, count: int, weights: dict[int, float]) -> np.ndarray:
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    numbers = np.arange(low, high + 1)
    chance = np.array([weights.get(int(n), 1.0) for n in numbers])
    return np.sort(rng.choice(numbers, count, replace=False, p=chance / chance.sum()))


def shared_data_dir() -> Path:
    configured = os.environ.get("HELIOS_SHARED_DATA")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def real_powerball_draws() -> pd.DataFrame | None:
    """The NY export as a draws frame (``ds, n1..n5, bonus``, sorted), or ``None`` when it is absent."""
    path = shared_data_dir() / POWERBALL_EXPORT
    if not path.is_file():
        return None
    export = pd.read_csv(path, dtype=str)
    numbers = export["Winning Numbers"].str.split().apply(lambda values: [int(v) for v in values])
    whites = np.sort(np.array([row[:5] for row in numbers]), axis=1)
    frame = pd.DataFrame(whites, columns=main_columns(5))
    frame.insert(0, "ds", pd.to_datetime(export["Draw Date"], format="%m/%d/%Y"))
    frame["bonus"] = [row[5] for row in numbers]
    return frame.sort_values("ds", ignore_index=True)
