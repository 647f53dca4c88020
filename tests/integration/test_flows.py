"""Import and replay as real Prefect flows (ephemeral test server), on real SQLite files."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness
from rich.console import Console
from sqlmodel import col, func, select

from app.batch_cli import print_replay_report
from models import Complaint, Notification
from models.db import Database
from tests.conftest import REPO, T0
from workflows.flows.import_flow import import_file
from workflows.flows.replay_flow import replay_file

FIXTURES = REPO / "tests" / "fixtures"


SAMPLE_FAILURES = [
    (
        2,
        "contact_phone: '100-0000-0001' is not a valid phone number: give an 11-digit mobile such as "
        "131 2345 6789, a landline with its area code such as 010-12345678, or +country code for abroad",
    ),
    (4, "received_at: '2024-13-45 08:00:00' does not match %Y-%m-%d %H:%M:%S"),
    (5, "title: empty cell in column '标题'"),
    (7, "channel: 'web' is not one of 'hotline', 'app' or 'qr'"),
    (8, "responded_at: '2024-03-07 08:00:00' is before received_at '2024-03-07 12:00:00'"),
]


@pytest.fixture(scope="module", autouse=True)
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=180):
        yield


def test_import_lists_failed_rows_and_imports_the_rest(sqlite_url: str) -> None:
    sample = FIXTURES / "importing"
    report = import_file(
        str(sample / "complaints_sample.csv"), str(sample / "complaints_sample.toml"), sqlite_url, T0, None, 3
    )
    assert (report.rows, report.imported, report.duplicates) == (7, 2, 0)
    assert [(f.row_no, f.reason) for f in report.failures] == SAMPLE_FAILURES
    again = import_file(
        str(sample / "complaints_sample.csv"), str(sample / "complaints_sample.toml"), sqlite_url, T0, None, 3
    )
    assert (again.imported, again.duplicates) == (0, 2)
    db = Database(sqlite_url)
    with db.read() as session:
        assert session.exec(select(func.count()).select_from(Complaint)).one() == 2
        receipts = session.exec(
            select(Notification.template, Notification.channel, Notification.status)
        ).all()
    db.dispose()
    # No SMS blast from an import: each receipt waits on the enterprise's progress page.
    assert [tuple(r) for r in receipts] == [("received", "inbox", "delivered")] * 2


def test_import_sends_the_receipt_sms_only_when_asked(sqlite_url: str, tmp_path: Path) -> None:
    sample = FIXTURES / "importing"
    header = (sample / "complaints_sample.csv").read_text(encoding="utf-8").splitlines()[0]
    rows = [
        "M-1,hotline,示例测试庚有限公司,,周测试,131 2345 6789,检查程序问题,内容。,2024-03-08 09:00:00,,,",
        "M-2,qr,示例测试辛有限公司,,吴测试,131 2345 6789,检查程序问题,内容。,2024-03-08 10:00:00,,,",
    ]
    quiet, loud = tmp_path / "quiet.csv", tmp_path / "loud.csv"
    quiet.write_text("\n".join([header, rows[0]]) + "\n", encoding="utf-8")
    loud.write_text("\n".join([header, rows[1]]) + "\n", encoding="utf-8")
    mapping = str(sample / "complaints_sample.toml")
    assert import_file(str(quiet), mapping, sqlite_url, T0, None, 3).imported == 1
    assert import_file(str(loud), mapping, sqlite_url, T0, None, 3, send_sms=True).imported == 1
    db = Database(sqlite_url)
    with db.read() as session:
        receipts = session.exec(
            select(Notification.template, Notification.channel, Notification.status)
        ).all()
    db.dispose()
    assert [tuple(r) for r in receipts] == [
        ("received", "inbox", "delivered"),
        ("received", "sms", "pending"),
    ]


def test_replay_reports_exact_sla_outcomes(sqlite_url: str) -> None:
    replay = FIXTURES / "replay"
    result = replay_file(str(replay / "three_replies.csv"), str(replay / "three_replies.toml"), sqlite_url)
    report = result.report
    assert (result.rows, result.replayed, result.failures, result.skipped_steps) == (4, 4, [], [])
    assert report.by_complexity == {"simple": 3, "complex": 1}
    # Replies after 10 h, 30 h and 100 h; R-4 never answered (as of the last recorded step, 2024-03-05 15:00).
    response = report.clocks["response"]
    assert (response.met_on_time, response.met_late, response.open_overdue) == (1, 2, 1)
    resolution = report.clocks["resolution"]
    assert (resolution.met_on_time, resolution.met_late, resolution.open_overdue) == (3, 0, 1)
    assert report.time_to_response.median_hours == 30.0
    # R-3 (complex) got its reply after 100 h: its 72 h update clock breached before resolution stopped it.
    assert report.breached == {"response": 3, "resolution": 1, "update": 1}
    # R-1's reply at 10 h came after its warning (9 h): four warnings, three breaches and escalations.
    assert response.levels_fired == {"warning": 4, "breach": 3, "escalation": 3}
    # Only R-4 (simple, 79 h unanswered) reaches resolution levels: 36 h, 48 h and 72 h.
    assert resolution.levels_fired == {"warning": 1, "breach": 1, "escalation": 1}
    db = Database(sqlite_url)
    with db.read() as session:
        statuses = session.exec(
            select(Complaint.channel_ref, Complaint.status).order_by(col(Complaint.id))
        ).all()
    db.dispose()
    assert [(ref, str(status)) for ref, status in statuses] == [
        ("R-1", "resolved"),
        ("R-2", "resolved"),
        ("R-3", "resolved"),
        ("R-4", "assigned"),
    ]
    console = Console(width=80, record=True, color_system=None)
    print_replay_report(console, result)
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    assert max(len(line) for line in lines) <= 80
    table = lines[lines.index("                       Deadlines / 时限") + 1 :]
    assert table[:15] == [
        "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━┓",
        "┃                            ┃ response ┃ resolution ┃ update ┃",
        "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━┩",
        "│ clocks 时钟数              │        4 │          4 │      1 │",
        "│ met on time 按时           │        1 │          3 │      0 │",
        "│ met late 超时完成          │        2 │          0 │      0 │",
        "│ open, overdue 未完成已超时 │        1 │          1 │      0 │",
        "│ open, in time 未完成未超时 │        0 │          0 │      0 │",
        "│ stopped 已停止             │        0 │          0 │      1 │",
        "│ breached 超时合计          │        3 │          1 │      1 │",
        "│ warnings fired 预警        │        4 │          1 │      1 │",
        "│ breaches fired 超时提醒    │        3 │          1 │      1 │",
        "│ escalations fired 升级     │        3 │          1 │      0 │",
        "└────────────────────────────┴──────────┴────────────┴────────┘",
        "time to response: median 30.0 h, p90 86.0 h (n=3)",
    ]


def test_replay_lists_the_rows_intake_refuses_and_replays_the_rest(sqlite_url: str) -> None:
    sample = FIXTURES / "importing"
    replayed = replay_file(
        str(sample / "complaints_sample.csv"), str(sample / "complaints_sample.toml"), sqlite_url
    )
    assert (replayed.rows, replayed.replayed, replayed.report.complaints) == (7, 2, 2)
    # The same rows and reasons as the import lists: the phone refused by intake, the rest by the mapping.
    assert [(f.row_no, f.reason) for f in replayed.failures] == SAMPLE_FAILURES
