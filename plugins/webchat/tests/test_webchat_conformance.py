"""Nexus's conformance suite against the web-chat channel.

A web chat has no provider: visitors write through the widget's API, which the suite drives
as the widget does, and replies are pushed to the visitor's widget. The part of sending that
can fail is the reply forward (``forward_url``, for notifying visitors who left), so the suite
runs with a forward pointed at the fake provider: its answers decide whether a reply is sent,
retried or failed, exactly as a messaging provider's would.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

from webchat_client import ORIGIN, WebchatClient

from nexus.testing import FakeProvider, RunningNexus
from nexus.testing.conformance import ChannelConformance

FORWARD_SECRET = "forward-secret"


class TestWebchatConformance(ChannelConformance):
    channel_type = "webchat"

    def configure(self, provider: FakeProvider) -> dict[str, Any]:
        self.visitors: dict[tuple[int, str], asyncio.Task[WebchatClient]] = {}
        return {"allowed_origins": [ORIGIN], "rate_limit": "100/minute", "forward_url": f"{provider.url}/replies",
                "forward_secret": FORWARD_SECRET}

    def setup_provider(self, provider: FakeProvider) -> None:
        def forwarded(request: Any) -> dict[str, Any]:
            expected = "sha256=" + hmac.new(FORWARD_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
            assert request.header("X-Nexus-Signature") == expected, "forwarded replies are signed"
            return {"ok": True}

        provider.route("POST", "/replies", forwarded)

    async def visitor(self, server: RunningNexus, sender: str) -> WebchatClient:
        """One widget session per sender, started once even when messages race."""
        async def start() -> WebchatClient:
            client = WebchatClient(server, channel=self.channel_name)
            assert (await client.start()).status == 200
            return client

        key = (id(server), sender)
        if key not in self.visitors:
            self.visitors[key] = asyncio.ensure_future(start())
        return await self.visitors[key]

    async def deliver_inbound(self, server: RunningNexus, provider: FakeProvider, *, message_id: str, sender: str,
                              name: str, text: str) -> None:
        visitor = await self.visitor(server, sender)
        response = await visitor.say(text, client_id=message_id)
        assert response.status in (200, 201), response.body

    async def deliver_forged(self, server: RunningNexus, provider: FakeProvider, *, message_id: str, sender: str,
                             text: str) -> int:
        visitor = await self.visitor(server, sender)
        channel, visitor_id, _ = visitor.token.split(".")
        forged = WebchatClient(server, channel=self.channel_name, token=f"{channel}.{visitor_id}.forged-signature")
        return (await forged.say(text, client_id=message_id)).status

    def sent_messages(self, provider: FakeProvider) -> list[tuple[str, str]]:
        return [(body["visitor"], body["text"]) for body in
                (json.loads(r.body) for r in provider.requests_to("POST", "/replies", succeeded=True))]

    def fail_sends(self, provider: FakeProvider, kind: Any, times: int = 1) -> None:
        status = 503 if kind == "retryable" else 410
        provider.fail(times, status=status, path="/replies")
