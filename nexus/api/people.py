"""Login, the current agent and their tokens, and contacts."""

from __future__ import annotations

from datetime import UTC, datetime

from quart import Blueprint, Response, g, jsonify
from quart_schema import document_response, validate_querystring, validate_request

from nexus.api.access import agent_required, current_agent, decode_cursor, encode_cursor
from nexus.api.schemas import (
    AgentOut,
    ContactPage,
    ContactPatch,
    ContactQuery,
    LoginIn,
    LoginOut,
    TokenIn,
    TokenOut,
)
from nexus.api.tickets import search_page
from nexus.db import models
from nexus.search import in_order
from nexus.types import ContactView, to_json
from nexus.views import contact_views
from nexus.web.context import current_nexus
from nexus.web.errors import ApiError

blueprint = Blueprint("people", __name__)


async def agent_json(agent: models.Agent) -> dict:
    team_ids = await current_nexus().accounts.team_ids(agent.id)
    return {
        "id": agent.id, "name": agent.name, "email": agent.email, "role": str(agent.role),
        "is_active": agent.is_active, "available": agent.available, "team_ids": team_ids,
        "created_at": agent.created_at.isoformat(),
    }


def token_json(record: models.ApiToken, token: str | None = None) -> dict:
    return {
        "id": record.id, "name": record.name, "prefix": record.prefix, "token": token,
        "created_at": record.created_at.isoformat(),
        "expires_at": record.expires_at.isoformat() if record.expires_at else None,
        "last_used_at": record.last_used_at.isoformat() if record.last_used_at else None,
    }


@blueprint.post("/auth/login")
@validate_request(LoginIn)
@document_response(LoginOut)
async def login(data: LoginIn) -> Response:
    """Exchange an email and password for a bearer token."""
    accounts = current_nexus().accounts
    agent = await accounts.authenticate(data.email, data.password)
    if agent is None:
        raise ApiError(401, "invalid_credentials", "the email or the password is wrong")
    issued = await accounts.issue_token(agent, "login")
    return jsonify({
        "token": issued.token,
        "expires_at": issued.record.expires_at.isoformat() if issued.record.expires_at else None,
        "agent": await agent_json(agent),
    })


@blueprint.post("/auth/logout")
@agent_required
async def logout() -> tuple[str, int]:
    """Revoke the token this request was made with."""
    await models.ApiToken.filter(token_hash=g.token_hash).delete()
    return "", 204


@blueprint.get("/me")
@document_response(AgentOut)
@agent_required
async def me() -> Response:
    return jsonify(await agent_json(current_agent()))


@blueprint.get("/me/tokens")
@agent_required
async def my_tokens() -> Response:
    rows = await models.ApiToken.filter(agent_id=current_agent().id).order_by("id")
    return jsonify({"items": [token_json(row) for row in rows]})


@blueprint.post("/me/tokens")
@validate_request(TokenIn)
@document_response(TokenOut, 201)
@agent_required
async def create_my_token(data: TokenIn) -> tuple[Response, int]:
    """A long-lived token for an integration; it is shown once."""
    ttl = None if data.ttl_days is None else data.ttl_days * 86400
    issued = await current_nexus().accounts.issue_token(current_agent(), data.name, ttl=ttl)
    return jsonify(token_json(issued.record, issued.token)), 201


@blueprint.delete("/me/tokens/<int:token_id>")
@agent_required
async def revoke_my_token(token_id: int) -> tuple[str, int]:
    if not await current_nexus().accounts.revoke_token(token_id, current_agent().id):
        raise ApiError(404, "token_not_found", f"you have no token {token_id}")
    return "", 204


# --- Contacts ------------------------------------------------------------------------------


@blueprint.get("/contacts")
@validate_querystring(ContactQuery)
@document_response(ContactPage)
@agent_required
async def list_contacts(query_args: ContactQuery) -> Response:
    """Contacts, newest first; ``q`` searches names, emails, phones and channel addresses."""
    query = models.Contact.all()
    if query_args.q and query_args.q.strip():
        found = await search_page(current_nexus().search.contacts, query_args, query)
        rows = in_order(await models.Contact.filter(id__in=found.ids), found.ids)
        return jsonify({"items": to_json(await contact_views(rows)), "next_cursor": found.next_cursor})
    if query_args.cursor:
        (last_id,) = decode_cursor(query_args.cursor, 1)
        query = query.filter(id__lt=int(last_id))
    rows = await query.order_by("-id").limit(query_args.limit + 1)
    more = len(rows) > query_args.limit
    rows = rows[: query_args.limit]
    return jsonify({"items": to_json(await contact_views(rows)),
                    "next_cursor": encode_cursor(rows[-1].id) if more and rows else None})


async def _contact(contact_id: int) -> models.Contact:
    contact = await models.Contact.get_or_none(id=contact_id)
    if contact is None:
        raise ApiError(404, "contact_not_found", f"contact {contact_id} does not exist")
    return contact


@blueprint.get("/contacts/<int:contact_id>")
@document_response(ContactView)
@agent_required
async def get_contact(contact_id: int) -> Response:
    return jsonify(to_json((await contact_views([await _contact(contact_id)]))[0]))


@blueprint.patch("/contacts/<int:contact_id>")
@validate_request(ContactPatch)
@document_response(ContactView)
@agent_required
async def patch_contact(contact_id: int, data: ContactPatch) -> Response:
    contact = await _contact(contact_id)
    changes = data.model_dump(exclude_unset=True)
    if "attributes" in changes:
        changes["attributes"] = {**(contact.attributes or {}), **(changes["attributes"] or {})}
    if changes:
        await models.Contact.filter(id=contact_id).update(**changes, updated_at=datetime.now(UTC))
        current_nexus().pipeline.contacts.forget(contact_id)
    return jsonify(to_json((await contact_views([await _contact(contact_id)]))[0]))
