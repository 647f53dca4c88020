"""SLA semantics of DESIGN.md on a real SQLite file and a virtual clock: exact instants, once per level."""

from datetime import timedelta

import pytest

from models import Action, ClockKind, ClockState, Complexity
from models.db import Database
from tests.conftest import T0
from tests.support.domain import act, clock, clocks, events, file, fire, levels
from tests.support.factories import submission
from workflows.config import DomainConfig

H = timedelta(hours=1)


def test_simple_complaint_gets_12h_response_and_48h_resolution(db: Database, config: DomainConfig) -> None:
    cid = file(db, config, submission(received_at=T0 - 2 * H), T0)
    response = clock(db, cid, ClockKind.RESPONSE)
    resolution = clock(db, cid, ClockKind.RESOLUTION)
    assert response.start_at == T0 - 2 * H
    assert response.due_at == T0 + 10 * H
    assert resolution.due_at == T0 + 46 * H
    assert response.next_level_at == T0 + 7 * H  # warning at 75 % of 12 h after the call came in
    assert resolution.next_level_at == T0 - 2 * H + 36 * H
    assert [c.kind for c in clocks(db, cid)] == [ClockKind.RESOLUTION, ClockKind.RESPONSE]


def test_complex_complaint_gets_response_update_and_15_day_resolution(
    db: Database, config: DomainConfig
) -> None:
    cid = file(db, config, submission(description="企业反映多个部门重复检查，长期影响经营。"), T0)
    assert clock(db, cid, ClockKind.RESPONSE).due_at == T0 + 12 * H
    assert clock(db, cid, ClockKind.UPDATE).due_at == T0 + 72 * H
    assert clock(db, cid, ClockKind.RESOLUTION).due_at == T0 + timedelta(days=15)


def test_each_level_fires_once_with_its_scheduled_instant(db: Database, config: DomainConfig) -> None:
    cid = file(db, config, submission(), T0)
    assert fire(db, config, T0 + 9 * H - timedelta(microseconds=1)) == 0
    assert fire(db, config, T0 + 9 * H) == 1
    assert fire(db, config, T0 + 9 * H) == 0
    assert fire(db, config, T0 + 10 * H) == 0
    # Down from 10 h to 20 h: breach (12 h) and escalation (18 h) fire once each, at 20 h.
    assert fire(db, config, T0 + 20 * H) == 2
    assert fire(db, config, T0 + 20 * H) == 0
    assert levels(db, cid) == [
        ("response", 1, "warning", T0 + 9 * H, T0 + 9 * H),
        ("response", 1, "breach", T0 + 12 * H, T0 + 20 * H),
        ("response", 1, "escalation", T0 + 18 * H, T0 + 20 * H),
    ]


def test_met_clock_never_fires(db: Database, config: DomainConfig) -> None:
    cid = file(db, config, submission(), T0)
    act(db, config, cid, Action.ACCEPT, T0 + H)
    act(db, config, cid, Action.RESPOND, T0 + 2 * H)
    response = clock(db, cid, ClockKind.RESPONSE)
    assert (response.state, response.met_at, response.margin_seconds) == (
        ClockState.MET,
        T0 + 2 * H,
        10 * 3600,
    )
    assert fire(db, config, T0 + 30 * H) == 0
    assert [lv[:3] for lv in levels(db, cid)] == []


def test_pause_of_24h_moves_resolution_deadline_by_exactly_24h(db: Database, config: DomainConfig) -> None:
    cid = file(db, config, submission(), T0)
    act(db, config, cid, Action.ACCEPT, T0 + H)
    act(db, config, cid, Action.RESPOND, T0 + 2 * H)
    act(db, config, cid, Action.PAUSE, T0 + 3 * H, note="请补充营业执照复印件", public=True)
    paused = clock(db, cid, ClockKind.RESOLUTION)
    assert paused.state == ClockState.PAUSED and paused.next_level_at is None
    assert fire(db, config, T0 + 26 * H) == 0  # nothing fires while paused
    act(db, config, cid, Action.RESUME, T0 + 27 * H)
    resolution = clock(db, cid, ClockKind.RESOLUTION)
    assert resolution.paused_seconds == 24 * 3600
    assert resolution.due_at == T0 + 48 * H + 24 * H
    assert resolution.next_level_at == T0 + 36 * H + 24 * H
    # The met response clock is untouched by the pause.
    assert clock(db, cid, ClockKind.RESPONSE).due_at == T0 + 12 * H


