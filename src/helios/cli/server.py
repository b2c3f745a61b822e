from __future__ import annotations

from typing import Annotated

import typer

from helios.cli.common import console, err_console, local_only, open_context, reported_errors, settings


def serve(
    host: Annotated[str | None, typer.Option(help="address to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default 8765)")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="seed demo data on first start")] = False,
    reload: Annotated[bool, typer.Option(hidden=True)] = False,
) -> None:
    """Run the web UI and the REST API (migrations run first)."""
    local_only("serve")
    import uvicorn

    from helios.app import AuthNotConfigured, check_exposure, create_app

    with reported_errors():  # a bad HELIOS_* setting is one line naming it, not a traceback
        config = settings()
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    if demo:
        overrides["demo"] = True
    config = config.model_copy(update=overrides)
    if demo:
        console.print("seeding demo data on first start (datasets, a few quick training runs)…")
    try:
        app = create_app(config, executor=True)
        check_exposure(app.state.helios)
    except AuthNotConfigured as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    console.print(f"Helios on [bold]http://{config.host}:{config.port}[/]  (data in {config.home})")
    # Ctrl-C / SIGTERM: an open browser tab keeps a socket; give connections 3 s, not forever.
    uvicorn.run(
        app, host=config.host, port=config.port, log_level="info", reload=reload, timeout_graceful_shutdown=3
    )


def worker(
    stale_after: Annotated[
        float | None, typer.Option(help="seconds without heartbeat before a job is orphaned")
    ] = None,
) -> None:
    """Run one training worker on its own (``helios serve`` starts HELIOS_WORKERS of them itself)."""
    local_only("worker")
    import signal

    from helios.training.workers import ParentGone, Worker, bind_to_parent

    try:
        parent = bind_to_parent()
    except ParentGone as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    context = open_context()
    runner = Worker(
        context, stale_after_s=stale_after or context.settings.job_stale_after_s, parent_pid=parent
    )
    signal.signal(signal.SIGTERM, lambda *_: runner.stopping.set())
    console.print(f"worker {runner.name} waiting for training jobs (Ctrl+C to stop)")
    try:
        runner.run_forever()
    except KeyboardInterrupt:
        runner.stopping.set()


def demo() -> None:
    """Seed the demo data (synthetic stocks, fair draws) into the configured database."""
    local_only("demo")
    from helios.demo import seed_demo

    with reported_errors():
        context = open_context()
        created = seed_demo(context, force=True)
    console.print(f"demo data ready: {', '.join(created) if created else 'already present'}")
