"""intake_http: complaints filed per second through the real server, every row verified.

Starts ``python -m app serve`` on a free port with a fresh SQLite file (and COMPLAINTFLOW_DATA_DIR in a
temp folder), then POSTs N distinct complaints to /api/complaints with ``--concurrency`` clients from a
thread pool sharing one httpx connection pool. Afterwards it stops the server and counts the rows: the
complaint table must hold exactly N rows and exactly N answers must have been 201.

Baselines measured in the same run: GET /healthz at the same concurrency (the HTTP stack's ceiling,
measured before and after the intake phase and averaged), and ``intake()`` called in-process, one
transaction per complaint like the API route, on a fresh database (the domain's own ceiling).

    python -m bench.bench_intake_http [--n 3000] [--concurrency 16]
"""

import argparse
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench._common import (
    Report,
    bench_tempdir,
    complaint_body,
    free_port,
    percentile,
    proc_cpu_seconds,
    python,
    ratio,
    sqlite_url,
    subprocess_env,
)

TARGET_PER_S = 300.0


@dataclass
class Phase:
    name: str
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def per_s(self) -> float:
        return ratio(self.count, self.wall)

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


def run_phase(
    name: str,
    client: httpx.Client,
    n: int,
    concurrency: int,
    server_pid: int,
    request: Any,
) -> Phase:
    """Send ``n`` requests from ``concurrency`` threads; ``request(client, i)`` returns the response."""
    phase = Phase(name)
    lock = threading.Lock()
    next_index = iter(range(n))

    def worker() -> None:
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            started = time.perf_counter()
            try:
                response = request(client, i)
                status = response.status_code
                if status >= 300 and len(phase.errors) < 5:
                    phase.errors.append(f"{status}: {response.text[:300]}")
            except httpx.HTTPError as exc:
                status = -1
                if len(phase.errors) < 5:
                    phase.errors.append(repr(exc))
            elapsed = time.perf_counter() - started
            with lock:
                phase.latencies.append(elapsed)
                phase.statuses[status] += 1

    server_cpu = proc_cpu_seconds(server_pid)
    client_cpu = time.process_time()
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    phase.wall = time.perf_counter() - started
    phase.server_cpu = proc_cpu_seconds(server_pid) - server_cpu
    phase.client_cpu = time.process_time() - client_cpu
    return phase


def wait_ready(
    client: httpx.Client, server: subprocess.Popen[bytes], log_path: Path, timeout: float
) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if client.get("/healthz", timeout=2).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server was not ready after {timeout:.0f}s:\n{log_path.read_text()[-3000:]}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def start_profiler(output: Path | None, pid: int) -> subprocess.Popen[bytes] | None:
    """py-spy (``pip install py-spy``) sampling the server, written as collapsed stacks to ``output``."""
    if output is None:
        return None
    command = [
        "py-spy",
        "record",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "--rate",
        "100",
        "--nonblocking",
        "--gil",
    ]
    profiler = subprocess.Popen([*command, "--output", str(output.resolve())], stdout=subprocess.DEVNULL)
    time.sleep(1.0)
    return profiler


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(timeout=60)


def count_rows(db_path: Path, tag: str) -> dict[str, int]:
    with sqlite3.connect(db_path) as conn:
        return {
            "complaints": conn.execute("SELECT count(*) FROM complaint").fetchone()[0],
            "complaints_of_run": conn.execute(
                "SELECT count(DISTINCT channel_ref) FROM complaint WHERE channel_ref LIKE ?", (f"{tag}-%",)
            ).fetchone()[0],
            "clocks": conn.execute("SELECT count(*) FROM sla_clock").fetchone()[0],
            "notifications": conn.execute("SELECT count(*) FROM notification").fetchone()[0],
            "events": conn.execute("SELECT count(*) FROM complaint_event").fetchone()[0],
        }


