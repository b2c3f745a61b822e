"""Small parsers for values people type: JSON objects given as text (CLI options, form fields)."""

from __future__ import annotations

import json
from typing import Any

from helios.core.errors import InvalidInput


def json_object(raw: str | None, what: str) -> dict[str, Any]:
    """``raw`` as a JSON object; empty means ``{}``; anything else is an error naming ``what``."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    return value
