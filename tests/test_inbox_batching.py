"""Grouped commits of webhook payloads: concurrent webhooks share commits, each is stored once
and acknowledged only once its row is committed, and a commit that fails fails every webhook
of its batch and leaves none of them stored."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from nexus import Channel, ChannelConfig, Identity, InboundMessage, WebhookResponse, hookimpl
from nexus.db import models
from nexus.group_commit import GroupCommit
from nexus.testing import wait_for


class CommittedCheck:
    """Looks a stored row up on a connection of its own, outside the server's: a row it sees
    is committed."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.pg = None
        self.lock = asyncio.Lock()

    async def open(self) -> None:
        if not self.url.startswith("sqlite"):
            import asyncpg

            self.pg = await asyncpg.connect(urlsplit(self.url)._replace(scheme="postgresql").geturl())

    async def close(self) -> None:
        if self.pg is not None:
            await self.pg.close()

    async def visible(self, event_id: int) -> bool:
        if self.pg is not None:
            async with self.lock:
                return await self.pg.fetchval("SELECT count(*) FROM inbound_events WHERE id = $1", event_id) == 1
        with sqlite3.connect(self.url.split("://", 1)[1]) as conn:
            return conn.execute("SELECT count(*) FROM inbound_events WHERE id = ?", (event_id,)).fetchone()[0] == 1


class Checked(Channel):
    """Stores each payload and, before answering, checks from outside that it is committed."""

    type_name = "checked"
    Config = ChannelConfig
    check: CommittedCheck
    seen: list[tuple[int, bool]] = []

    async def handle_webhook(self, request):
        event_id = await self.host.store_raw(request.body, request.headers)
        Checked.seen.append((event_id, await Checked.check.visible(event_id)))
        return WebhookResponse.ok()

    async def process_raw(self, payload, headers):
        event = json.loads(payload)
        await self.host.receive(InboundMessage(event["id"], Identity(event["from"]), text=event["text"]))


class Plugin:
    @hookimpl
    def nexus_register_channel_types(self, register):
        register(Checked)


CONFIG = {"channels": {"box": {"type": "checked"}}, "inbox": {"commit_wait": "5ms"}}


async def test_concurrent_webhooks_share_commits_and_each_is_stored_and_processed_once(nexus_server, nexus_backends):
    Checked.check, Checked.seen = CommittedCheck(nexus_backends.database_url), []
    await Checked.check.open()
    try:
        async with nexus_server(CONFIG, plugins={"checked": Plugin()}) as server:
            writer = server.nexus.inbox._writer
            before = writer.batches
            responses = await asyncio.gather(*(
                server.post_webhook("box", {"id": f"m-{i}", "from": f"contact-{i % 7}", "text": f"hello {i}"})
                for i in range(60)
            ))
            assert [r.status for r in responses] == [200] * 60
            assert all(visible for _, visible in Checked.seen), "every webhook answered only once committed"
            assert len({event_id for event_id, _ in Checked.seen}) == 60
            assert writer.batches - before < 60, "concurrent webhooks shared commits"

            async def processed() -> bool:
                return await models.InboundEvent.filter(status="processed").count() == 60

            await wait_for(processed, timeout=30, message="every payload to be processed")
            assert await models.InboundEvent.all().count() == 60
            texts = sorted(m.text for m in await server.messages("box"))
            assert texts == sorted(f"hello {i}" for i in range(60)), "each message stored once"
            assert server.nexus.inbox._reserved == 0
    finally:
        await Checked.check.close()


async def test_a_failing_commit_fails_every_webhook_of_its_batch_and_stores_none(nexus_server):
    """One payload the database refuses (its channel's row is gone) makes the batch's single
    INSERT fail: all ten callers get the error, and none of the ten rows exists."""
    config = {"channels": {"box": {"type": "checked"}}, "inbox": {"commit_batch": 10, "commit_wait": "50ms"}}
    async with nexus_server(config, plugins={"checked": Plugin()}) as server:
        inbox = server.nexus.inbox
        runtime = server.nexus.channels.get("box")
        gone = SimpleNamespace(row_id=runtime.row_id + 1000, name="gone")
        channels = [runtime] * 9 + [gone]
        results = await asyncio.gather(*(
            inbox.store(channel, json.dumps({"id": f"f-{i}", "from": "x", "text": "t"}).encode(), {})
            for i, channel in enumerate(channels)
        ), return_exceptions=True)
        assert all(isinstance(result, Exception) for result in results), results
        assert len({type(result) for result in results}) == 1, "every waiter got the batch's error"
        assert await models.InboundEvent.all().count() == 0
        assert inbox._reserved == 0 and inbox._queue.empty() and not inbox._held

        # The next batch is unaffected.
        event_id = await inbox.store(runtime, json.dumps({"id": "ok", "from": "x", "text": "fine"}).encode(), {})
        assert (await models.InboundEvent.get(id=event_id)).payload.endswith('"fine"}')
        await server.wait_for_message(external_id="ok")


async def test_a_batch_is_bounded_and_each_caller_gets_its_own_id():
    batches: list[list[str]] = []
    next_id = iter(range(1, 1000))

    async def write(rows):
        batches.append(list(rows))
        await asyncio.sleep(0)
        return [next(next_id) for _ in rows]

    commit = GroupCommit(write, max_batch=4)
    ids = await asyncio.gather(*(commit.add(f"row {i}") for i in range(10)))
    assert [len(batch) for batch in batches] == [4, 4, 2]
    assert [row for batch in batches for row in batch] == [f"row {i}" for i in range(10)]
    assert ids == list(range(1, 11)), "each caller got the id of its own row"
    assert commit._writer is None, "nothing runs once the rows are written"


async def test_a_caller_that_gives_up_does_not_take_its_row_out_of_the_batch():
    release = asyncio.Event()
    written: list[str] = []

    async def write(rows):
        await release.wait()
        written.extend(rows)
        return list(range(len(rows)))

    commit = GroupCommit(write, max_batch=8)
    impatient = asyncio.create_task(commit.add("a"))
    patient = asyncio.create_task(commit.add("b"))
    await asyncio.sleep(0)
    impatient.cancel()
    release.set()
    assert await patient == 1
    with pytest.raises(asyncio.CancelledError):
        await impatient
    assert written == ["a", "b"]
