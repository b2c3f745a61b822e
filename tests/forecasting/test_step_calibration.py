"""Per-step conformal half-widths (``step_calibration.py``): what they are from the errors, and
the bound on what a calibration keeps."""

from __future__ import annotations

import numpy as np

from helios.forecasting.step_calibration import MAX_RATIOS, StepCalibration, bounded


def test_half_widths_cover_the_level_of_the_errors_they_were_calibrated_on() -> None:
    rng = np.random.default_rng(0)
    errors = rng.normal(0, 1, (4_000, 12)) * np.sqrt(np.arange(1, 13))  # spread grows with the step
    calibration = StepCalibration.from_errors(errors)
    width = calibration.half_width(95, 12)
    assert np.all(np.diff(width) >= 0)
    covered = np.mean(np.abs(errors) <= width[None, :])
    assert 0.94 <= covered <= 0.96


def test_a_calibration_from_millions_of_errors_keeps_a_bounded_sample_with_the_same_widths() -> None:
    rng = np.random.default_rng(1)
    errors = rng.standard_t(4, (60_000, 48))  # 2.9 million ratios, heavy-tailed
    calibration = StepCalibration.from_errors(errors)
    every_ratio = np.sort((np.abs(errors) / calibration.spread[None, :]).ravel())
    assert calibration.ratios.size == MAX_RATIOS
    assert calibration.ratios[0] > 0 and np.all(np.diff(calibration.ratios) >= 0)
    full = StepCalibration(calibration.spread, every_ratio)
    for level in (50, 80, 95, 99):
        np.testing.assert_allclose(calibration.half_width(level, 48), full.half_width(level, 48), rtol=2e-3)


def test_bounded_keeps_small_samples_whole_and_the_extremes_of_large_ones() -> None:
    small = np.arange(10.0)
    assert bounded(small) is small
    large = np.sort(np.random.default_rng(2).exponential(size=50_000))
    kept = bounded(large, most=1_000)
    assert kept.size == 1_000 and kept[0] == large[0] and kept[-1] == large[-1]
