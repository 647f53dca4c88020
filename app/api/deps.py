"""FastAPI dependencies: the runtime the app was built with."""

from typing import Annotated

from fastapi import Depends, Request

from app.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    """Async on purpose: a sync dependency would cost every request a thread-pool hop."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
