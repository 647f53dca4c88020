"""Import throughput: rows/s through the real Prefect import flow into a fresh SQLite file.

The input is the real fj3 message-board file (4,326 rows), repeated with fresh ids to ``--rows``
(default 20,000), so texts and lengths are real. Baseline in the same run: the mapping reader alone
(parse + validate, no database), the ceiling any import can reach. The Prefect ephemeral server is
started by a warm-up flow run first, so its ~25 s start-up is reported apart, not in the rate.
Target: ≥ 3,000 rows/s.
"""

import argparse
import csv
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from bench._common import REPO, Report, bench_tempdir, ratio, sqlite_url

FJ3 = REPO.parent / "shared" / "data" / "cn_teddycup2020" / "fj3_messages_votes_4326.csv"
MAPPING = REPO / "mappings" / "fj3.toml"


def build_input(path: Path, rows: int) -> int:
    """Write ``rows`` data rows: fj3 repeated, each copy with its own 留言编号."""
    with FJ3.open(encoding="utf-8-sig", newline="") as source:
        reader = csv.reader(source)
        header = next(reader)
        records = [r for r in reader if any(r)]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for i in range(rows):
            record = list(records[i % len(records)])
            record[0] = f"{record[0]}-{i // len(records)}"
            # Distinct users per copy, so the repeat-complaint rule sees the real pattern, not copies.
            record[1] = f"{record[1]}-{i // len(records)}"
            writer.writerow(record)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    args = parser.parse_args()
    report = Report("import_rows")
    if not FJ3.exists():
        report.note(f"skipped: {FJ3} is absent")
        report.finish(
            headline=("import", float("nan"), "rows/s"),
            baseline=("reader", float("nan"), "rows/s"),
            ratio=("import/reader", float("nan")),
            target="≥ 3,000 rows/s",
            met=False,
            valid=False,
        )
        return
    with bench_tempdir("import") as tmp:
        os.environ.setdefault("PREFECT_HOME", str(tmp / "prefect"))
        from app.prefect_env import configure_prefect

        configure_prefect(tmp / "prefect")
        from models.migrate import upgrade
        from workflows.flows.import_flow import import_file
        from workflows.importing import load_mapping, read_rows

        data = tmp / "input.csv"
        n = build_input(data, args.rows)
        mapping = load_mapping(MAPPING)
        started = time.perf_counter()
        read = sum(1 for row in read_rows(data, mapping) if row.ok)
        reader_rate = read / (time.perf_counter() - started)
        report.line("rows", n)
        report.line("reader_rows_per_s", reader_rate, "rows/s (baseline: parse + validate only)")

        warm = tmp / "warm.csv"
        build_input(warm, 10)
        warm_url = sqlite_url(tmp / "warm.db")
        upgrade(warm_url)
        started = time.perf_counter()
        import_file(str(warm), str(MAPPING), warm_url, datetime.now(UTC), None, args.chunk_size)
        report.line(
            "prefect_warmup_s", time.perf_counter() - started, "s (ephemeral server start + 1 flow run)"
        )

        url = sqlite_url(tmp / "import.db")
        upgrade(url)
        started = time.perf_counter()
        cpu = time.process_time()
        result = import_file(str(data), str(MAPPING), url, datetime.now(UTC), None, args.chunk_size)
        elapsed = time.perf_counter() - started
        cpu_used = time.process_time() - cpu
        rate = result.imported / elapsed
        report.line("imported", result.imported)
        report.line("failed", len(result.failures))
        report.line("import_rows_per_s", rate, "rows/s (flow run, every row committed)")
        report.line("import_cpu_ms_per_row", cpu_used / max(result.imported, 1) * 1000, "ms CPU per row")
        valid = result.imported == n and not result.failures
        report.finish(
            headline=("import", rate, "rows/s"),
            baseline=("reader", reader_rate, "rows/s"),
            ratio=("import/reader", ratio(rate, reader_rate)),
            target="≥ 3,000 rows/s",
            met=rate >= 3000,
            valid=valid,
        )


if __name__ == "__main__":
    main()
