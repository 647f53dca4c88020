"""SLA clocks: start, pause, resume, meet, retarget, and fire each level exactly once.

All arithmetic follows DESIGN.md: ``due_at = start + target + paused``; a level at fraction ``f`` falls at
``start + paused + f * target``. Levels fire in order, so ``levels_fired`` is how far a clock has got.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from models import Clock, ClockKind, ClockState, Complaint, LevelName


@dataclass(frozen=True)
class FiredLevel:
    clock: Clock
    level: LevelName
    due_at: datetime
    fired_at: datetime


LevelPlan = Sequence[tuple[LevelName, float]]


def level_at(start_at: datetime, paused_seconds: float, target_seconds: float, fraction: float) -> datetime:
    """The instant a level at ``fraction`` of the target falls: ``start + paused + f * target``."""
    return start_at + timedelta(seconds=paused_seconds + fraction * target_seconds)


def level_instant(clock: Clock, fraction: float) -> datetime:
    return level_at(clock.start_at, clock.paused_seconds, clock.target_seconds, fraction)


def refresh(clock: Clock, levels: LevelPlan) -> None:
    """Recompute the stored deadline and the instant of the next level to fire."""
    clock.due_at = clock.start_at + timedelta(seconds=clock.target_seconds + clock.paused_seconds)
    if clock.state == ClockState.RUNNING and clock.levels_fired < len(levels):
        clock.next_level_at = level_instant(clock, levels[clock.levels_fired][1])
    else:
        clock.next_level_at = None


def start_clock(
    complaint_id: int, kind: ClockKind, cycle: int, start_at: datetime, target: timedelta, levels: LevelPlan
) -> Clock:
    return Clock(**new_clock_row(complaint_id, kind, cycle, start_at, target, levels))


def new_clock_row(
    complaint_id: int, kind: ClockKind, cycle: int, start_at: datetime, target: timedelta, levels: LevelPlan
) -> dict[str, Any]:
    """The column values of a fresh running clock: for bulk inserts, and behind ``start_clock``."""
    first_level = level_at(start_at, 0.0, target.total_seconds(), levels[0][1]) if levels else None
    return {
        "complaint_id": complaint_id,
        "kind": kind,
        "cycle": cycle,
        "start_at": start_at,
        "target_seconds": target.total_seconds(),
        "paused_seconds": 0.0,
        "due_at": start_at + target,
        "state": ClockState.RUNNING,
        "levels_fired": 0,
        "next_level_at": first_level,
    }


def pause_clock(clock: Clock, at: datetime) -> None:
    if clock.state == ClockState.RUNNING:
        clock.state = ClockState.PAUSED
        clock.paused_since = at
        clock.next_level_at = None


def resume_clock(clock: Clock, at: datetime, levels: LevelPlan) -> None:
    if clock.state == ClockState.PAUSED and clock.paused_since is not None:
        clock.paused_seconds += (at - clock.paused_since).total_seconds()
        clock.paused_since = None
        clock.state = ClockState.RUNNING
        refresh(clock, levels)


def meet_clock(clock: Clock, at: datetime) -> None:
    """Record that the target was reached; positive margin means early."""
    if clock.state in (ClockState.RUNNING, ClockState.PAUSED):
        if clock.state == ClockState.PAUSED and clock.paused_since is not None:
            clock.paused_seconds += (at - clock.paused_since).total_seconds()
            clock.paused_since = None
            clock.due_at = clock.start_at + timedelta(seconds=clock.target_seconds + clock.paused_seconds)
        clock.state = ClockState.MET
        clock.met_at = at
        clock.margin_seconds = (clock.due_at - at).total_seconds()
        clock.next_level_at = None


def stop_clock(clock: Clock, at: datetime) -> None:
    """End a clock that will never be met (withdrawn, closed, no longer applicable)."""
    if clock.state in (ClockState.RUNNING, ClockState.PAUSED):
        clock.state = ClockState.STOPPED
        clock.stopped_at = at
        clock.next_level_at = None


def retarget(clock: Clock, target: timedelta, levels: LevelPlan) -> None:
    """Apply a new target, keeping the start and the time paused (reclassification, set-due)."""
    clock.target_seconds = target.total_seconds()
    refresh(clock, levels)


def fire_levels(
    clock: Clock, *, upto: datetime, fired_at: datetime | None, levels: LevelPlan
) -> list[FiredLevel]:
    """Advance ``clock`` past every level falling at or before ``upto`` and return those levels.

    The caller records them (``workflows.deadlines.record_fired``) in the same transaction; the unique
    (clock, level) constraint then guarantees a level is never written twice. ``fired_at=None`` records
    each level at its own instant: a replay on a virtual clock, which would have stopped exactly there.
    """
    fired: list[FiredLevel] = []
    while clock.state == ClockState.RUNNING and clock.levels_fired < len(levels):
        name, fraction = levels[clock.levels_fired]
        instant = level_instant(clock, fraction)
        if instant > upto:
            break
        clock.levels_fired += 1
        fired.append(FiredLevel(clock, name, instant, instant if fired_at is None else fired_at))
    if fired:
        refresh(clock, levels)
    return fired


def due_clocks(session: Session, now: datetime, limit: int) -> list[Clock]:
    """Clocks with a level due at ``now``, locked for this transaction (SKIP LOCKED across instances)."""
    statement = (
        select(Clock).where(col(Clock.next_level_at) <= now).order_by(col(Clock.next_level_at)).limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return list(session.exec(statement))


def earliest_pending(session: Session) -> datetime | None:
    statement = select(Clock.next_level_at).where(col(Clock.next_level_at).is_not(None))
    statement = statement.order_by(col(Clock.next_level_at)).limit(1)
    return session.exec(statement).first()


def current_clocks(session: Session, complaint: Complaint) -> dict[ClockKind, Clock]:
    """The newest cycle of each clock kind of a complaint."""
    newest: dict[ClockKind, Clock] = {}
    statement = select(Clock).where(Clock.complaint_id == complaint.id).order_by(col(Clock.cycle))
    for clock in session.exec(statement):
        newest[clock.kind] = clock
    return newest
