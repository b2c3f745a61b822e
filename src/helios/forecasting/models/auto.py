"""``auto``: per series, the candidate that forecast best on rolling origins inside the training
data, or the average of the few that validation cannot tell apart; intervals calibrated on the
same windows.

Candidates, unless configured: seasonal naive on every season the data has (it can never be
left out, so ``auto`` is judged against it on every series), the same averaged over the last 3
and 7 cycles where they fit (``SEASON_AVERAGES``), naive, the global gradient-boosted
model (``gbm``), and the local Theta model (and ETS, for seasons up to 12) when the panel is
small enough for them to fit in reasonable time. Every candidate forecasts the last
``n_windows`` origins of the *training* data at the horizon asked for (``auto_validation.py``),
so the choice never sees what it will be judged on; only the chosen candidates are then fitted
on all the data (a global candidate such as ``gbm`` on every series, as it was validated).
``nbeats`` (by default on panels of ``NBEATS_FROM_SERIES`` series or more) adds the global
N-BEATS network; being window-based it is trained once, before the earliest window, forecasts
every window and then the final horizon from that one network, its inputs slid forward
(``reuse_validation_fit``): one network per ``auto`` fit, not one per origin nor a second one on
all the data; only a short fit from its weights (``NBEATS_FINAL_EPOCHS``) teaches it the last
points before the final forecast; it trains on a second thread while the other candidates are
validated (``workers``: torch's kernels run without the GIL, so on two cores the network and the
booster train at once, and the forecasts are the same); what is left of that wait fits the global
candidates that need a fit on all the data (``gbm`` on smaller panels, ``global_ar``) before the
choice instead of after it. With it comes the global linear autoregression
(``global_ar``: one ridge fit before the earliest window forecasts every window; refitted on all
the data, which costs a second or two). ``gbm`` is validated the same way (one booster fitted
before the earliest window forecasts every origin) and, on large panels
(``gbm.REUSE_FROM_POINTS``), forecasts the final horizon from that booster too, its lags read up
to each series' end: there the refit on all the data was about a fifth of ``auto``'s CPU (400
series of 1,000 hours). Where both global models are candidates, their equal average, alone,
with seasonal naive on the declared season and with ``global_ar``, competes as a candidate of
its own (``blends``; no fit of its own: its validation forecasts are its parts' averaged). Two
global models err differently: on the hourly choice panels their average was kept by 64-94% of
the series, where ``selection="close"`` alone averages the two only when their own scores fall
within the tolerance.
Before choosing, each series' scores are pulled towards the panel's as far as its own windows
disagree with each other (``pooling="evidence"``): four windows are a noisy judge of one
series, and per-series picks on noise lost to ``gbm`` alone on 135 hourly windows of ETTh1.

Intervals (``intervals="conformal"``, the default): the errors of each series' chosen forecast
on those windows calibrate per-step half-widths pooled across series (``step_calibration.py``);
with ``calibration="crossfit"`` (the default) the forecast on each window is the one the *other*
windows choose, since the winner's errors on the windows that chose it understate its future ones.
The errors are first divided by a unit of how hard each series is: the chosen forecast's own
spread (``"own"``: half its members' 80% interval over the horizon, averaged as the bounds are),
or the series' seasonal-naive scale (``"scale"``); ``interval_unit="auto"`` (the default) keeps
whichever gives the narrower intervals on the validation windows themselves (both cover 95% of
them by construction). Which unit wins depends on the data: on M4 weekly with two 13-week
windows, seasonal-naive units covered 91.4% at 95% (MSIS 25.4) and the models' own widths
~94-96% (MSIS ~15.5); on hourly ETT the models' widths (gbm's is one pooled spread times each
series' standard deviation) say less than the scale does. A candidate without intervals forces
the scale. ``interval_spread="series"`` also scales the scale unit by each series' own validation
error, which undercovers (see the field). ``"members"`` averages the candidates' own bounds.

Where no value of the training panel is below zero, every series is forecast, and bounded, at
zero or above (``floor="zero"``): the forecast made, not the validation's, so the choice and the
widths are those of the candidates as they are.

The fitted model says per series what it chose and why (``explanations``) and what each
candidate cost (``costs``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError
from threadpoolctl import threadpool_limits

from helios.forecasting import auto_validation as validation
from helios.forecasting.base import (
    DEFAULT_LEVELS,
    DataSpec,
    FitContext,
    Fitted,
    ForecastingError,
    Hyperparameters,
    ModelFamily,
)
from helios.forecasting.families import get_family, register
from helios.forecasting.frequency import candidate_seasons
from helios.forecasting.panel import check_horizon, check_levels, interval_columns, nested_config, own_config
from helios.forecasting.seasonality import data_seasons
from helios.forecasting.step_calibration import StepCalibration

# Local statistical candidates join only below this many points in the whole panel: past it
# (e.g. 400 hourly series of 1,000 points) refitting them at every origin costs minutes.
LOCAL_CANDIDATE_POINTS = 60_000
# ... each fitted on its series' last this many points: statsforecast's Theta search grows with
# the square of the length (one hourly series: 0.9 s at 2,000 points, 16.5 s at 8,000), so seven
# long series took auto over nine minutes a fit. It forecast better too: Theta alone on ETTh1's
# 7 series at 4,000 hours (6 origins) scored OWA 0.764 whole, 0.723 on the last 2,000, in a
# quarter of the CPU. The series users bring (700-1,000 hours, 1,000 days) are shorter than this
# and fitted whole, as before.
LOCAL_CANDIDATE_WINDOW = 2_000
ETS_SEASON_LIMIT = 12
# From this many series the global N-BEATS network joins the default candidates: on the seven
# panels measured (65-400 series; BENCHMARKS.md, "Hourly forecasting", 2026-12-03) it improved
# auto on the four choice sets and on two of three holdouts (ETTh2 windows 0.898 -> 0.880, M4
# weekly holdout half 0.786 -> 0.706) and cost the extra hourly holdout 3% (0.804 -> 0.828).
# Counting points instead (a few long series hold as many windows as many short ones) was measured
# and not adopted: on ETTh1's 7 series (choice) it gained 3.7-4.3% at 2,000-8,600 hours of
# history, on ETTh2's (holdout) it lost 1.7% and 3.8% (BENCHMARKS.md, 2026-12-06 morning).
NBEATS_FROM_SERIES = 50
# Epochs of the short fit that teaches auto's validation network the last points before the final
# forecast (NeuralConfig.final_epochs), from its weights at a quarter of its rate: ~4-8 s of CPU
# on 400 series. 1, 2, 4, 8 scored extra hourly choice 0.835 / 0.835 / 0.832 / 0.829, synthetic
# 0.556 / 0.552 / 0.549 / 0.545, ETTh1 windows 0.628 / 0.628 / 0.627 / 0.628, M4 weekly choice
# - / 0.701 / 0.698 / 0.698, but 8 against 2 on the holdouts: extra hourly 0.820 vs 0.814, ETTh2
# windows 0.874 both, M4 weekly 0.706 vs 0.710 (BENCHMARKS.md, 2026-12-03 afternoon): no clear
# gain for ~12 s more CPU, so 2.
NBEATS_FINAL_EPOCHS = 2
# The validation network's epochs: 20 and 40 (demand choice 0.514 / 0.515, synthetic 0.516 /
# 0.517) gained nothing over 10 (0.510 / 0.516) for two and four times the training.
NBEATS_EPOCHS = 10
BASELINE_FAMILIES = ("seasonal_naive", "naive")
# Seasonal naive averaged over the last 3 and 7 cycles of each season (where the history before
# the validation windows holds them): the same hour over the last 3 days and the last week's
# days, the same hour of the week over the last 3 weeks. On strongly seasonal hourly series one
# cycle's noise is much of seasonal naive's error: on the demand choice half (76 windows of load,
# traffic, bikes) the 3-week average scored OWA 0.601 against one week's 0.640, and with these
# candidates auto went 0.556 -> 0.514 (synthetic 0.552 -> 0.550, ETTh1 windows level at 0.628,
# extra hourly 0.835 -> 0.842). Adding 2 cycles was better on demand (0.508) and worse on extra
# (0.852) (BENCHMARKS.md, 2026-12-03 evening).
SEASON_AVERAGES = (3, 7)


# A candidate is a family name, optionally '@' and a label of letters, digits, '_', '.', '-' (a
# label is shown on the model page and in the API: nothing there may read as markup); a blend
# joins candidates with '+'.
CANDIDATE_PATTERN = r"[A-Za-z0-9_]+(@[A-Za-z0-9_.\-]+)?"
_CANDIDATE = re.compile(rf"^{CANDIDATE_PATTERN}$")
_BLEND = re.compile(rf"^{CANDIDATE_PATTERN}(\+{CANDIDATE_PATTERN})+$")
_NAME_RULE = "a family name, optionally '@' and a label of letters, digits, '_', '.' and '-'"


def _candidate_name(name: str) -> str:
    # Checked here rather than by a bare pattern so that the error says what a name may be, not a
    # regular expression; the pattern still travels in the schema for clients and forms.
    if not _CANDIDATE.match(name):
        raise PydanticCustomError(
            "candidate_name", f"{name!r} is not a candidate name: use {_NAME_RULE} (e.g. seasonal_naive@168)"
        )
    return name


def _blend_name(name: str) -> str:
    if not _BLEND.match(name):
        raise PydanticCustomError(
            "blend_name",
            f"{name!r} is not a blend: join two or more candidate names with '+' (e.g. gbm+nbeats); "
            f"each is {_NAME_RULE}",
        )
    return name


CandidateName = Annotated[
    str,
    Field(max_length=100, json_schema_extra={"pattern": _CANDIDATE.pattern}),
    AfterValidator(_candidate_name),
]
BlendName = Annotated[
    str,
    Field(max_length=400, json_schema_extra={"pattern": _BLEND.pattern}),
    AfterValidator(_blend_name),
]


class AutoConfig(Hyperparameters):
    candidates: list[CandidateName] | None = Field(
        default=None,
        json_schema_extra={"empty": "chosen for the data"},
        description="Families to choose from ('family@label' names a variant, e.g. seasonal_naive@168); "
        "empty: seasonal naive on each season (also averaged over its last 3 and 7 cycles), naive, "
        f"gbm on long enough data, N-BEATS and global_ar with it on panels of {NBEATS_FROM_SERIES}+ "
        "series, and Theta (ETS too for seasons up to 12) on small panels, each on its series' last "
        f"{LOCAL_CANDIDATE_WINDOW:,} points.",
    )
    candidate_configs: dict[CandidateName, dict[str, Any]] = Field(
        default_factory=dict, description="Hyperparameters per candidate, by its name in candidates."
    )
    horizon: int = Field(default=12, ge=1, le=1000, description="Steps ahead each validation window scores.")
    n_windows: int = Field(
        default=4, ge=1, le=50, description="Validation origins at the end of the training data."
    )
    step: int | None = Field(
        default=None,
        ge=1,
        json_schema_extra={"empty": "the horizon"},
        description="Points between origins; empty means the horizon.",
    )
    selection: Literal["best", "close", "combine", "all"] = Field(
        default="close",
        description="Keep the best candidate per series; average the best and those within tolerance "
        "of it ('close'); average the best top_k; or average all (no validation).",
    )
    top_k: int = Field(default=3, ge=1, le=10, description="Most candidates averaged per series.")
    tolerance: float = Field(
        default=0.05, ge=0, le=1, description="Validation scores this close to the best count as a tie."
    )
    pooling: Literal["evidence"] | Annotated[float, Field(ge=0, le=1)] = Field(
        default="evidence",
        description="How far each series' validation scores are pulled towards the candidate's "
        "score over the panel before choosing: 0 judges every series on its own windows, 1 picks "
        "the same candidates for every series (median), a number in between part way; 'evidence' "
        "as far as the series' own windows disagree with each other (empirical Bayes). A few "
        "windows are a noisy judge of one series; the panel is a steadier one.",
    )
    interval_spread: Literal["series", "pooled"] = Field(
        default="pooled",
        description="One conformal width per step for every series in its scale units, or widths that "
        "also follow each series' own validation error (shrunk; estimated on the same errors it "
        "calibrates, so it covers less than it claims: 87.8% at 95% on M4 weekly, 89.3% on ETTh2).",
    )
    intervals: Literal["conformal", "members"] = Field(
        default="conformal",
        description="Calibrate intervals on the validation errors, or average the candidates' own.",
    )
    calibration: Literal["crossfit", "same"] = Field(
        default="crossfit",
        description="Which validation errors calibrate the intervals: on each window, those of the "
        "candidates the *other* windows choose ('crossfit': the choice never saw the errors it is "
        "calibrated on), or those of the final choice, made on the same windows ('same': the "
        "winner's errors look smaller than its future ones, so the intervals undercover).",
    )
    nbeats: bool | None = Field(
        default=None,
        description="Among the default candidates, also the global N-BEATS network (where gbm "
        "joins), trained once per auto fit (reuse_validation_fit); None (the default): when the "
        f"panel has at least {NBEATS_FROM_SERIES} series, enough for one network to learn from "
        "(it costs ~25-30 s of CPU whatever the panel's size).",
    )
    blends: list[BlendName] | None = Field(
        default=None,
        json_schema_extra={"empty": "the default blends"},
        description="Equal averages of candidates ('gbm+nbeats') validated as candidates of their "
        "own (no fit: their parts' forecasts averaged), wherever all their parts are candidates; "
        "empty (None): gbm+nbeats, gbm+nbeats+seasonal naive on the declared season and "
        "gbm+nbeats+global_ar where both global models are candidates; [] for none.",
    )
    workers: int = Field(
        default=2,
        ge=1,
        le=8,
        description="Candidates validated at the same time: with 2, the N-BEATS network trains on a "
        "second core while the others are validated (and the global ones then fitted on all the "
        "data); 1: one after another. The forecasts are the same either way.",
    )
    reuse_validation_fit: bool = Field(
        default=True,
        description="A candidate that forecasts every validation window from one fit (nbeats; "
        "gbm on large panels) forecasts the final horizon from that same fit, its inputs slid "
        "to each series' end, instead of being trained again on all the data: one network or "
        "booster per auto fit, not two.",
    )
    floor: Literal["zero", "none"] = Field(
        default="zero",
        description="Where no value in the training data is below zero (counts, loads, prices), every "
        "series is forecast and bounded at zero or above ('zero'); "
        "'none' leaves forecasts and bounds where the candidates put them.",
    )
    interval_unit: Literal["auto", "own", "own_steps", "scale"] = Field(
        default="auto",
        description="Conformal errors are measured in the chosen forecast's own 80% half-width over "
        "the horizon ('own': per series, the shape over the steps pooled; 'own_steps': per step; "
        "the series scale where a candidate has no interval), in the series' seasonal-naive scale "
        "('scale'), or in whichever of own and scale gives narrower intervals on the validation "
        "windows ('auto').",
    )


def default_blends(names: Sequence[str], spec: DataSpec) -> list[str]:
    """The two global models averaged, alone and with seasonal naive on the declared season:
    the average beat the better of the two on every hourly choice set (BENCHMARKS.md, 2026-12-03,
    afternoon), and the three-way one, anchored on the season, a little more on two of three.
    (Anchoring ``gbm`` and both models on the seasonal naive, plain or averaged, that validated
    best over the panel was measured and left out: demand choice 0.511 -> 0.507, but extra
    hourly choice 0.840 -> 0.852 and ETTh1 windows 0.628 -> 0.631; BENCHMARKS.md, 2026-12-03
    evening.)"""
    if "gbm" not in names or "nbeats" not in names:
        return []
    seasonal = f"seasonal_naive@{spec.season_length}"
    linear = ["gbm+nbeats+global_ar"] if "global_ar" in names else []
    return ["gbm+nbeats", *(["gbm+nbeats+" + seasonal] if seasonal in names else []), *linear]


def candidate_family(candidate: str) -> str:
    """``auto_ets@recent`` is a variant of ``auto_ets``: the same family with its own config."""
    return candidate.split("@", 1)[0]


def default_candidates(
    train: pd.DataFrame, spec: DataSpec, config: AutoConfig
) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Seasonal naive on every season the data has (confirmed, declared, or suggested by the
    calendar: validation decides), alone and averaged over its last cycles, naive, gbm, and
    local Theta/ETS on small panels."""
    sizes = train.groupby("unique_id").size()
    validated = config.n_windows * (config.step or config.horizon) + config.horizon
    room = int(sizes.max()) - validated
    seasons = sorted({*data_seasons(train, spec), *candidate_seasons(spec.freq), spec.season_length})
    names, configs = [], {}
    for m in seasons:
        if 1 < m <= room:
            names.append(f"seasonal_naive@{m}")
            configs[f"seasonal_naive@{m}"] = {"season_length": m}
    for m in seasons:
        for cycles in SEASON_AVERAGES:
            if m > 1 and cycles * m <= room:
                names.append(f"seasonal_naive@{m}x{cycles}")
                configs[f"seasonal_naive@{m}x{cycles}"] = {"season_length": m, "average": cycles}
    names.append("naive")
    if room >= 2 * max([m for m in seasons if m <= room] or [1]) and len(train) >= 200:
        names.append("gbm")
        configs["gbm"] = {"calibration_windows": 0, "horizon": config.horizon}
        if config.nbeats or (config.nbeats is None and train["unique_id"].nunique() >= NBEATS_FROM_SERIES):
            names.append("nbeats")
            # nbeats' own training budget (250 steps of 1,024 windows), which costs the same for
            # 100 series as for 10,000: capping it by the panel's size (2 passes over its windows,
            # 11-13 steps an epoch on 117-135 series) lost 0.5-0.8% OWA on both hourly choice
            # sets (BENCHMARKS.md, 2026-12-03), and the 400-series panel gets all 250 anyway.
            # One torch thread: two spin-wait on each other on a busy machine (see threads).
            # NBEATS_EPOCHS whatever the frequency, not hourly nbeats' own default of 20.
            configs["nbeats"] = {
                "horizon": config.horizon,
                "threads": 1,
                "epochs": NBEATS_EPOCHS,
                "final_epochs": NBEATS_FINAL_EPOCHS,
            }
            # With N-BEATS, the global linear autoregression: a linear view of the same shared
            # cycles for a second or two of CPU, alone and in a three-way blend (better on three
            # of four hourly choice sets and on M4 weekly's). On ETTh1's 7 series its 505 weights
            # had ~1,200 windows to learn from and auto lost 1.7%: so on large panels only
            # (BENCHMARKS.md, 2026-12-04 evening).
            names.append("global_ar")
            configs["global_ar"] = {"horizon": config.horizon}
    if len(train) <= LOCAL_CANDIDATE_POINTS:
        names.append("auto_theta")
        configs["auto_theta"] = {"window": LOCAL_CANDIDATE_WINDOW}
        if spec.season_length <= ETS_SEASON_LIMIT:  # ETS with 24 seasonal states takes seconds a series
            names.append("auto_ets")
            configs["auto_ets"] = {"window": LOCAL_CANDIDATE_WINDOW}
    return names, configs


