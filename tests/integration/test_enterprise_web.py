"""What the enterprise does with its key link: write to its handler, rate the outcome (JSON API)."""

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from app.runtime import Runtime
from models import ComplaintEvent, Notification, NotificationChannel
from tests.support.factories import submission_data
from workflows.clock import VirtualClock

UNKNOWN_LINK = "no complaint has this link; open the link in your SMS, or use the tracking number"


def _filed(client: TestClient) -> tuple[int, str, str]:
    body = client.post("/api/complaints", json=submission_data()).json()
    return body["id"], body["progress_url"].rsplit("/", 1)[1], body["tracking_no"]


def _do(client: TestClient, cid: int, action: str, **extra: Any) -> None:
    answer = client.post(f"/api/complaints/{cid}/actions/{action}", json={"actor": "op-07", **extra})
    assert answer.status_code == 200, answer.text


def _counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.db.read() as session:
        return len(session.exec(select(ComplaintEvent)).all()), len(session.exec(select(Notification)).all())


def test_a_message_goes_on_the_record_and_the_department_is_told(
    client: TestClient, runtime: Runtime, clock: VirtualClock
) -> None:
    cid, key, tracking_no = _filed(client)
    _do(client, cid, "accept")
    _do(client, cid, "assign", department="market-regulation")
    version = client.get(f"/api/complaints/{cid}").json()["version"]
    clock.advance(timedelta(minutes=5))

    answer = client.post(f"/api/progress/{key}/messages", json={"text": "  请问检查结果什么时候出来？  "})

    assert answer.status_code == 201
    assert answer.json()["events"][-1] == {
        "at": "2026-12-03T00:05:00Z",
        "action": "enterprise_message",
        "label": "企业留言 / Message from the enterprise",
        "status": "assigned",
        "note": "请问检查结果什么时候出来？",
    }
    staff_view = client.get(f"/api/complaints/{cid}").json()
    assert staff_view["version"] == version  # the handler's next action is not refused as stale
    last = staff_view["events"][-1]
    assert (last["actor"], last["action"], last["public"]) == ("enterprise:web", "enterprise_message", True)
    with runtime.db.read() as session:
        inbox = session.exec(
            select(Notification.recipient, Notification.body)
            .where(Notification.event_id == last["id"], Notification.channel == NotificationChannel.INBOX)
            .order_by(col(Notification.id))
        ).all()
    body = f"【企业留言】投诉{tracking_no}（经营场所检查问题）的企业在进度页留言：请问检查结果什么时候出来？"
    assert [tuple(row) for row in inbox] == [
        ("department:market-regulation", body),
        ("role:supervisor", body),
    ]


def test_bad_messages_are_refused_with_what_to_fix_and_nothing_is_written(
    client: TestClient, runtime: Runtime
) -> None:
    cid, key, tracking_no = _filed(client)
    before = _counts(runtime)
    cases = [
        ({"text": "   "}, 422, "text: String should have at least 1 character"),
        ({"text": "x" * 4001}, 422, "text: String should have at most 4000 characters"),
        (
            {"text": "带\x00控制字符"},
            422,
            "text: contains a control character (such as NUL); remove it",
        ),
        ({"text": "好", "rating": 1}, 422, "rating: unknown field: remove it"),
        ({}, 422, "text: Field required"),
    ]
    for body, status, detail in cases:
        answer = client.post(f"/api/progress/{key}/messages", json=body)
        assert (answer.status_code, answer.json()["detail"]) == (status, detail), body
    wrong = client.post("/api/progress/23456789abcd/messages", json={"text": "你好"})
    assert (wrong.status_code, wrong.json()["detail"]) == (404, UNKNOWN_LINK)
    _do(client, cid, "withdraw", reason="企业撤回")
    closed = client.post(f"/api/progress/{key}/messages", json={"text": "你好"})
    assert (closed.status_code, closed.json()["detail"]) == (
        409,
        f"complaint {tracking_no} is withdrawn: it takes no more messages; call 12345 or file a new complaint",
    )
    assert _counts(runtime) == (before[0] + 1, before[1] + 1)  # only the withdrawal: its event and SMS


