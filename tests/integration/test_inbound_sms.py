"""Inbound SMS: POST /webhooks/twilio/inbound, signed by Twilio for the public https URL, answered in TwiML."""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select
from twilio.request_validator import RequestValidator

from app.runtime import Runtime
from models import Action, Complaint, ComplaintEvent, InboundSms, Notification, NotificationChannel, SmsOptOut
from models.db import Database
from notifiers.dispatch import Dispatcher
from notifiers.file_notifier import FileNotifier
from notifiers.sending_window import SendingWindow
from tests.fakes.fake_twilio import FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, FAKE_FROM, FakeTwilio
from tests.support.domain import act, events, file
from tests.support.factories import EXAMPLE_MOBILE_E164, submission
from tests.support.sms import PUBLIC, STATUS_URL, sms_rows
from workflows.clock import VirtualClock
from workflows.config import DomainConfig
from workflows.feedback import receive_sms

INBOUND_URL = f"{PUBLIC}/webhooks/twilio/inbound"
XML = '<?xml version="1.0" encoding="UTF-8"?>'
EMPTY_TWIML = f"{XML}<Response />"
# Twilio's magic "From" number: no complaint carries it.
STRANGER = "+15005550006"


def twiml(text: str) -> str:
    return f"{XML}<Response><Message>{text}</Message></Response>"


def inbound_form(sid: str, body: str, sender: str = EXAMPLE_MOBILE_E164) -> dict[str, str]:
    return {
        "AccountSid": FAKE_ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "Body": body,
        "From": sender,
        "MessageSid": sid,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsSid": sid,
        "To": FAKE_FROM,
    }


def post_inbound(
    client: TestClient,
    body: str,
    *,
    sid: str = "SM" + "a" * 32,
    sender: str = EXAMPLE_MOBILE_E164,
    signed_for: str = INBOUND_URL,
    token: str = FAKE_AUTH_TOKEN,
) -> httpx.Response:
    form = inbound_form(sid, body, sender)
    signature = RequestValidator(token).compute_signature(signed_for, form)
    return client.post(
        "/webhooks/twilio/inbound",
        content=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )


def resolved_complaint(runtime: Runtime, clock: VirtualClock) -> int:
    cid = file(runtime.db, runtime.config, submission(), clock.now())
    for action, fields in (
        (Action.ACCEPT, {}),
        (Action.ASSIGN, {"department": "market-regulation"}),
        (Action.RESPOND, {}),
        (Action.RESOLVE, {}),
    ):
        clock.advance(timedelta(minutes=10))
        act(runtime.db, runtime.config, cid, action, clock.now(), **fields)
    return cid


def complaint(runtime: Runtime, cid: int) -> Complaint:
    with runtime.db.read() as session:
        found = session.get(Complaint, cid)
    assert found is not None
    return found


def inbound_rows(runtime: Runtime) -> list[tuple[str, str, str, int | None, str]]:
    with runtime.db.read() as session:
        rows = session.exec(select(InboundSms).order_by(col(InboundSms.id)))
        return [(r.message_sid, r.from_number, r.body, r.complaint_id, r.outcome) for r in rows]


@pytest.mark.parametrize(
    ("body", "rating", "label"),
    [("1", 1, "满意"), (" ２ ", 2, "基本满意"), ("不满意", 3, "不满意"), ("基本满意。", 2, "基本满意")],
)
def test_rating_reply_is_recorded_on_the_resolved_complaint(
    tw_client: TestClient, tw_runtime: Runtime, clock: VirtualClock, body: str, rating: int, label: str
) -> None:
    cid = resolved_complaint(tw_runtime, clock)
    tracking_no = complaint(tw_runtime, cid).tracking_no
    version = complaint(tw_runtime, cid).version

    answer = post_inbound(tw_client, body)

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/xml"
    assert answer.text == twiml(f"【即诉即办】感谢您的评价！投诉{tracking_no}的评价“{label}”已记录。")
    after = complaint(tw_runtime, cid)
    assert (after.rating, after.status, after.version) == (rating, "resolved", version)
    last = events(tw_runtime.db, cid)[-1]
    assert (last.action, last.actor, last.public, last.note, last.at, last.data) == (
        "rate",
        "enterprise:sms",
        True,
        None,
        clock.now(),
        {"rating": rating, "previous": None, "message_sid": "SM" + "a" * 32},
    )
    assert inbound_rows(tw_runtime) == [("SM" + "a" * 32, EXAMPLE_MOBILE_E164, body.strip(), cid, "rated")]


