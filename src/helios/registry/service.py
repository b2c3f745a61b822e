"""Models and their versions: create, register artifacts, look up, alias, delete.

Stage changes live in ``deployments``; read views (lists, lineage, journal) in ``views``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helios.core.artifacts import ArtifactStore
from helios.core.auth import Principal, Role, record_audit
from helios.core.clock import utcnow
from helios.core.errors import Conflict, Forbidden, InvalidInput, NotFound, did_you_mean
from helios.core.events import after_commit
from helios.core.parsing import check_slug
from helios.forecasting.atomic_files import write_synced
from helios.registry.schemas import LlmConfig, ModelCreate, ModelUpdate, Stage
from helios.registry.tables import Deployment, Model, ModelAlias, ModelVersion

if TYPE_CHECKING:
    from helios.registry.inference import InferenceCache

# Files a saved Fitted directory may hold; anything else is refused before it is stored.
ARTIFACT_FILE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}\.(json|safetensors)$")
MAX_ARTIFACT_FILES = 16


# Other domains (predictions) register a check naming what of theirs still uses some of a
# model's versions; deleting the model is refused while any check names something.
VersionReferenceCheck = Callable[[Session, list[int]], list[str]]
_version_reference_checks: list[VersionReferenceCheck] = []


def register_version_reference_check(check: VersionReferenceCheck) -> None:
    if check not in _version_reference_checks:
        _version_reference_checks.append(check)


# --- models -----------------------------------------------------------------------------------


def get_model(session: Session, ident: str, *, lock: bool = False) -> Model:
    """By name, or by numeric id when no model has that name."""
    query = select(Model).where(Model.name == ident)
    if lock:
        query = query.with_for_update()
    model = session.scalar(query)
    if model is None and ident.isdecimal():
        by_id = select(Model).where(Model.id == int(ident))
        model = session.scalar(by_id.with_for_update() if lock else by_id)
    if model is None:
        raise NotFound(f"no model {ident!r}{did_you_mean(ident, session.scalars(select(Model.name)))}")
    return model


def create_model(session: Session, body: ModelCreate, actor: Principal) -> Model:
    check_slug(body.name, "model name")
    if body.kind == "llm" and body.llm is None:
        raise InvalidInput("an llm model needs its endpoint config in 'llm'")
    if session.scalar(select(Model.id).where(Model.name == body.name)):
        raise Conflict(f"a model named {body.name!r} already exists")
    model = Model(
        name=body.name,
        kind=body.kind,
        task=body.task,
        description=body.description,
        tags=body.tags,
        key_metric=body.key_metric or ("mase" if body.kind == "ml" else None),
        created_by=actor.name,
    )
    session.add(model)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"a model named {body.name!r} already exists") from None
    record_audit(session, actor, "model.create", "model", model.name, {"kind": body.kind})
    if body.llm is not None:
        add_llm_version(session, model, body.llm, actor, description="initial config")
    return model


def update_model(session: Session, model: Model, body: ModelUpdate, actor: Principal) -> Model:
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(model, field, value)
    if "key_metric" in body.model_fields_set:
        for version in session.scalars(select(ModelVersion).where(ModelVersion.model_id == model.id)):
            version.key_metric_value = key_metric_value(version.metrics, model.key_metric)
    model.updated_at = utcnow()
    record_audit(session, actor, "model.update", "model", model.name, body.model_dump(exclude_unset=True))
    session.flush()
    return model


def ensure_model(session: Session, name: str, *, kind: str, task: str, actor: Principal) -> Model:
    """The model of that name, created when new (training jobs register into a target name)."""
    existing = session.scalar(select(Model).where(Model.name == name).with_for_update())
    if existing is not None:
        if existing.kind != kind:
            raise Conflict(f"model {name!r} is an {existing.kind} model, not {kind}")
        return existing
    return create_model(session, ModelCreate(name=name, kind=kind, task=task), actor)  # type: ignore[arg-type]


def delete_model(
    session: Session,
    store: ArtifactStore,
    inference: InferenceCache,
    ident: str,
    actor: Principal,
    *,
    force: bool,
) -> None:
    """Delete model ``ident`` (name or id), its versions and their artifacts, leaving an audit row;
    the API, the UI and the CLI all delete this way. The model row is locked; the artifact files
    and the versions loaded in the inference cache go once the deletion commits."""
    model = get_model(session, ident, lock=True)
    name = model.name
    _delete_rows(session, store, model, actor, force=force)
    after_commit(session, lambda: inference.forget(name))


def _delete_rows(
    session: Session, store: ArtifactStore, model: Model, actor: Principal, *, force: bool
) -> None:
    active = session.scalar(
        select(ModelVersion.version).where(
            ModelVersion.model_id == model.id, ModelVersion.stage == Stage.active
        )
    )
    if active is not None:
        if not force:
            raise Conflict(f"model {model.name!r} has v{active} active; stop it first or delete with force")
        if actor.role < Role.admin:
            raise Forbidden("deleting a model with an active version needs the admin role")
    version_ids = list(session.scalars(select(ModelVersion.id).where(ModelVersion.model_id == model.id)))
    users = [user for check in _version_reference_checks for user in check(session, version_ids)]
    if users:
        raise Conflict(f"model {model.name!r} is still used by {', '.join(users)}; its versions stay")
    keys = list(
        session.scalars(
            select(ModelVersion.artifact_key).where(
                ModelVersion.model_id == model.id, ModelVersion.artifact_key.is_not(None)
            )
        )
    )
    record_audit(
        session,
        actor,
        "model.delete",
        "model",
        model.name,
        {"versions": _version_count(session, model.id), "forced": force, "active": active},
    )
    session.execute(delete(ModelAlias).where(ModelAlias.model_id == model.id))
    session.execute(delete(Deployment).where(Deployment.model_id == model.id))
    session.execute(delete(ModelVersion).where(ModelVersion.model_id == model.id))
    session.delete(model)
    session.flush()
    # The files go once the deletion has committed: a rollback keeps rows and files together.
    after_commit(session, lambda: [remove_artifact(store, key) for key in keys])


def key_metric_value(metrics: dict[str, Any] | None, key: str | None) -> float | None:
    value = (metrics or {}).get(key) if key else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _version_count(session: Session, model_id: int) -> int:
    return session.scalar(select(func.count(ModelVersion.id)).where(ModelVersion.model_id == model_id)) or 0


# --- versions ---------------------------------------------------------------------------------


def get_version(
    session: Session, model: Model, number: int | None = None, *, alias: str | None = None
) -> ModelVersion:
    """A version by number, by alias, or (neither given) the active one."""
    query = select(ModelVersion).where(ModelVersion.model_id == model.id)
    if alias is not None:
        version_id = session.scalar(
            select(ModelAlias.version_id).where(ModelAlias.model_id == model.id, ModelAlias.alias == alias)
        )
        row = session.get(ModelVersion, version_id) if version_id else None
        what = f"alias {alias!r}"
    elif number is not None:
        row = session.scalar(query.where(ModelVersion.version == number))
        what = f"version {number}"
    else:
        row = session.scalar(query.where(ModelVersion.stage == Stage.active))
        what = "active version"
    if row is None:
        raise NotFound(f"model {model.name!r} has no {what}")
    return row


def version_numbers(session: Session, version_ids: Iterable[int]) -> dict[int, int]:
    """The version number of each model version id, in one query (for other domains' reads)."""
    ids = set(version_ids)
    if not ids:
        return {}
    rows = session.execute(select(ModelVersion.id, ModelVersion.version).where(ModelVersion.id.in_(ids)))
    return dict(rows.tuples().all())


def dataset_references(session: Session, version_ids: list[int]) -> list[str]:
    """Registered with datasets at start-up: a dataset a model version was trained on stays, for
    lineage (the versions it names would lose where they came from)."""
    rows = session.execute(
        select(Model.name, ModelVersion.version)
        .join(Model, Model.id == ModelVersion.model_id)
        .where(ModelVersion.dataset_version_id.in_(version_ids))
        .order_by(Model.name, ModelVersion.version)
        .limit(5)
    )
    return [f"model {name} v{number}" for name, number in rows]


def _next_number(session: Session, model: Model) -> int:
    return (
        session.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.model_id == model.id)) or 0
    ) + 1


