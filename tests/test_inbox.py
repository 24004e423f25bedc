"""The raw inbox: a channel acknowledges as soon as the payload is stored; processing happens
after, and a payload that fails is kept with its error, retried, and replayable."""

from __future__ import annotations

import base64
import asyncio
import json
from datetime import UTC, datetime, timedelta

from nexus import Channel, ChannelConfig, Identity, InboundMessage, WebhookResponse, hookimpl
from nexus.db import models
from nexus.testing import wait_for


class Flaky(Channel):
    """Stores raw payloads and fails to process the first ``failures`` of them."""

    type_name = "inboxed"
    Config = ChannelConfig
    failures = 0

    async def handle_webhook(self, request):
        await self.host.store_raw(request.body, request.headers)
        return WebhookResponse.ok({"stored": True})

    async def process_raw(self, payload, headers):
        if Flaky.failures > 0:
            Flaky.failures -= 1
            raise ConnectionError("media server unreachable")
        event = json.loads(payload)
        await self.host.receive(InboundMessage(event["id"], Identity(event["from"]), text=event["text"]))


class Plugin:
    @hookimpl
    def nexus_register_channel_types(self, register):
        register(Flaky)


async def test_a_payload_is_acknowledged_then_processed(nexus_server):
    Flaky.failures = 0
    async with nexus_server({"channels": {"box": {"type": "inboxed"}}}, plugins={"box": Plugin()}) as server:
        response = await server.post_webhook("box", {"id": "m-1", "from": "alice", "text": "hi"})
        assert response.status == 200
        await server.wait_for_message(external_id="m-1")
        (event,) = await models.InboundEvent.all()
        assert (event.status, event.attempts, event.processed_at is not None) == ("processed", 1, True)


async def test_a_failing_payload_is_kept_retried_and_replayable(nexus_server):
    Flaky.failures = 5
    async with nexus_server({"channels": {"box": {"type": "inboxed"}}}, plugins={"box": Plugin()}) as server:
        assert (await server.post_webhook("box", {"id": "m-2", "from": "bob", "text": "photo"})).status == 200

        async def failed():
            row = await models.InboundEvent.first()
            return row if row and row.status == "failed" else None

        event = await wait_for(failed, message="the payload to fail")
        assert event.error == "ConnectionError: media server unreachable"
        _, token = await server.agent()
        status, listed = await server.api("GET", "/inbound-events", token)
        assert [(e["id"], e["status"], e["error"]) for e in listed["items"]] == [(event.id, "failed", event.error)]
        status, shown = await server.api("GET", f"/inbound-events/{event.id}", token)
        assert json.loads(shown["payload"]) == {"id": "m-2", "from": "bob", "text": "photo"}

        async def tried(times):
            row = await models.InboundEvent.get(id=event.id)
            return row.status == "failed" and row.attempts == times

        # The sweep retries it automatically once its backoff passed (here: pretend it did).
        await models.InboundEvent.filter(id=event.id).update(status_changed_at=datetime.now(UTC) - timedelta(minutes=1))
        await wait_for(lambda: tried(2), message="the first automatic retry")
        await models.InboundEvent.filter(id=event.id).update(status_changed_at=datetime.now(UTC) - timedelta(minutes=3))
        await wait_for(lambda: tried(3), message="the second automatic retry")
        await models.InboundEvent.filter(id=event.id).update(status_changed_at=datetime.now(UTC) - timedelta(hours=1))
        assert await server.nexus.inbox.sweep() == 0, "then it waits for an operator"

        Flaky.failures = 0
        status, replayed = await server.api("POST", f"/inbound-events/{event.id}/replay", token)
        assert (status, replayed["status"], replayed["attempts"]) == (200, "processed", 4)
        assert [m.text for m in await server.messages("box")] == ["photo"]
        status, again = await server.api("POST", f"/inbound-events/{event.id}/replay", token)
        assert (status, again["error"]["code"]) == (409, "already_processed")


async def test_channel_state_holds_any_json_value(nexus_server):
    async with nexus_server({"channels": {"box": {"type": "inboxed"}}}, plugins={"box": Plugin()}) as server:
        host = server.nexus.channels.get("box").host
        for value in ("a string", 42, ["a", 1], {"uid": 7}, None):
            await host.set_state("key", value)
            assert await host.get_state("key") == value
        assert await host.setdefault_state("secret", "first") == "first"
        assert await host.setdefault_state("secret", "second") == "first"
        await host.delete_state("secret")
        assert await host.get_state("secret", "gone") == "gone"
        assert not await host.has_message("m-9")
        await host.receive(InboundMessage("m-9", Identity("carol"), text="x"))
        assert await host.has_message("m-9")


async def test_a_burst_beyond_the_queue_waits_in_the_database(nexus_server, monkeypatch):
    """When a process's queue is full, payloads are stored pending and a sweep picks them up."""
    from nexus import inbox

    Flaky.failures = 0
    monkeypatch.setattr(inbox, "QUEUE_SIZE", 2)
    async with nexus_server({"channels": {"box": {"type": "inboxed"}}}, plugins={"box": Plugin()}) as server:
        import asyncio

        responses = await asyncio.gather(*(
            server.post_webhook("box", {"id": f"b-{i}", "from": f"contact-{i}", "text": "hi"}) for i in range(20)
        ))
        assert [r.status for r in responses] == [200] * 20

        async def all_processed():
            return await models.InboundEvent.filter(status="processed").count() == 20

        await wait_for(all_processed, timeout=20, message="every payload to be processed")
        assert len(await server.messages("box")) == 20


