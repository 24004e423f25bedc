"""Socket.IO: agents connect with a token and see each change live, only for the tickets they
may see, from python-socketio's AsyncClient and from the official JavaScript client, and
across processes through Redis."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from nexus_channel_example import SIGNATURE_HEADER, sign

from nexus.accounts import Accounts
from nexus.db import models
from nexus.testing import wait_for
from tests.conftest import chat_config, free_port, issue_token, message_event, post_events, receive
from tests.helpers import NexusProcess

JS_DIR = Path(__file__).resolve().parent / "js"


class Listener:
    """A python-socketio client that records every event it receives."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.client.on("*", self._record)

    async def _record(self, name: str, data: Any = None) -> None:
        self.events.append((name, data))

    async def connect(self, url: str, token: str | None) -> Listener:
        await self.client.connect(url, auth={"token": token} if token else None, transports=["websocket"],
                                  wait_timeout=10)
        return self

    def named(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]

    async def wait(self, name: str, predicate=lambda data: True, timeout: float = 10.0) -> Any:
        return await wait_for(lambda: next((d for d in self.named(name) if predicate(d)), None), timeout,
                              message=f"event {name}")

    async def close(self) -> None:
        await self.client.disconnect()


async def test_a_connection_without_a_valid_token_is_refused(chat_server):
    for token, reason in ((None, "auth.token is required"), ("nx_wrong", "invalid or expired token")):
        client = socketio.AsyncClient(reconnection=False)
        refusals = []
        client.on("connect_error", lambda data: refusals.append(data))
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(chat_server.url, auth={"token": token} if token else None, transports=["websocket"],
                                 wait_timeout=10)
        assert refusals == [{"message": reason, "data": {"code": "unauthorized"}}]


async def test_agents_see_changes_live_for_the_tickets_they_may_see(chat_server):
    server = chat_server
    support = await models.Team.create(name="Support")
    billing = await models.Team.create(name="Billing")
    _, admin_token = await server.agent("admin@example.com", role="admin")
    ann, ann_token = await server.agent("ann@example.com", role="agent", team_ids=[support.id])
    _, ben_token = await server.agent("ben@example.com", role="agent", team_ids=[billing.id])
    admin, ann_l, ben_l = [await Listener().connect(server.url, t) for t in (admin_token, ann_token, ben_token)]
    try:
        await receive(server, "rt-1", "alice", "Need help")
        created = await admin.wait("ticket.created")
        ticket_id = created["id"]
        status, rest = await server.api("GET", f"/tickets/{ticket_id}", admin_token)
        assert {k: v for k, v in created.items()} == rest, "events carry the REST shape"
        message = await ann_l.wait("message.created", lambda m: m["ticket_id"] == ticket_id)
        assert message["text"] == "Need help"
        await ben_l.wait("ticket.created")  # unassigned tickets of no team: everyone sees them

        status, _ = await server.api("PATCH", f"/tickets/{ticket_id}", admin_token, {"team_id": billing.id})
        update = await ann_l.wait("ticket.updated", lambda t: t.get("team_id") == billing.id)
        assert update["changes"] == {"team_id": None}, "the agent who loses sight of it hears it leave"
        await ben_l.wait("ticket.updated", lambda t: t.get("team_id") == billing.id)

        ann_seen = len(ann_l.events)
        await receive(server, "rt-2", "alice", "Anyone?")
        await ben_l.wait("message.created", lambda m: m["text"] == "Anyone?")
        await admin.wait("message.created", lambda m: m["text"] == "Anyone?")
        await asyncio.sleep(0.3)
        assert all(name != "message.created" or data["text"] != "Anyone?" for name, data in ann_l.events[ann_seen:])

        reply = (await server.api("POST", f"/tickets/{ticket_id}/messages", admin_token, {"text": "On it"})).body
        statuses = set()
        await ben_l.wait("message.updated", lambda m: m["id"] == reply["id"] and m["status"] == "sent")
        statuses = {m["status"] for m in ben_l.named("message.updated") if m["id"] == reply["id"]}
        assert "sent" in statuses
    finally:
        for listener in (admin, ann_l, ben_l):
            await listener.close()


