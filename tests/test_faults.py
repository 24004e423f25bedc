"""Fault tests with real processes, Redis and PostgreSQL, and a fake channel API that fails on
command: every accepted reply is delivered (or failed with a reason) whatever crashes.

Each test counts what reached the fake API. Delivery is at least once: a reply can reach the
provider twice only when its worker dies (or the database goes away) after the provider
accepted it and before "sent" was committed, so duplicates are bounded by the replies in
flight at that moment, and counted.
"""

from __future__ import annotations

import asyncio
import collections
import subprocess

import aiohttp
import pytest
import redis.asyncio as aioredis

from tortoise.exceptions import OperationalError

from nexus.db import models
from nexus.testing import Reply, wait_for
from nexus.types import DeliveryStatus
from tests.conftest import free_port, issue_token, message_event, post_events
from tests.helpers import NexusProcess

FAST = {
    "NEXUS_DELIVERY__SWEEP_INTERVAL": "1s", "NEXUS_DELIVERY__BACKOFF_BASE": "0.2s",
    "NEXUS_DELIVERY__BACKOFF_MAX": "2s", "NEXUS_DELIVERY__CONCURRENCY": "8",
}


class Api:
    def __init__(self, url: str, http: aiohttp.ClientSession, token: str) -> None:
        self.url, self.http, self.token = url, http, token

    async def post_webhook(self, channel: str, body: bytes, headers: dict[str, str]):
        async with self.http.post(f"{self.url}/webhooks/example/{channel}", data=body, headers=headers) as response:
            return type("R", (), {"status": response.status, "body": await response.json()})()

    async def reply(self, ticket_id: int, text: str) -> int:
        async with self.http.post(f"{self.url}/api/v1/tickets/{ticket_id}/messages", json={"body": text},
                                  headers={"Authorization": f"Bearer {self.token}"}) as response:
            body = await response.json()
            assert response.status == 202, body
            return body["id"]


async def open_tickets(api: Api, count: int) -> list[int]:
    for i in range(count):
        assert (await post_events(api, message_event(f"in-{i}", f"contact-{i}", "help"))).status == 200
    return list(await models.Ticket.all().order_by("id").values_list("id", flat=True))


async def queue_replies(api: Api, tickets: list[int], per_ticket: int) -> dict[int, list[str]]:
    written: dict[int, list[str]] = {}
    for index in range(per_ticket):
        for ticket_id in tickets:
            text = f"t{ticket_id}-r{index}"
            await api.reply(ticket_id, text)
            written.setdefault(ticket_id, []).append(text)
    return written


async def all_delivered(total: int, timeout: float) -> None:
    async def done() -> bool:
        try:
            return await models.Message.filter(direction="outbound", status=DeliveryStatus.SENT).count() == total
        except OperationalError:  # the test's own pooled connection died with a restarted server
            return False

    await wait_for(done, timeout=timeout, interval=0.25, message=f"{total} replies to be sent")


def answer_slowly(provider, seconds: float, prefix: str) -> None:
    """The fake channel API accepts every send after ``seconds``, with ids ``<prefix>-1``, ..."""
    counter = iter(range(1, 10**6))

    async def slow(request):
        await asyncio.sleep(seconds)
        return {"id": f"{prefix}-{next(counter)}"}

    provider.route("POST", "/messages", slow)


def answer_when_told(provider, provider_id: str) -> tuple[asyncio.Event, asyncio.Event]:
    """The fake channel API holds every send until the test sets the second event (``answer``),
    then accepts it as ``provider_id``; the first event (``arrived``) is set when a send arrives."""
    arrived, answer = asyncio.Event(), asyncio.Event()

    async def held(request):
        arrived.set()
        await answer.wait()
        return {"id": provider_id}

    provider.route("POST", "/messages", held)
    return arrived, answer


def accepted(provider) -> collections.Counter[str]:
    return collections.Counter(r.json()["text"] for r in provider.requests_to("POST", "/messages", succeeded=True))


def assert_in_order(provider, written: dict[int, list[str]]) -> None:
    first_seen: list[str] = []
    for request in provider.requests_to("POST", "/messages", succeeded=True):
        text = request.json()["text"]
        if text not in first_seen:
            first_seen.append(text)
    for texts in written.values():
        assert [t for t in first_seen if t in texts] == texts, "replies of a ticket arrive in order"


