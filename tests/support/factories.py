"""Submissions with invented data (no real names or numbers): libphonenumber's example ranges."""

from datetime import datetime
from typing import Any

from models import ComplaintCreate

# libphonenumber's example numbers for China; not anybody's phone.
EXAMPLE_MOBILE = "131 2345 6789"
EXAMPLE_MOBILE_E164 = "+8613123456789"


def credit_code_with_check(first17: str) -> str:
    """Complete 17 characters into a valid unified social credit code (GB 32100-2015)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(alphabet.index(ch) * w for ch, w in zip(first17, weights, strict=True))
    return first17 + alphabet[(31 - total % 31) % 31]


def submission_data(ref: str = "WO-0001", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel": "hotline",
        "channel_ref": ref,
        "enterprise_name": "示例商贸有限公司",
        "contact_name": "测试联系人",
        "contact_phone": EXAMPLE_MOBILE,
        "title": "经营场所检查问题",
        "description": "执法人员检查时未出示证件，希望核实。",
    }
    data.update(overrides)
    return data


def submission(
    ref: str = "WO-0001", received_at: datetime | None = None, **overrides: Any
) -> ComplaintCreate:
    data = submission_data(ref, **overrides)
    if received_at is not None:
        data["received_at"] = received_at
    return ComplaintCreate.model_validate(data)
