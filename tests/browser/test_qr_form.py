"""The QR channel (天府入企码): an enterprise scans the inspector's code and files on its phone."""

from playwright.sync_api import Browser, Page
from sqlmodel import select

from app.runtime import Runtime
from models import Complaint, Notification
from tests.support.factories import EXAMPLE_MOBILE, EXAMPLE_MOBILE_E164

PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "device_scale_factor": 3}
CODE = "TFRQ-2026-0001"


def _fill(page: Page, **values: str) -> None:
    defaults = {
        "enterprise_name": "示例商贸有限公司",
        "contact_name": "测试联系人",
        "contact_phone": EXAMPLE_MOBILE,
        "title": "检查前未出示执法证件",
        "description": "执法人员上门检查时未出示证件，也未说明检查依据。",
    }
    for name, value in {**defaults, **values}.items():
        page.fill(f"#{name}", value)


def _complaints(runtime: Runtime) -> list[Complaint]:
    with runtime.db.read() as session:
        return list(session.exec(select(Complaint)))


def test_scan_fill_and_file_lands_on_the_progress_page(
    browser: Browser, live_url: str, runtime: Runtime
) -> None:
    page = browser.new_page(**PHONE)
    response = page.goto(f"{live_url}/q/{CODE}")
    assert response is not None and response.status == 200
    assert page.locator("#inspection-code").inner_text() == CODE
    assert bool(page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"))

    _fill(page)
    page.select_option("#category", "综合执法")
    form = page.eval_on_selector("#qr-form", "f => Object.fromEntries(new FormData(f))")
    page.click("#qr-form button")

    (filed,) = _complaints(runtime)
    assert page.url == f"{live_url}/p/{filed.access_key}?sent=filed"
    assert page.locator("#notice").inner_text() == (
        "投诉已提交并受理，请留意短信通知。/ Your complaint is filed; SMS updates will follow."
    )
    assert page.locator("#tracking-no").inner_text() == filed.tracking_no
    assert (filed.channel, filed.inspection_ref, filed.contact_phone, filed.category) == (
        "qr",
        CODE,
        EXAMPLE_MOBILE_E164,
        "综合执法",
    )
    assert filed.channel_ref.startswith("qr-") and len(filed.channel_ref) == 35
    with runtime.db.read() as session:
        (sms,) = session.exec(select(Notification)).all()
    assert (sms.template, sms.recipient) == ("received", EXAMPLE_MOBILE_E164)

    # The same rendered form sent again (a double tap, a resend on a bad network): no second complaint.
    again = page.request.post(f"{live_url}/q/{CODE}", form=form, max_redirects=0)
    assert (again.status, again.headers["location"]) == (303, f"/p/{filed.access_key}?sent=filed")
    assert len(_complaints(runtime)) == 1


def test_mistakes_are_marked_next_to_the_field_and_nothing_is_lost(
    browser: Browser, live_url: str, runtime: Runtime
) -> None:
    page = browser.new_page(**PHONE)
    page.goto(f"{live_url}/q/{CODE}")
    _fill(page, contact_phone="12345", credit_code="91510100MA6C000000")
    page.click("#qr-form button")

    assert page.locator("#error").is_visible()
    assert (
        page.locator("#contact_phone-error")
        .inner_text()
        .startswith("请填写正确的手机号码 / check the number")
    )
    assert page.input_value("#description") == "执法人员上门检查时未出示证件，也未说明检查依据。"
    assert page.input_value("#contact_phone") == "12345"
    assert _complaints(runtime) == []

    page.fill("#contact_phone", EXAMPLE_MOBILE)
    page.click("#qr-form button")
    assert page.locator("#credit_code-error").inner_text().startswith("请核对18位统一社会信用代码")
    page.fill("#credit_code", "")
    page.click("#qr-form button")
    assert "/p/" in page.url
    assert len(_complaints(runtime)) == 1

    bad = browser.new_page(**PHONE)
    answer = bad.goto(f"{live_url}/q/not%20a%20code")
    assert answer is not None and answer.status == 404
    assert "二维码无效" in bad.locator("body").inner_text()
