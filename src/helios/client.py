"""Python client over the REST API.

    from helios.client import Helios
    hx = Helios("http://127.0.0.1:8765", token="hel_...")
    hx.datasets.import_file("prices.csv", name="prices", date_col="date", id_col="ticker", value_col="close")
    prices = hx.datasets.data("prices", series=["AAPL"])     # a DataFrame: unique_id, ds, y
    job = hx.training.train("prices", family="auto_ets", horizon=14, model="prices-ets")
    hx.training.wait(job["id"])
    hx.training.jobs(status="succeeded")                     # a DataFrame, one row per job
    for job in hx.iterate("/ml/jobs", status="failed"):      # any list route, item by item
        ...

What comes back, one rule everywhere:

- **Tables are pandas DataFrames.** Every list (``list``, ``versions``, ``jobs``, ``families``,
  ``deployments``, ``search``, ``calls``...) is a DataFrame with one row per item, every page
  fetched; nested objects are flattened into dotted columns (``latest.rows``,
  ``final_metrics.mase``). So are the data themselves: ``datasets.data``, ``training.metrics``,
  ``training.journal``, ``models.predict``, predictions (one row per predicted point, with the
  prediction's model, series and origin beside it) and ``predictions.accuracy`` (one row per model
  version and series). Columns holding times (``ds``, ``origin``, ``start``, ``end``, ``*_at``) are
  datetimes. An empty list is an empty DataFrame.
- **One thing is a dict**: ``get``, ``create``, ``update``, ``deploy``, ``train``, a job, the
  answer of an action. ``hx.page(path, cursor=..., limit=...)`` answers one raw page of any list
  route (``items``, ``next_cursor``, ``total``), ``hx.iterate`` its items one by one.

Argument names are the CLI's option names (``--date-col`` is ``date_col``, ``--version`` is
``version``, ``--horizon`` is ``horizon``); an option given more than once on the command line
(``--level``, ``--model``, ``--series``, ``--tag``, ``--watch``) is a list under its plural name
(``levels``, ``models``, ``series``, ``tags``, ``watches``).

Errors come back as ``HeliosAPIError`` carrying the server's problem+json (status, detail, errors);
an unreachable server raises ``httpx.TransportError`` (``httpx.ConnectError`` and the like).
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

MAX_PAGE_SIZE = 200  # the server's largest ``limit`` (helios.core.pagination.MAX_LIMIT)
TIME_COLUMNS = {"ds", "origin", "start", "end", "at", "valid_from", "valid_until"}
PREDICTION_COLUMNS = (
    "prediction",
    "model",
    "model_version",
    "unique_id",
    "origin",
    "dataset",
    "dataset_version",
)
POINT_COLUMNS = ("step", "ds", "mean", "sigma", "actual", "error")


def frame(items: list[dict[str, Any]], columns: list[str] | None = None):  # type: ignore[no-untyped-def]
    """Rows (JSON objects) as a DataFrame: nested objects flattened into dotted columns, time
    columns parsed; with no rows, the ``columns`` where they are known. The one conversion every
    tabular answer goes through."""
    import pandas as pd

    table = pd.json_normalize(items) if items else pd.DataFrame(columns=columns)
    for column in table.columns:
        leaf = str(column).rsplit(".", 1)[-1]
        if (leaf in TIME_COLUMNS or leaf.endswith("_at")) and table[column].dtype == object:
            # Not times after all (a label that happens to be called "start"): left as it is.
            with contextlib.suppress(ValueError, TypeError):
                table[column] = pd.to_datetime(table[column], format="ISO8601")
    return table


def _validation_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    if body.get("draws"):
        draws = body["draws"]
        return [dict(zip(draws, values, strict=True)) for values in zip(*draws.values(), strict=True)]
    rows: list[dict[str, Any]] = []
    for series in body["series"]:
        uid = series["unique_id"]
        rows += [
            {"unique_id": uid, "ds": ds, "part": "history", "y": y}
            for ds, y in zip(series["history_ds"], series["history_y"], strict=True)
        ]
        bounds = {f"{side}-{b['level']}": b[side] for b in series["intervals"] for side in ("lo", "hi")}
        for step, ds in enumerate(series["ds"]):
            row = {"unique_id": uid, "ds": ds, "part": "holdout", "y": series["actual"][step]}
            row |= {"forecast": series["forecast"][step], "naive": series["naive"][step]}
            rows.append(row | {name: values[step] for name, values in bounds.items()})
    return rows


def model_ref(text: str | dict[str, Any]) -> dict[str, Any]:
    """``name``, ``name@VERSION`` or ``name#ALIAS`` (as on the command line) as a model reference."""
    if isinstance(text, dict):
        return text
    if "@" in text:
        name, number = text.split("@", 1)
        return {"name": name, "version": int(number)}
    if "#" in text:
        name, alias = text.split("#", 1)
        return {"name": name, "alias": alias}
    return {"name": text}


def watched(item: str | dict[str, Any]) -> dict[str, Any]:
    """``DATASET`` or ``DATASET:T1,T2`` (as ``--watch`` takes it) as a watched-series object."""
    if isinstance(item, dict):
        return item
    dataset, _, tickers = item.partition(":")
    return {"dataset": dataset.strip(), "tickers": [t.strip() for t in tickers.split(",") if t.strip()]}


