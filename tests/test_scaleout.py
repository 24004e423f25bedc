"""The scale-out topology of docs/operations.md in miniature: two API processes and two delivery
workers sharing PostgreSQL and Redis. Events cross processes, and no reply is delivered twice."""

from __future__ import annotations

import asyncio
import collections

import aiohttp

from nexus.db import models
from nexus.types import DeliveryStatus
from nexus.testing import wait_for
from tests.conftest import free_port, issue_token, message_event, post_events
from tests.helpers import NexusProcess
from tests.test_faults import Api
from tests.test_realtime import Listener


async def test_two_api_processes_and_two_workers(tmp_path, cluster_env):
    env, provider = cluster_env
    env = {**env, "NEXUS_DELIVERY__CONCURRENCY": "4"}
    token = await issue_token()
    ports = free_port(), free_port()
    apis = [NexusProcess(["serve", "--port", str(port), "--no-delivery-worker"], cwd=tmp_path, env=env, port=port)
            for port in ports]
    workers = [NexusProcess(["worker"], cwd=tmp_path, env=env) for _ in range(2)]
    for process in apis + workers:
        process.start()
    try:
        for process in apis + workers:
            process.wait_ready()
        listeners = [await Listener().connect(api.url, token) for api in apis]
        async with aiohttp.ClientSession() as http:
            clients = [Api(api.url, http, token) for api in apis]
            for i in range(10):  # inbound alternates between the two API processes
                assert (await post_events(clients[i % 2], message_event(f"in-{i}", f"contact-{i}", f"hello {i}"))).status == 200
            tickets = list(await models.Ticket.all().order_by("id").values_list("id", flat=True))
            replies = [await clients[n % 2].reply(ticket_id, f"reply {n} to {ticket_id}")
                       for n, ticket_id in enumerate(tickets * 4)]

        async def delivered() -> bool:
            return await models.Message.filter(id__in=replies, status=DeliveryStatus.SENT).count() == len(replies)

        await wait_for(delivered, timeout=90, interval=0.25, message="every reply to be sent")
        for listener in listeners:
            await listener.wait("message.updated", lambda m: m["id"] == replies[-1] and m["status"] == "sent", timeout=20)
        await asyncio.sleep(0.5)

        counts = collections.Counter(r.json()["text"] for r in provider.requests_to("POST", "/messages", succeeded=True))
        assert len(counts) == len(replies) and set(counts.values()) == {1}, "each reply delivered exactly once"
        for listener in listeners:
            created = [m["text"] for m in listener.named("message.created") if m["direction"] == "inbound"]
            assert sorted(created) == sorted(f"hello {i}" for i in range(10)), "every event crossed processes, once"
            sent_events = collections.Counter(m["id"] for m in listener.named("message.updated") if m["status"] == "sent")
            assert set(sent_events) == set(replies) and set(sent_events.values()) == {1}
            await listener.close()
        logs = "".join(worker.log() for worker in workers)
        assert logs.count("delivery worker started") == 2
    finally:
        for process in workers + apis:
            process.stop()
    for process in apis + workers:
        assert "Traceback" not in process.log(), process.log()
