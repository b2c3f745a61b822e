"""Which way is better for each holdout score, and which of several runs is best on one.

Shared by the comparison page and ``helios jobs compare`` so both award the same star. Two rules a
person would expect: a coverage is best nearest its nominal level (96% is not better than 95%, and
0% is not "lowest is best"), and runs scored on different data are never ranked against each other."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

# Holdout metrics where less is better.
LOWER_IS_BETTER = frozenset(
    {"mae", "rmse", "smape", "mape", "mase", "msis", "log_loss", "train_loss", "val_loss"}
)
_COVERAGE = re.compile(r"^coverage_(\d{1,2})$")
# Intervals "cover far less than claimed" when more than this short of their level (95% -> under 80%).
UNDERCOVERAGE = 0.15


def nominal_level(metric: str) -> float | None:
    """``coverage_95`` -> 0.95; None for anything that is not an interval coverage."""
    match = _COVERAGE.match(metric)
    return int(match.group(1)) / 100 if match else None


def direction(metric: str) -> str | None:
    """How to read the metric, in words; None when no direction is known (then no run is starred)."""
    if metric in LOWER_IS_BETTER:
        return "lower is better"
    level = nominal_level(metric)
    if level is not None:
        return f"nearest {level:.0%} is best"
    return None


def _distance(metric: str, value: float) -> float | None:
    if metric in LOWER_IS_BETTER:
        return value
    level = nominal_level(metric)
    return abs(value - level) if level is not None else None


def best_run(metric: str, values: Mapping[int, Any]) -> int | None:
    """The one run (key) best on ``metric``; None with fewer than two scored runs, a tie, or no direction."""
    distances = {
        run: _distance(metric, float(value))
        for run, value in values.items()
        if isinstance(value, int | float) and math.isfinite(value)
    }
    scored = {run: d for run, d in distances.items() if d is not None}
    if len(scored) < 2:
        return None
    best = min(scored.values())
    winners = [run for run, d in scored.items() if math.isclose(d, best, rel_tol=1e-12, abs_tol=1e-12)]
    return winners[0] if len(winners) == 1 else None


def same_data(datasets: Mapping[int, str]) -> bool:
    """Whether every run was scored on the same dataset version (``name vN``): only then can one be best."""
    return len(set(datasets.values())) <= 1


def different_data_notice(datasets: Mapping[int, str]) -> str:
    names = ", ".join(sorted(set(datasets.values())))
    return (
        f"These runs were scored on different data ({names}): "
        "their scores are not comparable, so none is starred."
    )


def explain(scores: Mapping[str, Any]) -> dict[str, str]:
    """Holdout scores in words a newcomer can act on, by metric; metrics with no reading are left out."""
    words: dict[str, str] = {}
    for metric, value in scores.items():
        if not isinstance(value, int | float) or not math.isfinite(value):
            continue
        reading = _reading(metric, float(value), scores)
        if reading:
            words[metric] = reading
    return words


def _reading(metric: str, value: float, scores: Mapping[str, Any]) -> str | None:
    if metric == "mase":
        # MASE's yardstick is the naive forecast's error over the training data, not on the
        # holdout (where the validation plot compares the two): say so, or a seasonal naive
        # model reads "worse than the naive forecast" beside a plot where it equals it.
        if value < 0.95:
            return f"MASE {value:.2f}: better than the naive forecast does in training (1 = as good)"
        if value <= 1.05:
            return f"MASE {value:.2f}: about as good as the naive forecast does in training"
        return f"MASE {value:.2f}: worse than the naive forecast does in training (1 = as good)"
    level = nominal_level(metric)
    if level is not None:
        verdict = (
            "as claimed"
            if abs(value - level) <= 0.05
            else "intervals too narrow"
            if value < level
            else "intervals wider than needed"
        )
        return f"{level:.0%} interval covered {value:.0%} of the holdout: {verdict}"
    if metric == "log_loss" and isinstance(scores.get("uniform_log_loss"), int | float):
        p_value = scores.get("p_value")
        if isinstance(p_value, int | float) and p_value < 0.05:
            return f"log-loss {value:.2f}: better than chance (p = {p_value:.3f})"
        return (
            f"log-loss {value:.2f} vs {scores['uniform_log_loss']:.2f} for pure chance: no evidence of skill"
        )
    return None


def interval_warning(scores: Mapping[str, Any]) -> str | None:
    """A flag for a model whose holdout intervals cover far less than they claim; None when they hold."""
    for metric, value in sorted(scores.items()):
        level = nominal_level(metric)
        if level is not None and isinstance(value, int | float) and value < level - UNDERCOVERAGE:
            return f"{level:.0%} intervals covered only {value:.0%} of the holdout: far narrower than claimed"
    return None
