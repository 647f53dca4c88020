"""Write notifications into the outbox in the caller's transaction (never send from here)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session

from models import (
    ClockKind,
    Complaint,
    ComplaintEvent,
    Notification,
    NotificationChannel,
    NotificationStatus,
)
from models.clock import Clock
from notifiers.templates import CLOCK_NAMES, format_local, render_sms, render_staff
from workflows.config import DomainConfig
from workflows.validation import is_mobile

ENTERPRISE_INBOX = "enterprise"


def sms_params(
    ctx: DomainConfig,
    tracking_no: str,
    access_key: str,
    department: str | None,
    dues: Mapping[ClockKind, datetime],
    locale: str = "zh",
) -> dict[str, str]:
    params = {
        "tracking_no": tracking_no,
        "department": ctx.department_name(department, locale),
        "link": ctx.progress_link(access_key),
    }
    for kind, due in dues.items():
        params[f"{kind.value}_due"] = format_local(due, ctx.zone, locale)
    return params


def enterprise_message_row(
    ctx: DomainConfig,
    *,
    complaint_id: int,
    event_id: int,
    phone: str | None,
    template: str,
    params: Mapping[str, str],
    now: datetime,
) -> dict[str, Any]:
    """The outbox row for one step: an SMS, or without a mobile number a message on the progress page only."""
    if phone:
        channel, recipient, status = NotificationChannel.SMS, phone, NotificationStatus.PENDING
    else:
        channel, recipient, status = NotificationChannel.INBOX, ENTERPRISE_INBOX, NotificationStatus.DELIVERED
    return {
        "complaint_id": complaint_id,
        "event_id": event_id,
        "channel": channel,
        "recipient": recipient,
        "template": template,
        "body": render_sms(template, params),
        "public": True,
        "status": status,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "sent_at": None if status == NotificationStatus.PENDING else now,
    }


def notify_enterprise(
    session: Session,
    ctx: DomainConfig,
    complaint: Complaint,
    event: ComplaintEvent,
    template: str,
    clocks: Mapping[ClockKind, Clock],
    now: datetime,
) -> Notification:
    """Queue the SMS for a step of ``complaint`` (in the caller's transaction)."""
    assert complaint.id is not None and event.id is not None
    params = sms_params(
        ctx,
        complaint.tracking_no,
        complaint.access_key,
        complaint.department or complaint.suggested_department,
        {kind: clock.due_at for kind, clock in clocks.items()},
    )
    row = Notification(
        **enterprise_message_row(
            ctx,
            complaint_id=complaint.id,
            event_id=event.id,
            phone=complaint.contact_phone
            if complaint.contact_phone and is_mobile(complaint.contact_phone)
            else None,
            template=template,
            params=params,
            now=now,
        )
    )
    session.add(row)
    return row


def staff_message_rows(
    ctx: DomainConfig, complaint: Complaint, *, event_id: int, template: str, clock: Clock, now: datetime
) -> list[dict[str, Any]]:
    """In-platform messages for an SLA level: the handling department and the supervisors."""
    params = {
        "tracking_no": complaint.tracking_no,
        "title": complaint.title[:40],
        "clock": CLOCK_NAMES[clock.kind.value]["zh"],
        "due": format_local(clock.due_at, ctx.zone),
    }
    return staff_rows(ctx, complaint, event_id=event_id, template=template, params=params, now=now)


def staff_rows(
    ctx: DomainConfig,
    complaint: Complaint,
    *,
    event_id: int,
    template: str,
    params: Mapping[str, str],
    now: datetime,
) -> list[dict[str, Any]]:
    """In-platform messages to the complaint's department (if it has one) and the supervisors."""
    body = render_staff(template, params)
    department = complaint.department or complaint.suggested_department
    recipients = [f"department:{department}"] if department else []
    recipients.append(ctx.policy.notifications.supervisor_recipient)
    return [
        {
            "complaint_id": complaint.id,
            "event_id": event_id,
            "channel": NotificationChannel.INBOX,
            "recipient": recipient,
            "template": template,
            "body": body,
            "public": False,
            "status": NotificationStatus.DELIVERED,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
            "sent_at": now,
        }
        for recipient in recipients
    ]