def add_llm_version(
    session: Session, model: Model, config: LlmConfig, actor: Principal, *, description: str = ""
) -> ModelVersion:
    """A config change is a new version."""
    if model.kind != "llm":
        raise InvalidInput(f"model {model.name!r} is an ML model; LLM configs belong to llm models")
    version = ModelVersion(
        model_id=model.id,
        version=_next_number(session, model),
        family="llm-endpoint",
        llm_config=config.model_dump(mode="json"),
        params=dict(config.default_params),
        description=description,
        created_by=actor.name,
    )
    session.add(version)
    model.updated_at = utcnow()
    session.flush()
    record_audit(session, actor, "model.version", "model", model.name, {"version": version.version})
    return version


def register_artifact(
    session: Session,
    store: ArtifactStore,
    model: Model,
    source: Path,
    actor: Principal,
    *,
    params: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    training_job_id: int | None = None,
    dataset_version_id: int | None = None,
    parent_version: int | None = None,
    code_revision: str | None = None,
    description: str = "",
) -> ModelVersion:
    """Validate a saved ``Fitted`` directory (checksums, no pickle, loads) and store it as the
    model's next version. The store key is made here; nothing of the source path is kept."""
    if model.kind != "ml":
        raise InvalidInput(f"model {model.name!r} is an llm model; register its config instead")
    files = artifact_files(source)
    fitted, manifest_sha = verify_artifact(source)
    parent = get_version(session, model, parent_version).id if parent_version else None
    number = _next_number(session, model)
    key = f"models/{model.id}/v{number}-{manifest_sha[:16]}"
    size = _stage_into_store(session, store, source, key, files)
    version = ModelVersion(
        model_id=model.id,
        version=number,
        family=fitted.family,
        artifact_key=key,
        artifact_sha256=manifest_sha,
        artifact_bytes=size,
        params=params or {},
        metrics=metrics or {},
        key_metric_value=key_metric_value(metrics, model.key_metric),
        training_job_id=training_job_id,
        dataset_version_id=dataset_version_id,
        parent_version_id=parent,
        code_revision=code_revision,
        description=description,
        created_by=actor.name,
    )
    session.add(version)
    model.updated_at = utcnow()
    session.flush()
    record_audit(
        session, actor, "model.version", "model", model.name, {"version": number, "sha256": manifest_sha}
    )
    return version


