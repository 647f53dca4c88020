"""SMS through the real twilio library against the fake Twilio on loopback: send, retry, time-out, refuse.

The fake runs on the test's virtual clock, so Twilio's dates and the outbox's attempt instants agree. Its
``lifecycle`` is empty unless a test wants status callbacks: a message stays ``queued`` (no DateSent) and
nothing is posted to the public URL, which does not exist here.
"""

import socket
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.runtime import Runtime, SmsConfigError, build_notifier
from app.settings import Settings, TwilioSettings
from notifiers.base import OutcomeUnknown, OutgoingSms, SendFailure
from notifiers.dispatch import ReconcileReport
from notifiers.twilio_sms import TwilioSmsConfig, TwilioSmsNotifier
from tests.conftest import T0
from tests.fakes.fake_twilio import (
    FAKE_ACCOUNT_SID,
    FAKE_AUTH_TOKEN,
    FAKE_FROM,
    FAKE_MESSAGING_SERVICE_SID,
    FakeTwilio,
    ScriptedResponse,
)
from tests.support.domain import file
from tests.support.factories import EXAMPLE_MOBILE_E164, submission, submission_data
from tests.support.sms import PUBLIC, STATUS_URL, notifier_for, sms_rows, twilio_settings
from workflows.clock import VirtualClock

# -- wiring ----------------------------------------------------------------------------------------------


def test_runtime_uses_twilio_when_configured_and_the_embedded_notifier_otherwise(
    tw_runtime: Runtime, runtime: Runtime, fake: FakeTwilio
) -> None:
    assert tw_runtime.notifier.name == f"Twilio SMS (from {FAKE_FROM} via {fake.base_url})"
    assert runtime.notifier.name == "embedded (log + JSON lines file)"


def test_runtime_refuses_a_half_configured_twilio(tmp_path: Path, sqlite_url: str) -> None:
    settings = Settings(
        database_url=sqlite_url,
        public_base_url=PUBLIC,
        twilio=TwilioSettings(account_sid=FAKE_ACCOUNT_SID, auth_token=FAKE_AUTH_TOKEN),
    )

    with pytest.raises(SmsConfigError) as caught:
        build_notifier(settings)

    assert str(caught.value) == (
        "Twilio is partly configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN set): also set "
        "TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID, or unset the Twilio settings to use the embedded notifier"
    )


def test_runtime_refuses_twilio_without_a_public_url(
    tmp_path: Path, sqlite_url: str, fake: FakeTwilio
) -> None:
    settings = twilio_settings(tmp_path, sqlite_url, fake, public_base_url=None)

    with pytest.raises(SmsConfigError, match=r"^Twilio needs PUBLIC_BASE_URL"):
        build_notifier(settings)


# -- sending ---------------------------------------------------------------------------------------------


def test_send_records_the_provider_sid_and_segments(
    tw_client: TestClient, tw_runtime: Runtime, fake: FakeTwilio
) -> None:
    assert tw_client.post("/api/complaints", json=submission_data()).status_code == 201

    assert tw_runtime.dispatcher.drain() == 1

    (sent,) = fake.messages
    (row,) = sms_rows(tw_runtime)
    assert (row.status, row.provider_id, row.provider_status) == ("sent", sent.sid, "queued")
    assert (row.segments, sent.num_segments) == (2, 2)
    assert (row.attempts, row.error_code, row.sent_at, row.attempt_started_at) == (1, None, T0, T0)
    assert (sent.to, sent.from_, sent.body) == (EXAMPLE_MOBILE_E164, FAKE_FROM, row.body)
    assert sent.status_callback == STATUS_URL


def test_send_through_a_messaging_service_counts_segments_itself(fake: FakeTwilio) -> None:
    notifier = notifier_for(fake, from_number=None, messaging_service_sid=FAKE_MESSAGING_SERVICE_SID)

    result = notifier.send(OutgoingSms(1, EXAMPLE_MOBILE_E164, "您的投诉已受理。"))

    assert (result.provider_id, result.status, result.segments) == (fake.messages[0].sid, "accepted", 1)
    assert (fake.messages[0].messaging_service_sid, fake.messages[0].from_) == (
        FAKE_MESSAGING_SERVICE_SID,
        None,
    )
    assert notifier.name == f"Twilio SMS (messaging service {FAKE_MESSAGING_SERVICE_SID} via {fake.base_url})"


