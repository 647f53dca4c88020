"""The enterprise's progress page in a real browser, on a phone-sized screen."""

from datetime import timedelta

import httpx
from playwright.sync_api import Browser, Page

from tests.support.factories import submission_data
from workflows.clock import VirtualClock

PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "device_scale_factor": 3}


def _filed_and_answered(live_url: str, clock: VirtualClock) -> dict[str, str]:
    with httpx.Client(base_url=live_url) as api:
        body = api.post("/api/complaints", json=submission_data()).json()
        cid = body["id"]
        clock.advance(timedelta(hours=1))
        for action, extra in (
            ("accept", {}),
            ("comment", {"note": "内部：执法人员姓名待核实"}),
            ("assign", {"department": "market-regulation"}),
            ("respond", {"note": "已联系执法大队核实", "public": True}),
        ):
            answer = api.post(f"/api/complaints/{cid}/actions/{action}", json={"actor": "op-07", **extra})
            assert answer.status_code == 200, answer.text
    return {"link": body["progress_url"], "tracking_no": body["tracking_no"]}


def _fits_the_screen(page: Page) -> bool:
    return bool(page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"))


def test_sms_link_shows_the_whole_public_record_on_a_phone(
    browser: Browser, live_url: str, clock: VirtualClock
) -> None:
    filed = _filed_and_answered(live_url, clock)
    key = filed["link"].rsplit("/", 1)[1]
    page = browser.new_page(**PHONE)
    response = page.goto(f"{live_url}/p/{key}")

    assert response is not None and response.status == 200
    assert page.title() == "投诉办理进度 / Complaint progress"
    assert page.locator("#tracking-no").inner_text() == filed["tracking_no"]
    assert page.locator("#status").inner_text() == "已响应 / Responded"
    assert page.locator("#title").inner_text() == "经营场所检查问题"
    assert page.locator("#events li").all_inner_texts() == [
        "2026-12-03 08:00 投诉已接收 / Complaint received",
        "2026-12-03 09:00 已受理 / Accepted",
        "2026-12-03 09:00 已转办承办单位 / Assigned to a department",
        "2026-12-03 09:00 承办单位已响应 / Department responded\n已联系执法大队核实",
    ]
    rows = page.locator("#clocks tr").all_inner_texts()
    assert rows[1:] == [
        "响应 / response\t2026-12-03 20:00\t已完成 12-03 09:00",
        "办结 / resolution\t2026-12-05 08:00\t进行中",
    ]
    messages = page.locator("#messages li").all_inner_texts()
    assert len(messages) == 3
    assert messages[0].startswith(
        "2026-12-03 08:00 【即诉即办】您的投诉已受理，受理编号" + filed["tracking_no"]
    )
    text = page.locator("body").inner_text()
    assert "+86 131****6789" in text and "13123456789" not in text and "内部" not in text
    assert _fits_the_screen(page)
    page.set_viewport_size({"width": 320, "height": 568})  # the narrowest phones still in use
    assert _fits_the_screen(page)


def test_tracking_number_alone_shows_progress_but_not_the_complaint(
    browser: Browser, live_url: str, clock: VirtualClock
) -> None:
    filed = _filed_and_answered(live_url, clock)
    page = browser.new_page(**PHONE)
    response = page.goto(f"{live_url}/t/{filed['tracking_no']}")

    assert response is not None and response.status == 200
    assert page.locator("#status").inner_text() == "已响应 / Responded"
    assert page.locator("#events li").count() == 4
    assert page.locator("#clocks tr").count() == 3
    assert page.locator("#title").count() == 0 and page.locator("#messages").count() == 0
    assert page.locator("#key-hint").is_visible()
    assert "经营场所检查问题" not in page.locator("body").inner_text()
    assert _fits_the_screen(page)

    missing = browser.new_page(**PHONE)
    answer = missing.goto(f"{live_url}/p/23456789abcd")
    assert answer is not None and answer.status == 404
    assert missing.locator("h1").inner_text() == "未找到该投诉 Complaint not found"


def test_the_enterprise_writes_and_rates_on_its_page(
    browser: Browser, live_url: str, clock: VirtualClock
) -> None:
    filed = _filed_and_answered(live_url, clock)
    link = f"{live_url}/p/{filed['link'].rsplit('/', 1)[1]}"
    page = browser.new_page(**PHONE)
    page.goto(link)
    assert page.locator("#rating-form").count() == 0  # nothing to rate before resolution

    page.fill("#message-form textarea", "   ")
    page.click("#message-form button")
    assert page.locator("#error").inner_text() == "text: 请先填写留言内容 / write your message first"
    page.fill("#message-form textarea", "请问什么时候有结果？")
    page.click("#message-form button")
    assert page.url == f"{link}?sent=message"
    assert (
        page.locator("#notice").inner_text()
        == "留言已送达承办单位。/ Your message has reached the department."
    )
    assert page.locator("#events li").last.inner_text() == (
        "2026-12-03 09:00 企业留言 / Message from the enterprise\n请问什么时候有结果？"
    )

    with httpx.Client(base_url=live_url) as api:
        (complaint,) = api.get("/api/complaints").json()["items"]
        answer = api.post(
            f"/api/complaints/{complaint['id']}/actions/resolve", json={"actor": "dept", "note": "已答复"}
        )
        assert answer.status_code == 200, answer.text
    page.goto(link)
    page.click("#rating-form button[value='1']")
    assert page.url == f"{link}?sent=rating"
    assert page.locator("#notice").inner_text() == "感谢您的评价。/ Thank you for your rating."
    assert page.locator("#rating").inner_text() == "您的评价 Your rating 满意 / satisfied"
    page.reload()  # after the redirect a reload does not post the rating again
    assert (
        page.locator("#events li").all_inner_texts()[-1]
        == "2026-12-03 09:00 企业评价 / Rated by the enterprise"
    )
    assert page.locator("#events li").count() == 7
    assert _fits_the_screen(page)