def points_frame(predictions: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    """Predictions as one row per point: the prediction's id, model, version, series, origin and
    dataset beside step, ds, mean, ``lo_80``/``hi_80`` per level, sigma and the actual where known."""
    rows = []
    for p in predictions:
        head = {
            "prediction": p["id"],  # the order of PREDICTION_COLUMNS
            "model": p["model"],
            "model_version": p["model_version"],
            "unique_id": p["unique_id"],
            "origin": p["origin"],
            "dataset": p["dataset"],
            "dataset_version": p["dataset_version"],
        }
        for point in p.get("points", []):
            bounds: dict[str, Any] = {}
            for level, (lo, hi) in (point.get("bounds") or {}).items():
                bounds |= {f"lo_{level}": lo, f"hi_{level}": hi}
            keep = {k: point.get(k) for k in POINT_COLUMNS}
            rows.append(head | keep | bounds)
    return frame(rows, [*PREDICTION_COLUMNS, *POINT_COLUMNS])


def _attachment_name(response: httpx.Response) -> str | None:
    """The bare file name from Content-Disposition (never a path: it comes from the server)."""
    disposition = response.headers.get("content-disposition", "")
    if 'filename="' not in disposition:
        return None
    return Path(disposition.split('filename="', 1)[1].split('"', 1)[0]).name or None


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
    def list(self, kind: str | None = None):  # type: ignore[no-untyped-def]
        """Every live dataset (of ``kind``), in name order, as a DataFrame (``latest.*``: its
        newest version)."""
        return frame(list(self._client.iterate("/datasets", kind=kind)))

    def get(self, name: str) -> dict[str, Any]:
        return self._client.get(f"/datasets/{name}")

    def versions(self, name: str):  # type: ignore[no-untyped-def]
        """Every version of ``name``, newest first, as a DataFrame."""
        return frame(list(self._client.iterate(f"/datasets/{name}/versions")))

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
        rules: dict[str, Any] | str | Path | None = None,
        date_col: str | None = None,
        id_col: str | None = None,
        value_col: str | None = None,
        wide: bool = False,
    ) -> dict[str, Any]:
        """Upload a CSV/Parquet file; returns ``{dataset, version, created}``. For headers other than
        unique_id,ds,y name the columns (``date_col``, ``id_col``, ``value_col``), or pass ``wide=True``
        for one column per series, as the CLI's ``--date-col --id-col --value-col --wide``.
        ``rules`` (draws) is a dict or, as the CLI's ``--rules``, the path of a JSON file."""
        path = Path(path)
        if isinstance(rules, str | Path):
            rules = json.loads(Path(rules).read_text())
        form = {
            "date_col": date_col,
            "id_col": id_col,
            "value_col": value_col,
            "wide": "true" if wide else None,
            "name": name,
            "kind": kind,
            "format": format,
            "description": description,
            "freq": freq,
            "start": str(start) if start else None,
            "game": game,
            "rules": json.dumps(rules) if rules else None,
        }
        with path.open("rb") as handle:
            return self._client.request(
                "POST",
                "/datasets",
                data={k: v for k, v in form.items() if v is not None},
                files={"file": (path.name, handle)},
            )

    def page(
        self,
        name: str,
        version: int | str = "latest",
        *,
        series: builtins.list[str] | None = None,
        start: str | None = None,
        end: str | None = None,
        offset: int = 0,
        limit: int = 500,
    ) -> dict[str, Any]:
        """One raw page of rows: ``{columns, rows, next_offset, ...}``."""
        params: dict[str, Any] = {"offset": offset, "limit": limit, "series": series or []}
        params.update({k: v for k, v in {"start": start, "end": end}.items() if v})
        return self._client.get(f"/datasets/{name}/versions/{version}/data", params=params)

    def data(
        self,
        name: str,
        version: int | str = "latest",
        *,
        series: builtins.list[str] | None = None,
        start: str | None = None,
        end: str | None = None,
        limit: int | None = None,
    ):  # type: ignore[no-untyped-def]
        """The version's rows (of ``series``, between ``start`` and ``end``; the first ``limit`` if
        given) as a DataFrame in long format, fetched page by page."""
        import pandas as pd

        pages, offset = [], 0
        while True:
            size = 5000 if limit is None else min(5000, limit - offset)
            page = self.page(name, version, series=series, start=start, end=end, offset=offset, limit=size)
            pages.append(pd.DataFrame(page["rows"], columns=page["columns"]))
            offset = page["next_offset"]
            if offset is None or (limit is not None and offset >= limit):
                break
        table = pd.concat(pages, ignore_index=True)
        if "ds" in table:
            table["ds"] = pd.to_datetime(table["ds"])
        return table

    frame = data  # the older name

    def download(
        self,
        name: str,
        version: int | str = "latest",
        *,
        format: str = "csv",
        output: str | Path | None = None,
    ) -> Path:
        """Write a version to ``output`` (default ``NAME-vN.FORMAT``) as CSV or Parquet; returns the path."""
        return self._client.download(
            f"/datasets/{name}/versions/{version}/download", params={"format": format}, output=output
        )

    def delete(self, name: str) -> None:
        self._client.request("DELETE", f"/datasets/{name}")


