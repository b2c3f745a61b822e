"""Python client over the REST API.

    from helios.client import Helios
    hx = Helios("http://127.0.0.1:8765", token="hel_...")
    hx.datasets.import_file("prices.csv", name="prices")
    page = hx.datasets.data("prices", series=["AAPL"], limit=100)
    for job in hx.iterate("/ml/jobs", status="failed"):  # any list route, page by page
        ...

Errors come back as ``HeliosAPIError`` carrying the server's problem+json (status, detail, errors).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

MAX_PAGE_SIZE = 200  # the server's largest ``limit`` (helios.core.pagination.MAX_LIMIT)


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
    def list(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every live dataset (of ``kind``), in name order."""
        return list(self._client.iterate("/datasets", kind=kind))

    def get(self, name: str) -> dict[str, Any]:
        return self._client.get(f"/datasets/{name}")

    def versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of ``name``, newest first."""
        return list(self._client.iterate(f"/datasets/{name}/versions"))

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
        date_col: str | None = None,
        id_col: str | None = None,
        value_col: str | None = None,
        wide: bool = False,
    ) -> dict[str, Any]:
        """Upload a CSV/Parquet file; returns ``{dataset, version, created}``. For headers other than
        unique_id,ds,y name the columns (``date_col``, ``id_col``, ``value_col``), or pass ``wide=True``
        for one column per series, as the CLI's ``--date-col --id-col --value-col --wide``."""
        path = Path(path)
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

    def list(self, **filters: Any) -> list[dict[str, Any]]:
        """Every model matching ``kind``, ``task``, ``stage`` or ``q``, in name order."""
        return list(self._client.iterate("/ai/models", **filters))

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
        metrics: dict[str, Any] | None = None,
        description: str = "",
    ) -> dict[str, Any]:
        """Upload a directory saved by ``helios.forecasting.artifacts.save_fitted`` as the next version."""
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

    def deployments(self, name: str) -> dict[str, Any]:
        return self._client.get(f"/ai/models/{name}/deployments")

    def active_at(self, name: str, at: str) -> int | None:
        return self._client.get(f"/ai/models/{name}/active", params={"at": at})["version"]

    def lineage(self, name: str) -> dict[str, Any]:
        return self._client.get(f"/ai/models/{name}/lineage")

    def predict(
        self, name: str, horizon: int, *, version: int | None = None, levels: list[int] | None = None
    ) -> dict[str, Any]:
        body = {"horizon": horizon, "version": version, "levels": levels or [80, 95]}
        return self._client.request("POST", f"/ai/models/{name}/predict", json=body)

    def delete(self, name: str, *, force: bool = False) -> None:
        self._client.request("DELETE", f"/ai/models/{name}", params={"force": force})


class Predictions(_Area):
    """The forecast ledger (``/predictions``): run, read with actuals, score, accuracy."""

    def run(
        self,
        dataset: str,
        series: str | list[str],
        models: list[str | dict[str, Any]],
        horizon: int,
        **fields: Any,
    ) -> list[dict[str, Any]]:
        body = {"dataset": dataset, "series": series, "models": models, "horizon": horizon, **fields}
        return self._client.request("POST", "/predictions/run", json=body)["predictions"]

    def list(self, ticker: str, **filters: Any) -> list[dict[str, Any]]:
        """Every page of a ticker's predictions (filters: model, version, start, end, latest, as_of)."""
        return list(self._client.iterate(f"/predictions/{ticker}", **filters))

    def get(self, prediction_id: int) -> dict[str, Any]:
        return self._client.get(f"/predictions/by-id/{prediction_id}")

    def actuals(self, rows: list[dict[str, Any]], dataset: str | None = None) -> dict[str, Any]:
        return self._client.request("POST", "/predictions/actuals", json={"dataset": dataset, "rows": rows})

    def score(self, dataset: str, version: int | str = "latest") -> dict[str, Any]:
        return self._client.request(
            "POST", "/predictions/score", json={"dataset": dataset, "version": version}
        )

    def accuracy(self, **filters: Any) -> dict[str, Any]:
        return self._client.get("/predictions/accuracy", params=filters)


