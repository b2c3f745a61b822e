"""Read views of the registry: the model list, a model's detail, its deployment history,
lineage graph and journal. Built with a handful of set-based queries, never one per row."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from helios.core.artifacts import ArtifactStore
from helios.core.errors import Conflict
from helios.core.pagination import DEFAULT_LIMIT, Keyset, count
from helios.core.parsing import LIKE_ESCAPE, like_contains
from helios.datasets import service as datasets_service
from helios.registry import deployments
from helios.registry.inference import InferenceCache
from helios.registry.schemas import (
    ActiveAt,
    CandidateCost,
    DeploymentList,
    DeploymentRead,
    JournalEntry,
    Lineage,
    LineageEdge,
    LineageNode,
    ModelChoices,
    ModelDetail,
    ModelInfo,
    ModelList,
    ModelSummary,
    SeriesChoice,
    Stage,
    VersionRead,
)
from helios.registry.service import get_version, manifest_files
from helios.registry.tables import Deployment, Model, ModelAlias, ModelVersion

TREND_POINTS = 20


# --- list -------------------------------------------------------------------------------------


MODELS = Keyset("models", (Model.name,))


def list_models(
    session: Session,
    *,
    kind: str | None = None,
    task: str | None = None,
    stage: str | None = None,
    text: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> ModelList:
    query = _filtered(select(Model), kind, task, stage, text)
    models, next_cursor = MODELS.page(session, query, cursor=cursor, limit=limit)
    return ModelList(items=summarise(session, models), next_cursor=next_cursor)


def _filtered(
    query: Select, kind: str | None, task: str | None, stage: str | None, text: str | None
) -> Select:
    if kind:
        query = query.where(Model.kind == kind)
    if task:
        query = query.where(Model.task == task)
    if stage:
        # Correlated EXISTS walks models in name order and probes the (model_id, stage) index.
        in_stage = select(ModelVersion.id).where(
            ModelVersion.model_id == Model.id, ModelVersion.stage == stage
        )
        query = query.where(in_stage.exists())
    if text:
        like = like_contains(text.lower())
        query = query.where(
            or_(
                func.lower(Model.name).like(like, escape=LIKE_ESCAPE),
                func.lower(Model.description).like(like, escape=LIKE_ESCAPE),
            )
        )
    return query


def summarise(session: Session, models: list[Model]) -> list[ModelSummary]:
    ids = [m.id for m in models]
    versions: dict[int, list[tuple[int, str, float | None]]] = defaultdict(list)
    if ids:
        rows = session.execute(
            select(
                ModelVersion.model_id, ModelVersion.version, ModelVersion.stage, ModelVersion.key_metric_value
            )
            .where(ModelVersion.model_id.in_(ids))
            .order_by(ModelVersion.model_id, ModelVersion.version)
        )
        for model_id, number, stage, value in rows:
            versions[model_id].append((number, stage, value))
    metrics = _shown_metrics(session, versions)
    return [_summary(m, versions[m.id], metrics.get(m.id, {})) for m in models]


def _shown_metrics(session: Session, versions: dict[int, list[tuple[int, str, float | None]]]) -> dict:
    """The metrics of each model's shown version (active, else latest): one query, one row per model."""
    shown = {
        model_id: next((n for n, s, _ in rows if s == Stage.active), rows[-1][0])
        for model_id, rows in versions.items()
        if rows
    }
    if not shown:
        return {}
    rows = session.execute(
        select(ModelVersion.model_id, ModelVersion.version, ModelVersion.metrics).where(
            ModelVersion.model_id.in_(shown), ModelVersion.version.in_(set(shown.values()))
        )
    )
    return {m: metrics or {} for m, number, metrics in rows if shown[m] == number}


def _summary(
    model: Model, versions: list[tuple[int, str, float | None]], metrics: dict | None = None
) -> ModelSummary:
    def numbered(stage: str) -> int | None:
        return next((n for n, s, _ in versions if s == stage), None)

    trend = [value for _, _, value in versions][-TREND_POINTS:]
    active = numbered(Stage.active)
    shown = next((v for n, _, v in versions if n == active), versions[-1][2] if versions else None)
    return ModelSummary(
        id=model.id,
        name=model.name,
        kind=model.kind,
        task=model.task,  # type: ignore[arg-type]
        description=model.description,
        tags=model.tags or [],
        key_metric=model.key_metric,
        key_metric_value=shown,
        key_metric_trend=trend,
        shown_metrics=metrics or {},
        version_count=len(versions),
        latest_version=versions[-1][0] if versions else None,
        active_version=active,
        staging_version=numbered(Stage.staging),
        updated_at=model.updated_at,
    )


