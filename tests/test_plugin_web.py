"""The ``nexus_register_web`` hook: plugins' routes, static files and Socket.IO namespaces,
served by a real server, validated by the host and isolated from the agents' API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import socketio

from nexus import WebhookResponse, hookimpl
from nexus.endpoints import ConnectionRefused, Namespace, Route, StaticFiles
from nexus.testing import wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")
STATIC = Path(__file__).resolve().parent / "plugin_web_static"


class Echo:
    """A namespace handler: accepts ``auth.name``, joins room ``name``, echoes events."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def connect(self, socket, auth, web):
        if not isinstance(auth, dict) or not auth.get("name"):
            raise ConnectionRefused("auth.name is required", "no_name")
        socket.session["name"] = auth["name"]
        await socket.join(f"people:{auth['name']}")
        self.seen.append(f"connect {auth['name']} {socket.headers.get('origin')}")

    async def event(self, socket, name, data, web):
        if name == "boom":
            raise RuntimeError("the plugin broke")
        await socket.emit("echoed", {"name": name, "data": data})
        return {"to": socket.session["name"], "got": data}

    async def disconnect(self, socket, web):
        self.seen.append(f"disconnect {socket.session['name']}")


class WebPlugin:
    def __init__(self) -> None:
        self.echo = Echo()
        self.calls: list[Any] = []

    @hookimpl
    def nexus_register_web(self, register):
        register(StaticFiles("/thing/static", STATIC, max_age=60))
        register(Route("/thing/{word}/say/{rest:path}", self.say, methods=["GET", "POST"], max_body=100))
        register(Route("/thing/broken", self.broken))
        register(Route("/thing/limited", self.limited))
        register(Namespace("/thing", self.echo))

    async def say(self, request, web):
        self.calls.append(request)
        return WebhookResponse(200, {"word": request.params["word"], "rest": request.params["rest"],
                                     "body": request.body.decode(), "query": dict(request.query),
                                     "channels": [c.name for c in web.channels()]})

    async def broken(self, request, web):
        raise RuntimeError("route bug")

    async def limited(self, request, web):
        allowed = await web.allow("limited", "2/minute")
        return WebhookResponse(200 if allowed else 429, {"allowed": allowed})


class Greedy:
    """Claims a prefix of the host's."""

    @hookimpl
    def nexus_register_web(self, register):
        register(Route("/ok/fine", WebPlugin().say))
        register(Route("/api/v1/tickets", WebPlugin().say))


class Squatter:
    """Claims the prefix and namespace that WebPlugin registered."""

    @hookimpl
    def nexus_register_web(self, register):
        register(Route("/thing/mine", WebPlugin().say))


async def test_nexus_register_web(nexus_server):
    """Routes take path parameters, bodies and query strings, within their body limit."""
    plugin = WebPlugin()
    async with nexus_server(plugins={"thing": plugin}) as server:
        response = await server.request("POST", "/thing/hello/say/a/b.txt", data=b"payload", params={"x": "1"})
        assert response.status == 200
        assert response.body == {"word": "hello", "rest": "a/b.txt", "body": "payload", "query": {"x": "1"}, "channels": []}
        too_big = await server.request("POST", "/thing/hello/say/x", data=b"x" * 101)
        assert too_big.status == 413 and too_big.body["error"]["code"] == "payload_too_large"
        assert len(plugin.calls) == 1, "the handler never saw the oversized body"
        assert (await server.request("DELETE", "/thing/hello/say/x")).status == 405


async def test_static_files_are_served_and_stay_in_their_folder(nexus_server):
    async with nexus_server(plugins={"thing": WebPlugin()}) as server:
        response = await server.request("GET", "/thing/static/hello.txt")
        assert response.status == 200 and response.body == "hello static\n"
        headers = {k.lower(): v for k, v in response.headers.items()}
        assert headers["cache-control"] == "public, max-age=60" and headers["etag"]
        again = await server.request("GET", "/thing/static/hello.txt", headers={"If-None-Match": headers["etag"]})
        assert again.status == 304
        for path in ("/thing/static/../test_plugin_web.py", "/thing/static/%2e%2e/test_plugin_web.py", "/thing/static/nothing"):
            assert (await server.request("GET", path)).status == 404