class Agents(_Area):
    """Agents (``/agents``); ``name`` is an agent's name or id."""

    def list(self) -> list[dict[str, Any]]:
        return list(self._client.iterate("/agents"))

    def get(self, name: str) -> dict[str, Any]:
        return self._client.get(f"/agents/{name}")

    def create(self, name: str, **fields: Any) -> dict[str, Any]:
        return self._client.request("POST", "/agents", json={"name": name, **fields})

    def update(self, name: str, **fields: Any) -> dict[str, Any]:
        return self._client.request("PATCH", f"/agents/{name}", json=fields)

    def delete(self, name: str) -> dict[str, Any]:
        """Soft-deletes the agent and its memories; ``restore`` undoes it."""
        return self._client.request("DELETE", f"/agents/{name}")

    def restore(self, name: str) -> dict[str, Any]:
        return self._client.request("POST", f"/agents/{name}/restore")


class Memory(_Area):
    """Agent memory (``/memory``): write, read, search, graph, delete/restore, forget."""

    def agents(self) -> list[dict[str, Any]]:
        return list(self._client.iterate("/memory/agents"))

    def agent(self, agent: str, **params: Any) -> dict[str, Any]:
        """Memories (first page), graph and timeline; params: order, as_of, limit."""
        return self._client.get(f"/memory/agents/{agent}", params=params)

    def write(self, agent: str, memories: list[dict[str, Any]]) -> dict[str, Any]:
        """1 to 1,000 memories, all or none; an unknown agent is created."""
        return self._client.request("POST", f"/memory/agents/{agent}/memories", json={"memories": memories})

    def add(self, agent: str, content: str, **fields: Any) -> dict[str, Any]:
        return self.write(agent, [{"content": content, **fields}])["items"][0]

    def list(self, agent: str, **filters: Any) -> list[dict[str, Any]]:
        """Every memory of the agent (filters: order=time|strength, deleted=True)."""
        return list(self._client.iterate(f"/memory/agents/{agent}/memories", **filters))

    def graph(self, agent: str, as_of: str | None = None) -> dict[str, Any]:
        return self._client.get(f"/memory/agents/{agent}/graph", params={"as_of": as_of} if as_of else None)

    def search(self, q: str, agent: str | None = None, k: int = 10) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"q": q, "k": k} | ({"agent_id": agent} if agent else {})
        return self._client.get("/memory/search", params=params)["items"]

    def get(self, memory_id: int) -> dict[str, Any]:
        return self._client.get(f"/memory/{memory_id}")

    def update(self, memory_id: int, **fields: Any) -> dict[str, Any]:
        return self._client.request("PATCH", f"/memory/{memory_id}", json=fields)

    def delete(self, memory_id: int) -> dict[str, Any]:
        return self._client.request("DELETE", f"/memory/{memory_id}")

    def restore(self, memory_id: int) -> dict[str, Any]:
        return self._client.request("POST", f"/memory/{memory_id}/restore")

    def forget(
        self, agent: str, rule: dict[str, Any], *, dry_run: bool = True, memory_ids: list[int] | None = None
    ) -> dict[str, Any]:
        body = {"rule": rule, "dry_run": dry_run, "memory_ids": memory_ids}
        return self._client.request("POST", f"/memory/agents/{agent}/forget", json=body)

    def undo(self, deletion_id: int) -> dict[str, Any]:
        return self._client.request("POST", f"/memory/deletions/{deletion_id}/undo")

    def purge(self) -> dict[str, Any]:
        return self._client.request("POST", "/memory/purge")


