"""A fake Twilio REST API on loopback, for integration tests and benchmarks.

It is a real HTTP server (``ThreadingHTTPServer`` in a daemon thread, bound to port 0, up in a few
milliseconds) that speaks enough of the 2010-04-01 Messages API for the real ``twilio`` library to work
against it:

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (To, From or MessagingServiceSid, Body,
  StatusCallback), checked against HTTP basic auth, answered 201 with a Message resource;
- ``GET /2010-04-01/Accounts/{AccountSid}/Messages.json`` with To / From / DateSent / DateSent< / DateSent>
  filters and Twilio's paging fields (PageSize, Page, PageToken, next_page_uri ...), newest first;
- ``GET /2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}.json``.

Errors have Twilio's JSON shape, ``{"code", "message", "more_info", "status"}``, which the library turns into
``twilio.base.exceptions.TwilioRestException`` with ``.status`` (HTTP) and ``.code`` (Twilio's code).

Pointing the twilio library at another host
-------------------------------------------
The product's :class:`notifiers.twilio_http.BaseUrlHttpClient` (re-exported here) is a ``TwilioHttpClient``
that replaces the scheme and host of every URL with a configured base URL and always has a finite
time-out; its module docstring says why the redirect sits there and how time-outs surface::

    http_client = BaseUrlHttpClient("http://127.0.0.1:8765", timeout=10.0)
    client = Client(account_sid, auth_token, http_client=http_client)

Programmable behaviour
----------------------
``fake.script(ScriptedResponse.too_many_requests(), times=2)`` makes the next two create calls answer
429 / 20429; :class:`ScriptedResponse` also has ``invalid_to()`` (400 / 21211), ``server_error()``
(500 / 20500), ``error(status, code, message)`` and ``accept_then_hang(seconds)`` (the message is accepted
and recorded, then the answer waits, so a client with a shorter time-out fails although the SMS went out).
Scripts are consumed by create calls only, after the credentials are checked.

Twilio's magic test numbers are honoured as recipients: +15005550001 (21211), +15005550002 (21612),
+15005550003 (21408), +15005550004 (21610, the recipient sent STOP) and +15005550009 (21614).

Every accepted message is recorded (``fake.messages``), every create call too (``fake.create_attempts``).
After acceptance a message goes at once through ``lifecycle`` (default ``("sent",)``: ``date_sent`` is set,
so ``DateSent>`` filters find it); ``fake.advance(sid, "delivered")`` moves it further. Each change posts a
signed status callback (``X-Twilio-Signature``, computed with the auth token) to the message's
StatusCallback URL from a background thread, in order; ``fake.wait_for_callbacks()`` waits for them.
"""

from __future__ import annotations

import base64
import binascii
import json
import socket
import threading
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import phonenumbers
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from notifiers.segments import MAX_BODY_CHARS, count_segments
from notifiers.twilio_http import BaseUrlHttpClient

FAKE_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
FAKE_AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
FAKE_FROM = "+15005550006"  # Twilio's magic "valid sender" test number
FAKE_MESSAGING_SERVICE_SID = "MG" + "fedcba9876543210" * 2

API_VERSION = "2010-04-01"
_MAX_PAGE_SIZE = 1000
_DEFAULT_PAGE_SIZE = 50

# status, code, message; the message may use {to}.
_MAGIC_RECIPIENTS: dict[str, tuple[int, int, str]] = {
    "+15005550001": (400, 21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (400, 21612, "The 'To' phone number: {to}, is not currently reachable using the 'From'."),
    "+15005550003": (400, 21408, "Permission to send an SMS has not been enabled for the region of {to}."),
    "+15005550004": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (400, 21614, "'To' number {to} is not a valid mobile number"),
}


def twilio_client(base_url: str, account_sid: str, auth_token: str, *, timeout: float = 10.0) -> Client:
    """Build a real twilio ``Client`` whose requests all go to ``base_url``."""
    return Client(account_sid, auth_token, http_client=BaseUrlHttpClient(base_url, timeout=timeout))


@dataclass(frozen=True, slots=True)
class ScriptedResponse:
    """One programmed answer to a coming create call.

    ``status=None`` handles the request normally (validate, accept, 201) after waiting ``delay_s``; the
    message is accepted *before* the wait. An error status answers Twilio's error JSON after the wait and
    accepts nothing. ``message`` may use ``{to}``.
    """

    status: int | None = None
    code: int | None = None
    message: str = ""
    delay_s: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, status: int, code: int, message: str, *, delay_s: float = 0.0) -> ScriptedResponse:
        return cls(status=status, code=code, message=message, delay_s=delay_s)

    @classmethod
    def too_many_requests(cls) -> ScriptedResponse:
        return cls(status=429, code=20429, message="Too Many Requests")

    @classmethod
    def invalid_to(cls) -> ScriptedResponse:
        return cls(status=400, code=21211, message="The 'To' number {to} is not a valid phone number.")

    @classmethod
    def server_error(cls) -> ScriptedResponse:
        return cls(status=500, code=20500, message="An internal server error has occurred")

    @classmethod
    def accept_then_hang(cls, seconds: float) -> ScriptedResponse:
        return cls(status=None, delay_s=seconds)


