"""SMS through Twilio's Messages API, with the real ``twilio`` library.

What the provider says is sorted into three answers for dispatch:

- accepted: a ``SendResult`` with the message SID and the segments it costs;
- refused or not reached: ``SendFailure``, permanent for a 4xx other than 429 (21211 invalid number,
  21614 not a mobile, 21610 the recipient sent STOP, 21408, 21612 ...), temporary for 429 / 20429, 5xx
  and a connection that never carried the request;
- our credentials or account refused (HTTP 401/403: 20003, 20403, 10001, 70051): ``SendFailure`` with
  ``account=True``, which pauses dispatch instead of failing a message that did nothing wrong;
- no answer after the request went out (a read time-out, a dropped reply): ``OutcomeUnknown``. Twilio may
  have taken and billed the message, so it is not sent again blindly; ``lookup_sent`` asks Twilio later.
"""

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import requests
from pydantic import SecretStr
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from notifiers.base import OutcomeUnknown, OutgoingSms, SendFailure, SendResult
from notifiers.masking import mask_phone, mask_phones_in
from notifiers.segments import BodyTooLong, check_body_length, count_segments
from notifiers.twilio_http import TWILIO_API_BASE_URL, BaseUrlHttpClient

log = logging.getLogger("complaintflow.sms.twilio")

STATUS_CALLBACK_PATH: Final = "/webhooks/twilio/status"
INBOUND_PATH: Final = "/webhooks/twilio/inbound"
"""Where Twilio posts the SMS our number receives (ratings, 退订 / 订阅, messages to the handler)."""
BODY_TOO_LONG_CODE: Final = "21617"  # what Twilio would answer; we refuse before calling
UNKNOWN_OUTCOME_CODE: Final = "unknown-outcome"
LOOKUP_LIMIT: Final = 1000
# Our credentials or account, not the message: 20003 permission denied (wrong SID/token), 20403 forbidden,
# 10001 account not active, 70051 authorization failed. The HTTP status (401/403) catches the rest.
ACCOUNT_FAULT_CODES: Final = frozenset({20003, 20403, 10001, 70051})
"""Messages to one recipient read at most while looking for one attempt (newest first)."""
_QUERY: Final = re.compile(r"\?[^\s'\")]*")


@dataclass(frozen=True)
class TwilioSmsConfig:
    """What the notifier needs; ``auth_token`` stays a ``SecretStr`` so it never shows in a repr or a log."""

    account_sid: str
    auth_token: SecretStr = field(repr=False)
    from_number: str | None = None
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    api_base_url: str = TWILIO_API_BASE_URL
    timeout_seconds: float = 10.0
    clock_skew: timedelta = timedelta(seconds=60)
    """How far Twilio's clock may be behind ours when matching a message to an attempt."""

    def __post_init__(self) -> None:
        if not self.from_number and not self.messaging_service_sid:
            raise ValueError("Twilio needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID to send from")


