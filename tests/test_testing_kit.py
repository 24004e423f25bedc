"""The testing kit itself, as a plugin author relies on it: a server whose callback URLs a fake
provider can call, and test data that stays out of the author's folder."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import aiohttp

from nexus.db import models
from nexus.testing import create_backends, drop_backends
from nexus_channel_example import SIGNATURE_HEADER, sign
from tests.conftest import CHAT_SECRET, chat_config, message_event, post_events


async def test_the_test_server_can_give_channels_its_own_public_url(nexus_server, chat_api):
    async with nexus_server(chat_config(chat_api), public_url=True) as server:
        runtime = server.nexus.channels.get("chat")
        assert server.public_url == server.url
        assert runtime.host.webhook_url == server.webhook_url("chat") == f"{server.url}/webhooks/example/chat"
        # What a fake provider does with the callback URL the plugin registered with it:
        body = json.dumps({"events": [message_event("cb-1", "alice", "via the callback URL")]}).encode()
        async with aiohttp.ClientSession() as http, http.post(
            runtime.host.webhook_url, data=body, headers={SIGNATURE_HEADER: sign(body, CHAT_SECRET)}
        ) as response:
            assert response.status == 200
        assert [m.text for m in await server.messages("chat")] == ["via the callback URL"]


async def test_without_it_channels_have_no_public_url(chat_server):
    assert chat_server.public_url == chat_server.url
    assert chat_server.nexus.channels.get("chat").host.webhook_url is None


async def test_attachments_go_to_the_sessions_temporary_data_dir(chat_server, nexus_backends):
    pdf = b"%PDF-1.4 kit"
    event = message_event("att-1", attachments=[
        {"filename": "invoice.pdf", "content_type": "application/pdf", "data": base64.b64encode(pdf).decode()}])
    assert (await post_events(chat_server, event)).status == 200
    (attachment,) = await models.Attachment.all()
    stored = Path(nexus_backends.data_dir) / "attachments" / attachment.storage_key
    assert stored.read_bytes() == pdf
    assert not (Path.cwd() / "data" / "attachments" / attachment.storage_key).exists()


async def test_dropping_the_backends_removes_their_data_dir():
    backends = await create_backends("sqlite", "")
    data_dir = Path(backends.data_dir)
    assert data_dir.is_dir()
    await drop_backends(backends)
    assert not data_dir.exists()