class AutoFitted(Fitted):
    family = "auto"

    def __init__(
        self,
        members: dict[str, Fitted],
        choices: dict[str, list[str]],
        scores: pd.DataFrame,
        calibration: StepCalibration | None = None,
        scales: dict[str, float] | None = None,
        explanations: dict[str, str] | None = None,
        costs: dict[str, dict[str, float]] | None = None,
        unit: str = "scale",
        unit_ratio: float = 1.0,
        floored: set[str] | None = None,
    ):
        self.members = members  # candidate name -> fitted on the series that chose it
        self.choices = choices  # series -> chosen candidates
        self.scores = scores  # validation scores, series x candidate (for people asking "why this one?")
        self.calibration = calibration  # conformal half-widths per step; None: members' own bounds
        self.scales = scales or {}  # series -> seasonal-naive scale the calibration is in
        self.explanations = explanations or {}  # series -> what it chose and why
        self.costs = costs or {}  # candidate -> seconds spent validating and fitting it
        # What the calibration's errors were divided by: "own" / "own_steps" (the combination's
        # own 80% half-width, over the calibrated steps / per step) or "scale" (``scales``).
        # ``unit_ratio``: typical own width over the scale, for a series whose members give none.
        self.unit = unit
        self.unit_ratio = unit_ratio
        self.floored = floored or set()  # series of a panel never below zero: forecast at 0 or above

    def choice_counts(self) -> dict[str, int]:
        """How many series use each candidate (a series averaging two counts for both)."""
        counts: dict[str, int] = {}
        for names in self.choices.values():
            for name in names:
                counts[name] = counts.get(name, 0) + 1
        return counts

    def predict(self, horizon: int, levels: Sequence[int] = DEFAULT_LEVELS) -> pd.DataFrame:
        horizon, levels = check_horizon(horizon), check_levels(levels)
        span = horizon
        if self.calibration is None:
            member_levels = levels
        elif self.unit == "scale":
            member_levels = ()
        else:
            member_levels = (validation.UNIT_LEVEL,)
            if self.unit == "own":  # the unit is the own width over the calibrated steps
                span = max(horizon, self.calibration.horizon)
        frames = [
            fitted.predict(span, member_levels).assign(_candidate=name)
            for name, fitted in self.members.items()
        ]
        every = pd.concat(frames, ignore_index=True)
        every["unique_id"] = every["unique_id"].astype(str)
        value_columns = ["mean", *interval_columns(member_levels)]
        every = pd.concat([every, *self._blend_frames(every, value_columns)], ignore_index=True)
        wanted = pd.DataFrame(
            [(uid, name) for uid, names in self.choices.items() for name in names],
            columns=["unique_id", "_candidate"],
        )
        chosen = every.merge(wanted, on=["unique_id", "_candidate"], how="inner")
        # Averaging bounds as well as means: quantile averaging, as ensemble does.
        combined = chosen.groupby(["unique_id", "ds"], sort=False)[value_columns].mean().reset_index()
        series_order = pd.Categorical(combined["unique_id"], categories=list(self.choices), ordered=True)
        combined = (
            combined.assign(_order=series_order)
            .sort_values(["_order", "ds"], kind="stable")
            .drop(columns="_order")
            .reset_index(drop=True)
        )
        if self.calibration is not None:
            self._conformal_bounds(combined, horizon, levels)
        if span > horizon:
            combined = combined[combined.groupby("unique_id", sort=False).cumcount() < horizon]
            combined = combined.reset_index(drop=True)
        # Only the forecast made is floored, not the validation's: a floor there moved choices and
        # widths (demand choice OWA 0.510 -> 0.512), where here it can only bring a forecast and
        # its bounds closer to a value that is not negative (MSIS 8.52 -> 8.04).
        return validation.floor_at_zero(combined, self.floored, ["mean", *interval_columns(levels)])

    def _blend_frames(self, every: pd.DataFrame, value_columns: list[str]) -> list[pd.DataFrame]:
        """Forecasts of each chosen blend: its parts' forecasts averaged, where all of them forecast."""
        blends = {name for names in self.choices.values() for name in names if name not in self.members}
        frames = []
        for blend in sorted(blends):
            parts = validation.blend_parts(blend)
            rows = every[every["_candidate"].isin(parts)]
            grouped = rows.groupby(["unique_id", "ds"], sort=False)
            blended = grouped[value_columns].mean().assign(_parts=grouped["_candidate"].nunique())
            blended = blended[blended["_parts"] == len(parts)].drop(columns="_parts")
            frames.append(blended.reset_index().assign(_candidate=blend))
        return frames

    def _conformal_bounds(self, frame: pd.DataFrame, horizon: int, levels: Sequence[int]) -> None:
        assert self.calibration is not None
        steps = frame.groupby("unique_id", sort=False).cumcount().to_numpy()
        scale = frame["unique_id"].map(self.scales).fillna(1.0).to_numpy()
        if self.unit != "scale":
            own = validation.half_widths(frame)
            if self.unit == "own":
                calibrated = steps < self.calibration.horizon
                own = own.where(calibrated).groupby(frame["unique_id"], sort=False).transform("mean")
            own = own.to_numpy()
            scale = np.where(scale == 0, 0.0, np.where(np.isfinite(own), own, scale * self.unit_ratio))
            frame.drop(columns=interval_columns((validation.UNIT_LEVEL,)), inplace=True)
        for level in levels:
            width = self.calibration.half_width(level, int(steps.max()) + 1)[steps] * scale
            frame[f"lo-{level}"] = frame["mean"] - width
            frame[f"hi-{level}"] = frame["mean"] + width

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta: dict[str, Any] = {
            "choices": self.choices,
            "members": {},
            "score_series": list(map(str, self.scores.index)),
            "score_candidates": list(self.scores.columns),
            "scales": self.scales,
            "explanations": self.explanations,
            "costs": self.costs,
            "calibrated": self.calibration is not None,
            "unit": self.unit,
            "unit_ratio": self.unit_ratio,
            "floored": sorted(self.floored),
        }
        arrays = {"scores": self.scores.to_numpy(dtype=float)}
        if self.calibration is not None:
            arrays |= self.calibration.arrays("calibration/")
        for name, fitted in self.members.items():
            member_meta, member_arrays = fitted.to_state()
            meta["members"][name] = {"family": fitted.family, "state": member_meta}
            arrays |= {f"member/{name}/{key}": value for key, value in member_arrays.items()}
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> AutoFitted:
        members = {}
        for name, entry in meta["members"].items():
            prefix = f"member/{name}/"
            own = {key[len(prefix) :]: value for key, value in arrays.items() if key.startswith(prefix)}
            members[name] = get_family(entry["family"]).FittedType.from_state(entry["state"], own)
        scores = pd.DataFrame(arrays["scores"], index=meta["score_series"], columns=meta["score_candidates"])
        calibration = StepCalibration.from_arrays(arrays, "calibration/") if meta.get("calibrated") else None
        return cls(
            members,
            {uid: list(names) for uid, names in meta["choices"].items()},
            scores,
            calibration,
            {uid: float(value) for uid, value in meta.get("scales", {}).items()},
            dict(meta.get("explanations", {})),
            dict(meta.get("costs", {})),
            str(meta.get("unit", "scale")),
            float(meta.get("unit_ratio", 1.0)),
            set(meta.get("floored", [])),  # none in a model saved before the floor existed
        )


