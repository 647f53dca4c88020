"""Lifecycle actions and the public progress view over HTTP, on a virtual clock."""

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from app.runtime import Runtime
from models import Notification
from tests.support.factories import submission_data
from workflows.clock import VirtualClock


def file(client: TestClient, **overrides: Any) -> dict[str, Any]:
    answer = client.post("/api/complaints", json=submission_data(**overrides))
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def do(client: TestClient, cid: int, action: str, **body: Any) -> Any:
    body.setdefault("actor", "operator-07")
    return client.post(f"/api/complaints/{cid}/actions/{action}", json=body)


def test_full_lifecycle_records_every_step_and_queues_each_sms(
    client: TestClient, runtime: Runtime, clock: VirtualClock
) -> None:
    cid = file(client)["id"]
    steps = [
        ("accept", {}),
        ("assign", {"department": "market-regulation"}),
        ("respond", {"note": "已电话联系企业", "public": True}),
        ("progress", {"note": "已约谈执法人员", "public": True}),
        ("resolve", {"note": "已责令整改", "public": True}),
        ("close", {}),
    ]
    statuses = []
    for action, body in steps:
        clock.advance(timedelta(hours=1))
        answer = do(client, cid, action, **body)
        assert answer.status_code == 200, answer.text
        statuses.append((answer.json()["status"], answer.json()["version"]))
    assert statuses == [
        ("accepted", 2),
        ("assigned", 3),
        ("responded", 4),
        ("in_progress", 5),
        ("resolved", 6),
        ("closed", 7),
    ]
    detail = client.get(f"/api/complaints/{cid}").json()
    assert [(e["action"], e["actor"]) for e in detail["events"]] == [
        ("intake", "channel:hotline"),
        ("accept", "operator-07"),
        ("assign", "operator-07"),
        ("respond", "operator-07"),
        ("progress", "operator-07"),
        ("resolve", "operator-07"),
        ("close", "operator-07"),
    ]
    response, resolution = detail["clocks"]
    assert (response["state"], response["met_at"], response["margin_seconds"]) == (
        "met",
        "2026-12-03T03:00:00Z",
        32400.0,
    )
    assert (resolution["state"], resolution["met_at"]) == ("met", "2026-12-03T05:00:00Z")
    with runtime.db.read() as session:
        templates = list(session.exec(select(Notification.template).order_by(col(Notification.id))))
    assert templates == ["received", "assigned", "responded", "progress", "resolved", "closed"]


def test_phone_response_logged_afterwards_meets_the_clock_at_that_time(
    client: TestClient, clock: VirtualClock
) -> None:
    cid = file(client)["id"]
    clock.advance(timedelta(hours=1))
    do(client, cid, "accept")
    clock.advance(timedelta(hours=13))
    answer = do(client, cid, "respond", at="2026-12-03T18:00:00+08:00", note="18点已电话回复")
    assert answer.status_code == 200
    response = answer.json()["clocks"][0]
    assert (response["met_at"], response["margin_seconds"]) == ("2026-12-03T10:00:00Z", 2 * 3600.0)
    # The warning fell due at 9 h, before the response was logged: it is on record; the breach is not.
    assert [lv["fired_at"] is not None for lv in response["levels"]] == [True, False, False]


def test_unknown_action_is_404_with_the_list(client: TestClient) -> None:
    cid = file(client)["id"]
    answer = do(client, cid, "escalate")
    assert answer.status_code == 404
    assert answer.json()["detail"] == (
        "unknown action 'escalate'; actions are: accept, assign, respond, progress, pause, resume, resolve, "
        "close, reopen, withdraw, reclassify, set-due, comment"
    )


