"""Read side: the complaint views the API and pages show, and the worklist query."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func
from sqlmodel import Session, col, select

from models import (
    Channel,
    Clock,
    ClockKind,
    ClockLevel,
    ClockState,
    Complaint,
    ComplaintEvent,
    Complexity,
    LevelName,
    Notification,
    Status,
)
from models.public import (
    ClockPublic,
    ComplaintPage,
    ComplaintPublic,
    ComplaintSummary,
    EventPublic,
    LevelPublic,
    MessagePublic,
    TrackClock,
    TrackEvent,
    TrackView,
)
from models.types import UTCDateTime
from notifiers.masking import mask_phone
from notifiers.templates import ACTION_LABELS, CLOCK_NAMES, RATING_LABELS, STATUS_LABELS, bilingual
from workflows.access import looks_like_access_key
from workflows.config import DomainConfig
from workflows.errors import NotFound
from workflows.feedback import is_rateable, takes_messages
from workflows.sla import level_instant
from workflows.tracking import canonical_tracking_no


def clock_view(clock: Clock, fired: Sequence[ClockLevel], config: DomainConfig, now: datetime) -> ClockPublic:
    fired_by_level = {row.level: row for row in fired}
    levels = []
    for name, fraction in config.levels:
        row = fired_by_level.get(name)
        levels.append(
            LevelPublic(
                level=name,
                due_at=row.due_at if row else level_instant(clock, fraction),
                fired_at=row.fired_at if row else None,
            )
        )
    if clock.state == ClockState.MET:
        breached = (clock.margin_seconds or 0) < 0
    elif clock.state == ClockState.RUNNING:
        breached = clock.due_at <= now or LevelName.BREACH in fired_by_level
    else:
        breached = LevelName.BREACH in fired_by_level
    return ClockPublic(
        kind=clock.kind,
        cycle=clock.cycle,
        state=clock.state,
        start_at=clock.start_at,
        due_at=clock.due_at,
        met_at=clock.met_at,
        margin_seconds=clock.margin_seconds,
        paused_seconds=clock.paused_seconds,
        breached=breached,
        levels=levels,
    )


# The order people read the clocks in: first the promise to answer, then to resolve, then updates.
CLOCK_READING_ORDER = {ClockKind.RESPONSE: 0, ClockKind.RESOLUTION: 1, ClockKind.UPDATE: 2}


def clocks_of(session: Session, complaint_id: int) -> list[Clock]:
    statement = select(Clock).where(Clock.complaint_id == complaint_id)
    return sorted(session.exec(statement), key=lambda c: (CLOCK_READING_ORDER[c.kind], c.cycle))


def clock_views(
    session: Session, clocks: Sequence[Clock], config: DomainConfig, now: datetime
) -> list[ClockPublic]:
    """Views of ``clocks`` in the order given (``clocks_of`` gives the reading order)."""
    ids = [c.id for c in clocks]
    fired: dict[int, list[ClockLevel]] = defaultdict(list)
    if ids:
        for row in session.exec(select(ClockLevel).where(col(ClockLevel.clock_id).in_(ids))):
            fired[row.clock_id].append(row)
    return [clock_view(c, fired[c.id or 0], config, now) for c in clocks]


def message_view(row: Notification) -> MessagePublic:
    return MessagePublic(
        id=row.id or 0,
        channel=row.channel.value,
        recipient=row.recipient,
        template=row.template,
        body=row.body,
        status=row.status.value,
        created_at=row.created_at,
        sent_at=row.sent_at,
        error_code=row.error_code,
    )


def complaint_view(
    session: Session,
    complaint: Complaint,
    config: DomainConfig,
    now: datetime,
    *,
    detail: bool = False,
) -> ComplaintPublic:
    assert complaint.id is not None
    view = ComplaintPublic.model_validate(
        {
            **complaint.model_dump(),
            "progress_url": config.progress_link(complaint.access_key),
            "clocks": clock_views(session, clocks_of(session, complaint.id), config, now),
        }
    )
    if detail:
        events = session.exec(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint.id)
            .order_by(col(ComplaintEvent.id))
        )
        view.events = [EventPublic.model_validate(e.model_dump()) for e in events]
        messages = session.exec(
            select(Notification)
            .where(Notification.complaint_id == complaint.id)
            .order_by(col(Notification.id))
        )
        view.messages = [message_view(m) for m in messages]
    return view


def fresh_complaint_view(
    complaint_row: dict[str, Any], clock_rows: Sequence[dict[str, Any]], config: DomainConfig
) -> ComplaintPublic:
    """The view of a complaint intake has just written, from the rows it wrote: no read back needed.

    Nothing has fired or been met yet, so every level is pending at its computed instant.
    """
    clocks = []
    order = {ClockKind.RESPONSE: 0, ClockKind.RESOLUTION: 1, ClockKind.UPDATE: 2}
    for row in sorted(clock_rows, key=lambda r: order[r["kind"]]):
        start, target = row["start_at"], row["target_seconds"]
        clocks.append(
            ClockPublic(
                kind=row["kind"],
                cycle=row["cycle"],
                state=row["state"],
                start_at=start,
                due_at=row["due_at"],
                met_at=None,
                margin_seconds=None,
                paused_seconds=0.0,
                breached=False,
                levels=[
                    LevelPublic(
                        level=name, due_at=start + timedelta(seconds=fraction * target), fired_at=None
                    )
                    for name, fraction in config.levels
                ],
            )
        )
    return ComplaintPublic.model_validate(
        {
            **complaint_row,
            "progress_url": config.progress_link(complaint_row["access_key"]),
            "rating": None,
            "clocks": clocks,
        }
    )


def get_complaint(session: Session, complaint_id: int) -> Complaint:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(f"no complaint with id {complaint_id}")
    return complaint


def list_complaints(
    session: Session,
    now: datetime,
    *,
    status: Status | None = None,
    complexity: Complexity | None = None,
    channel: Channel | None = None,
    department: str | None = None,
    overdue: bool | None = None,
    sort: str = "time_to_breach",
    limit: int = 50,
    offset: int = 0,
) -> ComplaintPage:
    """The worklist: filters, and by default the complaint closest to (or furthest past) its deadline first."""
    running = (
        select(Clock.complaint_id, func.min(Clock.due_at, type_=UTCDateTime()).label("next_due_at"))
        .where(Clock.state == ClockState.RUNNING)
        .group_by(col(Clock.complaint_id))
        .subquery()
    )
    statement = select(Complaint, running.c.next_due_at).outerjoin(
        running, running.c.complaint_id == Complaint.id
    )
    filters: list[ColumnElement[bool]] = []
    if status is not None:
        filters.append(col(Complaint.status) == status)
    if complexity is not None:
        filters.append(col(Complaint.complexity) == complexity)
    if channel is not None:
        filters.append(col(Complaint.channel) == channel)
    if department is not None:
        filters.append(col(Complaint.department) == department)
    if overdue is True:
        filters.append(running.c.next_due_at < now)
    elif overdue is False:
        filters.append(running.c.next_due_at.is_(None) | (running.c.next_due_at >= now))
    if filters:
        statement = statement.where(and_(*filters))
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    if sort == "time_to_breach":
        statement = statement.order_by(
            running.c.next_due_at.is_(None), running.c.next_due_at, col(Complaint.id)
        )
    elif sort == "received_at":
        statement = statement.order_by(col(Complaint.received_at), col(Complaint.id))
    else:  # "-received_at"
        statement = statement.order_by(col(Complaint.received_at).desc(), col(Complaint.id).desc())
    rows = list(session.exec(statement.offset(offset).limit(limit)))
    kinds = _kind_of_next_due(session, [(c.id or 0, due) for c, due in rows if due is not None])
    items = [
        ComplaintSummary(
            id=c.id or 0,
            tracking_no=c.tracking_no,
            version=c.version,
            status=c.status,
            complexity=c.complexity,
            channel=c.channel,
            department=c.department,
            title=c.title,
            received_at=c.received_at,
            next_due_at=due,
            next_due_kind=kinds.get(c.id or 0),
            overdue=due is not None and due < now,
        )
        for c, due in rows
    ]
    return ComplaintPage(total=total, items=items)


def _kind_of_next_due(session: Session, pairs: list[tuple[int, datetime]]) -> dict[int, ClockKind]:
    if not pairs:
        return {}
    ids = [cid for cid, _ in pairs]
    statement = select(Clock.complaint_id, Clock.kind, Clock.due_at).where(
        col(Clock.complaint_id).in_(ids), Clock.state == ClockState.RUNNING
    )
    best: dict[int, tuple[datetime, ClockKind]] = {}
    for cid, kind, due in session.exec(statement):
        if cid not in best or due < best[cid][0]:
            best[cid] = (due, ClockKind(kind))
    return {cid: kind for cid, (_, kind) in best.items()}


def find_by_tracking_no(session: Session, tracking_no: str) -> Complaint:
    canonical = canonical_tracking_no(tracking_no)
    if canonical is None:
        shown = tracking_no if len(tracking_no) <= 40 else f"{tracking_no[:40]}…"
        raise NotFound(f"'{shown}' is not a tracking number (format 261203-0042-6; check the last digit)")
    complaint = session.exec(select(Complaint).where(Complaint.tracking_no == canonical)).first()
    if complaint is None:
        raise NotFound(f"no complaint with tracking number {canonical}")
    return complaint


def find_by_access_key(session: Session, key: str, *, lock: bool = False) -> Complaint:
    """The complaint an SMS link names; one answer for a malformed and an unknown key (nothing to probe).

    ``lock`` takes the row for update (PostgreSQL), for a write that must not race a handler's action.
    """
    complaint = None
    if looks_like_access_key(key):
        statement = select(Complaint).where(Complaint.access_key == key.lower())
        complaint = session.exec(statement.with_for_update() if lock else statement).first()
    if complaint is None:
        raise NotFound("no complaint has this link; open the link in your SMS, or use the tracking number")
    return complaint


def track_view(
    session: Session, complaint: Complaint, config: DomainConfig, now: datetime, *, full: bool
) -> TrackView:
    """The public progress page (全程公开办理进度): milestones and deadlines for anyone with the number;
    with ``full`` (the enterprise's key link) also the title, the public notes and the messages sent."""
    assert complaint.id is not None
    events = session.exec(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint.id, col(ComplaintEvent.public).is_(True))
        .order_by(col(ComplaintEvent.id))
    )
    messages = session.exec(
        select(Notification)
        .where(Notification.complaint_id == complaint.id, col(Notification.public).is_(True))
        .order_by(col(Notification.id))
    )
    clocks = [
        TrackClock(
            kind=c.kind,
            label=f"{CLOCK_NAMES[c.kind.value]['zh']} / {CLOCK_NAMES[c.kind.value]['en']}",
            due_at=c.due_at,
            state=c.state,
            met_at=c.met_at,
        )
        for c in clocks_of(session, complaint.id)
        if c.state != ClockState.STOPPED
    ]
    public_messages = [
        message_view(m).model_copy(
            update={"recipient": mask_phone(m.recipient) if m.recipient.startswith("+") else m.recipient}
        )
        for m in messages
        if full
    ]
    return TrackView(
        tracking_no=complaint.tracking_no,
        status=complaint.status,
        status_label=bilingual(STATUS_LABELS, complaint.status.value),
        complexity=complaint.complexity,
        department=config.department_name(complaint.department) if complaint.department else None,
        full=full,
        title=complaint.title if full else None,
        received_at=complaint.received_at,
        contact_phone=mask_phone(complaint.contact_phone),
        clocks=clocks,
        events=[
            TrackEvent(
                at=e.at,
                action=e.action,
                label=bilingual(ACTION_LABELS, e.action),
                status=e.to_status,
                note=e.note if full and e.note_public else None,
            )
            for e in events
        ],
        messages=public_messages,
        rating=complaint.rating if full else None,
        rating_label=_rating_label(complaint.rating) if full else None,
        can_rate=full and is_rateable(complaint, now, config),
        can_message=full and takes_messages(complaint),
    )


def _rating_label(rating: int | None) -> str | None:
    labels = RATING_LABELS.get(rating or 0)
    return f"{labels['zh']} / {labels['en']}" if labels else None