# --- detail -----------------------------------------------------------------------------------


def model_detail(session: Session, store: ArtifactStore, model: Model) -> ModelDetail:
    versions = list(
        session.scalars(
            select(ModelVersion)
            .where(ModelVersion.model_id == model.id)
            .order_by(ModelVersion.version.desc())
        )
    )
    aliases = _aliases(session, model)
    datasets = _dataset_labels(session, [v.dataset_version_id for v in versions if v.dataset_version_id])
    numbers = {v.id: v.version for v in versions}
    reads = [version_read(store, v, aliases, datasets, numbers) for v in versions]
    summary = summarise(session, [model])[0]
    return ModelDetail(
        **summary.model_dump(),
        versions=reads,
        aliases={alias: numbers[vid] for alias, vid in aliases.items() if vid in numbers},
        created_at=model.created_at,
        created_by=model.created_by,
    )


def single_version_read(
    session: Session, store: ArtifactStore, model: Model, version: ModelVersion
) -> VersionRead:
    """One version as the API returns it, without reading the model's other versions."""
    aliases = _aliases(session, model)
    datasets = _dataset_labels(session, [version.dataset_version_id] if version.dataset_version_id else [])
    parent = session.get(ModelVersion, version.parent_version_id) if version.parent_version_id else None
    numbers = {version.id: version.version, **({parent.id: parent.version} if parent else {})}
    return version_read(store, version, aliases, datasets, numbers)


def version_read(
    store: ArtifactStore,
    version: ModelVersion,
    aliases: dict[str, int],
    datasets: dict[int, str],
    numbers: dict[int, int],
) -> VersionRead:
    read = VersionRead.model_validate(version)
    read.aliases = sorted(a for a, vid in aliases.items() if vid == version.id)
    read.dataset = datasets.get(version.dataset_version_id) if version.dataset_version_id else None
    read.parent_version = numbers.get(version.parent_version_id) if version.parent_version_id else None
    read.artifact_files = manifest_files(store, version) if version.artifact_key else []
    return read


def _aliases(session: Session, model: Model) -> dict[str, int]:
    rows = session.execute(
        select(ModelAlias.alias, ModelAlias.version_id).where(ModelAlias.model_id == model.id)
    )
    return dict(rows.tuples().all())


def _dataset_labels(session: Session, ids: list[int]) -> dict[int, str]:
    labels = datasets_service.version_labels(session, ids)
    return {vid: f"{name}@v{number}" for vid, (name, number) in labels.items()}


# --- deployments --------------------------------------------------------------------------------


DEPLOYMENTS = Keyset("deployments", (Deployment.at, Deployment.id), descending=True)


