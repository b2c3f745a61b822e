"""What crosses the datasets border: requests, reads and pages of data."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from helios.core.pagination import Page
from helios.forecasting.rules import GameRules

DatasetKind = Literal["timeseries", "draws"]
ImportFormat = Literal["auto", "csv", "parquet", "m4-wide", "ny-powerball"]


class DatasetVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    content_hash: str
    rows: int
    series_count: int
    start: dt.datetime | None
    end: dt.datetime | None
    size_bytes: int
    source_format: str
    source_filename: str
    profile: dict[str, Any]
    rules: dict[str, Any] | None
    created_at: dt.datetime
    created_by: str


class DatasetRead(BaseModel):
    name: str
    kind: DatasetKind
    description: str
    created_at: dt.datetime
    created_by: str
    version_count: int
    latest: DatasetVersionRead | None


class DatasetList(Page[DatasetRead]):
    """Live datasets in name order."""


class VersionList(Page[DatasetVersionRead]):
    """One dataset's versions, newest first."""


class ImportResult(BaseModel):
    dataset: DatasetRead
    version: DatasetVersionRead
    created: bool = Field(description="false when identical content already existed as this version")


class ImportRequest(BaseModel):
    """Everything about an import except the bytes themselves."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: DatasetKind = "timeseries"
    format: ImportFormat = "auto"
    description: str = ""
    freq: str | None = None
    start: dt.date | None = None
    game: str | None = None
    rules: GameRules | None = None
    filename: str = ""
    date_col: str | None = Field(None, description="the column holding the dates (becomes ds)")
    id_col: str | None = Field(None, description="the column naming each series (becomes unique_id)")
    value_col: str | None = Field(None, description="the column holding the values (becomes y)")
    wide: bool = Field(False, description="one column per series beside the date column: melt it")


class DataPage(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    total: int = Field(description="rows matching the filter, across all pages")
    offset: int
    limit: int
    next_offset: int | None