async def test_a_failing_handler_answers_500_and_is_reported_by_name(nexus_server):
    async with nexus_server(plugins={"thing": WebPlugin()}) as server:
        response = await server.request("GET", "/thing/broken")
        assert response.status == 500 and response.body["error"]["code"] == "plugin_error"
        ready = (await server.request("GET", "/readyz")).body
        assert "route bug" in ready["plugin_errors"]["thing"]["error"]


async def test_prefixes_of_the_host_and_of_other_plugins_are_refused(nexus_server):
    async with nexus_server(plugins={"thing": WebPlugin(), "greedy": Greedy(), "zsquatter": Squatter()}) as server:
        errors = (await server.request("GET", "/readyz")).body["plugin_errors"]
        assert "/api belongs to the host" in errors["greedy"]["error"]
        assert "/thing is already served by plugin 'thing'" in errors["zsquatter"]["error"]
        # None of a refused plugin's registrations are served; the host's API is untouched.
        assert (await server.request("GET", "/ok/fine")).status == 404
        assert (await server.api("GET", "/tickets")).status == 401
        assert (await server.request("GET", "/thing/hello/say/x")).status == 200


async def test_rate_limits_are_counted_in_redis(nexus_server, nexus_backends):
    async with nexus_server(plugins={"thing": WebPlugin()}) as server:
        statuses = [(await server.request("GET", "/thing/limited")).status for _ in range(3)]
        assert statuses == [200, 200, 429]
        keys = await server.nexus.redis.keys(server.nexus.settings.redis_key("limits") + "*")
        assert keys, "the count lives in Redis, shared by every process"


async def test_a_namespace_connects_routes_events_and_receives_pushes(nexus_server):
    plugin = WebPlugin()
    async with nexus_server(plugins={"thing": plugin}) as server:
        client = socketio.AsyncClient(reconnection=False)
        echoed: list[Any] = []
        client.on("echoed", echoed.append, namespace="/thing")
        pushed: list[Any] = []
        client.on("news", pushed.append, namespace="/thing")
        await client.connect(server.url, namespaces=["/thing"], auth={"name": "ada"}, headers={"Origin": "https://a.example"},
                             transports=["websocket"], wait_timeout=10)
        try:
            assert await client.call("hello", {"n": 1}, namespace="/thing", timeout=10) == {"to": "ada", "got": {"n": 1}}
            await wait_for(lambda: echoed, message="the echo")
            assert await client.call("boom", None, namespace="/thing", timeout=10) == {
                "error": {"code": "plugin_error", "message": "the event could not be handled"}}
            await server.nexus.api.emit("/thing", "news", {"headline": "hi"}, room="people:ada")
            await server.nexus.api.emit("/thing", "news", {"headline": "not for ada"}, room="people:bob")
            await wait_for(lambda: pushed, message="the push")
            with pytest.raises(ValueError):
                await server.nexus.api.emit("/", "ticket.created", {}, room="admins")
        finally:
            await client.disconnect()
        assert pushed == [{"headline": "hi"}]
        await wait_for(lambda: "disconnect ada" in plugin.echo.seen, message="the disconnect")
        assert plugin.echo.seen[0] == "connect ada https://a.example"


async def test_a_refused_socket_learns_why_and_agents_tokens_mean_nothing_there(nexus_server):
    async with nexus_server(plugins={"thing": WebPlugin()}) as server:
        client = socketio.AsyncClient(reconnection=False)
        refusals: list[Any] = []
        client.on("connect_error", refusals.append, namespace="/thing")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(server.url, namespaces=["/thing"], auth={"token": await server.admin_token()},
                                 transports=["websocket"], wait_timeout=10)
        assert refusals == [{"message": "auth.name is required", "data": {"code": "no_name"}}]
        # And the plugin's clients never join the agents' namespace by connecting to theirs.
        await asyncio.sleep(0)
