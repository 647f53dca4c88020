"""``complaintflow import``: another system's CSV/XLSX into the live database, chunk by chunk."""

from datetime import datetime
from pathlib import Path
from typing import Any, cast

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote
from pydantic import BaseModel

from models import ComplaintCreate
from workflows.errors import InvalidInput
from workflows.flows.progress import report_progress
from workflows.flows.resources import batched, database, domain_config
from workflows.importing import load_mapping, read_rows
from workflows.intake import intake_many


class RowFailure(BaseModel):
    row_no: int
    reason: str


class ChunkResult(BaseModel):
    imported: int = 0
    duplicates: int = 0
    failures: list[RowFailure] = []


class ImportReport(ChunkResult):
    rows: int = 0
    truncated: int = 0


# No cache: two identical chunks are still two pieces of work (see PITFALLS: Prefect caching).
@task(name="import-chunk", cache_policy=NO_CACHE, persist_result=False)
def import_chunk(
    database_url: str,
    policy_path: str | None,
    rows: list[tuple[int, ComplaintCreate]],
    now: datetime,
    send_sms: bool = False,
) -> ChunkResult:
    """File one chunk in one transaction; a row the domain refuses is listed, the rest go in."""
    config = domain_config(policy_path)
    result = ChunkResult()
    with database(database_url).write() as session:
        outcomes = intake_many(
            session, [submission for _, submission in rows], now, config, send_sms=send_sms
        )
    for (row_no, _), outcome in zip(rows, outcomes, strict=True):
        if isinstance(outcome, InvalidInput):
            result.failures.append(RowFailure(row_no=row_no, reason=outcome.message))
        elif outcome.created:
            result.imported += 1
        else:
            result.duplicates += 1
    return result


@flow(name="import-complaints", persist_result=False, validate_parameters=False)
def import_file(
    path: str,
    mapping_path: str,
    database_url: str,
    now: datetime,
    policy_path: str | None = None,
    chunk_size: int = 1000,
    send_sms: bool = False,
) -> ImportReport:
    """Import a file; receipts go to the progress pages, and by SMS only with ``send_sms``."""
    mapping = load_mapping(Path(mapping_path))
    report = ImportReport()
    for chunk in batched(read_rows(Path(path), mapping), chunk_size):
        good: list[tuple[int, ComplaintCreate]] = []
        refused: list[RowFailure] = []
        for row in chunk:
            report.rows += 1
            report.truncated += bool(row.truncated)
            if row.submission is not None:
                good.append((row.row_no, row.submission))
            else:
                refused.append(RowFailure(row_no=row.row_no, reason=row.error or "unreadable row"))
        # quote(): Prefect would otherwise walk every field of every row looking for futures.
        done = (
            import_chunk(database_url, policy_path, cast(Any, quote(good)), now, send_sms)
            if good
            else ChunkResult()
        )
        report.imported += done.imported
        report.duplicates += done.duplicates
        failures = sorted(refused + done.failures, key=lambda f: f.row_no)
        report.failures.extend(failures)
        report_progress(len(chunk), len(failures))
    return report
