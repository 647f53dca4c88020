"""timer_lateness: how late a real TimerDriver fires levels when 10,000 fall due within 10 seconds.

Set-up (not timed as lateness): a fresh SQLite file and a temp policy whose complex targets are
``R``, ``R + W/3`` and ``R + 2W/3`` seconds (R = 3600, W = the window, 10 s), so each complex complaint's
three clocks breach W/3 apart. ``n = levels / 3`` complaints go in through ``intake()`` (a few big
transactions), each received ``R - u`` seconds before the window start A, with ``u`` spread evenly over
``[0, W/3)``: their breaches (100 %) cover ``[A, A + W)`` evenly. Every received_at is in the past and
the clocks are exactly those intake writes. Their warnings (75 %) fell due long ago: firing them with
``fire_due`` in a loop, before the driver starts, is the **baseline** (fire_due throughput in levels/s,
on the very same rows and kind of work: one level per clock, its audit event, two staff messages).
Escalations (150 %) fall half an hour later and are not waited for.

Then, about 3 s before A, a real ``TimerDriver`` (real BackgroundScheduler, SystemClock, the Runtime's
executor settings) starts; the benchmark waits until every breach has fired and reads the ClockLevel
rows: lateness = fired_at - due_at (fired_at is the ``now`` of the transaction that fired the level).

    python -m bench.bench_timer_lateness [--levels 10000] [--window 10]
"""

import argparse
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func
from sqlmodel import col, select

from bench._common import Report, bench_tempdir, complaint_body, percentile, ratio, sqlite_url, write_policy
from models import ClockLevel, ComplaintCreate, LevelName
from models.db import Database
from models.migrate import upgrade
from workflows import intake as intake_module
from workflows.clock import SystemClock
from workflows.config import DomainConfig
from workflows.deadlines import fire_due
from workflows.timers import TimerDriver

TARGET_P99_S = 1.0
BASE_TARGET_S = 3600.0
INTAKE_TXN = 500  # complaints per set-up transaction


def make_policy(path: Path, window: float) -> DomainConfig:
    third = window / 3
    write_policy(
        path,
        simple=(BASE_TARGET_S, 2 * BASE_TARGET_S),
        complex_=(BASE_TARGET_S, BASE_TARGET_S + third, BASE_TARGET_S + 2 * third),
    )
    return DomainConfig.load(str(path))


def file_complaints(
    db: Database, config: DomainConfig, tag: str, anchor: datetime, n: int, span: float
) -> None:
    """Intake ``n`` complex complaints whose first breach falls at ``anchor + i * span / n``."""
    many = getattr(intake_module, "intake_many", None)  # the batch form, where the code has it
    for start in range(0, n, INTAKE_TXN):
        submissions = []
        for i in range(start, min(start + INTAKE_TXN, n)):
            body = complaint_body(i, tag, complex_case=True)
            body["received_at"] = anchor - timedelta(seconds=BASE_TARGET_S - i * span / n)
            submissions.append(ComplaintCreate.model_validate(body))
        with db.write() as session:
            if many is None:
                for submission in submissions:
                    intake_module.intake(session, submission, datetime.now(UTC), config)
                continue
            outcomes = many(session, submissions, datetime.now(UTC), config)
            refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
            if refused:
                raise refused[0]


def fire_all_due(db: Database, config: DomainConfig, batch: int) -> int:
    total = 0
    while True:
        with db.write() as session:
            fired = fire_due(session, datetime.now(UTC), config, batch)
        total += fired
        if fired < batch:
            return total


