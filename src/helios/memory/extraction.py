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
    found: dict[str, tuple[str, str]] = {}
    phrase: list[str] = []
    phrase_starts_sentence = False

    def close_phrase() -> None:
        if phrase and not (len(phrase) == 1 and phrase_starts_sentence and phrase[0].lower() in _STARTERS):
            words = phrase[1:] if phrase[0].lower() in _STARTERS else phrase
            if words:
                name = " ".join(words)
                found.setdefault(name.casefold(), (name, "concept"))
        phrase.clear()

    for match in _TOKEN.finditer(content[:20_000]):
        token = match.group()
        kind = lexicon.known_type(token)
        if kind:
            close_phrase()
            found.setdefault(token.casefold() + "\0" + kind, (token, kind))
            continue
        gap = content[match.start() - 2 : match.start()] if phrase else ""
        if phrase and gap.strip():  # punctuation between words breaks a phrase
            close_phrase()
        if token[0].isupper() and not token.isupper() or (token.isupper() and len(token) > 1 and phrase):
            if not phrase:
                phrase_starts_sentence = bool(_SENTENCE_END.search(content[: match.start()]))
            phrase.append(token)
        else:
            close_phrase()
    close_phrase()
    return list(found.values())