def test_duplicate_message_sid_is_answered_empty_and_changes_nothing(
    tw_client: TestClient, tw_runtime: Runtime, clock: VirtualClock
) -> None:
    cid = resolved_complaint(tw_runtime, clock)

    first = post_inbound(tw_client, "3")
    again = post_inbound(tw_client, "1")  # Twilio retrying the same MessageSid, whatever the body says

    assert (first.status_code, again.status_code, again.text) == (200, 200, EMPTY_TWIML)
    assert complaint(tw_runtime, cid).rating == 3
    assert [e.action for e in events(tw_runtime.db, cid)].count("rate") == 1
    assert [row[4] for row in inbound_rows(tw_runtime)] == ["rated"]


def test_a_closed_complaint_takes_a_rating_within_the_window_only(
    tw_client: TestClient, tw_runtime: Runtime, clock: VirtualClock
) -> None:
    cid = resolved_complaint(tw_runtime, clock)
    act(tw_runtime.db, tw_runtime.config, cid, Action.CLOSE, clock.now())
    resolved_at = complaint(tw_runtime, cid).resolved_at
    assert resolved_at is not None

    clock.set(resolved_at + timedelta(days=7))
    within = post_inbound(tw_client, "1", sid="SM" + "1" * 32)
    clock.advance(timedelta(seconds=1))
    late = post_inbound(tw_client, "2", sid="SM" + "2" * 32)

    assert "感谢您的评价" in within.text
    assert late.text == twiml(
        "【即诉即办】您好，未找到与本号码关联的办理中投诉。如需反映问题，请拨打12345热线。"
    )
    assert complaint(tw_runtime, cid).rating == 1
    assert [row[4] for row in inbound_rows(tw_runtime)] == ["rated", "no_complaint"]


def test_opt_out_fails_the_next_sms_and_opt_in_resumes(
    tw_client: TestClient, tw_runtime: Runtime, clock: VirtualClock, fake: FakeTwilio
) -> None:
    cid = file(tw_runtime.db, tw_runtime.config, submission(), clock.now())
    assert tw_runtime.dispatcher.drain() == 1
    act(tw_runtime.db, tw_runtime.config, cid, Action.ACCEPT, clock.now())

    stop = post_inbound(tw_client, " td ", sid="SM" + "1" * 32)
    act(tw_runtime.db, tw_runtime.config, cid, Action.ASSIGN, clock.now(), department="market-regulation")
    assert tw_runtime.dispatcher.drain() == 1

    assert stop.text == twiml(
        "【即诉即办】您已退订本平台短信通知，办理进度仍可在进度页查看。回复“订阅”可恢复。"
    )
    assert len(fake.messages) == 1
    assigned = sms_rows(tw_runtime)[-1]
    assert (assigned.template, assigned.status, assigned.attempts, assigned.public) == (
        "assigned",
        "failed",
        0,
        True,
    )
    assert (assigned.error_code, assigned.error_message) == (
        "opted_out",
        "收件人已回复退订，短信未发送（回复“订阅”可恢复） / the recipient replied STOP (退订); not sent",
    )
    page = tw_client.get(f"/api/progress/{complaint(tw_runtime, cid).access_key}").json()
    assert [(m["template"], m["status"], m["error_code"]) for m in page["messages"]] == [
        ("received", "sent", None),
        ("assigned", "failed", "opted_out"),
    ]

    start = post_inbound(tw_client, "START", sid="SM" + "2" * 32)
    act(tw_runtime.db, tw_runtime.config, cid, Action.RESPOND, clock.now())
    assert tw_runtime.dispatcher.drain() == 1

    assert start.text == twiml("【即诉即办】您已恢复接收本平台短信通知。回复“退订”可停止。")
    assert [m.to for m in fake.messages] == [EXAMPLE_MOBILE_E164, EXAMPLE_MOBILE_E164]
    assert sms_rows(tw_runtime)[-1].status == "sent"
    with tw_runtime.db.read() as session:
        (opt,) = session.exec(select(SmsOptOut))
    assert (opt.phone, opt.opted_out_at, opt.opted_in_at) == (EXAMPLE_MOBILE_E164, clock.now(), clock.now())
    assert [row[4] for row in inbound_rows(tw_runtime)] == ["opted_out", "opted_in"]