def register_fitted(
    session: Session, store: ArtifactStore, model: Model, fitted: Any, actor: Principal, **details: Any
) -> ModelVersion:
    """Save an in-memory ``Fitted`` and register it (what training jobs and the demo do)."""
    from helios.forecasting.artifacts import save_fitted

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "fitted"
        save_fitted(fitted, target)
        return register_artifact(session, store, model, target, actor, **details)


def register_trained(
    session: Session,
    store: ArtifactStore,
    name: str,
    fitted: Any,
    owner: Principal,
    *,
    task: str,
    data_kind: str,
    **details: Any,
) -> tuple[Model, ModelVersion]:
    """A training job's result as the next version of model ``name``, made when new. A model fed
    draws ranks its versions by log loss: MASE means nothing for a lottery draw."""
    model = ensure_model(session, name, kind="ml", task=task, actor=owner)
    if data_kind == "draws" and model.key_metric == "mase":
        model.key_metric = "log_loss"
    return model, register_fitted(session, store, model, fitted, owner, **details)


def artifact_files(source: Path) -> list[str]:
    if not source.is_dir():
        raise InvalidInput(
            "a model artifact is a directory saved by Fitted.save (manifest.json and its files)"
        )
    names = sorted(p.name for p in source.iterdir())
    bad = [
        n
        for n in names
        if not ARTIFACT_FILE.match(n) or (source / n).is_symlink() or not (source / n).is_file()
    ]
    if bad:
        raise InvalidInput(
            f"the artifact holds files Helios does not accept: {', '.join(bad)} "
            "(only .json and .safetensors files, no links or folders)"
        )
    if "manifest.json" not in names:
        raise InvalidInput("the artifact has no manifest.json")
    if len(names) > MAX_ARTIFACT_FILES:
        raise InvalidInput(f"the artifact has {len(names)} files; at most {MAX_ARTIFACT_FILES} are accepted")
    return names


