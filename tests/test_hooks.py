"""One test per hook of nexus/hookspecs.py, named after it (tests/test_docs.py checks), each
through a plugin registered exactly as the host would: sync and async implementations, and a
plugin that raises, which must not stop the others."""

from __future__ import annotations

import asyncio

from nexus import Channel, ChannelConfig, hookimpl
from nexus.plugins import discover_plugins
from nexus.testing import wait_for
from tests.conftest import chat_config, post_events, receive


class Recorder:
    """An extension plugin that records every event it hears."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    @hookimpl
    async def nexus_startup(self, nexus):
        self.calls.append(("startup", type(nexus).__name__))

    @hookimpl
    def nexus_shutdown(self):  # fewer arguments than the spec, and sync
        self.calls.append(("shutdown",))

    @hookimpl
    async def nexus_ticket_created(self, ticket):
        self.calls.append(("ticket_created", ticket.id, ticket.status))

    @hookimpl
    async def nexus_ticket_updated(self, ticket, changes):
        self.calls.append(("ticket_updated", ticket.id, dict(changes)))

    @hookimpl
    async def nexus_message_received(self, message, ticket):
        self.calls.append(("message_received", message.text, ticket.id))

    @hookimpl
    async def nexus_message_sent(self, message):
        self.calls.append(("message_sent", message.id, message.status))

    @hookimpl
    async def nexus_message_failed(self, message):
        self.calls.append(("message_failed", message.id, message.error_code))

    def named(self, name: str) -> list[tuple]:
        return [call for call in self.calls if call[0] == name]


class Broken:
    """A plugin that raises in every event hook."""

    @hookimpl
    async def nexus_ticket_created(self, ticket):
        raise RuntimeError("broken plugin")

    @hookimpl
    def nexus_message_received(self, message):
        raise RuntimeError("broken plugin")


def test_nexus_register_channel_types():
    class Sms(Channel):
        type_name = "sms"
        Config = ChannelConfig

    class SmsPlugin:
        @hookimpl
        def nexus_register_channel_types(self, register):
            register(Sms)

    registry = discover_plugins(extra={"sms": SmsPlugin()})
    assert registry.channel_types["sms"].cls is Sms
    assert registry.channel_types["sms"].plugin == "sms"
    assert registry.plugins["sms"].channel_types == ["sms"]


async def test_nexus_startup(nexus_server, chat_api):
    recorder = Recorder()
    async with nexus_server(chat_config(chat_api), plugins={"rec": recorder, "broken": Broken()}) as server:
        assert recorder.named("startup") == [("startup", "PluginAPI")]
        assert server.nexus.registry.plugins["rec"].state == "enabled"


async def test_nexus_shutdown(nexus_server, chat_api):
    recorder = Recorder()
    async with nexus_server(chat_config(chat_api), plugins={"rec": recorder}):
        assert recorder.named("shutdown") == []
    assert recorder.named("shutdown") == [("shutdown",)]


async def test_nexus_ticket_created(nexus_server, chat_api):
    recorder = Recorder()
    async with nexus_server(chat_config(chat_api), plugins={"broken": Broken(), "rec": recorder}) as server:
        await receive(server, "h-1", "alice")
        await wait_for(lambda: recorder.named("ticket_created"), message="the hook")
        (ticket,) = await server.tickets()
        assert recorder.named("ticket_created") == [("ticket_created", ticket.id, "open")]
        ready = (await server.request("GET", "/readyz")).body
        assert ready["status"] == "degraded"
        assert ready["plugin_errors"]["broken"]["hook"] in ("nexus_ticket_created", "nexus_message_received")
        assert ready["plugin_errors"]["broken"]["error"] == "RuntimeError: broken plugin"


async def test_nexus_ticket_updated(nexus_server, chat_api):
    recorder = Recorder()
    async with nexus_server(chat_config(chat_api), plugins={"rec": recorder}) as server:
        await receive(server, "h-1", "alice")
        (ticket,) = await server.tickets()
        _, token = await server.agent()
        await server.api("PATCH", f"/tickets/{ticket.id}", token, {"priority": "high", "labels": ["vip"]})
        await wait_for(lambda: [c for c in recorder.named("ticket_updated") if "priority" in c[2]], message="the hook")
        (call,) = [c for c in recorder.named("ticket_updated") if "priority" in c[2]]
        assert call == ("ticket_updated", ticket.id, {"priority": "normal", "labels": []})


async def test_nexus_message_received(nexus_server, chat_api):
    recorder = Recorder()
    async with nexus_server(chat_config(chat_api), plugins={"broken": Broken(), "rec": recorder}) as server:
        await receive(server, "h-1", "alice", "first")
        await post_events(server, {"type": "message", "id": "h-1", "from": {"id": "alice"}, "text": "first"})
        await receive(server, "h-2", "alice", "second")
        await wait_for(lambda: len(recorder.named("message_received")) == 2, message="the hook")
        await asyncio.sleep(0.2)
        (ticket,) = await server.tickets()
        assert recorder.named("message_received") == [
            ("message_received", "first", ticket.id), ("message_received", "second", ticket.id),
        ], "duplicates do not count, and a plugin that raises does not stop the others"


async def test_nexus_message_sent(nexus_server, chat_api):
    recorder = Recorder()
    async with nexus_server(chat_config(chat_api), plugins={"rec": recorder}) as server:
        await receive(server, "h-1", "alice")
        (ticket,) = await server.tickets()
        _, token = await server.agent()
        reply = (await server.api("POST", f"/tickets/{ticket.id}/messages", token, {"body": "hi"})).body
        await wait_for(lambda: recorder.named("message_sent"), message="the hook")
        assert recorder.named("message_sent") == [("message_sent", reply["id"], "sent")]


async def test_nexus_message_failed(nexus_server, chat_api):
    recorder = Recorder()
    async with nexus_server(chat_config(chat_api), plugins={"rec": recorder}) as server:
        await receive(server, "h-1", "alice")
        (ticket,) = await server.tickets()
        _, token = await server.agent()
        chat_api.fail(1, status=400, path="/messages", json={"error": "recipient blocked us", "code": "blocked"})
        reply = (await server.api("POST", f"/tickets/{ticket.id}/messages", token, {"body": "hi"})).body
        await wait_for(lambda: recorder.named("message_failed"), message="the hook")
        assert recorder.named("message_failed") == [("message_failed", reply["id"], "blocked")]


class AutoResponder:
    """What an extension plugin does with the NexusAPI: thank every contact once, tag the ticket."""

    @hookimpl
    async def nexus_ticket_created(self, nexus, ticket):
        await nexus.update_ticket(ticket.id, labels=["auto-acknowledged"])

    @hookimpl
    async def nexus_message_received(self, nexus, message, ticket):
        if message.auto_submitted:
            return
        await nexus.reply(ticket.id, "Thanks, we got your message.")


async def test_an_extension_plugin_auto_replies_and_tags_through_the_pipeline(nexus_server, chat_api):
    async with nexus_server(chat_config(chat_api), plugins={"auto": AutoResponder()}) as server:
        await receive(server, "ar-1", "alice", "Help!")
        await wait_for(lambda: chat_api.requests_to("POST", "/messages", succeeded=True), message="the auto-reply")
        (sent,) = chat_api.requests_to("POST", "/messages")
        assert (sent.json()["to"], sent.json()["text"]) == ("alice", "Thanks, we got your message.")
        (ticket,) = await server.tickets()
        await wait_for(lambda: server.tickets(), message="ticket")
        assert list((await server.tickets())[0].labels) == ["auto-acknowledged"]
        messages = await server.messages(ticket_id=ticket.id)
        assert [(m.direction, m.auto_submitted, m.author_id) for m in messages] == [
            ("inbound", False, None), ("outbound", True, None),
        ]
        assert ticket.first_response_at is None, "an automatic reply is not an agent's first response"
