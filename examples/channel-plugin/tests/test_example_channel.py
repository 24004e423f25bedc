"""The example plugin's own tests: Nexus's conformance suite, run against this plugin through
its entry point, with a fake Example Chat API standing in for the provider."""

from __future__ import annotations

import json

from nexus.testing import FakeProvider
from nexus.testing.conformance import ChannelConformance
from nexus_channel_example import SIGNATURE_HEADER, sign

SECRET = "conformance-secret"


def webhook_body(*events: dict) -> bytes:
    return json.dumps({"events": list(events)}, separators=(",", ":")).encode()


class TestExampleConformance(ChannelConformance):
    channel_type = "example"

    def configure(self, provider: FakeProvider) -> dict:
        return {"api_url": provider.url, "token": "test-token", "secret": SECRET}

    def setup_provider(self, provider: FakeProvider) -> None:
        counter = iter(range(1, 1_000_000))
        provider.route("POST", "/messages", lambda request: {"id": f"out-{next(counter)}"})

    async def deliver_inbound(self, server, provider, *, message_id, sender, name, text) -> None:
        body = webhook_body({"type": "message", "id": message_id, "from": {"id": sender, "name": name},
                             "text": text, "timestamp": 1767225600})
        response = await server.post_webhook(self.channel_name, body, headers={SIGNATURE_HEADER: sign(body, SECRET)})
        assert response.status == 200, response.body

    async def deliver_forged(self, server, provider, *, message_id, sender, text) -> int:
        body = webhook_body({"type": "message", "id": message_id, "from": {"id": sender}, "text": text})
        response = await server.post_webhook(self.channel_name, body, headers={SIGNATURE_HEADER: sign(body, "wrong")})
        return response.status

    def sent_messages(self, provider: FakeProvider) -> list[tuple[str, str]]:
        return [(r.json()["to"], r.json()["text"]) for r in provider.requests_to("POST", "/messages", succeeded=True)]

    def fail_sends(self, provider: FakeProvider, kind, times: int = 1) -> None:
        if kind == "retryable":
            provider.fail(times, status=503, path="/messages", headers={"Retry-After": "1"})
        else:
            provider.fail(times, status=400, path="/messages", json={"error": "recipient unknown", "code": "bad_recipient"})
