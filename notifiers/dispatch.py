"""Outbox dispatch: claim pending SMS rows, send them through a Notifier, record what the provider said.

A row is marked ``sending`` and committed before the provider is called, and the instant the call starts is
recorded on it, so a crash mid-call leaves a trace to reconcile instead of a silent resend. Temporary failures
come back later with bounded exponential backoff; permanent ones are marked failed with their code and never
retried. When the provider may have taken the message but did not say so (a read time-out), the row stays
``sending``: ``reconcile_sending`` later asks the provider (``Notifier.lookup_sent``) and marks it sent with the
provider's id, or puts it back to pending when the provider has nothing.

Sending is paced at a configurable rate (fixed spacing; ``0`` is unlimited), per dispatcher.

When the provider refuses our account or credentials (``SendFailure.account``), no message is to blame:
dispatch pauses (1 minute, doubling to 30), puts the row back to pending without counting the attempt,
logs what to fix, and sends nothing more until the pause ends; the first message accepted ends it.

When claiming, a row to a number that replied 退订 / STOP is failed with ``opted_out`` (it stays on the
progress page), and a row the sending window holds back (quiet hours, the daily cap per number) is marked
``held`` until the instant it may go, when it is claimed like a pending row.
"""

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from models import HeldReceipt, Notification, NotificationChannel, NotificationStatus, SmsOptOut
from models.db import Database
from notifiers.base import Notifier, OutcomeUnknown, OutgoingSms, SendFailure, SendResult
from notifiers.masking import mask_phone, mask_phones_in
from notifiers.receipts import (
    apply_held_receipts,
    apply_matched_held_receipts,
    drop_stale_held_receipts,
    move_forward,
)
from notifiers.sending_window import SendingWindow
from notifiers.templates import DISPATCH_NOTES, format_local

log = logging.getLogger(__name__)

DEFAULT_RECONCILE_AFTER = timedelta(seconds=30)
LOST_CODE = "unknown-outcome"
ACCOUNT_PAUSED_CODE = "account_paused"
OPTED_OUT_CODE = "opted_out"
# Rows that count toward a number's daily cap: sends that started today, whatever the provider said since.
_COUNTED = (
    NotificationStatus.SENDING,
    NotificationStatus.SENT,
    NotificationStatus.DELIVERED,
    NotificationStatus.UNDELIVERED,
)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    first_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(minutes=10)

    def delay(self, attempts: int) -> timedelta:
        return min(self.first_delay * (2 ** max(attempts - 1, 0)), self.max_delay)


