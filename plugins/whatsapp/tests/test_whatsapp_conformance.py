"""Nexus's channel conformance suite, run against the WhatsApp plugin through its entry point,
with the fake Graph API standing in for Meta."""

from __future__ import annotations

from whatsapp_fakes import (
    APP_SECRET,
    MESSAGES_PATH,
    FakeGraph,
    encode,
    graph_error,
    inbound,
    settings,
    signed,
    text_message,
)

from nexus.testing import FakeProvider, wait_for
from nexus.testing.conformance import ChannelConformance


class TestWhatsAppConformance(ChannelConformance):
    channel_type = "whatsapp"
    # wa_ids, as WhatsApp reports its users: the country code and number, digits only.
    contact_addresses = ("15550100001", "15550100002")
    forged_address = "15550100666"

    def configure(self, provider: FakeProvider) -> dict:
        config = settings(provider.url)
        del config["type"]
        return config

    def setup_provider(self, provider: FakeProvider) -> None:
        FakeGraph(provider)

    async def deliver_inbound(self, server, provider, *, message_id, sender, name, text) -> None:
        body = encode(inbound(sender, name, text_message(sender, message_id, text)))
        response = await server.post_webhook(self.channel_name, body, headers=signed(body))
        assert response.status == 200, response.body
        # The 200 comes once the payload is stored; the message is stored just after.
        await wait_for(
            lambda: server.messages(self.channel_name, external_id=message_id),
            message=f"message {message_id} to be stored",
        )

    async def deliver_forged(self, server, provider, *, message_id, sender, text) -> int:
        body = encode(inbound(sender, "Intruder", text_message(sender, message_id, text)))
        response = await server.post_webhook(
            self.channel_name, body, headers=signed(body, APP_SECRET + "-wrong")
        )
        return response.status

    def sent_messages(self, provider: FakeProvider) -> list[tuple[str, str]]:
        return [
            (r.json()["to"], r.json()["text"]["body"])
            for r in provider.requests_to("POST", MESSAGES_PATH, succeeded=True)
        ]

    def fail_sends(self, provider: FakeProvider, kind, times: int = 1) -> None:
        if kind == "retryable":
            provider.fail(
                times,
                status=500,
                method="POST",
                path=MESSAGES_PATH,
                json=graph_error(
                    131000,
                    "Something went wrong",
                    "Message failed to send because of an unknown error. Please try again later.",
                ),
            )
        else:
            provider.fail(
                times,
                status=400,
                method="POST",
                path=MESSAGES_PATH,
                json=graph_error(
                    131026,
                    "Message undeliverable",
                    "Message failed to send because the recipient is not a WhatsApp user",
                ),
            )