def test_rating_once_resolved_replaced_by_a_later_one_and_closed_after_the_window(
    client: TestClient, runtime: Runtime, clock: VirtualClock
) -> None:
    cid, key, tracking_no = _filed(client)
    early = client.post(f"/api/progress/{key}/rating", json={"rating": 1})
    assert (early.status_code, early.json()["detail"]) == (
        409,
        f"complaint {tracking_no} is not resolved yet; rate it once it is",
    )
    assert client.get(f"/api/progress/{key}").json()["can_rate"] is False
    for action, extra in (("accept", {}), ("assign", {"department": "market-regulation"}), ("respond", {})):
        _do(client, cid, action, **extra)
    clock.advance(timedelta(hours=2))
    _do(client, cid, "resolve", note="已核实并答复", public=True)
    page = client.get(f"/api/progress/{key}").json()
    assert (page["can_rate"], page["rating"], page["can_message"]) == (True, None, True)

    rated = client.post(f"/api/progress/{key}/rating", json={"rating": 3}).json()
    assert (rated["rating"], rated["rating_label"]) == (3, "不满意 / dissatisfied")
    again = client.post(f"/api/progress/{key}/rating", json={"rating": 1}).json()
    assert (again["rating"], again["rating_label"]) == (1, "满意 / satisfied")
    staff = client.get(f"/api/complaints/{cid}").json()
    assert staff["rating"] == 1
    assert [(e["action"], e["actor"], e["data"]) for e in staff["events"] if e["action"] == "rate"] == [
        ("rate", "enterprise:web", {"rating": 3, "previous": None}),
        ("rate", "enterprise:web", {"rating": 1, "previous": 3}),
    ]
    for bad in ({"rating": 4}, {"rating": 0}, {"rating": "满意"}):
        assert client.post(f"/api/progress/{key}/rating", json=bad).status_code == 422, bad

    _do(client, cid, "close")
    clock.advance(timedelta(days=7))
    assert client.post(f"/api/progress/{key}/rating", json={"rating": 2}).json()["rating"] == 2
    clock.advance(timedelta(seconds=1))
    late = client.post(f"/api/progress/{key}/rating", json={"rating": 3})
    assert (late.status_code, late.json()["detail"]) == (
        409,
        f"complaint {tracking_no} was resolved too long ago to be rated now",
    )
    assert client.get(f"/api/progress/{key}").json()["can_rate"] is False


def test_invisible_characters_are_dropped_and_a_withdrawn_complaint_is_not_rateable(
    client: TestClient, runtime: Runtime
) -> None:
    body = client.post(
        "/api/complaints",
        json=submission_data(enterprise_name="\ufeff示例商贸\u200b有限公司", title="检查\u2060问题"),
    ).json()
    assert (body["enterprise_name"], body["title"]) == ("示例商贸有限公司", "检查问题")
    key = body["progress_url"].rsplit("/", 1)[1]
    only_invisible = client.post(f"/api/progress/{key}/messages", json={"text": "\u200b\u200b"})
    assert (only_invisible.status_code, only_invisible.json()["detail"]) == (
        422,
        "text: String should have at least 1 character",
    )
    _do(client, body["id"], "withdraw")
    rated = client.post(f"/api/progress/{key}/rating", json={"rating": 1})
    assert (rated.status_code, rated.json()["detail"]) == (
        409,
        f"complaint {body['tracking_no']} was withdrawn: there is no outcome to rate",
    )
    for path in (f"/p/{key}", f"/t/{body['tracking_no']}", "/q/TFRQ-1"):
        head = client.head(path)
        assert (head.status_code, head.content) == (200, b""), path


def test_ten_messages_an_hour_from_the_page_then_429_until_the_oldest_ages_out(
    client: TestClient, runtime: Runtime, clock: VirtualClock
) -> None:
    _, key, _ = _filed(client)
    for i in range(10):
        assert client.post(f"/api/progress/{key}/messages", json={"text": f"第{i + 1}条"}).status_code == 201
        clock.advance(timedelta(minutes=1))
    before = _counts(runtime)
    refused = client.post(f"/api/progress/{key}/messages", json={"text": "第11条"})
    # The first went at 0:00; ten minutes on, it leaves the hour at 1:00, 50 minutes (3,001 s) away.
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "3001")
    assert refused.json()["detail"] == (
        "10 messages in an hour is the most a complaint takes from its page; write again in 51 minute(s), "
        "or call 12345"
    )
    assert _counts(runtime) == before
    clock.advance(timedelta(minutes=50, seconds=1))
    assert client.post(f"/api/progress/{key}/messages", json={"text": "第11条"}).status_code == 201
