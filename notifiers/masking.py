"""Hide personal data before it reaches logs and public pages."""

import re

import phonenumbers
from phonenumbers import NumberParseException


def mask_phone(e164: str | None) -> str:
    """Hide the middle digits for logs and public pages: +8613123456789 → +86 131****6789."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164)
    except NumberParseException:
        return "****"
    national = str(number.national_number)
    if len(national) <= 4:
        return f"+{number.country_code} ****"
    keep_head = 3 if len(national) >= 10 else 1
    return (
        f"+{number.country_code} {national[:keep_head]}{'*' * (len(national) - keep_head - 4)}{national[-4:]}"
    )


_E164_IN_TEXT = re.compile(r"\+\d{7,15}")


def mask_phones_in(text: str) -> str:
    """Mask every E.164 number inside free text (a provider's error message quotes the recipient)."""
    return _E164_IN_TEXT.sub(lambda match: mask_phone(match.group()), text)


# The key of an enterprise's progress link (/p/<12 characters>): it opens the record, so it is a secret.
_PROGRESS_KEY_IN_TEXT = re.compile(r"(/p/)([2-9a-z]{2})[2-9a-z]{10}\b")


def mask_secrets_in(text: str) -> str:
    """For logs: phone numbers masked and progress-link keys cut to their first two characters."""
    return _PROGRESS_KEY_IN_TEXT.sub(r"\1\2**********", mask_phones_in(text))
