"""The QR phone form over plain HTTP: what a scripted or broken client gets back."""

from fastapi.testclient import TestClient
from sqlmodel import select

from app.runtime import Runtime
from models import Complaint
from tests.support.factories import EXAMPLE_MOBILE

FORM = {
    "submission_id": "0123456789abcdef0123456789abcdef",
    "enterprise_name": "示例商贸有限公司",
    "contact_name": "测试联系人",
    "contact_phone": EXAMPLE_MOBILE,
    "title": "检查前未出示执法证件",
    "description": "执法人员上门检查时未出示证件。",
}


def _refs(runtime: Runtime) -> list[str]:
    with runtime.db.read() as session:
        return list(session.exec(select(Complaint.channel_ref)))


def test_refused_fields_are_named_in_chinese_and_english_and_nothing_is_filed(
    client: TestClient, runtime: Runtime
) -> None:
    cases = [
        ({"title": ""}, "title-error", "必填 / required"),
        ({"title": "长" * 201}, "title-error", "最多200字 / at most 200 characters"),
        (
            {"description": "带\x01控制字符"},
            "description-error",
            "含有无法显示的控制字符，请删除 / contains a control character; remove it",
        ),
        ({"category": "不存在的类别"}, "category-error", "请从列表中选择 / choose from the list"),
    ]
    for change, element, text in cases:
        answer = client.post("/q/TFRQ-1", data={**FORM, **change})
        assert answer.status_code == 422, change
        assert f'id="{element}">{text}' in answer.text, change
        assert (
            "执法人员上门检查时未出示证件。" in answer.text or "description" in change
        )  # kept for the retry
    assert _refs(runtime) == []


def test_a_forged_submission_id_is_replaced_and_one_form_files_once(
    client: TestClient, runtime: Runtime
) -> None:
    first = client.post("/q/TFRQ-1", data=FORM, follow_redirects=False)
    again = client.post("/q/TFRQ-1", data=FORM, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    forged = client.post("/q/TFRQ-1", data={**FORM, "submission_id": "../../x"}, follow_redirects=False)
    assert forged.status_code == 303
    refs = _refs(runtime)
    assert refs[0] == "qr-0123456789abcdef0123456789abcdef"
    assert len(refs) == 2 and refs[1].startswith("qr-") and len(refs[1]) == 35
    assert client.get("/q/" + "A" * 65).status_code == 404
    assert client.post("/q/bad code!", data=FORM).status_code == 404


def test_every_mistake_is_marked_in_one_answer(client: TestClient, runtime: Runtime) -> None:
    answer = client.post(
        "/q/TFRQ-1",
        data={**FORM, "title": "", "contact_phone": "123", "credit_code": "abc", "category": "不存在的类别"},
    )
    assert answer.status_code == 422
    for element in ("title-error", "contact_phone-error", "credit_code-error", "category-error"):
        assert f'id="{element}"' in answer.text, element
    empty = client.post("/q/TFRQ-1", data={})
    for element in ("enterprise_name", "contact_name", "contact_phone", "title", "description"):
        assert f'id="{element}-error">必填 / required' in empty.text, element
    assert _refs(runtime) == []


def test_a_filed_form_id_with_other_content_files_anew_and_never_opens_the_first(
    client: TestClient, runtime: Runtime
) -> None:
    first = client.post("/q/TFRQ-1", data=FORM, follow_redirects=False).headers["location"]
    same = client.post("/q/TFRQ-1", data=FORM, follow_redirects=False).headers["location"]
    edited = client.post(
        "/q/TFRQ-1", data={**FORM, "title": "另一件事：罚款金额有异议"}, follow_redirects=False
    ).headers["location"]
    other_code = client.post("/q/OTHER-9", data=FORM, follow_redirects=False).headers["location"]
    assert same == first
    assert len({first, edited, other_code}) == 3
    with runtime.db.read() as session:
        titles = sorted(session.exec(select(Complaint.title)))
    assert titles == ["另一件事：罚款金额有异议", "检查前未出示执法证件", "检查前未出示执法证件"]
