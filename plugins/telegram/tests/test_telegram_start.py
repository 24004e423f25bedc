"""Start-up: the token is checked with ``getMe``, and a bad one fails the channel with a reason
that tells the operator what to fix, while the rest of Nexus runs."""

from __future__ import annotations

import pytest
from telegram_fake import CHANNEL, FakeBotAPI, channel_state, settings

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_revoked_token_fails_the_channel_with_a_clear_reason(
    nexus_server, bot_api: FakeBotAPI
):
    async with nexus_server(
        settings(bot_api, token="123456789:RevokedTokenRevokedToken")
    ) as server:
        state, error = channel_state(server)
        assert state == "failed"
        assert "Telegram rejected the bot token" in error and "Unauthorized" in error
        status, body = await server.api("GET", "/channels", await server.admin_token())
        assert status == 200
        (listed,) = [c for c in body["items"] if c["name"] == CHANNEL]
        assert listed["state"] == "failed" and "rejected the bot token" in listed["error"]
    assert len(bot_api.calls("getMe", succeeded=False)) == 1
    assert bot_api.calls("getUpdates", succeeded=None) == []


async def test_a_malformed_token_fails_the_channel_without_calling_telegram(
    nexus_server, bot_api: FakeBotAPI
):
    async with nexus_server(settings(bot_api, token="not-a-bot-token")) as server:
        state, error = channel_state(server)
        assert state == "failed"
        assert "malformed" in error
    assert bot_api.requests == []