class Models(_Area):
    """The model registry (``/ai/models``): ML and LLM models, versions, stages, lineage."""

    def list(self, **filters: Any):  # type: ignore[no-untyped-def]
        """Every model matching ``kind``, ``task``, ``stage`` or ``q``, in name order, as a DataFrame."""
        return frame(list(self._client.iterate("/ai/models", **filters)))

    def versions(self, name: str):  # type: ignore[no-untyped-def]
        """The model's versions (stage, family, dataset, metrics.*), newest first, as a DataFrame."""
        return frame(self.get(name)["versions"])

    def get(self, name: str) -> dict[str, Any]:
        return self._client.get(f"/ai/models/{name}")

    def create(self, name: str, *, kind: str = "ml", task: str = "price", **fields: Any) -> dict[str, Any]:
        return self._client.request(
            "POST", "/ai/models", json={"name": name, "kind": kind, "task": task, **fields}
        )

    def register(
        self,
        name: str,
        directory: str | Path,
        *,
        task: str = "price",
        metrics: dict[str, Any] | None = None,
        description: str = "",
    ) -> dict[str, Any]:
        """Upload a directory saved by ``helios.forecasting.artifacts.save_fitted`` as the next version
        of ``name`` (created, with ``task``, if new: as ``helios models register``)."""
        try:
            self.get(name)
        except HeliosAPIError as exc:
            if exc.status != 404:
                raise
            self.create(name, kind="ml", task=task)
        paths = sorted(p for p in Path(directory).iterdir() if p.is_file())
        files = [("files", (p.name, p.read_bytes())) for p in paths]
        data = {"description": description, **({"metrics": json.dumps(metrics)} if metrics else {})}
        return self._client.request("POST", f"/ai/models/{name}/versions", files=files, data=data)

    def deploy(self, name: str, version: int, stage: str = "active", note: str = "") -> dict[str, Any]:
        return self._client.request(
            "POST", f"/ai/models/{name}/deploy", json={"version": version, "stage": stage, "note": note}
        )

    def rollback(self, name: str, note: str = "") -> dict[str, Any]:
        return self._client.request("POST", f"/ai/models/{name}/rollback", json={"note": note})

    def deployments(self, name: str):  # type: ignore[no-untyped-def]
        """Every stage change, newest first, as a DataFrame."""
        return frame(list(self._client.iterate(f"/ai/models/{name}/deployments")))

    def active_at(self, name: str, at: str) -> int | None:
        return self._client.get(f"/ai/models/{name}/active", params={"at": at})["version"]

    def lineage(self, name: str) -> dict[str, Any]:
        return self._client.get(f"/ai/models/{name}/lineage")

    def choices(self, name: str, version: int | None = None) -> dict[str, Any]:
        """What an ``auto`` version (default: the active one) chose per series and why, and what each
        candidate cost: ``{model, version, family, series, counts, costs}``. Any other family is a
        409 ``HeliosAPIError``: only ``auto`` makes per-series choices."""
        params = {"version": version} if version is not None else None
        return self._client.get(f"/ai/models/{name}/choices", params=params)

    def predict(
        self, name: str, horizon: int, *, version: int | None = None, levels: builtins.list[int] | None = None
    ):  # type: ignore[no-untyped-def]
        """A forecast from the version's own training data (not stored), as a DataFrame."""
        body = {"horizon": horizon, "version": version, "levels": levels or [80, 95]}
        answer = self._client.request("POST", f"/ai/models/{name}/predict", json=body)
        return _rows_frame(answer)

    def delete(self, name: str, *, force: bool = False) -> None:
        self._client.request("DELETE", f"/ai/models/{name}", params={"force": force})


