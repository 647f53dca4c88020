"""Shared fixtures: real SQLite files, the local PostgreSQL, a virtual clock, the app over HTTP."""

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.runtime import Runtime
from app.settings import Settings
from models.db import Database
from models.migrate import upgrade
from workflows.clock import VirtualClock
from workflows.config import DomainConfig

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
PG_ADMIN_URL = os.environ.get("COMPLAINTFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

# 2026-12-03 08:00 in Asia/Shanghai.
T0 = datetime(2026, 12, 3, 0, 0, tzinfo=UTC)


def shared_data(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared real-data folder sits beside the repository in CI")
    return path


_SMS_ENV = (
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM",
    "TWILIO_MESSAGING_SERVICE_SID",
    "TWILIO_API_BASE_URL",
    "PUBLIC_BASE_URL",
)


@pytest.fixture(autouse=True)
def _no_real_twilio(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twilio settings in the developer's environment must never reach a test: no real SMS, no real bill."""
    for name in _SMS_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"COMPLAINTFLOW_{name}", raising=False)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def config() -> DomainConfig:
    return DomainConfig.load()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'complaintflow.db'}"
    upgrade(url)
    return url


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def pg_server() -> str:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}")
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh database on the local PostgreSQL, migrated, dropped afterwards."""
    name = f"cf_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_server.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    yield database
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Settings:
    return Settings(
        database_url=sqlite_url, data_dir=tmp_path / "data", public_base_url="https://ts.example.gov.cn"
    )


@pytest.fixture
def runtime(settings: Settings, clock: VirtualClock) -> Iterator[Runtime]:
    """The wired service on a virtual clock; tests fire timers with ``runtime.timers.run_due()``."""
    rt = Runtime(settings, clock=clock)
    yield rt
    rt.intake.stop()
    rt.db.dispose()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime, manage_runtime=False)) as test_client:
        yield test_client