async def test_team_changes_move_a_connected_agents_rooms(chat_server):
    server = chat_server
    team = await models.Team.create(name="Support")
    _, admin_token = await server.agent("admin@example.com", role="admin")
    pat, pat_token = await server.agent("pat@example.com", role="agent")
    await receive(server, "tm-1", "alice")
    (ticket,) = await server.tickets()
    await server.nexus.tickets.update(ticket.id, {"team_id": team.id})
    pat_l = await Listener().connect(server.url, pat_token)
    try:
        await receive(server, "tm-2", "alice", "before joining")
        await server.api("PATCH", f"/teams/{team.id}", admin_token, {"member_ids": [pat.id]})
        await asyncio.sleep(0.3)
        await receive(server, "tm-3", "alice", "after joining")
        await pat_l.wait("message.created", lambda m: m["text"] == "after joining")
        assert not [m for m in pat_l.named("message.created") if m["text"] == "before joining"]
    finally:
        await pat_l.close()


def npm_ready() -> None:
    if shutil.which("node") is None:
        pytest.fail("Node.js is needed for the official socket.io-client test")
    if not (JS_DIR / "node_modules" / "socket.io-client").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True, capture_output=True)


class JsClient:
    """The official socket.io-client, in Node, driven through tests/js/listen.mjs."""

    def __init__(self, url: str, token: str | None) -> None:
        npm_ready()
        self.args = ["node", str(JS_DIR / "listen.mjs"), url, token or "", "60"]
        self.lines: list[dict[str, Any]] = []

    async def __aenter__(self) -> JsClient:
        self.process = await asyncio.create_subprocess_exec(*self.args, stdin=asyncio.subprocess.PIPE,
                                                            stdout=asyncio.subprocess.PIPE)
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.lines.append(json.loads(line))

    async def wait(self, predicate, timeout: float = 15.0) -> dict[str, Any]:
        return await wait_for(lambda: next((line for line in self.lines if predicate(line)), None), timeout,
                              message="a line from the JavaScript client")

    async def __aexit__(self, *exc: object) -> None:
        if self.process.returncode is None:
            self.process.stdin.close()
            await asyncio.wait_for(self.process.wait(), 10)
        await self.reader


async def test_the_official_javascript_client(chat_server):
    server = chat_server
    _, token = await server.agent()
    async with JsClient(server.url, "nx_wrong") as refused:
        line = await refused.wait(lambda l: l["type"] == "connect_error")
        assert (line["message"], line["data"]) == ("invalid or expired token", {"code": "unauthorized"})
    async with JsClient(server.url, token) as client:
        await client.wait(lambda l: l["type"] == "connected")
        await receive(server, "js-1", "alice", "From the browser's point of view")
        created = await client.wait(lambda l: l.get("name") == "ticket.created")
        message = await client.wait(lambda l: l.get("name") == "message.created")
        assert message["data"]["text"] == "From the browser's point of view"
        assert message["data"]["ticket_id"] == created["data"]["id"]


# --- Across processes ----------------------------------------------------------------------


class _ApiClient:
    """Just enough of RunningNexus to post webhooks to a child process."""

    def __init__(self, url: str, http) -> None:
        self.url = url
        self.http = http

    async def post_webhook(self, channel: str, body: bytes, headers: dict[str, str]):
        async with self.http.post(f"{self.url}/webhooks/example/{channel}", data=body, headers=headers) as response:
            return type("R", (), {"status": response.status, "body": await response.json()})()

    async def api(self, method: str, path: str, token: str, json_body: Any = None):
        async with self.http.request(method, f"{self.url}/api/v1{path}", json=json_body,
                                     headers={"Authorization": f"Bearer {token}"}) as response:
            return response.status, await response.json()


