"""The enterprise's public view of its complaint (no login: the tracking number is the key)."""

from fastapi import APIRouter

from app.api.deps import RuntimeDep
from models.public import TrackView
from workflows.queries import find_by_tracking_no, track_view

router = APIRouter(tags=["public"])


@router.get("/api/track/{tracking_no}", response_model=TrackView)
def track(tracking_no: str, runtime: RuntimeDep) -> TrackView:
    """Progress of one complaint: public milestones and notes, messages sent, phone masked."""
    with runtime.db.read() as session:
        complaint = find_by_tracking_no(session, tracking_no)
        return track_view(session, complaint, runtime.config, runtime.clock.now())