class TwilioSmsNotifier:
    def __init__(self, config: TwilioSmsConfig, *, client: Client | None = None) -> None:
        self.config = config
        self.http_client = BaseUrlHttpClient(config.api_base_url, timeout=config.timeout_seconds)
        self.client = client or Client(
            config.account_sid, config.auth_token.get_secret_value(), http_client=self.http_client
        )
        sender = (
            f"messaging service {config.messaging_service_sid}"
            if config.messaging_service_sid
            else f"from {config.from_number}"
        )
        via = "" if config.api_base_url == TWILIO_API_BASE_URL else f" via {config.api_base_url}"
        self.name = f"Twilio SMS ({sender}{via})"

    def send(self, message: OutgoingSms) -> SendResult:
        try:
            check_body_length(message.body)
        except BodyTooLong as exc:
            raise SendFailure(BODY_TOO_LONG_CODE, str(exc), permanent=True) from None
        params: dict[str, Any] = {"to": message.to, "body": message.body}
        if self.config.messaging_service_sid:
            params["messaging_service_sid"] = self.config.messaging_service_sid
        if self.config.from_number:
            params["from_"] = self.config.from_number
        if self.config.status_callback:
            params["status_callback"] = self.config.status_callback
        try:
            created = self.client.messages.create(**params)
        except TwilioRestException as exc:
            raise _rest_failure(exc) from None
        except requests.exceptions.ConnectTimeout as exc:
            raise SendFailure("connect-timeout", _reason(exc), permanent=False) from None
        except requests.exceptions.ConnectionError as exc:
            if _never_sent(exc):
                raise SendFailure("connection-error", _reason(exc), permanent=False) from None
            raise OutcomeUnknown(
                UNKNOWN_OUTCOME_CODE, f"connection lost after sending: {_reason(exc)}"
            ) from None
        except requests.exceptions.Timeout as exc:
            raise OutcomeUnknown(
                UNKNOWN_OUTCOME_CODE,
                f"no answer within {self.config.timeout_seconds:g} s after sending: {_reason(exc)}",
            ) from None
        except Exception as exc:  # an unreadable answer: the request went out, what came of it is unknown
            raise OutcomeUnknown(UNKNOWN_OUTCOME_CODE, f"{type(exc).__name__}: {_reason(exc)}") from None
        log.info(
            "SMS %s to %s accepted by Twilio as %s",
            message.notification_id,
            mask_phone(message.to),
            created.sid,
        )
        return SendResult(
            provider_id=str(created.sid),
            status=str(created.status or "queued"),
            segments=_segments(created.num_segments, message.body),
        )

    def lookup_sent(
        self, message: OutgoingSms, since: datetime, *, exclude: frozenset[str] = frozenset()
    ) -> SendResult | None:
        """Find the message Twilio took for this attempt: same recipient, sender and body, created since.

        The list is read by recipient, newest first, without a ``DateSent`` filter: a message Twilio has
        accepted but not yet sent (still queued behind a throughput limit) has no ``DateSent`` and would
        be missed, then sent twice. Reading stops at the first message sent before ``since``.
        """
        earliest = since.astimezone(UTC) - self.config.clock_skew
        matches: list[Any] = []
        read, reached_the_start = 0, False
        try:
            for listed in self._newest_first(message.to):
                read += 1
                if listed.date_sent is not None and listed.date_sent < earliest:
                    reached_the_start = True
                    break
                if listed.sid not in exclude and self._is_this_message(listed, message, earliest):
                    matches.append(listed)
        except Exception as exc:  # the list request URL carries the number: keep it out of the log
            raise OutcomeUnknown("lookup-failed", f"{type(exc).__name__}: {_reason(exc)}") from None
        if not matches:
            if not reached_the_start and read >= LOOKUP_LIMIT:
                raise OutcomeUnknown(
                    "lookup-incomplete", f"more than {LOOKUP_LIMIT} messages to look through"
                )
            return None
        oldest = matches[-1]  # newest first: the earliest match belongs to the earliest attempt
        return SendResult(
            provider_id=str(oldest.sid),
            status=str(oldest.status or "sent"),
            segments=_segments(oldest.num_segments, message.body),
        )

    def _is_this_message(self, listed: Any, message: OutgoingSms, earliest: datetime) -> bool:
        if listed.body != message.body or not str(listed.direction or "outbound-api").startswith("outbound"):
            return False
        if self.config.messaging_service_sid:
            same_sender = listed.messaging_service_sid == self.config.messaging_service_sid
        else:
            same_sender = listed.from_ == self.config.from_number
        return same_sender and (listed.date_created is None or listed.date_created >= earliest)

    def _newest_first(self, to: str) -> Iterator[Any]:
        return iter(self.client.messages.stream(to=to, limit=LOOKUP_LIMIT, page_size=100))


def _rest_failure(exc: TwilioRestException) -> SendFailure:
    code = str(exc.code) if exc.code is not None else f"http-{exc.status}"
    reason = mask_phones_in(str(exc.msg or ""))[:400] or f"HTTP {exc.status}"
    if exc.status in (401, 403) or exc.code in ACCOUNT_FAULT_CODES:
        return SendFailure(code, reason, permanent=False, account=True)
    temporary = exc.status == 429 or exc.code == 20429 or exc.status >= 500
    return SendFailure(code, reason, permanent=not temporary)


def _never_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """Tell a connection that was never made (refused, no route, name not found, TLS) from one lost later."""
    if isinstance(exc, requests.exceptions.SSLError | requests.exceptions.ProxyError):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _reason(exc: BaseException) -> str:
    """The error text without URL queries (a list request is filtered by the recipient's number) or numbers."""
    return mask_phones_in(_QUERY.sub("?…", str(exc)))[:400] or type(exc).__name__


def _segments(reported: object, body: str) -> int:
    # Through a messaging service Twilio reports 0 segments until it has picked a sender.
    try:
        count = int(str(reported))
    except ValueError:
        count = 0
    return count if count > 0 else count_segments(body).segments
