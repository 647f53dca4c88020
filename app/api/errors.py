"""Turn domain and validation errors into 4xx answers that say what to fix."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from workflows.errors import DomainError, IllegalTransition, InvalidInput, NotFound, NotNow, StaleVersion


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def _readable(error: dict[str, Any]) -> dict[str, str]:
    field = _field_of(error.get("loc", ()))
    message = error.get("msg", "invalid")
    if error.get("type") == "extra_forbidden":
        message = "unknown field: remove it"
    elif error.get("type") == "json_invalid":
        field = "body"
        message = f"the body is not valid JSON ({error.get('ctx', {}).get('error', 'syntax error')})"
    return {"field": field, "message": message}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_readable(e) for e in exc.errors()]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse(status_code=422, content={"detail": summary, "errors": errors})

    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        content: dict[str, Any] = {"detail": exc.message}
        if isinstance(exc, InvalidInput):
            status = 422
            content["errors"] = [{"field": exc.field, "message": exc.reason}]
        elif isinstance(exc, NotFound):
            status = 404
        elif isinstance(exc, IllegalTransition):
            status = 409
            content["allowed_actions"] = exc.allowed
        elif isinstance(exc, StaleVersion):
            status = 409
            content["current_version"] = exc.actual
        elif isinstance(exc, NotNow):
            status = 409
        else:
            status = 400
        return JSONResponse(status_code=status, content=content)
