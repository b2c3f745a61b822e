"""Small parsers for values people type: JSON objects given as text (CLI options, form fields) and
the slugs every domain names its things with (datasets, models, agents...)."""

from __future__ import annotations

import json
import re
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


_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")


def check_slug(name: str, what: str = "dataset name") -> str:
    if not _SLUG.match(name or ""):
        raise InvalidInput(
            f"{what} {name!r} is not a slug: use 1-64 lowercase letters, digits, '-' or '_', "
            "starting and ending with a letter or digit",
            errors=[{"field": "name", "message": "not a slug"}],
        )
    return name
