"""Count the SMS segments a body costs, the way Twilio's Message Segment Calculator does.

Rules (3GPP TS 23.038 / 23.040, as Twilio applies them):

- A body made only of GSM-7 characters is sent as GSM-7: one septet per character of the basic set, two
  for the extension table (``| ^ € { } [ ] ~ \\`` and form feed, which need the escape septet). 160 septets
  fit in one segment; a longer body is split into segments of 153, because each part carries a 6-octet
  user data header.
- Any other character (every Chinese character, ``ç``, a smart quote, an emoji) makes the whole body UCS-2:
  one UTF-16 code unit per BMP character, two for a character outside the BMP. 70 units fit in one segment,
  67 per segment beyond.
- A user-perceived character (a grapheme: an emoji with its modifiers, a flag, a letter with combining
  accents, an escaped GSM character) is never split across two segments: a part ends early rather than cut
  it, so a body can need one segment more than ``ceil(units / 67)``.

``characters`` counts graphemes, as Twilio's calculator shows them, except that CR LF counts as two
(the calculator splits it, and so do handsets).
"""

from dataclasses import dataclass
from typing import Final, Literal

import regex

Encoding = Literal["GSM-7", "UCS-2"]

GSM7: Final = "GSM-7"
UCS2: Final = "UCS-2"

# GSM 03.38 default alphabet (the escape code 0x1B itself is not a character one can send).
GSM7_BASIC: Final[frozenset[str]] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# Extension table reached through the escape septet: each costs two septets.
GSM7_EXTENSION: Final[frozenset[str]] = frozenset("\f^{}\\[]~|€")

GSM7_SINGLE_SEGMENT_UNITS: Final = 160
GSM7_MULTI_SEGMENT_UNITS: Final = 153
UCS2_SINGLE_SEGMENT_UNITS: Final = 70
UCS2_MULTI_SEGMENT_UNITS: Final = 67
USER_DATA_HEADER_BITS: Final = 48

MAX_BODY_CHARS: Final = 1600
"""Twilio refuses a longer ``Body`` with error 21617."""

_GRAPHEME = regex.compile(r"\X")


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """What one SMS body costs."""

    encoding: Encoding
    units: int
    """GSM-7 septets (an escaped character counts 2) or UTF-16 code units (a non-BMP character counts 2)."""
    segments: int
    """Billed segments; 0 for an empty body."""
    characters: int
    """User-perceived characters (graphemes; CR LF counts as two)."""

    @property
    def message_size_bits(self) -> int:
        """Size of the text alone, in bits (Twilio's calculator's ``messageSize``)."""
        return self.units * (7 if self.encoding == GSM7 else 16)

    @property
    def total_size_bits(self) -> int:
        """Size including the user data header of each part of a multi-part message (``totalSize``)."""
        headers = USER_DATA_HEADER_BITS * self.segments if self.segments > 1 else 0
        return self.message_size_bits + headers


class BodyTooLong(ValueError):
    """The body is longer than Twilio accepts; sending it would fail with error 21617."""

    def __init__(self, length: int, limit: int = MAX_BODY_CHARS) -> None:
        super().__init__(
            f"SMS body is {length} characters long (UTF-16 code units, an emoji counts 2); "
            f"Twilio accepts at most {limit}. Shorten the template or the values put into it."
        )
        self.length = length
        self.limit = limit


def is_gsm7(char: str) -> bool:
    """Tell whether one character can be sent in the GSM-7 alphabet (basic set or extension table)."""
    return char in GSM7_BASIC or char in GSM7_EXTENSION


def count_segments(body: str) -> SegmentCount:
    """Count the encoding, code units, segments and characters of ``body``."""
    graphemes = _graphemes(body)
    if all(is_gsm7(char) for char in body):
        sizes = [2 if g in GSM7_EXTENSION else 1 for g in graphemes]
        return SegmentCount(
            encoding=GSM7,
            units=sum(sizes),
            segments=_pack(sizes, GSM7_SINGLE_SEGMENT_UNITS, GSM7_MULTI_SEGMENT_UNITS),
            characters=len(graphemes),
        )
    sizes = [_utf16_units(g) for g in graphemes]
    return SegmentCount(
        encoding=UCS2,
        units=sum(sizes),
        segments=_pack_ucs2(graphemes, sizes),
        characters=len(graphemes),
    )


def check_body_length(body: str) -> None:
    """Refuse a body Twilio would refuse, before it is written to the outbox.

    Twilio's limit is "1,600 characters" and it counts emoji and other non-BMP characters as more than one,
    so the length is taken conservatively in UTF-16 code units: a body this accepts is never refused with
    21617 for its length.
    """
    length = _utf16_units(body)
    if length > MAX_BODY_CHARS:
        raise BodyTooLong(length)


def _graphemes(body: str) -> list[str]:
    found: list[str] = _GRAPHEME.findall(body)
    result: list[str] = []
    for grapheme in found:
        if grapheme == "\r\n":
            result.extend(("\r", "\n"))
        else:
            result.append(grapheme)
    return result


def _utf16_units(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _pack(sizes: list[int], single: int, multi: int) -> int:
    """Count segments, filling each part greedily without splitting an item across two parts."""
    total = sum(sizes)
    if total == 0:
        return 0
    if total <= single:
        return 1
    segments, used = 1, 0
    for size in sizes:
        if used and used + size > multi:
            segments += 1
            used = 0
        used += size
    return segments


def _pack_ucs2(graphemes: list[str], sizes: list[int]) -> int:
    # A grapheme longer than a whole part (a long run of combining marks) cannot stay whole: only its
    # code points (surrogate pairs included) are kept whole then.
    if all(size <= UCS2_MULTI_SEGMENT_UNITS for size in sizes):
        return _pack(sizes, UCS2_SINGLE_SEGMENT_UNITS, UCS2_MULTI_SEGMENT_UNITS)
    pieces: list[int] = []
    for grapheme, size in zip(graphemes, sizes, strict=True):
        if size <= UCS2_MULTI_SEGMENT_UNITS:
            pieces.append(size)
        else:
            pieces.extend(_utf16_units(char) for char in grapheme)
    return _pack(pieces, UCS2_SINGLE_SEGMENT_UNITS, UCS2_MULTI_SEGMENT_UNITS)
