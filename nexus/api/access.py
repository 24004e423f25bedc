"""Bearer-token authentication and the admin check."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from quart import g, request

from nexus.auth import token_hash
from nexus.db import models
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
        agent = await current_nexus().accounts.agent_for_token(token)
        if agent is None:
            raise ApiError(401, "unauthorized", "the token is invalid, expired or revoked")
        g.agent = agent
        g.token_hash = token_hash(token)
        return await func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def admin_required(func: F) -> F:
    @agent_required
    @wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.agent.role != models.Role.ADMIN:
            raise ApiError(403, "forbidden", "this needs an admin")
        return await func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def current_agent() -> models.Agent:
    return g.agent


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise ApiError(400, "invalid_cursor", "cursor is not one this API returned") from None
    if not isinstance(values, list) or len(values) != size:
        raise ApiError(400, "invalid_cursor", "cursor is not one this API returned")
    return values
