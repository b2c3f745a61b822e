"""How far a choice among the families scored can go at all, from ``hourly.py --scores``.

An oracle picks, knowing the test results, the family that did best: once per series (over all
of its origins), or once per series and origin. The first bounds what any per-series choice made
before the test (``auto``'s kind) could reach with these families; the second needs to know
which model wins each window in advance. OWA is computed as ``hourly.py`` does: mean sMAPE and
mean MASE over every (series, origin), each over Naive2's, halved and summed.

    .venv/bin/python benchmarks/hourly_ceiling.py /tmp/etth2_scores.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

REFERENCE = "naive2"


def ceilings(scores: pd.DataFrame, baseline: str = "seasonal_naive") -> pd.DataFrame:
    """OWA of every family, and of the two oracles, with how far each is below ``baseline``."""
    scores = scores.assign(origin=scores.groupby(["family", "unique_id"]).cumcount())
    reference = scores[scores["family"] == REFERENCE]
    smape, mase = reference["smape"].mean(), reference["mase"].mean()

    def owa(rows: pd.DataFrame) -> float:
        return 0.5 * (rows["smape"].mean() / smape + rows["mase"].mean() / mase)

    candidates = scores[scores["family"] != REFERENCE].assign(
        relative=lambda d: 0.5 * (d["smape"] / smape + d["mase"] / mase)
    )
    per_series = candidates.groupby(["unique_id", "family"])["relative"].mean().groupby("unique_id").idxmin()
    chosen = pd.MultiIndex.from_tuples(list(per_series))
    by_series = candidates.set_index(["unique_id", "family"]).loc[chosen]
    by_window = candidates.loc[candidates.groupby(["unique_id", "origin"])["relative"].idxmin()]
    rows = {family: owa(group) for family, group in candidates.groupby("family")}
    rows |= {"oracle: one family per series": owa(by_series), "oracle: per series and origin": owa(by_window)}
    table = pd.DataFrame({"owa": pd.Series(rows)}).sort_values("owa")
    table["below_baseline"] = 1 - table["owa"] / rows[baseline]
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scores", type=Path, help="the CSV `hourly.py --scores` wrote")
    parser.add_argument("--baseline", default="seasonal_naive")
    args = parser.parse_args()
    if not args.scores.is_file():
        parser.error(f"no scores file at {args.scores}: write one with hourly.py --scores")
    scores = pd.read_csv(args.scores)
    families = sorted(set(scores["family"]) - {REFERENCE})
    if REFERENCE not in set(scores["family"]) or args.baseline not in families:
        parser.error(f"the scores need {REFERENCE} and the baseline {args.baseline!r}; they have {families}")
    table = ceilings(scores, args.baseline)
    print(table.to_string(formatters={"owa": "{:.3f}".format, "below_baseline": "{:.1%}".format}))


if __name__ == "__main__":
    main()