class Predictions(_Area):
    """The forecast ledger (``/predictions``): run, read with actuals, score, accuracy."""

    def run(
        self,
        dataset: str,
        series: str | list[str],
        models: str | list[str | dict[str, Any]],
        horizon: int = 7,
        *,
        levels: list[int] | None = None,
        volatility: str | None = None,
        version: int | str = "latest",
        wait: float = 600.0,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        **fields: Any,
    ):  # type: ignore[no-untyped-def]
        """Predict and store, as ``helios predict``: ``models`` as ``name``, ``name@VERSION`` or
        ``name#ALIAS``; ``series`` one ticker, a list or "all". Several series run on the server as a
        queued run; this waits for it (up to ``wait`` seconds). One row per predicted point."""
        return points_frame(
            self.run_raw(
                dataset,
                series,
                models,
                horizon,
                levels=levels,
                volatility=volatility,
                version=version,
                wait=wait,
                on_progress=on_progress,
                **fields,
            )
        )

    def run_raw(
        self,
        dataset: str,
        series: str | list[str],
        models: str | list[str | dict[str, Any]],
        horizon: int = 7,
        *,
        levels: list[int] | None = None,
        volatility: str | None = None,
        version: int | str = "latest",
        wait: float = 600.0,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        **fields: Any,
    ) -> list[dict[str, Any]]:
        """``run``, answering the stored predictions as the API gives them (with their points).
        ``on_progress`` is called with the queued run (``series_done``, ``progress``) at each look."""
        import time

        body = _run_body(dataset, series, models, horizon, levels, volatility, version) | fields
        answer = self._client.request("POST", "/predictions/run", json=body)
        queued = answer.get("run")
        if not queued:
            return answer["predictions"]
        deadline = time.monotonic() + wait
        while True:
            if on_progress is not None:
                on_progress(queued)
            if queued["status"] in ("succeeded", "failed"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"prediction run {queued['id']} still {queued['status']} after {wait} s")
            time.sleep(0.5)
            queued = self._client.get(f"/predictions/runs/{queued['id']}")
        if queued["status"] == "failed":
            raise HeliosAPIError(500, f"prediction run {queued['id']} failed: {queued['error']}", queued)
        return self._of_run(queued["id"], dataset, version, series)

    def _of_run(
        self, run_id: int, dataset: str, version: int | str, series: str | list[str]
    ) -> list[dict[str, Any]]:
        """The predictions a finished run stored, gathered per series (its newest per model)."""
        if series == "all":
            profile = self._client.get(f"/datasets/{dataset}/versions/{version}")["profile"]
            series = [s["unique_id"] for s in profile.get("series", [])]
        tickers = [series] if isinstance(series, str) else series
        return [
            p
            for ticker in tickers
            for p in self._client.iterate(_series_path(ticker), latest=True)
            if p["run_id"] == run_id
        ]

    def list(self, ticker: str, **filters: Any):  # type: ignore[no-untyped-def]
        """A ticker's predictions (filters: model, version, start, end, latest, as_of), one row per
        predicted point, newest prediction first."""
        return points_frame(list(self._client.iterate(_series_path(ticker), **filters)))

    def get(self, prediction_id: int) -> dict[str, Any]:
        return self._client.get(f"/predictions/by-id/{prediction_id}")

    def actuals(self, rows: builtins.list[dict[str, Any]], dataset: str | None = None) -> dict[str, Any]:
        return self._client.request("POST", "/predictions/actuals", json={"dataset": dataset, "rows": rows})

    def score(self, dataset: str, version: int | str = "latest") -> dict[str, Any]:
        return self._client.request(
            "POST", "/predictions/score", json={"dataset": dataset, "version": version}
        )

    def accuracy(self, *, by: str = "series", **filters: Any):  # type: ignore[no-untyped-def]
        """Accuracy as a DataFrame: one row per model version and series (``by="series"``), or per
        model version, series and step (``by="step"``) or rolling period (``by="period"``). Filters:
        model, version, ticker, dataset, start, end, per_series, rolling. Coverage is in
        ``coverage_80``/``coverage_95`` (observed share inside), skill against naive in ``skill.*``.
        ``accuracy_report`` answers the API's whole report."""
        return accuracy_frame(self.accuracy_report(**filters), by)

    def accuracy_report(self, **filters: Any) -> dict[str, Any]:
        params = {k: v for k, v in filters.items() if v is not None}
        return self._client.get("/predictions/accuracy", params=params)

    def get_run(self, run_id: int) -> dict[str, Any]:
        """A queued run over many series: status, ``series_done`` of ``series_total``, ``progress``."""
        return self._client.get(f"/predictions/runs/{run_id}")

    def schedules(self) -> builtins.list[dict[str, Any]]:
        return self._client.get("/predictions/schedules")["items"]

    def schedule(
        self,
        name: str,
        cron: str,
        dataset: str,
        series: str | builtins.list[str],
        models: str | builtins.list[str | dict[str, Any]],
        horizon: int = 7,
        *,
        missed: str = "skip",
        enabled: bool = True,
        levels: builtins.list[int] | None = None,
        volatility: str | None = None,
        version: int | str = "latest",
    ) -> dict[str, Any]:
        """A prediction run on a 5-field cron (UTC); ``missed``: "skip" or "catch_up" after downtime."""
        request = _run_body(dataset, series, models, horizon, levels, volatility, version)
        body = {"name": name, "cron": cron, "missed": missed, "enabled": enabled, "request": request}
        return self._client.request("POST", "/predictions/schedules", json=body)

    def unschedule(self, name: str) -> None:
        self._client.request("DELETE", f"/predictions/schedules/{quote(name, safe='')}")


def _series_path(ticker: str) -> str:
    """The canonical address reads any ticker, one named ``runs`` or holding a ``/`` too."""
    return f"/predictions/series/{quote(ticker, safe='')}"


def _run_body(
    dataset: str,
    series: str | list[str],
    models: str | list[str | dict[str, Any]],
    horizon: int,
    levels: list[int] | None,
    volatility: str | None,
    version: int | str,
) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "dataset_version": version,
        "series": series,
        "models": [model_ref(m) for m in ([models] if isinstance(models, str | dict) else models)],
        "horizon": horizon,
        "levels": levels or [80, 95],
        "volatility_model": model_ref(volatility) if volatility else None,
    }


