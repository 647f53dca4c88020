"""Run the benchmarks and print a summary table: ``python -m bench [NAME ...] [--quick] [-- ARGS]``.

Each benchmark runs in a fresh Python process (``python -m bench.bench_<name>``), prints its figures
live, and ends with a JSON result line that this runner collects. A registered benchmark whose module
is absent is listed as skipped. Exit status: 1 if a benchmark failed or its run was invalid (or, with
``--strict``, if a target was missed), else 0.
"""

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._common import REPO, RESULT_PREFIX, fmt, subprocess_env


@dataclass(frozen=True)
class Benchmark:
    name: str
    summary: str
    quick: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        return f"bench.bench_{self.name}"

    def present(self) -> bool:
        return importlib.util.find_spec(self.module) is not None


REGISTRY = (
    Benchmark(
        "intake_http",
        "POST /api/complaints through the real server vs GET /healthz",
        ("--n", "300", "--healthz-n", "300", "--inprocess-n", "100"),
    ),
    Benchmark(
        "timer_lateness",
        "lateness of a real TimerDriver, 10,000 levels due in 10 s, vs fire_due throughput",
        ("--levels", "1500", "--window", "3"),
    ),
    Benchmark(
        "scheduling_cost",
        "cost per deadline: clock rows + deadline_added vs an APScheduler job per deadline",
        ("--deadlines", "600", "--default-journal-deadlines", "300"),
    ),
    Benchmark(
        "startup_reconcile",
        "TimerDriver.start() over 100,000 open clocks vs SELECT count(*)",
        ("--clocks", "10000"),
    ),
    Benchmark(
        "sms_dispatch",
        "Dispatcher through twilio to the fake Twilio (unlimited, 50/s, kill -9 + reconcile) vs raw create",
        ("--n", "300", "--paced-n", "100", "--crash-n", "200"),
    ),
    # The import flow's benchmark: the lead adds bench/bench_import_rows.py; skipped until then.
    Benchmark("import_rows", "rows/s through the Prefect import flow vs the mapping reader alone"),
)


def run(bench: Benchmark, extra: list[str], timeout: float) -> tuple[dict[str, Any] | None, str, float]:
    """Run one benchmark; returns its result (or None), a status word and the seconds it took."""
    command = [sys.executable, "-m", bench.module, *extra]
    print(f"\n=== {bench.name}: {bench.summary}\n$ {' '.join(command)}", flush=True)
    started = time.perf_counter()
    result: dict[str, Any] | None = None
    process = subprocess.Popen(
        command, cwd=REPO, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if line.startswith(RESULT_PREFIX):
                result = json.loads(line[len(RESULT_PREFIX) :])
            else:
                print(f"  {line}", end="", flush=True)
            if time.perf_counter() - started > timeout:
                process.kill()
                break
        code = process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    elapsed = time.perf_counter() - started
    if result is None:
        return None, f"ERROR (exit {code})" if code else "ERROR (no result)", elapsed
    if not result.get("valid", True):
        return result, "INVALID", elapsed
    return result, "MET" if result["target"]["met"] else "MISSED", elapsed


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def shown(part: dict[str, Any]) -> str:
    unit = part.get("unit", "")
    return f"{part['name']}: {fmt(float(part['value']))}{(' ' + unit) if unit else ''}"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not figures to quote")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per benchmark")
    parser.add_argument("--json", type=Path, help="also write every result to this file")
    args = parser.parse_args(argv)

    known = {bench.name: bench for bench in REGISTRY}
    if args.list:
        for bench in REGISTRY:
            print(f"{bench.name:20s} {'' if bench.present() else '(absent) '}{bench.summary}")
        return 0
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [known[name] for name in args.names] if args.names else list(REGISTRY)
    if extra and len(chosen) != 1:
        parser.error("arguments after -- go to one benchmark: name exactly one")

    rows = [["benchmark", "result", "baseline (same run)", "ratio", "target", "status", "time"]]
    results: list[dict[str, Any]] = []
    failed = missed = False
    for bench in chosen:
        if not bench.present():
            print(f"\n=== {bench.name}: skipped ({bench.module} is absent)", flush=True)
            rows.append([bench.name, "-", "-", "-", "-", "SKIPPED (module absent)", "-"])
            continue
        bench_args = [*(bench.quick if args.quick else ()), *extra]
        result, status, elapsed = run(bench, bench_args, args.timeout)
        failed = failed or status.startswith(("ERROR", "INVALID"))
        missed = missed or status == "MISSED"
        if result is None:
            rows.append([bench.name, "-", "-", "-", "-", status, f"{elapsed:.0f}s"])
            continue
        results.append(result)
        rows.append(
            [
                bench.name,
                shown(result["headline"]),
                shown(result["baseline"]),
                f"{result['ratio']['name']} = {fmt(float(result['ratio']['value']))}",
                result["target"]["text"],
                status,
                f"{elapsed:.0f}s",
            ]
        )
    print("\n" + table(rows))
    if args.quick:
        print("(--quick: small sizes, a smoke run; the figures are not the ones to quote)")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return 1 if failed or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
