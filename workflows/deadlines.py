"""What happens when SLA levels fall due: the audit line, the staff messages, and the timer's sweep."""

from collections import defaultdict
from datetime import datetime

from sqlmodel import Session, col, select

from models import Complaint, ComplaintEvent
from workflows.config import DomainConfig
from workflows.outbox import notify_staff
from workflows.sla import FiredLevel, due_clocks, fire_levels

SYSTEM_ACTOR = "system:sla"


def record_fired(
    session: Session, config: DomainConfig, complaint: Complaint, fired: list[FiredLevel]
) -> None:
    """Write one audit event per fired level and tell staff once, about the highest level reached.

    Several levels fire together only after downtime or a reclassification; a warning next to its own
    breach would be noise, so only the highest one is sent while every one is recorded.
    """
    if not fired:
        return
    assert complaint.id is not None
    events = []
    for item in fired:
        event = ComplaintEvent(
            complaint_id=complaint.id,
            at=item.fired_at,
            recorded_at=item.fired_at,
            actor=SYSTEM_ACTOR,
            action=f"sla_{item.level.value}",
            public=False,
            data={
                "clock": item.clock.kind.value,
                "cycle": item.clock.cycle,
                "level": item.level.value,
                "due_at": item.due_at.isoformat(),
                "deadline": item.clock.due_at.isoformat(),
            },
        )
        session.add(event)
        events.append(event)
    session.flush()
    highest = fired[-1]
    notify_staff(
        session,
        config,
        complaint,
        events[-1],
        f"sla_{highest.level.value}",
        highest.clock,
        highest.clock.due_at,
        highest.fired_at,
    )


def fire_due(
    session: Session,
    now: datetime,
    config: DomainConfig,
    limit: int = 500,
    *,
    at_scheduled_instants: bool = False,
) -> int:
    """Fire every level due at ``now`` among up to ``limit`` clocks; returns how many levels fired.

    ``at_scheduled_instants`` is for replays on a virtual clock: each level is recorded when it fell due.
    """
    clocks = due_clocks(session, now, limit)
    if not clocks:
        return 0
    complaint_ids = {clock.complaint_id for clock in clocks}
    complaints = {
        c.id: c for c in session.exec(select(Complaint).where(col(Complaint.id).in_(complaint_ids)))
    }
    fired_by_clock: dict[int, list[FiredLevel]] = defaultdict(list)
    for clock in clocks:
        fired_by_clock[clock.complaint_id].extend(
            fire_levels(
                session,
                clock,
                upto=now,
                fired_at=None if at_scheduled_instants else now,
                levels=config.levels,
            )
        )
    total = 0
    for complaint_id, fired in fired_by_clock.items():
        # Group by clock so each clock reports its own highest level.
        per_clock: dict[int, list[FiredLevel]] = defaultdict(list)
        for item in fired:
            per_clock[id(item.clock)].append(item)
        for items in per_clock.values():
            record_fired(session, config, complaints[complaint_id], items)
        total += len(fired)
    return total
