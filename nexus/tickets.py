"""The ticket lifecycle: what agents (and plugins) do to tickets, with its rules.

Changes run in a transaction that locks the ticket's row, so an agent's change and an
arriving message never overwrite each other; events go out after the commit.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from nexus.capabilities import check_reply
from nexus.clock import now
from nexus.db import models
from nexus.db.models import Direction, Priority, Role, TicketStatus
from nexus.delivery.order import first_pending_of
from nexus.instances import ChannelSpec
from nexus.pipeline import active_key
from nexus.realtime import rooms_for_ticket
from nexus.storage import sha256_of
from nexus.types import DeliveryStatus, MessageView, TicketView
from nexus.views import message_view, ticket_view

if TYPE_CHECKING:
    from nexus.runtime import Nexus

logger = logging.getLogger("nexus.tickets")

EDITABLE = ("status", "priority", "assignee_id", "team_id", "labels", "snoozed_until", "subject")
LABEL = re.compile(r"^[\w][\w .:/+-]{0,99}$")
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+(?:\.[a-z_]+)?)\s*\}\}")


class TicketError(Exception):
    """A change that cannot be made, worded for the agent. ``status`` is the HTTP status."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class NewAttachment:
    filename: str
    content_type: str
    data: bytes


def visible_to(agent: models.Agent, team_ids: Sequence[int]) -> Q:
    """The tickets ``agent`` may see: admins all; agents their teams', their own, and the
    unassigned ones of no team."""
    if agent.role == Role.ADMIN:
        return Q()
    rule = Q(assignee_id=agent.id) | Q(team_id=None, assignee_id=None)
    if team_ids:
        rule |= Q(team_id__in=list(team_ids))
    return rule


