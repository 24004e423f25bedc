"""Every error response is JSON: ``{"error": {"code", "message", "details"}}``, where
``details`` is always a list of ``{"field", "problem"}`` objects (empty when no field is to
blame). :class:`ErrorBody` is that shape as a schema, for the OpenAPI document."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from quart import Quart, Response, jsonify, request
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import HTTPException

from nexus.accounts import AccountError
from nexus.tickets import TicketError

logger = logging.getLogger("nexus.web")


class Problem(BaseModel):
    """One thing wrong with a request."""

    field: str = Field(description="the field, query parameter or header at fault, dotted for nested "
                                   "fields (`attachments.0.data`); `body` for the body as a whole")
    problem: str = Field(description="what is wrong with it")


class ErrorDetail(BaseModel):
    code: str = Field(description="a stable machine-readable code, such as `ticket_not_found`")
    message: str = Field(description="what went wrong, for a person")
    details: list[Problem] = Field(description="each field at fault; empty when none is")


class ErrorBody(BaseModel):
    """An error: a stable `code`, a `message` for a person, and the fields at fault."""

    error: ErrorDetail


Details = Iterable[Mapping[str, Any]] | Mapping[str, Any] | None


def problems(details: Details) -> list[dict[str, str]]:
    """``details`` in the one shape of the API: a list of ``{field, problem}``. A mapping
    (``{"field": "name"}`` or ``{"database": "down"}``) is converted, so no caller can send
    another shape."""
    if details is None:
        return []
    if isinstance(details, Mapping):
        if set(details) <= {"field", "problem"} and "field" in details:
            return [{"field": str(details["field"]), "problem": str(details.get("problem", "invalid"))}]
        return [{"field": str(key), "problem": str(value)} for key, value in details.items()]
    return [{"field": str(item.get("field", "body")), "problem": str(item.get("problem", "invalid"))}
            for item in details]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Details = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = problems(details)
        self.headers = dict(headers or {})


def field_error(status: int, code: str, field: str, problem: str) -> ApiError:
    """An error about one field; the message names it."""
    return ApiError(status, code, f"{field}: {problem}", [{"field": field, "problem": problem}])


def error_response(status: int, code: str, message: str, details: Details = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": problems(details)}})
    response.status_code = status
    return response


def validation_details(exc: Exception) -> list[dict[str, str]]:
    if isinstance(exc, ValidationError):
        return [
            {"field": ".".join(str(p) for p in error["loc"]) or "body", "problem": error["msg"]}
            for error in exc.errors()
        ]
    return [{"field": "body", "problem": str(exc)}]


_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
          415: "unsupported_media_type", 422: "unprocessable", 429: "too_many_requests"}


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(RequestSchemaValidationError)
    async def schema_error(exc: RequestSchemaValidationError) -> Response:
        details = validation_details(exc.validation_error)
        first = details[0]
        if first["field"] == "body" and "valid dictionary" in first["problem"]:
            return error_response(400, "invalid_body", "the request body must be a JSON object", details)
        return error_response(422, "invalid_request", f"{first['field']}: {first['problem']}", details)

    @app.errorhandler(ApiError)
    async def api_error(exc: ApiError) -> Response:
        response = error_response(exc.status, exc.code, exc.message, exc.details)
        for name, value in exc.headers.items():
            response.headers[name] = value
        return response

    @app.errorhandler(TicketError)
    async def ticket_error(exc: TicketError) -> Response:
        details = [{"field": exc.field, "problem": exc.message}] if exc.field else []
        return error_response(exc.status, exc.code, exc.message, details)

    @app.errorhandler(AccountError)
    async def account_error(exc: AccountError) -> Response:
        status = 409 if exc.code == "email_taken" else 422
        details = [{"field": exc.field, "problem": exc.message}] if exc.field else []
        return error_response(status, exc.code, exc.message, details)

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status == 404:
            return error_response(404, "not_found", f"no such endpoint: {request.method} {request.path}")
        if status == 405:
            return error_response(405, "method_not_allowed", f"{request.method} is not allowed on {request.path}")
        if status == 413:
            limit = request.body_limit if hasattr(request, "body_limit") else None
            suffix = f" (at most {limit} bytes here)" if limit else ""
            return error_response(413, "payload_too_large", f"the request body is too large{suffix}")
        return error_response(status, _CODES.get(status, "http_error"), exc.description or exc.name or "error")

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> Response:
        if database_down(exc):
            logger.warning("%s %s: the database is unavailable (%s)", request.method, request.path, exc)
            response = error_response(503, "database_unavailable", "the database is unavailable; try again shortly")
            response.headers["Retry-After"] = str(RETRY_AFTER_DOWN)
            return response
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")


#: Seconds a client is asked to wait while the database is away.
RETRY_AFTER_DOWN = 5


def database_down(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a lost or refused database connection, as during
    a restart or a failover: the request may succeed later, and deserves a 503, not a 500."""
    from tortoise.exceptions import DBConnectionError

    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        lost: tuple[type[BaseException], ...] = (OSError, DBConnectionError)
    else:
        lost = (OSError, DBConnectionError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                asyncpg.exceptions.OperatorInterventionError)
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, lost):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