@dataclass(frozen=True, slots=True)
class FakeMessage:
    """A message the fake accepted, as it stands now (a snapshot: changing the fake does not change it)."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status: str
    status_callback: str | None
    num_segments: int
    date_created: datetime
    date_updated: datetime
    date_sent: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None

    def resource(self) -> dict[str, Any]:
        """Render the JSON Twilio returns for this message."""
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": _rfc2822(self.date_created),
            "date_sent": _rfc2822(self.date_sent) if self.date_sent else None,
            "date_updated": _rfc2822(self.date_updated),
            "direction": "outbound-api",
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(self.num_segments),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": self.to,
            "uri": uri,
        }


@dataclass(frozen=True, slots=True)
class CreateAttempt:
    """One POST to the create endpoint and how the fake answered it."""

    form: Mapping[str, str]
    status: int
    code: int | None
    sid: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    """One status callback the fake posted, and what came back (``response_status`` None: no answer)."""

    url: str
    params: Mapping[str, str]
    signature: str
    response_status: int | None
    error: str | None


@dataclass(slots=True)
class _Reply:
    status: int
    payload: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    after: list[Callable[[], None]] = field(default_factory=list)


class FakeTwilio:
    """A loopback Twilio Messages API; use as a context manager or call ``start()`` / ``stop()``."""

    def __init__(
        self,
        account_sid: str = FAKE_ACCOUNT_SID,
        auth_token: str = FAKE_AUTH_TOKEN,
        *,
        host: str = "127.0.0.1",
        lifecycle: tuple[str, ...] = ("sent",),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.lifecycle = lifecycle
        self._clock = clock or (lambda: datetime.now(UTC))
        self._host = host
        self._lock = threading.Lock()
        self._messages: dict[str, FakeMessage] = {}
        self._order: list[str] = []
        self._scripts: deque[ScriptedResponse] = deque()
        self._attempts: list[CreateAttempt] = []
        self._callbacks: list[CallbackRecord] = []
        # (url, params, gate): a callback is posted once its gate is set, so none overtakes the answer
        # to the create call that caused it; the queue keeps them in the order the states changed.
        self._callback_queue: deque[tuple[str, dict[str, str], threading.Event]] = deque()
        self._callback_cond = threading.Condition()
        self._callbacks_pending = 0
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []

    # -- running -------------------------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        """Bind a free port on loopback and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self._host, 0), _Handler, self)
        serve = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-twilio", daemon=True
        )
        deliver = threading.Thread(target=self._deliver_callbacks, name="fake-twilio-callbacks", daemon=True)
        self._threads = [serve, deliver]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; requests waiting in a scripted delay are answered at once."""
        if self._server is None:
            return
        self._stopping.set()
        with self._callback_cond:
            self._callback_cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: what ``TWILIO_API_BASE_URL`` should be set to."""
        if self._server is None:
            raise RuntimeError("FakeTwilio is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def client(self, *, timeout: float = 5.0) -> Client:
        """Return a real twilio ``Client`` pointed at this fake, with these credentials."""
        client = twilio_client(self.base_url, self.account_sid, self.auth_token, timeout=timeout)
        # Loopback traffic must not go through an HTTP(S)_PROXY from the environment.
        client.http_client.session.trust_env = False
        return client

    # -- programming and inspecting -----------------------------------------------------------------

    def script(self, *responses: ScriptedResponse, times: int = 1) -> None:
        """Queue answers for the coming create calls, in order (each repeated ``times`` times)."""
        with self._lock:
            for response in responses:
                self._scripts.extend([response] * times)

    @property
    def pending_scripts(self) -> int:
        with self._lock:
            return len(self._scripts)

    @property
    def messages(self) -> list[FakeMessage]:
        """Every accepted message, oldest first."""
        with self._lock:
            return [self._messages[sid] for sid in self._order]

    def messages_to(self, to: str) -> list[FakeMessage]:
        return [message for message in self.messages if message.to == to]

    def message(self, sid: str) -> FakeMessage:
        with self._lock:
            return self._messages[sid]

    @property
    def create_attempts(self) -> list[CreateAttempt]:
        """Every create call, accepted or not, oldest first."""
        with self._lock:
            return list(self._attempts)

    @property
    def callbacks(self) -> list[CallbackRecord]:
        """Every status callback posted so far, in order."""
        with self._callback_cond:
            return list(self._callbacks)

    def reset(self) -> None:
        """Forget messages, attempts, scripts and callbacks."""
        with self._lock:
            self._messages.clear()
            self._order.clear()
            self._scripts.clear()
            self._attempts.clear()
        with self._callback_cond:
            self._callbacks.clear()

    def advance(
        self, sid: str, status: str, *, error_code: int | None = None, error_message: str | None = None
    ) -> FakeMessage:
        """Move a message to ``status`` (sent, delivered, undelivered, failed ...) and post its callback."""
        with self._lock:
            message = self._set_status(sid, status, error_code, error_message)
        self._queue_callback(message)
        return message

    def wait_for_callbacks(self, timeout: float = 5.0) -> bool:
        """Wait until every queued status callback has been posted; False on time-out."""
        with self._callback_cond:
            return self._callback_cond.wait_for(lambda: self._callbacks_pending == 0, timeout=timeout)

    # -- request handling (called from server threads) ------------------------------------------------

    def _handle(
        self, method: str, path: str, query: dict[str, str], form: dict[str, str], auth: str | None
    ) -> _Reply:
        messages_path = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages"
        is_create = method == "POST" and path == messages_path + ".json"
        if not self._authorised(auth):
            reply = _error(
                401, 20003, "Authenticate", headers={"WWW-Authenticate": 'Basic realm="Twilio API"'}
            )
        elif is_create:
            return self._create(form)
        elif method == "GET" and path == messages_path + ".json":
            reply = self._list(query)
        elif method == "GET" and path.startswith(messages_path + "/") and path.endswith(".json"):
            reply = self._fetch(path.removeprefix(messages_path + "/").removesuffix(".json"), path)
        else:
            reply = _error(404, 20404, f"The requested resource {path} was not found")
        if method == "POST" and path.endswith("/Messages.json"):
            self._record_attempt(form, reply, None)
        return reply

    def _authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.account_sid and password == self.auth_token

    def _create(self, form: dict[str, str]) -> _Reply:
        to = form.get("To", "")
        with self._lock:
            script = self._scripts.popleft() if self._scripts else None
        if script is not None and script.status is not None:
            reply = _error(
                script.status, script.code, script.message.replace("{to}", to), headers=script.headers
            )
            reply.delay_s = script.delay_s
            self._record_attempt(form, reply, None)
            return reply
        refusal = self._validate(form)
        if refusal is not None:
            self._record_attempt(form, refusal, None)
            return refusal
        message, progressed = self._accept(form)
        reply = _Reply(201, message.resource())
        if script is not None:
            reply.delay_s = script.delay_s
            reply.headers = script.headers
        self._record_attempt(form, reply, message.sid)
        gate = threading.Event()
        self._queue_callbacks(progressed, gate)
        if reply.delay_s > 0:
            gate.set()  # Twilio sends the SMS and reports on it whatever happens to the HTTP answer.
        else:
            reply.after.append(gate.set)
        return reply

    def _validate(self, form: dict[str, str]) -> _Reply | None:
        to = form.get("To", "")
        body = form.get("Body", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' phone number is required.")
        if not body and not form.get("MediaUrl"):
            return _error(400, 21602, "Message body is required.")
        if len(body.encode("utf-16-le")) // 2 > MAX_BODY_CHARS:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if to in _MAGIC_RECIPIENTS:
            status, code, text = _MAGIC_RECIPIENTS[to]
            return _error(status, code, text.replace("{to}", to))
        if not _is_possible_e164(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        return None

    def _accept(self, form: dict[str, str]) -> tuple[FakeMessage, list[FakeMessage]]:
        now = self._now()
        service = form.get("MessagingServiceSid") or None
        message = FakeMessage(
            sid="SM" + uuid.uuid4().hex,
            account_sid=self.account_sid,
            to=form["To"],
            from_=form.get("From") or None,
            messaging_service_sid=service,
            body=form.get("Body", ""),
            status="accepted" if service and not form.get("From") else "queued",
            status_callback=form.get("StatusCallback") or None,
            num_segments=max(count_segments(form.get("Body", "")).segments, 1),
            date_created=now,
            date_updated=now,
        )
        progressed: list[FakeMessage] = []
        with self._lock:
            self._messages[message.sid] = message
            self._order.append(message.sid)
            for status in self.lifecycle:
                progressed.append(self._set_status(message.sid, status, None, None))
        return message, progressed

    def _set_status(
        self, sid: str, status: str, error_code: int | None, error_message: str | None
    ) -> FakeMessage:
        # Caller holds self._lock.
        current = self._messages[sid]
        now = self._now()
        date_sent = current.date_sent
        if date_sent is None and status in ("sent", "delivered", "undelivered", "read"):
            date_sent = now
        updated = replace(
            current,
            status=status,
            date_updated=now,
            date_sent=date_sent,
            error_code=error_code if error_code is not None else current.error_code,
            error_message=error_message if error_message is not None else current.error_message,
        )
        self._messages[sid] = updated
        return updated

    def _fetch(self, sid: str, path: str) -> _Reply:
        with self._lock:
            message = self._messages.get(sid)
        if message is None:
            return _error(404, 20404, f"The requested resource {path} was not found")
        return _Reply(200, message.resource())

    def _list(self, query: dict[str, str]) -> _Reply:
        try:
            on = _parse_date_filter(query.get("DateSent"))
            before = _parse_date_filter(query.get("DateSent<"))
            after = _parse_date_filter(query.get("DateSent>"))
            page_size = min(int(query.get("PageSize", _DEFAULT_PAGE_SIZE)), _MAX_PAGE_SIZE)
            page = int(query.get("Page", 0))
        except ValueError as exc:
            return _error(400, 20001, f"Invalid parameter: {exc}")
        if page_size < 1:
            return _error(400, 20001, "PageSize must be at least 1")
        with self._lock:
            newest_first = [self._messages[sid] for sid in reversed(self._order)]
        selected = [
            m
            for m in newest_first
            if _matches(m.to, query.get("To"))
            and _matches(m.from_, query.get("From"))
            and _sent_within(m.date_sent, on, before, after)
        ]
        start = 0
        token = query.get("PageToken")
        if token:
            last_sid = token.removeprefix("PA")
            sids = [m.sid for m in selected]
            start = sids.index(last_sid) + 1 if last_sid in sids else len(selected)
        chunk = selected[start : start + page_size]
        filter_names = ("To", "From", "DateSent", "DateSent<", "DateSent>")
        filters: dict[str, str] = {k: query[k] for k in filter_names if k in query}
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

        def uri(extra: dict[str, str | int]) -> str:
            params: dict[str, str | int] = {**filters, "PageSize": page_size, **extra}
            return base + "?" + urlencode(params, quote_via=quote)

        has_next = start + page_size < len(selected)
        payload = {
            "end": start + len(chunk) - 1 if chunk else start,
            "first_page_uri": uri({"Page": 0}),
            "messages": [m.resource() for m in chunk],
            "next_page_uri": uri({"Page": page + 1, "PageToken": "PA" + chunk[-1].sid})
            if has_next and chunk
            else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": uri({"Page": page - 1}) if page > 0 else None,
            "start": start,
            "uri": uri({"Page": page, **({"PageToken": token} if token else {})}),
        }
        return _Reply(200, payload)

    def _record_attempt(self, form: Mapping[str, str], reply: _Reply, sid: str | None) -> None:
        code = reply.payload.get("code") if reply.status >= 400 else None
        with self._lock:
            self._attempts.append(CreateAttempt(dict(form), reply.status, code, sid, self._now()))

    def _now(self) -> datetime:
        # Twilio's dates have whole seconds.
        return self._clock().astimezone(UTC).replace(microsecond=0)

    # -- status callbacks ----------------------------------------------------------------------------

    def _queue_callbacks(self, states: list[FakeMessage], gate: threading.Event) -> None:
        for state in states:
            self._queue_callback(state, gate)

    def _queue_callback(self, message: FakeMessage, gate: threading.Event | None = None) -> None:
        if not message.status_callback:
            return
        params = {
            "AccountSid": message.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_ or "",
            "MessageSid": message.sid,
            "MessageStatus": message.status,
            "SmsSid": message.sid,
            "SmsStatus": message.status,
            "To": message.to,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if message.error_code is not None:
            params["ErrorCode"] = str(message.error_code)
        with self._callback_cond:
            self._callback_queue.append((message.status_callback, params, gate or _OPEN_GATE))
            self._callbacks_pending += 1
            self._callback_cond.notify_all()

    def _deliver_callbacks(self) -> None:
        validator = RequestValidator(self.auth_token)
        while True:
            with self._callback_cond:
                self._callback_cond.wait_for(lambda: self._callback_queue or self._stopping.is_set())
                if not self._callback_queue:
                    return
                url, params, gate = self._callback_queue.popleft()
            while not gate.wait(timeout=0.05) and not self._stopping.is_set():
                pass
            signature = validator.compute_signature(url, params)
            request = urllib.request.Request(
                url,
                data=urlencode(params).encode(),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": signature,
                    "User-Agent": "TwilioProxy/1.1",
                },
                method="POST",
            )
            status: int | None = None
            error: str | None = None
            try:
                with _NO_PROXY_OPENER.open(request, timeout=5) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status, error = exc.code, str(exc)
            except OSError as exc:
                error = str(exc)
            with self._callback_cond:
                self._callbacks.append(CallbackRecord(url, params, signature, status, error))
                self._callbacks_pending -= 1
                self._callback_cond.notify_all()


_OPEN_GATE = threading.Event()
_OPEN_GATE.set()
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakeTwilio):
        self.fake = fake
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # close idle keep-alive connections
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body are separate writes: without this, Nagle + delayed ACK add ~40 ms a call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests assert on the fake's records instead

    def _dispatch(self, method: str) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        reply = fake._handle(
            method, url.path, _first_values(url.query), _first_values(raw), self.headers.get("Authorization")
        )
        if reply.delay_s > 0:
            fake._stopping.wait(reply.delay_s)
        body = json.dumps(reply.payload, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Twilio-Request-Id", "RQ" + uuid.uuid4().hex)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its time-out); what was accepted stays
        finally:
            for action in reply.after:
                action()


def _error(
    status: int, code: int | None, message: str, *, headers: Mapping[str, str] | None = None
) -> _Reply:
    code = code if code is not None else status
    payload = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return _Reply(status, payload, dict(headers or {}))


def _first_values(encoded: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(encoded, keep_blank_values=True).items()}


def _rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC))


def _is_possible_e164(number: str) -> bool:
    if not number.startswith("+"):
        return False
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


def _matches(value: str | None, wanted: str | None) -> bool:
    return wanted is None or value == wanted


def _parse_date_filter(value: str | None) -> date | datetime | None:
    """Parse ``YYYY-MM-DD`` (a whole day) or ``YYYY-MM-DDTHH:MM:SSZ`` (an instant), as Twilio accepts them."""
    if value is None or value == "":
        return None
    if len(value) == 10:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _sent_within(
    sent: datetime | None,
    on: date | datetime | None,
    before: date | datetime | None,
    after: date | datetime | None,
) -> bool:
    """Apply DateSent (that day), DateSent< (on or before) and DateSent> (on or after)."""
    if on is None and before is None and after is None:
        return True
    if sent is None:
        return False  # a message Twilio has not sent yet has no date_sent
    if on is not None and sent.date() != (on.date() if isinstance(on, datetime) else on):
        return False
    if before is not None and not (sent <= before if isinstance(before, datetime) else sent.date() <= before):
        return False
    return after is None or (sent >= after if isinstance(after, datetime) else sent.date() >= after)