class Agents(_Area):
    """Agents (``/agents``); ``name`` is an agent's name or id. ``watches`` take ``DATASET`` or
    ``DATASET:T1,T2`` as ``--watch`` does, or objects; ``assistant`` names an assistant (name or
    id; ``update(name, assistant=None)`` takes it away). An agent's ``schedules`` are the
    prediction schedules running its models on the series it watches."""

    def list(self):  # type: ignore[no-untyped-def]
        return frame(list(self._client.iterate("/agents")))

    def get(self, name: str) -> dict[str, Any]:
        return self._client.get(f"/agents/{name}")

    def create(self, name: str, **fields: Any) -> dict[str, Any]:
        return self._client.request("POST", "/agents", json={"name": name, **_agent_fields(fields)})

    def update(self, name: str, **fields: Any) -> dict[str, Any]:
        return self._client.request("PATCH", f"/agents/{name}", json=_agent_fields(fields))

    def delete(self, name: str) -> dict[str, Any]:
        """Soft-deletes the agent and its memories; ``restore`` undoes it."""
        return self._client.request("DELETE", f"/agents/{name}")

    def restore(self, name: str) -> dict[str, Any]:
        return self._client.request("POST", f"/agents/{name}/restore")

    def schedules(self, name: str):  # type: ignore[no-untyped-def]
        """Its prediction schedules as a DataFrame, one row per schedule."""
        return frame(self.get(name)["schedules"])

    def predictions(self, name: str):  # type: ignore[no-untyped-def]
        """The newest prediction per model on each series it watches, a DataFrame."""
        return frame(self._client.get(f"/agents/{name}/predictions")["latest"])

    def accuracy(self, name: str):  # type: ignore[no-untyped-def]
        """Its models' accuracy on each series it watches, a DataFrame: one row per model version
        and series (scored_points, mae, mase, coverage_95, relative_mae, verdict)."""
        return frame(self._client.get(f"/agents/{name}/predictions")["accuracy"])


class Memory(_Area):
    """Agent memory (``/memory``): write, read, search, graph, delete/restore, forget."""

    def agents(self):  # type: ignore[no-untyped-def]
        """Agents with memory counts, as a DataFrame."""
        return frame(list(self._client.iterate("/memory/agents")))

    def agent(self, agent: str, **params: Any) -> dict[str, Any]:
        """Memories (first page), graph and timeline; params: order, as_of, limit."""
        return self._client.get(f"/memory/agents/{agent}", params=params)

    def write(self, agent: str, memories: list[dict[str, Any]]) -> dict[str, Any]:
        """1 to 1,000 memories, all or none; an unknown agent is created."""
        return self._client.request("POST", f"/memory/agents/{agent}/memories", json={"memories": memories})

    def add(self, agent: str, content: str, **fields: Any) -> dict[str, Any]:
        return self.write(agent, [{"content": content, **fields}])["items"][0]

    def list(self, agent: str, **filters: Any):  # type: ignore[no-untyped-def]
        """Every memory of the agent (filters: order=time|strength, deleted=True), as a DataFrame."""
        return frame(list(self._client.iterate(f"/memory/agents/{agent}/memories", **filters)))

    def graph(self, agent: str, as_of: str | None = None) -> dict[str, Any]:
        return self._client.get(f"/memory/agents/{agent}/graph", params={"as_of": as_of} if as_of else None)

    def search(self, query: str, agent: str | None = None, k: int = 10):  # type: ignore[no-untyped-def]
        """Hybrid search, best first, as a DataFrame (``memory.*``, ``score``, ``strength``, ``why.*``)."""
        params: dict[str, Any] = {"q": query, "k": k} | ({"agent_id": agent} if agent else {})
        return frame(self._client.get("/memory/search", params=params)["items"])

    def get(self, memory_id: int) -> dict[str, Any]:
        return self._client.get(f"/memory/{memory_id}")

    def update(self, memory_id: int, **fields: Any) -> dict[str, Any]:
        return self._client.request("PATCH", f"/memory/{memory_id}", json=fields)

    def delete(self, memory_id: int) -> dict[str, Any]:
        return self._client.request("DELETE", f"/memory/{memory_id}")

    def restore(self, memory_id: int) -> dict[str, Any]:
        return self._client.request("POST", f"/memory/{memory_id}/restore")

    def forget(
        self,
        agent: str,
        rule: dict[str, Any] | None = None,
        *,
        older_than_days: float | None = None,
        strength_below: float | None = None,
        kinds: builtins.list[str] | None = None,
        superseded: bool | None = None,
        apply: bool = False,
        dry_run: bool | None = None,
        memory_ids: builtins.list[int] | None = None,
    ) -> dict[str, Any]:
        """What a rule would forget (the review queue); ``apply=True`` forgets it as one undoable
        action, as ``helios memory forget --older-than-days --strength-below --kind --superseded
        --apply``. ``rule`` (a dict) and ``dry_run`` are the API's own names, still taken."""
        conditions = {
            "older_than_days": older_than_days,
            "strength_below": strength_below,
            "kinds": kinds,
            "superseded": superseded,
        }
        rule = (rule or {}) | {k: v for k, v in conditions.items() if v is not None}
        body = {
            "rule": rule,
            "dry_run": (not apply) if dry_run is None else dry_run,
            "memory_ids": memory_ids,
        }
        return self._client.request("POST", f"/memory/agents/{agent}/forget", json=body)

    def undo(self, deletion_id: int) -> dict[str, Any]:
        return self._client.request("POST", f"/memory/deletions/{deletion_id}/undo")

    def purge(self) -> dict[str, Any]:
        return self._client.request("POST", "/memory/purge")


