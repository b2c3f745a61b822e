"""Demo datasets, so a fresh install has something to train on. Everything made here is SYNTHETIC: generated
from a seed, not observed, and labelled so in its name and description. The same seed gives the same rows.

- ``synthetic_ohlcv``: daily prices of fictional tickers from a regime-switching GARCH(1,1): volatility
  clusters (a large move makes the next ones larger) and the market drifts between calm-rising and
  turbulent-falling regimes, which is what makes volatility models worth comparing with naive ones.
- ``fair_powerball_draws``: fair draws under today's Powerball rules on its real draw days: a baseline
  on which no model should beat chance.
- ``vega-stocks``: real monthly closes of five US stocks (2000-2010) from the optional ``vega_datasets``
  package, which ships them offline; offered only where that package is installed.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import numpy as np
import pandas as pd

from helios.datasets.importers import ImportOptions, Kind
from helios.forecasting.rules import POWERBALL

SYNTHETIC_TICKERS = ("ACME", "GLOBEX", "INITECH")
DEMO_START = dt.date(2023, 1, 2)  # fixed, not today, so a seed always gives the same rows
DEMO_DRAWS_END = dt.date(2026, 7, 11)
POWERBALL_DRAW_DAYS = (0, 2, 5)  # Monday, Wednesday, Saturday


class DemoDataset(NamedTuple):
    """What the service needs to import one demo dataset: the bytes go through ``parse_upload`` like any
    upload, so demo data is validated and versioned the same way."""

    name: str
    description: str
    kind: Kind
    raw: bytes
    options: ImportOptions


class _Regime(NamedTuple):
    drift: float  # mean daily log return
    omega: float  # GARCH variance floor: sets the regime's long-run volatility


# Long-run daily volatility is sqrt(omega / (1 - ALPHA - BETA)): about 1% calm, 2.8% turbulent.
_REGIMES = (_Regime(drift=0.0006, omega=2e-6), _Regime(drift=-0.0012, omega=1.6e-5))
_STAY = np.array([0.985, 0.95])  # chance of staying in each regime: calm spells last ~65 days, storms ~20
_ALPHA, _BETA = 0.08, 0.90
_T_DOF = 5  # Student-t shocks: fat tails, as real returns have


def synthetic_ohlcv(
    tickers: tuple[str, ...] = SYNTHETIC_TICKERS, days: int = 750, seed: int = 7, start: dt.date = DEMO_START
) -> pd.DataFrame:
    """SYNTHETIC daily OHLCV in canonical long format (unique_id, ds, y = close, open, high, low, close,
    volume) on business days from ``start``."""
    rng = np.random.default_rng(seed)
    stamps = pd.bdate_range(start, periods=days)
    frames = [_ticker_prices(ticker, stamps, rng) for ticker in sorted(tickers)]
    return pd.concat(frames, ignore_index=True)


def _ticker_prices(ticker: str, stamps: pd.DatetimeIndex, rng: np.random.Generator) -> pd.DataFrame:
    days = len(stamps)
    returns, sigma, turbulent = _regime_garch_returns(days, rng)
    close = rng.uniform(20, 300) * np.exp(np.cumsum(returns))
    previous = np.concatenate([[close[0] * np.exp(-returns[0])], close[:-1]])
    open_ = previous * np.exp(rng.normal(0, 0.3 * sigma))  # overnight gap, smaller than the day's move
    wick = np.abs(rng.normal(0, 0.5 * sigma, (2, days)))
    high = np.maximum(open_, close) * np.exp(wick[0])
    low = np.minimum(open_, close) * np.exp(-wick[1])
    # Turnover rises with the size of the move and in turbulent spells.
    volume = rng.uniform(2e5, 5e6) * np.exp(8 * np.abs(returns) + 0.5 * turbulent + rng.normal(0, 0.25, days))
    open_, close = np.round(open_, 2), np.round(close, 2)
    frame = pd.DataFrame(
        {
            "unique_id": ticker,
            "ds": stamps,
            "y": close,
            "open": open_,
            # Rounding to cents must not break high >= max(open, close) or low <= min(open, close).
            "high": np.maximum(np.round(high, 2), np.maximum(open_, close)),
            "low": np.maximum(np.minimum(np.round(low, 2), np.minimum(open_, close)), 0.01),
            "close": close,
            "volume": np.round(volume).astype(np.float64),
        }
    )
    return frame


def _regime_garch_returns(days: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Daily log returns, their conditional volatility, and 1 on turbulent days."""
    shocks = rng.standard_t(_T_DOF, days) / np.sqrt(_T_DOF / (_T_DOF - 2))
    switches = rng.random(days)
    regime, variance = 0, _REGIMES[0].omega / (1 - _ALPHA - _BETA)
    returns, sigma, turbulent = np.empty(days), np.empty(days), np.empty(days)
    for t in range(days):
        if switches[t] > _STAY[regime]:
            regime = 1 - regime
        sigma[t] = np.sqrt(variance)
        returns[t] = _REGIMES[regime].drift + sigma[t] * shocks[t]
        turbulent[t] = regime
        surprise = returns[t] - _REGIMES[regime].drift
        variance = _REGIMES[regime].omega + _ALPHA * surprise**2 + _BETA * variance
    return returns, sigma, turbulent


