"""/api/v1/ai-assistant: prompt tests on sample inputs and A/B experiments.

A test run calls the model many times, so it is a job: the POST renders every row once (a bad row
is a 422 and nothing is stored), queues the run and answers 202 with it; the server's prompt-test
worker does it (assistants/runner.py) and ``GET /test-runs/{id}`` shows its progress, then results.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from helios.api.deps import ContextDep, Cursor, Editor, Limit, ReadSessionDep, SessionDep, Viewer
from helios.assistants import experiment_results, experiments, runner, service, testing, views
from helios.assistants.schemas import (
    Assignment,
    AssignRequest,
    ExperimentCreate,
    ExperimentList,
    ExperimentRead,
    OutcomeBatch,
    OutcomesAccepted,
    PromoteRequest,
    TestRunList,
    TestRunRead,
    TestRunRequest,
    TestSetCreate,
    TestSetList,
    TestSetRead,
)
from helios.core.errors import Conflict
from helios.core.pagination import DEFAULT_LIMIT

router = APIRouter(prefix="/ai-assistant", tags=["assistants"])
PROBLEMS = {
    404: {"description": "not found"},
    409: {"description": "conflicts with state"},
    422: {"description": "invalid input"},
}


# --- prompt tests -----------------------------------------------------------------------------------


@router.post(
    "/prompts/{id}/test-sets",
    response_model=TestSetRead,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
)
def create_test_set(id: str, body: TestSetCreate, session: SessionDep, actor: Editor) -> TestSetRead:
    assistant = service.get_assistant(session, id)
    return views.test_set_read(session, testing.create_test_set(session, assistant, body, actor))


@router.get("/prompts/{id}/test-sets", response_model=TestSetList, responses=PROBLEMS)
def list_test_sets(
    id: str, session: ReadSessionDep, _: Viewer, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> TestSetList:
    return views.list_test_sets(session, service.get_assistant(session, id), cursor=cursor, limit=limit)


@router.get("/test-sets/{test_set_id}", response_model=TestSetRead, responses=PROBLEMS)
def get_test_set(test_set_id: int, session: ReadSessionDep, _: Viewer) -> TestSetRead:
    return views.test_set_read(session, testing.get_test_set(session, test_set_id))


@router.delete("/test-sets/{test_set_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
def delete_test_set(test_set_id: int, session: SessionDep, _: Editor) -> Response:
    session.delete(testing.get_test_set(session, test_set_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/test-sets/{test_set_id}/runs",
    response_model=TestRunRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=PROBLEMS,
)
def run_test_set(
    test_set_id: int, body: TestRunRequest, context: ContextDep, actor: Editor, response: Response
) -> TestRunRead:
    """Queue a run of one version, or two side by side, over every row, N repeats each; 202 with
    the run (status ``queued``). Poll ``GET /test-runs/{id}`` for progress and, when
    ``finished``, the results."""
    with context.db.transaction() as session:
        test_set = testing.get_test_set(session, test_set_id)
        read = views.run_read(
            session, testing.queue_run(session, test_set, body.versions, body.repeats, actor)
        )
    runner.wake()  # after the commit, so the worker finds the run
    response.headers["Location"] = f"/api/v1/ai-assistant/test-runs/{read.id}"
    return read


@router.get("/test-sets/{test_set_id}/runs", response_model=TestRunList, responses=PROBLEMS)
def list_test_runs(
    test_set_id: int, session: ReadSessionDep, _: Viewer, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> TestRunList:
    """The set's runs, newest first, with their status and progress."""
    return views.list_runs(session, testing.get_test_set(session, test_set_id), cursor=cursor, limit=limit)


@router.get("/test-runs/{run_id}", response_model=TestRunRead, responses=PROBLEMS)
def get_test_run(run_id: int, session: ReadSessionDep, _: Viewer) -> TestRunRead:
    """Status, calls done of calls total, and per-version results once finished."""
    return views.run_read(session, testing.get_run(session, run_id))


# --- experiments ------------------------------------------------------------------------------------


@router.post(
    "/experiments", response_model=ExperimentRead, status_code=status.HTTP_201_CREATED, responses=PROBLEMS
)
def create_experiment(body: ExperimentCreate, session: SessionDep, actor: Editor) -> ExperimentRead:
    assistant = service.get_assistant(session, body.assistant)
    return experiment_results.experiment_read(
        session, experiments.create_experiment(session, assistant, body, actor)
    )


@router.get("/experiments", response_model=ExperimentList)
def list_experiments(
    session: ReadSessionDep,
    _: Viewer,
    assistant: str | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ExperimentList:
    owner = service.get_assistant(session, assistant) if assistant else None
    return experiment_results.list_experiments(session, owner, cursor=cursor, limit=limit)


@router.get("/experiments/{experiment_id}", response_model=ExperimentRead, responses=PROBLEMS)
def get_experiment(experiment_id: int, session: ReadSessionDep, _: Viewer) -> ExperimentRead:
    """Live results: counts, means, intervals, P(best), the sequential test and its verdict."""
    return experiment_results.experiment_read(session, experiments.get_experiment(session, experiment_id))


@router.post("/experiments/{experiment_id}/assign", response_model=Assignment, responses=PROBLEMS)
def assign(experiment_id: int, body: AssignRequest, session: SessionDep, _: Viewer) -> Assignment:
    """The subject's variant (sticky; stored on first exposure) without a chat call."""
    experiment = experiments.get_experiment(session, experiment_id)
    if experiment.status != "running":
        raise Conflict(f"experiment {experiment_id} is {experiment.status}; it assigns no one")
    variant = experiments.assign(session, experiment, body.subject)
    if variant is None:
        raise Conflict(f"every variant of experiment {experiment_id} is paused")
    version = experiments.version_number(session, variant)
    return Assignment(
        experiment_id=experiment_id, subject=body.subject, variant=variant.name, version=version
    )


@router.post("/experiments/{experiment_id}/outcomes", response_model=OutcomesAccepted, responses=PROBLEMS)
def post_outcomes(experiment_id: int, body: OutcomeBatch, session: SessionDep, _: Editor) -> OutcomesAccepted:
    """Thumbs or scores for assigned subjects; one bad row refuses the batch."""
    experiment = experiments.get_experiment(session, experiment_id)
    return OutcomesAccepted(accepted=experiments.record_outcomes(session, experiment, body.outcomes))


@router.post("/experiments/{experiment_id}/stop", response_model=ExperimentRead, responses=PROBLEMS)
def stop_experiment(experiment_id: int, session: SessionDep, actor: Editor) -> ExperimentRead:
    experiment = experiments.stop(session, experiments.get_experiment(session, experiment_id), actor)
    return experiment_results.experiment_read(session, experiment)


@router.post("/experiments/{experiment_id}/promote", response_model=ExperimentRead, responses=PROBLEMS)
def promote(experiment_id: int, body: PromoteRequest, session: SessionDep, actor: Editor) -> ExperimentRead:
    """Move ``production`` to the winner's version (through the test gate) and end the experiment."""
    experiment = experiments.get_experiment(session, experiment_id)
    winner = body.variant or experiment_results.leader(session, experiment)
    experiments.promote(session, experiment, winner, actor, force=body.force, note=body.note)
    return experiment_results.experiment_read(session, experiment)
