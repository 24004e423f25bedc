"""Tickets and their conversations."""

from __future__ import annotations

import binascii
from typing import Any

from quart import Blueprint, Response, jsonify
from quart_schema import document_response, tag_blueprint, validate_querystring, validate_request
from tortoise.expressions import Q, Subquery

from nexus.api.access import agent_required, current_agent, decode_cursor, encode_cursor
from nexus.api.ids import parse_id
from nexus.api.schemas import (
    MessageIn,
    MessagePage,
    MessageQuery,
    TicketPage,
    TicketPatch,
    TicketQuery,
)
from nexus.db import models
from nexus.db.models import Priority, TicketStatus
from nexus.offload import b64decode, off_loop
from nexus.search import InvalidCursor, Page, in_order
from nexus.tickets import NewAttachment
from nexus.types import MessageView, TicketView, to_json
from nexus.views import TICKET_RELATED, message_view, message_views, ticket_view, ticket_views
from nexus.web.apidocs import responds
from nexus.web.context import current_nexus
from nexus.web.errors import ApiError, field_error

blueprint = Blueprint("tickets", __name__)
tag_blueprint(blueprint, ["tickets"])


def _id_filter(value: str, name: str, words: str) -> int:
    number = parse_id(value)
    if number is None:
        raise field_error(422, "invalid_request", name, f"must be an id, {words}")
    return number


def _choices(value: str, name: str, allowed: list[str]) -> list[str]:
    chosen = [item.strip() for item in value.split(",") if item.strip()]
    bad = [item for item in chosen if item not in allowed]
    if bad or not chosen:
        raise field_error(422, "invalid_request", name,
                          f"unknown {name} {bad[0] if bad else value!r}; one or more of {', '.join(allowed)}")
    return chosen


async def search_page(search: Any, query: Any, within: Any) -> Page:
    """A page of ``search`` (tickets or contacts) for the ``q``, ``sort``, ``limit`` and
    ``cursor`` of ``query``."""
    try:
        return await search(query.q, within, sort=query.sort, limit=query.limit, cursor=query.cursor)
    except InvalidCursor:
        raise ApiError(400, "invalid_cursor", "cursor is not one this API returned") from None


def restricting(rule: Q) -> bool:
    """Whether ``rule`` leaves out any row (``Q()``, an admin's rule without filters, does not):
    a search without one needs no ORM query over its candidates."""
    return bool(rule.children or rule.filters)


async def ticket_filters(query: TicketQuery) -> Q:
    agent = current_agent()
    rule = await current_nexus().tickets.visibility(agent)
    if query.status:
        rule &= Q(status__in=_choices(query.status, "status", [s.value for s in TicketStatus]))
    if query.assignee:
        if query.assignee == "me":
            rule &= Q(assignee_id=agent.id)
        elif query.assignee == "none":
            rule &= Q(assignee_id=None)
        else:
            rule &= Q(assignee_id=_id_filter(query.assignee, "assignee", "'me' or 'none'"))
    if query.team:
        rule &= Q(team_id=None) if query.team == "none" else Q(team_id=_id_filter(query.team, "team", "or 'none'"))
    if query.channel:
        rule &= Q(channel__name=query.channel)
    if query.priority:
        rule &= Q(priority__in=_choices(query.priority, "priority", [p.value for p in Priority]))
    if query.label:
        rule &= Q(id__in=Subquery(models.TicketLabel.filter(name=query.label).values("ticket_id")))
    return rule


@blueprint.get("/tickets")
@agent_required
@validate_querystring(TicketQuery)
@document_response(TicketPage)
async def list_tickets(query_args: TicketQuery) -> Response:
    """Tickets the agent may see, most recent activity first, filtered and paginated."""
    rule = await ticket_filters(query_args)
    if query_args.q and query_args.q.strip():
        within = models.Ticket.filter(rule) if restricting(rule) else None
        found = await search_page(current_nexus().search.tickets, query_args, within)
        rows = in_order(await models.Ticket.filter(id__in=found.ids).select_related(*TICKET_RELATED), found.ids)
        return jsonify({"items": to_json(await ticket_views(rows)), "next_cursor": found.next_cursor})
    if query_args.cursor:
        when, last_id = decode_cursor(query_args.cursor, "time", "id")
        rule &= Q(last_message_at__lt=when) | Q(last_message_at=when, id__lt=last_id)
    rows = await models.Ticket.filter(rule).select_related(*TICKET_RELATED).order_by(
        "-last_message_at", "-id"
    ).limit(query_args.limit + 1)
    more = len(rows) > query_args.limit
    rows = rows[: query_args.limit]
    cursor = encode_cursor(rows[-1].last_message_at.isoformat(), rows[-1].id) if more and rows else None
    return jsonify({"items": to_json(await ticket_views(rows)), "next_cursor": cursor})


