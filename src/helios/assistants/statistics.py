"""The numbers behind prompt tests and A/B experiments, free of the database.

- ``wilson``: a binomial interval that behaves at 0/N and N/N (prompt test pass rates);
- ``mean_interval``: a normal interval for a mean of outcomes in [0, 1];
- ``prob_best``: P(each variant has the highest mean outcome), from Beta posteriors (outcomes in
  [0, 1] enter as fractional successes), by Monte Carlo with a fixed seed so a page reload does
  not flicker;
- ``msprt``: the mixture sequential probability ratio test (Johari, Pekelis & Walsh, "Always Valid
  Inference", 2017) for the difference of two means. Its p-value ``min(1, 1/Lambda_n)`` stays
  valid however often it is looked at (Ville's inequality bounds the chance that the likelihood
  ratio ever crosses 1/alpha under no difference), which is the point: people peek at live
  results after every outcome. The variance is plugged in from the data, so no verdict is given
  before ``MIN_PER_ARM`` outcomes in each arm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054
MIN_PER_ARM = 30
# Mixing spread of the effect under the alternative: effects around 5-10 points are the ones
# worth detecting for a prompt change (benchmarks/assistants.py measures the consequences).
TAU = 0.08


def wilson(passed: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = passed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(total: float, total_sq: float, n: int) -> tuple[float | None, float | None]:
    if n < 2:
        return None, None
    mean = total / n
    variance = max(0.0, (total_sq - n * mean * mean) / (n - 1))
    half = Z95 * math.sqrt(variance / n)
    return max(0.0, mean - half), min(1.0, mean + half)


def prob_best(successes: list[float], counts: list[int], draws: int = 20_000, seed: int = 7) -> list[float]:
    if not counts:
        return []
    rng = np.random.default_rng(seed)
    samples = np.stack(
        [rng.beta(1 + s, 1 + max(0.0, n - s), size=draws) for s, n in zip(successes, counts, strict=True)]
    )
    wins = np.bincount(samples.argmax(axis=0), minlength=len(counts))
    return [float(w) / draws for w in wins]


@dataclass(frozen=True)
class Sequential:
    p_value: float | None  # always-valid; None before MIN_PER_ARM outcomes per arm
    difference: float | None  # treatment mean - control mean
    decided: bool


def msprt(
    control: tuple[float, float, int], treatment: tuple[float, float, int], alpha: float, tau: float = TAU
) -> Sequential:
    """``control``/``treatment`` are (sum, sum of squares, n) of outcomes in [0, 1]."""
    (s0, q0, n0), (s1, q1, n1) = control, treatment
    if min(n0, n1) < MIN_PER_ARM:
        return Sequential(None, None, False)
    log_lambda = float(log_likelihood_ratio(s0, q0, n0, s1, q1, n1, tau))
    p = 1.0 if log_lambda <= 0 else min(1.0, math.exp(-log_lambda))
    return Sequential(p, s1 / n1 - s0 / n0, p <= alpha)


def log_likelihood_ratio(s0, q0, n0, s1, q1, n1, tau: float = TAU):  # type: ignore[no-untyped-def]
    """log Lambda_n of the normal-mixture SPRT for mean1 - mean0 = 0, with plug-in variances.
    Works on floats and on numpy arrays alike (the benchmark simulates thousands of streams)."""
    m0, m1 = s0 / n0, s1 / n1
    var0 = np.maximum((q0 - n0 * m0 * m0) / (n0 - 1), 1e-6)
    var1 = np.maximum((q1 - n1 * m1 * m1) / (n1 - 1), 1e-6)
    v = var0 / n0 + var1 / n1
    delta = m1 - m0
    return 0.5 * np.log(v / (v + tau * tau)) + delta * delta * tau * tau / (2 * v * (v + tau * tau))