async def test_kill_9_a_worker_in_the_middle_of_deliveries(tmp_path, cluster_env):
    env, provider = cluster_env
    env = {**env, **FAST}
    answer_slowly(provider, 0.3, "slow")
    token = await issue_token()
    port = free_port()
    with NexusProcess(["serve", "--port", str(port), "--no-delivery-worker"], cwd=tmp_path, env=env, port=port) as server:
        async with aiohttp.ClientSession() as http:
            api = Api(server.url, http, token)
            written = await queue_replies(api, await open_tickets(api, 8), per_ticket=5)
        doomed = NexusProcess(["worker"], cwd=tmp_path, env=env).start().wait_ready()
        await provider.wait_for(6, "POST", "/messages", timeout=30)
        doomed.kill()
        accepted_before_kill = sum(accepted(provider).values())
        with NexusProcess(["worker"], cwd=tmp_path, env=env):
            await all_delivered(40, timeout=120)
    counts = accepted(provider)
    assert set(counts) == {t for texts in written.values() for t in texts}, "every reply reached the provider"
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= 8, f"only sends in flight at the kill (at most the worker's concurrency) repeat, got {duplicates}"
    assert accepted_before_kill < 40
    assert_in_order(provider, written)
    assert not await models.Message.filter(direction="outbound").exclude(status=DeliveryStatus.SENT).exists()


async def test_flushall_with_100_replies_pending(tmp_path, cluster_env):
    """Redis loses every job; the dispatcher finds the queued replies in the database. (The test
    empties a Redis database of its own with FLUSHDB, so that other test runs sharing the
    server keep their data; for Nexus it is the same as FLUSHALL.)"""
    env, provider = cluster_env
    env = {**env, **FAST, "REDIS_URL": "redis://127.0.0.1:6379/9"}
    token = await issue_token()
    port = free_port()
    with NexusProcess(["serve", "--port", str(port), "--no-delivery-worker"], cwd=tmp_path, env=env, port=port) as server:
        async with aiohttp.ClientSession() as http:
            api = Api(server.url, http, token)
            written = await queue_replies(api, await open_tickets(api, 10), per_ticket=10)
        redis = aioredis.Redis.from_url(env["REDIS_URL"])
        try:
            assert await redis.dbsize() > 0, "the jobs were in Redis"
            await redis.flushdb()
            assert await redis.dbsize() == 0
        finally:
            await redis.aclose()
        assert provider.requests_to("POST", "/messages") == []
        with NexusProcess(["worker"], cwd=tmp_path, env=env):
            await all_delivered(100, timeout=120)
    counts = accepted(provider)
    assert len(counts) == 100 and set(counts.values()) == {1}, "each reply delivered exactly once"
    assert_in_order(provider, written)


async def test_a_provider_failing_30_percent_of_calls(tmp_path, cluster_env):
    env, provider = cluster_env
    env = {**env, **FAST}
    provider.fail_randomly(0.3, [
        Reply(503, {"error": "unavailable"}),
        Reply(500, {"error": "internal"}),
        Reply(429, {"error": "slow down"}, headers={"Retry-After": "1"}),
    ], seed=7)
    token = await issue_token()
    port = free_port()
    with NexusProcess(["serve", "--port", str(port)], cwd=tmp_path, env=env, port=port) as server, \
         NexusProcess(["worker"], cwd=tmp_path, env=env):
        async with aiohttp.ClientSession() as http:
            api = Api(server.url, http, token)
            written = await queue_replies(api, await open_tickets(api, 6), per_ticket=10)
            await all_delivered(60, timeout=180)
    counts = accepted(provider)
    assert len(counts) == 60 and set(counts.values()) == {1}, "failures before acceptance never duplicate"
    failed_calls = len(provider.requests_to("POST", "/messages", succeeded=False))
    assert failed_calls > 0
    attempts = sum(await models.Message.filter(direction="outbound").values_list("attempts", flat=True))
    assert attempts == 60 + failed_calls, "every call is an attempt, counted on its message"
    assert_in_order(provider, written)


def restart_postgres() -> None:
    import os

    versions = sorted(os.listdir("/etc/postgresql"))
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"], check=True,
                   capture_output=True, timeout=120)


