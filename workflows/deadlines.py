"""What happens when SLA levels fall due: the level rows, the audit lines, the staff messages, the sweep.

Levels, events and messages are written with set-based inserts, a few statements per batch however many
levels fall due at once (a sweep after downtime, a start-up reconcile, a replay).
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models import ClockLevel, Complaint, ComplaintEvent, Notification
from models.db import insert_new_rows, insert_rows, table_of
from workflows.config import DomainConfig
from workflows.outbox import staff_message_rows
from workflows.sla import FiredLevel, due_clocks, fire_levels

SYSTEM_ACTOR = "system:sla"


def record_fired(
    session: Session,
    config: DomainConfig,
    complaints: Mapping[int, Complaint],
    fired: Iterable[list[FiredLevel]],
) -> int:
    """Write each fired level, one audit event per level, and tell staff about the highest level per clock.

    ``fired`` holds one list per clock, in level order. Several levels fire together only after downtime
    or a reclassification; a warning next to its own breach would be noise, so only the highest one is
    sent while every one is recorded.
    """
    level_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    highest: list[tuple[FiredLevel, int]] = []  # (level, index of its event row)
    for items in fired:
        for item in items:
            clock = item.clock
            level_rows.append(
                {"clock_id": clock.id, "level": item.level, "due_at": item.due_at, "fired_at": item.fired_at}
            )
            event_rows.append(
                {
                    "complaint_id": clock.complaint_id,
                    "at": item.fired_at,
                    "recorded_at": item.fired_at,
                    "actor": SYSTEM_ACTOR,
                    "action": f"sla_{item.level.value}",
                    "from_status": None,
                    "to_status": None,
                    "note": None,
                    "public": False,
                    "note_public": False,
                    "data": {
                        "clock": clock.kind.value,
                        "cycle": clock.cycle,
                        "level": item.level.value,
                        "due_at": item.due_at.isoformat(),
                        "deadline": clock.due_at.isoformat(),
                    },
                }
            )
        if items:
            highest.append((items[-1], len(event_rows) - 1))
    if not level_rows:
        return 0
    insert_rows(session, table_of(ClockLevel), level_rows)
    event_ids = insert_new_rows(session, table_of(ComplaintEvent), event_rows)
    message_rows: list[dict[str, Any]] = []
    for item, index in highest:
        message_rows.extend(
            staff_message_rows(
                config,
                complaints[item.clock.complaint_id],
                event_id=event_ids[index],
                template=f"sla_{item.level.value}",
                clock=item.clock,
                now=item.fired_at,
            )
        )
    insert_rows(session, table_of(Notification), message_rows)
    return len(level_rows)


def fire_complaint_levels(
    session: Session,
    config: DomainConfig,
    complaint: Complaint,
    clocks: Iterable[Any],
    *,
    upto: datetime,
    now: datetime,
) -> int:
    """Fire what is due on one complaint's clocks (before and after a lifecycle move)."""
    assert complaint.id is not None
    fired = [fire_levels(clock, upto=upto, fired_at=now, levels=config.levels) for clock in clocks]
    return record_fired(session, config, {complaint.id: complaint}, fired)


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
    ids = {clock.complaint_id for clock in clocks}
    complaints = {c.id or 0: c for c in session.exec(select(Complaint).where(col(Complaint.id).in_(ids)))}
    fired_at = None if at_scheduled_instants else now
    fired = [fire_levels(clock, upto=now, fired_at=fired_at, levels=config.levels) for clock in clocks]
    return record_fired(session, config, complaints, fired)
