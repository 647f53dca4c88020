"""Tracking numbers people can read out on the phone: local date, a daily sequence, a check digit.

``261203-0042-6``: filed 2026-12-03 (Asia/Shanghai), the 42nd that day, Luhn check digit 6, so a digit
misheard on the phone is caught before a lookup.
"""

import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from models import TrackingCounter

# yymmdd + a sequence of 4 digits (5 or more past 9,999 in a day) + the check digit.
MIN_DIGITS, MAX_DIGITS = 11, 14


def luhn_digit(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def local_day(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%y%m%d")


def reserve_tracking_nos(session: Session, counts: Mapping[str, int]) -> dict[str, list[str]]:
    """Take ``counts[day]`` consecutive numbers of each day (yymmdd), all in one atomic statement."""
    if not counts:
        return {}
    bind = session.get_bind()
    dialect_insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    table = TrackingCounter.__table__  # type: ignore[attr-defined]
    # One cached statement run over the list (SQLAlchemy batches it into multi-row upserts), rather
    # than a VALUES list whose length changes with the number of days and is compiled every time.
    inserted = dialect_insert(table)
    statement = inserted.on_conflict_do_update(
        index_elements=["day"], set_={"last_seq": table.c.last_seq + inserted.excluded.last_seq}
    ).returning(table.c.day, table.c.last_seq)
    rows = [{"day": day, "last_seq": n} for day, n in sorted(counts.items())]
    result = session.execute(statement, rows)
    numbers: dict[str, list[str]] = {}
    for day, last in result:
        count = counts[day]
        numbers[day] = [format_tracking_no(day, seq) for seq in range(last - count + 1, last + 1)]
    return numbers


def format_tracking_no(day: str, seq: int) -> str:
    return f"{day}-{seq:04d}-{luhn_digit(f'{day}{seq:04d}')}"


def canonical_tracking_no(text: str) -> str | None:
    """Accept what a caller reads out (spaces, no dashes, full-width digits from a Chinese keyboard) and
    return the stored form, or None if the check fails."""
    digits = re.sub(r"[^0-9]", "", unicodedata.normalize("NFKC", text))
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return None
    body, check = digits[:-1], digits[-1]
    if luhn_digit(body) != int(check):
        return None
    return f"{body[:6]}-{body[6:]}-{check}"
