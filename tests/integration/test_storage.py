"""Storage on both databases: aware UTC round trips, concurrent writers, claims across instances."""

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlmodel import func, select

from models import Clock, ClockLevel, Complaint
from models.db import Database
from tests.conftest import T0
from tests.support.domain import file
from tests.support.factories import submission
from workflows.config import DomainConfig
from workflows.deadlines import fire_due

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_aware_times_read_back_equal(
    backend: str, request: pytest.FixtureRequest, config: DomainConfig
) -> None:
    db: Database = request.getfixturevalue("db" if backend == "sqlite" else "pg_db")
    local = datetime(2026, 12, 3, 7, 30, 15, 123456, tzinfo=SHANGHAI)
    cid = file(db, config, submission(received_at=local), local + timedelta(minutes=1))
    with db.read() as session:
        complaint = session.get(Complaint, cid)
        assert complaint is not None
        assert complaint.received_at == local
        assert complaint.received_at.utcoffset() == timedelta(0)
        assert complaint.received_at.isoformat() == "2026-12-02T23:30:15.123456+00:00"


def test_naive_datetime_is_refused_before_it_reaches_the_database(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), db.write() as session:
        session.add(
            Clock(
                complaint_id=1,
                kind="response",
                start_at=datetime(2026, 12, 3, 8, 0),
                target_seconds=1,
                due_at=datetime(2026, 12, 3, 8, 0, tzinfo=UTC),
                state="running",
            )
        )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_intake_loses_nothing_and_never_locks_out(
    backend: str, request: pytest.FixtureRequest, config: DomainConfig
) -> None:
    db: Database = request.getfixturevalue("db" if backend == "sqlite" else "pg_db")
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(25):
                file(db, config, submission(f"T{n}-{i}", enterprise_name=f"企业{n}-{i}"), T0)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as session:
        assert session.exec(select(func.count()).select_from(Complaint)).one() == 200
        numbers = session.exec(select(Complaint.tracking_no)).all()
    assert len(set(numbers)) == 200
    assert max(numbers) == "261203-0200-0"


def test_two_instances_on_postgres_fire_each_level_once(pg_db: Database, config: DomainConfig) -> None:
    for i in range(60):
        file(pg_db, config, submission(f"P{i}", enterprise_name=f"企业{i}"), T0)
    now = T0 + timedelta(hours=20)  # response warning, breach and escalation of all 60 are due
    totals: list[int] = []
    barrier = threading.Barrier(2)

    def instance() -> None:
        other = Database(pg_db.url)
        barrier.wait()
        fired = 0
        while True:
            with other.write() as session:
                n = fire_due(session, now, config, limit=7)
            if n == 0:
                break
            fired += n
        totals.append(fired)
        other.dispose()

    threads = [threading.Thread(target=instance) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(totals) == 180
    with pg_db.read() as session:
        assert session.exec(select(func.count()).select_from(ClockLevel)).one() == 180


def test_times_read_back_equal_whatever_the_postgres_session_zone(
    pg_db: Database, config: DomainConfig
) -> None:
    local = datetime(2026, 12, 3, 7, 30, tzinfo=SHANGHAI)
    cid = file(pg_db, config, submission(received_at=local), local + timedelta(minutes=1))
    with pg_db.read() as session:
        session.execute(text("SET TIME ZONE 'America/New_York'"))
        complaint = session.get(Complaint, cid)
        assert complaint is not None
        assert complaint.received_at == local
        assert complaint.received_at.isoformat() == "2026-12-02T23:30:00+00:00"
