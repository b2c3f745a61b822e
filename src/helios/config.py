"""Settings from the environment (prefix ``HELIOS_``), swappable in tests and by the CLI.

Never read at import time: callers ask ``get_settings()`` (cached) or are handed a Settings.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, computed_field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HELIOS_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".helios", description="Data directory")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite under home if unset")
    artifacts_dir: Path | None = Field(default=None, description="Artifact store; <home>/artifacts if unset")
    host: str = "127.0.0.1"
    port: int = 8765
    auth: Literal["auto", "required"] = Field(
        default="auto",
        description="auto: open to the local user on loopback while no token exists; required: always",
    )
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    max_import_rows: int = Field(
        default=20_000_000, ge=1, description="rows one dataset import may hold (stops decompression bombs)"
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names served besides the bound host, localhost and IP literals (comma-separated)",
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="other origins that may send writes, e.g. https://ops.example (comma-separated)",
    )
    inference_cache_bytes: int = Field(
        default=512 * 1024 * 1024, ge=0, description="memory for loaded models"
    )
    executor: Literal["local", "ray"] = "local"
    workers: int = Field(
        default=1, ge=0, le=64, description="local training worker processes started by serve"
    )
    torch_threads: int = Field(
        default=1, ge=1, le=256, description="threads per training job; more spin-wait on a busy box"
    )
    ray_address: str | None = Field(default=None, description="Ray cluster address; a local Ray if unset")
    memory_half_life_days: float = Field(
        default=30.0, gt=0, description="memory strength halves over this many days without use"
    )
    memory_purge_after_days: float = Field(
        default=30.0, ge=0, description="deleted memories stay restorable this long, then are purged"
    )
    memory_llm_assistant: str | None = Field(
        default=None,
        description="an assistant whose LLM also finds entities in free-text memories, after each "
        "write (never inside it); unset: entities come by rules only",
    )
    event_retention_days: float = Field(
        default=30.0, gt=0, description="published events are kept this long, then pruned by the server"
    )
    housekeeping_interval_s: float = Field(
        default=3600.0,
        ge=1,
        description="how often a running server purges expired memories and prunes old events",
    )
    job_stale_after_s: float = Field(
        default=60.0, gt=0, description="a job's heartbeat older than this is orphaned"
    )
    demo: bool = False

    @field_validator("allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower().rstrip("/") for part in value.split(",") if part.strip()]
        return value

    @computed_field  # type: ignore[prop-decorator]
    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'helios.db'}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def artifact_root(self) -> Path:
        return self.artifacts_dir or self.home / "artifacts"

    @property
    def bound_to_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


@lru_cache
def get_settings() -> Settings:
    return Settings()
