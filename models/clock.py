"""SLA clocks and the levels they have fired. The database is the only record of a deadline."""

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.enums import ClockKind, ClockState, LevelName
from models.types import UTCDateTime, enum_type


class Clock(SQLModel, table=True):
    """One target of one complaint in one cycle (reopen and progress start new cycles).

    ``due_at = start_at + target_seconds + paused_seconds``; ``next_level_at`` is the instant of the
    earliest level not yet fired, or NULL when nothing can fire (paused, met, stopped, all fired).
    """

    __tablename__ = "sla_clock"
    __table_args__ = (
        UniqueConstraint("complaint_id", "kind", "cycle", name="uq_clock_cycle"),
        Index("ix_clock_next_level_at", "next_level_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    kind: ClockKind = Field(sa_type=enum_type(ClockKind))
    cycle: int = 1
    start_at: datetime = Field(sa_type=UTCDateTime)
    target_seconds: float
    paused_seconds: float = 0.0
    paused_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    state: ClockState = Field(sa_type=enum_type(ClockState))
    met_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    margin_seconds: float | None = None
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    levels_fired: int = 0
    next_level_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ClockLevel(SQLModel, table=True):
    """A level that fired: its scheduled instant and the instant it was recorded. Unique per clock."""

    __tablename__ = "sla_clock_level"
    __table_args__ = (UniqueConstraint("clock_id", "level", name="uq_clock_level_once"),)

    id: int | None = Field(default=None, primary_key=True)
    clock_id: int = Field(foreign_key="sla_clock.id", index=True)
    level: LevelName = Field(sa_type=enum_type(LevelName))
    due_at: datetime = Field(sa_type=UTCDateTime)
    fired_at: datetime = Field(sa_type=UTCDateTime)
