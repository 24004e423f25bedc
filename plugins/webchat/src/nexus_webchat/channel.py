"""The web-chat channel type: one instance per widget.

Visitors write through the widget's HTTP API (:mod:`nexus_webchat.web`), and agents' replies
reach their open widgets over the ``/webchat`` Socket.IO namespace
(:mod:`nexus_webchat.visitors`). A reply counts as sent once it is in the visitor's
conversation and pushed (``nexus_message_sent`` pushes it, see the package); the widget then
reports it delivered and, once shown, read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from nexus import Channel, PermanentError, RateLimit, RetryableError, SendResult
from nexus.types import OutboundMessage
from nexus_webchat import tokens
from nexus_webchat.config import WebchatConfig

NAMESPACE = "/webchat"
FORWARD_SIGNATURE = "X-Nexus-Signature"


class WebchatChannel(Channel):
    type_name = "webchat"
    Config = WebchatConfig
    description = "A chat widget on your own website, served by Nexus"
    # Replies are pushed through Nexus's own Socket.IO: no provider to pace for.
    rate_limit = RateLimit(per_second=None, per_recipient_per_second=None)
    send_timeout = 30.0
    config: WebchatConfig

    async def start(self) -> None:
        # Every process must agree on these, so they are stored once and read back.
        self.secret: str = await self.host.setdefault_state("token_secret", secrets.token_urlsafe(32))
        self.public_key: str = self.config.public_key or await self.host.setdefault_state(
            "public_key", secrets.token_urlsafe(12))
        self.forwarder: aiohttp.ClientSession | None = None
        if self.config.forward_url:
            self.forwarder = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.forward_timeout))

    async def stop(self) -> None:
        if getattr(self, "forwarder", None) is not None:
            await self.forwarder.close()

    def status_details(self) -> Mapping[str, Any]:
        key = getattr(self, "public_key", None)
        if key is None:
            return {}
        return {
            "public_key": key,
            "embed": f'<script src="/webchat/static/widget.js" data-key="{key}" async></script>',
            "demo_page": f"/webchat/{self.name}/demo",
        }

    # --- Visitors ------------------------------------------------------------------------

    def token_for(self, visitor: tokens.Visitor) -> str:
        return tokens.issue(self.secret, visitor)

    def visitor_of(self, token: str | None) -> tokens.Visitor | None:
        """The visitor a token names, if it is a valid token of this channel."""
        if not token or tokens.channel_of(token) != self.name:
            return None
        return tokens.verify(self.secret, token)

    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        """Whether a browser page at ``origin`` may use this widget. No Origin header means no
        browser page (a script can send any header anyway); Nexus's own pages are allowed."""
        if not origin:
            return True
        origin = origin.strip().rstrip("/").lower()
        allowed = self.config.allowed_origins
        if "*" in allowed or origin in allowed:
            return True
        return bool(host) and urlsplit(origin).netloc == host.lower()

    # --- Replies -------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        visitor = message.recipient.address
        if not tokens.VISITOR_ID.match(visitor):
            raise PermanentError(f"{visitor!r} is not a web-chat visitor", code="invalid_recipient")
        if self.forwarder is not None:
            await self._forward(visitor, message)
        return SendResult(external_id=f"out:{visitor}:{message.message_id}", metadata={"webchat": {"visitor": visitor}})

    async def _forward(self, visitor: str, message: OutboundMessage) -> None:
        body = json.dumps({
            "channel": self.name, "visitor": visitor, "message_id": message.message_id, "ticket_id": message.ticket_id,
            "text": message.text, "automatic": message.automatic,
            "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size}
                            for a in message.attachments],
        }, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        if self.config.forward_secret is not None:
            key = self.config.forward_secret.get_secret_value().encode()
            headers[FORWARD_SIGNATURE] = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        assert self.forwarder is not None and self.config.forward_url
        try:
            async with self.forwarder.post(self.config.forward_url, data=body, headers=headers) as response:
                if response.status < 300:
                    return
                text = (await response.text())[:200]
                if response.status == 429 or response.status >= 500:
                    retry_after = response.headers.get("Retry-After")
                    raise RetryableError(f"forward_url answered {response.status}: {text}", code=str(response.status),
                                         retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None)
                raise PermanentError(f"forward_url answered {response.status}: {text}", code=str(response.status))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryableError(f"forward_url unreachable: {exc or type(exc).__name__}", code="network") from exc