async def test_events_cross_processes_through_redis(tmp_path, cluster_env):
    """Two API processes and one worker: a client on one API process sees what the other API
    process and the worker caused, each event once."""
    import aiohttp

    env, provider = cluster_env
    token = await issue_token()
    port_a, port_b = free_port(), free_port()
    api_a = NexusProcess(["serve", "--port", str(port_a), "--no-delivery-worker"], cwd=tmp_path, env=env, port=port_a)
    api_b = NexusProcess(["serve", "--port", str(port_b), "--no-delivery-worker"], cwd=tmp_path, env=env, port=port_b)
    worker = NexusProcess(["worker"], cwd=tmp_path, env=env)
    with api_a, api_b:
        listener = await Listener().connect(api_a.url, token)
        try:
            async with aiohttp.ClientSession() as http:
                on_b = _ApiClient(api_b.url, http)
                response = await post_events(on_b, message_event("x-1", "alice", "via process B"))
                assert response.status == 200
                created = await listener.wait("ticket.created")
                await listener.wait("message.created", lambda m: m["text"] == "via process B")

                # With no worker running, replies wait, but events still flow.
                status, reply = await on_b.api("POST", f"/tickets/{created['id']}/messages", token, {"text": "hello"})
                assert status == 202
                await listener.wait("message.created", lambda m: m["id"] == reply["id"] and m["status"] == "queued")
                assert provider.requests_to("POST", "/messages") == []

                worker.start().wait_ready()
                try:
                    await listener.wait("message.updated", lambda m: m["id"] == reply["id"] and m["status"] == "sent",
                                        timeout=20)
                finally:
                    worker.stop()
            assert len(listener.named("ticket.created")) == 1
            assert len([m for m in listener.named("message.created") if m["text"] == "via process B"]) == 1
            sent_events = [m for m in listener.named("message.updated") if m["id"] == reply["id"] and m["status"] == "sent"]
            assert len(sent_events) == 1, "each event arrives once"
            assert len(provider.requests_to("POST", "/messages")) == 1
        finally:
            await listener.close()
    assert "Traceback" not in api_a.log() + api_b.log() + worker.log()


async def test_the_javascript_client_across_processes(tmp_path, cluster_env):
    import aiohttp

    env, _ = cluster_env
    token = await issue_token()
    port_a, port_b = free_port(), free_port()
    with NexusProcess(["serve", "--port", str(port_a)], cwd=tmp_path, env=env, port=port_a) as api_a, \
         NexusProcess(["serve", "--port", str(port_b)], cwd=tmp_path, env=env, port=port_b) as api_b:
        async with JsClient(api_a.url, token) as client, aiohttp.ClientSession() as http:
            await client.wait(lambda l: l["type"] == "connected")
            await post_events(_ApiClient(api_b.url, http), message_event("js-x", "alice", "hello from B"))
            message = await client.wait(lambda l: l.get("name") == "message.created")
            assert message["data"]["text"] == "hello from B"


# --- Sockets live no longer than their token -----------------------------------------------


class Session:
    """A socket that records how the server ended it."""

    def __init__(self) -> None:
        self.listener = Listener()
        self.disconnected = asyncio.Event()
        self.listener.client.on("disconnect", self._gone)

    async def _gone(self, *args: Any) -> None:
        self.disconnected.set()

    async def connect(self, url: str, token: str) -> Session:
        await self.listener.connect(url, token)
        return self

    async def ended(self, reason: str) -> None:
        await wait_for(self.disconnected.is_set, 10, message="the server to drop the socket")
        assert self.listener.named("session.ended") == [{"reason": reason}]

    @property
    def alive(self) -> bool:
        return self.listener.client.connected and not self.disconnected.is_set()

    async def close(self) -> None:
        if self.listener.client.connected:
            await self.listener.close()


async def test_sockets_are_dropped_when_their_token_is_revoked(chat_server):
    server = chat_server
    agent, _ = await server.agent("sam@example.com", role="agent", password="sam's password")
    tokens = [(await server.api("POST", "/auth/login", json={"email": "sam@example.com", "password": "sam's password"})).body["token"]
              for _ in range(3)]
    sessions = [await Session().connect(server.url, token) for token in tokens]
    try:
        assert (await server.api("POST", "/auth/logout", tokens[0])).status == 204
        await sessions[0].ended("revoked")
        (listed,) = [t for t in (await server.api("GET", "/me/tokens", tokens[2])).body["items"] if t["prefix"] == tokens[1][:10]]
        assert (await server.api("DELETE", f"/me/tokens/{listed['id']}", tokens[2])).status == 204
        await sessions[1].ended("revoked")
        assert sessions[2].alive, "the token still in use keeps its socket"
        await receive(server, "rv-1", "alice", "still live")
        await sessions[2].listener.wait("message.created", lambda m: m["text"] == "still live")
    finally:
        for session in sessions:
            await session.close()


