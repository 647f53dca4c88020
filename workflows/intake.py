"""Accept complaints from any channel: validate, deduplicate, triage, start clocks, queue the SMS.

``intake_many`` files a batch with a handful of set-based statements (the import path and the API share
it); every check runs before anything is written, so a refused submission leaves no trace.
"""

import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from models import (
    Channel,
    Clock,
    ClockKind,
    Complaint,
    ComplaintCreate,
    ComplaintEvent,
    Notification,
    Status,
)
from models.db import insert_new_rows, insert_rows, table_of
from workflows.access import new_access_key
from workflows.config import DomainConfig
from workflows.errors import InvalidInput
from workflows.outbox import enterprise_message_row, sms_params
from workflows.sla import new_clock_row
from workflows.tracking import local_day, reserve_tracking_nos
from workflows.triage import OpenMatter, OpenMatters, TriageResult, open_matters, triage
from workflows.validation import is_mobile, normalise_credit_code, normalise_phone

# The app channel knows its users by account and reaches them in the app; the others need a phone.
PHONE_REQUIRED = frozenset({Channel.HOTLINE, Channel.QR})
INTAKE_ACTOR = "channel:{channel}"
CLOCK_ORDER = (ClockKind.RESPONSE, ClockKind.RESOLUTION, ClockKind.UPDATE)
# How far ahead of ours a channel's clock may run (the hotline platform stamps its own work orders).
CLOCK_SKEW = timedelta(minutes=5)
CLOCK_SKEW_TEXT = "5 minutes"


@dataclass(frozen=True)
class IntakeResult:
    """What intake did. A new complaint also carries the rows written, so callers can answer from them."""

    complaint_id: int
    tracking_no: str
    created: bool
    earliest_level_at: datetime | None = None
    complaint_row: dict[str, Any] | None = field(default=None, repr=False)
    clock_rows: list[dict[str, Any]] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class _Duplicate:
    """A repeat of a reference filed earlier in the same batch (its index)."""

    first: int


@dataclass
class _Checked:
    """A submission that passed every check, with what the domain derived from it.

    Every refusal (phone, credit code, time, category) happens in ``_check``, before any write.
    """

    index: int
    submission: ComplaintCreate
    received_at: datetime
    phone: str | None
    credit_code: str | None
    key: str
    sorting: TriageResult | None = None
    tracking_no: str = ""


def enterprise_key(name: str) -> str:
    """The name as triage compares it: width-folded, without spaces, case-folded."""
    # NFKC can lengthen a name (㈱ → (株)); the key must still fit its 200-character column.
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()[:200]


def find_by_channel_ref(session: Session, channel: Channel, channel_ref: str) -> Complaint | None:
    statement = select(Complaint).where(Complaint.channel == channel, Complaint.channel_ref == channel_ref)
    return session.exec(statement).first()


def intake(
    session: Session, submission: ComplaintCreate, now: datetime, config: DomainConfig
) -> IntakeResult:
    """File ``submission``, or return the complaint already filed under the same channel reference."""
    (outcome,) = intake_many(session, [submission], now, config)
    if isinstance(outcome, InvalidInput):
        raise outcome
    return outcome