def fair_powerball_draws(
    n_draws: int = 1000, seed: int = 7, end_date: dt.date = DEMO_DRAWS_END
) -> pd.DataFrame:
    """SYNTHETIC fair draws (every combination equally likely) under today's Powerball rules, on the real
    draw days up to ``end_date``: canonical draws (ds, n1..n5 ascending, bonus)."""
    era = POWERBALL.current()
    stamps = _draw_days(n_draws, end_date)
    if stamps[0].date() < era.start:
        raise ValueError(
            f"{n_draws} draws before {end_date} reach back to {stamps[0].date()}, before today's Powerball "
            f"rules started on {era.start}; ask for fewer draws or a later end date"
        )
    rng = np.random.default_rng(seed)
    # A random permutation per draw, cut to the first five: five distinct balls, all subsets equally likely.
    balls = era.main_max - era.main_min + 1
    first_five = rng.random((n_draws, balls)).argsort(axis=1)[:, : era.main_count]
    whites = np.sort(first_five + era.main_min, axis=1)
    frame = pd.DataFrame({"ds": stamps})
    for k in range(era.main_count):
        frame[f"n{k + 1}"] = whites[:, k].astype(np.int64)
    frame["bonus"] = rng.integers(era.bonus_min, era.bonus_max + 1, n_draws).astype(np.int64)
    return frame


def _draw_days(n_draws: int, end_date: dt.date) -> pd.DatetimeIndex:
    weeks = n_draws // len(POWERBALL_DRAW_DAYS) + 2
    days = pd.date_range(end=pd.Timestamp(end_date), periods=weeks * 7, freq="D")
    return days[days.dayofweek.isin(POWERBALL_DRAW_DAYS)][-n_draws:]


def demo_datasets(seed: int = 7) -> list[DemoDataset]:
    """The demo datasets, as uploads for the service to import."""
    demos = [
        DemoDataset(
            "synthetic-stocks",
            "SYNTHETIC daily OHLCV of three fictional tickers (ACME, GLOBEX, INITECH), ~3 years of business "
            "days from a regime-switching GARCH model. Not real market data.",
            "timeseries",
            _csv_bytes(synthetic_ohlcv(seed=seed)),
            ImportOptions(kind="timeseries", format="csv"),
        ),
        DemoDataset(
            "synthetic-powerball",
            "SYNTHETIC fair Powerball draws (5 of 1-69 + 1 of 1-26) on Mondays, Wednesdays and Saturdays. "
            "Not real draws: no model should beat chance on them.",
            "draws",
            _csv_bytes(fair_powerball_draws(seed=seed)),
            ImportOptions(kind="draws", format="csv", game="powerball"),
        ),
    ]
    vega = _vega_stocks()
    return demos + ([vega] if vega else [])


def _vega_stocks() -> DemoDataset | None:
    try:
        from vega_datasets import data  # optional: ships its stocks table inside the package
    except ImportError:
        return None
    frame = data.stocks().rename(columns={"symbol": "unique_id", "date": "ds", "price": "y"})
    return DemoDataset(
        "vega-stocks",
        "Real monthly closing prices of AAPL, AMZN, GOOG, IBM and MSFT, 2000-2010 (from the vega-datasets "
        "package).",
        "timeseries",
        _csv_bytes(frame),
        ImportOptions(kind="timeseries", format="csv"),
    )


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, date_format="%Y-%m-%d").encode()
