"""A visitor of a web-chat channel, doing over HTTP and Socket.IO what the widget does."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import socketio

from nexus.testing import ApiResponse, RunningNexus, wait_for

ORIGIN = "https://shop.example"
_ids = itertools.count(1)


def webchat_settings(**extra: Any) -> dict[str, Any]:
    """Settings with one web-chat channel, ``site``, allowed on :data:`ORIGIN`."""
    return {"channels": {"site": {"type": "webchat", "allowed_origins": [ORIGIN], **extra}}}


class WebchatClient:
    def __init__(self, server: RunningNexus, *, channel: str = "site", origin: str | None = ORIGIN,
                 user: dict[str, Any] | None = None, token: str | None = None) -> None:
        self.server = server
        self.channel = channel
        self.origin = origin
        self.user = user
        self.token = token
        self.session: dict[str, Any] = {}
        self.pushed: list[tuple[str, Any]] = []
        self.sio: socketio.AsyncClient | None = None
        #: What the server said when it refused a connection (``{"message", "code"}``).
        self.refusals: list[Any] = []

    @property
    def public_key(self) -> str:
        runtime = self.server.nexus.channels.get(self.channel)
        assert runtime is not None and runtime.instance is not None
        return runtime.instance.public_key

    def headers(self, **extra: str) -> dict[str, str]:
        headers = dict(extra)
        if self.origin:
            headers["Origin"] = self.origin
        if self.token:
            headers["Authorization"] = f"Visitor {self.token}"
        return headers

    async def start(self) -> ApiResponse:
        body: dict[str, Any] = {"key": self.public_key}
        if self.token:
            body["token"] = self.token
        if self.user:
            body["user"] = self.user
        response = await self.server.request("POST", "/webchat/api/session", json_body=body, headers=self.headers())
        if response.status == 200:
            self.session = response.body
            self.token = response.body["token"]
        return response

    async def say(self, text: str, client_id: str | None = None) -> ApiResponse:
        return await self.server.request(
            "POST", f"/webchat/{self.channel}/api/messages", headers=self.headers(),
            json_body={"text": text, "client_id": client_id or f"c{next(_ids)}"})

    async def upload(self, name: str, data: bytes, content_type: str = "text/plain",
                     client_id: str | None = None) -> ApiResponse:
        return await self.server.request(
            "POST", f"/webchat/{self.channel}/api/files", data=data,
            headers=self.headers(**{"Content-Type": content_type}),
            params={"name": name, "client_id": client_id or f"f{next(_ids)}"})

    async def history(self) -> ApiResponse:
        return await self.server.request("GET", f"/webchat/{self.channel}/api/messages", headers=self.headers())

    async def connect(self, **auth: Any) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("message", lambda data: self.pushed.append(("message", data)), namespace="/webchat")
        self.sio.on("connect_error", lambda data: self.refusals.append(data), namespace="/webchat")
        headers = {"Origin": self.origin} if self.origin else {}
        await self.sio.connect(self.server.url, namespaces=["/webchat"], auth=auth or {"token": self.token},
                               headers=headers, transports=["websocket"], wait_timeout=10)

    async def receipt(self, kind: str, ids: list[int]) -> Any:
        assert self.sio is not None
        return await self.sio.call(kind, {"ids": ids}, namespace="/webchat", timeout=10)

    async def wait_pushed(self, predicate: Any, message: str = "a push") -> Any:
        return await wait_for(lambda: next((data for _, data in self.pushed if predicate(data)), None), message=message)

    async def close(self) -> None:
        if self.sio is not None and self.sio.connected:
            await self.sio.disconnect()
            await asyncio.sleep(0)
