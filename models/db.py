"""Engines and sessions: SQLite (embedded default) and PostgreSQL (production).

On SQLite every write transaction takes the write lock up front (``BEGIN IMMEDIATE``), so a
read-then-write transaction waits on the busy timeout instead of failing with "database is locked".
Reads use a second engine with plain deferred transactions, which WAL lets run beside a writer.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and route it to psycopg 3, the driver we ship."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite file, so a fresh checkout can start without set-up."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    ensure_sqlite_folder(url)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=8,
        max_overflow=8,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, issue BEGIN, so we choose its kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """One place that knows the URL: hands out write and read sessions."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        self._write_lock: threading.Lock | nullcontext[None] = (
            threading.Lock() if self.dialect == "sqlite" else nullcontext()
        )
        if self.dialect == "sqlite":
            self.write_engine = _sqlite_engine(self.url, immediate=True)
            self.read_engine = _sqlite_engine(self.url, immediate=False)
        else:
            self.write_engine = create_engine(
                self.url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True
            )
            self.read_engine = self.write_engine

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error.

        On SQLite, writers of this process queue on a lock before BEGIN IMMEDIATE: SQLite's own busy
        wait polls and is unfair, so under load one thread could wait seconds while others go first.
        """
        with self._write_lock, Session(self.write_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        # Closing (not rolling back) ends the transaction and leaves loaded objects readable.
        with Session(self.read_engine, expire_on_commit=False) as session:
            yield session

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def table_of(model: type) -> Table:
    """The Core table behind a SQLModel class, for set-based inserts that build no ORM objects."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def null_pool_engine(url: str) -> Engine:
    """An engine for one-off tools (migrations) that must not keep connections open."""
    return create_engine(normalise_url(url), poolclass=NullPool)
