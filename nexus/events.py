"""Publishing what changed: Socket.IO events to the rooms that may see them, and the event
hooks of plugins.

Everything here runs after the change is committed. Events of one process go out in the order
they were published, from one background task, so a webhook's acknowledgement or an API
response never waits for the fan-out; the events that queue up while one batch is sent (an
inbound message's ``ticket.updated`` and ``message.created``, a burst's) leave as the next
batch, which crosses to the other processes as one Redis message. Plugin hooks run in their own tasks, so a slow plugin
delays nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nexus.realtime import EventEmitter, rooms_for_ticket
from nexus.types import MessageView, TicketView, to_json

if TYPE_CHECKING:
    from nexus.runtime import Nexus

logger = logging.getLogger("nexus.events")

#: The most events that leave in one batch (one Redis message).
BATCH = 100


@dataclass
class Event:
    name: str
    payload: Any
    rooms: list[str]
    hook: str | None = None
    hook_kwargs: dict[str, Any] = field(default_factory=dict)


class Events:
    def __init__(self, nexus: Nexus, emitter: EventEmitter) -> None:
        self.nexus = nexus
        self.emitter = emitter
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._consumer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.emitter.start()
        self._consumer = asyncio.create_task(self._consume(), name="events")

    async def stop(self, timeout: float = 5.0) -> None:
        if self._consumer is not None:
            await self._queue.put(None)
            try:
                await asyncio.wait_for(asyncio.shield(self._consumer), timeout)
            except TimeoutError:
                self._consumer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._consumer
            self._consumer = None
        await self.emitter.close()

    def publish(self, event: Event) -> None:
        if self._consumer is None or self._consumer.done():
            # No consumer (a CLI command, or shutting down): deliver in the background anyway.
            self.nexus.spawn(self._deliver([event]), name=f"event-{event.name}")
        else:
            self._queue.put_nowait(event)

    async def idle(self) -> None:
        """Wait until every event published so far has been handed to Socket.IO."""
        await self._queue.join()

    async def _consume(self) -> None:
        """Deliver events in the order published; those that queued up meanwhile (in the
        same event-loop tick, or while the last batch was being sent) leave together."""
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            events = [event for event in batch if event is not None]
            try:
                if events:
                    await self._deliver(events)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if len(events) < len(batch):
                return

    async def _deliver(self, events: list[Event]) -> None:
        try:
            await self.emitter.emit_many([(event.name, event.payload, event.rooms) for event in events])
        except Exception:  # noqa: BLE001 - Redis hiccup: the change itself is committed
            logger.exception("could not emit %s", ", ".join(sorted({event.name for event in events})))
        for event in events:
            if event.hook and self.nexus.implements(event.hook):
                self.nexus.spawn(self.nexus.call_hook(event.hook, **event.hook_kwargs), name=event.hook)

    # --- What the rest of the host publishes -------------------------------------------

    def ticket_created(self, ticket: TicketView) -> None:
        self.publish(Event(
            "ticket.created", to_json(ticket), rooms_for_ticket(ticket.team_id, ticket.assignee_id),
            "nexus_ticket_created", {"ticket": ticket},
        ))

    def ticket_updated(
        self, ticket: TicketView, changes: Mapping[str, Any], previous_rooms: list[str] | None = None
    ) -> None:
        """``changes`` maps each changed field to its previous value. Agents who could see the
        ticket before the change hear about it too, so their view drops it."""
        rooms = rooms_for_ticket(ticket.team_id, ticket.assignee_id)
        for room in previous_rooms or ():
            if room not in rooms:
                rooms.append(room)
        payload = to_json(ticket) | {"changes": to_json(dict(changes))}
        self.publish(Event(
            "ticket.updated", payload, rooms,
            "nexus_ticket_updated", {"ticket": ticket, "changes": dict(changes)},
        ))

    def message_created(self, message: MessageView, ticket: TicketView, *, received: bool) -> None:
        hook = "nexus_message_received" if received else None
        self.publish(Event(
            "message.created", to_json(message), rooms_for_ticket(ticket.team_id, ticket.assignee_id),
            hook, {"message": message, "ticket": ticket},
        ))

    def message_updated(self, message: MessageView, team_id: int | None, assignee_id: int | None,
                        hook: str | None = None) -> None:
        self.publish(Event(
            "message.updated", to_json(message), rooms_for_ticket(team_id, assignee_id),
            hook, {"message": message},
        ))
