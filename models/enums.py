"""Closed vocabularies shared by storage, domain and API (see the glossary in DESIGN.md)."""

from enum import StrEnum


class Channel(StrEnum):
    HOTLINE = "hotline"
    APP = "app"
    QR = "qr"


class Complexity(StrEnum):
    SIMPLE = "simple"
    COMPLEX = "complex"


class Status(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    ASSIGNED = "assigned"
    RESPONDED = "responded"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    RESOLVED = "resolved"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    ACCEPT = "accept"
    ASSIGN = "assign"
    RESPOND = "respond"
    PROGRESS = "progress"
    PAUSE = "pause"
    RESUME = "resume"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    WITHDRAW = "withdraw"
    RECLASSIFY = "reclassify"
    SET_DUE = "set-due"
    COMMENT = "comment"


class ClockKind(StrEnum):
    RESPONSE = "response"
    RESOLUTION = "resolution"
    UPDATE = "update"


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    STOPPED = "stopped"


class LevelName(StrEnum):
    WARNING = "warning"
    BREACH = "breach"
    ESCALATION = "escalation"


class NotificationChannel(StrEnum):
    SMS = "sms"
    INBOX = "inbox"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    HELD = "held"
