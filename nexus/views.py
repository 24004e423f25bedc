"""Stored rows to the read-only views that the REST API, Socket.IO and plugin hooks share."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from nexus.db import models
from nexus.types import AttachmentView, ContactView, MessageView, TicketView

TICKET_RELATED = ("channel", "contact")


def attachment_url(attachment_id: int) -> str:
    return f"/api/v1/attachments/{attachment_id}"


async def contact_views(contacts: Sequence[models.Contact]) -> list[ContactView]:
    identities: dict[int, list[dict]] = defaultdict(list)
    if contacts:
        rows = await models.ContactIdentity.filter(contact_id__in=[c.id for c in contacts]).order_by("id")
        for row in rows:
            identities[row.contact_id].append({
                "id": row.id,
                "channel_type": row.channel_type,
                "address": row.address,
                "display_name": row.display_name,
                "profile": row.profile or {},
            })
    return [
        ContactView(
            id=c.id, name=c.name, identities=identities[c.id],
            attributes={"email": c.email, "phone": c.phone, **(c.attributes or {})},
            created_at=c.created_at,
        )
        for c in contacts
    ]


async def ticket_views(tickets: Sequence[models.Ticket]) -> list[TicketView]:
    """Views of tickets fetched with ``select_related("channel", "contact")``."""
    if not tickets:
        return []
    labels: dict[int, list[str]] = defaultdict(list)
    for ticket_id, name in await models.TicketLabel.filter(ticket_id__in=[t.id for t in tickets]).order_by("name").values_list("ticket_id", "name"):
        labels[ticket_id].append(name)
    contacts = {c.id: c for c in await contact_views(list({t.contact_id: t.contact for t in tickets}.values()))}
    return [
        TicketView(
            id=t.id, status=str(t.status), priority=str(t.priority), subject=t.subject,
            channel=t.channel.name, channel_type=t.channel.type, contact=contacts[t.contact_id],
            assignee_id=t.assignee_id, team_id=t.team_id, labels=labels[t.id],
            snoozed_until=t.snoozed_until, first_response_at=t.first_response_at,
            resolved_at=t.resolved_at, last_message_at=t.last_message_at,
            created_at=t.created_at, updated_at=t.updated_at,
        )
        for t in tickets
    ]


async def ticket_view(ticket_id: int) -> TicketView:
    ticket = await models.Ticket.get(id=ticket_id).select_related(*TICKET_RELATED)
    return (await ticket_views([ticket]))[0]


async def message_views(messages: Sequence[models.Message]) -> list[MessageView]:
    """Views of messages fetched with ``select_related("channel", "sender")``."""
    if not messages:
        return []
    attachments: dict[int, list[AttachmentView]] = defaultdict(list)
    for a in await models.Attachment.filter(message_id__in=[m.id for m in messages]).order_by("id"):
        attachments[a.message_id].append(AttachmentView(
            id=a.id, filename=a.filename, content_type=a.content_type, size=a.size,
            url=attachment_url(a.id), content_id=a.content_id, note=a.note,
        ))
    views = []
    for m in messages:
        sender = None
        if m.sender_id is not None and m.sender is not None:
            sender = {"identity_id": m.sender.id, "contact_id": m.sender.contact_id,
                      "address": m.sender.address, "display_name": m.sender.display_name}
        views.append(MessageView(
            id=m.id, ticket_id=m.ticket_id, channel=m.channel.name, direction=str(m.direction),
            private=m.private, author_id=m.author_id, sender=sender, text=m.text, html=m.html,
            attachments=attachments[m.id], external_id=m.external_id, reply_to_id=m.reply_to_id,
            status=str(m.status), error_code=m.error_code, error_text=m.error_text,
            attempts=m.attempts, reactions=m.reactions or {}, metadata=m.metadata or {},
            auto_submitted=m.auto_submitted, created_at=m.created_at, sent_at=m.sent_at,
            delivered_at=m.delivered_at, read_at=m.read_at, edited_at=m.edited_at,
        ))
    return views


async def message_view(message_id: int) -> MessageView:
    message = await models.Message.get(id=message_id).select_related("channel", "sender")
    return (await message_views([message]))[0]
