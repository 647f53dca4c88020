"""The Notifier protocol: the one thing dispatch needs from an SMS provider."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class OutgoingSms:
    notification_id: int
    to: str
    body: str


@dataclass(frozen=True)
class SendResult:
    provider_id: str
    status: str = "sent"
    segments: int | None = None


class SendFailure(Exception):
    """The provider refused or could not take the message; ``permanent`` failures are never retried.

    ``account`` says the fault is ours, not the message's: the provider refused our credentials or our
    account (wrong auth token, suspended account). Every message would fail the same way, so dispatch
    pauses and keeps them all pending for when an operator has fixed the settings.
    """

    def __init__(self, code: str, message: str, *, permanent: bool, account: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.permanent = permanent and not account
        self.account = account


class OutcomeUnknown(Exception):
    """The request may have reached the provider but no answer came back (a read time-out, a dropped reply).

    Sending again could deliver and bill the message twice, so dispatch leaves the row ``sending`` and
    reconciliation asks the provider what it has (``Notifier.lookup_sent``).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Notifier(Protocol):
    name: str

    def send(self, message: OutgoingSms) -> SendResult:
        """Hand ``message`` to the provider; raise ``SendFailure`` or ``OutcomeUnknown`` when it did not."""
        ...

    def lookup_sent(
        self, message: OutgoingSms, since: datetime, *, exclude: frozenset[str] = frozenset()
    ) -> SendResult | None:
        """Find ``message`` among what the provider took on or after ``since``, or None if it has none.

        ``exclude`` lists provider ids already recorded for other rows, so two identical bodies to one
        recipient are never matched to the same provider message.
        """
        ...
