"""Webhook authentication: Meta's subscription handshake and its payload signature."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Hub-Signature-256"


def sign(body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends: ``sha256=`` and the hex HMAC-SHA256 of the
    exact body bytes under the app secret."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether ``header`` signs ``body``, compared in constant time. The body must be the raw
    bytes received: Meta's JSON escapes non-ASCII and ``/``, so re-serialised JSON never
    matches."""
    if not header:
        return False
    return hmac.compare_digest(header.strip().encode(), sign(body, app_secret).encode())


def subscription_challenge(query: Mapping[str, str], verify_token: str) -> str | None:
    """The ``hub.challenge`` to echo when ``query`` is Meta's verification request with our
    verify token, else None."""
    if query.get("hub.mode") != "subscribe":
        return None
    given = query.get("hub.verify_token") or ""
    if not verify_token or not hmac.compare_digest(given.encode(), verify_token.encode()):
        return None
    return query.get("hub.challenge", "")