@blueprint.get("/tickets/<id:ticket_id>")
@agent_required
@document_response(TicketView)
async def get_ticket(ticket_id: int) -> Response:
    """One ticket, with its contact."""
    await current_nexus().tickets.get_visible(current_agent(), ticket_id)
    return jsonify(to_json(await ticket_view(ticket_id)))


@blueprint.patch("/tickets/<id:ticket_id>")
@agent_required
@validate_request(TicketPatch)
@document_response(TicketView)
async def patch_ticket(ticket_id: int, data: TicketPatch) -> Response:
    """Change a ticket's status, priority, assignee, team, labels, snooze or subject.

    Only the fields sent are changed; send null to clear assignee, team, snooze or subject.
    """
    changes = data.model_dump(exclude_unset=True)
    view = await current_nexus().tickets.update(ticket_id, changes, actor=current_agent())
    return jsonify(to_json(view))


@blueprint.get("/tickets/<id:ticket_id>/messages")
@agent_required
@validate_querystring(MessageQuery)
@document_response(MessagePage)
async def list_messages(ticket_id: int, query_args: MessageQuery) -> Response:
    """A ticket's conversation with its private notes, oldest first (`order=desc`: newest first)."""
    await current_nexus().tickets.get_visible(current_agent(), ticket_id)
    query = models.Message.filter(ticket_id=ticket_id)
    if query_args.cursor:
        (last_id,) = decode_cursor(query_args.cursor, "id")
        query = query.filter(id__gt=last_id) if query_args.order == "asc" else query.filter(id__lt=last_id)
    rows = await query.select_related("channel", "sender").order_by(
        "id" if query_args.order == "asc" else "-id"
    ).limit(query_args.limit + 1)
    more = len(rows) > query_args.limit
    rows = rows[: query_args.limit]
    cursor = encode_cursor(rows[-1].id) if more and rows else None
    return jsonify({"items": to_json(await message_views(rows)), "next_cursor": cursor})


async def _attachments(data: MessageIn) -> list[NewAttachment]:
    """The reply's files, decoded (off the event loop when large)."""
    files = []
    for index, item in enumerate(data.attachments):
        try:
            content = await off_loop(len(item.data), b64decode, item.data)
        except (binascii.Error, ValueError):
            raise field_error(422, "invalid_request", f"attachments.{index}.data", "not valid base64") from None
        files.append(NewAttachment(item.filename, item.content_type, content))
    return files


@blueprint.post("/tickets/<id:ticket_id>/messages")
@agent_required
@responds(409)
@validate_request(MessageIn)
@document_response(MessageView, 202)
@document_response(MessageView, 201)
async def post_message(ticket_id: int, data: MessageIn) -> tuple[Response, int]:
    """Reply to the contact (202: queued for delivery) or add a private note (201).

    The text goes in `text`, as messages return it (`body` is its deprecated alias). A note's
    status is `stored`: it is never sent.
    """
    nexus = current_nexus()
    agent = current_agent()
    await nexus.tickets.get_visible(agent, ticket_id)
    body = data.content
    if data.canned_response_id is not None:
        canned = await models.CannedResponse.get_or_none(id=data.canned_response_id)
        if canned is None:
            raise field_error(422, "unknown_canned_response", "canned_response_id",
                              f"there is no canned response {data.canned_response_id}")
        body = await nexus.tickets.render_canned(canned, ticket_id, agent)
    if data.private:
        if data.attachments or data.template:
            raise field_error(422, "invalid_request", "private", "notes carry text only")
        view = await nexus.tickets.add_note(ticket_id, body, author=agent)
        return jsonify(to_json(view)), 201
    metadata: dict[str, Any] = {"template": data.template} if data.template else {}
    view = await nexus.tickets.reply(
        ticket_id, body, author=agent, html=data.html, attachments=await _attachments(data),
        reply_to_id=data.reply_to_id, metadata=metadata,
    )
    return jsonify(to_json(view)), 202


@blueprint.post("/messages/<id:message_id>/retry")
@agent_required
@responds(409)
@document_response(MessageView, 202)
async def retry_message(message_id: int) -> tuple[Response, int]:
    """Send a failed reply again, with a fresh attempt budget."""
    nexus = current_nexus()
    visible = Q(ticket_id__in=Subquery(models.Ticket.filter(await nexus.tickets.visibility(current_agent())).values("id")))
    message = await models.Message.filter(Q(id=message_id) & visible).first()
    if message is None:
        raise ApiError(404, "message_not_found", f"message {message_id} does not exist or is not visible to you")
    if not await nexus.delivery.retry(message_id):
        raise ApiError(409, "not_failed", f"message {message_id} is {message.status}; only failed replies can be retried")
    return jsonify(to_json(await message_view(message_id))), 202
