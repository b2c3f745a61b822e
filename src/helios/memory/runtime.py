"""What memory keeps for the life of a process: the embedder, the vector cache, word counts of the
full-text index, and the names other domains know (for finding entities in text), refreshed at
most once a minute."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from helios.core.artifacts import ArtifactStore
from helios.memory.embeddings import Embedder, MiniLmEmbedder, VectorIndex
from helios.memory.extraction import Lexicon
from helios.memory.fulltext import TermCounts

log = logging.getLogger(__name__)
LEXICON_TTL_S = 60.0
MAX_TICKERS_PER_DATASET = 5_000


@dataclass
class MemoryRuntime:
    embedder: Embedder
    half_life_days: float = 30.0
    purge_after_days: float = 30.0
    vectors: VectorIndex = field(init=False)
    terms: TermCounts = field(default_factory=TermCounts, init=False)
    _lexicon: tuple[float, Lexicon] | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.vectors = VectorIndex(self.embedder.dim)

    @classmethod
    def default(cls, half_life_days: float = 30.0, purge_after_days: float = 30.0) -> MemoryRuntime:
        return cls(MiniLmEmbedder(), half_life_days, purge_after_days)

    def lexicon(self, session: Session, store: ArtifactStore | None) -> Lexicon:
        with self._lock:
            cached = self._lexicon
        if cached and time.monotonic() - cached[0] < LEXICON_TTL_S:
            return cached[1]
        lexicon = known_names(session, store)
        with self._lock:
            self._lexicon = (time.monotonic(), lexicon)
        return lexicon

    def forget_lexicon(self) -> None:
        with self._lock:
            self._lexicon = None


def known_names(session: Session, store: ArtifactStore | None) -> Lexicon:
    """Tickers, model names and dataset names, through the datasets and registry services."""
    from helios.datasets import service as datasets
    from helios.registry import views as registry

    found = _all_datasets(session)
    tickers: set[str] = set()
    for dataset in found:
        if store is None or dataset.kind != "timeseries" or dataset.latest is None:
            continue
        try:
            names = datasets.series_names(session, store, dataset.name, dataset.latest.version)
        except Exception:  # an unreadable artifact must not stop memories being written
            log.warning("could not read the series of dataset %s", dataset.name, exc_info=True)
            continue
        tickers.update(n for n in names[:MAX_TICKERS_PER_DATASET] if n.isupper())
    models = {m.name.casefold() for m in registry.list_models(session, limit=200).items}
    return Lexicon(frozenset(tickers), frozenset(models), frozenset(d.name.casefold() for d in found))


def _all_datasets(session: Session):  # type: ignore[no-untyped-def]
    # The datasets domain is moving its read side into datasets/views.py; take whichever is there.
    try:
        from helios.datasets.views import all_datasets
    except ImportError:
        from helios.datasets.service import list_datasets as all_datasets  # type: ignore[attr-defined,no-redef]
    return all_datasets(session)
