"""Turn domain and validation errors into 4xx answers that say what to fix."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from workflows.errors import (
    DomainError,
    IllegalTransition,
    InvalidInput,
    NotFound,
    NotNow,
    StaleVersion,
    TooMany,
)


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def _readable(error: dict[str, Any]) -> dict[str, str]:
    field = _field_of(error.get("loc", ()))
    message = error.get("msg", "invalid")
    if message.startswith("Value error, "):  # pydantic's prefix for our own validators' messages
        message = message.removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        message = "unknown field: remove it"
    elif error.get("type") == "model_attributes_type" and field == "body":
        message = "send a JSON object with content-type: application/json"
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

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI answers a body it cannot read (invalid UTF-8, JSON nested too deep) with 400 "There was
        # an error parsing the body": same shape as every other refusal, and what to send instead.
        detail = exc.detail
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "body: the body could not be read; send UTF-8 JSON with content-type: application/json"
        content: dict[str, Any] = {"detail": detail}
        if exc.status_code == 400 and isinstance(detail, str):
            content["errors"] = [{"field": "body", "message": detail.removeprefix("body: ")}]
        return JSONResponse(status_code=exc.status_code, content=content, headers=exc.headers)

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
        elif isinstance(exc, TooMany):
            headers = {"Retry-After": str(exc.retry_after_seconds)}
            return JSONResponse(status_code=429, content=content, headers=headers)
        else:
            status = 400
        return JSONResponse(status_code=status, content=content)
