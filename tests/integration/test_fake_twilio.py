"""The real twilio library, pointed at the fake over loopback HTTP, sees what it would see from Twilio."""

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes.fake_twilio import (
    FAKE_FROM,
    FAKE_MESSAGING_SERVICE_SID,
    BaseUrlHttpClient,
    FakeTwilio,
    ScriptedResponse,
)

RECIPIENT = "+8613123456789"  # libphonenumber's example CN mobile number
OTHER_RECIPIENT = "+8613123456788"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def client(fake: FakeTwilio) -> Client:
    return fake.client(timeout=5.0)


class _CallbackSink:
    """A loopback webhook that records the status callbacks it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], str]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                sink.received.append((self.path, form, self.headers.get("X-Twilio-Signature", "")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/twilio/status"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink() -> Iterator[_CallbackSink]:
    receiver = _CallbackSink()
    yield receiver
    receiver.close()


def test_fake_starts_quickly_on_a_free_port() -> None:
    started = time.perf_counter()
    with FakeTwilio() as server:
        elapsed = time.perf_counter() - started
        assert server.base_url.startswith("http://127.0.0.1:")
        assert not server.base_url.endswith(":0")
    assert elapsed < 5.0  # a few milliseconds when idle; the bound only catches a hang


def test_create_message_returns_a_queued_twilio_resource(fake: FakeTwilio, client: Client) -> None:
    message = client.messages.create(to=RECIPIENT, from_=FAKE_FROM, body="您的诉求已受理。")

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert message.status == "queued"
    assert (message.to, message.from_, message.body) == (RECIPIENT, FAKE_FROM, "您的诉求已受理。")
    assert message.num_segments == "1"
    assert message.date_created is not None and message.date_created.tzinfo is not None
    assert message.date_sent is None
    assert [m.sid for m in fake.messages] == [message.sid]


def test_create_message_with_a_messaging_service_is_accepted(fake: FakeTwilio, client: Client) -> None:
    message = client.messages.create(to=RECIPIENT, messaging_service_sid=FAKE_MESSAGING_SERVICE_SID, body="x")

    assert message.status == "accepted"
    assert message.messaging_service_sid == FAKE_MESSAGING_SERVICE_SID
    assert fake.messages[0].from_ is None


def test_list_messages_by_recipient_and_date_sent_finds_what_was_sent(
    fake: FakeTwilio, client: Client
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    mine = client.messages.create(to=RECIPIENT, from_=FAKE_FROM, body="one")
    client.messages.create(to=OTHER_RECIPIENT, from_=FAKE_FROM, body="other")

    listed = client.messages.list(to=RECIPIENT, date_sent_after=since)

    assert [m.sid for m in listed] == [mine.sid]
    assert listed[0].status == "sent"
    assert listed[0].date_sent is not None
    assert client.messages.list(to=RECIPIENT, date_sent_after=datetime.now(UTC) + timedelta(hours=1)) == []
    assert client.messages(mine.sid).fetch().body == "one"


def test_list_messages_follows_next_page_links_newest_first(client: Client) -> None:
    sids = [client.messages.create(to=RECIPIENT, from_=FAKE_FROM, body=f"n{i}").sid for i in range(5)]

    first_page = client.messages.page(to=RECIPIENT, page_size=2)
    listed = client.messages.list(to=RECIPIENT, page_size=2)

    assert len(list(first_page)) == 2
    assert first_page.next_page_url is not None
    assert [m.sid for m in listed] == list(reversed(sids))


def test_create_rate_limited_raises_20429_then_the_retry_succeeds(fake: FakeTwilio, client: Client) -> None:
    fake.script(ScriptedResponse.too_many_requests())

    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=RECIPIENT, from_=FAKE_FROM, body="retry me")
    retried = client.messages.create(to=RECIPIENT, from_=FAKE_FROM, body="retry me")

    assert (caught.value.status, caught.value.code) == (429, 20429)
    assert retried.status == "queued"
    assert [m.sid for m in fake.messages] == [retried.sid]
    assert [a.status for a in fake.create_attempts] == [429, 201]


@pytest.mark.parametrize(
    ("to", "script"),
    [
        pytest.param(RECIPIENT, ScriptedResponse.invalid_to(), id="scripted"),
        pytest.param("12345", None, id="not-e164"),
        pytest.param("+15005550001", None, id="twilio-magic-number"),
    ],
)
def test_create_to_an_invalid_number_raises_21211(
    fake: FakeTwilio, client: Client, to: str, script: ScriptedResponse | None
) -> None:
    if script is not None:
        fake.script(script)

    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=to, from_=FAKE_FROM, body="x")

    assert (caught.value.status, caught.value.code) == (400, 21211)
    assert f"The 'To' number {to} is not a valid phone number." in caught.value.msg
    assert fake.messages == []


def test_create_to_a_recipient_who_sent_stop_raises_21610(fake: FakeTwilio, client: Client) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to="+15005550004", from_=FAKE_FROM, body="x")

    assert (caught.value.status, caught.value.code) == (400, 21610)


def test_create_with_a_body_over_1600_characters_raises_21617(client: Client) -> None:
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=RECIPIENT, from_=FAKE_FROM, body="中" * 1601)

    assert (caught.value.status, caught.value.code) == (400, 21617)


def test_create_during_an_outage_raises_500(fake: FakeTwilio, client: Client) -> None:
    fake.script(ScriptedResponse.server_error())

    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=RECIPIENT, from_=FAKE_FROM, body="x")

    assert (caught.value.status, caught.value.code) == (500, 20500)
    assert fake.messages == []


def test_create_with_wrong_credentials_raises_20003(fake: FakeTwilio) -> None:
    wrong = Client(fake.account_sid, "not-the-token", http_client=BaseUrlHttpClient(fake.base_url, timeout=5))

    with pytest.raises(TwilioRestException) as caught:
        wrong.messages.create(to=RECIPIENT, from_=FAKE_FROM, body="x")

    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert fake.messages == []


def test_create_read_timeout_after_acceptance_leaves_exactly_one_message(fake: FakeTwilio) -> None:
    impatient = fake.client(timeout=0.5)
    since = datetime.now(UTC) - timedelta(seconds=1)
    fake.script(ScriptedResponse.accept_then_hang(6.0))

    started = time.perf_counter()
    with pytest.raises(requests.exceptions.ReadTimeout):
        impatient.messages.create(to=RECIPIENT, from_=FAKE_FROM, body="did it go?")
    waited = time.perf_counter() - started

    assert waited < 4.0  # the 0.5 s time-out, not the 6 s hang
    assert len(fake.messages) == 1
    assert len(fake.create_attempts) == 1
    # The sender cannot know from the time-out; Twilio's own record can tell it.
    found = impatient.messages.list(to=RECIPIENT, date_sent_after=since)
    assert [m.sid for m in found] == [fake.messages[0].sid]


def test_status_callbacks_are_posted_in_order_and_signed(sink: _CallbackSink) -> None:
    with FakeTwilio(lifecycle=("sent", "delivered")) as server:
        message = server.client().messages.create(
            to=RECIPIENT, from_=FAKE_FROM, body="x", status_callback=sink.url
        )
        server.advance(message.sid, "read")
        assert server.wait_for_callbacks(timeout=5)

    assert [form["MessageStatus"] for _, form, _ in sink.received] == ["sent", "delivered", "read"]
    validator = RequestValidator(server.auth_token)
    for _, form, signature in sink.received:
        assert form["MessageSid"] == message.sid
        assert validator.validate(sink.url, form, signature)
    assert [record.response_status for record in server.callbacks] == [204, 204, 204]


def test_advance_to_undelivered_records_the_error_code(fake: FakeTwilio, client: Client) -> None:
    message = client.messages.create(to=RECIPIENT, from_=FAKE_FROM, body="x")

    fake.advance(
        message.sid, "undelivered", error_code=30003, error_message="Unreachable destination handset"
    )

    fetched = client.messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)


def test_client_with_edge_and_region_still_reaches_the_fake(fake: FakeTwilio) -> None:
    http_client = BaseUrlHttpClient(fake.base_url, timeout=5)
    client = Client(fake.account_sid, fake.auth_token, http_client=http_client, edge="sydney", region="au1")

    message = client.messages.create(to=RECIPIENT, from_=FAKE_FROM, body="x")

    assert fake.messages[0].sid == message.sid
    assert http_client.rebase("https://api.sydney.au1.twilio.com/2010-04-01/A.json?x=1") == (
        fake.base_url + "/2010-04-01/A.json?x=1"
    )


@pytest.mark.parametrize("timeout", [None, 0, -1.0])
def test_base_url_http_client_refuses_an_unbounded_timeout(timeout: float | None) -> None:
    with pytest.raises(ValueError, match="timeout"):
        BaseUrlHttpClient("http://127.0.0.1:1", timeout=timeout)  # type: ignore[arg-type]
