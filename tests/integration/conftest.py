"""Fixtures for SMS through the fake Twilio: the fake on the virtual clock, and a runtime wired to it."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.runtime import Runtime
from tests.fakes.fake_twilio import FakeTwilio
from tests.support.sms import twilio_settings
from workflows.clock import VirtualClock


@pytest.fixture
def fake(clock: VirtualClock) -> Iterator[FakeTwilio]:
    """The fake Twilio on the test's clock; messages stay ``queued`` and post no status callbacks."""
    with FakeTwilio(clock=clock.now, lifecycle=()) as server:
        yield server


@pytest.fixture
def tw_runtime(tmp_path: Path, sqlite_url: str, fake: FakeTwilio, clock: VirtualClock) -> Iterator[Runtime]:
    rt = Runtime(twilio_settings(tmp_path, sqlite_url, fake), clock=clock)
    yield rt
    rt.db.dispose()


@pytest.fixture
def tw_client(tw_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(tw_runtime, manage_runtime=False)) as test_client:
        yield test_client