class Tickets:
    def __init__(self, nexus: Nexus) -> None:
        self.nexus = nexus
        #: Team names already warned about as missing (for the log only).
        self._missing_teams: set[str] = set()

    # --- Visibility --------------------------------------------------------------------

    async def visibility(self, agent: models.Agent) -> Q:
        return visible_to(agent, await self.nexus.accounts.team_ids(agent.id))

    async def get_visible(self, agent: models.Agent, ticket_id: int) -> models.Ticket:
        ticket = await models.Ticket.filter(Q(id=ticket_id) & await self.visibility(agent)).first()
        if ticket is None:
            raise TicketError(404, "ticket_not_found", f"ticket {ticket_id} does not exist or is not visible to you")
        return ticket

    # --- Assignment --------------------------------------------------------------------

    async def default_team_id(self, spec: ChannelSpec, conn: BaseDBAsyncClient | None = None) -> int | None:
        """The id of the team that new tickets of ``spec`` go to, read in the caller's
        transaction, with the team's row locked until it commits (a concurrent delete waits,
        then clears the new ticket's team). No process keeps a copy, so a team deleted,
        renamed or recreated through any API process counts at once in every other."""
        if not spec.team:
            return None
        team = await models.Team.filter(name=spec.team).using_db(conn).select_for_update().first()
        if team is None:
            if spec.team not in self._missing_teams:
                self._missing_teams.add(spec.team)
                logger.warning("channel %r: team %r does not exist; new tickets get no team", spec.name, spec.team)
            return None
        self._missing_teams.discard(spec.team)
        return team.id

    async def next_round_robin_agent(self, team_id: int, conn: BaseDBAsyncClient) -> int | None:
        """The next available member of an auto-assigning team, in turn. The team's row lock
        makes concurrent assignments take distinct turns."""
        team = await models.Team.filter(id=team_id).using_db(conn).select_for_update().first()
        if team is None or not team.auto_assign:
            return None
        members = await models.Agent.filter(
            teams__id=team_id, is_active=True, available=True
        ).using_db(conn).order_by("id").values_list("id", flat=True)
        if not members:
            return None
        last = team.last_assigned_agent_id
        later = [agent_id for agent_id in members if last is None or agent_id > last]
        chosen = later[0] if later else members[0]
        await models.Team.filter(id=team_id).using_db(conn).update(last_assigned_agent_id=chosen)
        return chosen

    # --- Changes -----------------------------------------------------------------------

    async def update(self, ticket_id: int, changes: Mapping[str, Any], *, actor: models.Agent | None = None) -> TicketView:
        """Apply ``changes`` (a subset of :data:`EDITABLE`). Raises :class:`TicketError`."""
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            name = sorted(unknown)[0]
            raise TicketError(422, "unknown_field", f"{name!r} cannot be changed", name)
        clean = await self._validate(changes)
        if actor is not None:
            await self.get_visible(actor, ticket_id)

        for attempt in range(3):
            try:
                async with in_transaction() as conn:
                    ticket = await models.Ticket.filter(id=ticket_id).using_db(conn).select_for_update().first()
                    if ticket is None:
                        raise TicketError(404, "ticket_not_found", f"ticket {ticket_id} does not exist")
                    before_rooms = rooms_for_ticket(ticket.team_id, ticket.assignee_id)
                    previous = await self._apply(conn, ticket, clean)
                break
            except IntegrityError:
                # Another ticket took the contact's active key meanwhile: run again, and this
                # ticket reopens without it.
                if attempt == 2:
                    raise

        view = await ticket_view(ticket_id)
        if previous:
            self.nexus.events.ticket_updated(view, previous, before_rooms)
        return view

    async def _validate(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "status":
                try:
                    clean[name] = TicketStatus(value)
                except ValueError:
                    raise TicketError(422, "invalid_status", f"status must be one of {', '.join(s.value for s in TicketStatus)}", name) from None
            elif name == "priority":
                try:
                    clean[name] = Priority(value)
                except ValueError:
                    raise TicketError(422, "invalid_priority", f"priority must be one of {', '.join(p.value for p in Priority)}", name) from None
            elif name == "assignee_id":
                if value is not None and not await models.Agent.exists(id=value, is_active=True):
                    raise TicketError(422, "unknown_agent", f"there is no active agent {value}", name)
                clean[name] = value
            elif name == "team_id":
                if value is not None and not await models.Team.exists(id=value):
                    raise TicketError(422, "unknown_team", f"there is no team {value}", name)
                clean[name] = value
            elif name == "labels":
                if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                    raise TicketError(422, "invalid_labels", "labels must be a list of strings", name)
                labels = []
                for label in value:
                    label = label.strip()
                    if not LABEL.match(label):
                        raise TicketError(422, "invalid_label", f"{label!r} is not a valid label (letters, digits, ' .:/+-', up to 100)", name)
                    if label not in labels:
                        labels.append(label)
                clean[name] = labels
            elif name == "snoozed_until":
                if value is not None:
                    if not isinstance(value, datetime):
                        raise TicketError(422, "invalid_snoozed_until", "snoozed_until must be a date-time", name)
                    if value.tzinfo is None:
                        value = value.replace(tzinfo=UTC)
                    if value <= now():
                        raise TicketError(422, "snooze_in_past", "snoozed_until must be in the future", name)
                clean[name] = value
            elif name == "subject":
                clean[name] = (str(value).strip()[:500] or None) if value is not None else None
        if clean.get("snoozed_until") and "status" not in clean:
            clean["status"] = TicketStatus.SNOOZED
        if clean.get("status") == TicketStatus.SNOOZED and not clean.get("snoozed_until"):
            raise TicketError(422, "snooze_needs_time", "a snoozed ticket needs snoozed_until", "snoozed_until")
        return clean

    async def _apply(self, conn: BaseDBAsyncClient, ticket: models.Ticket, clean: dict[str, Any]) -> dict[str, Any]:
        """Change the locked ``ticket``; returns the previous values of what changed."""
        previous: dict[str, Any] = {}
        fields: set[str] = set()

        def change(name: str, value: Any) -> None:
            old = getattr(ticket, name)
            if old != value:
                previous[name] = str(old) if isinstance(old, (TicketStatus, Priority)) else old
                setattr(ticket, name, value)
                fields.add(name)

        status = clean.get("status")
        if status is not None and status != ticket.status:
            change("status", status)
            if status == TicketStatus.RESOLVED:
                change("resolved_at", now())
                change("active_key", None)
                change("snoozed_until", None)
            else:
                if ticket.active_key is None and ticket.status == TicketStatus.RESOLVED:
                    # Reopened: it takes the contact's active key unless another ticket has it.
                    key = active_key(ticket.contact_id, ticket.channel_id)
                    if not await models.Ticket.filter(active_key=key).using_db(conn).exists():
                        change("active_key", key)
                change("resolved_at", None)
                if status != TicketStatus.SNOOZED:
                    change("snoozed_until", None)
        if "snoozed_until" in clean and (clean.get("status") or ticket.status) == TicketStatus.SNOOZED:
            change("snoozed_until", clean["snoozed_until"])
        for name in ("priority", "assignee_id", "team_id", "subject"):
            if name in clean:
                change(name, clean[name])
        if "team_id" in previous and clean.get("team_id") is not None and "assignee_id" not in clean and ticket.assignee_id is None:
            chosen = await self.next_round_robin_agent(clean["team_id"], conn)
            if chosen is not None:
                change("assignee_id", chosen)
        if fields:
            fields.add("updated_at")
            await ticket.save(using_db=conn, update_fields=sorted(fields))
        if "labels" in clean:
            old = sorted(await models.TicketLabel.filter(ticket_id=ticket.id).using_db(conn).values_list("name", flat=True))
            new = clean["labels"]
            if sorted(new) != old:
                await models.TicketLabel.filter(ticket_id=ticket.id, name__not_in=new).using_db(conn).delete()
                for label in new:
                    if label not in old:
                        await models.TicketLabel.create(ticket_id=ticket.id, name=label, using_db=conn)
                previous["labels"] = old
                await models.Ticket.filter(id=ticket.id).using_db(conn).update(updated_at=now())
        return previous

    async def wake_due(self) -> int:
        """Reopen snoozed tickets whose time has come. Safe to run in every process: the
        conditional update lets exactly one process wake each ticket."""
        due = await models.Ticket.filter(status=TicketStatus.SNOOZED, snoozed_until__lte=now()).values_list("id", "snoozed_until")
        woken = 0
        for ticket_id, until in due:
            updated = await models.Ticket.filter(
                id=ticket_id, status=TicketStatus.SNOOZED, snoozed_until__lte=now()
            ).update(status=TicketStatus.OPEN, snoozed_until=None, updated_at=now())
            if updated:
                woken += 1
                self.nexus.events.ticket_updated(
                    await ticket_view(ticket_id), {"status": "snoozed", "snoozed_until": until}
                )
        return woken

    async def run_snooze_waker(self) -> None:
        interval = self.nexus.settings.tickets.snooze_check_interval
        while True:
            try:
                await self.wake_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - try again next round
                logger.exception("waking snoozed tickets failed")
            await asyncio.sleep(interval)

    # --- Messages ----------------------------------------------------------------------

    async def add_note(self, ticket_id: int, text: str, *, author: models.Agent | None) -> MessageView:
        if not text or not text.strip():
            raise TicketError(422, "empty_note", "a note needs some text", "text")
        ticket = await models.Ticket.get_or_none(id=ticket_id)
        if ticket is None:
            raise TicketError(404, "ticket_not_found", f"ticket {ticket_id} does not exist")
        note = await models.Message.create(
            ticket_id=ticket.id, channel_id=ticket.channel_id, direction=Direction.OUTBOUND, private=True,
            author_id=author.id if author else None, text=text, status=DeliveryStatus.STORED,
            status_changed_at=now(),
        )
        view = await message_view(note.id)
        self.nexus.events.message_created(view, await ticket_view(ticket.id), received=False)
        return view

    async def reply(
        self,
        ticket_id: int,
        text: str,
        *,
        author: models.Agent | None,
        html: str | None = None,
        attachments: Sequence[NewAttachment] = (),
        reply_to_id: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        automatic: bool = False,
    ) -> MessageView:
        """Queue a reply. It is committed as ``queued`` before this returns, then delivered by
        a worker; the returned view is what the API's 202 stands for."""
        if not (text and text.strip()) and not attachments and not (metadata or {}).get("template"):
            raise TicketError(422, "empty_reply", "a reply needs a text, an attachment or a template", "text")
        ticket = await models.Ticket.get_or_none(id=ticket_id).select_related("channel")
        if ticket is None:
            raise TicketError(404, "ticket_not_found", f"ticket {ticket_id} does not exist")
        runtime = self.nexus.channels.get(ticket.channel.name)
        if runtime is None:
            raise TicketError(409, "channel_not_configured", f"channel {ticket.channel.name!r} is no longer configured; the reply cannot be sent", "ticket")
        if problem := await check_reply(runtime, ticket, text=text, attachments=attachments, metadata=metadata):
            raise TicketError(422, problem.code, problem.message, problem.field)
        if automatic:
            last_inbound = await models.Message.filter(ticket_id=ticket_id, direction=Direction.INBOUND).order_by("-id").first()
            if last_inbound is not None and last_inbound.auto_submitted:
                raise TicketError(409, "auto_submitted", "the contact's last message was sent automatically "
                                  "(an auto-reply, a bounce or bulk mail); automatic replies to it would loop", "ticket")
        if reply_to_id is not None and not await models.Message.exists(id=reply_to_id, ticket_id=ticket_id):
            raise TicketError(422, "unknown_reply_to", f"message {reply_to_id} is not in ticket {ticket_id}", "reply_to_id")
        limit = self.nexus.settings.storage.max_attachment_size
        for attachment in attachments:
            if len(attachment.data) > limit:
                raise TicketError(413, "attachment_too_large", f"{attachment.filename} is larger than {limit} bytes", "attachments")

        keys = [await self.nexus.storage.save(a.data, a.filename) for a in attachments]
        digests = [await sha256_of(a.data) for a in attachments]  # before the row lock is taken
        first_response = False
        try:
            async with in_transaction() as conn:
                locked = await models.Ticket.filter(id=ticket_id).using_db(conn).select_for_update().first()
                assert locked is not None
                message = await models.Message.create(
                    ticket_id=ticket_id, channel_id=locked.channel_id, direction=Direction.OUTBOUND,
                    author_id=author.id if author else None, text=text, html=html,
                    reply_to_id=reply_to_id, status=DeliveryStatus.QUEUED, status_changed_at=now(),
                    auto_submitted=automatic, metadata=dict(metadata or {}), using_db=conn,
                )
                for attachment, key, digest in zip(attachments, keys, digests, strict=True):
                    await models.Attachment.create(
                        message_id=message.id, filename=attachment.filename[:255],
                        content_type=attachment.content_type[:255], size=len(attachment.data),
                        storage_key=key, sha256=digest, using_db=conn,
                    )
                fields = ["last_message_at", "updated_at"]
                locked.last_message_at = now()
                if locked.first_response_at is None and author is not None and not automatic:
                    locked.first_response_at = now()
                    fields.append("first_response_at")
                    first_response = True
                await locked.save(using_db=conn, update_fields=fields)
        except BaseException:
            for key in keys:
                await self.nexus.storage.delete(key)
            raise

        # Only the first pending reply of a ticket gets a job: each one hands over to the next
        # when it is done, which keeps the order without jobs that wait.
        if await first_pending_of(ticket_id) == message.id:
            await self.nexus.delivery.enqueue(message.id)
        view = await message_view(message.id)
        tview = await ticket_view(ticket_id)
        if first_response:
            self.nexus.events.ticket_updated(tview, {"first_response_at": None})
        self.nexus.events.message_created(view, tview, received=False)
        return view

    # --- Canned responses --------------------------------------------------------------

    async def render_canned(self, canned: models.CannedResponse, ticket_id: int, agent: models.Agent | None) -> str:
        """The canned response's body with ``{{contact.name}}``, ``{{agent.name}}``,
        ``{{ticket.id}}`` and the like filled in."""
        ticket = await models.Ticket.get(id=ticket_id).select_related("contact", "identity", "channel")
        values = {
            "contact.name": ticket.contact.name or ticket.identity.display_name or "",
            "contact.first_name": (ticket.contact.name or ticket.identity.display_name or "").split(" ")[0],
            "contact.email": ticket.contact.email or "",
            "contact.phone": ticket.contact.phone or "",
            "agent.name": agent.name if agent else "",
            "agent.email": agent.email if agent else "",
            "ticket.id": str(ticket.id),
            "ticket.subject": ticket.subject or "",
            "channel.name": ticket.channel.name,
        }
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), canned.body)
