"""Seeds a fresh Helios with demo data, so a newcomer's first look is not an empty page.

Seeding is idempotent: each demo dataset is imported only when no dataset of that name exists,
so a restart with ``--demo`` never duplicates anything or overwrites what a user changed.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from helios.api.context import AppContext
from helios.core.auth import Principal, Role
from helios.datasets import service
from helios.datasets.schemas import ImportRequest
from helios.datasets.tables import Dataset

log = logging.getLogger(__name__)
DEMO_USER = Principal(name="demo", role=Role.admin)


def seed_demo(context: AppContext, *, force: bool = False) -> list[str]:
    """Import every demo dataset that is missing; returns the names it created.

    Without ``force`` nothing is seeded into a database that already holds any dataset (the
    demo is for first start, not for a team's working instance)."""
    from helios.datasets.demo import demo_datasets

    with context.db.reading() as session:
        existing = set(session.scalars(select(Dataset.name).where(Dataset.deleted_at.is_(None))))
    if existing and not force:
        return []
    created = []
    for item in demo_datasets():
        if item.name in existing:
            continue
        request = ImportRequest(
            name=item.name, kind=item.kind, format=item.options.format, description=item.description,
            freq=item.options.freq, start=item.options.start, rules=item.options.rules,
            game=item.options.game, filename=f"{item.name}.csv",
        )
        with context.db.transaction() as session:
            service.import_file(
                session, context.store, request, item.raw, DEMO_USER, max_bytes=max(len(item.raw), 1)
            )
        created.append(item.name)
        log.info("seeded demo dataset %s", item.name)
    return created
