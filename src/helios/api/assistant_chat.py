"""/api/v1/ai-assistant/chat: an assistant answers with its production prompt or experiment variant."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/ai-assistant", tags=["assistants"])
