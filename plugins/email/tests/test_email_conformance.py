"""Nexus's channel conformance suite, run against the email plugin through its entry point:
inbound mail arrives over SMTP at the channel's own listener, replies go to an aiosmtpd
sink."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from email_mails import simple
from email_servers import SmtpSink, smtp_send, wait_listening

from nexus.testing import FakeProvider
from nexus.testing.conformance import ChannelConformance
from nexus.testing.server import free_port

ADDRESS = "support@example.com"
CUSTOMER_DOMAIN = "customers.test"


class TestEmailConformance(ChannelConformance):
    channel_type = "email"

    def setup_provider(self, provider: FakeProvider) -> None:
        """Email needs no HTTP provider; the SMTP servers stand in for it."""

    @pytest_asyncio.fixture(autouse=True, loop_scope="session")
    async def smtp_servers(self) -> AsyncIterator[None]:
        """A fresh sink and listener port for each test (autouse: ready before ``server``)."""
        self.sink = await SmtpSink().start()
        self.listener_port = free_port()
        yield
        await self.sink.stop()

    def configure(self, provider: FakeProvider) -> dict:
        return {
            "address": ADDRESS,
            "smtp": {"host": "127.0.0.1", "port": self.sink.port, "security": "none"},
            "smtp_listener": {"host": "127.0.0.1", "port": self.listener_port},
        }

    async def deliver_inbound(self, server, provider, *, message_id, sender, name, text) -> None:
        await wait_listening(self.listener_port)
        address = f"{sender}@{CUSTOMER_DOMAIN}"
        raw = simple(message_id=f"<{message_id}@{CUSTOMER_DOMAIN}>", sender=address, name=name, text=text)
        answer = await smtp_send(self.listener_port, raw, mail_from=address, to=ADDRESS)
        assert answer.startswith("2.0.0 OK"), answer

    def sent_messages(self, provider: FakeProvider) -> list[tuple[str, str]]:
        return [(mail.recipients[0], mail.text.rstrip("\n")) for mail in self.sink.received]

    def fail_sends(self, provider: FakeProvider, kind, times: int = 1) -> None:
        if kind == "retryable":
            self.sink.fail(times, "451 4.3.0 Mailbox temporarily unavailable")
        else:
            self.sink.fail(times, "550 5.1.1 <recipient>: Recipient address rejected: User unknown")