def intake_many(
    session: Session,
    submissions: Sequence[ComplaintCreate],
    now: datetime,
    config: DomainConfig,
    *,
    send_sms: bool = True,
) -> list[IntakeResult | InvalidInput]:
    """File a batch in the caller's transaction; one result (or the refusal) per submission, in order.

    ``send_sms=False`` (an import from another system) puts the receipt on the progress page only: the
    enterprise heard from that system already, and a batch of old complaints must not become an SMS blast.
    """
    results: list[IntakeResult | InvalidInput | _Duplicate | None] = [None] * len(submissions)
    existing = _already_filed(session, submissions)
    seen: dict[tuple[Channel, str], int] = {}
    checked: list[_Checked] = []
    for index, sub in enumerate(submissions):
        ref = (sub.channel, sub.channel_ref)
        if ref in existing:
            cid, tracking_no = existing[ref]
            results[index] = IntakeResult(cid, tracking_no, created=False)
            continue
        try:
            item = _check(index, sub, now, config)
        except InvalidInput as refusal:
            results[index] = refusal
            continue
        if ref in seen:  # the same reference twice in one batch: the first one is filed
            results[index] = _Duplicate(seen[ref])
            continue
        seen[ref] = index
        checked.append(item)
    if checked:
        _triage_all(session, checked, config)
        for index, written in _write(session, checked, now, config, send_sms):
            results[index] = written
    final: list[IntakeResult | InvalidInput] = []
    for entry in results:
        if isinstance(entry, _Duplicate):
            first = results[entry.first]
            assert isinstance(first, IntakeResult)
            entry = IntakeResult(first.complaint_id, first.tracking_no, created=False)
        assert entry is not None
        final.append(entry)
    return final


def _already_filed(
    session: Session, submissions: Sequence[ComplaintCreate]
) -> dict[tuple[Channel, str], tuple[int, str]]:
    wanted = {(s.channel, s.channel_ref) for s in submissions}
    if not wanted:
        return {}
    # Filter on the reference alone (one bound list, indexed) and match the channel here.
    statement = select(Complaint.id, Complaint.channel, Complaint.channel_ref, Complaint.tracking_no).where(
        col(Complaint.channel_ref).in_(sorted({ref for _, ref in wanted}))
    )
    found = {(Channel(ch), ref): (cid or 0, tn) for cid, ch, ref, tn in session.exec(statement)}
    return {key: value for key, value in found.items() if key in wanted}


def _check(index: int, sub: ComplaintCreate, now: datetime, config: DomainConfig) -> _Checked:
    received_at = _received_at(sub, now)
    phone = _phone(sub)
    credit_code = normalise_credit_code(sub.credit_code) if sub.credit_code else None
    if sub.category is not None:
        config.routing.department_for_category(sub.category)  # refuses an unknown category now
    return _Checked(index, sub, received_at, phone, credit_code, enterprise_key(sub.enterprise_name))


def _triage_all(session: Session, checked: list[_Checked], config: DomainConfig) -> None:
    window = config.policy.triage.repeat_window
    matters = OpenMatters(
        open_matters(
            session,
            (c.key for c in checked),
            (c.credit_code for c in checked if c.credit_code),
            min(c.received_at for c in checked) - window,
            max(c.received_at for c in checked),
        ),
        config.policy,
    )
    by_day: dict[str, list[_Checked]] = defaultdict(list)
    for item in checked:
        by_day[local_day(item.received_at, config.zone)].append(item)
    numbers = reserve_tracking_nos(session, {day: len(items) for day, items in by_day.items()})
    for day, items in by_day.items():
        for item, number in zip(items, numbers[day], strict=True):
            item.tracking_no = number
    for item in checked:
        sub = item.submission
        repeat_of = matters.latest(item.key, item.credit_code, item.received_at)
        item.sorting = triage(
            title=sub.title,
            description=sub.description,
            category=sub.category,
            repeat_of=repeat_of,
            policy=config.policy,
            routing=config.routing,
        )
        # A later complaint of the same batch sees this one as an open matter.
        matters.add(OpenMatter(item.key, item.credit_code, item.tracking_no, item.received_at))