class SendRate:
    """Space sends at least ``1 / per_second`` apart (``0``: no limit); thread-safe, on a monotonic clock."""

    def __init__(
        self,
        per_second: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second < 0 or math.isnan(per_second) or math.isinf(per_second):
            raise ValueError(f"send rate must be a number of messages per second ≥ 0, not {per_second!r}")
        self.per_second = per_second
        self.interval = 1.0 / per_second if per_second else 0.0
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_slot: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next send may start."""
        if not self.interval:
            return
        with self._lock:
            now = self._monotonic()
            slot = now if self._next_slot is None else max(now, self._next_slot)
            self._next_slot = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


@dataclass(frozen=True)
class AccountPause:
    """How long dispatch waits after the provider refused our account: doubling, bounded."""

    first: timedelta = timedelta(minutes=1)
    longest: timedelta = timedelta(minutes=30)

    def length(self, refusals_in_a_row: int) -> timedelta:
        return min(self.first * (2 ** max(refusals_in_a_row - 1, 0)), self.longest)


@dataclass(frozen=True)
class ReconcileReport:
    """What ``reconcile_sending`` did with the rows it found left ``sending``."""

    sent: int = 0
    requeued: int = 0
    failed: int = 0
    unresolved: int = 0


@dataclass(frozen=True)
class _Claimed:
    message: OutgoingSms
    attempts: int


class Dispatcher:
    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        now: Callable[[], datetime],
        *,
        batch_size: int = 100,
        retry: RetryPolicy | None = None,
        rate: SendRate | None = None,
        reconcile_after: timedelta = DEFAULT_RECONCILE_AFTER,
        window: SendingWindow | None = None,
        account_pause: AccountPause | None = None,
    ) -> None:
        """``reconcile_after``: how old an attempt must be before ``reconcile_sending`` may decide it.

        It must exceed the notifier's time-out, so a row another dispatcher is still sending is left alone.
        """
        self.db = db
        self.notifier = notifier
        self.now = now
        self.batch_size = batch_size
        self.retry = retry or RetryPolicy()
        self.rate = rate or SendRate(0)
        self.reconcile_after = reconcile_after
        self.window = window or SendingWindow()
        self.account_pause = account_pause or AccountPause()
        self._pause_lock = threading.Lock()
        self._paused_until: datetime | None = None
        self._account_refusals = 0

    @property
    def paused_until(self) -> datetime | None:
        """While the provider refuses our account: when the next try is due (else None)."""
        with self._pause_lock:
            until = self._paused_until
        return until if until is not None and until > self.now() else None

    @property
    def claim_size(self) -> int:
        """Rows claimed at once: a batch, or about one second's worth when the rate is limited."""
        if not self.rate.per_second:
            return self.batch_size
        return max(1, min(self.batch_size, math.ceil(self.rate.per_second)))

    def claim(self) -> list[OutgoingSms]:
        """Mark up to one batch of due rows ``sending`` in one committed transaction."""
        return [claimed.message for claimed in self._claim()[0]]

    def run_once(self) -> int:
        """Send one batch; returns how many rows were handled (sent, held or refused)."""
        claimed, decided = self._claim()
        for item in claimed:
            self._send(item)
        return len(claimed) + decided

    def drain(self) -> int:
        total = 0
        while handled := self.run_once():
            total += handled
            if handled < self.claim_size:
                break
        return total

    def reconcile_sending(self, older_than: timedelta | None = None) -> ReconcileReport:
        """Decide the rows left ``sending`` by a crash or a time-out, by asking the provider what it took.

        Found: sent, with the provider's id. Not found: pending again, to be sent now (failed once the
        attempts are used up). The provider unreachable: left ``sending`` for the next pass. Only attempts
        that started at least ``older_than`` ago (default ``reconcile_after``) are looked at.
        """
        now = self.now()
        cutoff = now - (self.reconcile_after if older_than is None else older_than)
        with self.db.read() as session:
            rows = list(
                session.exec(
                    select(Notification)
                    .where(Notification.channel == NotificationChannel.SMS)
                    .where(Notification.status == NotificationStatus.SENDING)
                    .order_by(col(Notification.id))
                )
            )
            any_held = session.exec(select(HeldReceipt.id).limit(1)).first() is not None
        if any_held:
            with self.db.write() as session:
                apply_matched_held_receipts(session, now)
                drop_stale_held_receipts(session, now)
        counts = {"sent": 0, "requeued": 0, "failed": 0, "unresolved": 0}
        for row in rows:
            started = row.attempt_started_at or row.next_attempt_at
            if started > cutoff:
                continue
            counts[self._reconcile(row, started)] += 1
        report = ReconcileReport(**counts)
        if any(counts.values()):
            log.info("reconciled SMS left sending: %s", report)
        return report

    # -- sending -------------------------------------------------------------------------------------

    def _claim(self) -> tuple[list[_Claimed], int]:
        """Claim due rows: the ones to send now, and how many were held back or refused instead."""
        now = self.now()
        with self.db.write() as session:
            statement = (
                select(Notification)
                .where(Notification.channel == NotificationChannel.SMS)
                .where(col(Notification.status).in_((NotificationStatus.PENDING, NotificationStatus.HELD)))
                .where(col(Notification.next_attempt_at) <= now)
                .order_by(col(Notification.id))
                .limit(self.claim_size)
            )
            if not self.db.is_sqlite:
                statement = statement.with_for_update(skip_locked=True)
            rows = list(session.exec(statement))
            recipients = {row.recipient for row in rows}
            opted_out = _opted_out(session, recipients)
            sent_today = self._sent_today(session, recipients, now) if self.window.daily_cap else {}
            claimed: list[_Claimed] = []
            decided = 0
            for row in rows:
                if row.recipient in opted_out:
                    self._refuse_opted_out(row)
                    decided += 1
                    continue
                hold = self.window.hold_until(row.template, now, sent_today.get(row.recipient, 0))
                if hold is not None:
                    self._hold(row, *hold)
                    decided += 1
                    continue
                sent_today[row.recipient] = sent_today.get(row.recipient, 0) + 1
                row.status = NotificationStatus.SENDING
                row.attempts += 1
                row.attempt_started_at = now
                claimed.append(_Claimed(OutgoingSms(row.id or 0, row.recipient, row.body), row.attempts))
            return claimed, decided

    def _sent_today(self, session: Session, recipients: set[str], now: datetime) -> dict[str, int]:
        """SMS whose sending started since local midnight, per recipient."""
        if not recipients:
            return {}
        statement = (
            select(Notification.recipient, func.count())
            .where(Notification.channel == NotificationChannel.SMS)
            .where(col(Notification.recipient).in_(recipients))
            .where(col(Notification.status).in_(_COUNTED))
            .where(col(Notification.attempt_started_at) >= self.window.day_start(now))
            .group_by(col(Notification.recipient))
        )
        return {recipient: count for recipient, count in session.exec(statement)}

    def _refuse_opted_out(self, row: Notification) -> None:
        row.status = NotificationStatus.FAILED
        row.error_code = OPTED_OUT_CODE
        row.error_message = DISPATCH_NOTES[OPTED_OUT_CODE]
        log.info("SMS %s to %s not sent: the number opted out", row.id, mask_phone(row.recipient))

    def _hold(self, row: Notification, until: datetime, reason: str) -> None:
        row.status = NotificationStatus.HELD
        row.next_attempt_at = until
        row.error_code = reason
        row.error_message = DISPATCH_NOTES[reason].format(until=format_local(until, self.window.zone))
        log.info(
            "SMS %s to %s held until %s (%s)",
            row.id,
            mask_phone(row.recipient),
            until.astimezone(self.window.zone).isoformat(),
            reason,
        )

    def _send(self, claimed: _Claimed) -> None:
        message = claimed.message
        until = self.paused_until
        if until is not None:  # claimed before the provider refused our account: wait with the rest
            self._release(claimed, until)
            return
        self.rate.wait()
        if not self._mark_started(claimed):
            log.info("SMS %s was reconciled while it waited to be sent; leaving it", message.notification_id)
            return
        try:
            result = self.notifier.send(message)
        except SendFailure as failure:
            if failure.account:
                self._pause_for_account(claimed, failure)
            else:
                self._record_failure(message, failure)
            return
        except OutcomeUnknown as unknown:
            self._record_unknown(message, unknown)
            return
        except Exception as exc:  # a bug before the request went out: treat as temporary
            reason = f"{type(exc).__name__}: {mask_phones_in(str(exc))}"
            log.error("sending notification %s failed unexpectedly: %s", message.notification_id, reason)
            log.debug("the unexpected failure", exc_info=True)
            self._record_failure(message, SendFailure("unexpected", reason[:400], permanent=False))
            return
        with self.db.write() as session:
            row = session.get(Notification, message.notification_id)
            if row is None:
                return
            if row.status not in (NotificationStatus.SENDING, NotificationStatus.PENDING):
                log.warning("SMS %s is already %s; provider id %s not recorded", row.id, row.status, result)
                return
            self._mark_sent(session, row, result)
        with self._pause_lock:
            self._account_refusals = 0

    def _pause_for_account(self, claimed: _Claimed, failure: SendFailure) -> None:
        with self._pause_lock:
            self._account_refusals += 1
            until = self.now() + self.account_pause.length(self._account_refusals)
            self._paused_until = until
        log.error(
            "the SMS provider refused our account or credentials (%s %s): check TWILIO_ACCOUNT_SID and "
            "TWILIO_AUTH_TOKEN and the account's status; SMS sending is paused until %s and nothing is lost",
            failure.code,
            mask_phones_in(failure.message),
            until.isoformat(),
        )
        self._release(claimed, until, failure.code)

    def _release(self, claimed: _Claimed, until: datetime, code: str = ACCOUNT_PAUSED_CODE) -> None:
        """Back to pending for ``until``; the attempt is not counted, the message did nothing wrong."""
        with self.db.write() as session:
            session.execute(
                update(Notification)
                .where(col(Notification.id) == claimed.message.notification_id)
                .where(col(Notification.status) == NotificationStatus.SENDING)
                .where(col(Notification.attempts) == claimed.attempts)
                .values(
                    status=NotificationStatus.PENDING,
                    attempts=claimed.attempts - 1,
                    next_attempt_at=until,
                    error_code=code,
                    error_message=DISPATCH_NOTES[ACCOUNT_PAUSED_CODE].format(
                        until=format_local(until, self.window.zone)
                    ),
                )
            )

    def _mark_started(self, claimed: _Claimed) -> bool:
        """Stamp the instant the call starts, if the row is still this claim's (nobody reconciled it)."""
        with self.db.write() as session:
            done = session.execute(
                update(Notification)
                .where(col(Notification.id) == claimed.message.notification_id)
                .where(col(Notification.status) == NotificationStatus.SENDING)
                .where(col(Notification.attempts) == claimed.attempts)
                .values(attempt_started_at=self.now())
            )
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def _mark_sent(self, session: Session, row: Notification, result: SendResult) -> None:
        now = self.now()
        row.status = NotificationStatus.SENT
        row.provider_id = result.provider_id
        row.provider_status = None
        row.sent_at = now
        row.segments = result.segments
        row.error_code = None
        row.error_message = None
        # A message found by reconciliation may already be delivered (or failed) at the provider.
        move_forward(row, result.status, now, None, None)
        apply_held_receipts(session, row, now)

    def _record_failure(self, message: OutgoingSms, failure: SendFailure) -> None:
        with self.db.write() as session:
            row = session.get(Notification, message.notification_id)
            if row is None:
                return
            reason = mask_phones_in(failure.message)
            row.error_code = failure.code
            row.error_message = reason[:500]
            if failure.permanent or row.attempts >= self.retry.max_attempts:
                row.status = NotificationStatus.FAILED
                log.warning(
                    "SMS %s to %s failed for good: %s %s",
                    row.id,
                    mask_phone(row.recipient),
                    failure.code,
                    reason,
                )
            else:
                row.status = NotificationStatus.PENDING
                row.next_attempt_at = self.now() + self.retry.delay(row.attempts)
                log.info(
                    "SMS %s to %s will be retried: %s %s",
                    row.id,
                    mask_phone(row.recipient),
                    failure.code,
                    reason,
                )

    def _record_unknown(self, message: OutgoingSms, unknown: OutcomeUnknown) -> None:
        with self.db.write() as session:
            row = session.get(Notification, message.notification_id)
            if row is None:
                return
            row.error_code = unknown.code
            row.error_message = mask_phones_in(unknown.message)[:500]
        log.warning(
            "SMS %s to %s: the provider may have taken it (%s); left sending until reconciled",
            message.notification_id,
            mask_phone(message.to),
            mask_phones_in(unknown.message),
        )

    # -- reconciling ---------------------------------------------------------------------------------

    def _reconcile(self, row: Notification, started: datetime) -> str:
        message = OutgoingSms(row.id or 0, row.recipient, row.body)
        with self.db.read() as session:
            exclude = self._known_provider_ids(session, row)
        try:
            found = self.notifier.lookup_sent(message, started, exclude=exclude)
        except Exception as exc:
            log.warning(
                "SMS %s: cannot ask the provider yet (%s); left sending", row.id, mask_phones_in(str(exc))
            )
            return "unresolved"
        with self.db.write() as session:
            statement = select(Notification).where(Notification.id == row.id).with_for_update()
            current = session.exec(statement).one_or_none()
            if (
                current is None
                or current.status != NotificationStatus.SENDING
                or current.attempts != row.attempts
            ):
                return "unresolved"  # another dispatcher decided it meanwhile
            if found is not None:
                self._mark_sent(session, current, found)
                log.info(
                    "SMS %s to %s had gone out as %s", row.id, mask_phone(row.recipient), found.provider_id
                )
                return "sent"
            if current.attempts >= self.retry.max_attempts:
                current.status = NotificationStatus.FAILED
                current.error_code = current.error_code or LOST_CODE
                log.warning(
                    "SMS %s to %s: never reached the provider; attempts used up",
                    row.id,
                    mask_phone(row.recipient),
                )
                return "failed"
            current.status = NotificationStatus.PENDING
            current.next_attempt_at = self.now()
            log.info(
                "SMS %s to %s never reached the provider; queued again", row.id, mask_phone(row.recipient)
            )
            return "requeued"

    @staticmethod
    def _known_provider_ids(session: Session, row: Notification) -> frozenset[str]:
        """Provider ids other rows to the same recipient already hold (identical bodies come from one complaint)."""
        statement = (
            select(Notification.provider_id)
            .where(Notification.recipient == row.recipient)
            .where(col(Notification.provider_id).is_not(None))
            .where(Notification.id != row.id)
        )
        if row.complaint_id is not None:
            statement = statement.where(Notification.complaint_id == row.complaint_id)
        return frozenset(pid for pid in session.exec(statement) if pid)


def _opted_out(session: Session, recipients: set[str]) -> set[str]:
    if not recipients:
        return set()
    statement = (
        select(SmsOptOut.phone)
        .where(col(SmsOptOut.phone).in_(recipients))
        .where(col(SmsOptOut.opted_in_at).is_(None))
    )
    return set(session.exec(statement))