def test_free_text_is_attached_as_a_public_message_and_staff_are_told(
    tw_client: TestClient, tw_runtime: Runtime, clock: VirtualClock
) -> None:
    cid = file(tw_runtime.db, tw_runtime.config, submission(), clock.now())
    act(tw_runtime.db, tw_runtime.config, cid, Action.ACCEPT, clock.now())
    act(tw_runtime.db, tw_runtime.config, cid, Action.ASSIGN, clock.now(), department="market-regulation")
    clock.advance(timedelta(minutes=5))
    tracking_no = complaint(tw_runtime, cid).tracking_no

    answer = post_inbound(tw_client, "请问检查结果什么时候出来？")

    assert answer.text == twiml(f"【即诉即办】已收到您的留言，已转投诉{tracking_no}的承办人员处理。")
    last = events(tw_runtime.db, cid)[-1]
    assert (last.action, last.actor, last.public, last.note_public, last.note, last.at) == (
        "enterprise_message",
        "enterprise:sms",
        True,
        True,
        "请问检查结果什么时候出来？",
        clock.now(),
    )
    with tw_runtime.db.read() as session:
        inbox = list(
            session.exec(
                select(Notification)
                .where(Notification.event_id == last.id)
                .where(Notification.channel == NotificationChannel.INBOX)
                .order_by(col(Notification.id))
            )
        )
    body = f"【企业留言】投诉{tracking_no}（经营场所检查问题）的企业发来短信：请问检查结果什么时候出来？"
    assert [(n.recipient, n.template, n.body, n.status, n.public) for n in inbox] == [
        ("department:market-regulation", "enterprise_message", body, "delivered", False),
        ("role:supervisor", "enterprise_message", body, "delivered", False),
    ]
    page = tw_client.get(f"/api/progress/{complaint(tw_runtime, cid).access_key}").json()
    assert page["events"][-1] == {
        "at": "2026-12-03T00:05:00Z",
        "action": "enterprise_message",
        "label": "企业留言 / Message from the enterprise",
        "status": "assigned",
        "note": "请问检查结果什么时候出来？",
    }
    assert inbound_rows(tw_runtime) == [
        ("SM" + "a" * 32, EXAMPLE_MOBILE_E164, "请问检查结果什么时候出来？", cid, "message")
    ]


def test_a_number_without_complaints_gets_a_polite_answer(tw_client: TestClient, tw_runtime: Runtime) -> None:
    answer = post_inbound(tw_client, "1", sender=STRANGER)

    assert answer.text == twiml(
        "【即诉即办】您好，未找到与本号码关联的办理中投诉。如需反映问题，请拨打12345热线。"
    )
    assert inbound_rows(tw_runtime) == [("SM" + "a" * 32, STRANGER, "1", None, "no_complaint")]


