"""Nexus's conformance suite against the Telegram plugin, in webhook mode (the mode in which a
delivery is acknowledged synchronously), with the fake Bot API standing in for Telegram."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from nexus_telegram import SECRET_HEADER
from telegram_fake import PUBLIC_URL, FakeBotAPI, message, settings, user

from nexus.testing import RunningNexus
from nexus.testing.conformance import ChannelConformance


def number(name: str) -> int:
    """A stable Telegram id for the suite's string ids."""
    return zlib.crc32(name.encode()) % 2_000_000_000 + 1


def update(message_id: str, sender: str, text: str, name: str = "Casey Contact") -> dict[str, Any]:
    first, _, last = name.partition(" ")
    payload = message(
        number(message_id), sender=user(number(sender), first, last or None), text=text
    )
    return {"update_id": number(message_id), "message": payload}


class TestTelegramConformance(ChannelConformance):
    channel_type = "telegram"

    @pytest_asyncio.fixture(loop_scope="session")
    async def provider(self) -> AsyncIterator[FakeBotAPI]:
        async with FakeBotAPI() as api:
            yield api

    def channel_settings(self, provider: FakeBotAPI) -> dict[str, Any]:
        config = settings(provider, webhook=True)
        config["channels"] = {self.channel_name: config["channels"].pop("tg")}
        return config

    @staticmethod
    def secret(provider: FakeBotAPI) -> str:
        (registered,) = provider.calls("setWebhook")
        assert registered["url"] == f"{PUBLIC_URL}/webhooks/telegram/conformance"
        return registered["secret_token"]

    async def deliver_inbound(
        self,
        server: RunningNexus,
        provider: FakeBotAPI,
        *,
        message_id: str,
        sender: str,
        name: str,
        text: str,
    ) -> None:
        body = update(message_id, sender, text, name)
        response = await server.post_webhook(
            self.channel_name, body, headers={SECRET_HEADER: self.secret(provider)}
        )
        assert response.status == 200, response.body

    async def deliver_forged(
        self, server: RunningNexus, provider: FakeBotAPI, *, message_id: str, sender: str, text: str
    ) -> int:
        body = update(message_id, sender, text)
        response = await server.post_webhook(
            self.channel_name, body, headers={SECRET_HEADER: "guessed"}
        )
        return response.status

    def sent_messages(self, provider: FakeBotAPI) -> list[tuple[str, str]]:
        return [
            (sent["chat_id"], sent["text"])
            for sent in provider.sent()
            if sent["method"] == "sendMessage"
        ]

    def fail_sends(self, provider: FakeBotAPI, kind: Any, times: int = 1) -> None:
        if kind == "retryable":
            provider.fail_method(
                "sendMessage", 429, "Too Many Requests: retry after 1", times=times, retry_after=1
            )
        else:
            provider.fail_method(
                "sendMessage", 403, "Forbidden: bot was blocked by the user", times=times
            )
