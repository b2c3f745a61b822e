"""Memories, their embeddings, the knowledge graph and forget actions.

Valid time (``valid_from``/``valid_until``: when a fact held in the world) and record time
(``recorded_at``: when the agent learnt it) are separate, so a superseded fact stays readable.
Graph rows exist only through their support rows: an entity or relation whose last supporting
memory is purged is deleted with it, and one whose supporters are all soft-deleted is not shown.
The full-text index lives outside these tables (an FTS5 table on SQLite, an expression index on
PostgreSQL; see ``memory.fulltext``), created by the migration.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from helios.core.clock import utcnow
from helios.db.base import Base


class Memory(Base):
    __tablename__ = "memories"
    __table_args__ = (
        Index("ix_memories_agent_live", "agent_id", "deleted_at", "id"),
        Index("ix_memories_deleted_at", "deleted_at"),
        # A query that names a time reads that window's live memories newest first, and the
        # timeline its newest days: in valid-time order on both databases only as a partial
        # index (PostgreSQL does not take "deleted_at IS NULL" as fixing a leading column).
        Index(
            "ix_memories_live_valid_from",
            "agent_id",
            "valid_from",
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    importance: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))
    # What it came from: {"type": "model_version"|"prediction"|"training_job"|..., "id": ..., ...}
    source_link: Mapped[dict | None] = mapped_column(JSON)
    meta: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    valid_from: Mapped[dt.datetime] = mapped_column(default=utcnow)
    valid_until: Mapped[dt.datetime | None]
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("memories.id", ondelete="SET NULL"))
    last_accessed: Mapped[dt.datetime | None]
    access_count: Mapped[int] = mapped_column(Integer, default=0)
    # Predictions it fed that scored far outside their interval.
    wrong_predictions: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(64), default="local")
    deleted_at: Mapped[dt.datetime | None]
    # The one action that deleted it (a single delete, a forget, an agent delete): undone together.
    deletion_id: Mapped[int | None] = mapped_column(ForeignKey("memory_deletions.id", ondelete="SET NULL"))
    # The triples and entities it was written with, so a changed text can be re-linked in the graph.
    structure: Mapped[dict] = mapped_column(JSON, default=dict)


class MemoryDeletion(Base):
    """One delete action over one or many memories, so it can be reviewed and undone as one."""

    __tablename__ = "memory_deletions"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # delete | forget | agent_deleted
    rule: Mapped[dict] = mapped_column(JSON, default=dict)
    memory_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="local")
    undone_at: Mapped[dt.datetime | None]


class MemoryEmbedding(Base):
    """The memory's vector as little-endian float32 bytes; ``model`` names the embedder."""

    __tablename__ = "memory_embeddings"
    # The vector cache's freshness check, max(version) of one agent, is one seek on this.
    __table_args__ = (Index("ix_memory_embeddings_agent_version", "agent_id", "version"),)

    memory_id: Mapped[int] = mapped_column(ForeignKey("memories.id", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(Integer, index=True)
    model: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    # Microseconds at embedding time: the vector cache reloads when max(version) moves.
    version: Mapped[int] = mapped_column(BigInteger)


class Entity(Base):
    __tablename__ = "memory_entities"
    __table_args__ = (UniqueConstraint("agent_id", "key", "type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))  # casefolded name: one entity per spelling
    type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Relation(Base):
    __tablename__ = "memory_relations"
    __table_args__ = (UniqueConstraint("agent_id", "subject_id", "predicate", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("memory_entities.id", ondelete="CASCADE"), index=True)
    predicate: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[int] = mapped_column(ForeignKey("memory_entities.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EntitySupport(Base):
    __tablename__ = "memory_entity_supports"

    entity_id: Mapped[int] = mapped_column(
        ForeignKey("memory_entities.id", ondelete="CASCADE"), primary_key=True
    )
    memory_id: Mapped[int] = mapped_column(
        ForeignKey("memories.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class RelationSupport(Base):
    __tablename__ = "memory_relation_supports"

    relation_id: Mapped[int] = mapped_column(
        ForeignKey("memory_relations.id", ondelete="CASCADE"), primary_key=True
    )
    memory_id: Mapped[int] = mapped_column(
        ForeignKey("memories.id", ondelete="CASCADE"), primary_key=True, index=True
    )
