"""The catalogue of model families, by name."""

from __future__ import annotations

from helios.forecasting.base import ForecastingError, ModelFamily

_FAMILIES: dict[str, type[ModelFamily]] = {}


def register(family: type[ModelFamily]) -> type[ModelFamily]:
    """Class decorator: make a family reachable by its ``name``."""
    _FAMILIES[family.name] = family
    return family


def _load_builtin_families() -> None:
    # Imported on first use, not at start-up; each module defers its heavy imports (torch) further.
    import importlib
    import pkgutil

    from helios.forecasting import models

    for module in pkgutil.iter_modules(models.__path__):
        importlib.import_module(f"{models.__name__}.{module.name}")


def get_family(name: str) -> ModelFamily:
    _load_builtin_families()
    try:
        return _FAMILIES[name]()
    except KeyError:
        known = ", ".join(sorted(_FAMILIES)) or "none"
        raise ForecastingError(f"unknown model family {name!r}; known families: {known}") from None


def list_families() -> list[ModelFamily]:
    _load_builtin_families()
    return [_FAMILIES[name]() for name in sorted(_FAMILIES)]
