"""Stored rows to the read-only views that the REST API, Socket.IO and plugin hooks share."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tortoise.exceptions import DoesNotExist

from nexus.db import models
from nexus.db.inbound_sql import contact_with_identities
from nexus.db.models import Direction
from nexus.types import AttachmentView, ContactView, DeliveryStatus, InboundMessage, MessageView, TicketView

TICKET_RELATED = ("channel", "contact")


def attachment_url(attachment_id: int) -> str:
    return f"/api/v1/attachments/{attachment_id}"


def identity_json(identity: models.ContactIdentity) -> dict:
    return {"id": identity.id, "channel_type": identity.channel_type, "address": identity.address,
            "display_name": identity.display_name, "profile": identity.profile or {}}


def build_contact_view(contact: models.Contact, identities: Sequence[models.ContactIdentity]) -> ContactView:
    return ContactView(
        id=contact.id, name=contact.name, identities=[identity_json(i) for i in identities],
        attributes=dict(contact.attributes or {}), created_at=contact.created_at,
        email=contact.email, phone=contact.phone,
    )


async def contact_views(contacts: Sequence[models.Contact]) -> list[ContactView]:
    identities: dict[int, list[models.ContactIdentity]] = defaultdict(list)
    if contacts:
        for row in await models.ContactIdentity.filter(contact_id__in=[c.id for c in contacts]).order_by("id"):
            identities[row.contact_id].append(row)
    return [build_contact_view(c, identities[c.id]) for c in contacts]


def build_ticket_view(ticket: models.Ticket, channel_name: str, channel_type: str, contact: ContactView,
                      labels: Sequence[str]) -> TicketView:
    return TicketView(
        id=ticket.id, status=str(ticket.status), priority=str(ticket.priority), subject=ticket.subject,
        channel=channel_name, channel_type=channel_type, contact=contact,
        assignee_id=ticket.assignee_id, team_id=ticket.team_id, labels=list(labels),
        snoozed_until=ticket.snoozed_until, first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at, last_message_at=ticket.last_message_at,
        created_at=ticket.created_at, updated_at=ticket.updated_at,
    )


def ticket_row_view(ticket: Mapping[str, Any], channel_name: str, channel_type: str, contact: ContactView,
                    labels: Sequence[str]) -> TicketView:
    """:func:`build_ticket_view` for a ticket read by hand-written SQL (its columns by name)."""
    return TicketView(
        id=ticket["id"], status=ticket["status"], priority=ticket["priority"], subject=ticket["subject"],
        channel=channel_name, channel_type=channel_type, contact=contact,
        assignee_id=ticket["assignee_id"], team_id=ticket["team_id"], labels=list(labels),
        snoozed_until=ticket["snoozed_until"], first_response_at=ticket["first_response_at"],
        resolved_at=ticket["resolved_at"], last_message_at=ticket["last_message_at"],
        created_at=ticket["created_at"], updated_at=ticket["updated_at"],
    )


async def ticket_views(tickets: Sequence[models.Ticket]) -> list[TicketView]:
    """Views of tickets fetched with ``select_related("channel", "contact")``."""
    if not tickets:
        return []
    labels: dict[int, list[str]] = defaultdict(list)
    for ticket_id, name in await models.TicketLabel.filter(ticket_id__in=[t.id for t in tickets]).order_by("name").values_list("ticket_id", "name"):
        labels[ticket_id].append(name)
    contacts = {c.id: c for c in await contact_views(list({t.contact_id: t.contact for t in tickets}.values()))}
    return [build_ticket_view(t, t.channel.name, t.channel.type, contacts[t.contact_id], labels[t.id]) for t in tickets]


async def ticket_view(ticket_id: int) -> TicketView:
    ticket = await models.Ticket.get(id=ticket_id).select_related(*TICKET_RELATED)
    return (await ticket_views([ticket]))[0]


def sender_json(identity: models.ContactIdentity | None) -> dict | None:
    if identity is None:
        return None
    return {"identity_id": identity.id, "contact_id": identity.contact_id, "address": identity.address,
            "display_name": identity.display_name}


def attachment_view(a: models.Attachment) -> AttachmentView:
    return AttachmentView(id=a.id, filename=a.filename, content_type=a.content_type, size=a.size,
                          url=attachment_url(a.id), content_id=a.content_id, note=a.note, inline=a.inline)


def build_message_view(m: models.Message, channel_name: str, sender: models.ContactIdentity | None,
                       attachments: Sequence[AttachmentView]) -> MessageView:
    inbound = m.direction == Direction.INBOUND
    return MessageView(
        id=m.id, ticket_id=m.ticket_id, channel=channel_name, direction=str(m.direction),
        private=m.private, author_id=m.author_id, sender=sender_json(sender), text=m.text, html=m.html,
        attachments=list(attachments), external_id=m.external_id, reply_to_id=m.reply_to_id,
        status=str(m.status), error_code=m.error_code, error_text=m.error_text,
        attempts=m.attempts, reactions=m.reactions or {}, metadata=m.metadata or {},
        auto_submitted=m.auto_submitted, created_at=m.created_at,
        # Inbound: when the contact sent it, by the provider's clock; outbound: when the
        # provider accepted it.
        sent_at=m.provider_timestamp if inbound else m.sent_at,
        delivered_at=m.delivered_at, read_at=m.read_at, edited_at=m.edited_at,
        received_at=m.created_at if inbound else None,
    )


def inbound_message_view(message_id: int, ticket_id: int, channel_name: str, sender: models.ContactIdentity,
                         message: InboundMessage, received: datetime, reply_to_id: int | None) -> MessageView:
    """The view of an inbound message without files just stored from ``message``: what
    :func:`build_message_view` gives for its row, without reading it back."""
    return MessageView(
        id=message_id, ticket_id=ticket_id, channel=channel_name, direction=str(Direction.INBOUND),
        private=False, author_id=None, sender=sender_json(sender), text=message.text, html=message.html,
        attachments=[], external_id=message.external_id, reply_to_id=reply_to_id,
        status=str(DeliveryStatus.RECEIVED), error_code=None, error_text=None, attempts=0, reactions={},
        metadata=dict(message.metadata), auto_submitted=message.auto_submitted, created_at=received,
        sent_at=message.sent_at, delivered_at=None, read_at=None, edited_at=None, received_at=received,
    )


async def message_views(messages: Sequence[models.Message]) -> list[MessageView]:
    """Views of messages fetched with ``select_related("channel", "sender")``."""
    if not messages:
        return []
    attachments: dict[int, list[AttachmentView]] = defaultdict(list)
    for a in await models.Attachment.filter(message_id__in=[m.id for m in messages]).order_by("id"):
        attachments[a.message_id].append(attachment_view(a))
    return [build_message_view(m, m.channel.name, m.sender if m.sender_id is not None else None, attachments[m.id])
            for m in messages]


async def message_view(message_id: int) -> MessageView:
    message = await models.Message.get(id=message_id).select_related("channel", "sender")
    return (await message_views([message]))[0]


class ContactViewCache:
    """Contact views for the events of the inbound pipeline, kept a few seconds: a burst from
    one contact then costs one lookup. A contact changed through this process's API is
    dropped at once; other processes' events may show the old name for up to ``ttl``."""

    def __init__(self, ttl: float = 5.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._views: dict[int, tuple[float, ContactView]] = {}

    async def get(self, contact_id: int) -> ContactView:
        cached = self.peek(contact_id)
        if cached is not None:
            return cached
        found = await contact_with_identities(contact_id)
        if found is None:
            raise DoesNotExist(f"contact {contact_id} does not exist")
        return self.put(*found)

    def peek(self, contact_id: int) -> ContactView | None:
        """The cached view, if it is fresh; reads nothing."""
        hit = self._views.get(contact_id)
        return hit[1] if hit is not None and time.monotonic() - hit[0] < self.ttl else None

    def put(self, contact: Mapping[str, Any], identities: Sequence[Mapping[str, Any]]) -> ContactView:
        """Cache (and return) the view of a contact read as rows (:mod:`nexus.db.inbound_sql`)."""
        view = ContactView(
            id=contact["id"], name=contact["name"], attributes=dict(contact["attributes"] or {}),
            identities=[{"id": i["id"], "channel_type": i["channel_type"], "address": i["address"],
                         "display_name": i["display_name"], "profile": i["profile"] or {}} for i in identities],
            created_at=contact["created_at"], email=contact["email"], phone=contact["phone"],
        )
        if len(self._views) >= self.size:
            self._views.clear()
        self._views[view.id] = (time.monotonic(), view)
        return view

    def remember(self, contact: models.Contact, identities: Sequence[models.ContactIdentity]) -> None:
        """A contact just created, with its identities: no need to read it back."""
        self._views[contact.id] = (time.monotonic(), build_contact_view(contact, identities))

    def forget(self, contact_id: int) -> None:
        self._views.pop(contact_id, None)
