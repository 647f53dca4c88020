"""POST /api/complaints over HTTP on a real SQLite file: bodies, idempotency, every bad input."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from app.runtime import Runtime
from models import Complaint, ComplaintEvent, Notification
from tests.support.factories import EXAMPLE_MOBILE_E164, credit_code_with_check, submission_data


def counts(runtime: Runtime) -> tuple[int, int, int]:
    with runtime.db.read() as session:
        return (
            session.exec(select(func.count()).select_from(Complaint)).one(),
            session.exec(select(func.count()).select_from(ComplaintEvent)).one(),
            session.exec(select(func.count()).select_from(Notification)).one(),
        )


def test_intake_returns_tracking_number_and_exact_deadlines(client: TestClient) -> None:
    answer = client.post("/api/complaints", json=submission_data(received_at="2026-12-03T07:30:00+08:00"))
    assert answer.status_code == 201
    body = answer.json()
    assert body["tracking_no"] == "261203-0001-2"
    assert body["status"] == "received"
    assert body["version"] == 1
    assert body["complexity"] == "simple"
    assert body["triage_reasons"] == [{"rule": "default", "detail": "no complex rule matched"}]
    assert body["contact_phone"] == EXAMPLE_MOBILE_E164
    assert [(c["kind"], c["due_at"], c["state"]) for c in body["clocks"]] == [
        ("response", "2026-12-03T11:30:00Z", "running"),
        ("resolution", "2026-12-04T23:30:00Z", "running"),
    ]
    assert body["clocks"][0]["levels"] == [
        {"level": "warning", "due_at": "2026-12-03T08:30:00Z", "fired_at": None},
        {"level": "breach", "due_at": "2026-12-03T11:30:00Z", "fired_at": None},
        {"level": "escalation", "due_at": "2026-12-03T17:30:00Z", "fired_at": None},
    ]


def test_intake_queues_received_sms_with_tracking_number_and_promises(
    client: TestClient, runtime: Runtime
) -> None:
    filed = client.post("/api/complaints", json=submission_data(received_at="2026-12-03T07:30:00+08:00"))
    with runtime.db.read() as session:
        (sms,) = session.exec(select(Notification)).all()
        (key,) = session.exec(select(Complaint.access_key)).all()
    assert filed.json()["progress_url"] == f"https://ts.example.gov.cn/p/{key}"
    assert (sms.channel, sms.recipient, sms.status, sms.template) == (
        "sms",
        EXAMPLE_MOBILE_E164,
        "pending",
        "received",
    )
    assert sms.body == (
        "【即诉即办】您的投诉已受理，受理编号261203-0001-2，将于12月3日19:30前响应、12月5日07:30前办结。"
        f"进度：https://ts.example.gov.cn/p/{key}"
    )


def test_repeated_channel_ref_returns_the_complaint_already_filed(
    client: TestClient, runtime: Runtime
) -> None:
    first = client.post("/api/complaints", json=submission_data("WO-77"))
    again = client.post("/api/complaints", json=submission_data("WO-77", title="另一个标题"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    other_channel = client.post("/api/complaints", json=submission_data("WO-77", channel="app"))
    assert other_channel.status_code == 201
    assert counts(runtime)[0] == 2


def test_complex_triage_records_every_rule_that_matched(client: TestClient) -> None:
    text = "区市场监管局和综合执法局多次上门检查，涉及跨部门问题。"
    body = client.post("/api/complaints", json=submission_data(description=text)).json()
    assert body["complexity"] == "complex"
    assert body["triage_reasons"] == [
        {
            "rule": "multi_department",
            "detail": "区市场监督管理局、区综合行政执法局",
            "departments": ["market-regulation", "law-enforcement"],
        },
        {"rule": "keyword", "detail": "跨部门、多次"},
    ]
    assert body["suggested_department"] == "market-regulation"


def test_repeat_complaint_of_same_enterprise_within_30_days_is_complex(client: TestClient) -> None:
    code = credit_code_with_check("91510100MA6CXXXX0")
    first = client.post("/api/complaints", json=submission_data("A1", credit_code=code)).json()
    second = client.post(
        "/api/complaints",
        json=submission_data("A2", credit_code=code, enterprise_name="示例商贸公司（分店）"),
    ).json()
    assert first["complexity"] == "simple"
    assert second["complexity"] == "complex"
    assert second["triage_reasons"] == [{"rule": "repeat_complaint", "detail": first["tracking_no"]}]


def test_category_routes_and_complex_category(client: TestClient) -> None:
    simple = client.post("/api/complaints", json=submission_data("C1", category="市场监管")).json()
    complex_ = client.post(
        "/api/complaints", json=submission_data("C2", category="综合执法", enterprise_name="另一家")
    ).json()
    assert (simple["suggested_department"], simple["complexity"]) == ("market-regulation", "simple")
    assert complex_["triage_reasons"] == [{"rule": "complex_category", "detail": "综合执法"}]


BAD_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    (
        "bad phone",
        {"contact_phone": "12345"},
        "contact_phone: '12345' is not a valid phone number: give an 11-digit mobile such as 131 2345 6789, "
        "a landline with its area code such as 010-12345678, or +country code for abroad",
    ),
    (
        "bad credit code",
        {"credit_code": "91510100MA6CXXXX0X"},
        "credit_code: '91510100MA6CXXXX0X' is not a valid unified social credit code: the check character "
        "(the last one) does not match: re-read the code from the business licence",
    ),
    (
        "short credit code",
        {"credit_code": "9151010"},
        "credit_code: '9151010' is not a valid unified social credit code: must be 18 characters, got 7",
    ),
    (
        "text too long",
        {"description": "长" * 4001},
        "description: String should have at most 4000 characters",
    ),
    ("unknown channel", {"channel": "fax"}, "channel: Input should be 'hotline', 'app' or 'qr'"),
    ("missing phone on hotline", {"contact_phone": None}, "contact_phone: required for the hotline channel"),
    ("unknown field", {"priority": "high"}, "priority: unknown field: remove it"),
    (
        "naive received_at",
        {"received_at": "2026-12-03T07:30:00"},
        "received_at: Input should have timezone info",
    ),
    (
        "received_at in year 1",
        {"received_at": "0001-01-01T00:00:00Z"},
        "received_at: 0001-01-01T00:00:00+00:00 is before 2000-01-01; check the date",
    ),
    (
        "NUL in description",
        {"description": "正常文字\u0000"},
        "description: contains a control character (such as NUL); remove it",
    ),
    (
        "bidi override in title",
        {"title": "检查\u202e问题"},
        "title: contains a control character (such as NUL); remove it",
    ),
    (
        "future received_at",
        {"received_at": "2026-12-04T08:00:00+08:00"},
        "received_at: 2026-12-04T08:00:00+08:00 is in the future (more than 5 minutes ahead of this service's "
        "clock); check the sending system's clock",
    ),
]


@pytest.mark.parametrize(("case", "change", "message"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_written(
    client: TestClient, runtime: Runtime, case: str, change: dict[str, Any], message: str
) -> None:
    client.post("/api/complaints", json=submission_data("KEEP-1"))
    before = counts(runtime)
    answer = client.post("/api/complaints", json=submission_data("BAD-1", **change))
    assert answer.status_code == 422, case
    assert answer.json()["detail"] == message
    assert counts(runtime) == before


def test_unknown_category_lists_the_categories(client: TestClient) -> None:
    answer = client.post("/api/complaints", json=submission_data(category="外星事务"))
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith(
        "category: unknown category '外星事务'; use one of: 交通运输、党务政务"
    )


def test_body_that_is_not_json_is_refused(client: TestClient) -> None:
    answer = client.post(
        "/api/complaints", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422
    assert "not valid JSON" in answer.json()["detail"]
    unreadable = client.post(
        "/api/complaints", content=b'{"title": "\xff\xfe"}', headers={"content-type": "application/json"}
    )
    assert (unreadable.status_code, unreadable.json()) == (
        400,
        {
            "detail": "body: the body could not be read; send UTF-8 JSON with content-type: application/json",
            "errors": [
                {
                    "field": "body",
                    "message": "the body could not be read; send UTF-8 JSON with content-type: application/json",
                }
            ],
        },
    )
    plain = client.post("/api/complaints", content=b"hello", headers={"content-type": "text/plain"})
    assert (plain.status_code, plain.json()["detail"]) == (
        422,
        "body: send a JSON object with content-type: application/json",
    )


def test_a_channel_clock_slightly_ahead_is_taken_as_now(client: TestClient) -> None:
    ahead = client.post("/api/complaints", json=submission_data(received_at="2026-12-03T08:04:59+08:00"))
    assert ahead.status_code == 201
    assert ahead.json()["received_at"] == "2026-12-03T00:00:00Z"
    response = next(c for c in ahead.json()["clocks"] if c["kind"] == "response")
    assert response["due_at"] == "2026-12-03T12:00:00Z"  # 12 h from now, not from the sender's clock


def test_landline_gets_no_sms_but_a_message_on_the_progress_page(
    client: TestClient, runtime: Runtime
) -> None:
    client.post("/api/complaints", json=submission_data(contact_phone="010-12345678"))
    with runtime.db.read() as session:
        (message,) = session.exec(select(Notification)).all()
    assert (message.channel, message.recipient, message.status) == ("inbox", "enterprise", "delivered")


def test_long_width_folding_name_still_files(client: TestClient) -> None:
    assert client.post("/api/complaints", json=submission_data(enterprise_name="㈱" * 200)).status_code == 201


def test_health_answers_get_and_head(client: TestClient) -> None:
    assert client.get("/healthz").json() == {
        "status": "ok",
        "notifier": "embedded (log + JSON lines file)",
        "sms_paused_until": None,
    }
    head = client.head("/healthz")
    assert (head.status_code, head.content) == (200, b"")
