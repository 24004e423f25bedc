"""Bearer-token authentication, the admin check, and cursors.

The access decorators go first (outermost) on every route, so a request's token is checked
before its body is read or validated: a request without a valid token costs one lookup and
is answered 401, whatever it sent.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, Literal, TypeVar

from quart import g, request

from nexus.accounts import Session
from nexus.api.ids import parse_id
from nexus.db import models
from nexus.web.apidocs import mark_access
from nexus.web.context import current_nexus
from nexus.web.errors import ApiError

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def agent_required(func: F) -> F:
    @wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = bearer_token()
        if token is None:
            raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <token>'; get a token from POST /api/v1/auth/login")
        session = await current_nexus().accounts.session_for_token(token)
        if session is None:
            raise ApiError(401, "unauthorized", "the token is invalid, expired or revoked")
        g.agent = session.agent
        g.session = session
        return await func(*args, **kwargs)

    return mark_access(wrapper, "agent")  # type: ignore[return-value]


def admin_required(func: F) -> F:
    @wraps(func)
    async def check(*args: Any, **kwargs: Any) -> Any:
        if g.agent.role != models.Role.ADMIN:
            raise ApiError(403, "forbidden", "this needs an admin")
        return await func(*args, **kwargs)

    return mark_access(agent_required(check), "admin")  # type: ignore[return-value]


def current_agent() -> models.Agent:
    return g.agent


def current_session() -> Session:
    return g.session


# --- Cursors -------------------------------------------------------------------------------

Kind = Literal["id", "time"]


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *kinds: Kind) -> list[Any]:
    """The values of a cursor this API returned, checked against ``kinds`` (an id, or a
    time-zone-aware timestamp); anything else is a 400."""
    invalid = ApiError(400, "invalid_cursor", "cursor is not one this API returned",
                       [{"field": "cursor", "problem": "not a cursor this API returned"}])
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, binascii.Error, RecursionError):
        raise invalid from None
    if not isinstance(values, list) or len(values) != len(kinds):
        raise invalid
    decoded: list[Any] = []
    for value, kind in zip(values, kinds, strict=True):
        if kind == "id":
            number = parse_id(value)
            if number is None:
                raise invalid
            decoded.append(number)
        else:
            try:
                when = datetime.fromisoformat(value).astimezone(UTC) if isinstance(value, str) else None
            except (ValueError, OverflowError):
                when = None
            if when is None or not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is None:
                raise invalid
            decoded.append(when)
    return decoded
