"""The one place that wires the parts together: database, rules, timers, dispatch and notifier."""

import logging
import threading
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from app.intake_batcher import IntakeBatcher
from app.settings import Settings
from models.db import Database
from models.migrate import upgrade
from notifiers.base import Notifier
from notifiers.dispatch import Dispatcher, SendRate
from notifiers.file_notifier import FileNotifier
from notifiers.sending_window import SendingWindow, parse_quiet_hours
from notifiers.twilio_sms import TwilioSmsConfig, TwilioSmsNotifier
from workflows.clock import Clock as TimeSource
from workflows.clock import SystemClock
from workflows.config import DomainConfig
from workflows.departments import sync_departments
from workflows.policy import NotificationPolicy
from workflows.timers import TimerDriver

log = logging.getLogger(__name__)

DISPATCH_JOB = "complaintflow.dispatch"
DISPATCH_NOW_JOB = "complaintflow.dispatch.now"


def load_config(settings: Settings) -> DomainConfig:
    config = DomainConfig.load(
        str(settings.policy) if settings.policy else None, str(settings.routing) if settings.routing else None
    )
    if settings.public_base_url:
        notifications = NotificationPolicy(
            supervisor_recipient=config.policy.notifications.supervisor_recipient,
            public_base_url=settings.public_base_url,
        )
        config = DomainConfig(
            config.policy.model_copy(update={"notifications": notifications}), config.routing
        )
    return config


class SmsConfigError(ValueError):
    """Twilio is half configured: refuse to start rather than quietly write SMS to a file."""


def build_notifier(settings: Settings) -> Notifier:
    """Twilio when its settings are present, else the embedded file notifier."""
    twilio = settings.twilio
    if not twilio.given:
        return FileNotifier(settings.sms_outbox_path)
    if twilio.missing:
        raise SmsConfigError(
            f"Twilio is partly configured ({', '.join(twilio.given)} set): also set {', '.join(twilio.missing)}, "
            "or unset the Twilio settings to use the embedded notifier"
        )
    if not settings.public_base_url:
        raise SmsConfigError(
            "Twilio needs PUBLIC_BASE_URL (the https address Twilio reaches this service at): "
            "delivery receipts are posted to it and their signatures are checked against it"
        )
    assert twilio.account_sid is not None and twilio.auth_token is not None
    return TwilioSmsNotifier(
        TwilioSmsConfig(
            account_sid=twilio.account_sid,
            auth_token=twilio.auth_token,
            from_number=twilio.from_number,
            messaging_service_sid=twilio.messaging_service_sid,
            status_callback=settings.twilio_status_url,
            api_base_url=twilio.api_base_url,
            timeout_seconds=settings.sms_timeout_seconds,
        )
    )


class Runtime:
    def __init__(
        self,
        settings: Settings,
        clock: TimeSource | None = None,
        notifier: Notifier | None = None,
        *,
        migrate: bool = True,
        config: DomainConfig | None = None,
    ) -> None:
        """``config``: the rules already loaded from ``settings`` (the CLI checks them before anything else)."""
        self.settings = settings
        self.clock = clock or SystemClock()
        self.config = config or load_config(
            settings
        )  # a bad policy is refused before the database is touched
        if migrate:
            upgrade(settings.database_url)
        self.db = Database(settings.database_url)
        with self.db.write() as session:
            sync_departments(session, self.config.routing)
        self.scheduler = BackgroundScheduler(
            timezone="UTC", executors={"default": ThreadPoolExecutor(4)}, job_defaults={"coalesce": True}
        )
        self.notifier: Notifier = notifier or build_notifier(settings)
        self.dispatcher = Dispatcher(
            self.db,
            self.notifier,
            self.clock.now,
            rate=SendRate(settings.sms_rate_per_second),
            reconcile_after=timedelta(seconds=settings.sms_reconcile_after_seconds),
            window=SendingWindow(
                zone=self.config.zone,
                quiet_hours=parse_quiet_hours(settings.sms_quiet_hours),
                daily_cap=settings.sms_daily_cap,
            ),
        )
        self.timers = TimerDriver(
            self.db,
            self.config,
            self.clock,
            self.scheduler,
            sweep_seconds=settings.sweep_seconds,
            on_fired=lambda _count: self.kick_dispatch(),
        )
        self.intake = IntakeBatcher(self.db, self.config, self.clock)
        self.started = False
        self._dispatching = threading.Lock()
        self._dispatch_again = threading.Event()

    def start(self) -> int:
        """Reconcile the clocks and the SMS left ``sending``, then run timers and dispatch in the background."""
        fired = self.timers.start()
        self._reconcile_sending()
        self.scheduler.add_job(
            self._dispatch_tick,
            IntervalTrigger(seconds=self.settings.dispatch_seconds, timezone="UTC"),
            id=DISPATCH_JOB,
            replace_existing=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self.started = True
        self.kick_dispatch()
        return fired

    def stop(self) -> None:
        self.timers.stop()
        self.started = False
        self.intake.stop()
        self.db.dispose()

    def after_commit(self, earliest_level_at: datetime | None) -> None:
        """Move the wake-up earlier if needed and send the queued SMS soon."""
        if earliest_level_at is not None and self.started:
            self.timers.deadline_added(earliest_level_at)
        self.kick_dispatch()

    def kick_dispatch(self) -> None:
        """Send the outbox soon. Kicks during a running dispatch fold into one more pass of it."""
        if not self.started or not self.scheduler.running:
            return
        self._dispatch_again.set()
        if self._dispatching.locked():
            return
        try:
            self.scheduler.add_job(self._dispatch, id=DISPATCH_NOW_JOB, replace_existing=True)
        except Exception:
            log.exception("could not schedule dispatch; the interval job will send the outbox")

    def _dispatch_tick(self) -> None:
        # Rows a time-out left ``sending`` are decided here too, not only after a restart.
        self._reconcile_sending()
        self._dispatch()

    def _dispatch(self) -> None:
        if not self._dispatching.acquire(blocking=False):
            self._dispatch_again.set()
            return
        try:
            while True:
                self._dispatch_again.clear()
                self.dispatcher.drain()
                if not self._dispatch_again.is_set():
                    break
        except Exception:
            log.exception("dispatch failed; retrying on the next interval")
        finally:
            self._dispatching.release()

    def _reconcile_sending(self) -> None:
        try:
            self.dispatcher.reconcile_sending()
        except Exception:
            log.exception("reconciling SMS left sending failed; retrying on the next interval")
