"""Quiet hours and the daily cap per number, on the virtual clock (T0 is 08:00 in Asia/Shanghai)."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.runtime import Runtime
from app.settings import Settings
from models import Action
from tests.conftest import T0
from tests.support.domain import act, file
from tests.support.factories import submission
from tests.support.sms import sms_rows
from workflows.clock import VirtualClock

NEXT_8AM_LOCAL = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)  # 2026-12-04 08:00 in Asia/Shanghai
QUIET_NOTE = "夜间免打扰时段，12月4日08:00后发送 / quiet hours: goes out at 12月4日08:00"


def outbox_templates(runtime: Runtime) -> list[str]:
    path = runtime.settings.sms_outbox_path
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    by_id = {row.id: row.template for row in sms_rows(runtime)}
    return [by_id[line["notification_id"]] for line in lines]


def at_local(hour: int, minute: int = 0, day: int = 3) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def test_a_progress_sms_at_23_is_held_until_08_local_then_sent(runtime: Runtime, clock: VirtualClock) -> None:
    cid = file(runtime.db, runtime.config, submission(), clock.now())
    act(runtime.db, runtime.config, cid, Action.ACCEPT, clock.now())
    assert runtime.dispatcher.drain() == 1

    clock.set(at_local(23))
    act(runtime.db, runtime.config, cid, Action.ASSIGN, clock.now(), department="market-regulation")
    assert runtime.dispatcher.drain() == 1

    held = sms_rows(runtime)[-1]
    assert (held.template, held.status, held.attempts, held.next_attempt_at) == (
        "assigned",
        "held",
        0,
        NEXT_8AM_LOCAL,
    )
    assert (held.error_code, held.error_message) == ("quiet_hours", QUIET_NOTE)
    clock.set(NEXT_8AM_LOCAL - timedelta(seconds=1))
    assert runtime.dispatcher.drain() == 0
    assert outbox_templates(runtime) == ["received"]

    clock.set(NEXT_8AM_LOCAL)
    assert runtime.dispatcher.drain() == 1

    sent = sms_rows(runtime)[-1]
    assert (sent.status, sent.attempts, sent.sent_at, sent.error_code, sent.error_message) == (
        "sent",
        1,
        NEXT_8AM_LOCAL,
        None,
        None,
    )
    assert outbox_templates(runtime) == ["received", "assigned"]


def test_a_received_sms_at_23_goes_at_once(runtime: Runtime, clock: VirtualClock) -> None:
    clock.set(at_local(23))
    file(runtime.db, runtime.config, submission(), clock.now())

    assert runtime.dispatcher.drain() == 1

    (row,) = sms_rows(runtime)
    assert (row.template, row.status, row.sent_at) == ("received", "sent", at_local(23))
    assert outbox_templates(runtime) == ["received"]


def test_just_after_22_is_quiet_and_just_before_is_not(runtime: Runtime, clock: VirtualClock) -> None:
    cid = file(runtime.db, runtime.config, submission(), clock.now())
    act(runtime.db, runtime.config, cid, Action.ACCEPT, clock.now())
    clock.set(at_local(21, 59))
    act(runtime.db, runtime.config, cid, Action.ASSIGN, clock.now(), department="market-regulation")
    runtime.dispatcher.drain()
    clock.set(at_local(22))
    act(runtime.db, runtime.config, cid, Action.RESPOND, clock.now())
    runtime.dispatcher.drain()

    assert [(r.template, r.status) for r in sms_rows(runtime)] == [
        ("received", "sent"),
        ("assigned", "sent"),
        ("responded", "held"),
    ]


@pytest.fixture
def capped(tmp_path: Path, sqlite_url: str, clock: VirtualClock) -> Iterator[Runtime]:
    """Two SMS per number per day, quiet hours off, so the cap alone decides."""
    settings = Settings(
        database_url=sqlite_url,
        data_dir=tmp_path / "data",
        public_base_url="https://ts.example.gov.cn",
        sms_daily_cap=2,
        sms_quiet_hours="",
    )
    rt = Runtime(settings, clock=clock)
    yield rt
    rt.db.dispose()


def test_over_the_daily_cap_waits_for_local_midnight_but_received_and_resolved_do_not(
    capped: Runtime, clock: VirtualClock
) -> None:
    db, config = capped.db, capped.config
    cid = file(db, config, submission(), clock.now())
    act(db, config, cid, Action.ACCEPT, clock.now())
    act(db, config, cid, Action.ASSIGN, clock.now(), department="market-regulation")
    act(db, config, cid, Action.RESPOND, clock.now())
    act(db, config, cid, Action.RESOLVE, clock.now())

    assert capped.dispatcher.drain() == 4

    midnight = at_local(0, day=4)
    assert [(r.template, r.status, r.next_attempt_at) for r in sms_rows(capped)] == [
        ("received", "sent", T0),
        ("assigned", "sent", T0),
        ("responded", "held", midnight),
        ("resolved", "sent", T0),
    ]
    held = sms_rows(capped)[2]
    assert (held.error_code, held.error_message) == (
        "daily_cap",
        "已达该号码当日短信上限，12月4日00:00后发送 / the number's SMS cap for the day is reached: "
        "goes out at 12月4日00:00",
    )

    clock.set(midnight)
    assert capped.dispatcher.drain() == 1
    assert [r.status for r in sms_rows(capped)] == ["sent", "sent", "sent", "sent"]
    assert outbox_templates(capped) == ["received", "assigned", "resolved", "responded"]


def test_the_cap_and_quiet_hours_together_hold_until_08_next_day(
    tmp_path: Path, sqlite_url: str, clock: VirtualClock
) -> None:
    settings = Settings(database_url=sqlite_url, data_dir=tmp_path / "data", sms_daily_cap=1)
    runtime = Runtime(settings, clock=clock)
    try:
        cid = file(runtime.db, runtime.config, submission(), clock.now())
        act(runtime.db, runtime.config, cid, Action.ACCEPT, clock.now())
        act(runtime.db, runtime.config, cid, Action.ASSIGN, clock.now(), department="market-regulation")
        runtime.dispatcher.drain()

        assert [(r.status, r.next_attempt_at, r.error_code) for r in sms_rows(runtime)] == [
            ("sent", T0, None),
            ("held", NEXT_8AM_LOCAL, "daily_cap"),
        ]
    finally:
        runtime.db.dispose()
