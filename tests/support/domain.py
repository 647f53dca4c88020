"""Drive the domain directly in committed transactions, as the API does."""

from datetime import datetime
from typing import Any

from sqlmodel import col, select

from models import (
    Action,
    ActionRequest,
    Clock,
    ClockKind,
    ClockLevel,
    Complaint,
    ComplaintCreate,
    ComplaintEvent,
)
from models.db import Database
from workflows.config import DomainConfig
from workflows.deadlines import fire_due
from workflows.intake import intake
from workflows.lifecycle import transition


def file(db: Database, config: DomainConfig, sub: ComplaintCreate, now: datetime) -> int:
    with db.write() as session:
        return intake(session, sub, now, config).complaint_id


def act(
    db: Database, config: DomainConfig, cid: int, action: Action, now: datetime, **fields: Any
) -> Complaint:
    fields.setdefault("actor", "tester")
    with db.write() as session:
        return transition(session, cid, action, ActionRequest.model_validate(fields), now, config)


def fire(db: Database, config: DomainConfig, now: datetime) -> int:
    with db.write() as session:
        return fire_due(session, now, config)


def clocks(db: Database, cid: int, kind: ClockKind | None = None) -> list[Clock]:
    with db.read() as session:
        statement = select(Clock).where(Clock.complaint_id == cid).order_by(col(Clock.kind), col(Clock.cycle))
        rows = list(session.exec(statement))
    return [c for c in rows if kind is None or c.kind == kind]


def clock(db: Database, cid: int, kind: ClockKind, cycle: int = 1) -> Clock:
    (found,) = [c for c in clocks(db, cid, kind) if c.cycle == cycle]
    return found


def levels(db: Database, cid: int) -> list[tuple[str, int, str, datetime, datetime]]:
    """(clock kind, cycle, level, scheduled instant, fired instant) for every fired level, in firing order."""
    with db.read() as session:
        statement = (
            select(Clock.kind, Clock.cycle, ClockLevel.level, ClockLevel.due_at, ClockLevel.fired_at)
            .join(Clock, col(Clock.id) == col(ClockLevel.clock_id))
            .where(Clock.complaint_id == cid)
            .order_by(col(ClockLevel.id))
        )
        return [(k.value, cy, lv.value, d, f) for k, cy, lv, d, f in session.exec(statement)]


def events(db: Database, cid: int) -> list[ComplaintEvent]:
    with db.read() as session:
        statement = (
            select(ComplaintEvent).where(ComplaintEvent.complaint_id == cid).order_by(col(ComplaintEvent.id))
        )
        return list(session.exec(statement))
