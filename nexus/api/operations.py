"""What operators watch: channels, deliveries and attachments."""

from __future__ import annotations

import mimetypes
from urllib.parse import quote

from quart import Blueprint, Response, jsonify
from quart_schema import document_response, tag, validate_querystring
from tortoise.expressions import Q, Subquery

from nexus.api.access import (
    admin_required,
    agent_required,
    current_agent,
    decode_cursor,
    encode_cursor,
)
from nexus.api.schemas import (
    ChannelList,
    DeliveryQuery,
    InboundEventOut,
    InboundEventPage,
    InboundEventQuery,
    MessagePage,
)
from nexus.capabilities import channel_profile
from nexus.db import models
from nexus.inbox import event_json
from nexus.mime import safe_content_type
from nexus.types import to_json
from nexus.views import message_views
from nexus.web.apidocs import responds
from nexus.web.context import current_nexus
from nexus.web.errors import ApiError

blueprint = Blueprint("operations", __name__)
operations_tag = tag(["operations"])


@blueprint.get("/channels")
@agent_required
@operations_tag
@document_response(ChannelList)
async def list_channels() -> Response:
    """The configured channel instances with their plugin, state and last error.

    As the processes running them last reported.
    """
    nexus = current_nexus()
    here = {status["name"]: status for status in nexus.channels.status()}
    items = []
    for row in await models.Channel.all().order_by("name"):
        local = here.get(row.name, {})
        items.append({
            "name": row.name, "type": row.type, "plugin": row.plugin, "enabled": row.enabled,
            "state": row.state, "error": row.last_error,
            "last_error_at": row.last_error_at.isoformat() if row.last_error_at else None,
            "next_start_at": local.get("next_start_at"),
            "details": local.get("details") or row.details or {},
            **channel_profile(nexus.channels.get(row.name)),
        })
    return jsonify({"items": items})


@blueprint.get("/deliveries")
@admin_required
@operations_tag
@validate_querystring(DeliveryQuery)
@document_response(MessagePage)
async def list_deliveries(query_args: DeliveryQuery) -> Response:
    """Replies by delivery status, newest first; by default the failed ones, with the reason.

    The reason is the provider's code and text.
    """
    query = models.Message.filter(direction="outbound", private=False, status=query_args.status)
    if query_args.channel:
        query = query.filter(channel__name=query_args.channel)
    if query_args.cursor:
        (last_id,) = decode_cursor(query_args.cursor, "id")
        query = query.filter(id__lt=last_id)
    rows = await query.select_related("channel", "sender").order_by("-id").limit(query_args.limit + 1)
    more = len(rows) > query_args.limit
    rows = rows[: query_args.limit]
    return jsonify({"items": to_json(await message_views(rows)),
                    "next_cursor": encode_cursor(rows[-1].id) if more and rows else None})


@blueprint.get("/attachments/<id:attachment_id>")
@agent_required
@tag(["tickets"])
@responds(200)
async def download_attachment(attachment_id: int) -> Response:
    """Download an attachment's file, for agents who may see its ticket."""
    nexus = current_nexus()
    tickets = models.Ticket.filter(await nexus.tickets.visibility(current_agent())).values("id")
    attachment = await models.Attachment.filter(
        Q(id=attachment_id) & Q(message__ticket_id__in=Subquery(tickets))
    ).first()
    if attachment is None:
        raise ApiError(404, "attachment_not_found", f"attachment {attachment_id} does not exist or is not visible to you")
    if not attachment.storage_key:
        raise ApiError(404, "attachment_not_stored", attachment.note or "this attachment was not stored")
    try:
        data = await nexus.storage.load(attachment.storage_key)
    except FileNotFoundError:
        raise ApiError(404, "attachment_missing", "the stored file is missing") from None
    content_type = safe_content_type(attachment.content_type or mimetypes.guess_type(attachment.filename)[0])
    response = Response(data, content_type=content_type)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(attachment.filename)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.get("/inbound-events")
@admin_required
@operations_tag
@validate_querystring(InboundEventQuery)
@document_response(InboundEventPage)
async def list_inbound_events(query_args: InboundEventQuery) -> Response:
    """Raw webhook payloads stored before processing, newest first; by default the failed ones.

    Each failed payload carries the error that stopped it.
    """
    query = models.InboundEvent.filter(status=query_args.status)
    if query_args.channel:
        query = query.filter(channel__name=query_args.channel)
    if query_args.cursor:
        (last_id,) = decode_cursor(query_args.cursor, "id")
        query = query.filter(id__lt=last_id)
    rows = await query.select_related("channel").order_by("-id").limit(query_args.limit + 1)
    more = len(rows) > query_args.limit
    rows = rows[: query_args.limit]
    return jsonify({"items": [event_json(row) for row in rows],
                    "next_cursor": encode_cursor(rows[-1].id) if more and rows else None})


async def _event(event_id: int) -> models.InboundEvent:
    row = await models.InboundEvent.get_or_none(id=event_id).select_related("channel")
    if row is None:
        raise ApiError(404, "inbound_event_not_found", f"inbound event {event_id} does not exist")
    return row


@blueprint.get("/inbound-events/<id:event_id>")
@admin_required
@operations_tag
@document_response(InboundEventOut)
async def get_inbound_event(event_id: int) -> Response:
    """One stored webhook payload, with its raw body and headers."""
    return jsonify(event_json(await _event(event_id), with_payload=True))


@blueprint.post("/inbound-events/<id:event_id>/replay")
@admin_required
@operations_tag
@responds(409)
@document_response(InboundEventOut)
async def replay_inbound_event(event_id: int) -> Response:
    """Process a stored payload again, after fixing its cause; duplicates are absorbed."""
    row = await _event(event_id)
    if row.status == "processed":
        raise ApiError(409, "already_processed", f"inbound event {event_id} was processed")
    if row.status == "ignored":
        raise ApiError(409, "ignored_event", f"inbound event {event_id} was kept aside on purpose ({row.error}); "
                                             "there is nothing to process again")
    await current_nexus().inbox.replay(event_id)
    return jsonify(event_json(await _event(event_id)))
