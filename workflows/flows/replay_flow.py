"""``complaintflow replay``: recorded complaints through the engine on a virtual clock, then the SLA report.

Arrivals happen at their recorded times, recorded responses and resolutions at theirs; between them the
virtual clock stops at every SLA level, which is recorded at the instant it fell due.
"""

from datetime import datetime
from enum import IntEnum
from pathlib import Path
from typing import Any, cast

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote
from pydantic import BaseModel
from sqlmodel import Session

from models import Action, ActionRequest, ComplaintCreate
from workflows.config import DomainConfig
from workflows.deadlines import fire_due
from workflows.errors import DomainError, InvalidInput
from workflows.flows.import_flow import RowFailure
from workflows.flows.progress import report_progress
from workflows.flows.resources import batched, database, domain_config
from workflows.importing import load_mapping, read_rows
from workflows.intake import find_by_channel_ref, intake
from workflows.lifecycle import transition
from workflows.reports import SlaReport, sla_report

REPLAY_ACTOR = "replay"


class Step(IntEnum):
    """Order of steps that share an instant: a reply recorded at arrival still comes after it."""

    ARRIVE = 0
    RESPOND = 1
    RESOLVE = 2


class TimelineEntry(BaseModel):
    at: datetime
    step: Step
    submission: ComplaintCreate
    row_no: int
    note: str | None = None


class ChunkOutcome(BaseModel):
    skipped_steps: list[str] = []
    refused: list[RowFailure] = []


class ReplayReport(BaseModel):
    rows: int
    replayed: int
    failures: list[RowFailure]
    skipped_steps: list[str]
    report: SlaReport


@task(name="replay-chunk", cache_policy=NO_CACHE, persist_result=False)
def replay_chunk(database_url: str, policy_path: str | None, entries: list[TimelineEntry]) -> ChunkOutcome:
    """Apply one slice of the timeline in time order: the steps the lifecycle refused, the rows intake did."""
    config = domain_config(policy_path)
    db = database(database_url)
    outcome = ChunkOutcome()
    # One short transaction per step keeps the session small; a long one slows every flush.
    for entry in entries:
        try:
            with db.write() as session:
                outcome.skipped_steps.extend(_apply(session, entry, config))
        except InvalidInput as refusal:  # intake refused the row (phone, credit code ...): its steps go too
            outcome.refused.append(RowFailure(row_no=entry.row_no, reason=refusal.message))
    return outcome


def _apply(session: Session, entry: TimelineEntry, config: DomainConfig) -> list[str]:
    fire_due(session, entry.at, config, limit=1_000_000, at_scheduled_instants=True)
    sub = entry.submission
    if entry.step == Step.ARRIVE:
        filed = intake(session, sub, entry.at, config)
        cid = filed.complaint_id
        transition(session, cid, Action.ACCEPT, ActionRequest(actor=REPLAY_ACTOR), entry.at, config)
        transition(session, cid, Action.ASSIGN, ActionRequest(actor=REPLAY_ACTOR), entry.at, config)
        return []
    complaint = find_by_channel_ref(session, sub.channel, sub.channel_ref)
    if complaint is None or complaint.id is None:
        return []
    action = Action.RESPOND if entry.step == Step.RESPOND else Action.RESOLVE
    request = ActionRequest(actor=REPLAY_ACTOR, note=entry.note if action == Action.RESPOND else None)
    try:
        transition(session, complaint.id, action, request, entry.at, config)
    except DomainError as exc:
        return [f"{sub.channel_ref}: {action.value} at {entry.at.isoformat()}: {exc.message}"]
    return []


@task(name="sla-report", cache_policy=NO_CACHE, persist_result=False)
def build_report(database_url: str, as_of: datetime) -> SlaReport:
    with database(database_url).read() as session:
        return sla_report(session, as_of)


@flow(name="replay-complaints", persist_result=False, validate_parameters=False)
def replay_file(
    path: str, mapping_path: str, database_url: str, policy_path: str | None = None, chunk_size: int = 2000
) -> ReplayReport:
    mapping = load_mapping(Path(mapping_path))
    timeline: list[TimelineEntry] = []
    failures: list[RowFailure] = []
    rows = 0
    for row in read_rows(Path(path), mapping):
        rows += 1
        if row.submission is None or row.submission.received_at is None:
            failures.append(
                RowFailure(row_no=row.row_no, reason=row.error or "received_at is required to replay")
            )
            continue
        sub = row.submission
        timeline.append(
            TimelineEntry(at=sub.received_at, step=Step.ARRIVE, submission=sub, row_no=row.row_no)
        )
        outcome = row.outcome
        if outcome is not None and outcome.responded_at is not None:
            timeline.append(
                TimelineEntry(
                    at=outcome.responded_at,
                    step=Step.RESPOND,
                    submission=sub,
                    row_no=row.row_no,
                    note=outcome.response_note,
                )
            )
        if outcome is not None and outcome.resolved_at is not None:
            timeline.append(
                TimelineEntry(at=outcome.resolved_at, step=Step.RESOLVE, submission=sub, row_no=row.row_no)
            )
    timeline.sort(key=lambda e: (e.at, e.step))
    skipped: list[str] = []
    for chunk in batched(timeline, chunk_size):
        done = replay_chunk(database_url, policy_path, cast(Any, quote(list(chunk))))
        skipped.extend(done.skipped_steps)
        failures.extend(done.refused)
        report_progress(len(chunk), len(done.refused))
    as_of = timeline[-1].at if timeline else datetime.now().astimezone()
    with database(database_url).write() as session:
        fire_due(session, as_of, domain_config(policy_path), limit=1_000_000, at_scheduled_instants=True)
    report = build_report(database_url, as_of)
    failures.sort(key=lambda f: f.row_no)
    return ReplayReport(
        rows=rows, replayed=rows - len(failures), failures=failures, skipped_steps=skipped, report=report
    )