def verify_artifact(directory: Path) -> tuple[Any, str]:
    """Load it the safe way (checksums, no code execution); returns the Fitted and the sha256 of
    its manifest, which names every file's sha256 and so stands for the whole artifact."""
    from helios.forecasting.artifacts import load_fitted
    from helios.forecasting.base import ForecastingError

    try:
        fitted = load_fitted(directory)
    except ForecastingError as exc:
        raise InvalidInput(f"the artifact was refused: {exc}") from None
    _trial_forecast(fitted)
    return fitted, hashlib.sha256((directory / "manifest.json").read_bytes()).hexdigest()


def _trial_forecast(fitted: Any) -> None:
    """A state can be self-consistent (checksums match, it loads) and still be nonsense: an empty
    season, a season of a billion steps, a frequency no calendar knows. One step ahead, once, at
    registration, finds that here rather than as a 500 on the first prediction."""
    try:
        fitted.predict(1)
    except Exception as exc:  # whatever the family raises, the artifact is what is wrong
        raise InvalidInput(f"the artifact loads but cannot forecast: {exc!r}"[:500]) from None


def _stage_into_store(
    session: Session, store: ArtifactStore, source: Path, key: str, files: list[str]
) -> int:
    """Copied to a staging directory now, moved to ``key`` once the version's row has committed:
    a failed commit leaves no file that no row knows (the start-up sweep takes the staging)."""
    staged = store.stage_dir()
    size = 0
    for name in files:
        data = (source / name).read_bytes()
        write_synced(staged / name, data)
        size += len(data)
    store.hold(key, staged)
    after_commit(session, lambda: store.publish(staged, key))
    return size


def manifest_files(store: ArtifactStore, version: ModelVersion) -> list[str]:
    if not version.artifact_key:
        return []
    manifest = json.loads(store.read_bytes(f"{version.artifact_key}/manifest.json"))
    return ["manifest.json", *sorted(manifest.get("files", {}))]


def artifact_file(store: ArtifactStore, version: ModelVersion, filename: str) -> Path:
    """One file of a version's artifact, for download: only names its manifest lists."""
    if not version.artifact_key:
        raise NotFound(f"v{version.version} has no artifact (an llm config has none)")
    if filename not in manifest_files(store, version):
        raise NotFound(f"v{version.version}'s artifact has no file {filename!r}")
    return store.resolve(f"{version.artifact_key}/{filename}")


def load_verified(store: ArtifactStore, version: ModelVersion) -> Any:
    """The version's Fitted, re-verified against the sha256 recorded at registration."""
    if not version.artifact_key:
        raise InvalidInput(f"v{version.version} has no artifact to load")
    directory = store.resolve(version.artifact_key)
    if not (directory / "manifest.json").is_file():
        raise NotFound(f"the artifact of v{version.version} is missing from the store")
    fitted, sha = verify_artifact(directory)
    if sha != version.artifact_sha256:
        raise InvalidInput(
            f"the artifact of v{version.version} changed since it was registered (sha256 mismatch)"
        )
    return fitted


def remove_artifact(store: ArtifactStore, key: str) -> None:
    directory = store.resolve(key)
    if directory.is_dir() and not directory.is_symlink():
        shutil.rmtree(directory)


# --- aliases ----------------------------------------------------------------------------------


def set_alias(session: Session, model: Model, alias: str, number: int, actor: Principal) -> ModelAlias:
    version = get_version(session, model, number)
    row = session.scalar(select(ModelAlias).where(ModelAlias.model_id == model.id, ModelAlias.alias == alias))
    if row is None:
        row = ModelAlias(model_id=model.id, alias=alias, version_id=version.id)
        session.add(row)
    else:
        row.version_id, row.updated_at = version.id, utcnow()
    record_audit(session, actor, "model.alias", "model", model.name, {"alias": alias, "version": number})
    session.flush()
    return row


def remove_alias(session: Session, model: Model, alias: str, actor: Principal) -> None:
    row = session.scalar(select(ModelAlias).where(ModelAlias.model_id == model.id, ModelAlias.alias == alias))
    if row is None:
        raise NotFound(f"model {model.name!r} has no alias {alias!r}")
    session.delete(row)
    record_audit(session, actor, "model.alias.remove", "model", model.name, {"alias": alias})
    session.flush()
