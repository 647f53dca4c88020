"""The segment counter agrees with Twilio's calculator and with hand-worked boundaries."""

import json
from pathlib import Path
from typing import Any

import pytest

from notifiers.segments import (
    MAX_BODY_CHARS,
    BodyTooLong,
    SegmentCount,
    check_body_length,
    count_segments,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
VECTOR_FILE = SHARED_DATA / "sms" / "sms_segment_vectors_twilio.json"


def _vector_params() -> list[Any]:
    if not VECTOR_FILE.is_file():
        reason = f"Twilio segment vectors not found at {VECTOR_FILE} (the shared/ folder beside the repo)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="vectors-absent")]
    vectors = json.loads(VECTOR_FILE.read_text(encoding="utf-8"))["vectors"]
    return [pytest.param(vector, id=f"{i:02d}-{vector['description']}") for i, vector in enumerate(vectors)]


@pytest.mark.parametrize("vector", _vector_params())
def test_count_segments_agrees_with_twilio_vector(vector: dict[str, Any]) -> None:
    count = count_segments(vector["body"])
    checked = 0
    for field in ("encoding", "segments", "characters", "message_size_bits", "total_size_bits"):
        if field in vector:
            assert getattr(count, field) == vector[field], field
            checked += 1
    if "unicode_scalars" in vector:
        assert len(vector["body"]) == vector["unicode_scalars"]
        checked += 1
    assert checked, "vector asserts nothing this test knows how to check"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("", SegmentCount("GSM-7", 0, 0, 0), id="empty"),
        pytest.param("a" * 160, SegmentCount("GSM-7", 160, 1, 160), id="gsm-160-one"),
        pytest.param("a" * 161, SegmentCount("GSM-7", 161, 2, 161), id="gsm-161-two"),
        pytest.param("a" * 306, SegmentCount("GSM-7", 306, 2, 306), id="gsm-306-two"),
        pytest.param("a" * 307, SegmentCount("GSM-7", 307, 3, 307), id="gsm-307-three"),
        pytest.param("a" * 159 + "€", SegmentCount("GSM-7", 161, 2, 160), id="gsm-escape-crosses-160"),
        pytest.param("a" * 158 + "€", SegmentCount("GSM-7", 160, 1, 159), id="gsm-escape-fills-160"),
        # 152 + 2 + 152 = 306 septets would fit 2 x 153, but the escape pair cannot straddle parts.
        pytest.param("a" * 152 + "€" + "a" * 152, SegmentCount("GSM-7", 306, 3, 305), id="escape-at-153"),
        pytest.param("a" * 151 + "€" + "a" * 153, SegmentCount("GSM-7", 306, 2, 305), id="escape-fits-153"),
        pytest.param("\f", SegmentCount("GSM-7", 2, 1, 1), id="form-feed-counts-two"),
        pytest.param("中" * 70, SegmentCount("UCS-2", 70, 1, 70), id="chinese-70-one"),
        pytest.param("中" * 71, SegmentCount("UCS-2", 71, 2, 71), id="chinese-71-two"),
        pytest.param("中" * 134, SegmentCount("UCS-2", 134, 2, 134), id="chinese-134-two"),
        pytest.param("中" * 135, SegmentCount("UCS-2", 135, 3, 135), id="chinese-135-three"),
        pytest.param("😀", SegmentCount("UCS-2", 2, 1, 1), id="emoji-counts-two-units"),
        pytest.param("中" * 68 + "😀", SegmentCount("UCS-2", 70, 1, 69), id="emoji-fills-70"),
        pytest.param("中" * 69 + "😀", SegmentCount("UCS-2", 71, 2, 70), id="emoji-crosses-70"),
        # 66 + 2 + 66 = 134 units would fit 2 x 67, but the surrogate pair cannot straddle parts.
        pytest.param("中" * 66 + "😀" + "中" * 66, SegmentCount("UCS-2", 134, 3, 133), id="emoji-at-67"),
        pytest.param("中" * 65 + "😀" + "中" * 67, SegmentCount("UCS-2", 134, 2, 133), id="emoji-ends-at-67"),
        # Inside UCS-2 text a GSM escape character is one UTF-16 unit, not two.
        pytest.param("中" * 69 + "€", SegmentCount("UCS-2", 70, 1, 70), id="euro-in-ucs2-one-unit"),
        pytest.param("中" * 60 + "[]{}~|^\\€\f", SegmentCount("UCS-2", 70, 1, 70), id="escapes-in-ucs2"),
        pytest.param("ç", SegmentCount("UCS-2", 1, 1, 1), id="lowercase-c-cedilla-is-not-gsm"),
        pytest.param("Ç", SegmentCount("GSM-7", 1, 1, 1), id="uppercase-c-cedilla-is-gsm"),
        pytest.param("a\r\nb", SegmentCount("GSM-7", 4, 1, 4), id="crlf-counts-two"),
    ],
)
def test_count_segments_hand_worked_boundaries(body: str, expected: SegmentCount) -> None:
    assert count_segments(body) == expected


def test_count_segments_of_a_progress_sms() -> None:
    body = "【营商环境投诉】您的诉求已受理，受理编号CF20250101-0001，我们将在12小时内联系您。"

    count = count_segments(body)

    assert count.encoding == "UCS-2"
    assert count.units == len(body) == 49
    assert count.segments == 1


def test_count_segments_keeps_a_long_combining_sequence_countable() -> None:
    # One grapheme of 100 units cannot stay whole in a 67-unit part; it is split between code points.
    body = "e" + "\u0301" * 99

    count = count_segments(body)

    assert (count.units, count.characters, count.segments) == (100, 1, 2)


def test_count_segments_sizes_in_bits_include_headers_only_when_split() -> None:
    assert count_segments("a" * 160).total_size_bits == 1120
    assert count_segments("a" * 161).total_size_bits == 161 * 7 + 2 * 48
    assert count_segments("中" * 71).message_size_bits == 71 * 16


def test_check_body_length_accepts_1600_characters() -> None:
    check_body_length("中" * MAX_BODY_CHARS)


def test_check_body_length_refuses_1601_characters() -> None:
    with pytest.raises(BodyTooLong, match=r"1601 characters.*at most 1600") as caught:
        check_body_length("a" * 1601)

    assert isinstance(caught.value, ValueError)
    assert (caught.value.length, caught.value.limit) == (1601, 1600)


def test_check_body_length_counts_an_emoji_as_two() -> None:
    check_body_length("😀" * 800)
    with pytest.raises(BodyTooLong, match="1602"):
        check_body_length("😀" * 801)
