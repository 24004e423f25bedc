"""Socket.IO: agents connect with a token and receive the events of the tickets they may see.

Visibility is mapped onto rooms, so each event is delivered only where it may go:

* ``admins``: every admin;
* ``agent:<id>``: the tickets assigned to that agent;
* ``team:<id>``: the tickets of that team;
* ``unassigned``: tickets with neither team nor assignee, which every agent may see.

With Redis configured, python-socketio's Redis manager carries every emit to every API
process, so an event caused in a worker or in another API process reaches all clients. When an
agent's teams or role change, a control message on Redis makes every process move that
agent's sockets to the right rooms. Both pub/sub channels name the installation's namespace
and Redis database, so installations sharing a Redis server never see each other's events.

A socket lives no longer than its token: it is dropped (after a ``session.ended`` event) when
the token is revoked (logout, revocation, a password change, deactivation; a control message
tells every process), when it expires (a timer), and at the latest on the next periodic check
(``auth.socket_recheck_interval``) for revocations made outside the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import socketio

from nexus.clock import now
from nexus.config import Settings
from nexus.redis_backend import pubsub_channel

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
        manager = socketio.AsyncRedisManager(settings.redis.url, channel=pubsub_channel(settings, "socketio"))
    return socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        cors_allowed_origins=socket_origins(settings.server.cors_origins),
        json=_Json,
        ping_interval=20,
        ping_timeout=20,
    )


def socket_origins(configured: Iterable[str]) -> Any:
    """Engine.IO's ``cors_allowed_origins`` for ``server.cors_origins``. Unset: no origin check
    (sockets authenticate with a token, never a cookie). ``*``: any origin. A list: those
    origins and this server's own, so the console and plugins' pages served by Nexus itself
    keep connecting."""
    origins = set(configured)
    if not origins:
        return []
    if "*" in origins:
        return "*"

    def allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        if origin is None or origin in origins:
            return True
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        return origin == own

    return allowed


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
        self._rechecker: asyncio.Task[None] | None = None
        self._stopping = False
        self.control_channel = pubsub_channel(nexus.settings, "realtime-control")
        #: This process's sockets and the token each was opened with.
        self._tokens: dict[str, int] = {}
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not token or not isinstance(token, str):
            raise socketio.exceptions.ConnectionRefusedError("auth.token is required", {"code": "unauthorized"})
        session = await self.nexus.accounts.session_for_token(token)
        if session is None:
            raise socketio.exceptions.ConnectionRefusedError("invalid or expired token", {"code": "unauthorized"})
        agent = session.agent
        team_ids = await self.nexus.accounts.team_ids(agent.id)
        await self.sio.save_session(sid, {"agent_id": agent.id, "token_id": session.token_id})
        for room in rooms_for_agent(agent.id, agent.role, team_ids):
            await self.sio.enter_room(sid, room)
        self._tokens[sid] = session.token_id
        if session.expires_at is not None:
            loop = asyncio.get_running_loop()
            delay = max(0.0, (session.expires_at - now()).total_seconds())
            self._expiry[sid] = loop.call_later(
                delay, lambda: self.nexus.spawn(self._drop([sid], "expired"), name="socket-expired"))
        logger.debug("agent %s connected as %s", agent.id, sid)

    async def _on_disconnect(self, sid: str, *args: Any) -> None:
        self._tokens.pop(sid, None)
        timer = self._expiry.pop(sid, None)
        if timer is not None:
            timer.cancel()
        logger.debug("socket %s disconnected", sid)

    async def _drop(self, sids: Iterable[str], reason: str) -> None:
        """Tell each socket why, then disconnect it."""
        for sid in list(sids):
            if sid not in self._tokens:
                continue
            with contextlib.suppress(Exception):
                await self.sio.emit("session.ended", {"reason": reason}, to=sid, namespace=NAMESPACE)
            await self.sio.disconnect(sid, namespace=NAMESPACE)
            await self._on_disconnect(sid)

    async def start(self) -> None:
        self._stopping = False
        if self.nexus.settings.redis.url:
            self._listener = asyncio.create_task(self._listen(), name="realtime-control")
        self._rechecker = asyncio.create_task(self._recheck_loop(), name="socket-recheck")

    async def stop(self) -> None:
        self._stopping = True
        for timer in self._expiry.values():
            timer.cancel()
        self._expiry.clear()
        if self._rechecker:
            self._rechecker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rechecker
            self._rechecker = None
        if self._listener:
            # redis-py may turn a cancellation inside a read into a ConnectionError, so the
            # loop also watches a flag.
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._listener, 5)
            self._listener = None

    async def agent_changed(self, agent_id: int) -> None:
        """Re-room (or drop) the sockets of an agent whose teams, role or tokens changed, in
        every process."""
        await self._control({"agent_id": agent_id})

    async def tokens_revoked(self, token_ids: Iterable[int]) -> None:
        """Drop the sockets opened with these tokens, in every process."""
        ids = sorted(set(token_ids))
        if ids:
            await self._control({"token_ids": ids})

    async def _control(self, message: dict[str, Any]) -> None:
        if self.nexus.settings.redis.url:
            await self.nexus.redis.publish(self.control_channel, json.dumps(message))
        else:
            await self._handle(message)

    async def _handle(self, message: dict[str, Any]) -> None:
        if "agent_id" in message:
            await self._refresh_local(int(message["agent_id"]))
        if "token_ids" in message:
            revoked = {int(token_id) for token_id in message["token_ids"]}
            await self._drop([sid for sid, token_id in self._tokens.items() if token_id in revoked], "revoked")

    async def _listen(self) -> None:
        async def handle(data: bytes) -> None:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                await self._handle(json.loads(data))

        await listen(self.nexus.redis, self.control_channel, handle, lambda: self._stopping,
                     "realtime control channel")

    async def _recheck_loop(self) -> None:
        interval = self.nexus.settings.auth.socket_recheck_interval
        while True:
            await asyncio.sleep(interval)
            try:
                await self.recheck()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database is away: next round
                logger.warning("checking sockets' tokens: %s", exc)

    async def recheck(self) -> int:
        """Drop this process's sockets whose token stopped working; returns how many."""
        if not self._tokens:
            return 0
        valid = await self.nexus.accounts.valid_token_ids(list(set(self._tokens.values())))
        stale = [sid for sid, token_id in self._tokens.items() if token_id not in valid]
        await self._drop(stale, "revoked")
        return len(stale)

    async def _refresh_local(self, agent_id: int) -> None:
        sids = [sid for sid, _ in self.sio.manager.get_participants(NAMESPACE, f"agent:{agent_id}")]
        if not sids:
            return
        agent = await self.nexus.accounts.active_agent(agent_id)
        if agent is None:
            await self._drop(sids, "deactivated")
            return
        wanted = rooms_for_agent(agent.id, agent.role, await self.nexus.accounts.team_ids(agent.id))
        for sid in sids:
            current = set(self.sio.rooms(sid)) - {sid}
            for room in current - wanted:
                await self.sio.leave_room(sid, room)
            for room in wanted - current:
                await self.sio.enter_room(sid, room)


