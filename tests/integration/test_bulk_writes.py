"""The set-based write path (``insert_rows``, ``reserve_ids``) on both databases: same rows as the ORM writes."""

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlmodel import select

from models import ClockKind, ClockState, ComplaintEvent, Status
from models.clock import Clock
from models.db import Database, insert_rows, reserve_ids, table_of
from tests.conftest import T0
from tests.support.domain import file
from tests.support.factories import submission
from workflows.config import DomainConfig

PLUS_EIGHT = timezone(timedelta(hours=8))


def _db(backend: str, request: pytest.FixtureRequest) -> Database:
    db: Database = request.getfixturevalue("db" if backend == "sqlite" else "pg_db")
    return db


def _event_row(complaint_id: int, event_id: int, at: datetime) -> dict[str, object]:
    return {
        "id": event_id,
        "complaint_id": complaint_id,
        "at": at,
        "recorded_at": at,
        "actor": "operator:0001",
        "action": "note",
        "from_status": Status.RECEIVED,
        "to_status": None,
        "note": "已电话联系企业",
        "public": True,
        "note_public": False,
        "data": {"clock": "response", "levels": [1, 2]},
    }


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_rows_written_in_bulk_read_back_as_the_orm_writes_them(
    backend: str, request: pytest.FixtureRequest, config: DomainConfig
) -> None:
    db = _db(backend, request)
    cid = file(db, config, submission(), T0)
    at = datetime(2026, 12, 3, 9, 15, 30, 250000, tzinfo=PLUS_EIGHT)
    with db.write() as session:
        (first, second) = reserve_ids(session, table_of(ComplaintEvent), 2)
        insert_rows(
            session, table_of(ComplaintEvent), [_event_row(cid, first, at), _event_row(cid, second, T0)]
        )
    with db.read() as session:
        event = session.get(ComplaintEvent, first)
        later = session.get(ComplaintEvent, second)
    assert event is not None and later is not None
    assert event.at == datetime(2026, 12, 3, 1, 15, 30, 250000, tzinfo=UTC)
    assert event.at.tzinfo is not None
    assert event.from_status is Status.RECEIVED and event.to_status is None
    assert event.data == {"clock": "response", "levels": [1, 2]}
    assert (event.note, event.public, event.note_public) == ("已电话联系企业", True, False)
    assert later.at == T0


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_reserved_ids_never_collide_with_ids_the_database_hands_out(
    backend: str, request: pytest.FixtureRequest, config: DomainConfig
) -> None:
    db = _db(backend, request)
    cid = file(db, config, submission(), T0)  # intake has written event 1 already
    with db.write() as session:
        reserved = reserve_ids(session, table_of(ComplaintEvent), 3)
        insert_rows(session, table_of(ComplaintEvent), [_event_row(cid, i, T0) for i in reserved])
    with db.write() as session:
        orm_event = ComplaintEvent(
            complaint_id=cid, at=T0, recorded_at=T0, actor="operator:0001", action="note"
        )
        session.add(orm_event)
        session.flush()
        orm_id = orm_event.id
    with db.read() as session:
        ids = sorted(e.id or 0 for e in session.exec(select(ComplaintEvent)))
    assert len(set(reserved)) == 3
    assert min(reserved) > 1
    assert orm_id is not None and orm_id > max(reserved)
    assert ids == sorted([1, *reserved, orm_id])


def test_sqlite_reserves_the_ids_after_the_highest(db: Database, config: DomainConfig) -> None:
    file(db, config, submission(channel_ref="A-1"), T0)
    file(db, config, submission(channel_ref="A-2"), T0)
    with db.write() as session:
        assert reserve_ids(session, table_of(ComplaintEvent), 4) == [3, 4, 5, 6]
        assert reserve_ids(session, table_of(ComplaintEvent), 0) == []


def test_sqlite_stores_aware_times_as_utc_text_in_sqlalchemys_format(
    db: Database, config: DomainConfig
) -> None:
    cid = file(db, config, submission(), T0)
    at = datetime(2026, 12, 3, 8, 0, tzinfo=PLUS_EIGHT)
    row = {
        "complaint_id": cid,
        "kind": ClockKind.RESPONSE,
        "cycle": 2,
        "start_at": at,
        "target_seconds": 43200.0,
        "paused_seconds": 0.0,
        "due_at": at + timedelta(hours=12),
        "state": ClockState.RUNNING,
        "levels_fired": 0,
        "next_level_at": datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    }
    with db.write() as session:
        insert_rows(session, table_of(Clock), [row])
    with sqlite3.connect(db.url.removeprefix("sqlite:///")) as conn:
        stored = conn.execute(
            "SELECT start_at, due_at, next_level_at, kind, state FROM sla_clock WHERE cycle = 2"
        ).fetchone()
    assert stored == (
        "2026-12-03 00:00:00.000000",
        "2026-12-03 12:00:00.000000",
        "0999-01-02 03:04:05.000006",
        "response",
        "running",
    )


def test_bulk_rows_must_name_every_defaulted_column_and_the_same_columns(db: Database) -> None:
    row = _event_row(1, 1, T0)
    del row["data"]
    with pytest.raises(ValueError, match="give data"), db.write() as session:
        insert_rows(session, table_of(ComplaintEvent), [row])
    short = _event_row(1, 2, T0)
    extra = {**_event_row(1, 3, T0), "unexpected": 1}
    with pytest.raises(ValueError, match="every row must name the same columns"), db.write() as session:
        insert_rows(session, table_of(ComplaintEvent), [short, extra])
    with pytest.raises(ValueError, match="naive datetime"), db.write() as session:
        insert_rows(session, table_of(ComplaintEvent), [_event_row(1, 4, datetime(2026, 12, 3, 8, 0))])
    with db.read() as session:
        assert session.exec(select(ComplaintEvent)).all() == []
