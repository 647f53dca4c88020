"""HTTP routes for staff and channels: intake, the worklist, one complaint, lifecycle actions."""

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.concurrency import run_in_threadpool

from app.api.deps import RuntimeDep
from app.runtime import Runtime
from models import Action, ActionRequest, Channel, ComplaintCreate, Complexity, Status
from models.public import ComplaintPage, ComplaintPublic
from workflows.errors import InvalidInput, NotFound
from workflows.lifecycle import transition
from workflows.queries import complaint_view, fresh_complaint_view, get_complaint, list_complaints
from workflows.sla import current_clocks

router = APIRouter(prefix="/api/complaints", tags=["complaints"])

ACTIONS = {action.value: action for action in Action}
MAX_ID = 2**31 - 1  # ids are 32-bit on PostgreSQL
ComplaintId = Annotated[int, Path(ge=1, le=MAX_ID, description="the complaint's id")]


@router.post(
    "",
    status_code=201,
    response_model=ComplaintPublic,
    responses={200: {"description": "Already filed under this channel reference; the same body"}},
)
async def file_complaint(
    submission: ComplaintCreate, runtime: RuntimeDep, response: Response
) -> ComplaintPublic:
    """File a complaint from any channel; a repeated (channel, channel_ref) returns the one filed.

    Async on purpose: the request waits on the group-commit writer without holding a worker thread.
    """
    result = await asyncio.wrap_future(runtime.intake.submit(submission))
    if result.created and result.complaint_row is not None:
        runtime.after_commit(result.earliest_level_at)
        return fresh_complaint_view(result.complaint_row, result.clock_rows, runtime.config)
    response.status_code = 200
    return await run_in_threadpool(_read_view, runtime, result.complaint_id)


def _read_view(runtime: Runtime, complaint_id: int) -> ComplaintPublic:
    with runtime.db.read() as session:
        return complaint_view(
            session, get_complaint(session, complaint_id), runtime.config, runtime.clock.now()
        )


@router.get("", response_model=ComplaintPage)
def worklist(
    runtime: RuntimeDep,
    status: Status | None = None,
    complexity: Complexity | None = None,
    channel: Channel | None = None,
    department: str | None = None,
    overdue: bool | None = None,
    sort: Literal["time_to_breach", "received_at", "-received_at"] = "time_to_breach",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> ComplaintPage:
    """Filter the complaints; by default the one nearest to (or furthest past) its deadline first."""
    if department is not None and department not in runtime.config.routing.departments:
        known = ", ".join(runtime.config.routing.departments)
        raise InvalidInput("department", f"unknown department '{department[:40]}'; use one of: {known}")
    with runtime.db.read() as session:
        return list_complaints(
            session,
            runtime.clock.now(),
            status=status,
            complexity=complexity,
            channel=channel,
            department=department,
            overdue=overdue,
            sort=sort,
            limit=limit,
            offset=offset,
        )


@router.get("/{complaint_id}", response_model=ComplaintPublic)
def show_complaint(complaint_id: ComplaintId, runtime: RuntimeDep) -> ComplaintPublic:
    """One complaint with its clocks, its audit trail and its messages."""
    with runtime.db.read() as session:
        complaint = get_complaint(session, complaint_id)
        return complaint_view(session, complaint, runtime.config, runtime.clock.now(), detail=True)


@router.post("/{complaint_id}/actions/{action}", response_model=ComplaintPublic)
def act(
    complaint_id: ComplaintId, action: str, request: ActionRequest, runtime: RuntimeDep
) -> ComplaintPublic:
    """Apply a lifecycle action (accept, assign, respond, progress, pause, resume, resolve, close, ...)."""
    chosen = ACTIONS.get(action)
    if chosen is None:
        raise NotFound(f"unknown action '{action}'; actions are: {', '.join(ACTIONS)}")
    with runtime.db.write() as session:
        complaint = transition(session, complaint_id, chosen, request, runtime.clock.now(), runtime.config)
        pending = [c.next_level_at for c in current_clocks(session, complaint).values() if c.next_level_at]
    runtime.after_commit(min(pending, default=None))
    with runtime.db.read() as session:
        return complaint_view(
            session, get_complaint(session, complaint_id), runtime.config, runtime.clock.now(), detail=True
        )
