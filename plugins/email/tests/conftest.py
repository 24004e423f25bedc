"""Fixtures of the email plugin's tests: real servers on loopback, and Nexus configured with
an email channel that talks to them."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

sys.path.insert(0, str(Path(__file__).parent))

from email_servers import Dovecot, SmtpSink, dovecot_available, wait_listening  # noqa: E402

from nexus.testing.server import RunningNexus, free_port  # noqa: E402

ADDRESS = "support@example.com"


@pytest_asyncio.fixture(loop_scope="session")
async def sink() -> AsyncIterator[SmtpSink]:
    server = await SmtpSink().start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def dovecot() -> AsyncIterator[Dovecot]:
    if not dovecot_available():
        pytest.fail("Dovecot is not installed: apt-get install -y dovecot-imapd")
    server = await Dovecot().start()
    yield server
    await server.stop()


def channel_config(sink: SmtpSink, *, listener_port: int | None = None, imap: dict[str, Any] | None = None,
                   **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "type": "email",
        "address": ADDRESS,
        "from_name": "Example Support",
        "smtp": {"host": "127.0.0.1", "port": sink.port, "security": "none"},
        **extra,
    }
    if listener_port is not None:
        config["smtp_listener"] = {"host": "127.0.0.1", "port": listener_port, "max_size": 256 * 1024}
    if imap is not None:
        config["imap"] = imap
    return config


@pytest.fixture
def email_server(nexus_server: Callable[..., Any], sink: SmtpSink) -> Callable[..., Any]:
    """``async with email_server(listener=True, imap=...) as (server, port)``: Nexus with one
    email channel named ``support``; ``port`` is its SMTP listener's (or None)."""

    @contextlib.asynccontextmanager
    async def start(*, listener: bool = True, imap: dict[str, Any] | None = None, settings: dict[str, Any] | None = None,
                    **extra: Any) -> AsyncIterator[tuple[RunningNexus, int | None]]:
        port = free_port() if listener else None
        config = {"channels": {"support": channel_config(sink, listener_port=port, imap=imap, **extra)}, **(settings or {})}
        async with nexus_server(config) as server:
            runtime = server.nexus.channels.get("support")
            assert runtime is not None and runtime.state == "running", runtime and runtime.error
            if port is not None:
                await wait_listening(port)
            yield server, port

    return start