@pytest.mark.parametrize(
    ("script", "status", "code"),
    [
        pytest.param(ScriptedResponse.too_many_requests(), 429, "20429", id="429"),
        pytest.param(ScriptedResponse.server_error(), 500, "20500", id="500"),
    ],
)
def test_temporary_failure_is_retried_after_backoff_and_sends_exactly_once(
    tw_client: TestClient,
    tw_runtime: Runtime,
    fake: FakeTwilio,
    clock: VirtualClock,
    script: ScriptedResponse,
    status: int,
    code: str,
) -> None:
    tw_client.post("/api/complaints", json=submission_data())
    fake.script(script)

    tw_runtime.dispatcher.drain()
    (waiting,) = sms_rows(tw_runtime)
    assert (waiting.status, waiting.attempts, waiting.error_code) == ("pending", 1, code)
    assert waiting.next_attempt_at == T0 + timedelta(seconds=5)
    clock.advance(timedelta(seconds=4))
    assert tw_runtime.dispatcher.drain() == 0
    clock.advance(timedelta(seconds=1))
    assert tw_runtime.dispatcher.drain() == 1

    (row,) = sms_rows(tw_runtime)
    assert len(fake.messages) == 1
    assert [attempt.status for attempt in fake.create_attempts] == [status, 201]
    assert (row.status, row.attempts, row.provider_id, row.error_code) == (
        "sent",
        2,
        fake.messages[0].sid,
        None,
    )


def test_invalid_number_fails_for_good_and_the_complaint_carries_on(
    tw_client: TestClient, tw_runtime: Runtime, fake: FakeTwilio, clock: VirtualClock
) -> None:
    cid = tw_client.post("/api/complaints", json=submission_data()).json()["id"]
    fake.script(ScriptedResponse.invalid_to())

    tw_runtime.dispatcher.drain()
    clock.advance(timedelta(hours=1))
    tw_runtime.dispatcher.drain()

    (failed,) = sms_rows(tw_runtime)
    assert (failed.status, failed.attempts, failed.error_code) == ("failed", 1, "21211")
    assert (
        failed.error_message
        == "Unable to create record: The 'To' number +86 131****6789 is not a valid phone number."
    )
    assert len(fake.create_attempts) == 1
    accepted = tw_client.post(f"/api/complaints/{cid}/actions/accept", json={"actor": "op-07"})
    assigned = tw_client.post(
        f"/api/complaints/{cid}/actions/assign", json={"actor": "op-07", "department": "market-regulation"}
    )
    assert [(a.status_code, a.json()["status"]) for a in (accepted, assigned)] == [
        (200, "accepted"),
        (200, "assigned"),
    ]
    assert tw_runtime.dispatcher.drain() == 1
    assert [(r.template, r.status, r.error_code) for r in sms_rows(tw_runtime)] == [
        ("received", "failed", "21211"),
        ("assigned", "sent", None),
    ]
    assert len(fake.messages) == 1


@pytest.mark.parametrize(
    ("to", "code"),
    [
        ("+15005550001", "21211"),
        ("+15005550009", "21614"),
        ("+15005550004", "21610"),
        ("+15005550003", "21408"),
        ("+15005550002", "21612"),
    ],
)
def test_refusals_for_the_recipient_are_permanent(fake: FakeTwilio, to: str, code: str) -> None:
    with pytest.raises(SendFailure) as caught:
        notifier_for(fake).send(OutgoingSms(1, to, "x"))

    assert (caught.value.code, caught.value.permanent) == (code, True)
    assert fake.messages == []


