"""Entities in free text, by rules: known tickers, model and dataset names (from those domains'
services, through ``Lexicon``), and capitalised phrases. Structured triples skip this."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"[A-Za-z][\w.&'-]*[\w]|[A-Za-z]")
_SENTENCE_END = re.compile(r"[.!?]\s+$|^\s*$")
# Capitalised only because a sentence starts with them; never entities on their own.
_STARTERS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "i",
        "we",
        "you",
        "he",
        "she",
        "they",
        "our",
        "my",
        "your",
        "their",
        "there",
        "here",
        "when",
        "while",
        "after",
        "before",
        "if",
        "then",
        "yesterday",
        "today",
        "tomorrow",
        "also",
        "but",
        "and",
        "or",
        "so",
        "on",
        "in",
        "at",
        "for",
        "of",
        "to",
        "from",
        "by",
        "with",
        "as",
        "is",
        "was",
        "were",
        "be",
        "been",
        "note",
        "notes",
        "last",
        "next",
        "every",
        "each",
        "all",
        "some",
        "no",
        "not",
        "later",
        "however",
        "meanwhile",
        "since",
        "because",
        "although",
        "during",
        "until",
        "now",
        "soon",
        "again",
        "once",
        "why",
        "what",
        "how",
        "who",
        "where",
        "which",
    ]
)


@dataclass(frozen=True)
class Lexicon:
    """Names other domains know: ticker symbols, model names, dataset names."""

    tickers: frozenset[str] = frozenset()
    models: frozenset[str] = frozenset()
    datasets: frozenset[str] = frozenset()

    def known_type(self, name: str) -> str | None:
        if name in self.tickers:
            return "ticker"
        folded = name.casefold()
        if folded in self.models:
            return "model"
        if folded in self.datasets:
            return "dataset"
        return None


def entities_in(content: str, lexicon: Lexicon) -> list[tuple[str, str]]:
    """(name, type) pairs found in ``content``, first mention first, each once."""
    text = content[:20_000]
    found: dict[str, tuple[str, str]] = {}
    phrase: list[str] = []
    starts_sentence = False
    last_end = 0

    def close_phrase() -> None:
        # One capitalised word opening a sentence says nothing; a longer run loses a leading "The".
        words = phrase[1:] if phrase and phrase[0].lower() in _STARTERS else list(phrase)
        if words and not (len(phrase) == 1 and starts_sentence):
            name = " ".join(words)
            found.setdefault(name.casefold(), (name, "concept"))
        phrase.clear()

    for match in _TOKEN.finditer(text):
        token = match.group()
        if phrase and text[last_end : match.start()].strip():  # punctuation ends a phrase
            close_phrase()
        last_end = match.end()
        kind = lexicon.known_type(token)
        if kind:
            close_phrase()
            found.setdefault(token.casefold() + "\0" + kind, (token, kind))
        elif token[0].isupper() and (not token.isupper() or len(token) > 1):
            if not phrase:
                starts_sentence = bool(_SENTENCE_END.search(text[: match.start()]))
            phrase.append(token)
        else:
            close_phrase()
    close_phrase()
    return list(found.values())
