from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from helios import __version__
from helios.api.deps import ContextDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    database: str


@router.get("/health", response_model=Health)
def health(context: ContextDep) -> Health:
    with context.db.reading() as session:
        session.execute(text("SELECT 1"))
    return Health(status="ok", version=__version__, database=context.db.dialect)
