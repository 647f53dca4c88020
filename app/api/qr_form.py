"""The QR channel (天府入企码): the phone form an enterprise opens by scanning an inspector's code.

``GET /q/{code}`` shows the form; each rendering carries a fresh submission id, which becomes the
complaint's ``channel_ref``, so a double tap or a resent form files one complaint, never two. After
filing, the browser goes (303) to the enterprise's own progress page with its tracking number.
"""

import asyncio
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from app.api.deps import RuntimeDep
from app.api.form_errors import REQUIRED, form_errors
from app.runtime import Runtime
from models import Channel, Complaint, ComplaintCreate
from workflows.errors import InvalidInput
from workflows.validation import normalise_credit_code, normalise_phone

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

# What an inspector's code may look like: it is printed in a QR code and lands in a URL path.
INSPECTION_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
SUBMISSION_ID = re.compile(r"[0-9a-f]{32}")
LABELS = {
    "enterprise_name": "企业名称 / Enterprise",
    "credit_code": "统一社会信用代码 / Credit code",
    "contact_name": "联系人 / Contact",
    "contact_phone": "手机号码 / Mobile",
    "title": "标题 / Subject",
    "description": "投诉内容 / What happened",
    "category": "类别 / Category",
}
_FIELD_HINTS = {
    "contact_phone": "请填写正确的手机号码 / check the number",
    "credit_code": "请核对18位统一社会信用代码 / check the 18-character code",
    "category": "请从列表中选择 / choose from the list",
}


@router.api_route("/q/{code}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def qr_form(code: str, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The empty form for the inspection ``code``."""
    if not INSPECTION_CODE.fullmatch(code):
        return _invalid_code(request)
    return _form(request, runtime, code, values={}, errors={}, submission_id=uuid.uuid4().hex)


@router.post("/q/{code}", response_class=HTMLResponse, response_model=None)
async def qr_submit(
    code: str,
    request: Request,
    runtime: RuntimeDep,
    submission_id: Annotated[str, Form()] = "",
    enterprise_name: Annotated[str, Form()] = "",
    credit_code: Annotated[str, Form()] = "",
    contact_name: Annotated[str, Form()] = "",
    contact_phone: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """File the form (through the same group-commit writer as the API), or show it again with what to fix."""
    if not INSPECTION_CODE.fullmatch(code):
        return _invalid_code(request)
    values = {
        "enterprise_name": enterprise_name,
        "credit_code": credit_code,
        "contact_name": contact_name,
        "contact_phone": contact_phone,
        "title": title,
        "description": description,
        "category": category,
    }
    if not SUBMISSION_ID.fullmatch(submission_id):  # a form not rendered by us: start afresh
        submission_id = uuid.uuid4().hex
    fields = {name: value.strip() or None for name, value in values.items()}
    errors = _domain_errors(runtime, fields)
    try:
        submission = _submission(code, submission_id, fields)
    except ValidationError as exc:
        errors = form_errors(exc) | errors
    if errors:
        return _form(request, runtime, code, values, errors, submission_id, status_code=422)
    try:
        result = await asyncio.wrap_future(runtime.intake.submit(submission))
        if not result.created:
            filed = await run_in_threadpool(_complaint, runtime, result.complaint_id)
            if _same_content(filed, submission):  # the same form sent again: its page
                return _filed_page(filed.access_key)
            # The id of a form already filed, with other content (Back, edit, send): a new complaint,
            # never the first one's page.
            submission = _submission(code, uuid.uuid4().hex, fields)
            result = await asyncio.wrap_future(runtime.intake.submit(submission))
    except InvalidInput as refusal:
        return _form(request, runtime, code, values, _explained(refusal), submission_id, status_code=422)
    assert result.created and result.complaint_row is not None
    runtime.after_commit(result.earliest_level_at)
    return _filed_page(result.complaint_row["access_key"])


def _filed_page(access_key: str) -> RedirectResponse:
    return RedirectResponse(f"/p/{access_key}?sent=filed", status_code=303)


def _submission(code: str, submission_id: str, fields: dict[str, str | None]) -> ComplaintCreate:
    return ComplaintCreate.model_validate(
        {"channel": Channel.QR, "channel_ref": f"qr-{submission_id}", "inspection_ref": code, **fields}
    )


def _domain_errors(runtime: Runtime, fields: dict[str, str | None]) -> dict[str, str]:
    """Every check intake makes of the fields, at once, so the form marks all its mistakes together."""
    errors: dict[str, str] = {}
    checks: dict[str, Callable[[str], str]] = {
        "contact_phone": normalise_phone,
        "credit_code": normalise_credit_code,
        "category": runtime.config.routing.department_for_category,
    }
    for name, check in checks.items():
        value = fields.get(name)
        if value is None:
            if name == "contact_phone":  # the QR channel reaches the enterprise by SMS
                errors[name] = REQUIRED
            continue
        try:
            check(value)
        except InvalidInput as refusal:
            errors.update(_explained(refusal))
    return errors


def _explained(refusal: InvalidInput) -> dict[str, str]:
    hint = _FIELD_HINTS.get(refusal.field, "")
    return {refusal.field: f"{hint}（{refusal.reason}）" if hint else refusal.reason}


def _same_content(complaint: Complaint, submission: ComplaintCreate) -> bool:
    return (
        complaint.inspection_ref == submission.inspection_ref
        and complaint.enterprise_name == submission.enterprise_name
        and complaint.contact_name == submission.contact_name
        and complaint.title == submission.title
        and complaint.description == submission.description
        and complaint.contact_phone == normalise_phone(submission.contact_phone or "")
    )


def _complaint(runtime: Runtime, complaint_id: int) -> Complaint:
    with runtime.db.read() as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        return complaint


def _form(
    request: Request,
    runtime: Runtime,
    code: str,
    values: dict[str, str],
    errors: dict[str, str],
    submission_id: str,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "code": code,
        "values": values,
        "errors": errors,
        "labels": LABELS,
        "submission_id": submission_id,
        "categories": list(runtime.config.routing.categories),
    }
    return templates.TemplateResponse(request, "qr_form.html", context, status_code=status_code)


def _invalid_code(request: Request) -> HTMLResponse:
    message = "二维码无效，请重新扫描检查人员出示的入企码。/ This QR code is not valid: scan the inspector's code again."
    return templates.TemplateResponse(request, "not_found.html", {"message": message}, status_code=404)
