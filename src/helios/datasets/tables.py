"""Datasets and their immutable versions. The data itself lives as Parquet in the artifact store."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helios.core.clock import utcnow
from helios.db.base import Base


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (
        # A name is unique among live datasets; a soft-deleted one frees its name.
        Index(
            "uq_datasets_live_name",
            "name",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="local")
    deleted_at: Mapped[dt.datetime | None]

    versions: Mapped[list[DatasetVersion]] = relationship(
        back_populates="dataset", lazy="raise", order_by="DatasetVersion.version"
    )


class DatasetVersion(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "version"),
        UniqueConstraint("dataset_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    artifact_key: Mapped[str] = mapped_column(String(512))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    series_count: Mapped[int]
    start: Mapped[dt.datetime | None]
    end: Mapped[dt.datetime | None]
    source_format: Mapped[str] = mapped_column(String(16))
    # Shown to people only; never used as a path.
    source_filename: Mapped[str] = mapped_column(String(255), default="")
    profile: Mapped[dict] = mapped_column(JSON)
    rules: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="local")

    dataset: Mapped[Dataset] = relationship(back_populates="versions", lazy="raise")
