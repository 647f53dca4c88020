"""Column types that keep datetimes aware and in UTC on every database."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC and read them back aware.

    SQLite keeps no offset: without this an Asia/Shanghai time would come back 8 hours off.
    Naive values are refused, so a mix of naive and aware never reaches the database.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, one step from aware datetime to the stored text (a batch binds ~16 per row).

        The text is exactly SQLAlchemy's SQLite format (``2026-12-03 08:30:00.000000``, always six
        fractional digits), so stored values and SQL comparisons stay the same as with the default
        two-step path (``process_bind_param`` and then the dialect's own formatter).
        """
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is not UTC:
                if value.tzinfo is None or value.utcoffset() is None:
                    raise ValueError(f"naive datetime {value!r}: pass an aware datetime")
                value = value.astimezone(UTC)
            # "2026-12-03 08:30:00.000000+00:00" without its offset: 26 characters for any year.
            return value.isoformat(" ", "microseconds")[:26]

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_type(enum_cls: type[StrEnum], length: int = 16) -> SAEnum:
    """Store an enum by its value in a VARCHAR: readable in SQL, no native type to migrate."""
    return SAEnum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )
