"""Registers every page: importing a page module defines its routes."""

from helios.ui import datasets, home  # noqa: F401
