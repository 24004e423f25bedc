"""A local HTTP server that stands in for a provider's API in tests.

It speaks real HTTP on a loopback port, so a plugin's own client code runs unchanged against
it. Register a handler per route, read back every request it received, and script failures::

    async with FakeProvider() as api:
        api.route("POST", "/v1/messages", lambda req: {"id": "m-1"})
        api.fail(2, status=503, headers={"Retry-After": "1"})
        ...  # point the plugin at api.url
        assert api.requests_to("POST", "/v1/messages")[0].json()["to"] == "+4912345"
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from nexus.channel import Params

Handler = Callable[["RecordedRequest"], Any]


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    form_data: dict[str, Any] = field(default_factory=dict)
    #: The status the fake answered with.
    status: int | None = None
    #: ``time.monotonic()`` when the request arrived.
    received_at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> Mapping[str, Any]:
        """Fields of a multipart body (files as dicts with their bytes), or of a urlencoded one
        as :class:`nexus.Params`: each field's first value, ``getall(name)`` for all."""
        if self.form_data:
            return self.form_data
        return Params(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    """A scripted answer: status, JSON (or raw) body and headers."""

    status: int = 200
    json: Any = None
    body: bytes | str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def response(self) -> web.Response:
        if self.body is not None:
            return web.Response(status=self.status, body=self.body, headers=dict(self.headers))
        return web.json_response(self.json if self.json is not None else {}, status=self.status, headers=dict(self.headers))


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


@dataclass
class _Failure:
    reply: Reply
    method: str | None
    path: re.Pattern[str] | None
    remaining: int


def _compile(path: str) -> re.Pattern[str]:
    """``/bot{token}/getFile`` style patterns; ``{name:.*}`` takes a regex."""
    regex = ""
    for literal, name, expr in re.findall(r"([^{]*)(?:\{(\w+)(?::([^}]+))?\})?", path):
        regex += re.escape(literal)
        if name:
            regex += f"(?P<{name}>{expr or '[^/]+'})"
    return re.compile(f"^{regex}$")


class FakeProvider:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, max_body: int = 200 * 1024 * 1024) -> None:
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self._routes: list[_Route] = []
        self._failures: deque[_Failure] = deque()
        self._failure_rate: tuple[float, list[Reply], random.Random] | None = None
        self._app = web.Application(client_max_size=max_body)
        self._app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Condition()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> FakeProvider:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeProvider:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- Scripting ---------------------------------------------------------------------

    def route(self, method: str, path: str, handler: Handler | Any = None, *, status: int = 200) -> None:
        """Answer ``method path`` with ``handler(request)``'s result: a dict or list (sent as
        JSON), a :class:`Reply`, an aiohttp response, or an awaitable of one. A non-callable
        ``handler`` is sent as it is. Later routes win over earlier ones."""
        if not callable(handler):
            value = handler

            def handler(request: RecordedRequest, _value: Any = value) -> Any:
                return Reply(status=status, json=_value)

        self._routes.insert(0, _Route(method.upper(), _compile(path), handler))

    def fail(self, times: int = 1, *, status: int = 500, json: Any = None, body: bytes | str | None = None,
             headers: Mapping[str, str] | None = None, method: str | None = None, path: str | None = None) -> None:
        """Answer the next ``times`` matching requests with this error instead."""
        reply = Reply(status=status, json=json if json is not None else ({"error": f"injected {status}"} if body is None else None),
                      body=body, headers=headers or {})
        self._failures.append(_Failure(reply, method.upper() if method else None, _compile(path) if path else None, times))

    def fail_randomly(self, rate: float, replies: list[Reply], *, seed: int = 0) -> None:
        """Answer a share ``rate`` of all requests with one of ``replies``, chosen at random."""
        self._failure_rate = (rate, replies, random.Random(seed)) if rate > 0 else None

    # --- Reading back ------------------------------------------------------------------

    def requests_to(self, method: str | None = None, path: str | None = None, *,
                    succeeded: bool | None = None) -> list[RecordedRequest]:
        """The requests received, optionally only those answered with a 2xx (or not)."""
        pattern = _compile(path) if path else None
        return [r for r in self.requests
                if (method is None or r.method == method.upper()) and (pattern is None or pattern.match(r.path))
                and (succeeded is None or succeeded == (r.status is not None and 200 <= r.status < 300))]

    async def wait_for(self, count: int, method: str | None = None, path: str | None = None,
                       timeout: float = 10.0) -> list[RecordedRequest]:
        """Wait until ``count`` matching requests arrived; returns them."""
        async def arrived() -> list[RecordedRequest]:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.requests_to(method, path)) >= count)
            return self.requests_to(method, path)

        try:
            return await asyncio.wait_for(arrived(), timeout)
        except TimeoutError:
            got = len(self.requests_to(method, path))
            raise AssertionError(f"expected {count} request(s) to {method or '*'} {path or '*'}, got {got}") from None

    # --- Serving -----------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        form_data: dict[str, Any] = {}
        if request.content_type == "multipart/form-data":
            form_data = await _parse_multipart(request.headers.get("Content-Type", ""), body)
        recorded = RecordedRequest(
            method=request.method, path=request.path, query=dict(request.query),
            headers={k.lower(): v for k, v in request.headers.items()}, body=body, form_data=form_data,
        )
        self.requests.append(recorded)
        response = await self._answer(recorded)
        recorded.status = response.status
        async with self._arrived:
            self._arrived.notify_all()
        return response

    async def _answer(self, recorded: RecordedRequest) -> web.StreamResponse:
        for failure in list(self._failures):
            if (failure.method is None or failure.method == recorded.method) and (
                failure.path is None or failure.path.match(recorded.path)
            ):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure.reply.response()
        if self._failure_rate is not None:
            rate, replies, rng = self._failure_rate
            if rng.random() < rate:
                return rng.choice(replies).response()

        for route in self._routes:
            if route.method not in (recorded.method, "*"):
                continue
            match = route.pattern.match(recorded.path)
            if match:
                recorded.params = match.groupdict()
                result = route.handler(recorded)
                if inspect.isawaitable(result):
                    result = await result
                return _to_response(result)
        return web.json_response({"error": f"no fake route for {recorded.method} {recorded.path}"}, status=404)


def _to_response(result: Any) -> web.StreamResponse:
    if isinstance(result, web.StreamResponse):
        return result
    if isinstance(result, Reply):
        return result.response()
    if isinstance(result, (bytes, str)):
        return web.Response(body=result)
    return web.json_response(result)


async def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Multipart fields: text as str, files as ``{"filename", "content_type", "data"}``."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename:
            fields[name] = {"filename": filename, "content_type": part.get_content_type(), "data": payload}
        else:
            fields[name] = payload.decode(part.get_content_charset() or "utf-8", "replace")
    return fields

