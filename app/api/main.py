"""Build the FastAPI application around a Runtime."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import complaints, pages, qr_form, track, webhooks
from app.api.errors import install_error_handlers
from app.runtime import Runtime


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> FastAPI:
    """The API; with ``manage_runtime`` the app starts the timers on start-up and stops them on shutdown."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_runtime and not runtime.started:
            runtime.start()
        yield
        if manage_runtime:
            runtime.stop()

    app = FastAPI(
        title="complaintflow",
        description="即诉即办 complaint handling with SLA clocks / 营商环境投诉即诉即办",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    app.include_router(complaints.router)
    app.include_router(track.router)
    app.include_router(pages.router)
    app.include_router(qr_form.router)
    app.include_router(webhooks.router)

    @app.api_route("/healthz", methods=["GET", "HEAD"], tags=["ops"])
    def healthz() -> dict[str, str | None]:
        """Liveness, and whether SMS is paused because the provider refused our account."""
        paused = runtime.dispatcher.paused_until
        return {
            "status": "ok",
            "notifier": runtime.notifier.name,
            "sms_paused_until": paused.isoformat() if paused else None,
        }

    return app
