"""Every error response is JSON: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from quart import Quart, Response, jsonify, request
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import HTTPException

from nexus.accounts import AccountError
from nexus.tickets import TicketError

logger = logging.getLogger("nexus.web")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details if details is not None else {}


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": details if details is not None else {}}})
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
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(TicketError)
    async def ticket_error(exc: TicketError) -> Response:
        return error_response(exc.status, exc.code, exc.message, {"field": exc.field} if exc.field else {})

    @app.errorhandler(AccountError)
    async def account_error(exc: AccountError) -> Response:
        status = 409 if exc.code == "email_taken" else 422
        return error_response(status, exc.code, exc.message, {"field": exc.field} if exc.field else {})

    @app.before_request
    async def reject_broken_json() -> None:
        if request.method in ("POST", "PUT", "PATCH") and request.is_json and request.path.startswith("/api/"):
            body = await request.get_data()
            if body.strip() and await request.get_json(silent=True) is None:
                raise ApiError(400, "invalid_json", "the request body is not valid JSON")

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status == 404:
            return error_response(404, "not_found", f"no such endpoint: {request.method} {request.path}")
        if status == 405:
            return error_response(405, "method_not_allowed", f"{request.method} is not allowed on {request.path}")
        if status == 413:
            return error_response(413, "payload_too_large", "the request body is too large")
        return error_response(status, _CODES.get(status, "http_error"), exc.description or exc.name or "error")

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")
