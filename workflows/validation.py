"""Normalise and check what people type: phone numbers (E.164) and unified social credit codes."""

import phonenumbers
from phonenumbers import NumberParseException
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from workflows.errors import InvalidInput

DEFAULT_REGION = "CN"


def normalise_phone(raw: str, field: str = "contact_phone") -> str:
    """Return ``raw`` as E.164, assuming +86 when it carries no country code."""
    try:
        number = phonenumbers.parse(raw, DEFAULT_REGION)
    except NumberParseException as exc:
        raise InvalidInput(field, f"'{raw}' is not a phone number ({exc._msg})") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(
            field,
            f"'{raw}' is not a valid phone number: give an 11-digit mobile such as 131 2345 6789, "
            "a landline with its area code such as 010-12345678, or +country code for abroad",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    """True for numbers that can receive SMS (mobile, or fixed-or-mobile where a plan cannot tell)."""
    kind = phonenumbers.number_type(phonenumbers.parse(e164))
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def normalise_credit_code(raw: str, field: str = "credit_code") -> str:
    """Check an 18-character unified social credit code (GB 32100-2015) including its check character."""
    code = uscc.compact(raw)
    try:
        return str(uscc.validate(code))
    except InvalidLength:
        reason = f"must be 18 characters, got {len(code)}"
    except InvalidFormat:
        reason = "uses characters outside 0-9 and A-Z (without I, O, S, V, Z)"
    except InvalidChecksum:
        reason = (
            "the check character (the last one) does not match: re-read the code from the business licence"
        )
    except ValidationError as exc:
        reason = str(exc)
    raise InvalidInput(field, f"'{raw}' is not a valid unified social credit code: {reason}")
