"""The enterprise's public view of its complaint (no login).

By tracking number (read out on the phone, guessable): status, milestones and deadlines. By the key in
the SMS link (unguessable): also the title, the public notes and the messages sent; and with the key the
enterprise may write to its handler and rate the outcome.
"""

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter
from sqlmodel import Session

from app.api.deps import RuntimeDep
from app.runtime import Runtime
from models import Complaint, EnterpriseMessage, EnterpriseRating
from models.public import TrackView
from workflows.feedback import web_message, web_rating
from workflows.queries import find_by_access_key, find_by_tracking_no, track_view

router = APIRouter(tags=["public"])


@router.get("/api/track/{tracking_no}", response_model=TrackView)
def track(tracking_no: str, runtime: RuntimeDep) -> TrackView:
    """Progress of one complaint by its tracking number: milestones and deadlines, phone masked."""
    with runtime.db.read() as session:
        complaint = find_by_tracking_no(session, tracking_no)
        return track_view(session, complaint, runtime.config, runtime.clock.now(), full=False)


@router.get("/api/progress/{access_key}", response_model=TrackView)
def progress(access_key: str, runtime: RuntimeDep) -> TrackView:
    """The enterprise's whole public record, by the key of its SMS link: also title, notes and messages."""
    with runtime.db.read() as session:
        complaint = find_by_access_key(session, access_key)
        return track_view(session, complaint, runtime.config, runtime.clock.now(), full=True)


@router.post("/api/progress/{access_key}/messages", response_model=TrackView, status_code=201)
def post_message(access_key: str, message: EnterpriseMessage, runtime: RuntimeDep) -> TrackView:
    """The enterprise writes to its handler: a public message on the record; the department is told."""
    return enterprise_write(
        runtime, access_key, lambda s, c, now: web_message(s, c, message.text, now, runtime.config)
    )


@router.post("/api/progress/{access_key}/rating", response_model=TrackView)
def post_rating(access_key: str, rating: EnterpriseRating, runtime: RuntimeDep) -> TrackView:
    """The enterprise rates the outcome (1 满意, 2 基本满意, 3 不满意) once resolved; a later rating replaces it."""
    return enterprise_write(
        runtime, access_key, lambda s, c, now: web_rating(s, c, rating.rating, now, runtime.config)
    )


def enterprise_write(
    runtime: Runtime, access_key: str, apply: Callable[[Session, Complaint, datetime], object]
) -> TrackView:
    """Apply what the enterprise did on its page in one transaction; answer with the page's new state."""
    now = runtime.clock.now()
    with runtime.db.write() as session:
        complaint = find_by_access_key(session, access_key, lock=True)
        apply(session, complaint, now)
        session.flush()
        view = track_view(session, complaint, runtime.config, now, full=True)
    runtime.kick_dispatch()
    return view
