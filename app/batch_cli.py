"""``complaintflow import`` and ``complaintflow replay``: Prefect flows behind a progress bar and a report."""

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from app.prefect_env import configure_prefect
from app.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")


@contextmanager
def progress_bar(console: Console, label: str, total: int | None) -> Iterator[Callable[[int, int], None]]:
    from workflows.flows.progress import set_progress_hook

    columns = [
        SpinnerColumn(),
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as progress:
        task_id = progress.add_task(label, total=total, failed=0)
        failed_total = 0

        def advance(handled: int, failed: int) -> None:
            nonlocal failed_total
            failed_total += failed
            progress.update(task_id, advance=handled, failed=failed_total)

        set_progress_hook(advance)
        try:
            yield advance
        finally:
            set_progress_hook(None)


def count_data_rows(path: Path) -> int | None:
    """Rows to expect, for the progress bar; None when counting would mean parsing the file twice."""
    if path.suffix.lower() != ".csv":
        return None
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        return max(sum(1 for row in csv.reader(handle) if any(row)) - 1, 0)


def check_inputs(settings: Settings, file: Path, mapping: Path, database_url: str | None) -> None:
    """Refuse a missing file, a bad mapping or column, a bad policy or an unreachable database now,
    before Prefect starts (~25 s)."""
    from app.runtime import load_config
    from models.db import check_database
    from workflows.importing import load_mapping, read_rows

    next(iter(read_rows(file, load_mapping(mapping))), None)
    load_config(settings)
    if database_url is not None:
        check_database(database_url)


def run_import(
    settings: Settings, file: Path, mapping: Path, console: Console, *, chunk_size: int, send_sms: bool
) -> Any:
    from models.migrate import upgrade

    check_inputs(settings, file, mapping, settings.database_url)
    configure_prefect(settings.prefect_home)
    upgrade(settings.database_url)
    from workflows.flows.import_flow import import_file

    with progress_bar(console, "importing", count_data_rows(file)):
        report = import_file(
            str(file),
            str(mapping),
            settings.database_url,
            datetime.now().astimezone(),
            str(settings.policy) if settings.policy else None,
            chunk_size,
            send_sms,
        )
    return report


def run_replay(
    settings: Settings, file: Path, mapping: Path, console: Console, *, chunk_size: int, keep_database: bool
) -> Any:
    from models.migrate import upgrade

    check_inputs(settings, file, mapping, settings.database_url if keep_database else None)
    configure_prefect(settings.prefect_home)
    if keep_database:
        url = settings.database_url
    else:
        scratch = Path(tempfile.mkdtemp(prefix="complaintflow-replay-"))
        url = f"sqlite:///{scratch / 'replay.db'}"
    upgrade(url)
    from workflows.flows.replay_flow import replay_file

    with progress_bar(console, "replaying", None):
        return replay_file(
            str(file), str(mapping), url, str(settings.policy) if settings.policy else None, chunk_size
        )


REPORT_MEASURES: tuple[tuple[str, Callable[[Any], int]], ...] = (
    ("clocks 时钟数", lambda o: o.total),
    ("met on time 按时", lambda o: o.met_on_time),
    ("met late 超时完成", lambda o: o.met_late),
    ("open, overdue 未完成已超时", lambda o: o.open_overdue),
    ("open, in time 未完成未超时", lambda o: o.open_in_time),
    ("stopped 已停止", lambda o: o.stopped),
    ("breached 超时合计", lambda o: o.breached),
    ("warnings fired 预警", lambda o: o.levels_fired.get("warning", 0)),
    ("breaches fired 超时提醒", lambda o: o.levels_fired.get("breach", 0)),
    ("escalations fired 升级", lambda o: o.levels_fired.get("escalation", 0)),
)


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} h"


def print_replay_report(console: Console, result: Any) -> None:
    report = result.report
    console.print(
        f"[bold]SLA replay[/] of {result.rows:,} rows: {result.replayed:,} replayed, {len(result.failures):,} refused; "
        f"as of {report.as_of.astimezone(SHANGHAI):%Y-%m-%d %H:%M} (Asia/Shanghai)"
    )
    volumes = Table(title="Complaints / 投诉量")
    volumes.add_column("by")
    volumes.add_column("value")
    volumes.add_column("count", justify="right")
    for name, counts in (
        ("complexity", report.by_complexity),
        ("category", report.by_category),
        ("department", report.by_department),
    ):
        for key, count in list(counts.items())[:12]:
            volumes.add_row(name, key, f"{count:,}")
    console.print(volumes)
    # One column per clock kind and one row per measure: fits an 80-column terminal or a log.
    kinds = [(kind, outcome) for kind, outcome in report.clocks.items() if outcome.total]
    clocks = Table(title="Deadlines / 时限")
    clocks.add_column("", no_wrap=True)
    for kind, _ in kinds:
        clocks.add_column(kind, justify="right", no_wrap=True)
    for label, value in REPORT_MEASURES:
        clocks.add_row(label, *(f"{value(outcome):,}" for _, outcome in kinds))
    console.print(clocks)
    r, s = report.time_to_response, report.time_to_resolution
    console.print(
        f"time to response: median {_hours(r.median_hours)}, p90 {_hours(r.p90_hours)} (n={r.count:,})"
    )
    console.print(
        f"time to resolution: median {_hours(s.median_hours)}, p90 {_hours(s.p90_hours)} (n={s.count:,})"
    )
    if result.failures:
        console.print(f"{len(result.failures):,} row(s) refused, not replayed:")
        for failure in result.failures:
            console.print(
                f"  row {failure.row_no}: {escape(failure.reason)}", soft_wrap=True, highlight=False
            )


def replay_json(result: Any) -> str:
    return json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2)
