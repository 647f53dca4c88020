"""startup_reconcile: how long ``TimerDriver.start()`` takes on a database with 100,000 open clocks.

Builds (bulk Core inserts, not timed) a SQLite file with complaints and their running clocks under the
shipped policy: 80 % simple (response 12 h, resolution 48 h), 20 % complex (plus update 72 h), so about
2.2 clocks per complaint. Most complaints were received in the last 8.5 hours: every level of their
clocks is still ahead. About 1 % of the clocks are due: complaints received 9-18 hours ago whose
response warning (and, for some, breach) fell due "while the service was down".

Then, each in a fresh Python process (a cold engine; the file is in the OS page cache either way):
1. baseline: open the database and ``SELECT count(*)`` over the clock table;
2. ``upgrade()`` (as Runtime does on start, timed apart), then ``TimerDriver.start()`` with a real
   BackgroundScheduler: the reconcile fires every due level, then the wake is scheduled;
3. a second start on the same file, which must fire nothing.

    python -m bench.bench_startup_reconcile [--clocks 100000] [--due-fraction 0.01]
"""

import argparse
import json
import random
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from bench._common import Report, bench_tempdir, complaint_row, python, ratio, sqlite_url, subprocess_env
from models import Clock, ClockKind, ClockState, Complaint
from models.db import Database
from models.migrate import upgrade

TARGET_S = 5.0
HOUR = 3600.0
SIMPLE = ((ClockKind.RESPONSE, 12 * HOUR), (ClockKind.RESOLUTION, 48 * HOUR))
COMPLEX = (*SIMPLE, (ClockKind.UPDATE, 72 * HOUR))
LEVELS = (0.75, 1.0, 1.5)
CHUNK = 5000


def clock_row(complaint_id: int, kind: ClockKind, target: float, start: datetime) -> dict[str, Any]:
    """A running clock with no level fired yet: due when its warning is past (missed while down)."""
    next_at = start + timedelta(seconds=LEVELS[0] * target)
    return {
        "complaint_id": complaint_id,
        "kind": kind,
        "cycle": 1,
        "start_at": start,
        "target_seconds": target,
        "paused_seconds": 0.0,
        "due_at": start + timedelta(seconds=target),
        "state": ClockState.RUNNING,
        "levels_fired": 0,
        "next_level_at": next_at,
    }


def build(url: str, n_clocks: int, due_fraction: float, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    complaints: list[dict[str, Any]] = []
    clocks: list[dict[str, Any]] = []
    due_clocks = due_levels = 0
    # Due complaints contribute one due clock (the response) each; ~2.2 clocks per complaint.
    due_probability = due_fraction * 2.2
    index = 0
    while len(clocks) < n_clocks:
        index += 1
        complex_case = rng.random() < 0.2
        if rng.random() < due_probability:
            age = (
                rng.uniform(9 * HOUR, 11.9 * HOUR)
                if rng.random() < 0.8
                else rng.uniform(12 * HOUR, 17.9 * HOUR)
            )
            due_clocks += 1
            due_levels += sum(1 for f in LEVELS if f * 12 * HOUR <= age)
        else:
            age = rng.uniform(60, 8.5 * HOUR)
        received = now - timedelta(seconds=age)
        row = complaint_row(index, "RECON", received, now, complex_case=complex_case)
        row["id"] = index
        complaints.append(row)
        for kind, target in COMPLEX if complex_case else SIMPLE:
            if len(clocks) < n_clocks:
                clocks.append(clock_row(index, kind, target, received))
    db = Database(url)
    with db.write() as session:
        for start in range(0, len(complaints), CHUNK):
            session.execute(insert(Complaint), complaints[start : start + CHUNK])
        for start in range(0, len(clocks), CHUNK):
            session.execute(insert(Clock), clocks[start : start + CHUNK])
    db.dispose()
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:  # fold the WAL into the file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {
        "complaints": len(complaints),
        "clocks": len(clocks),
        "due_clocks": due_clocks,
        "due_levels": due_levels,
    }


