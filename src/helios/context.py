"""What a running Helios holds for its lifetime: settings, the database, the artifact store, the
inference cache, the event bus and the housekeeper (timed chores each domain registers). Made once
by ``create_app`` (or a CLI command, a worker) and shared by the API, the UI and the seeders. The
bus delivers, and the housekeeper works, only while started (the app lifespan does both);
publishing works without it, from any process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from helios.config import Settings
from helios.core.artifacts import ArtifactStore
from helios.core.event_bus import EventBus
from helios.core.housekeeping import Housekeeper
from helios.db.engine import Database
from helios.memory.runtime import MemoryRuntime
from helios.registry.inference import InferenceCache


@dataclass
class AppContext:
    settings: Settings
    db: Database
    store: ArtifactStore
    inference: InferenceCache
    events: EventBus
    housekeeper: Housekeeper

    @classmethod
    def build(cls, settings: Settings) -> AppContext:
        settings.home.mkdir(parents=True, exist_ok=True)
        connect_domains()
        db = Database.connect(settings.resolved_database_url)
        return cls(
            settings,
            db,
            ArtifactStore(settings.artifact_root),
            InferenceCache(settings.inference_cache_bytes),
            EventBus(db),
            Housekeeper(db, interval_s=settings.housekeeping_interval_s),
        )

    @cached_property
    def memory(self) -> MemoryRuntime:
        """Memory's embedder and vector cache, made on first use (the model loads later still)."""
        return MemoryRuntime.default(
            self.settings.memory_half_life_days, self.settings.memory_purge_after_days
        )


def connect_domains() -> None:
    """What domains ask of each other at run time, wired here once rather than by import side
    effects: which of their rows still use a dataset or a model version (deleting it is refused
    while any does). Idempotent; every process that builds an AppContext has it."""
    from helios.datasets import service as datasets
    from helios.predictions import service as predictions
    from helios.registry import service as registry
    from helios.registry import views as registry_views
    from helios.training import service as training

    datasets.register_reference_check(training.dataset_references)
    datasets.register_reference_check(registry.dataset_references)
    registry.register_version_reference_check(predictions.model_version_references)
    registry_views.register_lineage_source(predictions.lineage_nodes)
