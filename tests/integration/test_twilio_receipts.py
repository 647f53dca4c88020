"""Delivery receipts: POST /webhooks/twilio/status, signed by Twilio for the public https URL.

The webhook tests post through the TestClient, which arrives as plain ``http://testserver``, as a request
does behind the TLS proxy. The loop tests serve the app with uvicorn on loopback, so the fake Twilio posts
its own signed callbacks to it.
"""

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlmodel import select
from twilio.request_validator import RequestValidator

from app.api.main import create_app
from app.runtime import Runtime
from models import HeldReceipt, Notification
from notifiers.dispatch import ReconcileReport
from tests.fakes.fake_twilio import FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, FakeTwilio, ScriptedResponse
from tests.support.domain import file
from tests.support.factories import EXAMPLE_MOBILE_E164, submission, submission_data
from tests.support.sms import STATUS_URL, sms_rows, twilio_settings
from workflows.clock import VirtualClock


@pytest.fixture
def sent_sid(tw_client: TestClient, tw_runtime: Runtime, fake: FakeTwilio) -> str:
    """One SMS sent through the fake; its row is ``sent`` and holds the SID."""
    tw_client.post("/api/complaints", json=submission_data())
    assert tw_runtime.dispatcher.drain() == 1
    return fake.messages[0].sid


def status_form(sid: str, status: str, **extra: str) -> dict[str, str]:
    return {
        "AccountSid": FAKE_ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "From": "+15005550006",
        "MessageSid": sid,
        "MessageStatus": status,
        "SmsSid": sid,
        "SmsStatus": status,
        "To": EXAMPLE_MOBILE_E164,
        **extra,
    }


def post_status(
    client: TestClient, form: dict[str, str], *, signed_for: str = STATUS_URL, token: str = FAKE_AUTH_TOKEN
) -> tuple[int, object]:
    signature = RequestValidator(token).compute_signature(signed_for, form)
    answer = client.post(
        "/webhooks/twilio/status",
        content=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )
    return answer.status_code, answer.json()


def the_row(runtime: Runtime) -> Notification:
    (row,) = sms_rows(runtime)
    return row


def test_late_sent_and_queued_never_overwrite_delivered(
    tw_client: TestClient, tw_runtime: Runtime, sent_sid: str
) -> None:
    answers = [post_status(tw_client, status_form(sent_sid, s)) for s in ("delivered", "sent", "queued")]

    assert answers == [
        (200, {"result": "applied"}),
        (200, {"result": "stale"}),
        (200, {"result": "stale"}),
    ]
    row = the_row(tw_runtime)
    assert (row.status, row.provider_status, row.error_code) == ("delivered", "delivered", None)


def test_undelivered_keeps_its_error_code_against_a_late_sent(
    tw_client: TestClient, tw_runtime: Runtime, sent_sid: str
) -> None:
    post_status(tw_client, status_form(sent_sid, "sending"))
    post_status(tw_client, status_form(sent_sid, "undelivered", ErrorCode="30003"))
    post_status(tw_client, status_form(sent_sid, "sent"))

    row = the_row(tw_runtime)
    assert (row.status, row.provider_status, row.error_code, row.error_message) == (
        "undelivered",
        "undelivered",
        "30003",
        "Twilio reported undelivered",
    )


def test_signature_for_the_public_https_url_is_accepted_over_plain_http(
    tw_client: TestClient, tw_runtime: Runtime, sent_sid: str
) -> None:
    assert str(tw_client.base_url) == "http://testserver"

    assert post_status(tw_client, status_form(sent_sid, "delivered"), signed_for=STATUS_URL) == (
        200,
        {"result": "applied"},
    )
    assert the_row(tw_runtime).status == "delivered"


@pytest.mark.parametrize(
    ("signed_for", "token"),
    [
        pytest.param(
            "http://testserver/webhooks/twilio/status", FAKE_AUTH_TOKEN, id="url-the-request-came-to"
        ),
        pytest.param(STATUS_URL, "another-accounts-token", id="wrong-token"),
    ],
)
def test_bad_signature_is_refused_and_changes_nothing(
    tw_client: TestClient, tw_runtime: Runtime, sent_sid: str, signed_for: str, token: str
) -> None:
    answer = post_status(tw_client, status_form(sent_sid, "delivered"), signed_for=signed_for, token=token)

    assert answer == (403, {"detail": "invalid X-Twilio-Signature"})
    assert the_row(tw_runtime).status == "sent"


def test_missing_signature_or_tampered_form_is_refused(tw_client: TestClient, sent_sid: str) -> None:
    form = status_form(sent_sid, "failed")
    signature = RequestValidator(FAKE_AUTH_TOKEN).compute_signature(STATUS_URL, form)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    unsigned = tw_client.post("/webhooks/twilio/status", content=urlencode(form), headers=headers)
    tampered = tw_client.post(
        "/webhooks/twilio/status",
        content=urlencode({**form, "MessageStatus": "delivered"}),
        headers={**headers, "X-Twilio-Signature": signature},
    )

    assert (unsigned.status_code, tampered.status_code) == (403, 403)


