"""Outbox dispatch with the embedded file notifier: crash reconciliation, pacing, the in-flight grace."""

import json
from datetime import timedelta

from app.runtime import Runtime
from notifiers.dispatch import Dispatcher, ReconcileReport, SendRate
from notifiers.file_notifier import FileNotifier
from tests.support.domain import file
from tests.support.factories import submission
from tests.support.sms import sms_rows
from workflows.clock import VirtualClock


def outbox_lines(runtime: Runtime) -> list[dict[str, object]]:
    path = runtime.settings.sms_outbox_path
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_rows_left_sending_are_sent_if_in_the_file_else_queued_again(
    runtime: Runtime, clock: VirtualClock
) -> None:
    for ref in ("WO-0001", "WO-0002"):
        file(runtime.db, runtime.config, submission(ref), clock.now())
    notifier = runtime.notifier
    assert isinstance(notifier, FileNotifier)
    written, lost = runtime.dispatcher.claim()
    went_out = notifier.send(written)  # then the process dies: neither row hears back

    clock.advance(timedelta(minutes=1))
    restarted = Dispatcher(runtime.db, FileNotifier(runtime.settings.sms_outbox_path), clock.now)
    assert restarted.reconcile_sending() == ReconcileReport(sent=1, requeued=1)
    assert [(r.id, r.status, r.provider_id) for r in sms_rows(runtime)] == [
        (written.notification_id, "sent", went_out.provider_id),
        (lost.notification_id, "pending", None),
    ]
    assert restarted.drain() == 1

    assert [line["notification_id"] for line in outbox_lines(runtime)] == [
        written.notification_id,
        lost.notification_id,
    ]
    assert [(r.status, r.attempts) for r in sms_rows(runtime)] == [("sent", 1), ("sent", 2)]


def test_a_row_still_within_the_grace_is_left_to_whoever_is_sending_it(
    runtime: Runtime, clock: VirtualClock
) -> None:
    file(runtime.db, runtime.config, submission(), clock.now())
    runtime.dispatcher.claim()

    clock.advance(timedelta(seconds=29))
    assert runtime.dispatcher.reconcile_sending() == ReconcileReport()
    assert [r.status for r in sms_rows(runtime)] == ["sending"]
    clock.advance(timedelta(seconds=1))
    assert runtime.dispatcher.reconcile_sending() == ReconcileReport(requeued=1)


def test_reconcile_fails_a_row_whose_attempts_are_used_up(runtime: Runtime, clock: VirtualClock) -> None:
    file(runtime.db, runtime.config, submission(), clock.now())
    for _ in range(runtime.dispatcher.retry.max_attempts):
        runtime.dispatcher.claim()
        clock.advance(timedelta(minutes=1))
        runtime.dispatcher.reconcile_sending()

    (row,) = sms_rows(runtime)
    assert (row.status, row.attempts, row.error_code) == ("failed", 6, "unknown-outcome")
    assert outbox_lines(runtime) == []


def test_unlimited_rate_sends_twenty_at_once(runtime: Runtime, clock: VirtualClock) -> None:
    for n in range(20):
        file(runtime.db, runtime.config, submission(f"WO-{n:04d}"), clock.now())
    slept: list[float] = []
    dispatcher = Dispatcher(runtime.db, runtime.notifier, clock.now, rate=SendRate(0, sleep=slept.append))

    assert dispatcher.drain() == 20

    assert slept == []  # no pacing at all: the rate limit is off
    assert len(outbox_lines(runtime)) == 20


class SteppingClock:
    """A monotonic clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 9))
        self.now += seconds


def test_send_rate_spaces_sends_evenly_and_lets_idle_time_count() -> None:
    steps = SteppingClock()
    rate = SendRate(4, monotonic=steps.monotonic, sleep=steps.sleep)

    for _ in range(3):
        rate.wait()
    steps.now += 10  # idle: the next send may go at once, but a burst does not
    rate.wait()
    rate.wait()

    assert steps.sleeps == [0.25, 0.25, 0.25]


def test_claims_are_about_one_seconds_worth_when_paced(runtime: Runtime, clock: VirtualClock) -> None:
    dispatcher = Dispatcher(runtime.db, runtime.notifier, clock.now, rate=SendRate(2.5))
    unpaced = Dispatcher(runtime.db, runtime.notifier, clock.now, batch_size=50)

    assert (dispatcher.claim_size, unpaced.claim_size) == (3, 50)
