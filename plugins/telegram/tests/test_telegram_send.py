"""Replies, as the contact receives them, and failures, as the agent sees them."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from telegram_fake import CHANNEL, FakeBotAPI, deliver, message, reply, settings

from nexus.testing import RunningNexus
from nexus.types import TicketView

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def server(nexus_server, bot_api: FakeBotAPI) -> AsyncIterator[RunningNexus]:
    async with nexus_server(settings(bot_api, webhook=True)) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def ticket(server: RunningNexus, bot_api: FakeBotAPI) -> TicketView:
    """A ticket opened by contact 555001's message 40."""
    response = await deliver(
        server, bot_api, bot_api.update("message", message(40, text="I need help"))
    )
    assert response.status == 200
    (opened,) = await server.tickets()
    return opened


def attachment(filename: str, content_type: str, data: bytes) -> dict[str, str]:
    return {
        "filename": filename,
        "content_type": content_type,
        "data": base64.b64encode(data).decode(),
    }


async def test_a_photo_goes_as_a_photo_with_the_text_as_caption(server, bot_api, ticket):
    png = attachment("screenshot.png", "image/png", b"\x89PNG fake image")
    sent = await server.wait_for_status(
        await reply(server, ticket.id, "Like this?", attachments=[png]), "sent"
    )
    (photo,) = bot_api.sent()
    assert (photo["method"], photo["chat_id"], photo["caption"]) == (
        "sendPhoto",
        "555001",
        "Like this?",
    )
    assert photo["file"]["data"] == b"\x89PNG fake image"
    assert sent.external_id.startswith("555001:")


async def test_other_files_go_as_documents_after_the_text(server, bot_api, ticket):
    files = [
        attachment("manual.pdf", "application/pdf", b"%PDF-1.7"),
        attachment("loop.gif", "image/gif", b"GIF89a"),
    ]
    await server.wait_for_status(
        await reply(server, ticket.id, "Two files for you", attachments=files), "sent"
    )
    assert [(m["method"], m["text"] or m["caption"]) for m in bot_api.sent()] == [
        ("sendMessage", "Two files for you"),
        ("sendDocument", None),
        ("sendDocument", None),
    ]
    assert [m["file"]["filename"] for m in bot_api.sent()[1:]] == ["manual.pdf", "loop.gif"]


async def test_a_reply_to_a_message_quotes_it(server, bot_api, ticket):
    (inbound,) = await server.messages(CHANNEL)
    await server.wait_for_status(
        await reply(server, ticket.id, "About that:", reply_to_id=inbound.id), "sent"
    )
    (sent,) = bot_api.sent()
    assert sent["reply_to"] == 40


async def test_a_long_reply_is_split_at_telegrams_limit(server, bot_api, ticket):
    text = "All about your order. " * 230  # 5060 characters
    sent = await server.wait_for_status(await reply(server, ticket.id, text), "sent")
    pieces = [m["text"] for m in bot_api.sent()]
    assert len(pieces) == 2 and all(len(piece) <= 4096 for piece in pieces)
    assert " ".join(pieces) == text.strip()
    assert sent.metadata["provider"]["message_ids"][0] == sent.external_id


async def test_a_blocked_bot_fails_the_reply_at_once_and_says_why(server, bot_api, ticket):
    bot_api.fail_method("sendMessage", 403, "Forbidden: bot was blocked by the user")
    failed = await server.wait_for_status(await reply(server, ticket.id, "Hello?"), "failed")
    assert failed.attempts == 1
    assert failed.error_code == "bot_blocked"
    assert "blocked the bot" in failed.error_text


async def test_an_unknown_chat_fails_the_reply_at_once(server, bot_api, ticket):
    bot_api.fail_method("sendMessage", 400, "Bad Request: chat not found")
    failed = await server.wait_for_status(await reply(server, ticket.id, "Hello?"), "failed")
    assert (failed.attempts, failed.error_code) == (1, "chat_not_found")
    assert "chat not found" in failed.error_text


async def test_flood_control_is_waited_out(server, bot_api, ticket):
    bot_api.fail_method("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
    sent = await server.wait_for_status(
        await reply(server, ticket.id, "Patience"), "sent", timeout=30
    )
    assert sent.attempts == 2
    assert [m["text"] for m in bot_api.sent()] == ["Patience"]


async def test_a_server_error_is_retried(server, bot_api, ticket):
    bot_api.fail_method("sendMessage", 502, "Bad Gateway")
    sent = await server.wait_for_status(
        await reply(server, ticket.id, "Second time lucky"), "sent", timeout=30
    )
    assert sent.attempts == 2
    assert [m["text"] for m in bot_api.sent()] == ["Second time lucky"]
