"""Pytest fixtures for testing Nexus and Nexus plugins. Installed with ``nexus-helpdesk`` (the
``pytest11`` entry point), so a plugin's own test suite can use them directly:

``nexus_backends``
    The session's migrated test database (and Redis, see :mod:`nexus.testing.backends`).
``nexus_server``
    A factory: ``async with nexus_server({"channels": {...}}) as server:`` serves Nexus on a
    loopback port with the given settings, on an emptied database.
``fake_provider``
    A factory of started :class:`~nexus.testing.FakeProvider` servers, stopped after the test.

The fixtures are async: they need ``pytest-asyncio`` with session-scoped loops
(``asyncio_default_fixture_loop_scope = "session"`` and ``asyncio_default_test_loop_scope =
"session"``), as ``docs/testing-plugins.md`` shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the kit's fixtures need it; say so when used
    pytest_asyncio = None


if pytest_asyncio is not None:
    from nexus.testing.backends import TestBackends, create_backends, drop_backends, truncate
    from nexus.testing.fake_http import FakeProvider
    from nexus.testing.server import RunningNexus, run_nexus

    @pytest_asyncio.fixture(scope="session", loop_scope="session")
    async def nexus_backends() -> AsyncIterator[TestBackends]:
        backends = await create_backends()
        try:
            yield backends
        finally:
            await drop_backends(backends)

    @pytest_asyncio.fixture(loop_scope="session")
    async def nexus_server(nexus_backends: TestBackends) -> Callable[..., AbstractAsyncContextManager[RunningNexus]]:
        """``async with nexus_server(config, plugins=..., options=..., environ=...) as server``"""
        await truncate(nexus_backends.database_url)

        def start(config: dict[str, Any] | None = None, **kwargs: Any) -> AbstractAsyncContextManager[RunningNexus]:
            return run_nexus(nexus_backends, config, **kwargs)

        return start

    @pytest_asyncio.fixture(loop_scope="session")
    async def fake_provider() -> AsyncIterator[Callable[..., Any]]:
        """``api = await fake_provider()``: a started fake HTTP API, stopped after the test."""
        started: list[FakeProvider] = []

        async def start(**kwargs: Any) -> FakeProvider:
            provider = await FakeProvider(**kwargs).start()
            started.append(provider)
            return provider

        yield start
        for provider in started:
            await provider.stop()

else:  # pragma: no cover

    @pytest.fixture
    def nexus_server() -> None:
        pytest.fail("nexus.testing's fixtures need pytest-asyncio: pip install 'nexus-helpdesk[testing]'")
