"""Agents. Soft-deleted (``deleted_at``) so deleting one can be undone with its memories."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from helios.core.clock import utcnow
from helios.db.base import Base


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # Names of registry models the agent forecasts with.
    models: Mapped[list] = mapped_column(JSON, default=list)
    # [{"dataset": name, "tickers": [...]}]: the series it watches.
    watches: Mapped[list] = mapped_column(JSON, default=list)
    # The assistant that explains it, by name (assistants are never renamed). Not a foreign key:
    # the assistants domain deletes its rows on its own, and a deleted one is shown as gone.
    assistant: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="local")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[dt.datetime | None]
