"""The ``/webchat`` Socket.IO namespace: each visitor's widgets join the visitor's room and
receive the replies pushed there; they report replies delivered and read.

Visitors connect with ``auth: {token}``. Agents' tokens mean nothing here, and a visitor's
socket never joins a room other than its own, so it hears its own conversation only.
"""

from __future__ import annotations

from typing import Any

from nexus import DeliveryStatus, StatusUpdate
from nexus.endpoints import ConnectionRefused, Socket, WebContext
from nexus_webchat.channel import WebchatChannel
from nexus_webchat.tokens import Visitor, channel_of

#: Receipts one visitor may send; a widget sends one per reply, at most two.
RECEIPT_LIMIT = "120/minute"
RECEIPTS = {"delivered": DeliveryStatus.DELIVERED, "read": DeliveryStatus.READ}


class VisitorEvents:
    async def connect(self, socket: Socket, auth: Any, web: WebContext) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        channel = web.channel(channel_of(token) or "") if isinstance(token, str) else None
        visitor = channel.visitor_of(token) if isinstance(channel, WebchatChannel) else None
        if visitor is None:
            raise ConnectionRefused("a valid visitor token is required (auth.token)", "unauthorized")
        assert isinstance(channel, WebchatChannel)
        if not channel.origin_allowed(socket.headers.get("origin"), socket.headers.get("host")):
            raise ConnectionRefused(f"this widget may not be used on {socket.headers.get('origin')}", "origin_not_allowed")
        socket.session["visitor"] = visitor
        await socket.join(visitor.room)

    async def event(self, socket: Socket, name: str, data: Any, web: WebContext) -> Any:
        visitor: Visitor = socket.session["visitor"]
        status = RECEIPTS.get(name)
        channel = web.channel(visitor.channel)
        if status is None or not isinstance(channel, WebchatChannel):
            return {"error": {"code": "unknown_event", "message": f"{name!r} is not an event of this namespace"}}
        ids = data.get("ids") if isinstance(data, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids[:50]):
            return {"error": {"code": "invalid_request", "message": "ids: a list of message ids"}}
        if not await web.allow(f"{channel.name}:receipts:{visitor.id}", RECEIPT_LIMIT):
            return {"error": {"code": "rate_limited", "message": f"at most {RECEIPT_LIMIT} receipts"}}
        for message_id in ids[:50]:
            # The id names this visitor: a receipt for someone else's reply matches nothing.
            await channel.host.update_status(StatusUpdate(f"out:{visitor.id}:{message_id}", status))
        return {"ok": True}
