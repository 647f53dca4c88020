"""Lifecycle: the one table of legal moves, and ``transition`` which applies a move in one transaction.

Each move writes one audit event, updates the clocks as DESIGN.md says, and queues what the enterprise
and the staff should hear. A move the current status does not allow is refused with the moves it does.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from models import (
    Action,
    ActionRequest,
    Clock,
    ClockKind,
    ClockState,
    Complaint,
    ComplaintEvent,
    Complexity,
    Status,
)
from workflows.config import DomainConfig
from workflows.deadlines import fire_complaint_levels
from workflows.errors import IllegalTransition, InvalidInput, NotFound, StaleVersion
from workflows.outbox import notify_enterprise
from workflows.policy import MAX_DURATION
from workflows.sla import (
    current_clocks,
    meet_clock,
    pause_clock,
    resume_clock,
    retarget,
    start_clock,
    stop_clock,
)

S = Status
WORKING = (S.ACCEPTED, S.ASSIGNED, S.RESPONDED, S.IN_PROGRESS)
OPEN = (S.RECEIVED, *WORKING, S.PAUSED)
SAME = None  # the move keeps the status
BACK = "back"  # resume: the status before the pause

# (action, from status) → status after. Read it as the lifecycle's whole story.
MOVES: dict[tuple[Action, Status], Status | str | None] = {
    (Action.ACCEPT, S.RECEIVED): S.ACCEPTED,
    (Action.ASSIGN, S.ACCEPTED): S.ASSIGNED,
    (Action.ASSIGN, S.ASSIGNED): SAME,  # transfer to another department
    (Action.ASSIGN, S.RESPONDED): SAME,
    (Action.ASSIGN, S.IN_PROGRESS): SAME,
    (Action.RESPOND, S.ACCEPTED): S.RESPONDED,  # 即诉即办: the hotline answers it at once
    (Action.RESPOND, S.ASSIGNED): S.RESPONDED,
    (Action.PROGRESS, S.RESPONDED): S.IN_PROGRESS,
    (Action.PROGRESS, S.IN_PROGRESS): SAME,
    **{(Action.PAUSE, status): S.PAUSED for status in WORKING},
    (Action.RESUME, S.PAUSED): BACK,
    (Action.RESOLVE, S.RESPONDED): S.RESOLVED,
    (Action.RESOLVE, S.IN_PROGRESS): S.RESOLVED,
    (Action.CLOSE, S.RESOLVED): S.CLOSED,
    (Action.REOPEN, S.RESOLVED): S.IN_PROGRESS,
    (Action.REOPEN, S.CLOSED): S.IN_PROGRESS,
    **{(Action.WITHDRAW, status): S.WITHDRAWN for status in (*OPEN, S.RESOLVED)},
    **{(Action.RECLASSIFY, status): SAME for status in OPEN},
    **{(Action.SET_DUE, status): SAME for status in OPEN},
    **{(Action.COMMENT, status): SAME for status in Status},
}

# Steps the enterprise is told about by SMS (and on its progress page).
ENTERPRISE_TEMPLATES = {
    Action.ASSIGN: "assigned",
    Action.RESPOND: "responded",
    Action.PROGRESS: "progress",
    Action.PAUSE: "paused",
    Action.RESOLVE: "resolved",
    Action.CLOSE: "closed",
    Action.REOPEN: "reopened",
    Action.WITHDRAW: "withdrawn",
}

# Milestones shown on the public progress page even without a public note.
PUBLIC_MILESTONES = frozenset(
    {
        Action.ACCEPT,
        Action.ASSIGN,
        Action.RESPOND,
        Action.PROGRESS,
        Action.PAUSE,
        Action.RESUME,
        Action.RESOLVE,
        Action.CLOSE,
        Action.REOPEN,
        Action.WITHDRAW,
    }
)


def allowed_actions(status: Status) -> list[str]:
    return [action.value for (action, source) in MOVES if source == status]


@dataclass
class Move:
    """What one action is doing, handed to its clock handler."""

    session: Session
    complaint: Complaint
    clocks: dict[ClockKind, Clock]
    request: ActionRequest
    at: datetime
    now: datetime
    config: DomainConfig
    data: dict[str, Any]
    notify: bool = True  # a handler clears it when the enterprise has nothing new to hear


def load_for_update(session: Session, complaint_id: int) -> Complaint:
    complaint = session.get(Complaint, complaint_id, with_for_update=True)
    if complaint is None:
        raise NotFound(f"no complaint with id {complaint_id}")
    return complaint


def transition(
    session: Session,
    complaint_id: int,
    action: Action,
    request: ActionRequest,
    now: datetime,
    config: DomainConfig,
) -> Complaint:
    """Apply ``action`` to a complaint, or raise without writing anything."""
    check_fields(action, request)
    complaint = load_for_update(session, complaint_id)
    if request.expected_version is not None and request.expected_version != complaint.version:
        raise StaleVersion(request.expected_version, complaint.version)
    key = (action, complaint.status)
    if key not in MOVES:
        raise IllegalTransition(action.value, complaint.status.value, allowed_actions(complaint.status))
    at = _effective_time(request, complaint, now)
    target = MOVES[key]
    before = complaint.status
    if target is SAME:
        after = before
    elif target == BACK:
        after = complaint.paused_from or S.ACCEPTED
    else:
        after = Status(target)

    clocks = current_clocks(session, complaint)
    move = Move(session, complaint, clocks, request, at, now, config, data={})
    # Levels that fell due before this moment are on record before the move changes the clocks.
    fire_complaint_levels(session, config, complaint, clocks.values(), upto=at, now=now)
    HANDLERS.get(action, _no_clock_change)(move)

    if after != S.PAUSED:
        complaint.paused_from = None
    elif before != S.PAUSED:
        complaint.paused_from = before  # entering the pause; moves during it keep what it paused
    complaint.status = after
    complaint.version += 1
    complaint.updated_at = now
    complaint.last_event_at = at
    event = ComplaintEvent(
        complaint_id=complaint_id,
        at=at,
        recorded_at=now,
        actor=request.actor,
        action=action.value,
        from_status=before,
        to_status=after,
        note=request.note,
        public=action in PUBLIC_MILESTONES or request.public,
        note_public=request.public,
        data=move.data,
    )
    session.add(event)
    session.flush()
    # Clocks a handler moved into the past (reclassify, set-due) record their levels now, once.
    fire_complaint_levels(session, config, complaint, move.clocks.values(), upto=now, now=now)
    template = ENTERPRISE_TEMPLATES.get(action)
    if template is not None and move.notify:
        notify_enterprise(session, config, complaint, event, template, move.clocks, now)
    return complaint


def _effective_time(request: ActionRequest, complaint: Complaint, now: datetime) -> datetime:
    """When the action happened: now, or an earlier instant logged afterwards (a phone call, say)."""
    if request.at is None:
        return max(now, complaint.last_event_at)
    if request.at > now:
        raise InvalidInput("at", f"{request.at.isoformat()} is in the future; give the time it happened")
    if request.at < complaint.last_event_at:
        raise InvalidInput(
            "at",
            f"{request.at.isoformat()} is before the complaint's last event "
            f"({complaint.last_event_at.isoformat()}); actions are recorded in order",
        )
    return request.at


def _no_clock_change(move: Move) -> None:
    return None


def _assign(move: Move) -> None:
    routing = move.config.routing
    code = move.request.department or move.complaint.department or move.complaint.suggested_department
    if code is None:
        raise InvalidInput("department", "say which department takes the complaint")
    unknown = [c for c in (code, *move.request.members) if c not in routing.departments]
    if unknown:
        known = ", ".join(routing.departments)
        field = "department" if code in unknown else "members"
        raise InvalidInput(field, f"unknown department {', '.join(unknown)}; use one of: {known}")
    if move.request.members and move.complaint.complexity != Complexity.COMPLEX:
        raise InvalidInput("members", "a task force (members) is only formed for complex complaints")
    move.data.update({"department": code, "previous_department": move.complaint.department})
    move.notify = code != move.complaint.department  # the same department again: nothing to tell
    move.complaint.department = code
    if move.request.members:
        # Named once each, in the order given; the lead department is not also a member.
        move.complaint.task_force = [m for m in dict.fromkeys(move.request.members) if m != code]
        move.data["members"] = move.complaint.task_force


def _respond(move: Move) -> None:
    _meet(move, ClockKind.RESPONSE)


def _progress(move: Move) -> None:
    update = move.clocks.get(ClockKind.UPDATE)
    if update is not None and update.state in (ClockState.RUNNING, ClockState.PAUSED):
        _meet(move, ClockKind.UPDATE)
        target = move.config.policy.target(move.complaint.complexity, ClockKind.UPDATE)
        if target is not None:
            _start_cycle(move, ClockKind.UPDATE, update.cycle + 1, target)


def _pause(move: Move) -> None:
    for clock in move.clocks.values():
        pause_clock(clock, move.at)


def _resume(move: Move) -> None:
    paused = move.complaint.paused_from
    move.data["paused_from"] = paused.value if paused else None
    for clock in move.clocks.values():
        resume_clock(clock, move.at, move.config.levels)


def _resolve(move: Move) -> None:
    _meet(move, ClockKind.RESOLUTION)
    _stop(move, ClockKind.UPDATE)
    move.complaint.resolved_at = move.at


def _close(move: Move) -> None:
    for clock in move.clocks.values():
        stop_clock(clock, move.at)
    move.complaint.closed_at = move.at


def _withdraw(move: Move) -> None:
    for clock in move.clocks.values():
        stop_clock(clock, move.at)
    if move.request.reason:
        move.data["reason"] = move.request.reason


def _reopen(move: Move) -> None:
    complaint, policy = move.complaint, move.config.policy
    complaint.resolution_cycle += 1
    complaint.resolved_at = None
    complaint.closed_at = None
    resolution = policy.target(complaint.complexity, ClockKind.RESOLUTION)
    assert resolution is not None
    _start_cycle(move, ClockKind.RESOLUTION, complaint.resolution_cycle, resolution)
    update = policy.target(complaint.complexity, ClockKind.UPDATE)
    if update is not None:
        previous = move.clocks.get(ClockKind.UPDATE)
        _start_cycle(move, ClockKind.UPDATE, (previous.cycle if previous else 0) + 1, update)
    move.data["cycle"] = complaint.resolution_cycle
    if move.request.reason:
        move.data["reason"] = move.request.reason


def _reclassify(move: Move) -> None:
    request, complaint, policy = move.request, move.complaint, move.config.policy
    if request.complexity is None:
        raise InvalidInput("complexity", "say the new complexity: simple or complex")
    if not request.reason:
        raise InvalidInput("reason", "a reclassification needs a reason")
    if request.complexity == complaint.complexity:
        raise InvalidInput("complexity", f"the complaint is already {complaint.complexity.value}")
    move.data.update(
        {"from": complaint.complexity.value, "to": request.complexity.value, "reason": request.reason}
    )
    complaint.complexity = request.complexity
    for kind in ClockKind:
        target = policy.target(request.complexity, kind)
        clock = move.clocks.get(kind)
        if clock is not None and clock.state in (ClockState.RUNNING, ClockState.PAUSED):
            if target is None:
                stop_clock(clock, move.at)
            else:
                retarget(clock, target, move.config.levels)
        elif clock is None and target is not None:
            # A clock the old complexity did not have starts where the complaint started.
            start = complaint.received_at
            new_clock = start_clock(complaint.id or 0, kind, 1, start, target, move.config.levels)
            if complaint.status == S.PAUSED:
                pause_clock(new_clock, move.at)
            move.session.add(new_clock)
            move.session.flush()
            move.clocks[kind] = new_clock


def _set_due(move: Move) -> None:
    request = move.request
    if request.clock is None or request.due_at is None:
        raise InvalidInput("clock", "set-due needs clock (response, resolution or update) and due_at")
    if not request.reason:
        raise InvalidInput("reason", "an explicit due date needs a reason")
    clock = move.clocks.get(request.clock)
    if clock is None or clock.state not in (ClockState.RUNNING, ClockState.PAUSED):
        raise InvalidInput("clock", f"the complaint has no running {request.clock.value} clock")
    if request.due_at <= move.now:
        raise InvalidInput("due_at", f"{request.due_at.isoformat()} is not in the future")
    if request.due_at - clock.start_at > MAX_DURATION:
        raise InvalidInput(
            "due_at",
            f"{request.due_at.isoformat()} is more than {MAX_DURATION.days} days after the clock started",
        )
    target = request.due_at - clock.start_at - timedelta(seconds=clock.paused_seconds)
    move.data.update(
        {
            "clock": request.clock.value,
            "cycle": clock.cycle,
            "from": clock.due_at.isoformat(),
            "to": request.due_at.isoformat(),
            "reason": request.reason,
        }
    )
    retarget(clock, target, move.config.levels)


def _meet(move: Move, kind: ClockKind) -> None:
    clock = move.clocks.get(kind)
    if clock is not None:
        meet_clock(clock, move.at)
        move.data[f"{kind.value}_margin_seconds"] = clock.margin_seconds


def _stop(move: Move, kind: ClockKind) -> None:
    clock = move.clocks.get(kind)
    if clock is not None:
        stop_clock(clock, move.at)


def _start_cycle(move: Move, kind: ClockKind, cycle: int, target: timedelta) -> None:
    assert move.complaint.id is not None
    clock = start_clock(move.complaint.id, kind, cycle, move.at, target, move.config.levels)
    move.session.add(clock)
    move.session.flush()
    move.clocks[kind] = clock


# The action-specific fields of ActionRequest each action reads; any other one given is refused, so a
# field sent to the wrong action never looks accepted. ``actor``, ``note``, ``public``, ``at`` and
# ``expected_version`` apply to every action.
ACTION_FIELDS: dict[Action, frozenset[str]] = {
    Action.ASSIGN: frozenset({"department", "members"}),
    Action.RECLASSIFY: frozenset({"complexity", "reason"}),
    Action.SET_DUE: frozenset({"clock", "due_at", "reason"}),
    Action.WITHDRAW: frozenset({"reason"}),
    Action.REOPEN: frozenset({"reason"}),
}
SPECIFIC_FIELDS = frozenset().union(*ACTION_FIELDS.values())
# A comment is its note; without one there is nothing to record.
NOTE_REQUIRED = frozenset({Action.COMMENT})


def check_fields(action: Action, request: ActionRequest) -> None:
    """Refuse a field the action does not read, an empty one, or a comment without its note."""
    given = request.model_fields_set & SPECIFIC_FIELDS
    allowed = ACTION_FIELDS.get(action, frozenset())
    for name in sorted(given - allowed):
        takers = [a.value for a, fields in ACTION_FIELDS.items() if name in fields]
        verb = "takes" if len(takers) == 1 else "take"
        raise InvalidInput(name, f"does not apply to {action.value}; only {', '.join(takers)} {verb} it")
    for name in sorted(given):
        if getattr(request, name) in ("", []):
            raise InvalidInput(name, "is empty: give a value or leave the field out")
    if action in NOTE_REQUIRED and not request.note:
        raise InvalidInput("note", f"a {action.value} needs its text in note")


HANDLERS: dict[Action, Callable[[Move], None]] = {
    Action.ASSIGN: _assign,
    Action.RESPOND: _respond,
    Action.PROGRESS: _progress,
    Action.PAUSE: _pause,
    Action.RESUME: _resume,
    Action.RESOLVE: _resolve,
    Action.CLOSE: _close,
    Action.WITHDRAW: _withdraw,
    Action.REOPEN: _reopen,
    Action.RECLASSIFY: _reclassify,
    Action.SET_DUE: _set_due,
}