@register
class Auto(ModelFamily):
    name = "auto"
    task = "timeseries"
    description = (
        "Per series, the candidate that validated best on rolling origins (seasonal naive always among "
        "them), or the average of near-ties; conformal intervals from the same windows."
    )
    Config = AutoConfig
    FittedType = AutoFitted

    def fit(
        self, train: pd.DataFrame, config: Hyperparameters, spec: DataSpec, context: FitContext | None = None
    ) -> AutoFitted:
        config = own_config(config, AutoConfig)
        names, default_configs = (
            (list(config.candidates), {}) if config.candidates else default_candidates(train, spec, config)
        )
        if any(candidate_family(name) == self.name for name in names):
            raise ForecastingError("auto cannot be its own candidate")
        families = {name: get_family(candidate_family(name)) for name in names}
        raw_configs = {**default_configs, **config.candidate_configs}
        settings = {
            name: nested_config(families[name], raw_configs.get(name), f"candidate {name}")
            for name in families
        }
        series_ids = sorted(pd.unique(train["unique_id"].astype(str)))  # the order every family returns
        costs: dict[str, dict[str, float]] = {name: {} for name in names}
        calibration: StepCalibration | None = None
        explanations: dict[str, str] = {}
        # Candidates ready to forecast the end before the choice: validation fits that can, and
        # global candidates fitted on all the data while the network trained.
        reused: dict[str, Fitted] = {}
        factors: dict[str, float] = {}
        unit, unit_ratio = "scale", 1.0
        floored = validation.never_negative(train) if config.floor == "zero" else set()
        if config.selection == "all":
            scores = pd.DataFrame(np.nan, index=series_ids, columns=names)
            choices = {uid: list(names) for uid in series_ids}
        else:
            control = (context or FitContext()).control
            forecasts, reused = self._validate(train, families, settings, spec, config, costs, control)
            blends = default_blends(names, spec) if config.blends is None else config.blends
            forecasts, names = self._add_blends(forecasts, names, blends)
            offsets = validation.window_offsets(config.horizon, config.n_windows, config.step)
            cut = max(offsets) + config.horizon
            early_scales = validation.series_scales(train, spec.season_length, cut)
            metrics = validation.window_scores(forecasts, early_scales) if len(forecasts) else forecasts
            scores = (
                validation.relative_scores(metrics).reindex(index=series_ids, columns=names)
                if len(forecasts)
                else pd.DataFrame(np.inf, index=series_ids, columns=names)
            )
            own_scores, scores = scores, self._pool(metrics, scores, config)
            choices = validation.choose(scores, names, config.selection, config.top_k, config.tolerance)
            baselines = [n for n in names if candidate_family(n) in BASELINE_FAMILIES]
            explanations = {
                uid: validation.explain(
                    uid, kept, scores.loc[uid], config.tolerance, baselines, own_scores.loc[uid]
                )
                for uid, kept in choices.items()
            }
            if config.intervals == "conformal" and len(forecasts):
                calibration, unit, factors = self._calibrate(forecasts, choices, early_scales, config)
                if unit != "scale":
                    unit_ratio = validation.typical_width_ratio(forecasts, early_scales)
        for uid, kept in choices.items():
            if not kept:  # too short to validate: the first candidate, as configured
                choices[uid] = [names[0]]
        context = context or FitContext()
        members = self._fit_members(
            train, families, settings, spec, choices, FitContext(control=context.control), costs, reused
        )
        # Interval widths are in units of each series' scale times how hard it was to forecast; a
        # series that never moved has no scale (0: its forecast is its level, with no width),
        # where the fallback scale of 1 would give it bounds in arbitrary units.
        flat = validation.never_moved(train)
        scales = {
            uid: 0.0 if uid in flat else scale * factors.get(uid, 1.0)
            for uid, scale in validation.series_scales(train, spec.season_length).items()
        }
        fitted = AutoFitted(
            members, choices, scores, calibration, scales, explanations, costs, unit, unit_ratio, floored
        )
        summary = {
            "epochs_run": 0,
            "series": len(choices),
            "family": self.name,
            "stopped_reason": None,
            "chosen": fitted.choice_counts(),
            "interval_unit": fitted.unit if calibration is not None else None,
            "costs": validation.cost_table(costs),
        }
        for callback in context.callbacks:
            callback.on_train_end(summary, context.control)
        return fitted

    def _validate(
        self,
        train: pd.DataFrame,
        families: dict[str, ModelFamily],
        settings: dict[str, Hyperparameters],
        spec: DataSpec,
        config: AutoConfig,
        costs: dict[str, dict[str, float]],
        control: Any = None,
    ) -> tuple[pd.DataFrame, dict[str, Fitted]]:
        """Every candidate's validation forecasts, and the fits that can forecast the final
        horizon as they are (``reuse_validation_fit``). With ``workers`` above 1 the candidates
        that fit beside others (``ModelFamily.fits_beside_others``) are validated in threads while
        the rest go on in this one, which then, while it waits, fits the global candidates it
        validated on all the data (``_fit_while_waiting``); the forecasts are gathered in the
        candidates' order either way."""
        beside = [n for n, f in families.items() if f.fits_beside_others] if config.workers > 1 else []
        outcomes: dict[str, tuple[pd.DataFrame, Fitted | None] | None] = {}

        def validate(name: str) -> tuple[pd.DataFrame, Fitted | None] | None:
            return self._validate_one(name, families[name], train, settings[name], spec, config, costs)

        with ThreadPoolExecutor(max_workers=max(1, config.workers - 1)) as pool:
            pending = {name: pool.submit(validate, name) for name in beside}
            for name in families:
                if name not in pending:
                    outcomes[name] = validate(name)
            ready = self._fit_while_waiting(
                list(pending.values()), outcomes, families, train, settings, spec, costs, control
            )
            for name, future in pending.items():
                outcomes[name] = future.result()  # re-raises what the thread raised
        results, reused = [], dict(ready)
        for name in families:  # the candidates' order, whichever finished first
            outcome = outcomes[name]
            if outcome is None:
                continue  # a candidate that cannot fit this data (e.g. mstl without a season) is not chosen
            forecasts, fitted = outcome
            if fitted is not None:
                reused[name] = fitted
            results.append(forecasts.assign(candidate=name))
        if not results:
            return pd.DataFrame(columns=[*validation.FORECAST_COLUMNS, "candidate"]), reused
        return pd.concat(results, ignore_index=True), reused

    @staticmethod
    def _fit_while_waiting(
        waiting: list[Future[Any]],
        outcomes: dict[str, tuple[pd.DataFrame, Fitted | None] | None],
        families: dict[str, ModelFamily],
        train: pd.DataFrame,
        settings: dict[str, Hyperparameters],
        spec: DataSpec,
        costs: dict[str, dict[str, float]],
        control: Any,
    ) -> dict[str, Fitted]:
        """While a candidate is still validating in its thread (the network, for ~20 s on 400
        hourly series), this thread would only wait: it fits the global candidates it validated
        (``learns_across_series``, fitted on every series whatever chose them, so the fit is the
        one ``_fit_members`` would make) on all the data now, instead of after the choice. On two
        cores that takes their final fits off the wall clock (global_ar's ~1.3 s on 400 x 1,000 h,
        gbm's too on panels below ``gbm.REUSE_FROM_POINTS``). A candidate no series then chooses
        was fitted for nothing, so none starts once nothing is left to wait for; one that cannot
        fit is left to ``_fit_members``, which raises only if a series chose it."""
        ready: dict[str, Fitted] = {}
        for name, family in families.items():
            if all(future.done() for future in waiting):
                break
            outcome = outcomes.get(name)
            global_model = getattr(family, "learns_across_series", False)
            if outcome is None or outcome[1] is not None or not global_model:
                continue  # not validated here, already ready to forecast, or fitted per series
            started = time.perf_counter()
            try:
                # One BLAS thread: numpy's second thread spinning on the network's core slowed the
                # network by as much as fitting early saved (400 x 1,000 h: no faster); with one,
                # 25.0 / 26.1 s wall against 26.2 / 27.5 s fitting after the choice.
                with threadpool_limits(limits=1, user_api="blas"):
                    ready[name] = family.fit(train, settings[name], spec, FitContext(control=control))
            except ForecastingError:
                continue
            costs[name]["final_fit_s"] = time.perf_counter() - started
        return ready

    @staticmethod
    def _validate_one(
        name: str,
        family: ModelFamily,
        train: pd.DataFrame,
        settings: Hyperparameters,
        spec: DataSpec,
        config: AutoConfig,
        costs: dict[str, dict[str, float]],
    ) -> tuple[pd.DataFrame, Fitted | None] | None:
        """One candidate's validation forecasts and, where it can forecast the final horizon as
        it is, its fit (None where the family prefers a refit); None where it cannot fit the data."""
        started = time.perf_counter()
        request = (
            train,
            family,
            settings,
            spec,
            config.horizon,
            config.n_windows,
            config.step,
            config.intervals == "conformal" and config.interval_unit != "scale",
        )
        try:
            with_fit = validation.validation_fit(*request) if config.reuse_validation_fit else None
            if with_fit is None:
                return validation.validation_forecasts(*request), None
            return with_fit  # the fit is None where the family prefers a refit (gbm on small panels)
        except ForecastingError:
            return None
        finally:
            costs[name]["validation_s"] = time.perf_counter() - started

    @staticmethod
    def _add_blends(
        forecasts: pd.DataFrame, names: list[str], blends: list[str]
    ) -> tuple[pd.DataFrame, list[str]]:
        """The validation forecasts of every blend whose parts were all validated, as candidates
        of their own (no fit: the parts' forecasts averaged)."""
        frames, added = [forecasts], []
        for blend in blends:
            frame = validation.blend_forecasts(forecasts, blend) if len(forecasts) else forecasts.iloc[:0]
            if len(frame) and blend not in names:
                frames.append(frame)
                added.append(blend)
        return pd.concat(frames, ignore_index=True), [*names, *added]

    def _calibrate(
        self,
        forecasts: pd.DataFrame,
        choices: dict[str, list[str]],
        scales: pd.Series,
        config: AutoConfig,
    ) -> tuple[StepCalibration | None, str, dict[str, float]]:
        """Conformal calibration on the validation errors in the configured unit; with "auto",
        in each unit the candidates allow, keeping the one whose intervals come out narrower on
        those same windows (both cover 95% of them by construction)."""
        units = ["own", "scale"] if config.interval_unit == "auto" else [config.interval_unit]
        if not self._every_candidate_has_widths(forecasts):
            units = ["scale"]
        best: tuple[float, StepCalibration | None, str, dict[str, float]] = (np.inf, None, "scale", {})
        for unit in units:
            errors, rows, relative = self._errors(forecasts, choices, scales, config, unit)
            factors = {}
            if config.interval_spread == "series" and unit == "scale":  # own widths know the series
                factors = validation.spread_factors(errors, rows)
                errors = errors / np.array([factors.get(uid, 1.0) for uid in rows])[:, None]
            if np.isfinite(errors).sum() < 2 * config.horizon:
                continue
            # Widths per step already grow with the horizon: what is left may fall.
            calibration = StepCalibration.from_errors(errors, monotone=unit != "own_steps")
            width = validation.validation_width(calibration, errors, relative) if len(units) > 1 else 0.0
            if best[1] is None or width < best[0]:
                best = (width, calibration, unit, factors)
        return best[1], best[2], best[3]

    @staticmethod
    def _pool(metrics: pd.DataFrame, scores: pd.DataFrame, config: AutoConfig) -> pd.DataFrame:
        if config.pooling == "evidence":
            return validation.evidence_pooled_scores(metrics, scores)
        return validation.pool_scores(scores, float(config.pooling))

    @staticmethod
    def _errors(
        forecasts: pd.DataFrame,
        choices: dict[str, list[str]],
        scales: pd.Series,
        config: AutoConfig,
        unit: str,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The errors the intervals are calibrated on: of the final choice on every window, or
        (``calibration="crossfit"``) on each window of the choice the other windows make."""
        windows = sorted(forecasts["window"].unique())
        if config.calibration == "same" or len(windows) < 2:
            return validation.combined_errors(forecasts, choices, scales, config.horizon, unit)
        names = list(forecasts["candidate"].unique())
        parts = []
        for window in windows:
            others = forecasts[forecasts["window"] != window]
            metrics = validation.window_scores(others, scales)
            scores = validation.relative_scores(metrics).reindex(columns=names)
            scores = Auto._pool(metrics, scores, config)
            chosen = validation.choose(scores, names, config.selection, config.top_k, config.tolerance)
            parts.append(
                validation.combined_errors(
                    forecasts[forecasts["window"] == window], chosen, scales, config.horizon, unit
                )
            )
        return tuple(np.concatenate(arrays) for arrays in zip(*parts, strict=True))  # type: ignore[return-value]

    @staticmethod
    def _every_candidate_has_widths(forecasts: pd.DataFrame) -> bool:
        """Own widths are the unit only when every validated candidate gave some: one without
        would leave the series that chose it out of the calibration."""
        if "width" not in forecasts:
            return False
        return bool(forecasts.groupby("candidate")["width"].count().gt(0).all())

    def _fit_members(
        self,
        train: pd.DataFrame,
        families: dict[str, ModelFamily],
        settings: dict[str, Hyperparameters],
        spec: DataSpec,
        choices: dict[str, list[str]],
        context: FitContext,
        costs: dict[str, dict[str, float]],
        reused: dict[str, Fitted],
    ) -> dict[str, Fitted]:
        ids = train["unique_id"].astype(str)
        members = {}
        for name, family in families.items():
            wanted = {
                uid for uid, kept in choices.items() if any(name in validation.blend_parts(k) for k in kept)
            }
            if wanted and name in reused:
                members[name] = reused[name]  # already forecasts from every series' end
            elif wanted:
                started = time.perf_counter()
                # A global model is fitted on every series, as it was validated: the series that
                # did not choose it still teach it shapes (only the chosen ones are read from it).
                subset = train if getattr(family, "learns_across_series", False) else train[ids.isin(wanted)]
                members[name] = family.fit(subset, settings[name], spec, context)
                costs[name]["final_fit_s"] = time.perf_counter() - started
        return members
