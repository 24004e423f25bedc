"""Socket.IO: agents connect with a token and receive the events of the tickets they may see.

Visibility is mapped onto rooms, so each event is delivered only where it may go:

* ``admins``: every admin;
* ``agent:<id>``: the tickets assigned to that agent;
* ``team:<id>``: the tickets of that team;
* ``unassigned``: tickets with neither team nor assignee, which every agent may see.

With Redis configured, python-socketio's Redis manager carries every emit to every API
process, so an event caused in a worker or in another API process reaches all clients. When an
agent's teams or role change, a control message on Redis makes every process move that
agent's sockets to the right rooms.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import socketio

from nexus.config import Settings

if TYPE_CHECKING:
    from nexus.runtime import Nexus

logger = logging.getLogger("nexus.realtime")

NAMESPACE = "/"


def rooms_for_ticket(team_id: int | None, assignee_id: int | None) -> list[str]:
    rooms = ["admins"]
    if team_id is not None:
        rooms.append(f"team:{team_id}")
    if assignee_id is not None:
        rooms.append(f"agent:{assignee_id}")
    if team_id is None and assignee_id is None:
        rooms.append("unassigned")
    return rooms


def rooms_for_agent(agent_id: int, role: str, team_ids: Iterable[int]) -> set[str]:
    rooms = {f"agent:{agent_id}", "unassigned"}
    rooms.update(f"team:{team_id}" for team_id in team_ids)
    if role == "admin":
        rooms.add("admins")
    return rooms


def create_socketio_server(settings: Settings) -> socketio.AsyncServer:
    manager = None
    if settings.redis.url:
        manager = socketio.AsyncRedisManager(settings.redis.url, channel=settings.redis_key("socketio"))
    origins: Any = list(settings.server.cors_origins) or []
    if "*" in origins:
        origins = "*"
    return socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        cors_allowed_origins=origins,
        json=_Json,
        ping_interval=20,
        ping_timeout=20,
    )


class _Json:
    """JSON that renders datetimes, for event payloads."""

    @staticmethod
    def dumps(*args: Any, **kwargs: Any) -> str:
        kwargs.setdefault("default", str)
        kwargs.setdefault("separators", (",", ":"))
        return json.dumps(*args, **kwargs)

    @staticmethod
    def loads(*args: Any, **kwargs: Any) -> Any:
        return json.loads(*args, **kwargs)


class Realtime:
    """Connection handling and room bookkeeping for one API process."""

    def __init__(self, nexus: Nexus, sio: socketio.AsyncServer) -> None:
        self.nexus = nexus
        self.sio = sio
        self._listener: asyncio.Task[None] | None = None
        self._stopping = False
        self.control_channel = nexus.settings.redis_key("realtime-control")
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not token:
            raise socketio.exceptions.ConnectionRefusedError("auth.token is required", {"code": "unauthorized"})
        agent = await self.nexus.accounts.agent_for_token(token)
        if agent is None:
            raise socketio.exceptions.ConnectionRefusedError("invalid or expired token", {"code": "unauthorized"})
        team_ids = await self.nexus.accounts.team_ids(agent.id)
        await self.sio.save_session(sid, {"agent_id": agent.id})
        for room in rooms_for_agent(agent.id, agent.role, team_ids):
            await self.sio.enter_room(sid, room)
        logger.debug("agent %s connected as %s", agent.id, sid)

    async def _on_disconnect(self, sid: str, *args: Any) -> None:
        logger.debug("socket %s disconnected", sid)

    async def start(self) -> None:
        if self.nexus.settings.redis.url:
            self._stopping = False
            self._listener = asyncio.create_task(self._listen(), name="realtime-control")

    async def stop(self) -> None:
        if self._listener:
            # redis-py may turn a cancellation inside a read into a ConnectionError, so the
            # loop also watches a flag.
            self._stopping = True
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._listener, 5)
            self._listener = None

    async def agent_changed(self, agent_id: int) -> None:
        """Re-room (or drop) the sockets of an agent whose teams, role or tokens changed, in
        every process."""
        if self.nexus.settings.redis.url:
            await self.nexus.redis.publish(self.control_channel, json.dumps({"agent_id": agent_id}))
        else:
            await self._refresh_local(agent_id)

    async def _listen(self) -> None:
        while not self._stopping:
            pubsub = self.nexus.redis.pubsub()
            try:
                await pubsub.subscribe(self.control_channel)
                while not self._stopping:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is None:
                        continue
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        await self._refresh_local(int(json.loads(message["data"])["agent_id"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis went away: resubscribe
                if self._stopping:
                    return
                logger.warning("realtime control channel: %s; resubscribing", exc)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _refresh_local(self, agent_id: int) -> None:
        sids = [sid for sid, _ in self.sio.manager.get_participants(NAMESPACE, f"agent:{agent_id}")]
        if not sids:
            return
        agent = await self.nexus.accounts.active_agent(agent_id)
        if agent is None:
            for sid in sids:
                await self.sio.disconnect(sid)
            return
        wanted = rooms_for_agent(agent.id, agent.role, await self.nexus.accounts.team_ids(agent.id))
        for sid in sids:
            current = set(self.sio.rooms(sid)) - {sid}
            for room in current - wanted:
                await self.sio.leave_room(sid, room)
            for room in wanted - current:
                await self.sio.enter_room(sid, room)


class EventEmitter:
    """Emits events to Socket.IO rooms from any process: directly through the API process's
    server, or through a write-only Redis manager in a worker."""

    def __init__(self, sio: socketio.AsyncServer | None, settings: Settings) -> None:
        self.sio = sio
        self._manager: socketio.AsyncRedisManager | None = None
        if sio is None and settings.redis.url:
            self._manager = socketio.AsyncRedisManager(
                settings.redis.url, channel=settings.redis_key("socketio"), write_only=True, json=_Json
            )

    async def emit(self, event: str, data: Any, rooms: list[str]) -> None:
        if self.sio is not None:
            await self.sio.emit(event, data, room=rooms, namespace=NAMESPACE)
        elif self._manager is not None:
            await self._manager.emit(event, data, namespace=NAMESPACE, room=rooms)
