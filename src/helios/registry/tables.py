"""Models, their versions, aliases and every stage change.

"At most one active version per model" is a partial unique index, so the database itself
refuses a second active version whatever the code does.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helios.core.clock import utcnow
from helios.db.base import Base, StrEnumText
from helios.registry.schemas import Stage


class Model(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # ml | llm
    task: Mapped[str] = mapped_column(String(32), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    key_metric: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="local")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[ModelVersion]] = relationship(
        back_populates="model", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "version"),
        Index(
            "uq_model_versions_one_active",
            "model_id",
            unique=True,
            sqlite_where=text("stage = 'active'"),
            postgresql_where=text("stage = 'active'"),
        ),
        Index("ix_model_versions_model_stage", "model_id", "stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    version: Mapped[int]
    stage: Mapped[Stage] = mapped_column(StrEnumText(Stage), default=Stage.none)
    family: Mapped[str | None] = mapped_column(String(64))
    artifact_key: Mapped[str | None] = mapped_column(String(512))
    artifact_sha256: Mapped[str | None] = mapped_column(String(64))
    artifact_bytes: Mapped[int | None] = mapped_column(BigInteger)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    # The model's key metric copied out of ``metrics``, so lists never decode JSON per version.
    key_metric_value: Mapped[float | None]
    llm_config: Mapped[dict | None] = mapped_column(JSON)
    training_job_id: Mapped[int | None] = mapped_column(index=True)
    dataset_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="SET NULL"), index=True
    )
    parent_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL")
    )
    code_revision: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="local")

    model: Mapped[Model] = relationship(back_populates="versions", lazy="raise")


class ModelAlias(Base):
    """Free-form names for a version (``champion``, ``canary``), unique within a model."""

    __tablename__ = "model_aliases"
    __table_args__ = (UniqueConstraint("model_id", "alias"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Deployment(Base):
    """One stage change of one version. Promoting a version to active writes the demotion of
    the previous one first, in the same transaction, so (at, id) order tells the story."""

    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_model_at", "model_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    from_stage: Mapped[Stage] = mapped_column(StrEnumText(Stage))
    to_stage: Mapped[Stage] = mapped_column(StrEnumText(Stage))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
