"""What a running Helios holds for its lifetime: settings, the database and the artifact store.
Made once by ``create_app`` and shared by the API, the UI and the seeders."""

from __future__ import annotations

from dataclasses import dataclass

from helios.config import Settings
from helios.core.artifacts import ArtifactStore
from helios.db.engine import Database
from helios.registry.inference import InferenceCache


@dataclass
class AppContext:
    settings: Settings
    db: Database
    store: ArtifactStore
    inference: InferenceCache

    @classmethod
    def build(cls, settings: Settings) -> AppContext:
        settings.home.mkdir(parents=True, exist_ok=True)
        return cls(
            settings,
            Database.connect(settings.resolved_database_url),
            ArtifactStore(settings.artifact_root),
            InferenceCache(settings.inference_cache_bytes),
        )
