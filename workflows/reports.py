"""SLA reports for supervisors: volumes, deadlines met and breached, and response times."""

import statistics
from collections import Counter, defaultdict
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import Session, col

from models import Clock, ClockKind, ClockLevel, ClockState, Complaint, LevelName


class ClockOutcome(BaseModel):
    total: int = 0
    met_on_time: int = 0
    met_late: int = 0
    open_in_time: int = 0
    open_overdue: int = 0
    stopped: int = 0
    stopped_after_breach: int = 0
    levels_fired: dict[str, int] = {}

    @property
    def breached(self) -> int:
        """Late when met, overdue while open, or stopped (withdrawn, resolved) after its breach fired."""
        return self.met_late + self.open_overdue + self.stopped_after_breach


class Durations(BaseModel):
    count: int
    median_hours: float | None
    p90_hours: float | None


class SlaReport(BaseModel):
    as_of: datetime
    complaints: int
    by_complexity: dict[str, int]
    by_category: dict[str, int]
    by_department: dict[str, int]
    by_status: dict[str, int]
    clocks: dict[str, ClockOutcome]
    breached: dict[str, int]
    time_to_response: Durations
    time_to_resolution: Durations


def _durations(hours: list[float]) -> Durations:
    if not hours:
        return Durations(count=0, median_hours=None, p90_hours=None)
    ordered = sorted(hours)
    p90 = statistics.quantiles(ordered, n=10, method="inclusive")[8] if len(ordered) > 1 else ordered[0]
    return Durations(
        count=len(ordered), median_hours=round(statistics.median(ordered), 2), p90_hours=round(p90, 2)
    )


def sla_report(session: Session, now: datetime) -> SlaReport:
    """Everything on record as of ``now``: one pass over complaints, one over clocks, one over levels."""
    by_complexity: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    by_department: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    total = 0
    for complexity, category, department, suggested, status in session.execute(
        select(
            col(Complaint.complexity),
            col(Complaint.category),
            col(Complaint.department),
            col(Complaint.suggested_department),
            col(Complaint.status),
        )
    ):
        total += 1
        by_complexity[str(complexity)] += 1
        by_category[category or "(none)"] += 1
        by_department[department or suggested or "(none)"] += 1
        by_status[str(status)] += 1

    outcomes: dict[str, ClockOutcome] = {kind.value: ClockOutcome() for kind in ClockKind}
    response_hours: list[float] = []
    resolution_hours: list[float] = []
    clock_kind: dict[int, str] = {}
    stopped_ids: set[int] = set()
    for clock_id, kind, cycle, state, start_at, due_at, met_at, margin in session.execute(
        select(
            col(Clock.id),
            col(Clock.kind),
            col(Clock.cycle),
            col(Clock.state),
            col(Clock.start_at),
            col(Clock.due_at),
            col(Clock.met_at),
            col(Clock.margin_seconds),
        )
    ):
        clock_kind[clock_id or 0] = str(kind)
        outcome = outcomes[str(kind)]
        outcome.total += 1
        if state == ClockState.MET:
            if (margin or 0) >= 0:
                outcome.met_on_time += 1
            else:
                outcome.met_late += 1
            assert met_at is not None
            elapsed = (met_at - start_at).total_seconds() / 3600
            if kind == ClockKind.RESPONSE:
                response_hours.append(elapsed)
            elif kind == ClockKind.RESOLUTION and cycle == 1:
                resolution_hours.append(elapsed)
        elif state == ClockState.STOPPED:
            outcome.stopped += 1
            stopped_ids.add(clock_id or 0)
        elif due_at <= now and state == ClockState.RUNNING:
            outcome.open_overdue += 1
        else:
            outcome.open_in_time += 1

    fired: dict[str, Counter[str]] = defaultdict(Counter)
    for clock_id, level in session.execute(
        select(col(ClockLevel.clock_id), col(ClockLevel.level)).order_by(col(ClockLevel.id))
    ):
        fired[clock_kind.get(clock_id, "?")][level.value] += 1
        if level == LevelName.BREACH and clock_id in stopped_ids:
            outcomes[clock_kind[clock_id]].stopped_after_breach += 1
    for kind, counter in fired.items():
        if kind in outcomes:
            outcomes[kind].levels_fired = dict(counter)

    return SlaReport(
        as_of=now,
        complaints=total,
        by_complexity=dict(by_complexity),
        by_category=dict(by_category.most_common()),
        by_department=dict(by_department.most_common()),
        by_status=dict(by_status),
        clocks=outcomes,
        breached={kind: outcome.breached for kind, outcome in outcomes.items()},
        time_to_response=_durations(response_hours),
        time_to_resolution=_durations(resolution_hours),
    )
