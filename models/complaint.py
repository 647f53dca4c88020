"""Complaints, their audit trail, and the counter behind readable tracking numbers."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StrictInt,
)
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.enums import Channel, ClockKind, Complexity, Status
from models.types import UTCDateTime, enum_type

DESCRIPTION_MAX = 4000
# Control characters other than tab and line breaks: PostgreSQL refuses NUL, and none belong in a complaint.
# Also the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), which can make a record
# read differently on screen from what it says.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
EARLIEST_RECEIVED_AT = datetime(2000, 1, 1, tzinfo=UTC)


# Invisible characters a pasted text brings along (zero-width space, word joiner, byte-order mark): dropped,
# so two names that look the same are the same.
_INVISIBLE = re.compile(r"[\u200b\u2060\ufeff]")


def _drop_invisible(value: Any) -> Any:
    """Before the length checks, so a text of invisible characters alone counts as empty."""
    return _INVISIBLE.sub("", value) if isinstance(value, str) else value


def _no_control_characters(value: str | None) -> str | None:
    if value is not None and _CONTROL.search(value):
        raise ValueError("contains a control character (such as NUL); remove it")
    return value


def _plausible_time(value: datetime | None) -> datetime | None:
    if value is not None and value < EARLIEST_RECEIVED_AT:
        raise ValueError(f"{value.isoformat()} is before {EARLIEST_RECEIVED_AT:%Y-%m-%d}; check the date")
    return value


Text = Annotated[str, BeforeValidator(_drop_invisible), AfterValidator(_no_control_characters)]
OptionalText = Annotated[str | None, BeforeValidator(_drop_invisible), AfterValidator(_no_control_characters)]
Instant = Annotated[AwareDatetime | None, AfterValidator(_plausible_time)]


class ComplaintCreate(BaseModel):
    """What a channel submits. Shapes only; the domain normalises and checks meaning."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Channel
    channel_ref: Text = PydanticField(min_length=1, max_length=64)
    received_at: Instant = None
    enterprise_name: Text = PydanticField(min_length=1, max_length=200)
    credit_code: OptionalText = PydanticField(default=None, max_length=32)
    contact_name: Text = PydanticField(min_length=1, max_length=100)
    contact_phone: OptionalText = PydanticField(default=None, max_length=40)
    title: Text = PydanticField(min_length=1, max_length=200)
    description: Text = PydanticField(min_length=1, max_length=DESCRIPTION_MAX)
    category: OptionalText = PydanticField(default=None, max_length=100)
    inspection_ref: OptionalText = PydanticField(default=None, max_length=64)


class Complaint(SQLModel, table=True):
    __tablename__ = "complaint"
    __table_args__ = (
        UniqueConstraint("channel", "channel_ref", name="uq_complaint_channel_ref"),
        Index("ix_complaint_enterprise_open", "enterprise_key", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tracking_no: str = Field(unique=True, max_length=32)
    # The secret half of the enterprise's progress link (workflows/access.py); never on a public page.
    access_key: str = Field(unique=True, index=True, max_length=16)
    channel: Channel = Field(sa_type=enum_type(Channel))
    channel_ref: str = Field(max_length=64)
    received_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    enterprise_name: str = Field(max_length=200)
    enterprise_key: str = Field(max_length=200)
    credit_code: str | None = Field(default=None, max_length=18)
    contact_name: str = Field(max_length=100)
    contact_phone: str | None = Field(default=None, max_length=20, index=True)
    title: str = Field(max_length=200)
    description: str = Field(max_length=DESCRIPTION_MAX)
    category: str | None = Field(default=None, max_length=100)
    inspection_ref: str | None = Field(default=None, max_length=64)
    complexity: Complexity = Field(sa_type=enum_type(Complexity), index=True)
    triage_reasons: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    department: str | None = Field(default=None, max_length=32, index=True)
    suggested_department: str | None = Field(default=None, max_length=32)
    task_force: list[str] = Field(default_factory=list, sa_type=JSON)
    status: Status = Field(sa_type=enum_type(Status), index=True)
    paused_from: Status | None = Field(default=None, sa_type=enum_type(Status))
    resolution_cycle: int = 1
    version: int = 1
    last_event_at: datetime = Field(sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rating: int | None = None


class ComplaintEvent(SQLModel, table=True):
    """One line of the audit trail (全程留痕): who did what, when, and what it changed."""

    __tablename__ = "complaint_event"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=32)
    from_status: Status | None = Field(default=None, sa_type=enum_type(Status))
    to_status: Status | None = Field(default=None, sa_type=enum_type(Status))
    note: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    public: bool = False
    note_public: bool = False
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class TrackingCounter(SQLModel, table=True):
    """Last sequence number issued per local day, so tracking numbers stay short."""

    __tablename__ = "tracking_counter"

    day: str = Field(primary_key=True, max_length=8)
    last_seq: int = 0


class ActionRequest(BaseModel):
    """The body of a lifecycle action; which of the optional fields apply depends on the action."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    actor: Text = PydanticField(min_length=1, max_length=100)
    note: OptionalText = PydanticField(default=None, max_length=DESCRIPTION_MAX)
    public: StrictBool = False
    at: Instant = None
    expected_version: StrictInt | None = PydanticField(default=None, ge=1)
    department: OptionalText = PydanticField(default=None, max_length=32)
    members: list[str] = PydanticField(default_factory=list, max_length=20)
    complexity: Complexity | None = None
    reason: OptionalText = PydanticField(default=None, max_length=500)
    clock: ClockKind | None = None
    due_at: Instant = None


class EnterpriseMessage(BaseModel):
    """A message the enterprise writes on its progress page (the key link of its SMS)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: Text = PydanticField(min_length=1, max_length=DESCRIPTION_MAX)


class EnterpriseRating(BaseModel):
    """满意度: 1 satisfied (满意), 2 mostly satisfied (基本满意), 3 dissatisfied (不满意)."""

    model_config = ConfigDict(extra="forbid")

    rating: StrictInt = PydanticField(ge=1, le=3)
