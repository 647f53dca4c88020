"""What the API shows: separate from what it accepts and what it stores."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from models.enums import Channel, ClockKind, ClockState, Complexity, LevelName, Status


class LevelPublic(BaseModel):
    level: LevelName
    due_at: datetime
    fired_at: datetime | None


class ClockPublic(BaseModel):
    kind: ClockKind
    cycle: int
    state: ClockState
    start_at: datetime
    due_at: datetime
    met_at: datetime | None
    margin_seconds: float | None
    paused_seconds: float
    breached: bool
    levels: list[LevelPublic]


class EventPublic(BaseModel):
    id: int
    at: datetime
    recorded_at: datetime
    actor: str
    action: str
    from_status: Status | None
    to_status: Status | None
    note: str | None
    public: bool
    note_public: bool
    data: dict[str, Any]


class MessagePublic(BaseModel):
    id: int
    channel: str
    recipient: str
    template: str
    body: str
    status: str
    created_at: datetime
    sent_at: datetime | None
    error_code: str | None


class ComplaintPublic(BaseModel):
    """A complaint as staff see it (the staff API; never a public page)."""

    id: int
    tracking_no: str
    # The enterprise's own progress link, as its SMS carry it (to read out or resend).
    progress_url: str
    version: int
    status: Status
    complexity: Complexity
    triage_reasons: list[dict[str, Any]]
    channel: Channel
    channel_ref: str
    received_at: datetime
    enterprise_name: str
    credit_code: str | None
    contact_name: str
    contact_phone: str | None
    title: str
    description: str
    category: str | None
    inspection_ref: str | None
    department: str | None
    suggested_department: str | None
    task_force: list[str]
    resolution_cycle: int
    rating: int | None
    clocks: list[ClockPublic]
    events: list[EventPublic] | None = None
    messages: list[MessagePublic] | None = None


class ComplaintSummary(BaseModel):
    id: int
    tracking_no: str
    version: int
    status: Status
    complexity: Complexity
    channel: Channel
    department: str | None
    title: str
    received_at: datetime
    next_due_at: datetime | None
    next_due_kind: ClockKind | None
    overdue: bool


class ComplaintPage(BaseModel):
    total: int
    items: list[ComplaintSummary]


class TrackEvent(BaseModel):
    at: datetime
    action: str
    label: str
    status: Status | None
    note: str | None


class TrackClock(BaseModel):
    kind: ClockKind
    label: str
    due_at: datetime
    state: ClockState
    met_at: datetime | None


class TrackView(BaseModel):
    """The enterprise's public progress page: no internal notes, phone masked.

    ``full`` is False when opened by tracking number alone: then no title, no notes and no messages.
    """

    tracking_no: str
    status: Status
    status_label: str
    complexity: Complexity
    department: str | None
    full: bool
    title: str | None
    received_at: datetime
    contact_phone: str
    clocks: list[TrackClock]
    events: list[TrackEvent]
    messages: list[MessagePublic]
    # With the key only: the enterprise's rating, and what it may do on the page now.
    rating: int | None = None
    rating_label: str | None = None
    can_rate: bool = False
    can_message: bool = False
