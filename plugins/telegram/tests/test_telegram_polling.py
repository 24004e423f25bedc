"""Long-polling mode, end to end: updates come from ``getUpdates`` on the fake Bot API, become
tickets, and replies go back to the right chat. Stopping Nexus in the middle loses no update
and doubles none."""

from __future__ import annotations

import json

import pytest
from nexus_telegram.channel import inbound_mode
from nexus_telegram.polling import OFFSET_KEY
from telegram_fake import (
    CHANNEL,
    TOKEN,
    FakeBotAPI,
    channel_state,
    message,
    reply,
    settings,
    user,
)

from nexus.config import load_settings
from nexus.db import models
from nexus.instances import prepare
from nexus.testing import wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_polled_message_opens_a_ticket_and_the_reply_reaches_the_chat(
    nexus_server, bot_api: FakeBotAPI
):
    async with nexus_server(settings(bot_api)) as server:
        assert channel_state(server) == ("running", None)
        sent = await bot_api.push(
            "message",
            message(11, sender=user(555001, "Casey", "Contact"), text="Where is my order?"),
        )

        stored = await server.wait_for_message(channel=CHANNEL)
        assert stored.text == "Where is my order?"
        assert stored.external_id == "555001:11"
        (ticket,) = await server.tickets()
        assert ticket.channel == CHANNEL and ticket.status == "open"
        assert ticket.contact.name == "Casey Contact"
        assert ticket.contact.identities[0]["address"] == "555001"

        reply_id = await reply(server, ticket.id, "It ships today")
        delivered = await server.wait_for_status(reply_id, "sent")
        assert [(m["chat_id"], m["text"]) for m in bot_api.sent()] == [("555001", "It ships today")]
        assert delivered.external_id.startswith("555001:")

        # The offset moved past the update, in the channel's state and then in Telegram.
        runtime = server.nexus.channels.get(CHANNEL)
        assert await runtime.host.get_state(OFFSET_KEY) == sent["update_id"] + 1
        await wait_for(
            lambda: bot_api.pending == [], message="Telegram to have the update confirmed"
        )
        assert runtime.status()["details"]["mode"] == "polling"
        assert runtime.status()["details"]["bot"] == "@nexus_support_bot"


async def test_polling_removes_a_webhook_left_from_webhook_mode(nexus_server, bot_api: FakeBotAPI):
    bot_api.webhook = {"url": "https://old.example.com/webhooks/telegram/tg", "secret_token": "old"}
    async with nexus_server(settings(bot_api)) as server:
        await bot_api.push("message", message(12, text="still there?"))
        assert (await server.wait_for_message(channel=CHANNEL)).text == "still there?"
    assert bot_api.webhook is None
    assert len(bot_api.calls("deleteWebhook")) == 1
    refused = [r for r in bot_api.requests_to("POST", "/bot{token}/getUpdates") if r.status == 409]
    assert refused == [], "getUpdates ran while the webhook was still set"


async def test_stopping_nexus_mid_batch_loses_no_update_and_doubles_none(
    nexus_server, bot_api: FakeBotAPI
):
    texts = [f"message {n}" for n in range(40)]
    for n, text in enumerate(texts):
        await bot_api.push("message", message(100 + n, text=text))

    async with nexus_server(settings(bot_api)) as server:
        # Stop as soon as the batch is under way: the poller is cancelled wherever it is.
        await server.wait_for_message(channel=CHANNEL)
    for n, text in enumerate(texts[:10]):  # more arrive while Nexus is down
        await bot_api.push("message", message(200 + n, text=f"later {text}"))

    async with nexus_server(settings(bot_api)) as server:
        expected = sorted(texts + [f"later {text}" for text in texts[:10]])

        async def all_stored() -> bool:
            return len(await server.messages(CHANNEL)) >= len(expected)

        await wait_for(all_stored, timeout=30, message="every update to be stored")
        assert sorted(m.text for m in await server.messages(CHANNEL)) == expected
        assert len(await server.tickets()) == 1


