"""Memories that say the same thing again, among a search's best candidates.

An agent's memory of a conversation holds many near-copies ("Thanks, that's all for NVDA today."
on a dozen days); ranked on their own they fill the first places with one statement and push
everything else out of the top k. So the best ``depth`` candidates are grouped by the cosine of
their stored vectors (a candidate joins the first better-ranked group whose leader it repeats at
``REPEAT_SIMILARITY`` or more), and each group keeps one place: the newest member's, since the
latest time something was said is the one that holds now; the older copies are scaled by
``REPEAT_FACTOR``, below it. A query that names a time window keeps the best-ranked member
instead: there, which day said it is the question. The work is bounded by ``depth`` (that many
vectors from the search's vector cache, a depth x depth product), never by the agent's memory count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

# Chosen on the tune half of benchmarks/memory_corpus.py (BENCHMARKS.md, 2026-12-02 evening).
REPEAT_SIMILARITY = 0.95
REPEAT_FACTOR = 0.5


def groups(ranked: Sequence[int], found: dict[int, np.ndarray]) -> list[list[int]]:
    """``ranked`` (best first) split into groups of repeats, each in rank order, its leader first;
    a memory without a vector is a group of its own."""
    with_vector = [m for m in ranked if m in found]
    position = {m: i for i, m in enumerate(with_vector)}
    similar = np.zeros((0, 0), dtype=np.float32)
    if with_vector:
        matrix = np.stack([found[m] for m in with_vector])
        similar = matrix @ matrix.T
    leaders: list[int] = []  # of groups that have a vector
    members: dict[int, list[int]] = {}
    for memory_id in ranked:
        leader = None
        if memory_id in position:
            row = similar[position[memory_id]]
            leader = next((g for g in leaders if row[position[g]] >= REPEAT_SIMILARITY), None)
            if leader is None:
                leaders.append(memory_id)
        if leader is None:
            members[memory_id] = [memory_id]
        else:
            members[leader].append(memory_id)
    return list(members.values())


def collapse(
    scores: dict[int, float], group: list[int], said_at: dict[int, dt.datetime], newest_first: bool
) -> None:
    """One place for the group: the leader's score goes to its newest member (or stays with the
    leader), the others are scaled below it."""
    speaker = max(group, key=lambda m: (said_at[m], m)) if newest_first else group[0]
    best = scores[group[0]]
    for memory_id in group:
        scores[memory_id] = min(scores[memory_id], best) * REPEAT_FACTOR
    scores[speaker] = best
