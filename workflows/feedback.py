"""What an enterprise sends back, by SMS or on its progress page: a rating (满意度回访), 退订 / 订阅 (SMS
only), or a message for its handler.

``receive_sms`` records one inbound SMS once per provider message id and says what to answer. The enterprise
never meets a version conflict: its rating and its messages lock the complaint row but check no version and
bump none, so neither side's next action is refused as stale because of the other.
"""

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from models import Complaint, ComplaintEvent, InboundSms, Notification, SmsOptOut, Status
from notifiers.templates import RATING_LABELS, render_reply
from workflows.config import DomainConfig
from workflows.errors import InvalidInput, NotNow, TooMany
from workflows.lifecycle import OPEN
from workflows.outbox import staff_rows
from workflows.validation import normalise_phone

SMS_ACTOR = "enterprise:sms"
WEB_MESSAGES_PER_HOUR = 10
WEB_MESSAGE_WINDOW = timedelta(hours=1)
WEB_ACTOR = "enterprise:web"
RATE_ACTION = "rate"
MESSAGE_ACTION = "enterprise_message"
NOTE_MAX = 4000
EXCERPT_MAX = 60

# A message is attached to the newest complaint still being handled, or resolved and not yet closed.
ATTACHABLE = (*OPEN, Status.RESOLVED)

RATING_WORDS = {"1": 1, "满意": 1, "2": 2, "基本满意": 2, "3": 3, "不满意": 3}
OPT_OUT_WORDS = frozenset({"退订", "TD", "STOP"})
OPT_IN_WORDS = frozenset({"订阅", "START"})
_TRIM = " \t\r\n\u3000。.，,！!～~"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ReplyKind(StrEnum):
    RATING = "rating"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    MESSAGE = "message"


@dataclass(frozen=True)
class Reply:
    kind: ReplyKind
    rating: int | None = None


class Outcome(StrEnum):
    RATED = "rated"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    MESSAGE = "message"
    NO_COMPLAINT = "no_complaint"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class InboundResult:
    outcome: Outcome
    reply: str | None
    """The text to answer with; None for a duplicate (it was answered the first time)."""
    complaint_id: int | None = None
    rating: int | None = None


def classify_reply(body: str) -> Reply:
    """Read a reply: full-width digits and letters count as half-width, case and stray punctuation do not."""
    text = unicodedata.normalize("NFKC", body).strip(_TRIM)
    if text in RATING_WORDS:
        return Reply(ReplyKind.RATING, RATING_WORDS[text])
    if text.upper() in OPT_OUT_WORDS:
        return Reply(ReplyKind.OPT_OUT)
    if text.upper() in OPT_IN_WORDS:
        return Reply(ReplyKind.OPT_IN)
    return Reply(ReplyKind.MESSAGE)


def receive_sms(
    session: Session,
    *,
    message_sid: str,
    from_number: str,
    body: str,
    now: datetime,
    config: DomainConfig,
) -> InboundResult:
    """Record one inbound SMS (once per ``message_sid``) and apply it; the caller's transaction commits it."""
    if session.exec(select(InboundSms.id).where(InboundSms.message_sid == message_sid)).first() is not None:
        return InboundResult(Outcome.DUPLICATE, None)
    phone = sender_e164(from_number)
    result = _apply(session, phone, body, classify_reply(body), now, config, message_sid)
    session.add(
        InboundSms(
            message_sid=message_sid,
            from_number=phone,
            body=_clean(body),
            received_at=now,
            complaint_id=result.complaint_id,
            outcome=result.outcome.value,
        )
    )
    return result


def _apply(
    session: Session,
    phone: str,
    body: str,
    reply: Reply,
    now: datetime,
    config: DomainConfig,
    message_sid: str,
) -> InboundResult:
    if reply.kind == ReplyKind.OPT_OUT:
        return opt_out(session, phone, now)
    if reply.kind == ReplyKind.OPT_IN:
        return opt_in(session, phone, now)
    if reply.rating is not None:
        rateable = latest_rateable(session, phone, now, config)
        if rateable is not None:
            return record_rating(session, rateable, reply.rating, now, message_sid=message_sid)
    # A message, or a digit with nothing to rate: nothing the enterprise says is lost.
    return attach_message(session, phone, body, now, config, message_sid=message_sid)


def sender_e164(raw: str) -> str:
    """The sender as E.164, the form ``Complaint.contact_phone`` is stored in."""
    try:
        return normalise_phone(raw, "From")
    except InvalidInput:
        return raw.strip()


