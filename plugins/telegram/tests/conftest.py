from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from telegram_fake import FakeBotAPI


@pytest_asyncio.fixture(loop_scope="session")
async def bot_api() -> AsyncIterator[FakeBotAPI]:
    """A started fake Bot API, stopped after the test."""
    async with FakeBotAPI() as api:
        yield api
