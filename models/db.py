"""Engines and sessions: SQLite (embedded default) and PostgreSQL (production).

On SQLite every write transaction takes the write lock up front (``BEGIN IMMEDIATE``), so a
read-then-write transaction waits on the busy timeout instead of failing with "database is locked".
Reads use a second engine with plain deferred transactions, which WAL lets run beside a writer.
"""

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, bindparam, create_engine, event, func, insert, select, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and route it to psycopg 3, the driver we ship."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class DatabaseUrlError(ValueError):
    """The database URL names nothing we can open; the message says what to give instead."""


SUPPORTED_URLS = "sqlite:///path/to/file.db or postgresql://user@host:5432/dbname"


def check_database(url: str) -> None:
    """Refuse, with a one-line reason, a URL that is malformed, of another kind, or cannot be opened."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise DatabaseUrlError(f"'{url}' is not a database URL; give {SUPPORTED_URLS}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseUrlError(f"unsupported database '{backend}'; give {SUPPORTED_URLS}")
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise DatabaseUrlError("SQLite needs a file, e.g. sqlite:///data/complaintflow.db")
    shown = parsed.render_as_string(hide_password=True)
    try:
        ensure_sqlite_folder(url)
        engine = create_engine(parsed, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        finally:
            engine.dispose()
    except OSError as exc:
        raise DatabaseUrlError(f"cannot create the folder of {shown}: {exc.strerror or exc}") from None
    except (OperationalError, NoSuchModuleError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseUrlError(f"cannot open the database {shown}: {reason}") from None


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


@dataclass(frozen=True)
class _BulkInsert:
    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    positional: bool


@lru_cache(maxsize=64)
def _bulk_insert(table: Table, names: tuple[str, ...], dialect: Dialect) -> _BulkInsert:
    missing = [c.name for c in table.c if c.name not in names and c.default is not None]
    if missing:
        raise ValueError(f"insert_rows into {table.name}: give {', '.join(missing)} (they have defaults)")
    compiled = insert(table).values({name: bindparam(name) for name in names}).compile(dialect=dialect)
    order = tuple(compiled.positiontup or ()) if compiled.positional else names
    processors = tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order)
    return _BulkInsert(str(compiled), order, processors, compiled.positional)


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows with one DBAPI ``executemany``: the hot path of intake and level firing.

    Equivalent to ``session.execute(insert(table), rows)`` for rows that all name the same columns,
    but each column's type conversion (aware datetime → stored form, enum → value, JSON → text) is
    looked up once per statement, not per row and value: SQLAlchemy's per-row parameter building was
    half the cost of a 1,000-row import chunk. Columns with Python-side defaults must be given.
    """
    if not rows:
        return
    connection = session.connection()
    plan = _bulk_insert(table, tuple(rows[0]), connection.dialect)
    if any(len(row) != len(plan.names) for row in rows):
        raise ValueError(f"insert_rows into {table.name}: every row must name the same columns")
    # Column by column: one map() per column runs the conversion in C's loop, not Python's; a column
    # holding one object throughout (the batch's ``now`` in created_at, recorded_at ...) converts once.
    columns = []
    for name, process in zip(plan.names, plan.processors, strict=True):
        values = [row[name] for row in rows]
        if process is None:
            columns.append(values)
        elif all(value is values[0] for value in values):
            columns.append([process(values[0])] * len(values))
        else:
            columns.append(list(map(process, values)))
    params: list[Any] = list(zip(*columns, strict=True))
    if not plan.positional:
        params = [dict(zip(plan.names, values, strict=True)) for values in params]
    connection.exec_driver_sql(plan.sql, params)


def insert_new_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """``insert_rows`` for rows without ids: each gets a reserved id (set on the row), returned in order."""
    ids = reserve_ids(session, table, len(rows))
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id
    insert_rows(session, table, rows)
    return ids


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """Take ``count`` fresh primary keys of ``table`` in the caller's write transaction.

    A batch insert that knows its ids up front needs no ``RETURNING``, which SQLite can only keep in
    parameter order by running one statement per row. PostgreSQL draws from the column's sequence;
    SQLite continues after ``max(id)``, safe because the write transaction holds the database lock
    (``BEGIN IMMEDIATE``) and the tables have no ``AUTOINCREMENT`` reservation table to respect.
    """
    if count <= 0:
        return []
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        statement = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")
        return [row[0] for row in session.execute(statement, {"table": table.name, "n": count})]
    last = session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(last + 1, last + count + 1))


def null_pool_engine(url: str) -> Engine:
    """An engine for one-off tools (migrations) that must not keep connections open."""
    return create_engine(normalise_url(url), poolclass=NullPool)
