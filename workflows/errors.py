"""Typed domain errors. The API maps them to HTTP (422 / 404 / 409); the CLI prints their message."""

from collections.abc import Sequence


class DomainError(Exception):
    """Base of every error the domain raises on purpose; ``message`` says what to fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """A field has a value the domain cannot accept."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class NotFound(DomainError):
    pass


class IllegalTransition(DomainError):
    def __init__(self, action: str, status: str, allowed: Sequence[str]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none (the complaint is finished)"
        super().__init__(
            f"action '{action}' is not allowed when status is '{status}'; allowed: {allowed_text}"
        )
        self.action = action
        self.status = status
        self.allowed = list(allowed)


class StaleVersion(DomainError):
    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(
            f"complaint changed since you loaded it: expected_version {expected}, current version {actual}; "
            "reload and retry"
        )
        self.expected = expected
        self.actual = actual


class NotNow(DomainError):
    """The request is well formed, but the complaint's state does not take it (a rating before resolution)."""


class TooMany(DomainError):
    """Too many requests of one kind in a while; ``retry_after`` says when the next one is taken."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
