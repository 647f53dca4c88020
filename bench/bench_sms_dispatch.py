"""sms_dispatch: SMS dispatch through the real twilio library against the fake Twilio on loopback.

The fake Twilio (``tests/fakes/fake_twilio.py``, a real HTTP server) runs in this (the parent) process;
every sender runs in a child process (``python -m bench.bench_sms_dispatch --worker ...``) built from
``Settings`` read from the environment, exactly as ``app/runtime.py`` wires it (``Runtime(settings)``,
not started: its ``dispatcher`` with ``build_notifier``'s ``TwilioSmsNotifier``), so fake and sender each
have a core and neither is slowed by the other's GIL. Every message goes to libphonenumber's example
mobile (+8613123456789) with template ``received`` (sent at once: no quiet hours, no daily cap) and its
own body. Rows are bulk-inserted ``pending`` (not timed), one SQLite file per phase.

1. Throughput. Baseline: raw ``client.messages.create`` in a loop (same params as the notifier: To, From,
   Body, StatusCallback; no database), messages/s. Then ``Dispatcher.drain()`` over N queued rows
   (claim -> sending -> create -> sent) with the rate unlimited (``COMPLAINTFLOW_SMS_RATE_PER_SECOND=0``):
   messages/s, CPU ms per message, ratio to raw. Then the same with 50/s: achieved rate from the spacing of
   the send calls (first to last, the first call's one-off warm-up included; the steady rate without it
   is printed beside it), its deviation from 50 (target within 5 %). At 50/s, 5,000 messages take 100 s, so the
   paced phase defaults to ``--paced-n 800`` (16 s; the unlimited run alone takes ~40 s at today's
   ~120/s, and the whole default run should stay near 90 s); ``--paced-n 5000`` for the full count. The fake
   posts no status callbacks in this phase (``lifecycle=()``: messages stay ``queued``), so its callback
   thread does not compete with the fake's server for the parent's core.
2. Crash safety. ``--crash-n`` (1,000) pending rows, a fresh fake (messages go ``sent``; callbacks to a
   closed port, harmless). A dispatcher subprocess drains them unlimited; when 55 % reached the fake
   it gets SIGKILL (mid-claim: claimed rows not yet sent are left too, not only the one in flight).
   The rows left ``sending`` are counted (and which of them the fake had). After the
   reconcile-after delay a fresh subprocess runs ``reconcile_sending()`` (as ``Runtime.start`` does) then
   ``drain()`` (repeating reconcile + drain, like the dispatch tick, while rows are still ``sending``).
   Then per body: how often it reached the fake (duplicates > 1, missing 0; both must be 0) and DB rows
   not ``sent``. For a short bench the Twilio time-out is 1 s and the reconcile-after 1.5 s (it must
   exceed the time-out, which ``Settings`` enforces).

    python -m bench.bench_sms_dispatch [--n 5000] [--paced-n 800] [--rate 50] [--crash-n 1000]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import select

from bench._common import (
    EXAMPLE_MOBILE_E164,
    REPO,
    Report,
    bench_tempdir,
    free_port,
    percentile,
    python,
    ratio,
    sqlite_url,
    subprocess_env,
)
from models import Notification, NotificationChannel, NotificationStatus
from models.db import Database
from models.migrate import upgrade

TARGET_RATE_TOLERANCE = 0.05
WORKER_PREFIX = "WORKER-RESULT "
CHUNK = 5000
# For the crash phase only: short, so reconcile may decide the rows soon after the kill.
CRASH_TIMEOUT_S = 1.0
CRASH_RECONCILE_AFTER_S = 1.5


# -- the child process ------------------------------------------------------------------------------


def worker(mode: str, n: int, reconcile_first: bool) -> dict[str, Any]:
    """Run in a child: ``raw`` creates, or a dispatcher built from the environment's Settings."""
    from app.runtime import Runtime
    from app.settings import Settings

    settings = Settings()
    if mode == "raw":
        return _raw_creates(settings, n)
    runtime = Runtime(settings)
    dispatcher = runtime.dispatcher
    notifier = dispatcher.notifier
    stamps: list[float] = []
    send = notifier.send

    def timed_send(message: Any) -> Any:
        stamps.append(time.perf_counter())
        return send(message)

    notifier.send = timed_send  # type: ignore[method-assign]
    result: dict[str, Any] = {}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if reconcile_first:
        report = dispatcher.reconcile_sending()
        result["reconcile"] = {"sent": report.sent, "requeued": report.requeued}
        result["reconcile"] |= {"failed": report.failed, "unresolved": report.unresolved}
        result["reconcile_s"] = time.perf_counter() - wall0
    handled = dispatcher.drain()
    passes = 1
    # Like the dispatch tick: rows still ``sending`` (a time-out) are reconciled and sent on the next pass.
    while reconcile_first and passes < 10 and _count_status(runtime.db, NotificationStatus.SENDING):
        time.sleep(settings.sms_reconcile_after_seconds)
        again = dispatcher.reconcile_sending()
        result["later_reconciles"] = [*result.get("later_reconciles", []), asdict(again)]
        handled += dispatcher.drain()
        passes += 1
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    runtime.db.dispose()
    gaps = [b - a for a, b in pairwise(stamps)]
    result |= {"handled": handled, "sends": len(stamps), "wall_s": wall, "cpu_s": cpu, "passes": passes}
    result["spacing_rate"] = ratio(len(gaps), stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")
    # The first call pays the twilio library's lazy imports and the connection: reported apart.
    result["first_gap_ms"] = gaps[0] * 1000 if gaps else float("nan")
    steady = stamps[1:]
    result["steady_spacing_rate"] = (
        ratio(len(steady) - 1, steady[-1] - steady[0]) if len(steady) > 1 else float("nan")
    )
    result["gap_ms"] = {q: percentile(gaps, q) * 1000 for q in (50, 99, 100)} if gaps else {}
    return result


def _raw_creates(settings: Any, n: int) -> dict[str, Any]:
    from tests.fakes.fake_twilio import twilio_client

    twilio = settings.twilio
    client = twilio_client(
        twilio.api_base_url,
        twilio.account_sid,
        twilio.auth_token.get_secret_value(),
        timeout=settings.sms_timeout_seconds,
    )
    callback = settings.twilio_status_url
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for index in range(n):
        client.messages.create(
            to=EXAMPLE_MOBILE_E164,
            from_=twilio.from_number,
            body=body("raw", index),
            status_callback=callback,
        )
    return {"handled": n, "wall_s": time.perf_counter() - wall0, "cpu_s": time.process_time() - cpu0}


def _count_status(db: Database, status: NotificationStatus) -> int:
    with db.read() as session:
        return int(session.exec(select(func.count()).where(Notification.status == status)).one())


# -- the parent ------------------------------------------------------------------------------------


def body(tag: str, index: int) -> str:
    return f"【投诉处理】示例 {tag}-{index:06d}：您的投诉已受理，请留意后续进展。"


def prepare_db(path: Path, n: int, tag: str) -> str:
    """A fresh SQLite file with ``n`` pending SMS rows (distinct bodies), due now."""
    url = sqlite_url(path)
    upgrade(url)
    now = datetime.now(UTC)
    rows = [
        {
            "channel": NotificationChannel.SMS,
            "recipient": EXAMPLE_MOBILE_E164,
            "template": "received",
            "body": body(tag, index),
            "public": False,
            "status": NotificationStatus.PENDING,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now - timedelta(seconds=1),
        }
        for index in range(n)
    ]
    db = Database(url)
    for start in range(0, n, CHUNK):
        with db.write() as session:
            session.execute(insert(Notification), rows[start : start + CHUNK])
    db.dispose()
    return url


def worker_env(fake: Any, url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    from tests.fakes.fake_twilio import FAKE_FROM

    return subprocess_env(
        COMPLAINTFLOW_DATABASE_URL=url,
        COMPLAINTFLOW_DATA_DIR=str(data_dir),
        TWILIO_ACCOUNT_SID=fake.account_sid,
        TWILIO_AUTH_TOKEN=fake.auth_token,
        TWILIO_FROM=FAKE_FROM,
        TWILIO_API_BASE_URL=fake.base_url,
        # Nothing listens there: status callbacks (crash phase only) fail fast and are not needed.
        PUBLIC_BASE_URL=f"http://127.0.0.1:{free_port()}",
        COMPLAINTFLOW_SMS_QUIET_HOURS="22:00-08:00",
        COMPLAINTFLOW_SMS_DAILY_CAP="10",
        **extra,
    )


def worker_command(mode: str, n: int = 0, *, reconcile_first: bool = False) -> list[str]:
    command = [python(), "-m", "bench.bench_sms_dispatch", "--worker", mode, "--n", str(n)]
    return command + (["--reconcile-first"] if reconcile_first else [])


def run_worker(command: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    for line in done.stdout.splitlines():
        if line.startswith(WORKER_PREFIX):
            return dict(json.loads(line[len(WORKER_PREFIX) :]))
    raise RuntimeError(f"worker {command[4:]} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


def status_counts(url: str) -> dict[str, int]:
    db = Database(url)
    with db.read() as session:
        rows = session.exec(select(Notification.status, func.count()).group_by(Notification.status))
        counts = {str(status): int(count) for status, count in rows}
    db.dispose()
    return counts


def throughput(report: Report, args: argparse.Namespace, tmp: Path) -> tuple[float, float, float, bool]:
    """Raw creates, unlimited dispatch and paced dispatch; returns (dispatch/s, raw/s, rate, valid)."""
    from tests.fakes.fake_twilio import FakeTwilio

    valid = True
    with FakeTwilio(lifecycle=()) as fake:
        env = worker_env(fake, sqlite_url(tmp / "raw.db"), tmp / "raw", COMPLAINTFLOW_SMS_RATE_PER_SECOND="0")
        raw = run_worker(worker_command("raw", args.n), env, 600)
        raw_rate = raw["handled"] / raw["wall_s"]
        report.line("raw_create_per_s", raw_rate, "messages/s")
        report.line("raw_cpu_ms_per_message", raw["cpu_s"] * 1000 / raw["handled"], "ms")
        if len(fake.messages) != args.n:
            report.note(f"INVALID: the fake took {len(fake.messages)} raw creates, not {args.n}")
            valid = False
        fake.reset()

        url = prepare_db(tmp / "unlimited.db", args.n, "u")
        env = worker_env(fake, url, tmp / "unlimited", COMPLAINTFLOW_SMS_RATE_PER_SECOND="0")
        unlimited = run_worker(worker_command("dispatch", args.n), env, 600)
        rate = unlimited["sends"] / unlimited["wall_s"]
        report.line("dispatch_unlimited_per_s", rate, "messages/s")
        report.line("dispatch_cpu_ms_per_message", unlimited["cpu_s"] * 1000 / unlimited["sends"], "ms")
        report.line("dispatch_gap_p99_ms", unlimited["gap_ms"]["99"], "ms")
        report.line("ratio_dispatch_to_raw", ratio(rate, raw_rate), "x")
        valid &= check(report, "unlimited", url, fake, args.n)
        fake.reset()

        url = prepare_db(tmp / "paced.db", args.paced_n, "p")
        env = worker_env(fake, url, tmp / "paced", COMPLAINTFLOW_SMS_RATE_PER_SECOND=str(args.rate))
        report.note(
            f"paced run: {args.paced_n} messages at {args.rate:g}/s (--paced-n; 5,000 would take 100 s)"
        )
        paced = run_worker(worker_command("dispatch", args.paced_n), env, 600)
        achieved = float(paced["spacing_rate"])
        report.line("paced_configured_per_s", float(args.rate), "messages/s")
        report.line("paced_achieved_per_s", achieved, "messages/s")
        report.line("paced_deviation_pct", (achieved - args.rate) / args.rate * 100, "%")
        report.line("paced_steady_per_s", float(paced["steady_spacing_rate"]), "messages/s")
        report.line("paced_first_gap_ms", float(paced["first_gap_ms"]), "ms")
        report.line("paced_wall_per_s", paced["sends"] / paced["wall_s"], "messages/s")
        report.line("paced_gap_p50_ms", paced["gap_ms"]["50"], "ms")
        report.line("paced_gap_p99_ms", paced["gap_ms"]["99"], "ms")
        report.line("paced_gap_max_ms", paced["gap_ms"]["100"], "ms")
        valid &= check(report, "paced", url, fake, args.paced_n)
    return rate, raw_rate, achieved, valid


def quiet_about_resets(fake: Any) -> None:
    """Keep the fake's server from printing a traceback for the connection the SIGKILL resets."""
    server = fake._server
    report_error = server.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            report_error(request, client_address)

    server.handle_error = handle_error


def check(report: Report, phase: str, url: str, fake: Any, n: int) -> bool:
    counts = status_counts(url)
    bodies = Counter(message.body for message in fake.messages)
    if counts.get(NotificationStatus.SENT, 0) != n or len(bodies) != n or max(bodies.values()) != 1:
        report.note(f"INVALID {phase}: rows {counts}, {len(bodies)} distinct bodies at the fake for {n}")
        return False
    return True


def crash(report: Report, args: argparse.Namespace, tmp: Path) -> tuple[int, int, bool]:
    """kill -9 mid-drain, then reconcile + drain in a fresh process; returns (duplicates, missing, valid)."""
    from tests.fakes.fake_twilio import FakeTwilio

    n = args.crash_n
    valid = True
    url = prepare_db(tmp / "crash.db", n, "c")
    expected = {body("c", index) for index in range(n)}
    with FakeTwilio() as fake:
        quiet_about_resets(fake)
        env = worker_env(
            fake,
            url,
            tmp / "crash",
            COMPLAINTFLOW_SMS_RATE_PER_SECOND="0",
            COMPLAINTFLOW_SMS_TIMEOUT_SECONDS=str(CRASH_TIMEOUT_S),
            COMPLAINTFLOW_SMS_RECONCILE_AFTER_SECONDS=str(CRASH_RECONCILE_AFTER_S),
        )
        kill_at = max(1, int(n * args.kill_fraction))
        with open(tmp / "first-worker.log", "w") as log:
            first = subprocess.Popen(
                worker_command("dispatch", n), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log
            )
            deadline = time.monotonic() + 120
            while len(fake.messages) < kill_at and first.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            if first.poll() is None:
                os.kill(first.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            code = first.wait()
        at_kill = len(fake.messages)
        report.line("crash_received_at_kill", at_kill, "messages")
        if code != -signal.SIGKILL or not 0 < at_kill < n:
            report.note(f"INVALID crash: first worker exit {code}, {at_kill} of {n} at the fake at the kill")
            valid = False
        received = {message.body for message in fake.messages}
        db = Database(url)
        with db.read() as session:
            sending = list(
                session.exec(
                    select(Notification.body).where(Notification.status == NotificationStatus.SENDING)
                )
            )
        db.dispose()
        in_flight = sum(1 for text in sending if text in received)
        report.line("crash_rows_sending_at_kill", len(sending), "rows")
        report.line("crash_sending_rows_the_fake_had", in_flight, "rows")
        report.line(
            "crash_rows_pending_at_kill", status_counts(url).get(NotificationStatus.PENDING, 0), "rows"
        )

        # Reconcile looks only at attempts older than reconcile-after: start once they are.
        time.sleep(max(0.0, CRASH_RECONCILE_AFTER_S + 0.1 - (time.monotonic() - killed_at)))
        second = run_worker(worker_command("dispatch", n, reconcile_first=True), env, 300)
        rec = second["reconcile"]
        report.line("reconcile_sent", rec["sent"], "rows")
        report.line("reconcile_requeued", rec["requeued"], "rows")
        report.line("reconcile_failed", rec["failed"], "rows")
        report.line("reconcile_unresolved", rec["unresolved"], "rows")
        report.line("reconcile_s", float(second["reconcile_s"]), "s")
        report.line("recovery_sends", second["sends"], "messages")
        if second.get("later_reconciles"):
            report.note(f"later reconcile passes: {second['later_reconciles']}")
        arrivals = Counter(message.body for message in fake.messages)
    duplicates = sum(1 for text in expected if arrivals[text] > 1)
    missing = sum(1 for text in expected if arrivals[text] == 0)
    strays = sum(1 for text in arrivals if text not in expected)
    counts = status_counts(url)
    not_sent = n - counts.get(NotificationStatus.SENT, 0) - counts.get(NotificationStatus.DELIVERED, 0)
    report.line("crash_duplicates", duplicates, "bodies")
    report.line("crash_missing", missing, "bodies")
    report.line("crash_unexpected_bodies", strays, "bodies")
    report.line("crash_rows_not_sent", not_sent, "rows")
    report.note(f"crash: final row statuses {counts}")
    return duplicates, missing, valid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_sms_dispatch", description=__doc__)
    parser.add_argument("--n", type=int, default=5000, help="messages for the raw and unlimited runs")
    parser.add_argument("--paced-n", type=int, default=800, help="messages for the paced run (n / rate s)")
    parser.add_argument("--rate", type=float, default=50.0, help="configured rate of the paced run, per s")
    parser.add_argument("--crash-n", type=int, default=1000, help="messages in the kill -9 run")
    parser.add_argument(
        "--kill-fraction",
        type=float,
        default=0.55,
        help="kill once this share reached the fake (0.55: mid-claim, off the 100-row batch boundaries)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--worker", choices=("raw", "dispatch"), help=argparse.SUPPRESS)
    parser.add_argument("--reconcile-first", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        result = worker(args.worker, args.n, args.reconcile_first)
        print(WORKER_PREFIX + json.dumps(result), flush=True)
        return 0

    report = Report("sms_dispatch")
    with bench_tempdir("sms_dispatch", keep=args.keep) as tmp:
        started = time.perf_counter()
        rate, raw_rate, achieved, valid = throughput(report, args, tmp)
        report.line("phase_throughput_s", time.perf_counter() - started, "s")
        started = time.perf_counter()
        duplicates, missing, crash_valid = crash(report, args, tmp)
        report.line("phase_crash_s", time.perf_counter() - started, "s")
    rate_ok = abs(achieved - args.rate) <= TARGET_RATE_TOLERANCE * args.rate
    report.finish(
        headline=("dispatch unlimited", rate, "messages/s"),
        baseline=("raw create", raw_rate, "messages/s"),
        ratio=("dispatch/raw", ratio(rate, raw_rate)),
        target="50/s within 5 %; kill -9: 0 duplicates, 0 missing",
        met=rate_ok and duplicates == 0 and missing == 0,
        valid=valid and crash_valid,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
