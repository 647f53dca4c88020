"""The Notifier protocol: the one thing dispatch needs from an SMS provider."""

from dataclasses import dataclass
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
    """The provider refused or could not take the message; ``permanent`` failures are never retried."""

    def __init__(self, code: str, message: str, *, permanent: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.permanent = permanent


class Notifier(Protocol):
    name: str

    def send(self, message: OutgoingSms) -> SendResult: ...
