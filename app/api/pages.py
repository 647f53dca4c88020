"""HTML pages: the enterprise's progress page its SMS links to (with its message and rating forms), and the
progress by tracking number alone. Forms post and redirect (303), so a reload never posts twice."""

from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlmodel import Session

from app.api.deps import RuntimeDep
from app.api.form_errors import reason_of
from app.api.track import enterprise_write
from app.runtime import Runtime
from models import Complaint, EnterpriseMessage
from workflows.errors import DomainError, InvalidInput, NotFound, TooMany
from workflows.feedback import web_message, web_rating
from workflows.queries import find_by_access_key, find_by_tracking_no, track_view

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")


@router.api_route("/t/{tracking_no}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def tracking_page(tracking_no: str, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """By tracking number: status, milestones and deadlines."""
    return _page(request, runtime, lambda session: find_by_tracking_no(session, tracking_no), full=False)


@router.api_route("/p/{access_key}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def progress_page(
    access_key: str, request: Request, runtime: RuntimeDep, sent: str | None = None
) -> HTMLResponse:
    """The link in the enterprise's SMS: the whole public record, a message form, the rating once resolved."""
    return _key_page(request, runtime, access_key, notice=SENT_NOTICES.get(sent or ""))


@router.post("/p/{access_key}/message", response_class=HTMLResponse, response_model=None)
def message_form(
    access_key: str, request: Request, runtime: RuntimeDep, text: Annotated[str, Form()] = ""
) -> HTMLResponse | RedirectResponse:
    """The page's message form; then back to the page (303), or the page again with what to fix."""

    def apply(session: Session, complaint: Complaint, now: datetime) -> object:
        return web_message(session, complaint, _checked_text(text), now, runtime.config)

    return _form_post(request, runtime, access_key, apply, sent="message", draft=text)


@router.post("/p/{access_key}/rating", response_class=HTMLResponse, response_model=None)
def rating_form(
    access_key: str, request: Request, runtime: RuntimeDep, rating: Annotated[str, Form()] = ""
) -> HTMLResponse | RedirectResponse:
    """The page's three rating buttons (1 满意, 2 基本满意, 3 不满意)."""

    def apply(session: Session, complaint: Complaint, now: datetime) -> object:
        if rating not in ("1", "2", "3"):
            raise InvalidInput("rating", "choose 满意, 基本满意 or 不满意")
        return web_rating(session, complaint, int(rating), now, runtime.config)

    return _form_post(request, runtime, access_key, apply, sent="rating")


SENT_NOTICES = {
    "filed": "投诉已提交并受理，请留意短信通知。/ Your complaint is filed; SMS updates will follow.",
    "message": "留言已送达承办单位。/ Your message has reached the department.",
    "rating": "感谢您的评价。/ Thank you for your rating.",
}


def _checked_text(text: str) -> str:
    """The JSON API's checks (EnterpriseMessage), said in words for a person at a phone."""
    try:
        return EnterpriseMessage(text=text).text
    except ValidationError as exc:
        reason = reason_of(exc.errors()[0], empty="请先填写留言内容 / write your message first")
    raise InvalidInput("text", reason)


def _form_post(
    request: Request,
    runtime: Runtime,
    access_key: str,
    apply: Callable[[Session, Complaint, datetime], object],
    *,
    sent: str,
    draft: str = "",
) -> HTMLResponse | RedirectResponse:
    try:
        enterprise_write(runtime, access_key, apply)
    except NotFound as exc:
        return templates.TemplateResponse(
            request, "not_found.html", {"message": exc.message}, status_code=404
        )
    except DomainError as exc:
        status = 422 if isinstance(exc, InvalidInput) else 429 if isinstance(exc, TooMany) else 409
        return _key_page(request, runtime, access_key, error=exc.message, draft=draft, status_code=status)
    return RedirectResponse(f"/p/{access_key.lower()}?sent={sent}", status_code=303)


def _key_page(request: Request, runtime: Runtime, access_key: str, **shown: Any) -> HTMLResponse:
    """The enterprise's own page, by the key of its link, with a notice or an error to show."""
    find = partial(find_by_access_key, key=access_key)
    return _page(request, runtime, find, full=True, key=access_key.lower(), **shown)


def _page(
    request: Request,
    runtime: Runtime,
    find: Callable[[Session], Complaint],
    *,
    full: bool,
    key: str | None = None,
    notice: str | None = None,
    error: str | None = None,
    draft: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    zone = ZoneInfo(runtime.config.policy.calendar.timezone)
    with runtime.db.read() as session:
        try:
            view = track_view(session, find(session), runtime.config, runtime.clock.now(), full=full)
        except NotFound as exc:
            return templates.TemplateResponse(
                request, "not_found.html", {"message": exc.message}, status_code=404
            )
    context = {
        "view": view,
        "zone": zone,
        "key": key,
        "notice": notice,
        "error": error,
        "draft": draft,
    }
    return templates.TemplateResponse(request, "track.html", context, status_code=status_code)
