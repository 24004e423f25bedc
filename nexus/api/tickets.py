"""Tickets and their conversations."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from quart import Blueprint, Response, jsonify
from quart_schema import document_response, validate_querystring, validate_request
from tortoise.expressions import Q, Subquery

from nexus.api.access import agent_required, current_agent, decode_cursor, encode_cursor
from nexus.api.schemas import MessageIn, MessagePage, MessageQuery, TicketPage, TicketPatch, TicketQuery
from nexus.db import models
from nexus.search import InvalidCursor, Page, in_order
from nexus.tickets import NewAttachment
from nexus.types import MessageView, TicketView, to_json
from nexus.views import TICKET_RELATED, message_view, message_views, ticket_view, ticket_views
from nexus.web.context import current_nexus
from nexus.web.errors import ApiError

blueprint = Blueprint("tickets", __name__)


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ApiError(422, "invalid_request", f"{name}: must be a number, 'me' or 'none'", {"field": name}) from None


async def search_page(search: Any, query: Any, within: Any) -> Page:
    """A page of ``search`` (tickets or contacts) for the ``q``, ``sort``, ``limit`` and
    ``cursor`` of ``query``."""
    try:
        return await search(query.q, within, sort=query.sort, limit=query.limit, cursor=query.cursor)
    except InvalidCursor:
        raise ApiError(400, "invalid_cursor", "cursor is not one this API returned") from None


async def ticket_filters(query: TicketQuery) -> Q:
    agent = current_agent()
    rule = await current_nexus().tickets.visibility(agent)
    if query.status:
        statuses = [s.strip() for s in query.status.split(",") if s.strip()]
        bad = [s for s in statuses if s not in ("open", "pending", "snoozed", "resolved")]
        if bad:
            raise ApiError(422, "invalid_request", f"status: unknown status {bad[0]!r}", {"field": "status"})
        rule &= Q(status__in=statuses)
    if query.assignee:
        if query.assignee == "me":
            rule &= Q(assignee_id=agent.id)
        elif query.assignee == "none":
            rule &= Q(assignee_id=None)
        else:
            rule &= Q(assignee_id=_int(query.assignee, "assignee"))
    if query.team:
        rule &= Q(team_id=None) if query.team == "none" else Q(team_id=_int(query.team, "team"))
    if query.channel:
        rule &= Q(channel__name=query.channel)
    if query.priority:
        rule &= Q(priority=query.priority)
    if query.label:
        rule &= Q(id__in=Subquery(models.TicketLabel.filter(name=query.label).values("ticket_id")))
    return rule


@blueprint.get("/tickets")
@validate_querystring(TicketQuery)
@document_response(TicketPage)
@agent_required
async def list_tickets(query_args: TicketQuery) -> Response:
    """Tickets the agent may see, most recent activity first, filtered and cursor-paginated."""
    rule = await ticket_filters(query_args)
    if query_args.q and query_args.q.strip():
        found = await search_page(current_nexus().search.tickets, query_args, models.Ticket.filter(rule))
        rows = in_order(await models.Ticket.filter(id__in=found.ids).select_related(*TICKET_RELATED), found.ids)
        return jsonify({"items": to_json(await ticket_views(rows)), "next_cursor": found.next_cursor})
    if query_args.cursor:
        stamp, last_id = decode_cursor(query_args.cursor, 2)
        try:
            when = datetime.fromisoformat(stamp)
        except (TypeError, ValueError):
            raise ApiError(400, "invalid_cursor", "cursor is not one this API returned") from None
        rule &= Q(last_message_at__lt=when) | Q(last_message_at=when, id__lt=int(last_id))
    rows = await models.Ticket.filter(rule).select_related(*TICKET_RELATED).order_by(
        "-last_message_at", "-id"
    ).limit(query_args.limit + 1)
    more = len(rows) > query_args.limit
    rows = rows[: query_args.limit]
    cursor = encode_cursor(rows[-1].last_message_at.isoformat(), rows[-1].id) if more and rows else None
    return jsonify({"items": to_json(await ticket_views(rows)), "next_cursor": cursor})


@blueprint.get("/tickets/<int:ticket_id>")
@document_response(TicketView)
@agent_required
async def get_ticket(ticket_id: int) -> Response:
    await current_nexus().tickets.get_visible(current_agent(), ticket_id)
    return jsonify(to_json(await ticket_view(ticket_id)))


@blueprint.patch("/tickets/<int:ticket_id>")
@validate_request(TicketPatch)
@document_response(TicketView)
@agent_required
async def patch_ticket(ticket_id: int, data: TicketPatch) -> Response:
    """Change status, priority, assignee, team, labels, snooze or subject. Only the fields
    sent are changed; send null to clear assignee, team or snooze."""
    changes = data.model_dump(exclude_unset=True)
    view = await current_nexus().tickets.update(ticket_id, changes, actor=current_agent())
    return jsonify(to_json(view))


@blueprint.get("/tickets/<int:ticket_id>/messages")
@validate_querystring(MessageQuery)
@document_response(MessagePage)
@agent_required
async def list_messages(ticket_id: int, query_args: MessageQuery) -> Response:
    """The conversation, oldest first (``order=desc`` for newest first), with private notes."""
    await current_nexus().tickets.get_visible(current_agent(), ticket_id)
    query = models.Message.filter(ticket_id=ticket_id)
    if query_args.cursor:
        (last_id,) = decode_cursor(query_args.cursor, 1)
        query = query.filter(id__gt=int(last_id)) if query_args.order == "asc" else query.filter(id__lt=int(last_id))
    rows = await query.select_related("channel", "sender").order_by(
        "id" if query_args.order == "asc" else "-id"
    ).limit(query_args.limit + 1)
    more = len(rows) > query_args.limit
    rows = rows[: query_args.limit]
    cursor = encode_cursor(rows[-1].id) if more and rows else None
    return jsonify({"items": to_json(await message_views(rows)), "next_cursor": cursor})


def _attachments(data: MessageIn) -> list[NewAttachment]:
    files = []
    for index, item in enumerate(data.attachments):
        try:
            content = base64.b64decode(item.data, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(422, "invalid_request", f"attachments.{index}.data: not valid base64",
                           {"field": f"attachments.{index}.data"}) from None
        files.append(NewAttachment(item.filename, item.content_type, content))
    return files


@blueprint.post("/tickets/<int:ticket_id>/messages")
@validate_request(MessageIn)
@document_response(MessageView, 202)
@agent_required
async def post_message(ticket_id: int, data: MessageIn) -> tuple[Response, int]:
    """Reply to the contact (202: queued for delivery) or add a private note (201)."""
    nexus = current_nexus()
    agent = current_agent()
    await nexus.tickets.get_visible(agent, ticket_id)
    body = data.body or ""
    if data.canned_response_id is not None:
        canned = await models.CannedResponse.get_or_none(id=data.canned_response_id)
        if canned is None:
            raise ApiError(422, "unknown_canned_response", f"there is no canned response {data.canned_response_id}",
                           {"field": "canned_response_id"})
        body = await nexus.tickets.render_canned(canned, ticket_id, agent)
    if data.private:
        if data.attachments or data.template:
            raise ApiError(422, "invalid_request", "private: notes carry text only", {"field": "private"})
        view = await nexus.tickets.add_note(ticket_id, body, author=agent)
        return jsonify(to_json(view)), 201
    metadata: dict[str, Any] = {"template": data.template} if data.template else {}
    view = await nexus.tickets.reply(
        ticket_id, body, author=agent, html=data.html, attachments=_attachments(data),
        reply_to_id=data.reply_to_id, metadata=metadata,
    )
    return jsonify(to_json(view)), 202


@blueprint.post("/messages/<int:message_id>/retry")
@document_response(MessageView, 202)
@agent_required
async def retry_message(message_id: int) -> tuple[Response, int]:
    """Send a failed reply again, with a fresh attempt budget."""
    nexus = current_nexus()
    message = await models.Message.get_or_none(id=message_id)
    if message is None:
        raise ApiError(404, "message_not_found", f"message {message_id} does not exist")
    await nexus.tickets.get_visible(current_agent(), message.ticket_id)
    if not await nexus.delivery.retry(message_id):
        raise ApiError(409, "not_failed", f"message {message_id} is {message.status}; only failed replies can be retried")
    return jsonify(to_json(await message_view(message_id))), 202
