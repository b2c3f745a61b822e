"""Regex assertions run in RE2, an engine whose matching time grows linearly with the text.

A test set's pattern is typed by a person and run against every model output of a test run, in
the server's worker. Python's ``re`` backtracks: ``(a+)+$`` against fifty ``a`` and a ``b`` takes
longer than the universe has existed. RE2 never backtracks, so every pattern it accepts matches in
time linear in the output; the price is that look-around and backreferences (which need
backtracking) are not part of its syntax, and such a pattern is refused when the test set is saved.
Compiled programs are capped in memory, so a pattern like ``(x{1000}){1000}`` is refused too.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

MAX_PROGRAM_BYTES = 8 << 20


class PatternError(ValueError):
    """A pattern RE2 does not accept; the message says why in RE2's words."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # refusals are reported to the caller, not written to stderr
    options.max_mem = MAX_PROGRAM_BYTES
    return options


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Any:
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise PatternError(
            f"not a pattern the linear-time engine (RE2) accepts: {text}; look-around and "
            "backreferences are not supported"
        ) from None


def matches(pattern: str, text: str) -> bool:
    """Whether ``pattern`` is found anywhere in ``text`` (``re.search`` semantics)."""
    return compile_pattern(pattern).search(text) is not None