def latest_rateable(session: Session, phone: str, now: datetime, config: DomainConfig) -> Complaint | None:
    """The number's most recently resolved complaint still taking a rating: resolved, or closed within the window."""
    window_start = now - config.policy.feedback.rating_window
    statement = (
        select(Complaint)
        .where(Complaint.contact_phone == phone)
        .where(
            or_(
                col(Complaint.status) == Status.RESOLVED,
                and_(col(Complaint.status) == Status.CLOSED, col(Complaint.resolved_at) >= window_start),
            )
        )
        .order_by(col(Complaint.resolved_at).desc(), col(Complaint.id).desc())
        .limit(1)
        .with_for_update()
    )
    return session.exec(statement).first()


def latest_open(session: Session, phone: str) -> Complaint | None:
    statement = (
        select(Complaint)
        .where(Complaint.contact_phone == phone)
        .where(col(Complaint.status).in_(ATTACHABLE))
        .order_by(col(Complaint.received_at).desc(), col(Complaint.id).desc())
        .limit(1)
        .with_for_update()
    )
    return session.exec(statement).first()


def record_rating(
    session: Session,
    complaint: Complaint,
    rating: int,
    now: datetime,
    *,
    message_sid: str | None = None,
    actor: str = SMS_ACTOR,
) -> InboundResult:
    """Set the complaint's satisfaction rating (the latest reply wins) with a ``rate`` audit event."""
    assert complaint.id is not None
    if rating not in RATING_LABELS:
        raise InvalidInput("rating", f"a rating is 1 (满意), 2 (基本满意) or 3 (不满意), not {rating}")
    previous = complaint.rating
    complaint.rating = rating
    complaint.updated_at = now
    data: dict[str, object] = {"rating": rating, "previous": previous}
    if message_sid:
        data["message_sid"] = message_sid
    session.add(_event(complaint, RATE_ACTION, now, note=None, data=data, actor=actor))
    labels = RATING_LABELS[rating]
    reply = render_reply(
        "rated",
        {"tracking_no": complaint.tracking_no, "rating_label": labels["zh"], "rating_label_en": labels["en"]},
    )
    return InboundResult(Outcome.RATED, reply, complaint.id, rating)


def attach_message(
    session: Session,
    phone: str,
    body: str,
    now: datetime,
    config: DomainConfig,
    *,
    message_sid: str | None = None,
) -> InboundResult:
    """Put the text on the number's newest open complaint as a public message, and tell its handlers."""
    complaint = latest_open(session, phone)
    if complaint is None:
        return InboundResult(Outcome.NO_COMPLAINT, render_reply("no_complaint", {}))
    return attach_message_to(session, complaint, body, now, config, message_sid=message_sid)


def attach_message_to(
    session: Session,
    complaint: Complaint,
    body: str,
    now: datetime,
    config: DomainConfig,
    *,
    message_sid: str | None = None,
    actor: str = SMS_ACTOR,
    staff_template: str = MESSAGE_ACTION,
) -> InboundResult:
    """Put the text on ``complaint`` as a public message (全程留痕), and tell its handlers."""
    assert complaint.id is not None
    note = _clean(body)[:NOTE_MAX]
    complaint.updated_at = now
    event = _event(
        complaint,
        MESSAGE_ACTION,
        now,
        note=note,
        data={"message_sid": message_sid} if message_sid else {},
        actor=actor,
    )
    session.add(event)
    session.flush()
    assert event.id is not None
    excerpt = note if len(note) <= EXCERPT_MAX else note[:EXCERPT_MAX] + "…"
    params = {"tracking_no": complaint.tracking_no, "title": complaint.title[:40], "excerpt": excerpt}
    for row in staff_rows(
        config, complaint, event_id=event.id, template=staff_template, params=params, now=now
    ):
        session.add(Notification(**row))
    return InboundResult(
        Outcome.MESSAGE, render_reply("message", {"tracking_no": complaint.tracking_no}), complaint.id
    )


def is_rateable(complaint: Complaint, now: datetime, config: DomainConfig) -> bool:
    """Resolved, or closed within the policy's rating window after resolution."""
    if complaint.status == Status.RESOLVED:
        return True
    resolved = complaint.resolved_at
    window_start = now - config.policy.feedback.rating_window
    return complaint.status == Status.CLOSED and resolved is not None and resolved >= window_start


