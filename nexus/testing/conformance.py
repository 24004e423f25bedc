"""The conformance suite every channel plugin can run against itself.

Subclass :class:`ChannelConformance` in your plugin's tests (the subclass's name must start
with ``Test``), fill in the adapter methods that speak your provider's format, and pytest runs
every ``test_*`` below against your real plugin, installed through its entry point, behind a
real server, talking to a fake provider over HTTP::

    class TestConformance(ChannelConformance):
        channel_type = "example"

        def configure(self, provider):
            return {"api_url": provider.url, "token": "t", "secret": "s"}
        ...

What it checks is what the host promises operators: inbound messages become tickets, once
even when redelivered; forged webhooks store nothing; replies reach the provider with the
right recipient; transient errors are retried and permanent ones fail with a reason.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, Literal

import pytest
import pytest_asyncio

from nexus.config import ConfigErrors, LoadedSettings
from nexus.config.loader import RawConfig
from nexus.instances import prepare
from nexus.testing.fake_http import FakeProvider
from nexus.testing.server import RunningNexus, build_settings, wait_for

FailureKind = Literal["retryable", "permanent"]


class ChannelConformance:
    pytestmark = pytest.mark.asyncio(loop_scope="session")

    #: The channel type under test, as the plugin registers it.
    channel_type: ClassVar[str] = ""
    #: The instance name the suite configures (``[channels.conformance]``).
    channel_name: ClassVar[str] = "conformance"
    #: Environment variables the channel needs (visible to env shortcuts).
    environ: ClassVar[dict[str, str]] = {}
    #: The contacts' addresses the suite sends from, two distinct ones, in the provider's
    #: format: phone numbers (``("+15550100001", "+15550100002")``) for an SMS channel.
    contact_addresses: ClassVar[tuple[str, str]] = ("conformance-contact-1", "conformance-contact-2")
    #: The sender of the forged message (``deliver_forged``).
    forged_address: ClassVar[str] = "conformance-intruder"
    #: Set ``server.public_url`` to the test server's own address, so that the plugin's
    #: ``host.webhook_url`` is a URL the fake provider can call (``server.webhook_url(...)``).
    public_url: ClassVar[bool] = False

    # --- Adapter: implement these for your provider ------------------------------------

    def configure(self, provider: FakeProvider) -> dict[str, Any]:
        """The instance's settings (without ``type``), pointing the plugin at ``provider``."""
        raise NotImplementedError

    def setup_provider(self, provider: FakeProvider) -> None:
        """Register the fake provider's routes: whatever the plugin calls at start and to send."""
        raise NotImplementedError

    async def deliver_inbound(self, server: RunningNexus, provider: FakeProvider, *, message_id: str,
                              sender: str, name: str, text: str) -> None:
        """Make the provider deliver one inbound text message from ``sender``; return once
        Nexus acknowledged it (for a webhook: after the response)."""
        raise NotImplementedError

    def sent_messages(self, provider: FakeProvider) -> list[tuple[str, str]]:
        """``(recipient, text)`` of every message the provider accepted (answered with
        success), in order."""
        raise NotImplementedError

    def fail_sends(self, provider: FakeProvider, kind: FailureKind, times: int = 1) -> None:
        """Make the provider's next ``times`` sends fail, transiently or permanently."""
        raise NotImplementedError

    async def deliver_forged(self, server: RunningNexus, provider: FakeProvider, *, message_id: str,
                             sender: str, text: str) -> int | None:
        """Deliver an inbound message the plugin must refuse (a wrong signature or secret);
        return the HTTP status. Return None if the channel has no inbound webhook: the suite
        then checks that its webhook URL refuses any request."""
        return None

    # --- Fixtures ----------------------------------------------------------------------

    @pytest_asyncio.fixture(loop_scope="session")
    async def provider(self, fake_provider: Any) -> FakeProvider:
        api = await fake_provider()
        self.setup_provider(api)
        return api

    def channel_settings(self, provider: FakeProvider) -> dict[str, Any]:
        return {"channels": {self.channel_name: {"type": self.channel_type, **self.configure(provider)}}}

    @pytest_asyncio.fixture(loop_scope="session")
    async def server(self, nexus_server: Any, provider: FakeProvider) -> Any:
        async with nexus_server(self.channel_settings(provider), environ=self.environ,
                                public_url=self.public_url) as running:
            runtime = running.nexus.channels.get(self.channel_name)
            assert runtime is not None and runtime.state == "running", (
                f"the channel did not start: {runtime.state if runtime else 'missing'}: {runtime.error if runtime else ''}"
            )
            yield running

    async def _inbound(self, server: RunningNexus, provider: FakeProvider, message_id: str,
                       sender: str | None = None, text: str = "Hello from the conformance suite") -> None:
        await self.deliver_inbound(server, provider, message_id=message_id, sender=sender or self.contact_addresses[0],
                                   name="Casey Contact", text=text)

    async def _reply(self, server: RunningNexus, ticket_id: int, text: str) -> int:
        status, body = await server.api("POST", f"/tickets/{ticket_id}/messages", await server.admin_token(), {"body": text})
        assert status == 202, body
        assert body["status"] == "queued"
        return body["id"]

    # --- The suite ---------------------------------------------------------------------

    async def test_loads_through_its_entry_point(self, server: RunningNexus) -> None:
        """The plugin is installed as a distribution and enabled by configuration alone."""
        ctype = server.nexus.registry.channel_types.get(self.channel_type)
        assert ctype is not None, f"no plugin registers channel type {self.channel_type!r}"
        info = server.nexus.registry.plugins[ctype.plugin]
        assert info.distribution, "the plugin must come from an installed distribution (an entry point)"
        assert info.state == "enabled"

    async def test_rejects_unknown_settings(self, provider: FakeProvider, nexus_backends: Any) -> None:
        settings = self.channel_settings(provider)
        settings["channels"][self.channel_name]["no_such_setting"] = 1
        with pytest.raises(ConfigErrors) as caught:
            prepare(LoadedSettings(build_settings(nexus_backends, settings), RawConfig()))
        assert f"channels.{self.channel_name}.no_such_setting: unknown setting" in str(caught.value)

    async def test_inbound_message_opens_a_ticket(self, server: RunningNexus, provider: FakeProvider) -> None:
        await self._inbound(server, provider, "conf-1", text="My order has not arrived")
        messages = await server.messages(self.channel_name)
        assert [m.text for m in messages] == ["My order has not arrived"]
        assert messages[0].direction == "inbound"
        tickets = await server.tickets()
        assert len(tickets) == 1
        assert tickets[0].status == "open" and tickets[0].channel == self.channel_name

    async def test_redelivered_message_is_stored_once(self, server: RunningNexus, provider: FakeProvider) -> None:
        await asyncio.gather(*(self._inbound(server, provider, "conf-dup") for _ in range(5)))
        await self._inbound(server, provider, "conf-dup")
        assert len(await server.messages(self.channel_name)) == 1
        assert len(await server.tickets()) == 1

    async def test_messages_from_one_contact_share_a_ticket(self, server: RunningNexus, provider: FakeProvider) -> None:
        await asyncio.gather(*(self._inbound(server, provider, f"conf-burst-{i}", text=f"part {i}") for i in range(10)))
        assert len(await server.messages(self.channel_name)) == 10
        assert len(await server.tickets()) == 1

    async def test_forged_inbound_is_refused(self, server: RunningNexus, provider: FakeProvider) -> None:
        status = await self.deliver_forged(server, provider, message_id="conf-forged", sender=self.forged_address,
                                           text="forged")
        if status is None:
            # No webhook: anything posted to the channel's webhook URL is refused.
            status = (await server.post_webhook(self.channel_name, {"id": "conf-forged", "text": "forged"})).status
        assert 400 <= status < 500, f"a forged webhook got {status}"
        assert await server.messages(self.channel_name) == []

    async def test_reply_reaches_the_contact(self, server: RunningNexus, provider: FakeProvider) -> None:
        await self._inbound(server, provider, "conf-2", sender=self.contact_addresses[1])
        (ticket,) = await server.tickets()
        message_id = await self._reply(server, ticket.id, "We are on it")
        sent = await server.wait_for_status(message_id, "sent", "delivered", "read")
        assert sent.external_id, "a sent message records the provider's id"
        await wait_for(lambda: self.sent_messages(provider), message="the provider to receive the reply")
        recipient, text = self.sent_messages(provider)[-1]
        assert "We are on it" in text
        identity = ticket.contact.identities[0]
        assert recipient == identity["address"]

    async def test_transient_failure_is_retried(self, server: RunningNexus, provider: FakeProvider) -> None:
        await self._inbound(server, provider, "conf-3")
        (ticket,) = await server.tickets()
        self.fail_sends(provider, "retryable", times=1)
        message_id = await self._reply(server, ticket.id, "Second try works")
        sent = await server.wait_for_status(message_id, "sent", "delivered", "read", timeout=30)
        assert sent.attempts == 2
        assert [text for _, text in self.sent_messages(provider)].count("Second try works") == 1

    async def test_permanent_failure_fails_with_a_reason(self, server: RunningNexus, provider: FakeProvider) -> None:
        await self._inbound(server, provider, "conf-4")
        (ticket,) = await server.tickets()
        self.fail_sends(provider, "permanent", times=1)
        message_id = await self._reply(server, ticket.id, "This cannot be delivered")
        failed = await server.wait_for_status(message_id, "failed")
        assert failed.attempts == 1
        assert failed.error_text, "a failed message says why"