def test_refused_credentials_pause_dispatch_and_lose_nothing(
    tw_client: TestClient, tw_runtime: Runtime, fake: FakeTwilio, clock: VirtualClock
) -> None:
    for ref in ("WO-0001", "WO-0002", "WO-0003"):
        tw_client.post("/api/complaints", json=submission_data(channel_ref=ref))
    fake.auth_token = "rotated-auth-token-fedcba9876543210"  # the account's token changed under us

    assert tw_runtime.dispatcher.drain() == 3
    first_pause = T0 + timedelta(minutes=1)
    assert [(r.status, r.attempts, r.error_code, r.next_attempt_at) for r in sms_rows(tw_runtime)] == [
        ("pending", 0, "20003", first_pause),
        ("pending", 0, "account_paused", first_pause),
        ("pending", 0, "account_paused", first_pause),
    ]
    assert sms_rows(tw_runtime)[1].error_message == (
        "短信平台拒绝了本系统的账号或密钥，发送暂停，12月3日08:01后重试 / the SMS provider refused our account "
        "or credentials: sending is paused, next try at 12月3日08:01"
    )
    assert [a.status for a in fake.create_attempts] == [401]
    assert tw_client.get("/healthz").json()["sms_paused_until"] == "2026-12-03T00:01:00+00:00"

    clock.advance(timedelta(seconds=59))
    assert tw_runtime.dispatcher.drain() == 0
    clock.advance(timedelta(seconds=1))
    tw_runtime.dispatcher.drain()  # still refused: the pause doubles
    assert [a.status for a in fake.create_attempts] == [401, 401]
    assert tw_runtime.dispatcher.paused_until == T0 + timedelta(minutes=3)

    fake.auth_token = FAKE_AUTH_TOKEN  # an operator restored the credentials
    clock.advance(timedelta(minutes=2))
    assert tw_runtime.dispatcher.drain() == 3
    assert [(r.status, r.attempts, r.error_code) for r in sms_rows(tw_runtime)] == [("sent", 1, None)] * 3
    assert len(fake.messages) == 3
    assert tw_client.get("/healthz").json()["sms_paused_until"] is None

    tw_client.post("/api/complaints", json=submission_data(channel_ref="WO-0004"))
    fake.auth_token = "rotated-auth-token-fedcba9876543210"
    tw_runtime.dispatcher.drain()  # a success in between: the next pause starts at a minute again
    assert tw_runtime.dispatcher.paused_until == clock.now() + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("status", "code"), [(401, 20003), (403, 20403), (401, 70051), (403, 10001), (400, 10001)]
)
def test_account_refusals_are_not_blamed_on_the_message(fake: FakeTwilio, status: int, code: int) -> None:
    fake.script(ScriptedResponse.error(status, code, "refused"))
    with pytest.raises(SendFailure) as caught:
        notifier_for(fake).send(OutgoingSms(1, EXAMPLE_MOBILE_E164, "x"))

    assert (caught.value.code, caught.value.account, caught.value.permanent) == (str(code), True, False)


def test_body_over_1600_characters_is_refused_without_a_request(fake: FakeTwilio) -> None:
    with pytest.raises(SendFailure) as caught:
        notifier_for(fake).send(OutgoingSms(1, EXAMPLE_MOBILE_E164, "中" * 1601))

    assert (caught.value.code, caught.value.permanent) == ("21617", True)
    assert caught.value.message.startswith("SMS body is 1601 characters long")
    assert fake.create_attempts == []


def test_refused_connection_is_temporary() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    notifier = TwilioSmsNotifier(
        TwilioSmsConfig(
            FAKE_ACCOUNT_SID,
            SecretStr(FAKE_AUTH_TOKEN),
            FAKE_FROM,
            api_base_url=f"http://127.0.0.1:{port}",
            timeout_seconds=2,
        )
    )

    with pytest.raises(SendFailure) as caught:
        notifier.send(OutgoingSms(1, EXAMPLE_MOBILE_E164, "x"))

    assert (caught.value.code, caught.value.permanent) == ("connection-error", False)


def test_auth_token_never_shows_in_a_repr(fake: FakeTwilio) -> None:
    notifier = notifier_for(fake)

    assert FAKE_AUTH_TOKEN not in repr(notifier.config)
    assert FAKE_AUTH_TOKEN not in repr(TwilioSettings(auth_token=FAKE_AUTH_TOKEN))


# -- time-outs and reconciliation ------------------------------------------------------------------------


