"""Pure rules: durations and policy files, tracking numbers, routing, phone and credit-code checks."""

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from models import Action, Status
from tests.conftest import shared_data
from tests.support.factories import credit_code_with_check
from workflows.access import looks_like_access_key, new_access_key
from workflows.errors import InvalidInput
from workflows.lifecycle import MOVES, allowed_actions
from workflows.policy import PolicyError, load_policy, parse_duration
from workflows.routing import load_routing
from workflows.tracking import canonical_tracking_no, format_tracking_no, local_day, luhn_digit
from workflows.validation import is_mobile, normalise_credit_code, normalise_phone


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90),
        ("90s", 90),
        ("15m", 900),
        ("12h", 43200),
        ("15d", 1296000),
        ("1d12h", 129600),
        ("1.5h", 5400),
    ],
)
def test_durations_read_in_seconds_minutes_hours_days(text: object, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12 hours", "'12 hours' is not a duration: write e.g. 30s, 15m, 12h, 15d or 1d12h"),
        ("0s", "a duration must be longer than zero"),
        (1e400, "'inf' is not a finite duration: write e.g. 30s, 15m, 12h, 15d or 1d12h"),
        ("9999999d", "'9999999d' is longer than 366 days, the longest target a policy may set"),
    ],
)
def test_bad_durations_say_what_to_write(text: object, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_duration(text)
    assert str(raised.value) == message


def test_policy_file_errors_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        '[calendar]\ntimezone = "Mars/Olympus"\n[targets.simple]\nresponse = "12h"\n', encoding="utf-8"
    )
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    assert str(raised.value) == (
        f"{path}: calendar.timezone: unknown time zone 'Mars/Olympus': use an IANA name such as "
        "Asia/Shanghai; targets.simple.resolution: Field required"
    )


def test_shipped_policy_is_the_promise() -> None:
    policy = load_policy()
    assert policy.targets["simple"].response == timedelta(hours=12)
    assert policy.targets["simple"].resolution == timedelta(hours=48)
    assert policy.targets["complex"].update == timedelta(hours=72)
    assert policy.targets["complex"].resolution == timedelta(days=15)


def test_tracking_numbers_carry_a_check_digit() -> None:
    assert format_tracking_no("261203", 42) == "261203-0042-6"
    assert luhn_digit("2612030042") == 6
    assert canonical_tracking_no("261203 0042 6") == "261203-0042-6"
    assert canonical_tracking_no("261203-0042-5") is None  # one digit misheard
    busy_day = format_tracking_no("261203", 12345)  # past 9,999 in a day the sequence grows a digit
    assert busy_day == f"261203-12345-{luhn_digit('26120312345')}"
    assert canonical_tracking_no(busy_day.replace("-", "")) == busy_day
    assert canonical_tracking_no("2612030042") is None  # a digit short
    assert (
        canonical_tracking_no("２６１２０３－００４２－６") == "261203-0042-6"
    )  # typed on a Chinese keyboard
    assert canonical_tracking_no("٢٦١٢٠٣٠٠٤٢٦") is None  # other scripts' digits are not ours
    assert canonical_tracking_no("261203-0042-6" + "0" * 20) is None  # far too long to be one


def test_routing_covers_every_first_level_category_of_the_taxonomy() -> None:
    taxonomy = shared_data("cn_teddycup2020", "fj1_taxonomy_3level.csv")
    with taxonomy.open(encoding="utf-8") as handle:
        first_level = {row["一级分类"] for row in csv.DictReader(handle)}
    routing = load_routing()
    assert len(first_level) == 15
    assert first_level <= set(routing.categories)
    enforcement = {"综合执法", "城市管理", "市场监管", "卫生健康", "教育", "交通运输", "住建", "农业"}
    assert enforcement <= set(routing.categories)


def test_phone_numbers_agree_with_libphonenumber_vectors() -> None:
    vectors = shared_data("phone_cn", "cn_phone_number_cases_phonenumbers-9.0.43.csv")
    with vectors.open(encoding="utf-8") as handle:
        cases = list(csv.DictReader(handle))
    assert len(cases) == 25
    for case in cases:
        if case["is_valid"] == "True":
            assert normalise_phone(case["input"]) == case["e164"], case["note"]
            assert is_mobile(case["e164"]) == (case["type"] == "MOBILE"), case["note"]
        else:
            with pytest.raises(InvalidInput):
                normalise_phone(case["input"])


def test_credit_code_check_character() -> None:
    code = credit_code_with_check("91510100MA6CXXXX0")
    assert normalise_credit_code(code.lower()) == code
    with pytest.raises(InvalidInput, match="check character"):
        normalise_credit_code(code[:-1] + ("0" if code[-1] != "0" else "1"))


def test_every_status_but_the_final_ones_can_move_on() -> None:
    assert allowed_actions(Status.WITHDRAWN) == ["comment"]
    assert allowed_actions(Status.PAUSED) == ["resume", "withdraw", "reclassify", "set-due", "comment"]
    assert (Action.RESUME, Status.PAUSED) in MOVES


def test_tracking_day_is_the_local_date_not_the_utc_one() -> None:
    late_evening_utc = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)  # 07:30 on 12-04 in Asia/Shanghai
    assert local_day(late_evening_utc, ZoneInfo("Asia/Shanghai")) == "261204"
    assert local_day(late_evening_utc, ZoneInfo("UTC")) == "261203"


def test_access_keys_are_twelve_unambiguous_characters_and_never_repeat() -> None:
    keys = {new_access_key() for _ in range(5000)}
    assert len(keys) == 5000
    assert all(len(key) == 12 and set(key) <= set("23456789abcdefghjkmnpqrstuvwxyz") for key in keys)
    assert looks_like_access_key("K7M2X9Q4ABCD")  # copied by hand in capitals
    assert not looks_like_access_key("k7m2x9q4abc0")  # 0 is never used (read as o)
    assert not looks_like_access_key("k7m2x9q4abc")  # a character short