def takes_messages(complaint: Complaint) -> bool:
    return complaint.status in ATTACHABLE


def web_message(
    session: Session, complaint: Complaint, text: str, now: datetime, config: DomainConfig
) -> InboundResult:
    """A message the enterprise writes on its progress page (its key link): on that complaint only."""
    note = _clean(unicodedata.normalize("NFC", text))
    if not note:
        raise InvalidInput("text", "write a message (it is empty)")
    if len(note) > NOTE_MAX:
        raise InvalidInput("text", f"at most {NOTE_MAX:,} characters; this one has {len(note):,}")
    if not takes_messages(complaint):
        raise NotNow(
            f"complaint {complaint.tracking_no} is {complaint.status.value}: it takes no more messages; "
            "call 12345 or file a new complaint"
        )
    _limit_web_messages(session, complaint, now)
    return attach_message_to(
        session, complaint, note, now, config, actor=WEB_ACTOR, staff_template="enterprise_web_message"
    )


def _limit_web_messages(session: Session, complaint: Complaint, now: datetime) -> None:
    """At most WEB_MESSAGES_PER_HOUR from the page per complaint: each one tells the department and the
    supervisors, so a stuck button or a script must not bury them."""
    since = now - WEB_MESSAGE_WINDOW
    recent = session.exec(
        select(ComplaintEvent.at)
        .where(ComplaintEvent.complaint_id == complaint.id)
        .where(ComplaintEvent.action == MESSAGE_ACTION, ComplaintEvent.actor == WEB_ACTOR)
        .where(col(ComplaintEvent.at) > since)
        .order_by(col(ComplaintEvent.at))
    ).all()
    if len(recent) >= WEB_MESSAGES_PER_HOUR:
        oldest = recent[len(recent) - WEB_MESSAGES_PER_HOUR]
        retry = max(1, int((oldest + WEB_MESSAGE_WINDOW - now).total_seconds()) + 1)
        raise TooMany(
            f"{WEB_MESSAGES_PER_HOUR} messages in an hour is the most a complaint takes from its page; "
            f"write again in {math.ceil(retry / 60)} minute(s), or call 12345",
            retry,
        )


def web_rating(
    session: Session, complaint: Complaint, rating: int, now: datetime, config: DomainConfig
) -> InboundResult:
    """A rating given on the progress page: once resolved, until the rating window after it has passed."""
    if is_rateable(complaint, now, config):
        return record_rating(session, complaint, rating, now, actor=WEB_ACTOR)
    if complaint.status == Status.CLOSED:
        raise NotNow(f"complaint {complaint.tracking_no} was resolved too long ago to be rated now")
    if complaint.status == Status.WITHDRAWN:
        raise NotNow(f"complaint {complaint.tracking_no} was withdrawn: there is no outcome to rate")
    raise NotNow(f"complaint {complaint.tracking_no} is not resolved yet; rate it once it is")


def opt_out(session: Session, phone: str, now: datetime) -> InboundResult:
    """Stop every further SMS to this number (this number only) until it replies 订阅 / START."""
    row = session.get(SmsOptOut, phone, with_for_update=True)
    if row is None:
        session.add(SmsOptOut(phone=phone, opted_out_at=now))
    else:
        row.opted_out_at = now
        row.opted_in_at = None
    return InboundResult(Outcome.OPTED_OUT, render_reply("opted_out", {}))


def opt_in(session: Session, phone: str, now: datetime) -> InboundResult:
    row = session.get(SmsOptOut, phone, with_for_update=True)
    if row is not None and row.opted_in_at is None:
        row.opted_in_at = now
    return InboundResult(Outcome.OPTED_IN, render_reply("opted_in", {}))


def is_opted_out(session: Session, phone: str) -> bool:
    row = session.get(SmsOptOut, phone)
    return row is not None and row.active


def _event(
    complaint: Complaint,
    action: str,
    now: datetime,
    *,
    note: str | None,
    data: dict[str, object],
    actor: str,
) -> ComplaintEvent:
    assert complaint.id is not None
    return ComplaintEvent(
        complaint_id=complaint.id,
        at=now,
        recorded_at=now,
        actor=actor,
        action=action,
        from_status=complaint.status,
        to_status=complaint.status,
        note=note,
        public=True,
        note_public=note is not None,
        data=data,
    )


def _clean(body: str) -> str:
    return _CONTROL.sub("", body).strip()
