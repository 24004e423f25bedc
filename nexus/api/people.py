"""Login, the current agent and their tokens, and contacts."""

from __future__ import annotations

from quart import Blueprint, Response, current_app, jsonify, request
from quart_schema import document_response, tag, validate_querystring, validate_request
from tortoise.expressions import Q, Subquery

from nexus.api.access import (
    agent_required,
    current_agent,
    current_session,
    decode_cursor,
    encode_cursor,
)
from nexus.api.login_limit import LoginLimiter
from nexus.api.schemas import (
    AgentOut,
    ContactPage,
    ContactPatch,
    ContactQuery,
    LoginIn,
    LoginOut,
    PasswordIn,
    TokenIn,
    TokenList,
    TokenOut,
)
from nexus.clock import now
from nexus.api.tickets import restricting, search_page
from nexus.db import models
from nexus.search import in_order
from nexus.types import ContactView, to_json
from nexus.views import contact_views
from nexus.web.apidocs import responds
from nexus.web.context import current_nexus
from nexus.web.errors import ApiError, field_error

blueprint = Blueprint("people", __name__)
session_tag = tag(["session"])
contacts_tag = tag(["contacts"])


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


def login_limiter() -> LoginLimiter:
    return current_app.extensions["nexus_login_limiter"]


def token_ttl(ttl_days: float | None) -> float | None:
    return None if ttl_days is None else ttl_days * 86400


# --- Session -------------------------------------------------------------------------------


@blueprint.post("/auth/login")
@session_tag
@responds(401, 429)
@validate_request(LoginIn)
@document_response(LoginOut)
async def login(data: LoginIn) -> Response:
    """Exchange an email and password for a bearer token.

    Failed attempts are limited per account and per client address (`auth.login_*`); past
    the limit the answer is 429 with `Retry-After`, even for the right password.
    """
    accounts = current_nexus().accounts
    limiter = login_limiter()
    await limiter.check(data.email, request.remote_addr)
    agent = await accounts.authenticate(data.email, data.password)
    if agent is None:
        await limiter.failed(data.email, request.remote_addr)
        raise ApiError(401, "invalid_credentials", "the email or the password is wrong")
    issued = await accounts.issue_token(agent, "login")
    return jsonify({
        "token": issued.token,
        "expires_at": issued.record.expires_at.isoformat() if issued.record.expires_at else None,
        "agent": await agent_json(agent),
    })


@blueprint.post("/auth/logout")
@agent_required
@session_tag
@responds(204)
async def logout() -> tuple[str, int]:
    """Revoke the token this request was made with; its sockets are dropped."""
    await current_nexus().accounts.revoke_token(current_session().token_id)
    return "", 204


@blueprint.get("/me")
@agent_required
@session_tag
@document_response(AgentOut)
async def me() -> Response:
    """The current agent, with their teams."""
    return jsonify(await agent_json(current_agent()))


@blueprint.put("/me/password")
@agent_required
@session_tag
@responds(429)
@validate_request(PasswordIn)
@responds(204)
async def change_my_password(data: PasswordIn) -> tuple[str, int]:
    """Change the current agent's password; their other tokens are revoked.

    The token of this request keeps working. A wrong `current_password` counts as a failed
    login.
    """
    accounts = current_nexus().accounts
    agent = current_agent()
    limiter = login_limiter()
    await limiter.check(agent.email, request.remote_addr)
    if not await accounts.check_password(agent, data.current_password):
        await limiter.failed(agent.email, request.remote_addr)
        raise field_error(422, "wrong_password", "current_password", "is not the agent's password")
    await accounts.set_password(agent, data.new_password, keep_token_id=current_session().token_id)
    return "", 204


@blueprint.get("/me/tokens")
@agent_required
@session_tag
@document_response(TokenList)
async def my_tokens() -> Response:
    """The current agent's tokens, without their secrets."""
    rows = await models.ApiToken.filter(agent_id=current_agent().id).order_by("id")
    return jsonify({"items": [token_json(row) for row in rows]})


