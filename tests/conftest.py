"""Fixtures for the host's tests: a Nexus with one channel of the example plugin ("chat"),
whose fake provider API records every reply."""

from __future__ import annotations

import itertools
import json
import socket
from typing import Any

import pytest

from nexus.db import close_database, open_database
from nexus.testing import FakeProvider, RunningNexus
from nexus.testing.backends import truncate
from nexus_channel_example import SIGNATURE_HEADER, sign

CHAT_SECRET = "chat-secret"


def chat_config(api: FakeProvider, **extra: Any) -> dict[str, Any]:
    return {"channels": {"chat": {"type": "example", "api_url": api.url, "token": "chat-token",
                                  "secret": CHAT_SECRET, **extra}}}


@pytest.fixture
async def chat_api(fake_provider) -> FakeProvider:
    api = await fake_provider()
    ids = itertools.count(1)
    api.route("POST", "/messages", lambda request: {"id": f"out-{next(ids)}"})
    return api


@pytest.fixture
async def chat_server(nexus_server, chat_api):
    async with nexus_server(chat_config(chat_api)) as server:
        yield server


async def post_events(server: RunningNexus, *events: dict[str, Any], channel: str = "chat", secret: str = CHAT_SECRET):
    body = json.dumps({"events": list(events)}, separators=(",", ":")).encode()
    return await server.post_webhook(channel, body, headers={SIGNATURE_HEADER: sign(body, secret)})


def message_event(message_id: str, sender: str = "contact-1", text: str = "Hello", name: str | None = "Casey",
                  **extra: Any) -> dict[str, Any]:
    return {"type": "message", "id": message_id, "from": {"id": sender, "name": name}, "text": text, **extra}


async def receive(server: RunningNexus, message_id: str, sender: str = "contact-1", text: str = "Hello", **extra: Any):
    response = await post_events(server, message_event(message_id, sender, text, **extra))
    assert response.status == 200, response.body
    return response


# --- Clusters of real processes ------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def cluster_env(nexus_backends, fake_provider):
    """Settings for API and worker processes sharing the session's database and Redis."""
    if not nexus_backends.redis_url or nexus_backends.dialect != "postgres":
        pytest.fail("the cross-process tests need PostgreSQL and Redis (NEXUS_TEST_DATABASE, NEXUS_TEST_REDIS)")
    await truncate(nexus_backends.database_url)
    api = await fake_provider()
    counter = iter(range(1, 10**6))
    api.route("POST", "/messages", lambda request: {"id": f"out-{next(counter)}"})
    env = {
        "DATABASE_URL": nexus_backends.database_url, "REDIS_URL": nexus_backends.redis_url,
        "NEXUS_REDIS__NAMESPACE": nexus_backends.namespace(), "NEXUS_DATABASE__MIGRATE_ON_START": "false",
        "NEXUS_CHANNELS__CHAT__TYPE": "example", "NEXUS_CHANNELS__CHAT__API_URL": api.url,
        "NEXUS_CHANNELS__CHAT__TOKEN": "chat-token", "NEXUS_CHANNELS__CHAT__SECRET": "chat-secret",
        "NEXUS_LOGGING__LEVEL": "INFO",
    }
    ctx = await open_database(nexus_backends.database_url)
    try:
        yield env, api
    finally:
        await close_database(ctx)


async def issue_token(role: str = "admin", email: str = "admin@example.com") -> str:
    from nexus.accounts import Accounts

    accounts = Accounts(3600)
    agent = await accounts.create_agent(email=email, name=email, role=role)
    return (await accounts.issue_token(agent, "test")).token


