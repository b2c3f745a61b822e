"""Near-copies among search candidates: grouped by their vectors, one place per group."""

from __future__ import annotations

import datetime as dt

import numpy as np

from helios.memory import repeats


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_copies_group_under_the_best_ranked_and_others_stay_alone() -> None:
    found = {1: unit(1, 0, 0), 2: unit(0, 1, 0), 3: unit(1, 0.05, 0), 4: unit(0.8, 0.6, 0)}
    assert repeats.groups([1, 2, 3, 4, 5], found) == [[1, 3], [2], [4], [5]]  # 5 has no vector


def test_the_newest_copy_takes_the_groups_place_unless_asked_by_rank() -> None:
    said_at = {1: dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 3: dt.datetime(2026, 3, 1, tzinfo=dt.UTC)}
    scores = {1: 0.8, 3: 0.7}
    repeats.collapse(scores, [1, 3], said_at, newest_first=True)
    assert scores == {3: 0.8, 1: 0.8 * repeats.REPEAT_FACTOR}
    scores = {1: 0.8, 3: 0.7}
    repeats.collapse(scores, [1, 3], said_at, newest_first=False)
    assert scores == {1: 0.8, 3: 0.7 * repeats.REPEAT_FACTOR}
