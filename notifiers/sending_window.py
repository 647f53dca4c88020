"""When an SMS may go out: quiet hours (no progress SMS at night) and a per-number daily cap.

Both are counted in local time (Asia/Shanghai by default). The SMS an enterprise must have at once — the
receipt with its tracking number and deadlines, and the resolution asking for a rating — go out regardless.
"""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
URGENT_TEMPLATES = frozenset({"received", "resolved"})
"""Sent at once: never held by quiet hours or the daily cap (they still count toward the day's total)."""

_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_quiet_hours(value: str | None) -> tuple[time, time] | None:
    """Read ``"22:00-08:00"`` as (start, end) local times; empty means no quiet hours."""
    if value is None or not value.strip():
        return None
    match = _SPAN.match(value)
    if match is None:
        raise ValueError(f"quiet hours look like 22:00-08:00 (start-end, local time), not {value!r}")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"{value!r} is not a span of clock times: hours 00-23, minutes 00-59")
    start, end = time(h1, m1), time(h2, m2)
    if start == end:
        raise ValueError(
            f"{value!r} starts and ends at the same time; leave it empty to turn quiet hours off"
        )
    return start, end


@dataclass(frozen=True)
class SendingWindow:
    """Quiet hours and a daily cap per number; the default holds nothing."""

    zone: ZoneInfo = DEFAULT_ZONE
    quiet_hours: tuple[time, time] | None = None
    daily_cap: int = 0
    """SMS per number per local day; ``0`` is no cap."""

    def day_start(self, now: datetime) -> datetime:
        """Local midnight that began the day ``now`` is in (aware, in the local zone)."""
        local = now.astimezone(self.zone)
        return datetime.combine(local.date(), time(0), tzinfo=self.zone)

    def quiet_until(self, at: datetime) -> datetime | None:
        """The end of the quiet hours ``at`` falls in, or None outside them."""
        if self.quiet_hours is None:
            return None
        start, end = self.quiet_hours
        local = at.astimezone(self.zone)
        clock = local.time().replace(tzinfo=None)
        today = local.date()
        if start < end:  # e.g. 12:00-14:00
            inside = start <= clock < end
            end_day = today
        else:  # across midnight, e.g. 22:00-08:00
            inside = clock >= start or clock < end
            end_day = today + timedelta(days=1) if clock >= start else today
        if not inside:
            return None
        return datetime.combine(end_day, end, tzinfo=self.zone)

    def hold_until(self, template: str, at: datetime, sent_today: int) -> tuple[datetime, str] | None:
        """When an SMS due ``at`` may go instead, and why (``quiet_hours`` / ``daily_cap``); None: now."""
        if template in URGENT_TEMPLATES:
            return None
        if self.daily_cap and sent_today >= self.daily_cap:
            next_day = datetime.combine(
                self.day_start(at).date() + timedelta(days=1), time(0), tzinfo=self.zone
            )
            return self.quiet_until(next_day) or next_day, "daily_cap"
        until = self.quiet_until(at)
        if until is not None:
            return until, "quiet_hours"
        return None