async def test_a_failed_update_is_fetched_again_until_it_is_stored(
    nexus_server, bot_api: FakeBotAPI
):
    photo = bot_api.add_file(b"\xff\xd8 a receipt", "photos/receipt.jpg")
    await bot_api.push("message", message(301, text="first"))
    await bot_api.push(
        "message",
        message(302, photo=[{**photo, "width": 800, "height": 600}], caption="my receipt"),
    )
    await bot_api.push("message", message(303, text="third"))
    # Telegram's file service fails once while the photo is downloaded: the update cannot be
    # stored, so the poller stops before it and fetches it again.
    bot_api.fail_method("getFile", 502, "Bad Gateway")

    async with nexus_server(settings(bot_api)) as server:

        async def all_stored() -> bool:
            return len(await server.messages(CHANNEL)) == 3

        await wait_for(all_stored, timeout=30, message="the three updates to be stored")
        first, receipt, third = await server.messages(CHANNEL)
        assert (first.text, receipt.text, third.text) == ("first", "my receipt", "third")
        assert receipt.attachments[0].filename == f"photo_{photo['file_unique_id']}.jpg"
        assert len(bot_api.calls("getFile", succeeded=False)) == 1

        async def recovered() -> bool:
            return channel_state(server) == ("running", None)

        await wait_for(recovered, message="the channel's error to clear once polling works again")


async def test_one_environment_variable_runs_a_polling_bot(tmp_path, monkeypatch):
    # What `TELEGRAM_BOT_TOKEN=... nexus serve` reads in a directory without configuration.
    monkeypatch.chdir(tmp_path)
    setup = prepare(load_settings(environ={"TELEGRAM_BOT_TOKEN": TOKEN}))
    spec = setup.channels["telegram"]
    assert spec.type_name == "telegram" and spec.problem is None
    assert spec.config.token.get_secret_value() == TOKEN
    assert inbound_mode(spec.config.mode, setup.settings.server.public_url) == "polling"


async def test_the_environment_token_fills_a_configured_bot(nexus_server, bot_api: FakeBotAPI):
    config = {"channels": {"telegram": {"type": "telegram", "api_server": bot_api.url}}}
    async with nexus_server(config, environ={"TELEGRAM_BOT_TOKEN": TOKEN}) as server:
        assert channel_state(server, "telegram") == ("running", None)
        await bot_api.push("message", message(21, text="hello via env"))
        assert (await server.wait_for_message(channel="telegram")).text == "hello via env"


async def test_an_update_aiogram_cannot_read_is_kept_and_skipped(
    nexus_server, bot_api: FakeBotAPI, caplog
):
    # A poll in an older Bot API's shape, which aiogram's types no longer accept.
    poll = {
        "id": "5001",
        "question": "Pick one",
        "options": [{"text": "A", "voter_count": 0}],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
    }
    unreadable = await bot_api.push("message", message(401, poll=poll))
    await bot_api.push("message", message(402, text="after the poll"))

    async with nexus_server(settings(bot_api)) as server:
        await server.wait_for_message(channel=CHANNEL)
        assert [m.text for m in await server.messages(CHANNEL)] == ["after the poll"]
        assert channel_state(server) == ("running", None)
        # Kept, with the reason, for a replay once aiogram reads it.
        event = await wait_for(
            lambda: models.InboundEvent.get_or_none(status="failed"), message="the kept update"
        )
        assert f"update {unreadable['update_id']} does not match" in event.error
        assert json.loads(event.payload) == unreadable
    logged = [
        r.getMessage()
        for r in caplog.records
        if r.levelname == "ERROR" and r.name == f"nexus.channel.{CHANNEL}"
    ]
    assert len(logged) == 1
    assert f"update {unreadable['update_id']} does not match" in logged[0]
    assert '"question": "Pick one"' in logged[0]  # the whole update, to recover it by hand
