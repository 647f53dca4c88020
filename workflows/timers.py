"""The timer driver: APScheduler wakes the engine at the earliest pending level, plus a sweep.

The database holds every deadline; the scheduler holds two jobs, never one per deadline: ``wake`` (a date
job moved to the earliest pending level) and ``sweep`` (every minute, catching anything a wake missed).
Start-up reconciles at once, so levels that fell due while the service was down fire, once, with their
scheduled instant recorded. Run one driver per database on SQLite; on PostgreSQL the claims use row
locks, so several drivers fire each level once between them.
"""

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from models.db import Database
from workflows.clock import Clock
from workflows.config import DomainConfig
from workflows.deadlines import fire_due
from workflows.sla import earliest_pending

log = logging.getLogger(__name__)

WAKE_JOB = "complaintflow.timers.wake"
SWEEP_JOB = "complaintflow.timers.sweep"


class TimerDriver:
    def __init__(
        self,
        db: Database,
        config: DomainConfig,
        clock: Clock,
        scheduler: BackgroundScheduler | None = None,
        *,
        sweep_seconds: float = 60.0,
        batch_size: int = 500,
        on_fired: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.scheduler = scheduler or BackgroundScheduler(timezone="UTC")
        self.sweep_seconds = sweep_seconds
        self.batch_size = batch_size
        self.on_fired = on_fired
        self._run_lock = threading.Lock()
        self._again = threading.Event()
        self._wake_lock = threading.Lock()
        self._wake_at: datetime | None = None
        self.fired_total = 0

    def start(self) -> int:
        """Reconcile at once, then keep the wake and sweep jobs; returns the levels fired on start."""
        fired = self.run_due()
        self.scheduler.add_job(
            self.run_due,
            IntervalTrigger(seconds=self.sweep_seconds, timezone="UTC"),
            id=SWEEP_JOB,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        if not self.scheduler.running:
            self.scheduler.start()
        self._schedule_earliest()
        return fired

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def deadline_added(self, instant: datetime | None) -> None:
        """Tell the driver a level may now fall due earlier than the one it waits for."""
        if instant is None:
            return
        with self._wake_lock:
            if self._wake_at is not None and self._wake_at <= instant:
                return
        self._schedule_wake(instant)

    def run_due(self) -> int:
        """Fire everything due now, batch by batch; concurrent callers fold into one extra pass."""
        if not self._run_lock.acquire(blocking=False):
            self._again.set()
            return 0
        total = 0
        try:
            while True:
                self._again.clear()
                while True:
                    with self.db.write() as session:
                        fired = fire_due(session, self.clock.now(), self.config, self.batch_size)
                    total += fired
                    if fired < self.batch_size:
                        break
                if not self._again.is_set():
                    break
        except Exception:
            # Logged, not raised: the sweep comes back within a minute and the rows are still due.
            log.exception("firing due SLA levels failed; the next sweep retries")
        finally:
            self._run_lock.release()
        self.fired_total += total
        if total and self.on_fired is not None:
            self.on_fired(total)
        if self.scheduler.running:
            self._schedule_earliest()
        return total

    def _schedule_earliest(self) -> None:
        with self.db.read() as session:
            instant = earliest_pending(session)
        with self._wake_lock:
            self._wake_at = None
        if instant is not None:
            self._schedule_wake(instant)

    def _schedule_wake(self, instant: datetime) -> None:
        with self._wake_lock:
            self._wake_at = instant
            if not self.scheduler.running:
                return
            try:
                self.scheduler.add_job(
                    self.run_due,
                    DateTrigger(run_date=instant, timezone="UTC"),
                    id=WAKE_JOB,
                    replace_existing=True,
                    misfire_grace_time=None,
                    coalesce=True,
                )
            except Exception:
                log.exception("could not schedule the wake-up at %s; the sweep will catch it", instant)
