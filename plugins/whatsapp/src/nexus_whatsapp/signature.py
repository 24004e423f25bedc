"""Webhook authentication: Meta's subscription handshake and its payload signature."""

from __future__ import annotations

from collections.abc import Mapping

from nexus.http import hmac_signature, signatures_match

SIGNATURE_HEADER = "X-Hub-Signature-256"


def sign(body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends: ``sha256=`` and the hex HMAC-SHA256 of the
    exact body bytes under the app secret."""
    return "sha256=" + hmac_signature(app_secret, body)


def signature_valid(body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether ``header`` signs ``body``, compared in constant time. The body must be the raw
    bytes received: Meta's JSON escapes non-ASCII and ``/``, so re-serialised JSON never
    matches."""
    return signatures_match(header, sign(body, app_secret))


def subscription_challenge(query: Mapping[str, str], verify_token: str) -> str | None:
    """The ``hub.challenge`` to echo when ``query`` is Meta's verification request with our
    verify token, else None."""
    if query.get("hub.mode") != "subscribe":
        return None
    if not verify_token or not signatures_match(query.get("hub.verify_token"), verify_token):
        return None
    return query.get("hub.challenge", "")