async def test_a_password_change_revokes_the_other_tokens_and_their_sockets(chat_server):
    server = chat_server
    await server.agent("sam@example.com", role="agent", password="sam's password")
    _, admin_token = await server.agent("admin@example.com", role="admin")

    async def login(password: str) -> str:
        return (await server.api("POST", "/auth/login", json={"email": "sam@example.com", "password": password})).body["token"]

    here, elsewhere = await login("sam's password"), await login("sam's password")
    stays, goes = await Session().connect(server.url, here), await Session().connect(server.url, elsewhere)
    try:
        status, body = await server.api("PUT", "/me/password", here, {"current_password": "wrong", "new_password": "n3w password"})
        assert (status, body["error"]["code"]) == (422, "wrong_password")
        assert (await server.api("PUT", "/me/password", here,
                                 {"current_password": "sam's password", "new_password": "n3w password"})).status == 204
        await goes.ended("revoked")
        assert (await server.api("GET", "/me", elsewhere)).status == 401
        assert (await server.api("GET", "/me", here)).status == 200 and stays.alive
        assert (await server.api("POST", "/auth/login", json={"email": "sam@example.com", "password": "sam's password"})).status == 401
        # An admin setting the password revokes every token of that agent.
        agent = await models.Agent.get(email="sam@example.com")
        assert (await server.api("PATCH", f"/agents/{agent.id}", admin_token, {"password": "an0ther password"})).status == 200
        await stays.ended("revoked")
        assert (await server.api("GET", "/me", here)).status == 401
        assert await login("an0ther password")
    finally:
        for session in (stays, goes):
            await session.close()


async def test_the_javascript_client_hears_why_its_session_ended(chat_server):
    server = chat_server
    _, admin_token = await server.agent("admin@example.com", role="admin")
    agent, token = await server.agent("sam@example.com", role="agent")
    async with JsClient(server.url, token) as client:
        await client.wait(lambda l: l["type"] == "connected")
        assert (await server.api("DELETE", f"/agents/{agent.id}", admin_token)).status == 204
        ended = await client.wait(lambda l: l.get("name") == "session.ended")
        assert ended["data"] == {"reason": "deactivated"}
        gone = await client.wait(lambda l: l["type"] == "disconnect")
        assert gone["reason"] == "io server disconnect", "the official client does not reconnect by itself"


async def test_a_socket_is_dropped_when_its_token_expires(chat_server):
    server = chat_server
    agent, _ = await server.agent("sam@example.com", role="agent")
    issued = await server.nexus.accounts.issue_token(agent, "short", ttl=1.5)
    session = await Session().connect(server.url, issued.token)
    try:
        await session.ended("expired")
        assert (await server.api("GET", "/me", issued.token)).status == 401
    finally:
        await session.close()


async def test_a_revocation_outside_the_api_drops_sockets_at_the_next_check(nexus_server, chat_api):
    """``nexus agents set-password`` (a CLI process with no sockets) revokes tokens in the
    database only; the periodic check finds them."""
    async with nexus_server(chat_config(chat_api) | {"auth": {"socket_recheck_interval": 0.5}}) as server:
        agent, token = await server.agent("sam@example.com", role="agent")
        session = await Session().connect(server.url, token)
        try:
            await Accounts(3600).set_password(agent, "a new password")  # as the CLI does it
            await session.ended("revoked")
        finally:
            await session.close()


