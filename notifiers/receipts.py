"""Delivery receipts: move an SMS row forward on what the provider reports, never backward.

Status callbacks arrive out of order (a late ``sent`` after ``delivered``) and may repeat, so each status has
a rank and only a higher rank moves the row: accepted / scheduled / queued < sending < sent < delivered /
undelivered / failed / canceled < read. A final report keeps its error code.

A receipt can also arrive before its row holds the provider id: Twilio may post ``sent`` before dispatch has
stored the answer to the create call, and a message whose create call timed out is reported on before
reconciliation finds it. Such a receipt is held (``HeldReceipt``) and applied when the id is recorded.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete
from sqlmodel import Session, col, select

from models import HeldReceipt, Notification, NotificationStatus

log = logging.getLogger(__name__)

PROVIDER_STATUS_RANK: Final[dict[str, int]] = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "read": 5,
}
_FINAL: Final[dict[str, NotificationStatus]] = {
    "delivered": NotificationStatus.DELIVERED,
    "read": NotificationStatus.DELIVERED,
    "undelivered": NotificationStatus.UNDELIVERED,
    "failed": NotificationStatus.FAILED,
    "canceled": NotificationStatus.FAILED,
}
_ROW_RANK: Final[dict[NotificationStatus, int]] = {
    NotificationStatus.DELIVERED: 4,
    NotificationStatus.UNDELIVERED: 4,
    NotificationStatus.FAILED: 4,
}
HOLD_FOR: Final = timedelta(days=2)
"""Held receipts older than this are dropped: no row is going to claim them any more."""


@dataclass(frozen=True)
class ReceiptOutcome:
    """What a receipt did: ``known`` False when no row has the id (the receipt is held), ``applied`` False
    for a stale or unknown status."""

    known: bool
    applied: bool
    status: NotificationStatus | None = None
    provider_status: str | None = None


def apply_receipt(
    session: Session,
    provider_id: str,
    provider_status: str,
    now: datetime,
    *,
    error_code: str | None = None,
    error_message: str | None = None,
) -> ReceiptOutcome:
    """Record ``provider_status`` for the SMS sent as ``provider_id`` if it moves the row forward."""
    status = provider_status.strip().lower()
    statement = select(Notification).where(Notification.provider_id == provider_id).with_for_update()
    row = session.exec(statement).first()
    if row is None:
        if status in PROVIDER_STATUS_RANK:
            session.add(
                HeldReceipt(
                    provider_id=provider_id,
                    provider_status=status,
                    error_code=error_code,
                    error_message=error_message[:500] if error_message else None,
                    received_at=now,
                )
            )
        return ReceiptOutcome(known=False, applied=False)
    applied = move_forward(row, status, now, error_code, error_message)
    return ReceiptOutcome(True, applied, row.status, row.provider_status)


def apply_held_receipts(session: Session, row: Notification, now: datetime) -> int:
    """Apply the receipts held for ``row``'s provider id (call once the id is recorded); returns how many."""
    if not row.provider_id:
        return 0
    held = list(
        session.exec(
            select(HeldReceipt)
            .where(HeldReceipt.provider_id == row.provider_id)
            .order_by(col(HeldReceipt.id))
        )
    )
    for receipt in held:
        move_forward(row, receipt.provider_status, now, receipt.error_code, receipt.error_message)
        session.delete(receipt)
    return len(held)


def drop_stale_held_receipts(session: Session, now: datetime) -> int:
    """Forget held receipts no row claimed in ``HOLD_FOR`` (messages another system sent on the account)."""
    result = session.execute(delete(HeldReceipt).where(col(HeldReceipt.received_at) < now - HOLD_FOR))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def move_forward(
    row: Notification, status: str, now: datetime, error_code: str | None, error_message: str | None
) -> bool:
    """Apply ``status`` to ``row`` if it ranks above what the row already is; True when it did."""
    rank = PROVIDER_STATUS_RANK.get(status)
    current = max(PROVIDER_STATUS_RANK.get(row.provider_status or "", 0), _ROW_RANK.get(row.status, 0))
    if rank is None or rank <= current:
        return False
    row.provider_status = status
    final = _FINAL.get(status)
    if final is not None:
        row.status = final
    if final in (NotificationStatus.UNDELIVERED, NotificationStatus.FAILED):
        row.error_code = error_code or row.error_code
        row.error_message = (error_message or f"Twilio reported {status}")[:500]
    if row.sent_at is None:
        row.sent_at = now
    log.info("SMS %s (%s): %s", row.id, row.provider_id, status)
    return True


def apply_matched_held_receipts(session: Session, now: datetime) -> int:
    """Apply held receipts whose provider id a row now holds: the sweep behind ``apply_held_receipts``.

    On PostgreSQL a receipt held in one transaction and the id recorded in another, at the same moment,
    each miss the other; this pass catches that.
    """
    matched = session.exec(
        select(Notification)
        .where(col(Notification.provider_id).in_(select(HeldReceipt.provider_id)))
        .with_for_update()
    )
    return sum(apply_held_receipts(session, row, now) for row in list(matched))
