"""Small pieces of English the pages share."""

from __future__ import annotations


def counted(n: int, one: str, many: str) -> str:
    """'1 memory', '3 memories', '0 memories'."""
    return f"{n:,} {one if n == 1 else many}"
