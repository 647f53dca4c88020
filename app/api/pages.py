"""HTML pages: the public progress page an SMS links to."""

from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.api.deps import RuntimeDep
from workflows.errors import NotFound
from workflows.queries import find_by_tracking_no, track_view

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")


@router.get("/t/{tracking_no}", response_class=HTMLResponse)
def progress_page(tracking_no: str, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    zone = ZoneInfo(runtime.config.policy.calendar.timezone)
    with runtime.db.read() as session:
        try:
            view = track_view(
                session, find_by_tracking_no(session, tracking_no), runtime.config, runtime.clock.now()
            )
        except NotFound as exc:
            return templates.TemplateResponse(
                request,
                "not_found.html",
                {"message": exc.message, "tracking_no": tracking_no},
                status_code=404,
            )
    return templates.TemplateResponse(request, "track.html", {"view": view, "zone": zone})
