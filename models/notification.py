"""The transactional outbox: SMS and in-platform messages, written with the event that causes them."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.enums import NotificationChannel, NotificationStatus
from models.types import UTCDateTime, enum_type


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_dispatch", "status", "next_attempt_at"),
        Index("ix_notification_provider_id", "provider_id"),
        # The daily cap counts each recipient's sends since local midnight.
        Index("ix_notification_recipient_started", "recipient", "attempt_started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="complaint_event.id")
    channel: NotificationChannel = Field(sa_type=enum_type(NotificationChannel))
    recipient: str = Field(max_length=64)
    template: str = Field(max_length=32)
    body: str
    public: bool = False
    status: NotificationStatus = Field(sa_type=enum_type(NotificationStatus))
    attempts: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_id: str | None = Field(default=None, max_length=64)
    error_code: str | None = Field(default=None, max_length=32)
    error_message: str | None = Field(default=None, max_length=500)
    segments: int | None = None
    attempt_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """When the latest send began: reconciliation looks for the message at the provider from then on."""
    provider_status: str | None = Field(default=None, max_length=32)
    """The provider's own latest status (queued, sent, delivered ...), moved forward only."""


class HeldReceipt(SQLModel, table=True):
    """A delivery receipt for a provider id no row holds yet, kept until dispatch records that id.

    Twilio may report ``sent`` before the answer to the create call is stored, and reports on a message whose
    create call timed out arrive before reconciliation finds it; neither report is lost.
    """

    __tablename__ = "held_receipt"

    id: int | None = Field(default=None, primary_key=True)
    provider_id: str = Field(max_length=64, index=True)
    provider_status: str = Field(max_length=32)
    error_code: str | None = Field(default=None, max_length=32)
    error_message: str | None = Field(default=None, max_length=500)
    received_at: datetime = Field(sa_type=UTCDateTime)
