"""Real APScheduler, real SQLite file, wall clock, a policy of seconds: levels fire once across restarts."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.runtime import Runtime
from app.settings import Settings
from models import Complaint
from tests.support.domain import file, levels
from tests.support.factories import submission
from workflows.sla import current_clocks

SECONDS_POLICY = """
[levels]
warning = 0.5
breach = 1.0
escalation = 1.5

[targets.simple]
response = "2s"
resolution = "1m"

[targets.complex]
response = "2s"
update = "1m"
resolution = "2m"
"""


def seconds_settings(tmp_path: Path, sqlite_url: str) -> Settings:
    policy = tmp_path / "policy.toml"
    policy.write_text(SECONDS_POLICY, encoding="utf-8")
    return Settings(database_url=sqlite_url, data_dir=tmp_path / "data", policy=policy, sweep_seconds=60)


def wait_until(instant: datetime) -> None:
    time.sleep(max(0.0, (instant - datetime.now(UTC)).total_seconds()))


def test_levels_missed_while_stopped_fire_once_after_restart_and_never_again(
    tmp_path: Path, sqlite_url: str
) -> None:
    settings = seconds_settings(tmp_path, sqlite_url)
    first = Runtime(settings)
    assert first.start() == 0
    filed_at = datetime.now(UTC)
    cid = file(first.db, first.config, submission(received_at=filed_at), filed_at)
    first.stop()  # stopped before the warning at 1 s is due
    assert levels(first.db, cid) == []

    wait_until(filed_at + timedelta(seconds=3.2))  # warning 1 s, breach 2 s, escalation 3 s all passed
    second = Runtime(settings)
    restarted_at = datetime.now(UTC)
    assert second.start() == 3
    second.stop()
    fired = levels(second.db, cid)
    assert [(kind, level, due) for kind, _cycle, level, due, _ in fired] == [
        ("response", "warning", filed_at + timedelta(seconds=1)),
        ("response", "breach", filed_at + timedelta(seconds=2)),
        ("response", "escalation", filed_at + timedelta(seconds=3)),
    ]
    assert all(fired_at >= restarted_at for *_, fired_at in fired)

    third = Runtime(settings)
    assert third.start() == 0
    third.stop()
    assert levels(third.db, cid) == fired


def test_running_service_fires_a_level_when_it_falls_due(tmp_path: Path, sqlite_url: str) -> None:
    runtime = Runtime(seconds_settings(tmp_path, sqlite_url))
    runtime.start()
    try:
        filed_at = datetime.now(UTC)
        cid = file(runtime.db, runtime.config, submission(received_at=filed_at), filed_at)
        with runtime.db.read() as session:
            complaint = session.get(Complaint, cid)
            assert complaint is not None
            pending = [
                c.next_level_at for c in current_clocks(session, complaint).values() if c.next_level_at
            ]
            runtime.after_commit(min(pending))
        wait_until(filed_at + timedelta(seconds=1))
        deadline = time.monotonic() + 15  # how late is the timer_lateness benchmark's business, not a test's
        while not (fired := levels(runtime.db, cid)) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runtime.stop()
    kind, _cycle, level, due, fired_at = fired[0]
    assert (kind, level, due) == ("response", "warning", filed_at + timedelta(seconds=1))
    assert fired_at >= due  # woken by the scheduler at the level, never before it