def list_deployments(
    session: Session, model: Model, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> DeploymentList:
    """A model's stage changes, newest first, with the version active now."""
    query = _deployments_of(model)
    changes, next_cursor = DEPLOYMENTS.page(session, query, cursor=cursor, limit=limit)
    numbers = _version_numbers(session, model)
    return DeploymentList(
        items=[deployment_read(c, numbers) for c in changes],
        next_cursor=next_cursor,
        total=count(session, query),
        active_now=summarise(session, [model])[0].active_version,
    )


def active_at(session: Session, model: Model, moment: dt.datetime) -> ActiveAt:
    version = deployments.active_at(session, model, moment)
    return ActiveAt(at=moment, version=version.version if version else None)


def model_info(session: Session, inference: InferenceCache, model: Model) -> ModelInfo:
    """What serves predictions for ``model`` now: its active version and the inference cache."""
    summary = summarise(session, [model])[0]
    active = session.scalar(
        select(ModelVersion).where(ModelVersion.model_id == model.id, ModelVersion.stage == Stage.active)
    )
    newest, _ = DEPLOYMENTS.page(session, _deployments_of(model), cursor=None, limit=1)
    last = newest[0] if newest else None
    return ModelInfo(
        name=model.name,
        kind=summary.kind,
        task=model.task,
        active_version=summary.active_version,
        family=active.family if active else None,
        artifact_bytes=active.artifact_bytes if active else None,
        last_deployment=deployment_read(last, _version_numbers(session, model)) if last else None,
        cached_versions=inference.loaded_versions(model.name),
        cache=inference.stats(),
    )


CHOOSING_FAMILY = "auto"


def model_choices(
    session: Session, store: ArtifactStore, inference: InferenceCache, model: Model, number: int | None = None
) -> ModelChoices:
    """What version ``number`` (default: the active one) of an ``auto`` model chose per series and
    why, and what each candidate cost; read from the fitted model, warmed in the inference cache."""
    version = get_version(session, model, number)
    if version.family != CHOOSING_FAMILY:
        raise Conflict(
            f"{model.name} v{version.version} is a {version.family or model.kind!r} model: only "
            f"`{CHOOSING_FAMILY}` makes per-series choices (it picks among candidates for each series)"
        )
    entry, _, _ = inference.load(store, model.name, version)
    return choices_read(model.name, version.version, entry.fitted)


def choices_read(model: str, number: int, fitted: Any) -> ModelChoices:
    explanations: dict[str, str] = fitted.explanations
    unsaid = _unexplained if explanations or not _was_validated(fitted) else _saved_before_reasons
    series = [
        SeriesChoice(unique_id=uid, chosen=list(kept), reason=explanations.get(uid) or unsaid(kept))
        for uid, kept in fitted.choices.items()
    ]
    costs = [
        CandidateCost(
            candidate=name, validation_s=spent.get("validation_s"), final_fit_s=spent.get("final_fit_s")
        )
        for name, spent in fitted.costs.items()
    ]
    costs.sort(key=lambda c: (-((c.validation_s or 0.0) + (c.final_fit_s or 0.0)), c.candidate))
    counts = {name: 0 for name in fitted.costs} | fitted.choice_counts()
    ranked = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    from helios.forecasting.auto_validation import SCORES_NOTE  # the fitted auto has imported it already

    return ModelChoices(
        model=model,
        version=number,
        family=fitted.family,
        series=series,
        counts=ranked,
        costs=costs,
        scores_note=SCORES_NOTE,
    )


def _was_validated(fitted: Any) -> bool:
    scores = getattr(fitted, "scores", None)
    return scores is not None and bool(scores.notna().to_numpy().any())  # selection='all': all NaN


def _unexplained(kept: list[str]) -> str:
    # selection='all' validates nothing, so auto explains nothing: say what the series forecasts with.
    return f"no validation chose for it: it uses {' + '.join(kept)} as configured"


def _saved_before_reasons(kept: list[str]) -> str:
    # A version saved before auto kept its reasons: it was validated, the why was not stored.
    return f"{' + '.join(kept)}, chosen in validation (this version was saved before Helios kept the reasons)"


def _deployments_of(model: Model) -> Select[tuple[Deployment]]:
    return select(Deployment).where(Deployment.model_id == model.id)


def _version_numbers(session: Session, model: Model) -> dict[int, int]:
    rows = select(ModelVersion.id, ModelVersion.version).where(ModelVersion.model_id == model.id)
    return dict(session.execute(rows).tuples().all())


def deployment_reads(session: Session, model: Model) -> list[DeploymentRead]:
    """The whole history, newest first, for in-process callers that draw it (UI timeline, CLI)."""
    numbers = _version_numbers(session, model)
    return [deployment_read(c, numbers) for c in deployments.history(session, model)]


def deployment_view(session: Session, change: Deployment) -> DeploymentRead:
    version = session.get(ModelVersion, change.version_id)
    return deployment_read(change, {change.version_id: version.version if version else 0})


def deployment_read(change: Deployment, numbers: dict[int, int]) -> DeploymentRead:
    return DeploymentRead(
        id=change.id,
        version=numbers.get(change.version_id, 0),
        from_stage=change.from_stage,
        to_stage=change.to_stage,
        actor=change.actor,
        at=change.at,
        note=change.note,  # type: ignore[arg-type]
    )


# --- lineage ------------------------------------------------------------------------------------

# Other domains add what grew out of a model's versions (predictions register one): given the
# version ids, each returns (version id, node id, label, data) for nodes downstream of a version.
LineageSource = Callable[[Session, list[int]], list[tuple[int, str, str, dict[str, Any]]]]
_lineage_sources: list[LineageSource] = []


def register_lineage_source(source: LineageSource) -> None:
    if source not in _lineage_sources:
        _lineage_sources.append(source)


def lineage(session: Session, model: Model) -> Lineage:
    """dataset version -> training job -> model version (-> child versions), and deployments."""
    versions = list(
        session.scalars(
            select(ModelVersion).where(ModelVersion.model_id == model.id).order_by(ModelVersion.version)
        )
    )
    graph = _Graph()
    labels = _dataset_labels(session, [v.dataset_version_id for v in versions if v.dataset_version_id])
    for version in versions:
        node = graph.version(model.name, version)
        if version.training_job_id is not None:
            job = graph.add(
                f"job:{version.training_job_id}", "training_job", f"job #{version.training_job_id}"
            )
            graph.edge(job, node, "produced")
            upstream = job
        else:
            upstream = node
        if version.dataset_version_id is not None:
            data = graph.add(
                f"dataset:{version.dataset_version_id}",
                "dataset_version",
                labels.get(version.dataset_version_id, f"dataset version {version.dataset_version_id}"),
            )
            graph.edge(data, upstream, "trained_on")
        if version.parent_version_id is not None:
            graph.edge(f"version:{version.parent_version_id}", node, "parent_of")
    for change in session.scalars(
        select(Deployment).where(Deployment.model_id == model.id).order_by(Deployment.id)
    ):
        label = f"{change.from_stage} → {change.to_stage}"
        node = graph.add(
            f"deployment:{change.id}",
            "deployment",
            label,
            {"at": change.at.isoformat(), "actor": change.actor, "note": change.note},
        )
        graph.edge(f"version:{change.version_id}", node, "deployed")
    for source in _lineage_sources:
        for version_id, node_id, label, data in source(session, [v.id for v in versions]):
            graph.edge(f"version:{version_id}", graph.add(node_id, "prediction", label, data), "predicted")
    return graph.result()


class _Graph:
    def __init__(self) -> None:
        self.nodes: dict[str, LineageNode] = {}
        self.edges: list[LineageEdge] = []

    def add(self, node_id: str, kind: str, label: str, data: dict[str, Any] | None = None) -> str:
        if node_id not in self.nodes:
            self.nodes[node_id] = LineageNode(id=node_id, kind=kind, label=label, data=data or {})  # type: ignore[arg-type]
        return node_id

    def version(self, model_name: str, version: ModelVersion) -> str:
        return self.add(
            f"version:{version.id}",
            "model_version",
            f"{model_name} v{version.version}",
            {"stage": version.stage, "family": version.family, "metrics": version.metrics},
        )

    def edge(self, source: str, target: str, relation: str) -> None:
        self.edges.append(LineageEdge(source=source, target=target, relation=relation))

    def result(self) -> Lineage:
        known = set(self.nodes)
        return Lineage(
            nodes=list(self.nodes.values()),
            edges=[e for e in self.edges if e.source in known and e.target in known],
        )


# --- journal --------------------------------------------------------------------------------------


def journal(session: Session, model: Model) -> list[JournalEntry]:
    """Every version's story in time order: how it was made, on what, how it scored, where it went."""
    versions = list(session.scalars(select(ModelVersion).where(ModelVersion.model_id == model.id)))
    numbers = {v.id: v.version for v in versions}
    labels = _dataset_labels(session, [v.dataset_version_id for v in versions if v.dataset_version_id])
    entries = [_version_entry(v, labels, numbers) for v in versions]
    for change in deployments.history(session, model):
        text = f"v{numbers.get(change.version_id)} {change.from_stage} → {change.to_stage} by {change.actor}"
        entries.append(
            JournalEntry(
                at=change.at,
                version=numbers.get(change.version_id),
                message=text + (f" ({change.note})" if change.note else ""),
            )
        )
    return sorted(entries, key=lambda e: e.at)


def _version_entry(version: ModelVersion, labels: dict[int, str], numbers: dict[int, int]) -> JournalEntry:
    parts = [f"v{version.version} registered by {version.created_by}"]
    if version.family:
        parts.append(f"family {version.family}")
    if version.training_job_id:
        parts.append(f"from training job #{version.training_job_id}")
    if version.dataset_version_id:
        parts.append(f"on {labels.get(version.dataset_version_id, 'a deleted dataset')}")
    if version.parent_version_id:
        parts.append(f"retrained from v{numbers.get(version.parent_version_id)}")
    if version.metrics:
        shown = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in list(version.metrics.items())[:6]
        )
        parts.append(f"metrics {shown}")
    if version.description:
        parts.append(f"“{version.description}”")
    return JournalEntry(at=version.created_at, version=version.version, message="; ".join(parts))
