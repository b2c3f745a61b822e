"""The system remembers what happened: training finished, deployments and rollbacks, predictions
that missed their interval (weakening the memories that fed them), each once."""

from __future__ import annotations

from sqlalchemy import select

from helios.agents import service as agents
from helios.agents.schemas import AgentCreate
from helios.core.events import ModelDeployed, PredictionScored, ScoredPrediction, TrainingFinished, publish
from helios.memory import service, system
from helios.memory.schemas import MemoryBatch
from helios.memory.tables import Memory


def contents(context, agent: str) -> list[str]:  # type: ignore[no-untyped-def]
    with context.db.reading() as session:
        found = agents.get_agent(session, agent)
        return list(
            session.scalars(select(Memory.content).where(Memory.agent_id == found.id).order_by(Memory.id))
        )


def test_events_become_memories_of_the_agents_using_the_model(memory_context, actor) -> None:  # type: ignore[no-untyped-def]
    context = memory_context
    system.subscribe(context)
    with context.db.transaction() as session:
        agents.create_agent(session, AgentCreate(name="desk", models=["nb"]), actor)
        batch = MemoryBatch.model_validate(
            {
                "memories": [
                    {
                        "content": "AAPL tends to rise in December",
                        "source_link": {"type": "prediction", "id": 41},
                    }
                ]
            }
        )
        _, _, (hint,) = service.write_memories(session, context.memory, None, "desk", batch, actor)
    with context.db.transaction() as session:
        publish(
            session,
            TrainingFinished(
                job_id=7,
                status="succeeded",
                family="nbeats",
                dataset_version_id=1,
                model="nb",
                version=2,
                metrics={"val_mase": 0.81},
                owner="local",
            ),
        )
        publish(
            session,
            ModelDeployed(
                model="nb",
                action="rollback",
                stage="active",
                to_version=1,
                from_stage="active",
                from_version=2,
                deployment_id=3,
                actor="ana",
            ),
        )
        publish(
            session,
            ModelDeployed(
                model="other",
                action="deploy",
                stage="active",
                to_version=1,
                from_stage="none",
                deployment_id=4,
                actor="ana",
            ),
        )
        publish(
            session,
            PredictionScored(
                source="dataset stocks v3",
                predictions=[
                    ScoredPrediction(
                        prediction_id=41,
                        model="nb",
                        model_version=1,
                        dataset="stocks",
                        unique_id="AAPL",
                        points=5,
                        revised=0,
                        mean_abs_error=3.2,
                        missed_levels=[95],
                    ),
                    ScoredPrediction(
                        prediction_id=42,
                        model="nb",
                        model_version=1,
                        dataset="stocks",
                        unique_id="MSFT",
                        points=5,
                        revised=0,
                        mean_abs_error=0.1,
                    ),
                ],
            ),
        )
    context.events.drain()
    desk = contents(context, "desk")
    assert any(
        "Training job 7 (nbeats for model nb) succeeded; registered nb v2; val_mase 0.81" in c for c in desk
    )
    assert any("Model nb rolled back to v1 (replacing v2) by ana" in c for c in desk)
    assert any("Prediction 41 of nb v1 for AAPL fell outside its 95% interval" in c for c in desk)
    assert not any("MSFT" in c for c in desk)
    assert contents(context, "helios") == ["Model other deployed to active: v1 by ana."]
    with context.db.reading() as session:
        weakened = session.get(Memory, hint.id)
        assert weakened.wrong_predictions == 1
        system_memory = session.scalar(select(Memory).where(Memory.source == "system").limit(1))
        assert system_memory.meta["event"].startswith("training.finished:")
    before = len(desk)
    with context.db.transaction() as session:  # a redelivered event is remembered once
        event = TrainingFinished(
            job_id=7, status="succeeded", family="nbeats", dataset_version_id=1, model="nb", owner="local"
        ).model_copy(update={"event_id": int(system_memory.meta["event"].split(":")[1])})
        system.remember_event(session, context.memory, None, event)
    assert len(contents(context, "desk")) == before


def test_event_memories_are_embedded_before_the_write_lock_is_taken(memory_context, actor) -> None:  # type: ignore[no-untyped-def]
    """The delivery transaction opens at the handler's first statement and holds SQLite's write
    lock to the commit; the model (seconds to load, then per text) must run before it. While the
    embedder runs, another writer must get the lock at once."""
    context = memory_context
    inner = context.memory.embedder
    writers: list[bool] = []

    class LockProbe:
        name, dim, min_similarity = inner.name, inner.dim, inner.min_similarity

        def embed(self, texts):  # type: ignore[no-untyped-def]
            writers.append(_can_write_now(context))
            return inner.embed(texts)

    with context.db.transaction() as session:
        agents.create_agent(session, AgentCreate(name="desk", models=["nb"]), actor)
    context.memory.embedder = LockProbe()
    event = ModelDeployed(
        model="nb",
        action="deploy",
        stage="active",
        to_version=3,
        from_stage="staging",
        deployment_id=4,
        actor="ana",
    ).model_copy(update={"event_id": 9})
    with context.db.transaction() as session:
        system.remember_event(session, context.memory, None, event)
    assert writers == [True]  # one embedding call for the event, made while no lock was held
    assert contents(context, "desk") == ["Model nb deployed to active: v3 by ana."]


def _can_write_now(context) -> bool:  # type: ignore[no-untyped-def]
    if context.db.dialect != "sqlite":  # PostgreSQL has row locks only; the order is the same
        return True
    import sqlite3

    probe = sqlite3.connect(context.db.write_engine.url.database, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()
