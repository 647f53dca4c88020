"""Accept a complaint from any channel: validate, deduplicate, triage, start clocks, queue the SMS."""

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from models import (
    Channel,
    Clock,
    ClockKind,
    Complaint,
    ComplaintCreate,
    ComplaintEvent,
    Complexity,
    Status,
)
from workflows.config import DomainConfig
from workflows.errors import InvalidInput
from workflows.outbox import notify_enterprise
from workflows.sla import current_clocks, start_clock
from workflows.tracking import next_tracking_no
from workflows.triage import triage
from workflows.validation import normalise_credit_code, normalise_phone

# The app channel knows its users by account and reaches them in the app; the others need a phone.
PHONE_REQUIRED = frozenset({Channel.HOTLINE, Channel.QR})
INTAKE_ACTOR = "channel:{channel}"


@dataclass(frozen=True)
class IntakeResult:
    complaint: Complaint
    clocks: list[Clock]
    created: bool


def enterprise_key(name: str) -> str:
    """The name as triage compares it: width-folded, without spaces, case-folded."""
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def find_by_channel_ref(session: Session, channel: Channel, channel_ref: str) -> Complaint | None:
    statement = select(Complaint).where(Complaint.channel == channel, Complaint.channel_ref == channel_ref)
    return session.exec(statement).first()


def intake(
    session: Session, submission: ComplaintCreate, now: datetime, config: DomainConfig
) -> IntakeResult:
    """File ``submission``, or return the complaint already filed under the same channel reference."""
    existing = find_by_channel_ref(session, submission.channel, submission.channel_ref)
    if existing is not None:
        return IntakeResult(existing, list(current_clocks(session, existing).values()), created=False)

    received_at = _received_at(submission, now)
    phone = _phone(submission)
    credit_code = normalise_credit_code(submission.credit_code) if submission.credit_code else None
    key = enterprise_key(submission.enterprise_name)
    sorting = triage(
        session,
        title=submission.title,
        description=submission.description,
        category=submission.category,
        enterprise_key=key,
        credit_code=credit_code,
        received_at=received_at,
        policy=config.policy,
        routing=config.routing,
    )
    complaint = Complaint(
        tracking_no=next_tracking_no(session, received_at, config.zone),
        channel=submission.channel,
        channel_ref=submission.channel_ref,
        received_at=received_at,
        created_at=now,
        updated_at=now,
        last_event_at=received_at,
        enterprise_name=submission.enterprise_name,
        enterprise_key=key,
        credit_code=credit_code,
        contact_name=submission.contact_name,
        contact_phone=phone,
        title=submission.title,
        description=submission.description,
        category=submission.category,
        inspection_ref=submission.inspection_ref,
        complexity=sorting.complexity,
        triage_reasons=sorting.reasons,
        suggested_department=sorting.suggested_department,
        status=Status.RECEIVED,
    )
    session.add(complaint)
    session.flush()
    assert complaint.id is not None

    event = ComplaintEvent(
        complaint_id=complaint.id,
        at=received_at,
        recorded_at=now,
        actor=INTAKE_ACTOR.format(channel=submission.channel.value),
        action="intake",
        to_status=Status.RECEIVED,
        public=True,
        data={
            "complexity": sorting.complexity.value,
            "triage_reasons": sorting.reasons,
            "suggested_department": sorting.suggested_department,
        },
    )
    session.add(event)
    clocks = open_clocks(complaint, sorting.complexity, received_at, config)
    session.add_all(clocks)
    session.flush()
    notify_enterprise(session, config, complaint, event, "received", {c.kind: c for c in clocks}, now)
    return IntakeResult(complaint, clocks, created=True)


def open_clocks(
    complaint: Complaint, complexity: Complexity, start: datetime, config: DomainConfig
) -> list[Clock]:
    """Every clock the complexity asks for, all started when the channel received the complaint."""
    assert complaint.id is not None
    clocks = []
    for kind in (ClockKind.RESPONSE, ClockKind.RESOLUTION, ClockKind.UPDATE):
        target = config.policy.target(complexity, kind)
        if target is not None:
            clocks.append(start_clock(complaint.id, kind, 1, start, target, config.levels))
    return clocks


def _received_at(submission: ComplaintCreate, now: datetime) -> datetime:
    received_at = submission.received_at
    if received_at is None:
        return now
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise InvalidInput("received_at", "give a time with its zone, e.g. 2026-12-03T08:30:00+08:00")
    if received_at > now:
        raise InvalidInput("received_at", f"{received_at.isoformat()} is in the future")
    return received_at


def _phone(submission: ComplaintCreate) -> str | None:
    if submission.contact_phone:
        return normalise_phone(submission.contact_phone)
    if submission.channel in PHONE_REQUIRED:
        raise InvalidInput("contact_phone", f"required for the {submission.channel.value} channel")
    return None
