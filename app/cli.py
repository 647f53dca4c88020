"""The ``complaintflow`` command: serve the API with its timers, import and replay complaint files."""

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from app.settings import Settings

cli = typer.Typer(
    help="complaintflow: 即诉即办 complaint handling with SLA clocks.", no_args_is_help=True, pretty_exceptions_show_locals=False
)
console = Console()
err_console = Console(stderr=True)


@cli.callback()
def _root() -> None:
    """complaintflow: 即诉即办 complaint handling with SLA clocks."""


def fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


def _settings(database_url: str | None, policy: Path | None, **extra: object) -> Settings:
    overrides: dict[str, object] = {k: v for k, v in extra.items() if v is not None}
    if database_url:
        overrides["database_url"] = database_url
    if policy:
        overrides["policy"] = policy
    return Settings(**overrides)  # type: ignore[arg-type]


DatabaseOpt = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL (sqlite:///… or postgresql://…)")]
PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="SLA policy TOML (default: the shipped one)")]


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    database_url: DatabaseOpt = None,
    policy: PolicyOpt = None,
) -> None:
    """Run the API, the SLA timers and SMS dispatch in one process (one per database)."""
    import uvicorn
    from sqlalchemy.exc import OperationalError

    from app.api.main import create_app
    from app.runtime import Runtime
    from workflows.policy import PolicyError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    settings = _settings(database_url, policy, host=host, port=port)
    if settings.public_base_url is None:
        settings.public_base_url = f"http://{host}:{port}"
    try:
        runtime = Runtime(settings)
    except PolicyError as exc:
        raise fail(str(exc)) from None
    except OperationalError as exc:
        raise fail(f"cannot open the database {settings.database_url}: {exc.orig}") from None
    fired = runtime.start()
    console.print(f"complaintflow on [bold]http://{host}:{port}[/]  (API docs: http://{host}:{port}/docs)")
    console.print(f"database: {runtime.db.url.split('@')[-1]}   notifier: {runtime.notifier.name}")
    console.print(f"start-up reconcile fired {fired} SLA level(s); SMS outbox file: {settings.sms_outbox_path}")
    uvicorn.run(create_app(runtime), host=host, port=port, log_level="info")


def main() -> None:
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    cli()


if __name__ == "__main__":
    main()