@pytest.mark.skipif(not __import__("os").path.isdir("/etc/postgresql"), reason="needs a local PostgreSQL cluster to restart")
async def test_postgresql_restarts_during_a_burst(tmp_path, cluster_env):
    env, provider = cluster_env
    env = {**env, **FAST}
    answer_slowly(provider, 0.05, "pg")
    token = await issue_token()
    port = free_port()
    with NexusProcess(["serve", "--port", str(port), "--no-delivery-worker"], cwd=tmp_path, env=env, port=port) as server:
        async with aiohttp.ClientSession() as http:
            api = Api(server.url, http, token)
            written = await queue_replies(api, await open_tickets(api, 6), per_ticket=10)
        with NexusProcess(["worker"], cwd=tmp_path, env=env) as worker:
            await provider.wait_for(5, "POST", "/messages", timeout=30)
            await asyncio.get_running_loop().run_in_executor(None, restart_postgres)
            await all_delivered(60, timeout=180)
            assert "Traceback" not in worker.log(), worker.log()
    counts = accepted(provider)
    assert set(counts) == {t for texts in written.values() for t in texts}
    assert sum(n - 1 for n in counts.values()) <= 8
    assert_in_order(provider, written)


async def test_sigterm_lets_in_flight_sends_finish_and_leaves_nothing_stuck(tmp_path, cluster_env):
    env, provider = cluster_env
    env = {**env, **FAST, "NEXUS_SERVER__GRACEFUL_TIMEOUT": "10s"}
    answer_slowly(provider, 1.5, "term")
    token = await issue_token()
    port = free_port()
    with NexusProcess(["serve", "--port", str(port), "--no-delivery-worker"], cwd=tmp_path, env=env, port=port) as server:
        async with aiohttp.ClientSession() as http:
            api = Api(server.url, http, token)
            await queue_replies(api, await open_tickets(api, 6), per_ticket=3)
        worker = NexusProcess(["worker"], cwd=tmp_path, env=env).start().wait_ready()
        await provider.wait_for(1, "POST", "/messages", timeout=30)
        # stop() blocks until the process exits; the fake provider lives on this event loop
        # and must keep answering meanwhile.
        assert await asyncio.to_thread(worker.stop) == 0, worker.log()
        in_flight_finished = len(provider.requests_to("POST", "/messages", succeeded=True))
        assert in_flight_finished >= 1, "the send under way when SIGTERM came was let finish"
        assert not await models.Message.filter(direction="outbound", status=DeliveryStatus.SENDING).exists(), \
            "nothing is left stuck in sending"
        with NexusProcess(["worker"], cwd=tmp_path, env=env):
            await all_delivered(18, timeout=120)
    counts = accepted(provider)
    assert len(counts) == 18 and set(counts.values()) == {1}, worker.log()[-6000:]


async def test_flushdb_during_a_slow_send_leaves_the_send_to_its_worker(nexus_server, fake_provider):
    """Redis loses every job while the provider takes its time over a send. The send's claim in
    the database is still renewed by its worker, so the sweep leaves it alone even once it has
    outlived its first lease, and the provider accepts the reply once. (It runs on Redis
    database 13 of its own, which it empties with FLUSHDB.)"""
    from nexus.clock import now
    from tests.conftest import chat_config, receive

    provider = await fake_provider()
    arrived, answer = answer_when_told(provider, "slow-1")
    redis_url = "redis://127.0.0.1:6379/13"
    config = {**chat_config(provider, timeout=120), "redis": {"url": redis_url},
              "delivery": {"lease": 1.0, "sweep_interval": 0.2}}
    async with nexus_server(config) as server:
        await receive(server, "in-1", "alice")
        (ticket,) = await server.tickets()
        message_id = (await server.nexus.tickets.reply(ticket.id, "take your time", author=None)).id
        await asyncio.wait_for(arrived.wait(), 15)
        redis = aioredis.Redis.from_url(redis_url)
        try:
            await redis.flushdb()
        finally:
            await redis.aclose()
        first_expiry = (await models.Message.get(id=message_id)).lease_expires_at

        async def outlived_its_first_lease() -> bool:
            row = await models.Message.get(id=message_id)
            return row.status == DeliveryStatus.SENDING and row.lease_expires_at > first_expiry and now() > first_expiry

        await wait_for(outlived_its_first_lease, message="the send to outlive its first lease, renewed")
        assert await server.nexus.delivery.sweep() == 0, "a send whose worker is alive is not taken back"
        answer.set()
        await server.wait_for_status(message_id, "sent")
    assert len(provider.requests_to("POST", "/messages")) == 1, "the provider accepted the reply once"