def test_timeout_after_acceptance_is_not_resent_and_a_restart_records_the_sid(
    tmp_path: Path, sqlite_url: str, fake: FakeTwilio, clock: VirtualClock
) -> None:
    settings = twilio_settings(tmp_path, sqlite_url, fake, sms_timeout_seconds=0.3)
    first = Runtime(settings, clock=clock)
    file(first.db, first.config, submission(), clock.now())
    fake.script(ScriptedResponse.accept_then_hang(6.0))

    started = time.perf_counter()
    first.dispatcher.drain()
    assert time.perf_counter() - started < 4.0  # gave up after the 0.3 s time-out, not the 6 s hang
    (unknown,) = sms_rows(first)
    assert (unknown.status, unknown.attempts, unknown.error_code) == ("sending", 1, "unknown-outcome")
    assert unknown.error_message is not None and unknown.error_message.startswith("no answer within 0.3 s")
    assert first.dispatcher.drain() == 0
    assert first.dispatcher.reconcile_sending() == ReconcileReport()  # maybe still in flight somewhere
    first.db.dispose()  # the process dies

    clock.advance(timedelta(seconds=45))
    second = Runtime(settings, clock=clock)
    second.start()
    second.stop()

    (row,) = sms_rows(second)
    assert len(fake.messages) == 1
    assert len(fake.create_attempts) == 1
    assert (row.status, row.provider_id, row.attempts, row.error_code) == (
        "sent",
        fake.messages[0].sid,
        1,
        None,
    )


def test_crash_before_the_request_resends_once_after_restart(
    tmp_path: Path, sqlite_url: str, fake: FakeTwilio, clock: VirtualClock
) -> None:
    settings = twilio_settings(tmp_path, sqlite_url, fake)
    first = Runtime(settings, clock=clock)
    file(first.db, first.config, submission(), clock.now())
    assert len(first.dispatcher.claim()) == 1  # marked sending, then the process dies before calling Twilio
    first.db.dispose()

    clock.advance(timedelta(minutes=1))
    second = Runtime(settings, clock=clock)
    assert second.dispatcher.reconcile_sending() == ReconcileReport(requeued=1)
    assert second.dispatcher.drain() == 1

    (row,) = sms_rows(second)
    assert len(fake.messages) == 1
    assert (row.status, row.provider_id, row.attempts) == ("sent", fake.messages[0].sid, 2)
    second.db.dispose()


def test_lookup_matches_recipient_sender_and_body_and_skips_known_sids(
    fake: FakeTwilio, clock: VirtualClock
) -> None:
    notifier = notifier_for(fake)
    message = OutgoingSms(1, EXAMPLE_MOBILE_E164, "您的投诉（261203-0001-2）有新的办理进展")
    since = clock.now()
    first = notifier.send(message)
    clock.advance(timedelta(seconds=2))
    second = notifier.send(message)
    notifier.send(OutgoingSms(2, EXAMPLE_MOBILE_E164, "另一条短信"))

    assert notifier.lookup_sent(message, since) == first
    assert notifier.lookup_sent(message, since, exclude=frozenset({first.provider_id})) == second
    assert (
        notifier.lookup_sent(message, since, exclude=frozenset({first.provider_id, second.provider_id}))
        is None
    )
    assert notifier.lookup_sent(OutgoingSms(3, "+8613123456788", message.body), since) is None
    assert notifier.lookup_sent(message, since + timedelta(minutes=5)) is None


def test_lookup_while_twilio_is_unreachable_is_unknown_and_hides_the_number(fake: FakeTwilio) -> None:
    notifier = notifier_for(fake)
    fake.stop()

    with pytest.raises(OutcomeUnknown) as caught:
        notifier.lookup_sent(OutgoingSms(1, EXAMPLE_MOBILE_E164, "x"), T0)

    assert caught.value.code == "lookup-failed"
    assert "8613123456789" not in caught.value.message


# -- pacing ----------------------------------------------------------------------------------------------


def test_twenty_messages_at_ten_per_second_take_at_least_1_9_seconds(
    tmp_path: Path, sqlite_url: str, fake: FakeTwilio, clock: VirtualClock
) -> None:
    rt = Runtime(twilio_settings(tmp_path, sqlite_url, fake, sms_rate_per_second=10), clock=clock)
    for n in range(20):
        file(rt.db, rt.config, submission(f"WO-{n:04d}"), clock.now())

    started = time.perf_counter()
    sent = rt.dispatcher.drain()
    elapsed = time.perf_counter() - started

    assert sent == 20
    assert len(fake.messages) == 20
    assert 1.9 <= elapsed < 10  # paced: 19 gaps of 0.1 s at least (the upper bound only catches a hang)
    rt.db.dispose()
