"""The enterprise's public view of its complaint (no login).

By tracking number (read out on the phone, guessable): status, milestones and deadlines. By the key in
the SMS link (unguessable): also the title, the public notes and the messages sent.
"""

from fastapi import APIRouter

from app.api.deps import RuntimeDep
from models.public import TrackView
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