@blueprint.post("/me/tokens")
@agent_required
@session_tag
@validate_request(TokenIn)
@document_response(TokenOut, 201)
async def create_my_token(data: TokenIn) -> tuple[Response, int]:
    """A long-lived token for an integration; it is shown once."""
    issued = await current_nexus().accounts.issue_token(current_agent(), data.name, ttl=token_ttl(data.ttl_days))
    return jsonify(token_json(issued.record, issued.token)), 201


@blueprint.delete("/me/tokens/<id:token_id>")
@agent_required
@session_tag
@responds(204)
async def revoke_my_token(token_id: int) -> tuple[str, int]:
    """Revoke one of the current agent's tokens; its sockets are dropped."""
    if not await current_nexus().accounts.revoke_token(token_id, current_agent().id):
        raise ApiError(404, "token_not_found", f"you have no token {token_id}")
    return "", 204


# --- Contacts ------------------------------------------------------------------------------


async def visible_contacts(agent: models.Agent) -> Q:
    """The contacts ``agent`` may see: admins all; agents those with a ticket they may see.
    A filter, so it composes with any other (a search's ids, say)."""
    if agent.role == models.Role.ADMIN:
        return Q()
    tickets = models.Ticket.filter(await current_nexus().tickets.visibility(agent))
    return Q(id__in=Subquery(tickets.values("contact_id")))


@blueprint.get("/contacts")
@agent_required
@contacts_tag
@validate_querystring(ContactQuery)
@document_response(ContactPage)
async def list_contacts(query_args: ContactQuery) -> Response:
    """Contacts the agent may see, newest first; `q` searches names, emails, phones and addresses."""
    rule = await visible_contacts(current_agent())
    query = models.Contact.filter(rule)
    if query_args.q and query_args.q.strip():
        found = await search_page(current_nexus().search.contacts, query_args, query if restricting(rule) else None)
        rows = in_order(await models.Contact.filter(id__in=found.ids), found.ids)
        return jsonify({"items": to_json(await contact_views(rows)), "next_cursor": found.next_cursor})
    if query_args.cursor:
        (last_id,) = decode_cursor(query_args.cursor, "id")
        query = query.filter(id__lt=last_id)
    rows = await query.order_by("-id").limit(query_args.limit + 1)
    more = len(rows) > query_args.limit
    rows = rows[: query_args.limit]
    return jsonify({"items": to_json(await contact_views(rows)),
                    "next_cursor": encode_cursor(rows[-1].id) if more and rows else None})


async def _contact(contact_id: int) -> models.Contact:
    contact = await models.Contact.filter(Q(id=contact_id) & await visible_contacts(current_agent())).first()
    if contact is None:
        raise ApiError(404, "contact_not_found", f"contact {contact_id} does not exist or is not visible to you")
    return contact


@blueprint.get("/contacts/<id:contact_id>")
@agent_required
@contacts_tag
@document_response(ContactView)
async def get_contact(contact_id: int) -> Response:
    """One contact, with their identities on each channel type."""
    return jsonify(to_json((await contact_views([await _contact(contact_id)]))[0]))


@blueprint.patch("/contacts/<id:contact_id>")
@agent_required
@contacts_tag
@validate_request(ContactPatch)
@document_response(ContactView)
async def patch_contact(contact_id: int, data: ContactPatch) -> Response:
    """Change a contact's name, email, phone or attributes (merged; null removes a key)."""
    contact = await _contact(contact_id)
    changes = data.model_dump(exclude_unset=True)
    for name in ("name", "email", "phone"):
        if name in changes and changes[name] is not None:
            changes[name] = changes[name].strip() or None
    if "attributes" in changes:
        merged = {**(contact.attributes or {}), **(changes["attributes"] or {})}
        changes["attributes"] = {key: value for key, value in merged.items() if value is not None}
    if changes:
        await models.Contact.filter(id=contact_id).update(**changes, updated_at=now())
        current_nexus().pipeline.contacts.forget(contact_id)
    return jsonify(to_json((await contact_views([await _contact(contact_id)]))[0]))
