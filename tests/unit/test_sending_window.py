"""The sending window's rules (quiet hours, daily cap) and how SMS replies are read, without a database."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from app.settings import Settings
from notifiers.sending_window import SendingWindow, parse_quiet_hours
from workflows.feedback import Reply, ReplyKind, classify_reply

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def test_quiet_hours_are_read_from_the_environment_and_empty_turns_them_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (Settings().sms_quiet_hours, Settings().sms_daily_cap) == ("22:00-08:00", 10)
    monkeypatch.setenv("COMPLAINTFLOW_SMS_QUIET_HOURS", " ")
    monkeypatch.setenv("COMPLAINTFLOW_SMS_DAILY_CAP", "0")

    settings = Settings()

    assert (
        settings.sms_quiet_hours,
        parse_quiet_hours(settings.sms_quiet_hours),
        settings.sms_daily_cap,
    ) == (
        "",
        None,
        0,
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("22-08", "quiet hours look like 22:00-08:00 (start-end, local time), not '22-08'"),
        ("24:00-08:00", "'24:00-08:00' is not a span of clock times: hours 00-23, minutes 00-59"),
        (
            "08:00-08:00",
            "'08:00-08:00' starts and ends at the same time; leave it empty to turn quiet hours off",
        ),
    ],
)
def test_malformed_quiet_hours_are_refused_with_what_to_write(value: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(sms_quiet_hours=value)

    assert caught.value.errors()[0]["msg"] == f"Value error, {message}"


def test_quiet_hours_across_midnight_end_at_the_next_08_00() -> None:
    window = SendingWindow(zone=SHANGHAI, quiet_hours=(time(22), time(8)))

    assert [window.quiet_until(at) for at in (local(3, 21, 59), local(3, 22), local(4, 3), local(4, 8))] == [
        None,
        local(4, 8),
        local(4, 8),
        None,
    ]
    assert window.hold_until("progress", local(3, 23).astimezone(UTC), 0) == (local(4, 8), "quiet_hours")
    assert window.hold_until("received", local(3, 23), 0) is None
    assert window.hold_until("resolved", local(3, 23), 99) is None


def test_quiet_hours_within_one_day_end_that_day() -> None:
    window = SendingWindow(zone=SHANGHAI, quiet_hours=(time(12), time(14)))

    assert [window.quiet_until(at) for at in (local(3, 11, 59), local(3, 12), local(3, 14))] == [
        None,
        local(3, 14),
        None,
    ]


def test_daily_cap_counts_the_local_day() -> None:
    window = SendingWindow(zone=SHANGHAI, daily_cap=10)

    assert window.day_start(datetime(2026, 12, 3, 16, 30, tzinfo=UTC)) == local(4, 0)
    assert window.hold_until("progress", local(3, 9), 9) is None
    assert window.hold_until("progress", local(3, 9), 10) == (local(4, 0), "daily_cap")


@pytest.mark.parametrize(
    ("body", "reply"),
    [
        ("1", Reply(ReplyKind.RATING, 1)),
        ("３", Reply(ReplyKind.RATING, 3)),
        (" 满意 ", Reply(ReplyKind.RATING, 1)),
        ("基本满意", Reply(ReplyKind.RATING, 2)),
        ("不满意！", Reply(ReplyKind.RATING, 3)),
        ("退订", Reply(ReplyKind.OPT_OUT)),
        (" td", Reply(ReplyKind.OPT_OUT)),
        ("Stop", Reply(ReplyKind.OPT_OUT)),
        ("ＳＴＯＰ", Reply(ReplyKind.OPT_OUT)),
        ("订阅", Reply(ReplyKind.OPT_IN)),
        ("start", Reply(ReplyKind.OPT_IN)),
        ("4", Reply(ReplyKind.MESSAGE)),
        ("12", Reply(ReplyKind.MESSAGE)),
        ("不太满意", Reply(ReplyKind.MESSAGE)),
        ("stop it", Reply(ReplyKind.MESSAGE)),
    ],
)
def test_replies_are_read_as_rating_opt_out_opt_in_or_message(body: str, reply: Reply) -> None:
    assert classify_reply(body) == reply