def test_illegal_move_is_409_with_allowed_moves_and_nothing_written(client: TestClient) -> None:
    cid = file(client)["id"]
    answer = do(client, cid, "resolve")
    assert answer.status_code == 409
    assert answer.json() == {
        "detail": "action 'resolve' is not allowed when status is 'received'; allowed: accept, withdraw, "
        "reclassify, set-due, comment",
        "allowed_actions": ["accept", "withdraw", "reclassify", "set-due", "comment"],
    }
    detail = client.get(f"/api/complaints/{cid}").json()
    assert (detail["version"], len(detail["events"])) == (1, 1)


def test_stale_version_is_409_and_nothing_written(client: TestClient, clock: VirtualClock) -> None:
    cid = file(client)["id"]
    clock.advance(timedelta(minutes=5))
    assert do(client, cid, "accept", expected_version=1).status_code == 200
    stale = do(client, cid, "assign", department="health", expected_version=1)
    assert stale.status_code == 409
    assert stale.json() == {
        "detail": "complaint changed since you loaded it: expected_version 1, current version 2; reload and retry",
        "current_version": 2,
    }
    detail = client.get(f"/api/complaints/{cid}").json()
    assert (detail["status"], detail["department"], detail["version"]) == ("accepted", None, 2)


def test_action_time_checks(client: TestClient, clock: VirtualClock) -> None:
    cid = file(client)["id"]
    clock.advance(timedelta(hours=2))
    future = do(client, cid, "accept", at="2026-12-03T11:00:00+08:00")
    assert future.status_code == 422
    assert (
        future.json()["detail"] == "at: 2026-12-03T11:00:00+08:00 is in the future; give the time it happened"
    )
    early = do(client, cid, "accept", at="2026-12-03T07:00:00+08:00")
    assert early.status_code == 422
    assert early.json()["detail"] == (
        "at: 2026-12-03T07:00:00+08:00 is before the complaint's last event (2026-12-03T00:00:00+00:00); "
        "actions are recorded in order"
    )


def test_action_bad_fields(client: TestClient, clock: VirtualClock) -> None:
    cid = file(client)["id"]
    clock.advance(timedelta(minutes=1))
    do(client, cid, "accept")
    assert (
        do(client, cid, "assign", department="mars")
        .json()["detail"]
        .startswith("department: unknown department mars; use one of: gov-services, law-enforcement")
    )
    assert do(client, cid, "reclassify", complexity="complex").json()["detail"] == (
        "reason: a reclassification needs a reason"
    )
    missing_actor = client.post(f"/api/complaints/{cid}/actions/accept", json={})
    assert (missing_actor.status_code, missing_actor.json()["detail"]) == (422, "actor: Field required")
    version = client.get(f"/api/complaints/{cid}").json()["version"]
    refused = [
        (
            ("comment", {"note": "x", "department": "health"}),
            "department: does not apply to comment; only assign takes it",
        ),
        (
            ("reclassify", {"complexity": "complex", "reason": "r", "members": ["health"]}),
            "members: does not apply to reclassify; only assign takes it",
        ),
        (
            ("accept", {"reason": "r"}),
            "reason: does not apply to accept; only reclassify, set-due, withdraw, reopen take it",
        ),
        (("assign", {"department": ""}), "department: is empty: give a value or leave the field out"),
        (
            ("assign", {"department": "health", "members": []}),
            "members: is empty: give a value or leave the field out",
        ),
        (("comment", {}), "note: a comment needs its text in note"),
        (("comment", {"note": "x", "public": "yes"}), "public: Input should be a valid boolean"),
        (
            ("comment", {"note": "x", "expected_version": True}),
            "expected_version: Input should be a valid integer",
        ),
    ]
    for (action, body), detail in refused:
        answer = do(client, cid, action, **body)
        assert (answer.status_code, answer.json()["detail"]) == (422, detail), (action, body)
    assert client.get(f"/api/complaints/{cid}").json()["version"] == version  # nothing was written
    assert client.post("/api/complaints/999/actions/accept", json={"actor": "x"}).json() == {
        "detail": "no complaint with id 999"
    }


