"""Group commit for intake: concurrent requests share one write transaction.

SQLite has one writer at a time; sixteen request threads each taking the write lock for a one-row
transaction spend their time waiting on each other. One writer thread instead drains whatever has
queued up (up to ``max_batch``) into a single ``intake_many`` call: the same checks, the same rows,
one commit. A request waits for its own outcome; nothing is answered before it is committed.
"""

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from models import ComplaintCreate
from models.db import Database
from workflows.clock import Clock
from workflows.config import DomainConfig
from workflows.intake import IntakeResult, intake_many

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    submission: ComplaintCreate
    future: Future[IntakeResult] = field(default_factory=Future)

    def answer(self, result: IntakeResult | BaseException) -> None:
        if isinstance(result, BaseException):
            self.future.set_exception(result)
        else:
            self.future.set_result(result)


class IntakeBatcher:
    def __init__(self, db: Database, config: DomainConfig, clock: Clock, *, max_batch: int = 64) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.max_batch = max_batch
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, submission: ComplaintCreate) -> "Future[IntakeResult]":
        """Queue one submission for the next batch; the future raises its ``InvalidInput`` if refused."""
        self._ensure_started()
        pending = _Pending(submission)
        self._queue.put(pending)
        return pending.future

    def stop(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join(timeout=10)
                self._thread = None

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="intake-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            self._file(batch)

    def _file(self, batch: list[_Pending]) -> None:
        try:
            self._file_together(batch)
        except IntegrityError:
            # Another instance filed the same reference meanwhile (PostgreSQL): one by one, each sees it.
            for pending in batch:
                self._file_alone(pending)
        except BaseException as exc:  # answered to every waiting request, never left hanging
            log.exception("intake batch of %d failed", len(batch))
            for pending in batch:
                pending.answer(exc)

    def _file_together(self, batch: list[_Pending]) -> None:
        with self.db.write() as session:
            outcomes = intake_many(session, [p.submission for p in batch], self.clock.now(), self.config)
        for pending, outcome in zip(batch, outcomes, strict=True):
            pending.answer(outcome)

    def _file_alone(self, pending: _Pending) -> None:
        for attempt in range(2):
            try:
                self._file_together([pending])
                return
            except IntegrityError as exc:
                if attempt:
                    pending.answer(exc)
            except BaseException as exc:
                log.exception("intake of %s failed", pending.submission.channel_ref)
                pending.answer(exc)
                return