def calibrate(tmp: Path, config: DomainConfig, batch: int, n: int = 150) -> tuple[float, float]:
    """Seconds per intake and per warning fired, on a scratch database, to plan the window's start."""
    url = sqlite_url(tmp / "calibrate.db")
    upgrade(url)
    db = Database(url)
    anchor = datetime.now(UTC) + timedelta(seconds=60)
    started = time.perf_counter()
    file_complaints(db, config, "CAL", anchor, n, 1.0)
    per_intake = (time.perf_counter() - started) / n
    started = time.perf_counter()
    fired = fire_all_due(db, config, batch)
    per_level = (time.perf_counter() - started) / max(fired, 1)
    db.dispose()
    return per_intake, per_level


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--levels", type=int, default=10_000, help="levels falling due in the window")
    parser.add_argument("--window", type=float, default=10.0, help="seconds the levels are spread over")
    parser.add_argument("--start-lead", type=float, default=3.0, help="seconds from driver start to window")
    parser.add_argument("--batch-size", type=int, default=500, help="TimerDriver batch_size")
    parser.add_argument("--prep-lead", type=float, help="seconds planned for set-up (default: calibrated)")
    parser.add_argument("--timeout", type=float, default=180.0, help="give up waiting after the window")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    report = Report("timer_lateness")
    n = math.ceil(args.levels / 3)
    levels = 3 * n
    with bench_tempdir("timer-lateness", args.keep) as tmp:
        config = make_policy(tmp / "policy.toml", args.window)
        if args.prep_lead is None:
            per_intake, per_level = calibrate(tmp, config, args.batch_size)
            prep = 1.15 * (n * per_intake + levels * per_level) + 2.0
            report.note(
                f"calibration: {per_intake * 1000:.1f} ms/intake, {per_level * 1000:.2f} ms/level "
                f"-> planning {prep:.0f}s of set-up"
            )
        else:
            prep = args.prep_lead
        url = sqlite_url(tmp / "complaintflow.db")
        upgrade(url)
        db = Database(url)
        anchor = datetime.now(UTC) + timedelta(seconds=prep + args.start_lead)

        started = time.perf_counter()
        file_complaints(db, config, "LATE", anchor, n, args.window / 3)
        intake_s = time.perf_counter() - started

        # Baseline: fire_due alone over the warnings, the same rows and the same work per level.
        cpu = time.process_time()
        started = time.perf_counter()
        warnings = fire_all_due(db, config, args.batch_size)
        baseline_s = time.perf_counter() - started
        baseline_cpu = time.process_time() - cpu
        baseline_per_s = warnings / baseline_s

        slack = (anchor - datetime.now(UTC)).total_seconds() - args.start_lead
        valid = slack >= 0 and warnings == levels
        if slack > 0:
            time.sleep(slack)
        scheduler = BackgroundScheduler(
            timezone="UTC", executors={"default": ThreadPoolExecutor(4)}, job_defaults={"coalesce": True}
        )
        driver = TimerDriver(db, config, SystemClock(), scheduler, batch_size=args.batch_size)
        start_wall = datetime.now(UTC)
        fired_on_start = driver.start()
        deadline = time.perf_counter() + args.start_lead + args.window + args.timeout
        done = 0
        while time.perf_counter() < deadline:
            with db.read() as session:
                done = session.exec(
                    select(func.count()).select_from(ClockLevel).where(ClockLevel.level == LevelName.BREACH)
                ).one()
            if done >= levels:
                break
            time.sleep(0.25)
        driver.stop()
        with db.read() as session:
            rows = list(
                session.exec(
                    select(ClockLevel.due_at, ClockLevel.fired_at)
                    .where(ClockLevel.level == LevelName.BREACH)
                    .order_by(col(ClockLevel.due_at))
                )
            )
        db.dispose()

    lateness = [(fired - due).total_seconds() for due, fired in rows]
    wakes = len({fired for _due, fired in rows})
    first_due = min((due for due, _ in rows), default=anchor)
    last_fired = max((fired for _, fired in rows), default=anchor)
    achieved = ratio(len(rows), (last_fired - first_due).total_seconds())
    demand = levels / args.window
    p99 = percentile(lateness, 99)

    report.line("levels_expected", levels)
    report.line("levels_fired", len(rows))
    report.line("complaints", n)
    report.line("setup_intake_s", intake_s, "s")
    report.line("driver_start_to_window_s", (anchor - start_wall).total_seconds(), "s")
    report.line("fired_on_start", fired_on_start)
    report.line("lateness_p50_ms", percentile(lateness, 50) * 1000, "ms")
    report.line("lateness_p90_ms", percentile(lateness, 90) * 1000, "ms")
    report.line("lateness_p99_ms", p99 * 1000, "ms")
    report.line("lateness_max_ms", max(lateness, default=math.nan) * 1000, "ms")
    report.line("lateness_min_ms", min(lateness, default=math.nan) * 1000, "ms")
    for second in range(math.ceil(args.window)):
        chunk = [
            lat
            for (due, _f), lat in zip(rows, lateness, strict=True)
            if second <= (due - anchor).total_seconds() < second + 1
        ]
        report.line(
            f"lateness_p99_ms_second_{second}",
            percentile(chunk, 99) * 1000,
            "ms",
            f"  due in second {second}: p99",
        )
    report.line("wakes", wakes, "", "fire_due transactions that fired breaches")
    report.line("levels_per_wake", ratio(len(rows), wakes))
    report.line("demand_levels_per_s", demand, "levels/s")
    report.line("achieved_levels_per_s", achieved, "levels/s (first due to last fired)")
    report.line("baseline_fire_due_levels_per_s", baseline_per_s, "levels/s (fire_due alone)")
    report.line("baseline_fire_due_cpu_ms_per_level", baseline_cpu / max(warnings, 1) * 1000, "ms")
    report.line("ratio_demand_to_fire_due", ratio(demand, baseline_per_s))
    report.line("ratio_p99_to_target", ratio(p99, TARGET_P99_S))
    valid = valid and len(rows) == levels and fired_on_start == 0
    if not valid:
        report.note(
            f"INVALID RUN: slack={slack:.1f}s warnings={warnings} fired_on_start={fired_on_start} "
            f"breaches={len(rows)}/{levels}: rerun with a larger --prep-lead"
        )
    return report.finish(
        headline=("lateness p99", p99 * 1000, "ms"),
        baseline=("fire_due levels/s", baseline_per_s, "/s"),
        ratio=("p99 / 1 s target", ratio(p99, TARGET_P99_S)),
        target=f"lateness p99 <= {TARGET_P99_S:.0f} s for {levels} levels in {args.window:g} s",
        met=valid and p99 <= TARGET_P99_S,
        valid=valid,
    )


if __name__ == "__main__":
    main()