def _write(
    session: Session, checked: list[_Checked], now: datetime, config: DomainConfig, send_sms: bool
) -> list[tuple[int, IntakeResult]]:
    complaint_rows: list[dict[str, Any]] = []
    for item in checked:
        sub, sorting = item.submission, item.sorting
        assert sorting is not None
        complaint_rows.append(
            {
                "tracking_no": item.tracking_no,
                "access_key": new_access_key(),
                "channel": sub.channel,
                "channel_ref": sub.channel_ref,
                "received_at": item.received_at,
                "created_at": now,
                "updated_at": now,
                "last_event_at": item.received_at,
                "enterprise_name": sub.enterprise_name,
                "enterprise_key": item.key,
                "credit_code": item.credit_code,
                "contact_name": sub.contact_name,
                "contact_phone": item.phone,
                "title": sub.title,
                "description": sub.description,
                "category": sub.category,
                "inspection_ref": sub.inspection_ref,
                "complexity": sorting.complexity,
                "triage_reasons": sorting.reasons,
                "suggested_department": sorting.suggested_department,
                "department": None,
                "task_force": [],
                "status": Status.RECEIVED,
                "paused_from": None,
                "resolution_cycle": 1,
                "version": 1,
            }
        )
    ids = insert_new_rows(session, table_of(Complaint), complaint_rows)
    event_rows = []
    clock_rows: list[dict[str, Any]] = []
    dues: list[dict[ClockKind, datetime]] = []
    for item, cid in zip(checked, ids, strict=True):
        sorting = item.sorting
        assert sorting is not None
        event_rows.append(
            {
                "complaint_id": cid,
                "at": item.received_at,
                "recorded_at": now,
                "actor": INTAKE_ACTOR.format(channel=item.submission.channel.value),
                "action": "intake",
                "from_status": None,
                "to_status": Status.RECEIVED,
                "note": None,
                "public": True,
                "note_public": False,
                "data": {
                    "complexity": sorting.complexity.value,
                    "triage_reasons": sorting.reasons,
                    "suggested_department": sorting.suggested_department,
                },
            }
        )
        own = [
            new_clock_row(cid, kind, 1, item.received_at, target, config.levels)
            for kind in CLOCK_ORDER
            if (target := config.policy.target(sorting.complexity, kind)) is not None
        ]
        clock_rows.extend(own)
        dues.append({row["kind"]: row["due_at"] for row in own})
    event_ids = insert_new_rows(session, table_of(ComplaintEvent), event_rows)
    insert_rows(session, table_of(Clock), clock_rows)
    notification_rows = [
        enterprise_message_row(
            config,
            complaint_id=cid,
            event_id=event_id,
            phone=item.phone if send_sms and item.phone and is_mobile(item.phone) else None,
            template="received",
            params=sms_params(
                config,
                item.tracking_no,
                row["access_key"],
                item.sorting.suggested_department if item.sorting else None,
                due,
            ),
            now=now,
        )
        for item, cid, event_id, due, row in zip(checked, ids, event_ids, dues, complaint_rows, strict=True)
    ]
    insert_rows(session, table_of(Notification), notification_rows)
    clocks_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in clock_rows:
        clocks_of[row["complaint_id"]].append(row)
    earliest = {
        cid: min((r["next_level_at"] for r in rows if r["next_level_at"] is not None), default=None)
        for cid, rows in clocks_of.items()
    }
    return [
        (
            item.index,
            IntakeResult(
                cid,
                item.tracking_no,
                created=True,
                earliest_level_at=earliest.get(cid),
                complaint_row=row,
                clock_rows=clocks_of[cid],
            ),
        )
        for item, cid, row in zip(checked, ids, complaint_rows, strict=True)
    ]


def _received_at(submission: ComplaintCreate, now: datetime) -> datetime:
    received_at = submission.received_at
    if received_at is None:
        return now
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise InvalidInput("received_at", "give a time with its zone, e.g. 2026-12-03T08:30:00+08:00")
    if received_at > now + CLOCK_SKEW:
        raise InvalidInput(
            "received_at",
            f"{received_at.isoformat()} is in the future (more than {CLOCK_SKEW_TEXT} ahead of this "
            "service's clock); check the sending system's clock",
        )
    # A channel's clock a little ahead of ours: received now, not in the future.
    return min(received_at, now).astimezone(UTC)


def _phone(submission: ComplaintCreate) -> str | None:
    if submission.contact_phone:
        return normalise_phone(submission.contact_phone)
    if submission.channel in PHONE_REQUIRED:
        raise InvalidInput("contact_phone", f"required for the {submission.channel.value} channel")
    return None
