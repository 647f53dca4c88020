"""Outbox dispatch: claim pending SMS rows, send them through a Notifier, record what the provider said.

A row is marked ``sending`` and committed before the provider is called, so a crash mid-call leaves a
trace to reconcile instead of a silent resend. Temporary failures come back later with bounded
exponential backoff; permanent ones are marked failed with their code and never retried.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from models import Notification, NotificationChannel, NotificationStatus
from models.db import Database
from notifiers.base import Notifier, OutgoingSms, SendFailure
from notifiers.masking import mask_phone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    first_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(minutes=10)

    def delay(self, attempts: int) -> timedelta:
        return min(self.first_delay * (2 ** max(attempts - 1, 0)), self.max_delay)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        now: Callable[[], datetime],
        *,
        batch_size: int = 100,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.now = now
        self.batch_size = batch_size
        self.retry = retry or RetryPolicy()

    def claim(self) -> list[OutgoingSms]:
        """Mark up to one batch of due rows ``sending`` in one committed transaction."""
        now = self.now()
        with self.db.write() as session:
            statement = (
                select(Notification)
                .where(Notification.channel == NotificationChannel.SMS)
                .where(Notification.status == NotificationStatus.PENDING)
                .where(col(Notification.next_attempt_at) <= now)
                .order_by(col(Notification.id))
                .limit(self.batch_size)
            )
            if not self.db.is_sqlite:
                statement = statement.with_for_update(skip_locked=True)
            rows = list(session.exec(statement))
            for row in rows:
                row.status = NotificationStatus.SENDING
                row.attempts += 1
            return [OutgoingSms(row.id or 0, row.recipient, row.body) for row in rows]

    def run_once(self) -> int:
        """Send one batch; returns how many rows were handled."""
        claimed = self.claim()
        for message in claimed:
            self._send(message)
        return len(claimed)

    def drain(self) -> int:
        total = 0
        while handled := self.run_once():
            total += handled
            if handled < self.batch_size:
                break
        return total

    def _send(self, message: OutgoingSms) -> None:
        try:
            result = self.notifier.send(message)
        except SendFailure as failure:
            self._record_failure(message, failure)
            return
        except Exception as exc:  # a bug or an unknown transport error: treat as temporary
            log.exception("sending notification %s failed unexpectedly", message.notification_id)
            self._record_failure(message, SendFailure("unexpected", str(exc)[:400], permanent=False))
            return
        with self.db.write() as session:
            row = session.get(Notification, message.notification_id)
            if row is None:
                return
            row.status = NotificationStatus.SENT
            row.provider_id = result.provider_id
            row.sent_at = self.now()
            row.segments = result.segments
            row.error_code = None
            row.error_message = None

    def _record_failure(self, message: OutgoingSms, failure: SendFailure) -> None:
        with self.db.write() as session:
            row = session.get(Notification, message.notification_id)
            if row is None:
                return
            row.error_code = failure.code
            row.error_message = failure.message[:500]
            if failure.permanent or row.attempts >= self.retry.max_attempts:
                row.status = NotificationStatus.FAILED
                log.warning("SMS %s to %s failed for good: %s", row.id, mask_phone(row.recipient), failure)
            else:
                row.status = NotificationStatus.PENDING
                row.next_attempt_at = self.now() + self.retry.delay(row.attempts)
                log.info("SMS %s to %s will be retried: %s", row.id, mask_phone(row.recipient), failure)
