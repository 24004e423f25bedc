"""Fixtures: a fake Graph API and a Nexus serving one WhatsApp channel against it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from whatsapp_fakes import CHANNEL, FakeGraph, settings

from nexus.testing import RunningNexus


@pytest_asyncio.fixture(loop_scope="session")
async def graph(fake_provider: Any) -> FakeGraph:
    return FakeGraph(await fake_provider())


@pytest_asyncio.fixture(loop_scope="session")
async def server(nexus_server: Any, graph: FakeGraph) -> AsyncIterator[RunningNexus]:
    async with nexus_server({"channels": {CHANNEL: settings(graph.url)}}) as running:
        runtime = running.nexus.channels.get(CHANNEL)
        assert runtime is not None and runtime.state == "running", runtime and runtime.error
        yield running
