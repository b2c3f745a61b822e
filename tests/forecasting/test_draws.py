"""Draw families: the rules of each era, tickets, state round trips, determinism, callbacks, checkpoints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from helios.forecasting.base import Callback, DataSpec, FitContext, ForecastingError, TrainingControl
from helios.forecasting.draw_forecast import DrawFitted, respect_rules
from helios.forecasting.draw_history import draw_history, next_draw_dates
from helios.forecasting.families import get_family
from helios.forecasting.rules import POWERBALL, GameRules, RuleEra

from .draw_samples import fair_draws, real_powerball_draws

torch.set_num_threads(1)

DRAW_FAMILIES = ["uniform_chance", "historical_frequency", "powerball_net"]
SMALL_NET = {"epochs": 3, "d_model": 16, "heads": 2, "layers": 1, "context_draws": 8, "seed": 3}
# One date in each Powerball era: 5 of 1-59 + 1 of 1-39, then 1-35 (2012), then 5 of 1-69 + 1 of 1-26 (2015).
ERA_DATES = {"2011-06-01": (59, 39), "2013-06-01": (59, 35), "2016-06-01": (69, 26)}


@pytest.fixture(scope="module")
def powerball_draws() -> pd.DataFrame:
    """Fair draws across all three Powerball eras, ending in 2016."""
    return fair_draws(POWERBALL, "2011-03-02", 560, seed=11)


def fit(
    name: str,
    draws: pd.DataFrame,
    *,
    rules: GameRules = POWERBALL,
    context: FitContext | None = None,
    **config: Any,
) -> DrawFitted:
    family = get_family(name)
    raw = {**SMALL_NET, **config} if name == "powerball_net" else config
    fitted = family.fit(draws, family.parse_config(raw), DataSpec(rules=rules), context)
    assert isinstance(fitted, DrawFitted)
    return fitted


@pytest.fixture(scope="module")
def fitted_models(powerball_draws: pd.DataFrame) -> dict[str, DrawFitted]:
    return {name: fit(name, powerball_draws) for name in DRAW_FAMILIES}


def test_draw_families_are_registered_with_their_schema() -> None:
    for name in DRAW_FAMILIES:
        family = get_family(name)
        assert family.task == "draws"
        assert family.description
    net = get_family("powerball_net")
    assert net.iterative
    properties = net.schema()["properties"]
    assert properties["epochs"]["default"] >= 1 and "maximum" in properties["epochs"]
    assert all(field.get("description") for field in properties.values())
    with pytest.raises(ValueError, match="multiple of heads"):
        net.parse_config({"d_model": 30, "heads": 4})
    with pytest.raises(ValueError):
        net.parse_config({"dropout": 1.5})
    with pytest.raises(ValueError):
        net.parse_config({"no_such_setting": 1})


@pytest.mark.parametrize("name", DRAW_FAMILIES)
@pytest.mark.parametrize("day", sorted(ERA_DATES))
def test_probabilities_obey_the_rules_in_force(
    fitted_models: dict[str, DrawFitted], name: str, day: str
) -> None:
    main_max, bonus_max = ERA_DATES[day]
    probabilities = fitted_models[name].probabilities(day)
    main = probabilities[probabilities.slot == "main"].set_index("number").probability
    bonus = probabilities[probabilities.slot == "bonus"].set_index("number").probability
    assert list(main.index) == list(range(1, 70)) and list(bonus.index) == list(range(1, 40))
    assert (main.loc[main_max + 1 :] == 0).all() and (bonus.loc[bonus_max + 1 :] == 0).all()
    assert (main.loc[:main_max] > 0).all() and (bonus.loc[:bonus_max] > 0).all()
    assert main.sum() == pytest.approx(5.0) and bonus.sum() == pytest.approx(1.0)
    assert probabilities.probability.between(0, 1).all()


@pytest.mark.parametrize("name", DRAW_FAMILIES)
@pytest.mark.parametrize("day", sorted(ERA_DATES))
def test_tickets_are_valid_under_the_rules_in_force(
    fitted_models: dict[str, DrawFitted], name: str, day: str
) -> None:
    main_max, bonus_max = ERA_DATES[day]
    tickets = fitted_models[name].tickets(40, seed=5, next_date=day)
    assert list(tickets.columns) == ["ticket", "n1", "n2", "n3", "n4", "n5", "bonus"]
    assert len(tickets) == 40
    main = tickets[["n1", "n2", "n3", "n4", "n5"]].to_numpy()
    assert ((main >= 1) & (main <= main_max)).all()
    assert (np.diff(main, axis=1) > 0).all()  # sorted, so also distinct
    assert tickets.bonus.between(1, bonus_max).all()
    pd.testing.assert_frame_equal(tickets, fitted_models[name].tickets(40, seed=5, next_date=day))
    assert not tickets.equals(fitted_models[name].tickets(40, seed=6, next_date=day))


def test_uniform_chance_is_exactly_uniform(fitted_models: dict[str, DrawFitted]) -> None:
    probabilities = fitted_models["uniform_chance"].probabilities("2016-06-01")
    allowed = probabilities[probabilities.probability > 0]
    assert np.allclose(allowed[allowed.slot == "main"].probability, 5 / 69)
    assert np.allclose(allowed[allowed.slot == "bonus"].probability, 1 / 26)


@pytest.mark.parametrize("name", DRAW_FAMILIES)
def test_state_round_trip_gives_identical_forecasts(
    fitted_models: dict[str, DrawFitted], name: str, tmp_path: Path
) -> None:
    fitted = fitted_models[name]
    meta, arrays = fitted.to_state()
    assert all(isinstance(a, np.ndarray) for a in arrays.values())
    # Through plain JSON and safetensors, as an artifact would store it: no pickle anywhere.
    from safetensors.numpy import load_file, save_file

    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp_path / "state.safetensors"))
    restored = type(fitted).from_state(
        json.loads(json.dumps(meta)), load_file(str(tmp_path / "state.safetensors"))
    )
    for day in (None, *ERA_DATES):
        pd.testing.assert_frame_equal(
            restored.probabilities(day), fitted.probabilities(day), check_exact=True
        )
    pd.testing.assert_frame_equal(restored.tickets(5, seed=1), fitted.tickets(5, seed=1))
    pd.testing.assert_frame_equal(restored.predict(3), fitted.predict(3), check_exact=True)


@pytest.mark.parametrize("name", DRAW_FAMILIES)
def test_artifact_round_trip_when_artifacts_exist(
    fitted_models: dict[str, DrawFitted], name: str, tmp_path: Path
) -> None:
    artifacts = pytest.importorskip("helios.forecasting.artifacts")
    fitted = fitted_models[name]
    # Written before artifacts.py existed: save_fitted(fitted, folder) -> where it went, load_fitted(where).
    saved = artifacts.save_fitted(fitted, tmp_path / name)
    loaded = artifacts.load_fitted(saved if isinstance(saved, str | Path) else tmp_path / name)
    pd.testing.assert_frame_equal(loaded.probabilities(), fitted.probabilities(), check_exact=True)


def test_predict_is_long_format_on_the_draw_weekdays(fitted_models: dict[str, DrawFitted]) -> None:
    fitted = fitted_models["historical_frequency"]
    forecast = fitted.predict(4)
    assert list(forecast.columns) == ["unique_id", "ds", "step", "slot", "number", "probability"]
    assert (forecast.unique_id == "powerball").all()
    dates = pd.DatetimeIndex(forecast.ds.unique())
    assert list(forecast.step.unique()) == [1, 2, 3, 4]
    assert set(dates.dayofweek) <= {2, 5} and dates.is_monotonic_increasing
    assert dates[0] > pd.Timestamp(fitted.history.ds[-1])
    totals = forecast.groupby(["step", "slot"]).probability.sum()
    assert np.allclose(totals.xs("main", level="slot"), 5) and np.allclose(
        totals.xs("bonus", level="slot"), 1
    )


def test_confident_weights_are_capped_at_certainty() -> None:
    allowed = np.arange(10) < 8  # numbers 9 and 10 not allowed
    weights = np.array([100.0, 50.0, 1, 1, 1, 1, 1, 1, 1000, 1000])
    probabilities = respect_rules(weights, allowed, total=3)
    assert probabilities[:2].tolist() == [1.0, 1.0] and (probabilities[8:] == 0).all()
    assert probabilities.sum() == pytest.approx(3.0) and np.allclose(probabilities[2:8], 1 / 6)
    assert np.allclose(respect_rules(np.zeros(10), allowed, total=3)[:8], 3 / 8)


def test_next_draw_dates_follow_a_schedule_change() -> None:
    # Wednesday/Saturday for months, then Monday/Wednesday/Saturday (Powerball, August 2021).
    old = pd.date_range("2021-01-01", "2021-08-20", freq="D")
    new = pd.date_range("2021-08-21", "2021-11-30", freq="D")
    ds = old[old.dayofweek.isin([2, 5])].append(new[new.dayofweek.isin([0, 2, 5])])
    upcoming = next_draw_dates(ds.to_numpy(), 6)
    assert set(upcoming.dayofweek) == {0, 2, 5}
    assert upcoming[0] == pd.Timestamp("2021-12-01")


def test_frequencies_are_normalised_per_era() -> None:
    # Before 2015 numbers 60-69 could not be drawn; afterwards 65 comes up in every draw.
    early = fair_draws(POWERBALL, "2014-01-01", 150, seed=2)
    late = fair_draws(POWERBALL, "2015-10-07", 60, seed=3, main_weights={65: 1e9})
    fitted = fit("historical_frequency", pd.concat([early, late], ignore_index=True))
    main = fitted.probabilities("2016-06-01").query("slot == 'main'").set_index("number").probability
    assert main.idxmax() == 65 and main.loc[65] > 0.5
    # The other new numbers were never drawn in their 60 chances; the old draws must not dilute them
    # further than that, so they stay within reach of the old numbers' typical probability.
    assert main.loc[[60, 61, 62, 63, 64, 66, 67, 68, 69]].mean() > 0.6 * main.loc[1:59].median()
    assert fitted.probabilities("2014-06-01").query("slot == 'main' and number > 59").probability.eq(0).all()


def test_draws_outside_their_era_are_rejected() -> None:
    draws = fair_draws(POWERBALL, "2013-01-02", 10, seed=1)
    draws.loc[4, "n5"] = 65  # only legal from October 2015
    with pytest.raises(ForecastingError, match="outside the rules in force"):
        draw_history(draws, POWERBALL)
    draws.loc[4, ["n4", "n5"]] = [40, 40]
    with pytest.raises(ForecastingError, match="repeated"):
        draw_history(draws, POWERBALL)
    with pytest.raises(ForecastingError, match="bonus"):
        draw_history(draws.drop(columns="bonus"), POWERBALL)
    with pytest.raises(ForecastingError, match="rules"):
        get_family("uniform_chance").fit(draws, get_family("uniform_chance").parse_config({}), DataSpec())


def test_unsorted_rows_are_put_in_order() -> None:
    draws = fair_draws(POWERBALL, "2016-01-02", 5, seed=1)
    draws.loc[2, ["n1", "n5"]] = draws.loc[2, ["n5", "n1"]].to_numpy()
    history = draw_history(draws.iloc[::-1], POWERBALL)
    assert (np.diff(history.main, axis=1) > 0).all()
    assert (np.diff(history.ds) > np.timedelta64(0)).all()


@pytest.mark.parametrize("bonus_count", [0, 2])
def test_games_without_or_with_several_bonus_balls(bonus_count: int) -> None:
    era = RuleEra(
        start="2020-01-01",
        main_count=6,
        main_max=45,
        bonus_count=bonus_count,
        bonus_max=10 if bonus_count else 0,
    )
    rules = GameRules(name="six_of_45", eras=[era])
    draws = fair_draws(rules, "2020-01-04", 120, seed=4)
    for name in DRAW_FAMILIES:
        fitted = fit(name, draws, rules=rules)
        probabilities = fitted.probabilities()
        assert probabilities.query("slot == 'main'").probability.sum() == pytest.approx(6)
        assert probabilities.query("slot == 'bonus'").probability.sum() == pytest.approx(bonus_count)
        tickets = fitted.tickets(3, seed=0)
        assert [c for c in tickets.columns if c.startswith("bonus")] == (
            ["bonus1", "bonus2"] if bonus_count else []
        )
        if bonus_count:
            assert (tickets.bonus1 < tickets.bonus2).all()


def test_powerball_net_is_deterministic_for_a_seed(powerball_draws: pd.DataFrame) -> None:
    first = fit("powerball_net", powerball_draws, epochs=2)
    again = fit("powerball_net", powerball_draws, epochs=2)
    other = fit("powerball_net", powerball_draws, epochs=2, seed=4)
    pd.testing.assert_frame_equal(first.probabilities(), again.probabilities(), check_exact=True)
    assert not np.allclose(first.probabilities().probability, other.probabilities().probability)


class StopAfter(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self.seen: list[tuple[int, dict[str, float]]] = []
        self.summary: dict[str, Any] = {}

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], control: TrainingControl) -> None:
        self.seen.append((epoch, metrics))
        if epoch >= self.epoch:
            control.request_stop("enough")

    def on_train_end(self, summary: dict[str, Any], control: TrainingControl) -> None:
        self.summary = summary


def test_powerball_net_reports_each_epoch_and_stops_when_asked(powerball_draws: pd.DataFrame) -> None:
    stopper = StopAfter(2)
    fit("powerball_net", powerball_draws, context=FitContext(callbacks=[stopper]), epochs=5)
    assert [epoch for epoch, _ in stopper.seen] == [1, 2]
    assert all({"train_loss", "val_loss"} <= set(metrics) for _, metrics in stopper.seen)
    assert stopper.summary["epochs_run"] == 2 and stopper.summary["stopped_reason"] == "enough"

    cancelled = StopAfter(99)
    fit(
        "powerball_net",
        powerball_draws,
        context=FitContext(callbacks=[cancelled], control=TrainingControl(lambda: True)),
    )
    assert cancelled.seen == [] and cancelled.summary["stopped_reason"] == "cancelled"


def test_powerball_net_early_stopping_restores_the_best_epoch(powerball_draws: pd.DataFrame) -> None:
    callbacks = pytest.importorskip("helios.forecasting.callbacks")
    early = callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best=True)
    recorder = StopAfter(99)
    fitted = fit(
        "powerball_net",
        powerball_draws,
        context=FitContext(callbacks=[early, recorder]),
        epochs=30,
        learning_rate=0.01,
    )
    summary = recorder.summary
    assert summary["stopped_reason"] == callbacks.EARLY_STOPPING_REASON
    assert summary["epochs_run"] < 30 and summary["restored_best"]
    assert early.best_epoch == min(recorder.seen, key=lambda row: row[1]["val_loss"])[0]
    assert fitted.training["best_epoch"] == early.best_epoch


def test_powerball_net_resumes_to_the_same_weights(powerball_draws: pd.DataFrame, tmp_path: Path) -> None:
    straight = fit(
        "powerball_net", powerball_draws, context=FitContext(checkpoint_dir=tmp_path / "a"), epochs=4
    )
    # Interrupted as a killed or cancelled job is (a stop a callback asks for is final, as for N-BEATS).
    interrupted = StopAfter(99)
    cancel_after_two = TrainingControl(lambda: len(interrupted.seen) >= 2)
    fit(
        "powerball_net",
        powerball_draws,
        context=FitContext([interrupted], cancel_after_two, checkpoint_dir=tmp_path / "b"),
        epochs=4,
    )
    assert interrupted.summary["stopped_reason"] == "cancelled"
    from helios.forecasting.nn import checkpoint as checkpoints  # the one format of every neural family

    saved = checkpoints.load_checkpoint(tmp_path / "b")
    assert saved is not None and saved.epoch == 2 and saved.optimizer_state and saved.best_model is not None
    assert saved.fingerprint["config"]["d_model"] == 16 and "rules_sha256" in saved.fingerprint
    assert [p.name for p in (tmp_path / "b").iterdir()] == [checkpoints.CHECKPOINT_NAME]
    resumed_epochs = StopAfter(99)
    resumed = fit(
        "powerball_net",
        powerball_draws,
        context=FitContext(callbacks=[resumed_epochs], checkpoint_dir=tmp_path / "b", resume=True),
        epochs=4,
    )
    assert [epoch for epoch, _ in resumed_epochs.seen] == [3, 4]
    pd.testing.assert_frame_equal(resumed.probabilities(), straight.probabilities(), check_exact=True)


def test_powerball_net_resume_keeps_early_stopping_progress_and_stays_stopped(
    powerball_draws: pd.DataFrame, tmp_path: Path
) -> None:
    """The same callbacks, the same way, as for N-BEATS: the shared loop checkpoints their progress."""
    callbacks = pytest.importorskip("helios.forecasting.callbacks")

    def run(resume: bool) -> tuple[DrawFitted, StopAfter]:
        recorder = StopAfter(99)
        never_better = callbacks.EarlyStopping(patience=1, min_delta=1e9)
        context = FitContext([never_better, recorder], checkpoint_dir=tmp_path, resume=resume)
        return fit("powerball_net", powerball_draws, context=context, epochs=6), recorder

    stopped, first = run(resume=False)
    again, resumed = run(resume=True)
    assert first.summary["stopped_reason"] == "early_stopping" and first.summary["epochs_run"] == 2
    assert resumed.seen == [] and resumed.summary == first.summary | {"resumed_from_epoch": 2}
    pd.testing.assert_frame_equal(again.probabilities(), stopped.probabilities(), check_exact=True)


def test_powerball_net_refuses_a_foreign_or_damaged_checkpoint(
    powerball_draws: pd.DataFrame, tmp_path: Path
) -> None:
    fit("powerball_net", powerball_draws, context=FitContext(checkpoint_dir=tmp_path), epochs=1)
    with pytest.raises(ForecastingError, match="another run .different data_sha256"):
        fit(
            "powerball_net",
            powerball_draws.iloc[:-1],
            context=FitContext(checkpoint_dir=tmp_path, resume=True),
        )
    with pytest.raises(ForecastingError, match="different config"):
        fit(
            "powerball_net",
            powerball_draws,
            context=FitContext(checkpoint_dir=tmp_path, resume=True),
            d_model=32,
        )
    weights = tmp_path / "checkpoint.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8])
    with pytest.raises(ForecastingError, match="cannot be read"):
        fit("powerball_net", powerball_draws, context=FitContext(checkpoint_dir=tmp_path, resume=True))


def test_draw_families_load_without_torch() -> None:
    code = "import sys, helios.forecasting.models.draws; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_real_powerball_history_respects_every_era() -> None:
    draws = real_powerball_draws()
    if draws is None:
        pytest.skip("the shared Powerball export is not present")
    history = draw_history(draws, POWERBALL)  # every real draw is legal under the era of its date
    assert len(history) == len(draws) and set(history.era_index(POWERBALL)) == {0, 1, 2}
    fitted = fit("historical_frequency", draws)
    for day, (main_max, bonus_max) in ERA_DATES.items():
        probabilities = fitted.probabilities(day)
        beyond_main = (probabilities.slot == "main") & (probabilities.number > main_max)
        beyond_bonus = (probabilities.slot == "bonus") & (probabilities.number > bonus_max)
        assert probabilities.probability[beyond_main | beyond_bonus].eq(0).all()