def child(mode: str, url: str) -> None:
    """Run in a fresh process: one measurement, printed as a JSON line."""
    if mode == "count":
        started = time.perf_counter()
        db = Database(url)
        with db.read() as session:
            session.execute(text("SELECT 1")).one()
        opened = time.perf_counter() - started
        with db.read() as session:
            count = session.execute(text("SELECT count(*) FROM sla_clock")).scalar_one()
        counted = time.perf_counter() - started
        db.dispose()
        print(json.dumps({"open_s": opened, "count_s": counted, "count": count}))
        return

    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    from workflows.clock import SystemClock
    from workflows.config import DomainConfig
    from workflows.timers import TimerDriver

    started = time.perf_counter()
    upgrade(url)
    upgrade_s = time.perf_counter() - started
    config = DomainConfig.load()
    db = Database(url)
    scheduler = BackgroundScheduler(
        timezone="UTC", executors={"default": ThreadPoolExecutor(4)}, job_defaults={"coalesce": True}
    )
    driver = TimerDriver(db, config, SystemClock(), scheduler)
    reconcile: list[float] = []
    run_due = driver.run_due

    def timed_run_due() -> int:
        begun = time.perf_counter()
        try:
            return run_due()
        finally:
            reconcile.append(time.perf_counter() - begun)

    driver.run_due = timed_run_due  # type: ignore[method-assign]
    started = time.perf_counter()
    fired = driver.start()
    start_s = time.perf_counter() - started
    wake = scheduler.get_job("complaintflow.timers.wake")
    driver.stop()
    db.dispose()
    print(
        json.dumps(
            {
                "upgrade_s": upgrade_s,
                "start_s": start_s,
                "reconcile_s": reconcile[0] if reconcile else float("nan"),
                "fired": fired,
                "wake_scheduled": wake is not None,
            }
        )
    )


def run_child(mode: str, url: str, cwd: Path) -> dict[str, Any]:
    output = subprocess.run(
        [python(), "-m", "bench.bench_startup_reconcile", "--child", mode, "--url", url],
        cwd=cwd,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clocks", type=int, default=100_000, help="open clocks (default 100,000)")
    parser.add_argument("--due-fraction", type=float, default=0.01, help="share of clocks due (default 1%%)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child", choices=["count", "start"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.url)
        return None

    report = Report("startup_reconcile")
    with bench_tempdir("startup-reconcile", args.keep) as tmp:
        url = sqlite_url(tmp / "complaintflow.db")
        upgrade(url)
        started = time.perf_counter()
        built = build(url, args.clocks, args.due_fraction, args.seed)
        report.line("build_s", time.perf_counter() - started, "s (bulk insert, not part of the figure)")
        baseline = run_child("count", url, tmp)
        first = run_child("start", url, tmp)
        second = run_child("start", url, tmp)
        after = run_child("count", url, tmp)

    for key, value in built.items():
        report.line(key, value)
    report.line("baseline_open_s", baseline["open_s"], "s (cold engine, SELECT 1)")
    report.line("baseline_count_s", baseline["count_s"], "s (open + SELECT count(*) FROM sla_clock)")
    report.line("baseline_count_after_s", after["count_s"], "s (the same, after the starts)")
    report.line("upgrade_s", first["upgrade_s"], "s (alembic upgrade on start, not in start_s)")
    report.line("start_s", first["start_s"], "s (TimerDriver.start: reconcile + wake)")
    report.line("reconcile_s", first["reconcile_s"], "s (the run_due inside start)")
    report.line("fired_first_start", first["fired"])
    report.line("second_start_s", second["start_s"], "s")
    report.line("fired_second_start", second["fired"])
    report.line("wake_scheduled", first["wake_scheduled"] and second["wake_scheduled"])
    baseline_s = (baseline["count_s"] + after["count_s"]) / 2
    report.line("ratio_start_to_count", ratio(first["start_s"], baseline_s), "x")
    report.line("ratio_second_start_to_count", ratio(second["start_s"], baseline_s), "x")
    report.line("ratio_start_to_target", ratio(first["start_s"], TARGET_S))
    report.line("ms_per_fired_level", ratio(first["reconcile_s"] * 1000, first["fired"]), "ms")
    valid = (
        first["fired"] == built["due_levels"]
        and second["fired"] == 0
        and baseline["count"] == built["clocks"]
    )
    if not valid:
        report.note(
            f"CHECK FAILED: expected {built['due_levels']} then 0 levels, got {first['fired']}, {second['fired']}"
        )
    return report.finish(
        headline=("start() s", first["start_s"], "s"),
        baseline=("open + count(*) s", baseline_s, "s"),
        ratio=("start/count", ratio(first["start_s"], baseline_s)),
        target=f"start <= {TARGET_S:.0f} s with {built['clocks']} open clocks; second start fires 0",
        met=valid and first["start_s"] <= TARGET_S,
        valid=valid,
    )


if __name__ == "__main__":
    main()
