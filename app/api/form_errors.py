"""What an HTML form says about a refused field, in Chinese and English, for a person at a phone.

The JSON API answers pydantic's English messages (``app/api/errors.py``); the forms of the QR channel and
of the progress page say the same refusals in words, through this one table.
"""

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

REQUIRED = "必填 / required"
CONTROL_CHARACTER = "含有无法显示的控制字符，请删除 / contains a control character; remove it"


def field_of(error: ErrorDetails) -> str:
    loc: tuple[Any, ...] = tuple(error.get("loc", ()))
    return str(loc[0]) if loc else "form"


def reason_of(error: ErrorDetails, *, empty: str = REQUIRED) -> str:
    kind = error.get("type", "")
    if kind in ("missing", "string_too_short", "string_type"):
        return empty
    if kind == "string_too_long":
        limit = (error.get("ctx") or {}).get("max_length")
        return f"最多{limit}字 / at most {limit} characters"
    if kind == "value_error":
        return CONTROL_CHARACTER
    return str(error.get("msg", "invalid"))


def form_errors(exc: ValidationError) -> dict[str, str]:
    """One explained refusal per field."""
    return {field_of(error): reason_of(error) for error in exc.errors()}
