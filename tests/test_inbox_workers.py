"""Processing stored webhooks on `nexus worker` processes (inbox.process_on), with real API and
worker processes sharing PostgreSQL and Redis: while a worker runs, API processes only store
and acknowledge, and the workers process every payload once; with no worker, `nexus serve`
processes what it stores itself."""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import json
import time

import aiohttp

from nexus.db import models
from nexus.testing import wait_for
from tests.conftest import free_port
from tests.helpers import NexusProcess

APP_SECRET = "inbox-app-secret"
PHONE_NUMBER_ID = "100200300400500"
WHATSAPP = {
    "NEXUS_CHANNELS__WA__TYPE": "whatsapp", "NEXUS_CHANNELS__WA__PHONE_NUMBER_ID": PHONE_NUMBER_ID,
    "NEXUS_CHANNELS__WA__ACCESS_TOKEN": "token", "NEXUS_CHANNELS__WA__APP_SECRET": APP_SECRET,
    "NEXUS_CHANNELS__WA__VERIFY_TOKEN": "verify", "NEXUS_CHANNELS__WA__GRAPH_API_BASE": "http://127.0.0.1:9",
}
HANDING_OFF = "inbox: payloads go to workers"
PROCESSING_HERE = "inbox: payloads are processed here"


def webhook(message_id: str, wa_id: str, text: str) -> tuple[bytes, dict[str, str]]:
    """A signed inbound text message in Meta's webhook format."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": f"Customer {wa_id[-4:]}"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": message_id, "timestamp": str(int(time.time())), "type": "text",
                      "text": {"body": text}}],
    }
    body = json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]}).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature}


async def post_all(urls: list[str], prefix: str, count: int) -> None:
    async with aiohttp.ClientSession() as http:
        async def one(i: int) -> int:
            body, headers = webhook(f"wamid.{prefix}.{i}", f"4915{i % 5:09d}", f"{prefix} {i}")
            async with http.post(f"{urls[i % len(urls)]}/webhooks/whatsapp/wa", data=body, headers=headers) as response:
                return response.status

        statuses = await asyncio.gather(*(one(i) for i in range(count)))
    assert statuses == [200] * count


async def stored_once(prefix: str, count: int, timeout: float = 60) -> None:
    async def done() -> bool:
        return await models.Message.filter(text__startswith=f"{prefix} ").count() >= count

    await wait_for(done, timeout=timeout, interval=0.2, message=f"the {prefix} messages to be stored")
    texts = collections.Counter(await models.Message.filter(text__startswith=f"{prefix} ").values_list("text", flat=True))
    assert set(texts) == {f"{prefix} {i}" for i in range(count)} and set(texts.values()) == {1}


async def test_api_processes_only_store_while_workers_process(tmp_path, cluster_env):
    """Two API processes hand every payload to two workers: even with both API processes
    killed right after their acknowledgements (and a lease far longer than the test, so that
    nothing an API process had claimed could be taken back in time), every payload is
    processed, once."""
    env, _ = cluster_env
    env = {**env, **WHATSAPP, "NEXUS_INBOX__LEASE": "10m"}
    workers = [NexusProcess(["worker"], cwd=tmp_path, env=env).start() for _ in range(2)]
    apis: list[NexusProcess] = []
    try:
        for worker in workers:
            worker.wait_ready()
        ports = free_port(), free_port()
        apis = [NexusProcess(["serve", "--port", str(port), "--no-delivery-worker"], cwd=tmp_path, env=env,
                             port=port).start() for port in ports]
        for api in apis:
            api.wait_ready()
            assert HANDING_OFF in api.log()
        await post_all([api.url for api in apis], "handed", 40)
        for api in apis:
            api.kill()
        await stored_once("handed", 40)
        events = await models.InboundEvent.all()
        assert len(events) == 40 and {event.status for event in events} == {"processed"}
        assert {event.attempts for event in events} == {1}
    finally:
        for process in apis + workers:
            process.stop()
    for worker in workers:
        assert "Traceback" not in worker.log(), worker.log()


async def test_serve_processes_itself_until_a_worker_runs_and_after_it_stops(tmp_path, cluster_env):
    env, _ = cluster_env
    env = {**env, **WHATSAPP}
    port = free_port()
    api = NexusProcess(["serve", "--port", str(port)], cwd=tmp_path, env=env, port=port).start()
    worker = NexusProcess(["worker"], cwd=tmp_path, env=env)
    try:
        api.wait_ready()
        assert HANDING_OFF not in api.log()
        await post_all([api.url], "alone", 10)
        await stored_once("alone", 10)

        worker.start().wait_ready()
        await wait_for(lambda: HANDING_OFF in api.log(), timeout=30, message="the API process to see the worker")
        await post_all([api.url], "beside", 10)
        await stored_once("beside", 10)

        worker.stop()
        await wait_for(lambda: PROCESSING_HERE in api.log(), timeout=30, message="the API process to see it gone")
        await post_all([api.url], "again", 10)
        await stored_once("again", 10)
        assert await models.InboundEvent.filter(status="processed").count() == 30
    finally:
        worker.stop()
        api.stop()
    for process in (api, worker):
        assert "Traceback" not in process.log(), process.log()
