"""The best run on a score: direction per metric, coverage nearest nominal, never across datasets."""

from __future__ import annotations

from helios.training import scoreboard


def test_lower_is_better_metrics_star_the_lowest() -> None:
    assert scoreboard.best_run("mase", {1: 1.4, 2: 0.9, 3: 1.1}) == 2
    assert scoreboard.direction("mase") == "lower is better"


def test_coverage_is_best_nearest_its_nominal_level_not_lowest_or_highest() -> None:
    assert scoreboard.best_run("coverage_95", {1: 0.12, 2: 0.99, 3: 0.94}) == 3
    assert scoreboard.direction("coverage_95") == "nearest 95% is best"
    assert scoreboard.direction("coverage_80") == "nearest 80% is best"


def test_no_star_without_a_direction_a_rival_or_a_clear_winner() -> None:
    assert scoreboard.best_run("epochs_run", {1: 3, 2: 5}) is None  # unknown direction
    assert scoreboard.best_run("mae", {1: 2.0, 2: None}) is None  # one scored run
    assert scoreboard.best_run("mae", {1: 2.0, 2: 2.0}) is None  # a tie
    assert scoreboard.best_run("mae", {1: float("nan"), 2: 2.0, 3: 1.0}) == 3


def test_runs_on_different_dataset_versions_are_not_comparable() -> None:
    assert scoreboard.same_data({1: "stocks v1", 2: "stocks v1"})
    assert not scoreboard.same_data({1: "stocks v1", 2: "stocks v2"})
    notice = scoreboard.different_data_notice({1: "stocks v1", 2: "stocks v2"})
    assert "stocks v1, stocks v2" in notice and "none is starred" in notice


def test_scores_are_explained_in_words() -> None:
    words = scoreboard.explain({"mase": 1.53, "coverage_95": 0.12, "mae": 3.0, "smape": float("nan")})
    assert words["mase"] == "MASE 1.53: worse than the naive forecast does in training (1 = as good)"
    assert words["coverage_95"] == "95% interval covered 12% of the holdout: intervals too narrow"
    assert set(words) == {"mase", "coverage_95"}
    assert "better than the naive" in scoreboard.explain({"mase": 0.7})["mase"]
    assert "as claimed" in scoreboard.explain({"coverage_95": 0.94})["coverage_95"]


def test_draw_scores_say_plainly_when_there_is_no_skill() -> None:
    words = scoreboard.explain({"log_loss": 24.49, "uniform_log_loss": 24.43, "p_value": 0.99})
    assert words["log_loss"] == "log-loss 24.49 vs 24.43 for pure chance: no evidence of skill"
