"""Visitor tokens and identity verification.

A visitor token is ``<channel>.<visitor id>.<signature>``: the signature is an HMAC of the
channel and visitor id under the channel's own secret (generated once, kept in the channel's
state, so every process agrees). It is checked without a lookup, and it names one visitor of
one channel: it reaches that visitor's conversation and nothing else. It is no agent token:
the REST API and the agents' Socket.IO namespace refuse it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

VISITOR_ID = re.compile(r"^[au]-[0-9a-f]{32}$")
SCHEME = "Visitor"


@dataclass(frozen=True)
class Visitor:
    channel: str
    id: str

    @property
    def verified(self) -> bool:
        """Identified by the operator's site (identity verification), not anonymous."""
        return self.id.startswith("u-")

    @property
    def room(self) -> str:
        """The Socket.IO room of this visitor's widgets."""
        return f"{self.channel}:{self.id}"


def new_anonymous_id() -> str:
    return "a-" + secrets.token_hex(16)


def verified_id(user_id: str) -> str:
    """The visitor id of a user of the operator's site: the same on every device and in every
    web-chat channel, so the user is one contact."""
    return "u-" + hashlib.sha256(user_id.encode()).hexdigest()[:32]


def _signature(secret: str, channel: str, visitor_id: str) -> str:
    digest = hmac.new(secret.encode(), f"{channel}.{visitor_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(secret: str, visitor: Visitor) -> str:
    return f"{visitor.channel}.{visitor.id}.{_signature(secret, visitor.channel, visitor.id)}"


def channel_of(token: str) -> str | None:
    """The channel a token claims to belong to (unverified), to find its secret."""
    parts = token.split(".")
    return parts[0] if len(parts) == 3 else None


def verify(secret: str, token: str) -> Visitor | None:
    parts = token.split(".")
    if len(parts) != 3 or not VISITOR_ID.match(parts[1]):
        return None
    channel, visitor_id, signature = parts
    if not hmac.compare_digest(signature.encode(), _signature(secret, channel, visitor_id).encode()):
        return None
    return Visitor(channel, visitor_id)


def identity_hash(secret: str, user_id: str) -> str:
    """What the operator's server computes for a logged-in user: hex HMAC-SHA256 of the user
    id under the channel's ``identity_secret``."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def identity_matches(secret: str, user_id: str, claimed: str) -> bool:
    return hmac.compare_digest(identity_hash(secret, user_id).encode(), claimed.strip().lower().encode())


def from_header(value: str | None) -> str | None:
    """The token of an ``Authorization: Visitor <token>`` header."""
    scheme, _, token = (value or "").partition(" ")
    return token.strip() or None if scheme == SCHEME else None