class Training(_Area):
    """Training jobs (``/ml``)."""

    def families(self) -> list[dict[str, Any]]:
        return self._client.get("/ml/families")["items"]

    def train(self, dataset: str, family: str, **fields: Any) -> dict[str, Any]:
        return self._client.request(
            "POST", "/ml/train", json={"dataset": dataset, "family": family, **fields}
        )

    def jobs(self, **filters: Any) -> list[dict[str, Any]]:
        """Every job matching ``status``, ``dataset``, ``family`` or ``model``, in ``sort`` order."""
        return list(self._client.iterate("/ml/jobs", **filters))

    def job(self, job_id: int) -> dict[str, Any]:
        return self._client.get(f"/ml/jobs/{job_id}")

    def metrics(self, job_id: int, since: int = 0) -> dict[str, Any]:
        return self._client.get(f"/ml/jobs/{job_id}/metrics", params={"since": since})

    def journal(self, job_id: int) -> list[dict[str, Any]]:
        return self._client.get(f"/ml/jobs/{job_id}/journal")["items"]

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

    def list(self) -> list[dict[str, Any]]:
        return list(self._client.iterate("/ai-assistant/assistants"))

    def get(self, name: str) -> dict[str, Any]:
        return self._client.get(f"/ai-assistant/assistants/{name}")

    def create(self, name: str, role: str = "analyst", **fields: Any) -> dict[str, Any]:
        body = {"name": name, "role": role, **fields}
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

    def versions(self, name: str) -> list[dict[str, Any]]:
        return list(self._client.iterate(f"/ai-assistant/prompts/{name}/versions"))

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

    def calls(self, name: str) -> list[dict[str, Any]]:
        return list(self._client.iterate(f"/ai-assistant/assistants/{name}/calls"))

    def create_test_set(
        self, name: str, test_set: str, cases: list[dict[str, Any]], **fields: Any
    ) -> dict[str, Any]:
        body = {"name": test_set, "cases": cases, **fields}
        return self._client.request("POST", f"/ai-assistant/prompts/{name}/test-sets", json=body)

    def run_tests(self, test_set_id: int, versions: list[int], repeats: int | None = None) -> dict[str, Any]:
        body = {"versions": versions, "repeats": repeats}
        return self._client.request("POST", f"/ai-assistant/test-sets/{test_set_id}/runs", json=body)

    def start_experiment(
        self, name: str, experiment: str, variants: list[dict[str, Any]], **fields: Any
    ) -> dict[str, Any]:
        body = {"assistant": name, "name": experiment, "variants": variants, **fields}
        return self._client.request("POST", "/ai-assistant/experiments", json=body)

    def experiment(self, experiment_id: int) -> dict[str, Any]:
        return self._client.get(f"/ai-assistant/experiments/{experiment_id}")

    def assign(self, experiment_id: int, subject: str) -> dict[str, Any]:
        return self._client.request(
            "POST", f"/ai-assistant/experiments/{experiment_id}/assign", json={"subject": subject}
        )

    def outcomes(self, experiment_id: int, outcomes: list[dict[str, Any]]) -> int:
        body = {"outcomes": outcomes}
        return self._client.request("POST", f"/ai-assistant/experiments/{experiment_id}/outcomes", json=body)[
            "accepted"
        ]

    def stop(self, experiment_id: int) -> dict[str, Any]:
        return self._client.request("POST", f"/ai-assistant/experiments/{experiment_id}/stop")

    def promote(self, experiment_id: int, variant: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {"variant": variant, **fields}
        return self._client.request("POST", f"/ai-assistant/experiments/{experiment_id}/promote", json=body)


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

    def health(self) -> dict[str, Any]:
        return self.get("/health")

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

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


def _api_error(response: httpx.Response) -> HeliosAPIError:
    try:
        problem = response.json()
    except ValueError:
        problem = {"detail": response.text or response.reason_phrase}
    return HeliosAPIError(response.status_code, str(problem.get("detail", "")), problem)