def test_unknown_message_sid_is_answered_200_logged_and_held(
    tw_client: TestClient, tw_runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    sid = "SM" + "0" * 32
    with caplog.at_level(logging.WARNING, logger="app.api.webhooks"):
        answer = post_status(tw_client, status_form(sid, "delivered"))

    assert answer == (200, {"result": "unknown"})
    assert [r.getMessage() for r in caplog.records] == [
        f"status callback for a message we did not send: {sid} (delivered)"
    ]
    with tw_runtime.db.read() as session:
        assert [(h.provider_id, h.provider_status) for h in session.exec(select(HeldReceipt))] == [
            (sid, "delivered")
        ]


def test_webhook_without_twilio_configured_refuses_everything(client: TestClient) -> None:
    assert post_status(client, status_form("SM" + "1" * 32, "delivered")) == (
        403,
        {"detail": "Twilio is not configured here (TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL)"},
    )


# -- the fake Twilio posting to the served app --------------------------------------------------------------


@contextmanager
def serving(runtime: Runtime, sock: socket.socket) -> Iterator[None]:
    """Serve the app on ``sock`` with uvicorn in a thread (the runtime's timers are not started)."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime, manage_runtime=False), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@pytest.fixture
def public_socket() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


def served_runtime(
    tmp_path: Path,
    sqlite_url: str,
    fake: FakeTwilio,
    clock: VirtualClock,
    sock: socket.socket,
    **extra: object,
) -> Runtime:
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return Runtime(twilio_settings(tmp_path, sqlite_url, fake, public_base_url=public, **extra), clock=clock)


def test_callbacks_from_twilio_move_the_row_to_delivered(
    tmp_path: Path, sqlite_url: str, fake: FakeTwilio, clock: VirtualClock, public_socket: socket.socket
) -> None:
    rt = served_runtime(tmp_path, sqlite_url, fake, clock, public_socket)
    file(rt.db, rt.config, submission(), clock.now())
    with serving(rt, public_socket):
        rt.dispatcher.drain()
        sid = fake.messages[0].sid
        fake.advance(sid, "sent")
        fake.advance(sid, "delivered")
        assert fake.wait_for_callbacks(timeout=5)

    assert [(c.params["MessageStatus"], c.response_status) for c in fake.callbacks] == [
        ("sent", 200),
        ("delivered", 200),
    ]
    row = the_row(rt)
    assert (row.status, row.provider_id, row.provider_status) == ("delivered", sid, "delivered")
    rt.db.dispose()


def test_receipts_that_beat_reconciliation_are_applied_when_the_sid_is_found(
    tmp_path: Path, sqlite_url: str, clock: VirtualClock, public_socket: socket.socket
) -> None:
    with FakeTwilio(clock=clock.now, lifecycle=("sent",)) as fake:
        rt = served_runtime(tmp_path, sqlite_url, fake, clock, public_socket, sms_timeout_seconds=0.3)
        file(rt.db, rt.config, submission(), clock.now())
        fake.script(ScriptedResponse.accept_then_hang(2.0))
        with serving(rt, public_socket):
            rt.dispatcher.drain()  # times out; Twilio sends the SMS and reports on it anyway
            sid = fake.messages[0].sid
            fake.advance(sid, "delivered")
            assert fake.wait_for_callbacks(timeout=5)
            assert the_row(rt).status == "sending"
            clock.advance(timedelta(seconds=31))
            rt.dispatcher.reconcile_sending()

    assert [(c.params["MessageStatus"], c.response_status) for c in fake.callbacks] == [
        ("sent", 200),
        ("delivered", 200),
    ]
    row = the_row(rt)
    assert (row.status, row.provider_id, row.provider_status) == ("delivered", sid, "delivered")
    with rt.db.read() as session:
        assert list(session.exec(select(HeldReceipt))) == []
    rt.db.dispose()


@pytest.mark.postgres
def test_send_timeout_receipts_and_reconcile_on_postgresql(
    tmp_path: Path, pg_url: str, fake: FakeTwilio, clock: VirtualClock
) -> None:
    rt = Runtime(twilio_settings(tmp_path, pg_url, fake, sms_timeout_seconds=0.3), clock=clock)
    for ref in ("WO-0001", "WO-0002"):
        file(rt.db, rt.config, submission(ref), clock.now())
    fake.script(ScriptedResponse.accept_then_hang(2.0))
    with TestClient(create_app(rt, manage_runtime=False)) as client:
        assert rt.dispatcher.drain() == 2
        timed_out, sent = fake.messages
        early = post_status(client, status_form(timed_out.sid, "delivered"))
        late = [post_status(client, status_form(sent.sid, s)) for s in ("delivered", "sent")]
        clock.advance(timedelta(seconds=31))
        report = rt.dispatcher.reconcile_sending()

    assert (early, late) == (
        (200, {"result": "unknown"}),
        [(200, {"result": "applied"}), (200, {"result": "stale"})],
    )
    assert report == ReconcileReport(sent=1)
    assert [(r.status, r.provider_id) for r in sms_rows(rt)] == [
        ("delivered", timed_out.sid),
        ("delivered", sent.sid),
    ]
    assert len(fake.create_attempts) == 2
    rt.db.dispose()


def test_an_oversized_callback_is_refused_before_it_is_read(tw_client: TestClient) -> None:
    answer = tw_client.post(
        "/webhooks/twilio/status",
        content=b"MessageSid=" + b"x" * 70_000,
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"},
    )

    assert (answer.status_code, answer.json()) == (
        413,
        {"detail": "a status callback is a few hundred bytes, not 70011"},
    )