def test_reclassification_after_pause_keeps_start_and_pause(db: Database, config: DomainConfig) -> None:
    cid = file(db, config, submission(), T0)
    act(db, config, cid, Action.ACCEPT, T0 + H)
    act(db, config, cid, Action.RESPOND, T0 + 2 * H)
    act(db, config, cid, Action.PAUSE, T0 + 4 * H)
    act(db, config, cid, Action.RESUME, T0 + 14 * H)
    act(
        db,
        config,
        cid,
        Action.RECLASSIFY,
        T0 + 15 * H,
        complexity="complex",
        reason="涉及市场监管与城管两个部门",
    )
    resolution = clock(db, cid, ClockKind.RESOLUTION)
    assert resolution.start_at == T0
    assert resolution.paused_seconds == 10 * 3600
    assert resolution.due_at == T0 + timedelta(days=15) + 10 * H
    update = clock(db, cid, ClockKind.UPDATE)
    assert (update.start_at, update.due_at) == (T0, T0 + 72 * H)
    last = events(db, cid)[-1]
    assert (last.action, last.data["from"], last.data["to"]) == ("reclassify", "simple", "complex")


def test_reclassification_to_a_past_deadline_records_one_breach_at_once(
    db: Database, config: DomainConfig
) -> None:
    cid = file(db, config, submission(description="多个部门长期重复检查"), T0)
    act(db, config, cid, Action.ACCEPT, T0 + H)
    act(db, config, cid, Action.RESPOND, T0 + 2 * H)
    now = T0 + 60 * H
    act(db, config, cid, Action.RECLASSIFY, now, complexity="simple", reason="实为单一部门事项")
    assert clock(db, cid, ClockKind.UPDATE).state == ClockState.STOPPED
    fired = [lv for lv in levels(db, cid) if lv[0] == "resolution"]
    assert fired == [
        ("resolution", 1, "warning", T0 + 36 * H, now),
        ("resolution", 1, "breach", T0 + 48 * H, now),
    ]
    assert fire(db, config, now) == 0
    assert fire(db, config, T0 + 72 * H) == 1  # escalation at 150 % of 48 h, once


def test_reopen_starts_new_cycle_and_keeps_old_history(db: Database, config: DomainConfig) -> None:
    cid = file(db, config, submission(), T0)
    act(db, config, cid, Action.ACCEPT, T0 + H)
    act(db, config, cid, Action.RESPOND, T0 + 2 * H)
    act(db, config, cid, Action.RESOLVE, T0 + 50 * H)
    act(db, config, cid, Action.REOPEN, T0 + 60 * H, note="企业反映问题未解决")
    old = clock(db, cid, ClockKind.RESOLUTION, cycle=1)
    new = clock(db, cid, ClockKind.RESOLUTION, cycle=2)
    assert (old.state, old.met_at, old.margin_seconds) == (ClockState.MET, T0 + 50 * H, -2 * 3600)
    assert (new.state, new.start_at, new.due_at) == (ClockState.RUNNING, T0 + 60 * H, T0 + 108 * H)
    # Resolved 2 h late: the levels that fell due first are on record before the resolve.
    assert [e.action for e in events(db, cid)] == [
        "intake",
        "accept",
        "respond",
        "sla_warning",
        "sla_breach",
        "resolve",
        "reopen",
    ]
    assert [lv[:3] for lv in levels(db, cid)] == [("resolution", 1, "warning"), ("resolution", 1, "breach")]


def test_set_due_moves_levels_with_the_new_deadline(db: Database, config: DomainConfig) -> None:
    cid = file(db, config, submission(), T0)
    act(db, config, cid, Action.ACCEPT, T0 + H)
    act(
        db, config, cid, Action.SET_DUE, T0 + 2 * H, clock="resolution", due_at=T0 + 96 * H, reason="专班商定"
    )
    resolution = clock(db, cid, ClockKind.RESOLUTION)
    assert resolution.due_at == T0 + 96 * H
    assert resolution.next_level_at == T0 + 72 * H


@pytest.mark.parametrize("complexity", [Complexity.SIMPLE, Complexity.COMPLEX])
def test_withdraw_stops_every_clock(db: Database, config: DomainConfig, complexity: Complexity) -> None:
    text = "多个部门长期重复检查" if complexity == Complexity.COMPLEX else "一次检查"
    cid = file(db, config, submission(description=text), T0)
    act(db, config, cid, Action.WITHDRAW, T0 + H, note="企业撤回")
    assert {c.state for c in clocks(db, cid)} == {ClockState.STOPPED}
    assert fire(db, config, T0 + timedelta(days=30)) == 0


def test_moves_during_a_pause_keep_the_status_to_resume_to(db: Database, config: DomainConfig) -> None:
    cid = file(db, config, submission(), T0)
    act(db, config, cid, Action.ACCEPT, T0 + H)
    act(db, config, cid, Action.ASSIGN, T0 + H, department="tax")
    act(db, config, cid, Action.PAUSE, T0 + 2 * H)
    act(db, config, cid, Action.COMMENT, T0 + 3 * H, note="已催企业补充材料")
    act(
        db, config, cid, Action.SET_DUE, T0 + 3 * H, clock="resolution", due_at=T0 + 60 * H, reason="专班商定"
    )
    resumed = act(db, config, cid, Action.RESUME, T0 + 4 * H)
    assert (resumed.status, resumed.paused_from) == ("assigned", None)
    assert events(db, cid)[-1].data == {"paused_from": "assigned"}
    assert act(db, config, cid, Action.RESPOND, T0 + 5 * H).status == "responded"
