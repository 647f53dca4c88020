"""Access keys: the unguessable part of the link an enterprise gets by SMS.

A tracking number is meant to be read out on the phone, so it is guessable (date, daily sequence, check
digit). With the number alone the progress page shows status, milestones and deadlines; the title, the
public notes and the messages sent need the complaint's key, which only travels in its SMS links.
"""

import re
import secrets

# No 0/o, 1/l/i: a key copied by hand from an SMS survives. 31^12 ≈ 7.9e17 keys.
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
KEY_LENGTH = 12
_KEY = re.compile(f"[{ALPHABET}]{{{KEY_LENGTH}}}")


_KEYS = len(ALPHABET) ** KEY_LENGTH


def new_access_key() -> str:
    """One uniform draw over every key, written in base 31 (one call to the CSPRNG, not twelve)."""
    number = secrets.randbelow(_KEYS)
    digits = []
    for _ in range(KEY_LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        digits.append(ALPHABET[digit])
    return "".join(digits)


def looks_like_access_key(text: str) -> bool:
    """Whether ``text`` could be a key at all (checked before any lookup; case-insensitive)."""
    return _KEY.fullmatch(text.lower()) is not None
