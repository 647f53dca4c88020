"""The shipped migrations: the schema they build is the models' schema, and 0005 keys existing complaints."""

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

import models  # noqa: F401  (every table registered on the metadata)
from models.db import normalise_url
from models.migrate import alembic_config, upgrade
from workflows.access import ALPHABET, KEY_LENGTH

INSERT_0004_COMPLAINT = text(
    "INSERT INTO complaint (tracking_no, channel, channel_ref, received_at, created_at, updated_at, "
    "enterprise_name, enterprise_key, contact_name, title, description, complexity, triage_reasons, "
    "task_force, status, resolution_cycle, version, last_event_at) VALUES (:no, 'hotline', :ref, "
    "'2026-12-01 00:00:00', '2026-12-01 00:00:00', '2026-12-01 00:00:00', '示例商贸有限公司', "
    "'示例商贸有限公司', '测试联系人', '标题', '描述', 'simple', '[]', '[]', 'received', 1, 1, "
    "'2026-12-01 00:00:00')"
)


@pytest.fixture
def empty_pg_url(pg_server: str) -> Iterator[str]:
    name = f"cf_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{request.getfixturevalue('tmp_path') / 'migrate.db'}"
    url: str = request.getfixturevalue("empty_pg_url")
    return url


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migrated_schema_is_the_models_schema(backend: str, request: pytest.FixtureRequest) -> None:
    url = _url(backend, request)
    upgrade(url)
    engine = create_engine(normalise_url(url))
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert differences == []


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_0005_gives_every_existing_complaint_its_own_key(
    backend: str, request: pytest.FixtureRequest
) -> None:
    url = _url(backend, request)
    command.upgrade(alembic_config(url), "0004")
    engine = create_engine(normalise_url(url))
    with engine.begin() as connection:
        for i in range(1, 1203):  # more than one batch of the backfill
            connection.execute(INSERT_0004_COMPLAINT, {"no": f"261201-{i:04d}-0", "ref": f"OLD-{i}"})
    upgrade(url)
    with engine.connect() as connection:
        keys = connection.execute(text("SELECT access_key FROM complaint ORDER BY id")).scalars().all()
    assert len(keys) == 1202 and len(set(keys)) == 1202
    assert all(len(key) == KEY_LENGTH and set(key) <= set(ALPHABET) for key in keys)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE complaint SET access_key = :key WHERE id = 2"), {"key": keys[0]})
    engine.dispose()
