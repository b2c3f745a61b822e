"""Python client over the REST API.

    from helios.client import Helios
    hx = Helios("http://127.0.0.1:8765", token="hel_...")
    hx.datasets.import_file("prices.csv", name="prices")
    page = hx.datasets.data("prices", series=["AAPL"], limit=100)

Errors come back as ``HeliosAPIError`` carrying the server's problem+json (status, detail, errors).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx


class HeliosAPIError(Exception):
    def __init__(self, status: int, detail: str, problem: dict[str, Any]) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.problem = problem

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.problem.get("errors", [])


class _Area:
    def __init__(self, client: Helios) -> None:
        self._client = client


class Datasets(_Area):
    def list(self, kind: str | None = None) -> list[dict[str, Any]]:
        return self._client.get("/datasets", params={"kind": kind} if kind else None)["items"]

    def get(self, name: str) -> dict[str, Any]:
        return self._client.get(f"/datasets/{name}")

    def versions(self, name: str) -> list[dict[str, Any]]:
        return self._client.get(f"/datasets/{name}/versions")["items"]

    def import_file(
        self,
        path: str | Path,
        *,
        name: str,
        kind: str = "timeseries",
        format: str = "auto",
        description: str = "",
        freq: str | None = None,
        start: dt.date | str | None = None,
        game: str | None = None,
        rules: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Upload a CSV/Parquet file; returns ``{dataset, version, created}``."""
        path = Path(path)
        form = {
            "name": name, "kind": kind, "format": format, "description": description, "freq": freq,
            "start": str(start) if start else None, "game": game, "rules": json.dumps(rules) if rules else None,
        }
        with path.open("rb") as handle:
            return self._client.request(
                "POST", "/datasets", data={k: v for k, v in form.items() if v is not None},
                files={"file": (path.name, handle)},
            )

    def data(
        self,
        name: str,
        version: int | str = "latest",
        *,
        series: list[str] | None = None,
        start: str | None = None,
        end: str | None = None,
        offset: int = 0,
        limit: int = 500,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"offset": offset, "limit": limit, "series": series or []}
        params.update({k: v for k, v in {"start": start, "end": end}.items() if v})
        return self._client.get(f"/datasets/{name}/versions/{version}/data", params=params)

    def frame(self, name: str, version: int | str = "latest", **filters: Any):  # type: ignore[no-untyped-def]
        """Every matching row as a pandas DataFrame (pages through the API)."""
        import pandas as pd

        pages, offset = [], 0
        while True:
            page = self.data(name, version, offset=offset, limit=5000, **filters)
            pages.append(pd.DataFrame(page["rows"], columns=page["columns"]))
            if page["next_offset"] is None:
                break
            offset = page["next_offset"]
        frame = pd.concat(pages, ignore_index=True)
        if "ds" in frame:
            frame["ds"] = pd.to_datetime(frame["ds"])
        return frame

    def delete(self, name: str) -> None:
        self._client.request("DELETE", f"/datasets/{name}")


class Helios:
    """A Helios server. ``transport`` lets tests talk to an app in-process."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8765",
        token: str | None = None,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/api/v1", headers=headers, timeout=timeout, transport=transport
        )
        self.datasets = Datasets(self)

    def health(self) -> dict[str, Any]:
        return self.get("/health")

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.is_error:
            raise _api_error(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Helios:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _api_error(response: httpx.Response) -> HeliosAPIError:
    try:
        problem = response.json()
    except ValueError:
        problem = {"detail": response.text or response.reason_phrase}
    return HeliosAPIError(response.status_code, str(problem.get("detail", "")), problem)
