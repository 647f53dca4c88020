"""``complaintflow sms-preview``: what an SMS will say and what it will cost, before anyone sends it."""

from datetime import UTC, datetime

from notifiers.segments import MAX_BODY_CHARS, SegmentCount, count_segments
from notifiers.templates import SMS_TEMPLATES, format_local, render_sms
from workflows.config import DomainConfig

# Realistic values for a preview: the longest department name the routing table has, a full link.
SAMPLE_TRACKING_NO = "261203-0042-6"
SAMPLE_ACCESS_KEY = "k7m2x9q4abcd"  # as long as every real key (workflows/access.py)
SAMPLE_DUE = datetime(2026, 12, 31, 15, 59, tzinfo=UTC)


def sample_params(config: DomainConfig, locale: str) -> dict[str, str]:
    departments = config.routing.departments.values()
    longest = max(departments, key=lambda d: len(d.name_zh if locale == "zh" else d.name_en))
    due = format_local(SAMPLE_DUE, config.zone, locale)
    return {
        "tracking_no": SAMPLE_TRACKING_NO,
        "department": longest.name_zh if locale == "zh" else longest.name_en,
        "link": config.progress_link(SAMPLE_ACCESS_KEY),
        "response_due": due,
        "resolution_due": due,
        "update_due": due,
    }


def preview(
    config: DomainConfig, *, text: str | None, template: str | None, locale: str
) -> tuple[str, SegmentCount]:
    """The body and its count; raises ValueError with a message for the operator."""
    if (text is None) == (template is None):
        raise ValueError("give either --text TEXT or --template NAME")
    if template is not None:
        if template not in SMS_TEMPLATES:
            raise ValueError(f"unknown template '{template}'; templates are: {', '.join(SMS_TEMPLATES)}")
        body = render_sms(template, sample_params(config, locale), locale)
    else:
        assert text is not None
        if not text.strip():
            raise ValueError("--text is empty: give the body to count")
        body = text
    return body, count_segments(body)


def describe(body: str, count: SegmentCount) -> list[str]:
    lines = [
        body,
        "",
        f"encoding: {count.encoding}   characters: {count.characters}   units: {count.units}   "
        f"segments: {count.segments}",
    ]
    if len(body) > MAX_BODY_CHARS:
        lines.append(f"refused: longer than {MAX_BODY_CHARS} characters; it would never be sent")
    return lines
