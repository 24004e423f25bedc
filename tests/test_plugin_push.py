"""A plugin's emit from a worker (a process without a Socket.IO server) reaches the API
processes: it is published on the channel their Redis manager listens on."""

from __future__ import annotations

import os
import secrets
from types import SimpleNamespace

import pytest
import redis.asyncio as redis

from nexus.config import load_settings
from nexus.plugin_services import PluginPush
from nexus.realtime import create_socketio_server

REDIS = os.environ.get("NEXUS_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.mark.skipif(not REDIS, reason="needs Redis (NEXUS_TEST_REDIS)")
async def test_a_workers_plugin_emit_is_published_where_api_processes_listen():
    settings = load_settings(environ={"REDIS_URL": REDIS, "NEXUS_REDIS__NAMESPACE": f"push-{secrets.token_hex(3)}"}).settings
    listening_on = create_socketio_server(settings).manager.channel  # what every API process subscribes to
    client = redis.from_url(REDIS)
    pubsub = client.pubsub()
    await pubsub.subscribe(listening_on)
    assert (await pubsub.get_message(timeout=5))["type"] == "subscribe"
    worker = SimpleNamespace(settings=settings, sio=None)  # a worker process: no Socket.IO server of its own
    try:
        await PluginPush(worker).emit("/webchat", "message", {"text": "hi"}, room="visitor-1")
        published = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
        assert published is not None, f"nothing was published on {listening_on}"
        assert b"visitor-1" in published["data"] and b"hi" in published["data"]
    finally:
        await pubsub.aclose()
        await client.aclose()
