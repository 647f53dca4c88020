"""Helpers shared by the benchmarks: temp folders, percentiles, synthetic complaints, the JSON result line.

Every benchmark prints its figures as plain ``label: value unit`` lines and ends with one JSON line
(``{"bench": ..., "headline": ..., "baseline": ..., "ratio": ..., "target": ..., "figures": ...}``) that
``python -m bench`` reads to build its summary table. The machine is shared and noisy, so each figure
comes with a baseline measured in the same run and the ratio between them.
"""

import json
import math
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# libphonenumber's example mobile for China, not anybody's number; one for every synthetic complaint.
EXAMPLE_MOBILE = "131 2345 6789"
EXAMPLE_MOBILE_E164 = "+8613123456789"
RESULT_PREFIX = "BENCH-RESULT "

SIMPLE_TITLE = "执法检查中要求重复提交材料"
SIMPLE_DESCRIPTION = "我公司在本月的执法检查中被要求重复提交同一份材料，希望明确需要提交的清单。"
COMPLEX_TITLE = "跨部门执法检查频繁"
COMPLEX_DESCRIPTION = "市场监管和城管先后到店检查同一事项，要求提供的材料不一致，希望协调。"


@contextmanager
def bench_tempdir(name: str, keep: bool = False) -> Iterator[Path]:
    """A fresh folder for one run's database and logs (never the repository's data/)."""
    path = Path(tempfile.mkdtemp(prefix=f"complaintflow-bench-{name}-"))
    try:
        yield path
    finally:
        if keep:
            print(f"kept temporary files in {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python: the repository importable, nothing from the user's data/."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def fmt(value: float, digits: int = 3) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


@dataclass
class Report:
    """Collects one benchmark's figures, prints them as lines, and ends with the JSON result line."""

    bench: str
    figures: dict[str, Any] = field(default_factory=dict)

    def line(self, key: str, value: Any, unit: str = "", label: str | None = None) -> None:
        self.figures[key] = value
        shown = fmt(value) if isinstance(value, float) else str(value)
        print(f"{label or key}: {shown}{(' ' + unit) if unit else ''}", flush=True)

    def note(self, text: str) -> None:
        print(text, flush=True)

    def finish(
        self,
        *,
        headline: tuple[str, float, str],
        baseline: tuple[str, float, str],
        ratio: tuple[str, float],
        target: str,
        met: bool,
        valid: bool = True,
    ) -> dict[str, Any]:
        result = {
            "bench": self.bench,
            "headline": {"name": headline[0], "value": headline[1], "unit": headline[2]},
            "baseline": {"name": baseline[0], "value": baseline[1], "unit": baseline[2]},
            "ratio": {"name": ratio[0], "value": ratio[1]},
            "target": {"text": target, "met": bool(met)},
            "valid": bool(valid),
            "figures": self.figures,
        }
        status = "MET" if met else "MISSED"
        if not valid:
            status = "INVALID RUN"
        print(f"target ({target}): {status}", flush=True)
        print(RESULT_PREFIX + json.dumps(result, ensure_ascii=False, default=str), flush=True)
        return result


def complaint_body(index: int, tag: str, *, complex_case: bool = False) -> dict[str, Any]:
    """A distinct, valid hotline complaint: its own reference and enterprise (one example mobile for all).

    Distinct enterprises keep triage's repeat rule (same enterprise, open matter) from making every
    complaint after the first one complex.
    """
    return {
        "channel": "hotline",
        "channel_ref": f"{tag}-{index:07d}",
        "enterprise_name": f"示例科技{tag}第{index}有限公司",
        "contact_name": "测试用户",
        "contact_phone": EXAMPLE_MOBILE,
        "title": COMPLEX_TITLE if complex_case else SIMPLE_TITLE,
        "description": COMPLEX_DESCRIPTION if complex_case else SIMPLE_DESCRIPTION,
    }


def write_policy(
    path: Path,
    *,
    simple: tuple[float, float],
    complex_: tuple[float, float, float],
    levels: tuple[float, float, float] = (0.75, 1.0, 1.5),
) -> Path:
    """A policy TOML with targets in seconds: simple (response, resolution), complex (response, update, resolution)."""
    path.write_text(
        "\n".join(
            [
                "[levels]",
                f"warning = {levels[0]!r}",
                f"breach = {levels[1]!r}",
                f"escalation = {levels[2]!r}",
                "[targets.simple]",
                f"response = {simple[0]!r}",
                f"resolution = {simple[1]!r}",
                "[targets.complex]",
                f"response = {complex_[0]!r}",
                f"update = {complex_[1]!r}",
                f"resolution = {complex_[2]!r}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path


def fire_deadline(complaint_id: int, kind: str) -> None:
    """The job function of the job-per-deadline baseline (module level, so APScheduler can pickle it)."""


def complaint_row(
    index: int, tag: str, received_at: datetime, now: datetime, *, complex_case: bool
) -> dict[str, Any]:
    """A complaint row for bulk Core inserts (benchmarks that need many rows fast, not intake)."""
    from models import Channel, Complexity, Status
    from workflows.access import new_access_key

    local = received_at + timedelta(hours=8)
    return {
        "tracking_no": f"{local:%y%m%d}-{index:07d}-0",
        "access_key": new_access_key(),
        "channel": Channel.HOTLINE,
        "channel_ref": f"{tag}-{index:07d}",
        "received_at": received_at,
        "created_at": received_at,
        "updated_at": now,
        "enterprise_name": f"示例科技{tag}第{index}有限公司",
        "enterprise_key": f"示例科技{tag}第{index}有限公司",
        "contact_name": "测试用户",
        "contact_phone": EXAMPLE_MOBILE_E164,
        "title": COMPLEX_TITLE if complex_case else SIMPLE_TITLE,
        "description": COMPLEX_DESCRIPTION if complex_case else SIMPLE_DESCRIPTION,
        "complexity": Complexity.COMPLEX if complex_case else Complexity.SIMPLE,
        "triage_reasons": [{"rule": "default", "detail": "bench"}],
        "suggested_department": "market-regulation",
        "task_force": [],
        "status": Status.RECEIVED,
        "resolution_cycle": 1,
        "version": 1,
        "last_event_at": received_at,
    }


def python() -> str:
    return sys.executable
