"""A plugin's Socket.IO namespace on the host's server: python-socketio's ``AsyncNamespace``
routes each connection, event and disconnection to the plugin's handler, wrapped so that a
handler's exception refuses or answers that one client and is reported on the plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import socketio

from nexus.endpoints import ConnectionRefused, Namespace

if TYPE_CHECKING:
    from nexus.web.plugin_web import PluginWebContext


class PluginSocket:
    """The :class:`nexus.endpoints.Socket` of one client."""

    def __init__(self, adapter: NamespaceAdapter, sid: str, environ: dict[str, Any]) -> None:
        self._adapter = adapter
        self.sid = sid
        self.headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
                        if key.startswith("HTTP_") and isinstance(value, str)}
        client = (environ.get("asgi.scope") or {}).get("client") or (None,)
        self.remote_addr = client[0] or environ.get("REMOTE_ADDR")
        self.session: dict[str, Any] = {}

    async def emit(self, event: str, data: Any = None) -> None:
        await self._adapter.emit(event, data, to=self.sid)

    async def join(self, room: str) -> None:
        await self._adapter.enter_room(self.sid, room)

    async def leave(self, room: str) -> None:
        await self._adapter.leave_room(self.sid, room)

    async def disconnect(self) -> None:
        await self._adapter.disconnect(self.sid)


class NamespaceAdapter(socketio.AsyncNamespace):
    def __init__(self, namespace: Namespace, web: PluginWebContext) -> None:
        super().__init__(namespace.name)
        self.handler = namespace.handler
        self.web = web
        #: The sockets this process holds; python-socketio pins a client to one process.
        self.sockets: dict[str, PluginSocket] = {}

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event == "connect":
            sid, environ, auth = (list(args) + [None, None])[:3]
            return await self._connect(sid, environ or {}, auth)
        if event == "disconnect":
            return await self._disconnect(args[0])
        sid, data = args[0], args[1] if len(args) > 1 else None
        socket = self.sockets.get(sid)
        handle = getattr(self.handler, "event", None)
        if socket is None or handle is None:
            return {"error": {"code": "unknown_event", "message": f"{event!r} is not handled here"}}
        try:
            return await handle(socket, event, data, self.web)
        except Exception as exc:  # noqa: BLE001 - a plugin bug answers this event only
            self.web.failed(f"namespace {self.namespace} event {event!r}", exc)
            return {"error": {"code": "plugin_error", "message": "the event could not be handled"}}

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        socket = PluginSocket(self, sid, environ)
        try:
            await self.handler.connect(socket, auth, self.web)
        except ConnectionRefused as refused:
            raise socketio.exceptions.ConnectionRefusedError(refused.message, {"code": refused.code}) from None
        except Exception as exc:  # noqa: BLE001
            self.web.failed(f"namespace {self.namespace} connect", exc)
            raise socketio.exceptions.ConnectionRefusedError(
                "the connection could not be handled", {"code": "plugin_error"}) from None
        self.sockets[sid] = socket

    async def _disconnect(self, sid: str) -> None:
        socket = self.sockets.pop(sid, None)
        handle = getattr(self.handler, "disconnect", None)
        if socket is None or handle is None:
            return
        try:
            await handle(socket, self.web)
        except Exception as exc:  # noqa: BLE001
            self.web.failed(f"namespace {self.namespace} disconnect", exc)