def test_worklist_filters_and_sorts_by_time_to_breach(client: TestClient, clock: VirtualClock) -> None:
    late = file(
        client, channel_ref="W1", received_at="2026-12-02T12:00:00+08:00"
    )  # response due 12-03 00:00+08
    fresh = file(client, channel_ref="W2", enterprise_name="另一家企业")
    complex_ = file(client, channel_ref="W3", enterprise_name="第三家", description="多个部门长期检查")
    page = client.get("/api/complaints").json()
    assert page["total"] == 3
    assert [i["id"] for i in page["items"]] == [late["id"], fresh["id"], complex_["id"]]
    overdue = client.get("/api/complaints", params={"overdue": True}).json()
    assert [(i["id"], i["next_due_kind"], i["overdue"]) for i in overdue["items"]] == [
        (late["id"], "response", True)
    ]
    assert client.get("/api/complaints", params={"complexity": "complex"}).json()["total"] == 1
    bad = client.get("/api/complaints", params={"status": "lost"})
    assert bad.status_code == 422
    do(client, fresh["id"], "accept")
    do(client, fresh["id"], "assign", department="market-regulation")
    assigned = client.get("/api/complaints", params={"department": "market-regulation"}).json()
    assert [i["id"] for i in assigned["items"]] == [fresh["id"]]
    assert client.get("/api/complaints", params={"department": "education"}).json()["total"] == 0
    unknown = client.get("/api/complaints", params={"department": "market"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"].startswith("department: unknown department 'market'; use one of: ")
    assert "market-regulation" in unknown.json()["detail"]


def test_public_track_view_masks_phone_and_hides_internal_notes(
    client: TestClient, clock: VirtualClock
) -> None:
    body = file(client)
    cid = body["id"]
    key = body["progress_url"].removeprefix("https://ts.example.gov.cn/p/")
    assert len(key) == 12 and key.isalnum() and key == key.lower()
    clock.advance(timedelta(hours=1))
    do(client, cid, "accept")
    do(client, cid, "comment", note="内部：执法人员姓名待核实")
    do(client, cid, "assign", department="market-regulation", note="内部备注")
    do(client, cid, "respond", note="已联系执法大队核实", public=True)

    view = client.get(f"/api/progress/{key}").json()
    assert view["full"] is True
    assert view["title"] == "经营场所检查问题"
    assert view["contact_phone"] == "+86 131****6789"
    assert [(e["action"], e["note"]) for e in view["events"]] == [
        ("intake", None),
        ("accept", None),
        ("assign", None),
        ("respond", "已联系执法大队核实"),
    ]
    assert view["department"] == "区市场监督管理局"
    assert [m["template"] for m in view["messages"]] == ["received", "assigned", "responded"]
    assert view["messages"][0]["recipient"] == "+86 131****6789"
    assert view["messages"][0]["body"].endswith(f"进度：https://ts.example.gov.cn/p/{key}")

    # The tracking number alone (guessable): status, milestones, deadlines; no title, notes or messages.
    by_number = client.get(f"/api/track/{body['tracking_no'].replace('-', ' ')}").json()
    assert by_number["full"] is False
    assert (by_number["title"], by_number["messages"]) == (None, [])
    assert [(e["action"], e["note"]) for e in by_number["events"]] == [
        ("intake", None),
        ("accept", None),
        ("assign", None),
        ("respond", None),
    ]
    assert by_number["status"] == view["status"] == "responded"
    assert by_number["clocks"] == view["clocks"]

    unknown_key = {
        "detail": "no complaint has this link; open the link in your SMS, or use the tracking number"
    }
    for wrong in ("23456789abcd", "0" * 12, key[:-1], "x" * 500):
        answer = client.get(f"/api/progress/{wrong}")
        assert (answer.status_code, answer.json()) == (404, unknown_key), wrong
    assert client.get(f"/api/progress/{key.upper()}").json()["full"] is True  # keys copied by hand
    assert client.get("/api/track/261203-0001-9").json() == {
        "detail": "'261203-0001-9' is not a tracking number (format 261203-0042-6; check the last digit)"
    }
    long_input = client.get("/api/track/" + "7" * 300)
    assert long_input.status_code == 404
    assert long_input.json() == {
        "detail": f"'{'7' * 40}…' is not a tracking number (format 261203-0042-6; check the last digit)"
    }

    page = client.get(f"/p/{key}")
    assert page.status_code == 200
    assert "+86 131****6789" in page.text and "13123456789" not in page.text
    assert "经营场所检查问题" in page.text and "已联系执法大队核实" in page.text
    number_page = client.get(f"/t/{body['tracking_no']}")
    assert number_page.status_code == 200
    assert "经营场所检查问题" not in number_page.text and "已联系执法大队核实" not in number_page.text
    assert "请通过短信中的链接查看" in number_page.text
    assert client.get("/p/23456789abcd").status_code == 404


def test_out_of_range_ids_and_dates_are_4xx_and_change_nothing(
    client: TestClient, clock: VirtualClock
) -> None:
    cid = file(client)["id"]
    assert client.get("/api/complaints/99999999999999999999999").status_code == 422
    assert client.get("/api/complaints/2147483648").status_code == 422
    assert client.get("/api/complaints", params={"offset": 2**63}).status_code == 422
    clock.advance(timedelta(minutes=1))
    far = do(client, cid, "set-due", clock="resolution", due_at="9999-12-31T23:59:59Z", reason="x")
    assert far.status_code == 422
    assert far.json()["detail"] == (
        "due_at: 9999-12-31T23:59:59+00:00 is more than 366 days after the clock started"
    )
    detail = client.get(f"/api/complaints/{cid}").json()
    assert (detail["version"], detail["clocks"][1]["due_at"]) == (1, "2026-12-05T00:00:00Z")


def test_malformed_json_names_the_body(client: TestClient) -> None:
    cid = file(client)["id"]
    answer = client.post(
        f"/api/complaints/{cid}/actions/accept",
        content=b'{"actor": "x",}',
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "body"


def test_reassigning_tells_the_enterprise_only_when_the_department_changes(
    client: TestClient, runtime: Runtime, clock: VirtualClock
) -> None:
    cid = file(client)["id"]
    clock.advance(timedelta(minutes=1))
    do(client, cid, "accept")
    do(client, cid, "assign", department="market-regulation")
    do(client, cid, "assign", department="market-regulation", note="同一部门再次转办")
    do(client, cid, "assign", department="health")
    with runtime.db.read() as session:
        templates = list(session.exec(select(Notification.template).order_by(col(Notification.id))))
    assert templates == ["received", "assigned", "assigned"]
    events = client.get(f"/api/complaints/{cid}").json()["events"]
    assert [e["data"] for e in events if e["action"] == "assign"] == [
        {"department": "market-regulation", "previous_department": None},
        {"department": "market-regulation", "previous_department": "market-regulation"},
        {"department": "health", "previous_department": "market-regulation"},
    ]


def test_task_force_members_are_named_once_and_a_withdrawal_keeps_its_reason(client: TestClient) -> None:
    cid = file(client, description="多个部门长期检查")["id"]  # complex: a task force may form
    do(client, cid, "accept")
    assigned = do(
        client,
        cid,
        "assign",
        department="health",
        members=["market-regulation", "health", "housing", "market-regulation"],
    ).json()
    assert assigned["task_force"] == ["market-regulation", "housing"]
    withdrawn = client.post(
        f"/api/complaints/{cid}/actions/withdraw", json={"actor": "op-07", "reason": "企业来电撤回"}
    )
    assert withdrawn.status_code == 200
    last = client.get(f"/api/complaints/{cid}").json()["events"][-1]
    assert (last["action"], last["data"]) == ("withdraw", {"reason": "企业来电撤回"})
