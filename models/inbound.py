"""What enterprises send back by SMS, and the numbers that asked for no more SMS (退订)."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


class InboundSms(SQLModel, table=True):
    """One SMS received from an enterprise, kept once per provider message id (Twilio retries webhooks)."""

    __tablename__ = "inbound_sms"

    id: int | None = Field(default=None, primary_key=True)
    message_sid: str = Field(max_length=64, unique=True)
    from_number: str = Field(max_length=32, index=True)
    """The sender in E.164."""
    body: str
    received_at: datetime = Field(sa_type=UTCDateTime)
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    outcome: str = Field(max_length=32)
    """What the reply did: rated, opted_out, opted_in, message or no_complaint."""


class SmsOptOut(SQLModel, table=True):
    """A number that replied 退订 / TD / STOP. Dispatch sends it nothing until it replies 订阅 / START."""

    __tablename__ = "sms_opt_out"

    phone: str = Field(primary_key=True, max_length=32)
    opted_out_at: datetime = Field(sa_type=UTCDateTime)
    opted_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """Set when the number resumed; the row stays as the record of both replies."""

    @property
    def active(self) -> bool:
        return self.opted_in_at is None
