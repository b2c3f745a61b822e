"""Small parsers for values people type: JSON objects given as text (CLI options, form fields) and
the slugs every domain names its things with (datasets, models, agents...)."""

from __future__ import annotations

import json
import re
from typing import Any

from helios.core.errors import InvalidInput

# Deeper than any document Helios defines; Python's parser would recurse into a RecursionError.
MAX_JSON_DEPTH = 32
# What the databases store (BIGINT): a larger number could only overflow on its way in.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def load_json(raw: str | bytes, what: str) -> Any:
    """JSON that someone handed Helios (a request body, a form field, an artifact's metadata):
    nesting at most ``MAX_JSON_DEPTH``, integers within 64 bits; errors name where."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise InvalidInput(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{what} is not valid JSON: {getattr(exc, 'msg', exc)}") from None
    check_json_value(value, what)
    return value


def check_json_value(value: Any, what: str) -> None:
    """Walks without recursion, so the check itself cannot be driven into a RecursionError."""
    pending: list[tuple[Any, str, int]] = [(value, "", 0)]
    while pending:
        item, path, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise InvalidInput(
                f"{what} is nested deeper than {MAX_JSON_DEPTH} levels (at {path or 'the top'})",
                errors=[{"field": path, "message": "nested too deeply"}],
            )
        if isinstance(item, dict):
            pending.extend((v, f"{path}.{k}" if path else str(k), depth + 1) for k, v in item.items())
        elif isinstance(item, list):
            pending.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(item))
        elif isinstance(item, int) and not isinstance(item, bool) and not INT64_MIN <= item <= INT64_MAX:
            raise out_of_range(path or "value", what)


def out_of_range(field: str, what: str) -> InvalidInput:
    return InvalidInput(
        f"{what}: {field} is outside the 64-bit integer range (-2^63 to 2^63-1)",
        errors=[{"field": field, "message": "integer out of range"}],
    )


def json_object(raw: str | None, what: str) -> dict[str, Any]:
    """``raw`` as a JSON object; empty means ``{}``; anything else is an error naming ``what``."""
    if not raw:
        return {}
    value = load_json(raw, what)
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    return value


SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$"
# For schemas: the slug rule documented in OpenAPI, while check_slug gives the readable error.
SLUG_SCHEMA = {"pattern": SLUG_PATTERN, "maxLength": 64}
_SLUG = re.compile(SLUG_PATTERN)


def check_slug(name: str, what: str = "dataset name") -> str:
    if not _SLUG.match(name or ""):
        raise InvalidInput(
            f"{what} {name!r} is not a slug: use 1-64 lowercase letters, digits, '-' or '_', "
            "starting and ending with a letter or digit",
            errors=[{"field": "name", "message": "not a slug"}],
        )
    return name


LIKE_ESCAPE = "\\"


def like_contains(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, literally: ``%`` and ``_`` typed by a person are
    characters to find, not wildcards (use with ``escape=LIKE_ESCAPE``)."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", r"\%").replace("_", r"\_")
    return f"%{escaped}%"
