"""Where each series stands in its seasons when the data carry no calendar.

With timestamps, the hour of the day and of the week are the same for every series, and a global
model (``gbm``'s phase features) learns the shape they share. Data given as integer steps
(``ds`` = 1, 2, 3... per series, as M4-style files are) have no such common clock: each series'
step 1 falls at whatever hour its recording began, so "position in the week" means something
different in every series and the shared shape is lost. Such series still say where they are
in their cycles through their own seasonal profile (the average week each one repeats), and
aligning those profiles across the panel gives every series a common phase again.

Measured on four hourly choice sets given as integer steps (BENCHMARKS.md, "Phases lined up by
the series' own profiles"): ``auto`` 0.519 -> 0.513 on demand, 0.830 -> 0.822 on extra, 0.517
-> 0.513 on synthetic, 0.631 -> 0.637 on ETTh1's windows. Where the given steps already agree
(steps counted from one clock), realigning by shape loses the real calendar (demand 0.510 ->
0.517), hence the test on the data first (``phases_disagree``).
"""

from __future__ import annotations

import numpy as np

# Profiles are averaged over at most this many of the latest cycles: recent enough to describe
# the series as it is, enough of them (4 weeks of hours) that one odd week does not set the phase.
PROFILE_CYCLES = 4
# The given phases count as disagreeing when the panel's profiles agree under them less than
# this share as well as they do once aligned. Steps cut at random points score 0.04-0.13 of
# the aligned agreement on the choice sets; steps counted from one clock 0.28-0.89 (lowest on a
# weather panel whose series peak at different hours of the day).
DISAGREEING = 1 / 3
REFINEMENTS = 3


def seasonal_profiles(values: np.ndarray, starts: np.ndarray, season: int) -> np.ndarray:
    """(series, season): each series' mean standardised value at each position of the season,
    over its last ``PROFILE_CYCLES`` cycles, centred on zero. ``values`` is left-padded with NaN;
    ``starts`` is the step number of each row's column 0, so column j is at position
    (starts + j) mod season."""
    n_series, n = values.shape
    columns = np.arange(max(0, n - PROFILE_CYCLES * season), n)
    window = values[:, columns]
    seen = np.isfinite(window)
    count = np.maximum(seen.sum(axis=1, keepdims=True), 1)
    filled = np.where(seen, window, 0.0)
    mean = filled.sum(axis=1, keepdims=True) / count
    spread = np.sqrt((np.where(seen, window - mean, 0.0) ** 2).sum(axis=1, keepdims=True) / count)
    z = (filled - mean) / np.where(spread > 0, spread, 1.0)
    position = np.mod(starts[:, None] + columns[None, :], season)
    rows = np.broadcast_to(np.arange(n_series)[:, None], position.shape)
    totals = np.zeros((n_series, season))
    counts = np.zeros((n_series, season))
    np.add.at(totals, (rows[seen], position[seen]), z[seen])
    np.add.at(counts, (rows[seen], position[seen]), 1.0)
    profiles = np.where(counts > 0, totals / np.maximum(counts, 1.0), 0.0)
    return profiles - profiles.mean(axis=1, keepdims=True)


def _unit_rows(profiles: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(profiles, axis=1, keepdims=True)
    return profiles / np.where(norms > 0, norms, 1.0)


def agreement(profiles: np.ndarray, weights: np.ndarray) -> float:
    """How alike the profiles are as they stand: the weighted mean correlation of each with the
    panel's weighted mean shape (1: one shape at one phase; near 0: shapes or phases scattered)."""
    unit = _unit_rows(profiles)
    reference = (unit * weights[:, None]).sum(axis=0)
    norm = np.linalg.norm(reference)
    if norm == 0 or weights.sum() == 0:
        return 0.0
    return float(np.average(unit @ (reference / norm), weights=weights))


def best_shifts(profiles: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per series, the shift k at which its profile rolled back by k best matches ``reference``
    (circular cross-correlation, through the FFT)."""
    season = profiles.shape[1]
    spectrum = np.fft.rfft(profiles, axis=1) * np.conj(np.fft.rfft(reference))[None, :]
    return np.argmax(np.fft.irfft(spectrum, n=season, axis=1), axis=1)


def rolled(profiles: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Each profile rolled back by its shift: position p of row i is its position p + shift."""
    season = profiles.shape[1]
    index = np.mod(np.arange(season)[None, :] + shifts[:, None], season)
    return np.take_along_axis(profiles, index, axis=1)


def alignment_shifts(profiles: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per series, how far to move its phase so that the panel's profiles line up: matched to
    the most seasonal series first, then (``REFINEMENTS`` times) to the weighted mean of the
    profiles aligned so far, so no single series sets the panel's phase."""
    reference = profiles[int(np.argmax(weights))]
    shifts = np.zeros(len(profiles), dtype=np.int64)
    for _ in range(REFINEMENTS):
        shifts = best_shifts(profiles, reference)
        reference = (rolled(profiles, shifts) * weights[:, None]).sum(axis=0)
    return shifts


def aligned_starts(
    values: np.ndarray, starts: np.ndarray, season: int, only_if_disagreeing: bool = True
) -> np.ndarray:
    """``starts`` (each row's step number at column 0) moved so that every series' own profile
    over ``season`` lines up with the panel's; with ``only_if_disagreeing``, only where the given
    steps disagree about the phase (``DISAGREEING``). As given where no series repeats a shape."""
    if season < 2 or len(values) < 2:
        return starts
    profiles = seasonal_profiles(values, starts, season)
    weights = profiles.std(axis=1)  # how seasonal each series is: a flat one cannot set a phase
    if not np.any(weights > 0):
        return starts
    shifts = alignment_shifts(profiles, weights)
    given, lined_up = agreement(profiles, weights), agreement(rolled(profiles, shifts), weights)
    if only_if_disagreeing and (lined_up <= 0 or given >= DISAGREEING * lined_up):
        return starts
    # Column j was at (start + j) mod season; it now sits where the panel's shape has it.
    return starts - shifts
