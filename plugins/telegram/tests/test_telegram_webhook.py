"""Webhook mode, end to end: with ``server.public_url`` set, the bot registers its webhook with
a generated secret, accepts updates that carry it, and refuses the rest."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from nexus_telegram import SECRET_HEADER, TelegramChannel
from telegram_fake import (
    CHANNEL,
    PUBLIC_URL,
    FakeBotAPI,
    channel_state,
    deliver,
    message,
    reply,
    settings,
    user,
)

from nexus import WebhookRequest
from nexus.testing import wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_webhook_update_opens_a_ticket_and_the_reply_reaches_the_chat(
    nexus_server, bot_api: FakeBotAPI
):
    async with nexus_server(settings(bot_api, webhook=True)) as server:
        assert channel_state(server) == ("running", None)
        (registered,) = bot_api.calls("setWebhook")
        assert registered["url"] == f"{PUBLIC_URL}/webhooks/telegram/{CHANNEL}"
        assert len(registered["secret_token"]) >= 32
        # Reactions are sent only to bots that ask for them.
        assert set(json.loads(registered["allowed_updates"])) == {
            "message",
            "edited_message",
            "callback_query",
            "message_reaction",
        }

        update = bot_api.update(
            "message", message(31, sender=user(555002, "Robin", None), text="Refund please")
        )
        response = await deliver(server, bot_api, update)
        assert response.status == 200
        (stored,) = await server.messages(CHANNEL)  # stored before the answer
        assert (stored.text, stored.external_id) == ("Refund please", "555002:31")
        (ticket,) = await server.tickets()
        assert ticket.contact.name == "Robin"

        reply_id = await reply(server, ticket.id, "Refunded")
        await server.wait_for_status(reply_id, "sent")
        assert [(m["chat_id"], m["text"]) for m in bot_api.sent()] == [("555002", "Refunded")]
        assert server.nexus.channels.get(CHANNEL).status()["details"]["mode"] == "webhook"
    assert bot_api.calls("getUpdates", succeeded=None) == []


async def test_a_missing_or_wrong_secret_is_refused_and_nothing_is_stored(
    nexus_server, bot_api: FakeBotAPI
):
    async with nexus_server(settings(bot_api, webhook=True)) as server:
        update = bot_api.update("message", message(32, text="forged"))
        missing = await server.post_webhook(CHANNEL, update)
        wrong = await server.post_webhook(CHANNEL, update, headers={SECRET_HEADER: "x" * 43})
        assert (missing.status, wrong.status) == (401, 401)
        assert await server.messages(CHANNEL) == []
        assert await server.tickets() == []


async def test_every_process_registers_the_same_secret(nexus_server, bot_api: FakeBotAPI):
    async with nexus_server(settings(bot_api, webhook=True)) as server:
        runtime = server.nexus.channels.get(CHANNEL)
        # More processes start the same channel at once, sharing the database.
        others = [TelegramChannel(CHANNEL, runtime.spec.config, runtime.host) for _ in range(3)]
        await asyncio.gather(*(other.start() for other in others))
        try:
            secrets = {call["secret_token"] for call in bot_api.calls("setWebhook")}
            assert len(secrets) == 1
            body = json.dumps(
                bot_api.update("message", message(33, text="to another process"))
            ).encode()
            request = WebhookRequest(
                "POST",
                f"/webhooks/telegram/{CHANNEL}",
                {SECRET_HEADER.lower(): secrets.pop()},
                {},
                body,
            )
            assert (await others[0].handle_webhook(request)).status == 200
        finally:
            await asyncio.gather(*(other.stop() for other in others))
        assert [m.text for m in await server.messages(CHANNEL)] == ["to another process"]

    async with nexus_server(settings(bot_api, webhook=True)):  # and after a restart
        assert len({call["secret_token"] for call in bot_api.calls("setWebhook")}) == 1


async def test_switching_back_to_polling_deletes_the_webhook(nexus_server, bot_api: FakeBotAPI):
    async with nexus_server(settings(bot_api, webhook=True)) as server:
        await deliver(server, bot_api, bot_api.update("message", message(35, text="by webhook")))
    assert bot_api.webhook is not None

    # The public URL stays (for other channels); the bot is told to poll.
    async with nexus_server(settings(bot_api, webhook=True, mode="polling")) as server:
        await bot_api.push("message", message(36, text="by polling"))
        await server.wait_for_message(channel=CHANNEL, text="by polling")
        assert bot_api.webhook is None
        # A late webhook delivery to a polling bot is refused, so Telegram keeps the update.
        response = await server.post_webhook(
            CHANNEL,
            bot_api.update("message", message(37, text="late")),
            headers={SECRET_HEADER: "anything"},
        )
        assert response.status == 404
        assert [m.text for m in await server.messages(CHANNEL)] == ["by webhook", "by polling"]


async def test_webhook_mode_without_a_public_url_fails_with_a_reason(
    nexus_server, bot_api: FakeBotAPI
):
    async with nexus_server(settings(bot_api, mode="webhook")) as server:
        state, error = channel_state(server)
        assert state == "failed"
        assert "server.public_url" in error


async def test_unreadable_bodies_with_the_secret_are_kept_and_answered_200(
    nexus_server, bot_api: FakeBotAPI
):
    """A body that carries the secret comes from Telegram: whatever it holds (not UTF-8, a raw
    NUL byte, nesting 100,000 deep, a number where a Message belongs) it is kept byte for byte
    with the reason, and answered 200 so that Telegram does not send it again and again."""
    async with nexus_server(settings(bot_api, webhook=True)) as server:
        headers = {SECRET_HEADER: bot_api.webhook["secret_token"], "Content-Type": "application/json"}
        good = json.dumps(bot_api.update("message", message(38, text="MARKER"))).encode()
        bodies = {
            b"not UTF-8": good.replace(b"MARKER", b"Ol\xe1 \xff"),
            b"not JSON": good.replace(b"MARKER", b"a\x00b"),
            b"nested too deeply": b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            b"does not match the Bot API types": json.dumps({"update_id": 990001, "message": 5}).encode(),
        }
        for body in bodies.values():
            response = await server.post_webhook(CHANNEL, body, headers=headers)
            assert response.status == 200, response.body

        token = await server.admin_token()

        async def failed() -> list[dict]:
            page = await server.api("GET", "/inbound-events", token, params={"status": "failed"})
            return page.body["items"] if len(page.body["items"]) == len(bodies) else []

        events = await wait_for(failed, message="the unreadable bodies to be kept as failed")
        for event in events:
            kept = (await server.api("GET", f"/inbound-events/{event['id']}", token)).body
            raw = base64.b64decode(kept["payload"]) if kept["payload_encoding"] == "base64" else kept["payload"].encode()
            reason = next(r for r, body in bodies.items() if body == raw)
            assert reason.decode() in kept["error"], kept["error"]
        assert await server.messages(CHANNEL) == []
        assert channel_state(server) == ("running", None)
