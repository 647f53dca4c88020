"""Write notifications into the outbox in the caller's transaction (never send from here)."""

from collections.abc import Mapping
from datetime import datetime

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

ENTERPRISE_INBOX = "enterprise"


def enterprise_params(
    ctx: DomainConfig, complaint: Complaint, clocks: Mapping[ClockKind, Clock], locale: str = "zh"
) -> dict[str, str]:
    params = {
        "tracking_no": complaint.tracking_no,
        "department": ctx.department_name(complaint.department or complaint.suggested_department, locale),
        "link": ctx.progress_link(complaint),
        "title": complaint.title,
    }
    for kind in ClockKind:
        clock = clocks.get(kind)
        if clock is not None:
            params[f"{kind.value}_due"] = format_local(clock.due_at, ctx.zone, locale)
    return params


def notify_enterprise(
    session: Session,
    ctx: DomainConfig,
    complaint: Complaint,
    event: ComplaintEvent,
    template: str,
    clocks: Mapping[ClockKind, Clock],
    now: datetime,
) -> Notification:
    """Queue the SMS for a step; without a phone, the message goes to the progress page only."""
    body = render_sms(template, enterprise_params(ctx, complaint, clocks))
    if complaint.contact_phone:
        channel, recipient, status = (
            NotificationChannel.SMS,
            complaint.contact_phone,
            NotificationStatus.PENDING,
        )
    else:
        channel, recipient, status = NotificationChannel.INBOX, ENTERPRISE_INBOX, NotificationStatus.DELIVERED
    row = Notification(
        complaint_id=complaint.id,
        event_id=event.id,
        channel=channel,
        recipient=recipient,
        template=template,
        body=body,
        public=True,
        status=status,
        created_at=now,
        next_attempt_at=now,
        sent_at=None if status == NotificationStatus.PENDING else now,
    )
    session.add(row)
    return row


def notify_staff(
    session: Session,
    ctx: DomainConfig,
    complaint: Complaint,
    event: ComplaintEvent,
    template: str,
    clock: Clock,
    due_at: datetime,
    now: datetime,
) -> list[Notification]:
    """In-platform messages for an SLA level: the handling department and the supervisors."""
    params = {
        "tracking_no": complaint.tracking_no,
        "title": complaint.title[:40],
        "clock": CLOCK_NAMES[clock.kind.value]["zh"],
        "due": format_local(due_at, ctx.zone),
    }
    body = render_staff(template, params)
    department = complaint.department or complaint.suggested_department
    recipients = [f"department:{department}"] if department else []
    recipients.append(ctx.policy.notifications.supervisor_recipient)
    rows = [
        Notification(
            complaint_id=complaint.id,
            event_id=event.id,
            channel=NotificationChannel.INBOX,
            recipient=recipient,
            template=template,
            body=body,
            public=False,
            status=NotificationStatus.DELIVERED,
            created_at=now,
            next_attempt_at=now,
            sent_at=now,
        )
        for recipient in recipients
    ]
    session.add_all(rows)
    return rows