class Training(_Area):
    """Training jobs (``/ml``)."""

    def families(self):  # type: ignore[no-untyped-def]
        """Model families (slug, task, iterative, description...), as a DataFrame."""
        return frame(self._client.get("/ml/families")["items"])

    def train(
        self,
        dataset: str,
        family: str,
        *,
        version: int | str = "latest",
        series: list[str] | None = None,
        params: dict[str, Any] | None = None,
        horizon: int | None = None,
        early_stopping: bool = False,
        patience: int = 5,
        seed: int = 0,
        model: str | None = None,
        timeout: int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Queue a training job, as ``helios train``: ``params`` are the hyperparameters, ``horizon``
        the steps held out for scoring (default: the family's, else 14), ``model`` the model to
        register into, ``timeout`` seconds before it is killed. Other API fields (``validation``,
        ``target_model``...) pass through as they are. Returns the job."""
        body: dict[str, Any] = {
            "dataset": dataset,
            "family": family,
            "dataset_version": version,
            "series": series,
            "hyperparameters": params or {},
            "validation": {"horizon": horizon},
            "early_stopping": {"patience": patience} if early_stopping else None,
            "seed": seed,
            "target_model": model,
            "timeout_s": timeout,
        }
        return self._client.request("POST", "/ml/train", json=body | fields)

    def jobs(self, **filters: Any):  # type: ignore[no-untyped-def]
        """Every job matching ``status``, ``dataset``, ``family``, ``model`` or ``q``, in ``sort``
        order, as a DataFrame (``final_metrics.*``: its holdout scores)."""
        return frame(list(self._client.iterate("/ml/jobs", **filters)))

    def job(self, job_id: int) -> dict[str, Any]:
        return self._client.get(f"/ml/jobs/{job_id}")

    def metrics(self, job_id: int, since: int = 0):  # type: ignore[no-untyped-def]
        """Training metrics (id, step, name, value, at) after point ``since``, as a DataFrame."""
        points = self._client.get(f"/ml/jobs/{job_id}/metrics", params={"since": since})["points"]
        return frame(points, ["id", "step", "name", "value", "at"])

    def journal(self, job_id: int):  # type: ignore[no-untyped-def]
        """What happened (at, level, message), as a DataFrame."""
        return frame(
            self._client.get(f"/ml/jobs/{job_id}/journal")["items"], ["id", "at", "level", "message"]
        )

    def stop(self, job_id: int) -> dict[str, Any]:
        return self._client.request("POST", f"/ml/jobs/{job_id}/stop")

    def rerun(self, job_id: int, *, latest: bool = False) -> dict[str, Any]:
        """A new job with this job's settings; ``latest`` trains on the dataset's newest version."""
        return self._client.request("POST", f"/ml/jobs/{job_id}/rerun", json={"latest_version": latest})

    def annotate(
        self, job_id: int, *, tags: list[str] | None = None, note: str | None = None
    ) -> dict[str, Any]:
        """Replace a run's tags and/or set its note ("" clears it); what is not given stays."""
        body = {k: v for k, v in {"tags": tags, "note": note}.items() if v is not None}
        return self._client.request("PATCH", f"/ml/jobs/{job_id}", json=body)

    def cancel(self, job_id: int) -> dict[str, Any]:
        return self._client.request("POST", f"/ml/jobs/{job_id}/cancel")

    def validation(self, job_id: int):  # type: ignore[no-untyped-def]
        """The forecast the job was scored on, as a DataFrame: per series (the first 50) its last
        training points (``part`` "history") then the holdout (``part`` "holdout": ``y`` the actuals,
        ``forecast``, ``naive``, ``lo-80`` .. ``hi-95``); for a draws job one row per held-out draw.
        ``.attrs`` holds ``kind``, ``horizon``, ``naive_method`` and ``series_total``."""
        body = self._client.get(f"/ml/jobs/{job_id}/validation")
        table = frame(_validation_rows(body))
        table.attrs.update({k: body[k] for k in ("kind", "horizon", "naive_method", "series_total")})
        return table

    def compare(self, *job_ids: int) -> dict[str, Any]:
        return self._client.get("/ml/jobs/compare", params={"ids": ",".join(map(str, job_ids))})

    def wait(self, job_id: int, timeout: float = 600.0, poll: float = 0.5) -> dict[str, Any]:
        """Block until the job finishes; returns its final state."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] in ("succeeded", "failed", "cancelled", "stopped_early"):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {timeout} s")
            time.sleep(poll)


class Assistants(_Area):
    """``/ai-assistant``: assistants, prompt versions and labels, chat, prompt tests, A/B experiments.
    A prompt's id is its assistant's name."""

    def config(self) -> dict[str, Any]:
        return self._client.get("/ai-assistant/config")

    def set_config(self, **fields: Any) -> dict[str, Any]:
        return self._client.request("PUT", "/ai-assistant/config", json=fields)

    def list(self):  # type: ignore[no-untyped-def]
        return frame(list(self._client.iterate("/ai-assistant/assistants")))

    def get(self, name: str) -> dict[str, Any]:
        return self._client.get(f"/ai-assistant/assistants/{name}")

    def create(
        self,
        name: str,
        role: str = "analyst",
        *,
        model: str | None = None,
        memory_agent: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A new assistant, as ``helios assistants create NAME --role --model --memory-agent``:
        ``model`` is a registry LLM model (the API's ``llm_model``), ``memory_agent`` the agent whose
        memories it recalls (the API's ``memory.agent``); other API fields pass through."""
        body = {"name": name, "role": role, **fields}
        if model is not None:
            body["llm_model"] = model
        if memory_agent is not None:
            body["memory"] = {**body.get("memory", {}), "agent": memory_agent}
        return self._client.request("POST", "/ai-assistant/assistants", json=body)

    def update(self, name: str, **fields: Any) -> dict[str, Any]:
        return self._client.request("PATCH", f"/ai-assistant/assistants/{name}", json=fields)

    def delete(self, name: str) -> None:
        self._client.request("DELETE", f"/ai-assistant/assistants/{name}")

    def save_version(self, name: str, system_prompt: str, **fields: Any) -> dict[str, Any]:
        """A new immutable version: ``messages``, ``variables``, ``settings``, ``message``."""
        body = {"system_prompt": system_prompt, **fields}
        return self._client.request("PUT", f"/ai-assistant/prompts/{name}", json=body)

    def prompt(self, name: str) -> dict[str, Any]:
        return self._client.get(f"/ai-assistant/prompts/{name}")

    def versions(self, name: str):  # type: ignore[no-untyped-def]
        return frame(list(self._client.iterate(f"/ai-assistant/prompts/{name}/versions")))

    def version(self, name: str, number: int) -> dict[str, Any]:
        return self._client.get(f"/ai-assistant/prompts/{name}/versions/{number}")

    def diff(self, name: str, old: int, new: int) -> dict[str, Any]:
        return self._client.get(f"/ai-assistant/prompts/{name}/diff", params={"from": old, "to": new})

    def set_label(
        self, name: str, label: str, version: int, *, force: bool = False, note: str = ""
    ) -> dict[str, Any]:
        body = {"version": version, "force": force, "note": note}
        return self._client.request("PUT", f"/ai-assistant/prompts/{name}/labels/{label}", json=body)

    def render(self, name: str, variables: dict[str, Any], version: int | None = None) -> dict[str, Any]:
        body = {"variables": variables, "version": version}
        return self._client.request("POST", f"/ai-assistant/prompts/{name}/render", json=body)

    def chat(self, name: str, variables: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """An answer, or ``outcome`` saying why there is none (with the rendered prompt)."""
        body = {"assistant": name, "variables": variables, **fields}
        return self._client.request("POST", "/ai-assistant/chat", json=body)

    def calls(self, name: str):  # type: ignore[no-untyped-def]
        return frame(list(self._client.iterate(f"/ai-assistant/assistants/{name}/calls")))

    def create_test_set(
        self, name: str, test_set: str, cases: builtins.list[dict[str, Any]], **fields: Any
    ) -> dict[str, Any]:
        body = {"name": test_set, "cases": cases, **fields}
        return self._client.request("POST", f"/ai-assistant/prompts/{name}/test-sets", json=body)

    def run_tests(
        self,
        test_set_id: int,
        versions: builtins.list[int],
        repeats: int | None = None,
        *,
        wait: bool = True,
        timeout: float = 600.0,
        on_progress: Any = None,
    ) -> dict[str, Any]:
        """Run one version, or two side by side, over a test set. The server queues the run and its
        worker does it; this waits for it and returns it with its results (``wait=False``: the
        queued run, to follow with ``test_run`` or ``wait_test_run``). ``on_progress(run)`` is
        called with the run (``calls_done`` of ``calls_total``) at each look."""
        body = {"versions": versions, "repeats": repeats}
        run = self._client.request("POST", f"/ai-assistant/test-sets/{test_set_id}/runs", json=body)
        return self.wait_test_run(run["id"], timeout, on_progress) if wait else run

    def test_run(self, run_id: int) -> dict[str, Any]:
        return self._client.get(f"/ai-assistant/test-runs/{run_id}")

    def wait_test_run(self, run_id: int, timeout: float = 600.0, on_progress: Any = None) -> dict[str, Any]:
        """Block until the run is finished; returns it with its results."""
        import time

        deadline = time.monotonic() + timeout
        pause = 0.05  # a small run is done in well under a second: look soon, then back off
        while True:
            run = self.test_run(run_id)
            if on_progress is not None:
                on_progress(run)
            if run.get("finished", True):
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"test run {run_id} still {run['status']} after {timeout} s")
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def start_experiment(
        self, name: str, experiment: str, variants: builtins.list[dict[str, Any]], **fields: Any
    ) -> dict[str, Any]:
        body = {"assistant": name, "name": experiment, "variants": variants, **fields}
        return self._client.request("POST", "/ai-assistant/experiments", json=body)

    def experiment(self, experiment_id: int) -> dict[str, Any]:
        return self._client.get(f"/ai-assistant/experiments/{experiment_id}")

    def assign(self, experiment_id: int, subject: str) -> dict[str, Any]:
        return self._client.request(
            "POST", f"/ai-assistant/experiments/{experiment_id}/assign", json={"subject": subject}
        )

    def outcomes(self, experiment_id: int, outcomes: builtins.list[dict[str, Any]]) -> int:
        body = {"outcomes": outcomes}
        return self._client.request("POST", f"/ai-assistant/experiments/{experiment_id}/outcomes", json=body)[
            "accepted"
        ]

    def stop(self, experiment_id: int) -> dict[str, Any]:
        return self._client.request("POST", f"/ai-assistant/experiments/{experiment_id}/stop")

    def promote(self, experiment_id: int, variant: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {"variant": variant, **fields}
        return self._client.request("POST", f"/ai-assistant/experiments/{experiment_id}/promote", json=body)


class Tokens(_Area):
    """API tokens (``/tokens``, admin only), as ``helios tokens``."""

    def list(self, *, all: bool = False):  # type: ignore[no-untyped-def]  # noqa: A002 (the CLI's --all)
        """Tokens (never their secrets) as a DataFrame; ``all=True`` includes revoked ones."""
        return frame(list(self._client.iterate("/tokens", include_revoked=all or None)))

    def create(self, name: str, role: str = "viewer") -> dict[str, Any]:
        """A new token; its ``secret`` is in this answer only, never again."""
        return self._client.request("POST", "/tokens", json={"name": name, "role": role})

    def revoke(self, ident: str | int) -> dict[str, Any]:
        """Revoke a token by id or name."""
        return self._client.request("DELETE", f"/tokens/{ident}")


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
        self.models = Models(self)
        self.assistants = Assistants(self)
        self.training = Training(self)
        self.predictions = Predictions(self)
        self.agents = Agents(self)
        self.memory = Memory(self)
        self.tokens = Tokens(self)

    def health(self) -> dict[str, Any]:
        return self.get("/health")

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def page(
        self, path: str, *, cursor: str | None = None, limit: int = 50, **filters: Any
    ) -> dict[str, Any]:
        """One page of a list route as the API answers it: ``{items, next_cursor, total}``.
        Filters set to None are left out."""
        params = {k: v for k, v in filters.items() if v is not None} | {"limit": limit}
        return self.get(path, params=params | ({"cursor": cursor} if cursor else {}))

    def iterate(self, path: str, *, page_size: int = MAX_PAGE_SIZE, **filters: Any) -> Iterator[Any]:
        """Every item of a list route, fetched page by page as the caller consumes them.
        Lists answer ``{"items", "next_cursor", "total"}``; the walk passes ``next_cursor`` back as
        ``cursor`` until it is null. Filters set to None are left out."""
        params = {k: v for k, v in filters.items() if v is not None} | {"limit": page_size}
        while True:
            page = self.get(path, params=params)
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            params["cursor"] = page["next_cursor"]

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.RemoteProtocolError:
            # A kept-alive connection the server closed just as this request went out (its idle
            # timeout): a read is safe to send again on a fresh connection; a write is not.
            if method.upper() not in SAFE_METHODS:
                raise
            response = self._http.request(method, path, **kwargs)
        if response.is_error:
            raise _api_error(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def download(
        self, path: str, *, params: dict[str, Any] | None = None, output: str | Path | None = None
    ) -> Path:
        """Stream a file route to ``output`` (default: the name the server gives); returns the path."""
        with self._http.stream("GET", path, params=params) as response:
            if response.is_error:
                response.read()
                raise _api_error(response)
            target = Path(output) if output else Path(_attachment_name(response) or Path(path).name)
            partial = target.with_name(target.name + ".part")
            with partial.open("wb") as handle:
                for chunk in response.iter_bytes():
                    handle.write(chunk)
            partial.replace(target)
        return target

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Helios:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _rows_frame(answer: dict[str, Any]):  # type: ignore[no-untyped-def]
    import pandas as pd

    rows = answer.get("rows", [])
    if rows and isinstance(rows[0], dict):
        return frame(rows)
    table = pd.DataFrame(rows, columns=answer.get("columns"))
    return table.assign(ds=pd.to_datetime(table["ds"])) if "ds" in table else table


def accuracy_frame(report: dict[str, Any], by: str = "series"):  # type: ignore[no-untyped-def]
    if by not in ("series", "step", "period"):
        raise ValueError(f"by must be series, step or period, not {by!r}")
    nested = {"step": "by_step", "period": "rolling"}.get(by)
    rows = []
    for group in report.get("groups", []):
        head = {"model": group["model"], "version": group["version"], "unique_id": group.get("unique_id")}
        parts = group.get(nested, []) if nested else [group]
        for part in parts:
            row = head | {k: v for k, v in part.items() if k not in ("by_step", "rolling", "coverage")}
            for c in part.get("coverage", []):
                row[f"coverage_{c['level']}"] = c["observed"]
            rows.append(row)
    return frame(rows, ["model", "version", "unique_id", "n"])


def _agent_fields(fields: dict[str, Any]) -> dict[str, Any]:
    if fields.get("watches") is not None:
        fields = fields | {"watches": [watched(w) for w in fields["watches"]]}
    return fields


def _api_error(response: httpx.Response) -> HeliosAPIError:
    try:
        problem = response.json()
    except ValueError:
        # Not problem+json (a proxy's page, another web server): its first words, never a whole page.
        text = " ".join(response.text.split())
        said = f": {text[:200]}{'…' if len(text) > 200 else ''}" if text else ""
        problem = {"detail": f"{response.status_code} {response.reason_phrase} from {response.url}{said}"}
    if not isinstance(problem, dict):
        problem = {"detail": str(problem)}
    return HeliosAPIError(response.status_code, str(problem.get("detail", "")), problem)
