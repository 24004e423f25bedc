from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from webchat_client import WebchatClient, webchat_settings

from nexus.testing import RunningNexus


@pytest_asyncio.fixture(loop_scope="session")
async def site(nexus_server) -> AsyncIterator[RunningNexus]:
    """Nexus with one web-chat channel, ``site``, allowed on https://shop.example."""
    async with nexus_server(webchat_settings(identity_secret="identity-secret", rate_limit="50/minute")) as server:
        yield server


@pytest_asyncio.fixture(loop_scope="session")
async def visitors(site) -> AsyncIterator[Any]:
    """A factory of visitors of ``site``, each with a session; their sockets close after the test."""
    made: list[WebchatClient] = []

    async def make(**kwargs: Any) -> WebchatClient:
        client = WebchatClient(site, **kwargs)
        await client.start()
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()