def in_process_intake(tmp: Path, n: int) -> tuple[float, float]:
    """``intake()`` alone, one write transaction each (as the route does): complaints/s and CPU ms each."""
    from models import ComplaintCreate
    from models.db import Database
    from models.migrate import upgrade
    from workflows.config import DomainConfig
    from workflows.intake import intake

    url = sqlite_url(tmp / "inprocess.db")
    upgrade(url)
    db = Database(url)
    config = DomainConfig.load()
    submissions = [ComplaintCreate.model_validate(complaint_body(i, "INPROC")) for i in range(n)]
    for submission in submissions[:50]:  # warm the statement caches, as the server's are
        with db.write() as session:
            intake(session, submission, datetime.now(UTC), config)
    cpu = time.process_time()
    started = time.perf_counter()
    for submission in submissions[50:]:
        with db.write() as session:
            intake(session, submission, datetime.now(UTC), config)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    db.dispose()
    return (n - 50) / elapsed, cpu / (n - 50) * 1000


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=3000, help="complaints to POST (default 3000)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--healthz-n", type=int, default=3000, help="GET /healthz per baseline pass")
    parser.add_argument("--inprocess-n", type=int, default=500, help="complaints for the in-process baseline")
    parser.add_argument("--ready-timeout", type=float, default=120.0)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (database, server log)")
    parser.add_argument(
        "--profile",
        type=Path,
        help="record the server with py-spy during the intake phase (collapsed stacks)",
    )
    args = parser.parse_args(argv)

    report = Report("intake_http")
    tag = f"HTTP{int(time.time())}"
    with bench_tempdir("intake-http", args.keep) as tmp:
        db_path = tmp / "complaintflow.db"
        log_path = tmp / "server.log"
        port = free_port()
        command = [
            python(),
            "-m",
            "app",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database-url",
            sqlite_url(db_path),
        ]
        report.note(f"server: {' '.join(command)}  (cwd and COMPLAINTFLOW_DATA_DIR {tmp})")
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                command,
                cwd=tmp,
                env=subprocess_env(COMPLAINTFLOW_DATA_DIR=str(tmp)),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60) as client:
                report.line("server_ready_s", wait_ready(client, server, log_path, args.ready_timeout), "s")

                def healthz(c: httpx.Client, _i: int) -> httpx.Response:
                    return c.get("/healthz")

                def post(c: httpx.Client, i: int) -> httpx.Response:
                    return c.post("/api/complaints", json=complaint_body(i, tag))

                run_phase("warm-up", client, 300, args.concurrency, server.pid, healthz)
                before = run_phase("healthz", client, args.healthz_n, args.concurrency, server.pid, healthz)
                profiler = start_profiler(args.profile, server.pid)
                posts = run_phase("intake", client, args.n, args.concurrency, server.pid, post)
                stop_profiler(profiler)
                after = run_phase("healthz", client, args.healthz_n, args.concurrency, server.pid, healthz)
        finally:
            stop_server(server)
        rows = count_rows(db_path, tag)
        inprocess_per_s, inprocess_cpu_ms = in_process_intake(tmp, max(args.inprocess_n, 100))

        healthz_per_s = (before.per_s + after.per_s) / 2
        created = posts.statuses.get(201, 0)
        for phase in (before, posts, after):
            if phase.errors:
                report.note(f"{phase.name}: first errors: {phase.errors}")
        report.note(f"POST statuses: {dict(posts.statuses)}")
        report.line("n", args.n)
        report.line("concurrency", args.concurrency)
        report.line("complaints_per_s", posts.per_s, "complaints/s")
        report.line("intake_p50_ms", posts.ms(50), "ms")
        report.line("intake_p99_ms", posts.ms(99), "ms")
        report.line("intake_max_ms", posts.ms(100), "ms")
        report.line("healthz_per_s_before", before.per_s, "req/s")
        report.line("healthz_per_s_after", after.per_s, "req/s")
        report.line("healthz_per_s", healthz_per_s, "req/s (mean of before/after)")
        report.line("healthz_p50_ms", (before.ms(50) + after.ms(50)) / 2, "ms")
        report.line("healthz_p99_ms", (before.ms(99) + after.ms(99)) / 2, "ms")
        report.line("ratio_intake_to_healthz", ratio(posts.per_s, healthz_per_s))
        report.line("ratio_p50_intake_to_healthz", ratio(posts.ms(50), (before.ms(50) + after.ms(50)) / 2))
        report.line("server_cpu_ms_per_complaint", posts.server_cpu / max(posts.count, 1) * 1000, "ms")
        report.line(
            "server_cpu_ms_per_healthz",
            (before.server_cpu + after.server_cpu) / max(before.count + after.count, 1) * 1000,
            "ms",
        )
        report.line("server_cpu_utilisation_intake", posts.server_cpu / posts.wall, "cores")
        report.line("client_cpu_utilisation_intake", posts.client_cpu / posts.wall, "cores")
        report.line(
            "client_cpu_utilisation_healthz",
            (before.client_cpu / before.wall + after.client_cpu / after.wall) / 2,
            "cores",
        )
        report.line("inprocess_intake_per_s", inprocess_per_s, "complaints/s (intake() alone, 1 txn each)")
        report.line("inprocess_cpu_ms_per_complaint", inprocess_cpu_ms, "ms")
        report.line("ratio_http_to_inprocess", ratio(posts.per_s, inprocess_per_s))
        report.line(
            "ratio_server_cpu_to_inprocess_cpu",
            ratio(posts.server_cpu / max(posts.count, 1) * 1000, inprocess_cpu_ms),
        )
        report.line("status_201", created)
        report.line("rows_complaint", rows["complaints"])
        report.line("rows_clock", rows["clocks"])
        report.line("rows_notification", rows["notifications"])
        report.line("ratio_to_target", ratio(posts.per_s, TARGET_PER_S))
        verified = created == args.n and rows["complaints"] == args.n and rows["complaints_of_run"] == args.n
        report.line("rows_verified", verified)
        if not verified:
            report.note(f"VERIFICATION FAILED: 201s={created}, rows={rows}, expected {args.n}")
        return report.finish(
            headline=("complaints/s", posts.per_s, "/s"),
            baseline=("healthz req/s", healthz_per_s, "/s"),
            ratio=("intake/healthz", ratio(posts.per_s, healthz_per_s)),
            target=f">= {TARGET_PER_S:.0f} complaints/s, all rows committed",
            met=verified and posts.per_s >= TARGET_PER_S,
            valid=verified,
        )


if __name__ == "__main__":
    main()