async def test_a_logout_on_one_process_drops_the_socket_on_another(tmp_path, cluster_env):
    env, _ = cluster_env
    token = await issue_token(role="agent", email="sam@example.com")
    port_a, port_b = free_port(), free_port()
    with NexusProcess(["serve", "--port", str(port_a)], cwd=tmp_path, env=env, port=port_a) as api_a, \
         NexusProcess(["serve", "--port", str(port_b)], cwd=tmp_path, env=env, port=port_b) as api_b:
        session = await Session().connect(api_a.url, token)
        try:
            async with aiohttp.ClientSession() as http, http.post(
                    f"{api_b.url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}) as answer:
                assert answer.status == 204
            await session.ended("revoked")
        finally:
            await session.close()


async def test_installations_sharing_a_redis_server_never_see_each_others_events(nexus_server, chat_api, nexus_backends,
                                                                                  tmp_path):
    """Two installations with the same namespace on databases 11 and 12 of one Redis server."""
    import redis.asyncio as aioredis

    base = nexus_backends.redis_url
    if not base:
        pytest.fail("this test needs Redis (NEXUS_TEST_REDIS)")
    namespace = nexus_backends.namespace()
    urls = [base.rsplit("/", 1)[0] + f"/{db}" for db in (11, 12)]
    try:
        async with nexus_server(chat_config(chat_api) | {"redis": {"url": urls[0], "namespace": namespace}}) as first:
            _, token = await first.agent()
            own = await Listener().connect(first.url, token)
            try:
                # The second installation's server runs in a child process on database 12.
                env = {"DATABASE_URL": nexus_backends.database_url, "REDIS_URL": urls[1],
                       "NEXUS_REDIS__NAMESPACE": namespace, "NEXUS_DATABASE__MIGRATE_ON_START": "false",
                       "NEXUS_CHANNELS__CHAT__TYPE": "example", "NEXUS_CHANNELS__CHAT__API_URL": chat_api.url,
                       "NEXUS_CHANNELS__CHAT__TOKEN": "chat-token", "NEXUS_CHANNELS__CHAT__SECRET": "chat-secret"}
                port = free_port()
                with NexusProcess(["serve", "--port", str(port)], cwd=tmp_path, env=env, port=port) as other:
                    foreign = await Listener().connect(other.url, token)
                    try:
                        for i in range(5):
                            await receive(first, f"iso-{i}", f"contact-{i}", f"private to installation one {i}")
                        await own.wait("message.created", lambda m: m["text"].endswith(" 4"))
                        # Then an event of the second installation: one Redis server delivers
                        # in publication order, so had the first's events crossed, they would
                        # have arrived before this one.
                        async with aiohttp.ClientSession() as http:
                            body = json.dumps({"events": [message_event("iso-own", "zed", "installation two")]}).encode()
                            async with http.post(f"{other.url}/webhooks/example/chat", data=body,
                                                 headers={SIGNATURE_HEADER: sign(body, "chat-secret")}) as answer:
                                assert answer.status == 200
                        await foreign.wait("message.created", lambda m: m["text"] == "installation two")
                        crossed = [d for _, d in foreign.events if "installation one" in json.dumps(d)]
                        assert crossed == [], "events crossed installations"
                    finally:
                        await foreign.close()
            finally:
                await own.close()
    finally:
        for url in urls:
            client = aioredis.Redis.from_url(url)
            keys = [key async for key in client.scan_iter(match=f"{namespace}*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()


async def test_a_message_s_events_cross_processes_as_one_redis_message_in_order(chat_server):
    """An inbound message's ticket.updated and message.created leave in one tick: one PUBLISH
    on the installation's events channel carries both, in order, and a client still receives
    two events, ticket first."""
    from nexus.realtime import EventEmitter

    server = chat_server
    emitter: EventEmitter = server.nexus.events.emitter
    _, token = await server.agent("admin@example.com", role="admin")
    listener = await Listener().connect(server.url, token)
    pubsub = server.nexus.redis.pubsub()
    await pubsub.subscribe(emitter.channel)
    try:
        async def next_batch() -> list:
            message = await wait_for(lambda: pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0),
                                     message="a batch on the events channel")
            host, _, body = message["data"].partition(b"\n")
            assert host.decode() == emitter.host_id
            return json.loads(body)

        await receive(server, "batch-1", "alice", "first")
        assert [name for name, _, _ in await next_batch()] == ["ticket.created", "message.created"]
        await listener.wait("message.created", lambda m: m["text"] == "first")
        seen = len(listener.events)

        await receive(server, "batch-2", "alice", "second")
        batch = await next_batch()
        assert [(name, payload.get("text")) for name, payload, _ in batch] == [
            ("ticket.updated", None), ("message.created", "second")]
        assert batch[0][2] == batch[1][2] == ["admins", "unassigned"]
        await listener.wait("message.created", lambda m: m["text"] == "second")
        names = [name for name, _ in listener.events[seen:]]
        assert names == ["ticket.updated", "message.created"], "each event once, in order"
        assert listener.events[seen][1]["changes"] == {"last_message_at": None}
    finally:
        await pubsub.aclose()
        await listener.close()
