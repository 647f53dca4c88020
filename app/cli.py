"""The ``complaintflow`` command: serve the API with its timers, import and replay complaint files."""

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from app.settings import Settings

cli = typer.Typer(
    help="complaintflow: 即诉即办 complaint handling with SLA clocks.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
console = Console()
err_console = Console(stderr=True)


@cli.callback()
def _root() -> None:
    """complaintflow: 即诉即办 complaint handling with SLA clocks."""


def fail(message: str) -> typer.Exit:
    # One line however long (soft wrap), and the message printed as text, never read as markup.
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(code=2)


def _settings(database_url: str | None, policy: Path | None, **extra: object) -> Settings:
    overrides: dict[str, object] = {k: v for k, v in extra.items() if v is not None}
    if database_url:
        overrides["database_url"] = database_url
    if policy:
        overrides["policy"] = policy
    return Settings(**overrides)  # type: ignore[arg-type]


DatabaseOpt = Annotated[
    str | None, typer.Option("--database-url", help="SQLAlchemy URL (sqlite:///… or postgresql://…)")
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", help="folder for the SMS outbox file and Prefect's state (default: data)"),
]
PolicyOpt = Annotated[
    Path | None, typer.Option("--policy", help="SLA policy TOML (default: the shipped one)")
]


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    database_url: DatabaseOpt = None,
    policy: PolicyOpt = None,
    data_dir: DataDirOpt = None,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="log every HTTP request")
    ] = False,
) -> None:
    """Run the API, the SLA timers and SMS dispatch in one process (one per database)."""
    import uvicorn
    from pydantic import ValidationError
    from sqlalchemy.exc import OperationalError

    from app.api.main import create_app
    from app.runtime import Runtime, SmsConfigError, load_config
    from models.db import DatabaseUrlError, check_database
    from workflows.policy import PolicyError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        settings = _settings(database_url, policy, host=host, port=port, data_dir=data_dir)
    except ValidationError as exc:
        raise fail(f"invalid settings: {exc}") from None
    if settings.public_base_url is None and not settings.twilio.given:
        settings.public_base_url = f"http://{host}:{port}"
    try:
        config = load_config(settings)  # before check_database, which creates a SQLite file
        check_database(settings.database_url)
        runtime = Runtime(settings, config=config)
    except (PolicyError, SmsConfigError, DatabaseUrlError) as exc:
        raise fail(str(exc)) from None
    except OperationalError as exc:
        raise fail(f"cannot open the database {settings.database_url}: {exc.orig}") from None
    fired = runtime.start()
    console.print(f"complaintflow on [bold]http://{host}:{port}[/]  (API docs: http://{host}:{port}/docs)")
    console.print(f"database: {runtime.db.url.split('@')[-1]}   notifier: {runtime.notifier.name}")
    if settings.twilio.enabled:
        console.print(f"Twilio status callbacks: {settings.twilio_status_url}")
        console.print(f"start-up reconcile fired {fired} SLA level(s)")
    else:
        console.print(
            f"start-up reconcile fired {fired} SLA level(s); SMS outbox file: {settings.sms_outbox_path}"
        )
    logging.getLogger("uvicorn.access").addFilter(_MaskSecrets())
    uvicorn.run(create_app(runtime), host=host, port=port, log_level="info", access_log=access_log)


class _MaskSecrets(logging.Filter):
    """The access log shows /p/<key> paths: cut the key, as every other log line does."""

    def filter(self, record: logging.LogRecord) -> bool:
        from notifiers.masking import mask_secrets_in

        if isinstance(record.args, tuple):
            record.args = tuple(mask_secrets_in(a) if isinstance(a, str) else a for a in record.args)
        return True


FileArg = Annotated[Path, typer.Argument(help="CSV or XLSX file from another system")]
MappingOpt = Annotated[Path, typer.Option("--mapping", help="mapping TOML: which column is which field")]


@cli.command("import")
def import_command(
    file: FileArg,
    mapping: MappingOpt,
    database_url: DatabaseOpt = None,
    policy: PolicyOpt = None,
    chunk_size: Annotated[int, typer.Option(min=1, help="rows per transaction / Prefect task")] = 1000,
    send_sms: Annotated[
        bool,
        typer.Option(
            "--send-sms/--no-sms",
            help="also send each enterprise the receipt SMS (default: on its progress page only)",
        ),
    ] = False,
) -> None:
    """Import complaints; rows that fail are listed with their row number, the rest are imported."""
    from app.batch_cli import run_import
    from models.db import DatabaseUrlError
    from workflows.errors import DomainError
    from workflows.policy import PolicyError

    settings = _settings(database_url, policy)
    try:
        report = run_import(settings, file, mapping, console, chunk_size=chunk_size, send_sms=send_sms)
    except (DomainError, PolicyError, DatabaseUrlError) as exc:
        raise fail(str(exc)) from None
    console.print(
        f"{report.rows:,} rows: {report.imported:,} imported, {report.duplicates:,} already filed, "
        f"{len(report.failures):,} failed"
        + (f", {report.truncated:,} with text cut to length" if report.truncated else "")
    )
    for failure in report.failures:
        console.print(f"  row {failure.row_no}: {failure.reason}")
    if report.failures and not report.imported and not report.duplicates:
        raise typer.Exit(code=1)


@cli.command()
def replay(
    file: FileArg,
    mapping: MappingOpt,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="keep the replayed data here (default: a scratch SQLite file)"),
    ] = None,
    policy: PolicyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    chunk_size: Annotated[int, typer.Option(min=1, help="timeline steps per Prefect task")] = 2000,
) -> None:
    """Replay recorded complaints on a virtual clock and print the SLA report."""
    from app.batch_cli import print_replay_report, replay_json, run_replay
    from models.db import DatabaseUrlError
    from workflows.errors import DomainError
    from workflows.policy import PolicyError

    settings = _settings(database_url, policy)
    quiet = Console(stderr=True, quiet=as_json)
    try:
        result = run_replay(
            settings, file, mapping, quiet, chunk_size=chunk_size, keep_database=database_url is not None
        )
    except (DomainError, PolicyError, DatabaseUrlError) as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(replay_json(result))
    else:
        print_replay_report(console, result)


@cli.command("sms-preview")
def sms_preview(
    text: Annotated[str | None, typer.Option("--text", help="a body to count")] = None,
    template: Annotated[
        str | None, typer.Option("--template", help="a shipped template, rendered with realistic values")
    ] = None,
    locale: Annotated[str, typer.Option("--locale", help="zh or en")] = "zh",
    policy: PolicyOpt = None,
) -> None:
    """Show an SMS as it will be sent: the body, its encoding and how many segments it costs."""
    from app.runtime import load_config
    from app.sms_preview import describe, preview

    if locale not in ("zh", "en"):
        raise fail("--locale is zh or en")
    config = load_config(_settings(None, policy))
    try:
        body, count = preview(config, text=text, template=template, locale=locale)
    except ValueError as exc:
        raise fail(str(exc)) from None
    for line in describe(body, count):
        typer.echo(line)  # unwrapped: the body exactly as it will be sent


def main() -> None:
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    cli()


if __name__ == "__main__":
    main()
