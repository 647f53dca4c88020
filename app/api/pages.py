"""HTML pages: the public progress page an SMS links to."""

from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from app.api.deps import RuntimeDep
from app.runtime import Runtime
from models import Complaint
from workflows.errors import NotFound
from workflows.queries import find_by_access_key, find_by_tracking_no, track_view

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")


@router.get("/t/{tracking_no}", response_class=HTMLResponse)
def tracking_page(tracking_no: str, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """By tracking number: status, milestones and deadlines."""
    return _page(request, runtime, lambda session: find_by_tracking_no(session, tracking_no), full=False)


@router.get("/p/{access_key}", response_class=HTMLResponse)
def progress_page(access_key: str, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The link in the enterprise's SMS: the whole public record."""
    return _page(request, runtime, lambda session: find_by_access_key(session, access_key), full=True)


def _page(
    request: Request, runtime: Runtime, find: Callable[[Session], Complaint], *, full: bool
) -> HTMLResponse:
    zone = ZoneInfo(runtime.config.policy.calendar.timezone)
    with runtime.db.read() as session:
        try:
            view = track_view(session, find(session), runtime.config, runtime.clock.now(), full=full)
        except NotFound as exc:
            return templates.TemplateResponse(
                request, "not_found.html", {"message": exc.message}, status_code=404
            )
    return templates.TemplateResponse(request, "track.html", {"view": view, "zone": zone})