@pytest.mark.parametrize(
    ("signed_for", "token"),
    [
        pytest.param(
            "http://testserver/webhooks/twilio/inbound", FAKE_AUTH_TOKEN, id="url-the-request-came-to"
        ),
        pytest.param(STATUS_URL, FAKE_AUTH_TOKEN, id="the-status-callback-url"),
        pytest.param(INBOUND_URL, "another-accounts-token", id="wrong-token"),
    ],
)
def test_bad_signature_is_refused_and_records_nothing(
    tw_client: TestClient, tw_runtime: Runtime, clock: VirtualClock, signed_for: str, token: str
) -> None:
    cid = resolved_complaint(tw_runtime, clock)

    answer = post_inbound(tw_client, "1", signed_for=signed_for, token=token)

    assert (answer.status_code, answer.json()) == (403, {"detail": "invalid X-Twilio-Signature"})
    assert complaint(tw_runtime, cid).rating is None
    assert inbound_rows(tw_runtime) == []
    with tw_runtime.db.read() as session:
        assert session.exec(select(ComplaintEvent).where(ComplaintEvent.action == "rate")).all() == []


def test_inbound_without_twilio_configured_is_refused(client: TestClient) -> None:
    answer = post_inbound(client, "1")

    assert (answer.status_code, answer.json()) == (
        403,
        {"detail": "Twilio is not configured here (TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL)"},
    )


def test_sender_is_matched_in_e164_and_the_newest_resolved_complaint_is_rated(
    tw_client: TestClient, tw_runtime: Runtime, clock: VirtualClock
) -> None:
    older = resolved_complaint(tw_runtime, clock)
    newer = file(tw_runtime.db, tw_runtime.config, submission("WO-0002"), clock.now())
    for action, fields in (
        (Action.ACCEPT, {}),
        (Action.ASSIGN, {"department": "market-regulation"}),
        (Action.RESPOND, {}),
        (Action.RESOLVE, {}),
    ):
        clock.advance(timedelta(minutes=10))
        act(tw_runtime.db, tw_runtime.config, newer, action, clock.now(), **fields)

    post_inbound(tw_client, "满意")

    assert (complaint(tw_runtime, older).rating, complaint(tw_runtime, newer).rating) == (None, 1)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_domain_rating_opt_out_and_dispatch_on_both_databases(
    backend: str, request: pytest.FixtureRequest, config: DomainConfig, clock: VirtualClock, tmp_path: Path
) -> None:
    db: Database = request.getfixturevalue("db" if backend == "sqlite" else "pg_db")
    notifier = FileNotifier(tmp_path / "sms-outbox.jsonl")
    dispatcher = Dispatcher(db, notifier, clock.now, window=SendingWindow(zone=config.zone, daily_cap=10))
    cid = file(db, config, submission(), clock.now())
    for action, fields in (
        (Action.ACCEPT, {}),
        (Action.ASSIGN, {"department": "market-regulation"}),
        (Action.RESPOND, {}),
        (Action.RESOLVE, {}),
    ):
        act(db, config, cid, action, clock.now(), **fields)

    def receive(sid: str, body: str) -> str:
        with db.write() as session:
            result = receive_sms(
                session,
                message_sid=sid,
                from_number=EXAMPLE_MOBILE_E164,
                body=body,
                now=clock.now(),
                config=config,
            )
            return result.outcome.value

    outcomes = [receive("SM1", "退订"), receive("SM2", "2"), receive("SM2", "3")]
    act(db, config, cid, Action.CLOSE, clock.now())
    assert dispatcher.drain() == 5

    assert outcomes == ["opted_out", "rated", "duplicate"]
    with db.read() as session:
        rated = session.get(Complaint, cid)
        assert rated is not None and rated.rating == 2
        rows = list(
            session.exec(
                select(Notification)
                .where(Notification.channel == NotificationChannel.SMS)
                .order_by(col(Notification.id))
            )
        )
    assert [(r.template, r.status, r.error_code) for r in rows] == [
        ("received", "failed", "opted_out"),
        ("assigned", "failed", "opted_out"),
        ("responded", "failed", "opted_out"),
        ("resolved", "failed", "opted_out"),
        ("closed", "failed", "opted_out"),
    ]
    assert not (tmp_path / "sms-outbox.jsonl").exists()