class EventEmitter:
    """Emits events to Socket.IO rooms from any process, several at a time.

    Without Redis, straight to this process's sockets. With Redis, each batch (the events that
    left in one event-loop tick: a message's ``ticket.updated`` and ``message.created``, or a
    burst's) goes to this process's sockets directly and to every other process in one
    ``PUBLISH`` on the installation's events channel, instead of one publish per event through
    python-socketio's Redis manager. Every API process listens on that channel and emits what
    other processes sent to its own sockets, in the order sent; a worker only publishes.
    Clients receive the same events, one Socket.IO event each.
    """

    def __init__(self, sio: socketio.AsyncServer | None, settings: Settings) -> None:
        self.sio = sio
        self.channel = pubsub_channel(settings, "events")
        self.host_id = uuid.uuid4().hex
        self._redis: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._stopping = False
        if settings.redis.url:
            from nexus.redis_backend import connect_redis

            self._redis = connect_redis(settings)

    async def start(self) -> None:
        """Listen for other processes' events (API processes, with Redis)."""
        self._stopping = False
        if self._redis is not None and self.sio is not None and self._listener is None:
            ready = asyncio.get_running_loop().create_future()
            self._listener = asyncio.create_task(self._listen(ready), name="events-listener")
            # Subscribed before start-up goes on, so that nothing published after it is missed.
            await asyncio.wait([ready, self._listener], timeout=5, return_when=asyncio.FIRST_COMPLETED)

    async def close(self) -> None:
        self._stopping = True
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
                await asyncio.wait_for(self._listener, 5)
            self._listener = None
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()

    async def emit(self, event: str, data: Any, rooms: list[str]) -> None:
        await self.emit_many([(event, data, rooms)])

    async def emit_many(self, events: list[tuple[str, Any, list[str]]]) -> None:
        """Emit ``(event, payload, rooms)`` in order, here and, with Redis, in every process."""
        await self._emit_here(events)
        if self._redis is not None:
            await self._redis.publish(self.channel, self.host_id + "\n" + _Json.dumps(events))

    async def _emit_here(self, events: list[tuple[str, Any, list[str]]]) -> None:
        if self.sio is None:
            return
        for event, data, rooms in events:
            # The batch already went to the other processes: not again through the manager.
            await self.sio.emit(event, data, room=rooms, namespace=NAMESPACE, ignore_queue=True)

    async def _listen(self, ready: asyncio.Future[None]) -> None:
        prefix = (self.host_id + "\n").encode()

        async def handle(data: bytes) -> None:
            if data.startswith(prefix):
                return  # this process's own batch: already emitted
            try:
                _, _, body = data.partition(b"\n")
                events = [(str(name), payload, list(rooms)) for name, payload, rooms in _Json.loads(body)]
            except (ValueError, TypeError):
                logger.warning("events channel: a message that is no batch of events was ignored")
                return
            await self._emit_here(events)

        await listen(self._redis, self.channel, handle, lambda: self._stopping, "events channel", ready)


async def listen(redis: Any, channel: str, handle: Callable[[bytes], Awaitable[None]], stopping: Callable[[], bool],
                 name: str, ready: asyncio.Future[None] | None = None) -> None:
    """Hand each message published on ``channel`` to ``handle``, in order, until ``stopping()``;
    resubscribe when Redis goes away. ``ready`` is set once subscribed."""
    while not stopping():
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(channel)
            if ready is not None and not ready.done():
                ready.set_result(None)
            while not stopping():
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None and isinstance(message.get("data"), bytes):
                    await handle(message["data"])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - Redis went away: resubscribe
            if stopping():
                return
            logger.warning("%s: %s; resubscribing", name, exc)
            await asyncio.sleep(1)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