class Recorder(Channel):
    """Stores raw payloads and records the exact bytes it is asked to process."""

    type_name = "recorder"
    Config = ChannelConfig
    seen: list[bytes] = []

    async def handle_webhook(self, request):
        await self.host.store_raw(request.body, request.headers)
        return WebhookResponse.ok()

    async def process_raw(self, payload, headers):
        Recorder.seen.append(payload)
        raise ValueError("cannot read this payload")


class RecorderPlugin:
    @hookimpl
    def nexus_register_channel_types(self, register):
        register(Recorder)


async def test_any_bytes_are_stored_exactly_and_processed_as_they_came(nexus_server):
    """Invalid UTF-8 and NUL bytes, which PostgreSQL refuses in text, are kept base64-encoded."""
    Recorder.seen = []
    bodies = [b'{"text": "caf\xe9"}', b'{"text": "a\x00b"}', "{\"text\": \"olá\"}".encode()]
    async with nexus_server({"channels": {"rec": {"type": "recorder"}}}, plugins={"rec": RecorderPlugin()}) as server:
        for body in bodies:
            assert (await server.post_webhook("rec", body)).status == 200
        await wait_for(lambda: len(Recorder.seen) == len(bodies), message="every payload to be processed")
        assert sorted(Recorder.seen) == sorted(bodies)
        _, token = await server.agent()
        status, listed = await server.api("GET", "/inbound-events", token)
        shown = [(await server.api("GET", f"/inbound-events/{e['id']}", token)).body for e in listed["items"]]
        assert sorted(e["payload_encoding"] for e in shown) == ["base64", "base64", "utf-8"]
        for event in shown:
            raw = base64.b64decode(event["payload"]) if event["payload_encoding"] == "base64" else event["payload"].encode()
            assert raw in bodies
        # A replay hands the processor the same bytes again.
        Recorder.seen = []
        await server.api("POST", f"/inbound-events/{shown[0]['id']}/replay", token)
        assert Recorder.seen and Recorder.seen[0] in bodies


async def test_ignored_events_are_listed_with_their_reason_and_not_replayed(nexus_server):
    async with nexus_server({"channels": {"box": {"type": "inboxed"}}}, plugins={"box": Plugin()}) as server:
        host = server.nexus.channels.get("box").host
        receipt = await host.receive(InboundMessage("auto-9", Identity("nobody"), text="I am away",
                                                    auto_submitted=True, sent_at=datetime(2026, 1, 2, tzinfo=UTC)))
        assert receipt.ignored and not receipt.stored
        _, token = await server.agent()
        status, failed = await server.api("GET", "/inbound-events", token)
        assert failed["items"] == []  # the default list is the failed ones
        status, ignored = await server.api("GET", "/inbound-events", token, params={"status": "ignored"})
        (event,) = ignored["items"]
        assert (event["status"], event["external_id"], event["error"]) == ("ignored", "auto-9", None)
        assert event["reason"] == receipt.ignored
        status, shown = await server.api("GET", f"/inbound-events/{event['id']}", token)
        kept = json.loads(shown["payload"])
        assert kept["message"]["text"] == "I am away" and kept["message"]["sent_at"] == "2026-01-02T00:00:00+00:00"
        status, replay = await server.api("POST", f"/inbound-events/{event['id']}/replay", token)
        assert (status, replay["error"]["code"]) == (409, "ignored_event")
        assert await server.nexus.inbox.sweep() == 0
class Slow(Channel):
    """Processes each payload only when the test says so, and counts how often it started."""

    type_name = "slowinbox"
    Config = ChannelConfig
    calls = 0
    started: asyncio.Event
    proceed: asyncio.Event

    async def handle_webhook(self, request):
        await self.host.store_raw(request.body, request.headers)
        return WebhookResponse.ok({"stored": True})

    async def process_raw(self, payload, headers):
        Slow.calls += 1
        Slow.started.set()
        await Slow.proceed.wait()
        event = json.loads(payload)
        await self.host.receive(InboundMessage(event["id"], Identity(event["from"]), text=event["text"]))


class SlowPlugin:
    @hookimpl
    def nexus_register_channel_types(self, register):
        register(Slow)


async def test_a_payload_processed_for_longer_than_its_lease_is_processed_once(nexus_server):
    """A slow media download keeps a payload in processing past its lease: its processor renews
    the lease, so no sweep takes it back, and it is processed once."""
    from nexus.clock import now

    Slow.calls, Slow.started, Slow.proceed = 0, asyncio.Event(), asyncio.Event()
    config = {"channels": {"box": {"type": "slowinbox"}}, "inbox": {"lease": 1.0}}
    async with nexus_server(config, plugins={"slow": SlowPlugin()}) as server:
        assert (await server.post_webhook("box", {"id": "m-1", "from": "alice", "text": "a video"})).status == 200
        await wait_for(Slow.started.is_set, message="processing to start")
        (event,) = await models.InboundEvent.all()
        first_expiry = event.lease_expires_at
        # A reclaim rule that went by age alone would take a two-minute-old claim back.
        await models.InboundEvent.filter(id=event.id).update(status_changed_at=now() - timedelta(minutes=2))

        async def outlived_its_first_lease() -> bool:
            row = await models.InboundEvent.get(id=event.id)
            return row.status == "processing" and row.lease_expires_at > first_expiry and now() > first_expiry

        await wait_for(outlived_its_first_lease, message="processing to outlive its first lease, renewed")
        assert await server.nexus.inbox.sweep() == 0, "a payload whose processor is alive is not taken back"
        Slow.proceed.set()
        await server.wait_for_message(external_id="m-1")

        async def processed():
            row = await models.InboundEvent.get(id=event.id)
            return row if row.status == "processed" else None

        row = await wait_for(processed, message="the payload to be processed")
        assert (Slow.calls, row.attempts) == (1, 1)
        assert len(await server.messages("box")) == 1
