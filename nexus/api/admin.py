"""Administration: agents, teams and canned responses."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify
from quart_schema import document_response, tag_blueprint, validate_querystring, validate_request
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from nexus.api.access import admin_required, agent_required, current_agent, current_session
from nexus.api.people import agent_json, token_json, token_ttl
from nexus.api.schemas import (
    AgentIn,
    AgentList,
    AgentOut,
    AgentPatch,
    CannedIn,
    CannedList,
    CannedOut,
    CannedPatch,
    RenderIn,
    RenderOut,
    TeamDeleteQuery,
    TeamIn,
    TeamList,
    TeamOut,
    TeamPatch,
    TokenIn,
    TokenOut,
)
from nexus.clock import now
from nexus.db import models
from nexus.realtime import rooms_for_ticket
from nexus.views import ticket_view
from nexus.web.apidocs import responds
from nexus.web.context import current_nexus
from nexus.web.errors import ApiError, field_error

blueprint = Blueprint("admin", __name__)
tag_blueprint(blueprint, ["admin"])


async def _agent(agent_id: int) -> models.Agent:
    agent = await models.Agent.get_or_none(id=agent_id)
    if agent is None:
        raise ApiError(404, "agent_not_found", f"agent {agent_id} does not exist")
    return agent


async def _check_ids(model: type, ids: list[int], field: str) -> None:
    found = set(await model.filter(id__in=ids).values_list("id", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise field_error(422, "unknown_id", field, f"{missing[0]} does not exist")


async def _set_agent_teams(agent: models.Agent, team_ids: list[int]) -> None:
    await _check_ids(models.Team, team_ids, "team_ids")
    async with in_transaction():
        await agent.teams.clear()
        if team_ids:
            await agent.teams.add(*await models.Team.filter(id__in=team_ids))


# --- Agents --------------------------------------------------------------------------------


@blueprint.get("/agents")
@agent_required
@document_response(AgentList)
async def list_agents() -> Response:
    """Every agent: any agent may list them, to see who they can assign to."""
    return jsonify({"items": [await agent_json(a) for a in await models.Agent.all().order_by("id")]})


@blueprint.post("/agents")
@admin_required
@responds(409)
@validate_request(AgentIn)
@document_response(AgentOut, 201)
async def create_agent(data: AgentIn) -> tuple[Response, int]:
    """Create an agent, with a password and teams."""
    nexus = current_nexus()
    await _check_ids(models.Team, data.team_ids, "team_ids")
    agent = await nexus.accounts.create_agent(email=data.email, name=data.name, role=data.role, password=data.password)
    if data.team_ids:
        await _set_agent_teams(agent, data.team_ids)
    return jsonify(await agent_json(agent)), 201


@blueprint.get("/agents/<id:agent_id>")
@agent_required
@document_response(AgentOut)
async def get_agent(agent_id: int) -> Response:
    """One agent."""
    return jsonify(await agent_json(await _agent(agent_id)))


@blueprint.patch("/agents/<id:agent_id>")
@admin_required
@responds(409)
@validate_request(AgentPatch)
@document_response(AgentOut)
async def patch_agent(agent_id: int, data: AgentPatch) -> Response:
    """Change an agent's name, role, password, state, availability or teams.

    A new password revokes the agent's tokens (an admin changing their own keeps the one in
    use). Admins cannot deactivate themselves or change their own role.
    """
    nexus = current_nexus()
    agent = await _agent(agent_id)
    changes = data.model_dump(exclude_unset=True)
    yourself = agent.id == current_agent().id
    if changes.get("is_active") is False and yourself:
        raise field_error(409, "cannot_deactivate_self", "is_active", "you cannot deactivate yourself")
    if "role" in changes and changes["role"] != agent.role and yourself:
        raise field_error(409, "cannot_change_own_role", "role", "another admin must change your role")
    if "password" in changes:
        keep = current_session().token_id if yourself else None
        await nexus.accounts.set_password(agent, changes.pop("password"), keep_token_id=keep)
    team_ids = changes.pop("team_ids", None)
    if changes:
        await models.Agent.filter(id=agent_id).update(**changes, updated_at=now())
    if team_ids is not None:
        await _set_agent_teams(agent, team_ids)
    if nexus.realtime and ({"role", "is_active"} & set(changes) or team_ids is not None):
        await nexus.realtime.agent_changed(agent_id)
    return jsonify(await agent_json(await _agent(agent_id)))


@blueprint.delete("/agents/<id:agent_id>")
@admin_required
@responds(204, 409)
async def deactivate_agent(agent_id: int) -> tuple[str, int]:
    """Deactivate an agent: their tokens stop working and their sockets are dropped.

    Their messages and tickets stay.
    """
    nexus = current_nexus()
    agent = await _agent(agent_id)
    if agent.id == current_agent().id:
        raise ApiError(409, "cannot_deactivate_self", "you cannot deactivate yourself")
    await models.Agent.filter(id=agent_id).update(is_active=False, updated_at=now())
    if nexus.realtime:  # first, so that the sockets hear "deactivated" rather than "revoked"
        await nexus.realtime.agent_changed(agent_id)
    await nexus.accounts.revoke_agent_tokens(agent_id)
    return "", 204


@blueprint.post("/agents/<id:agent_id>/tokens")
@admin_required
@validate_request(TokenIn)
@document_response(TokenOut, 201)
async def create_agent_token(agent_id: int, data: TokenIn) -> tuple[Response, int]:
    """A token for another agent, for an integration; it is shown once."""
    agent = await _agent(agent_id)
    issued = await current_nexus().accounts.issue_token(agent, data.name, ttl=token_ttl(data.ttl_days))
    return jsonify(token_json(issued.record, issued.token)), 201


# --- Teams ---------------------------------------------------------------------------------


async def team_json(team: models.Team) -> dict:
    members = await models.Agent.filter(teams__id=team.id).order_by("id").values_list("id", flat=True)
    return {"id": team.id, "name": team.name, "auto_assign": team.auto_assign,
            "member_ids": list(members), "created_at": team.created_at.isoformat()}


async def _team(team_id: int) -> models.Team:
    team = await models.Team.get_or_none(id=team_id)
    if team is None:
        raise ApiError(404, "team_not_found", f"team {team_id} does not exist")
    return team


async def _set_members(team: models.Team, member_ids: list[int]) -> set[int]:
    """Replace the members; returns the agents whose membership changed."""
    await _check_ids(models.Agent, member_ids, "member_ids")
    before = set(await models.Agent.filter(teams__id=team.id).values_list("id", flat=True))
    async with in_transaction():
        await team.members.clear()
        if member_ids:
            await team.members.add(*await models.Agent.filter(id__in=member_ids))
    return before ^ set(member_ids)


@blueprint.get("/teams")
@agent_required
@document_response(TeamList)
async def list_teams() -> Response:
    """Every team, with its members."""
    return jsonify({"items": [await team_json(t) for t in await models.Team.all().order_by("id")]})


@blueprint.post("/teams")
@admin_required
@responds(409)
@validate_request(TeamIn)
@document_response(TeamOut, 201)
async def create_team(data: TeamIn) -> tuple[Response, int]:
    """Create a team, with its members."""
    try:
        team = await models.Team.create(name=data.name.strip(), auto_assign=data.auto_assign)
    except IntegrityError:
        raise field_error(409, "team_exists", "name", f"a team named {data.name!r} exists") from None
    changed = await _set_members(team, data.member_ids)
    await _refresh_agents(changed)
    return jsonify(await team_json(team)), 201


@blueprint.get("/teams/<id:team_id>")
@agent_required
@document_response(TeamOut)
async def get_team(team_id: int) -> Response:
    """One team, with its members."""
    return jsonify(await team_json(await _team(team_id)))


@blueprint.patch("/teams/<id:team_id>")
@admin_required
@responds(409)
@validate_request(TeamPatch)
@document_response(TeamOut)
async def patch_team(team_id: int, data: TeamPatch) -> Response:
    """Change a team's name, round-robin assignment or members."""
    team = await _team(team_id)
    changes = data.model_dump(exclude_unset=True)
    member_ids = changes.pop("member_ids", None)
    if changes:
        try:
            await models.Team.filter(id=team_id).update(**changes, updated_at=now())
        except IntegrityError:
            raise field_error(409, "team_exists", "name", f"a team named {changes.get('name')!r} exists") from None
    if member_ids is not None:
        await _refresh_agents(await _set_members(team, member_ids))
    return jsonify(await team_json(await _team(team_id)))


@blueprint.delete("/teams/<id:team_id>")
@admin_required
@responds(204)
@validate_querystring(TeamDeleteQuery)
async def delete_team(team_id: int, query_args: TeamDeleteQuery) -> tuple[str, int]:
    """Delete a team; `move_to` names a team that takes over its tickets.

    Without `move_to` the tickets lose their team and keep their assignee: the unassigned
    ones become visible to every agent.
    """
    team = await _team(team_id)
    if query_args.move_to is not None:
        if query_args.move_to == team_id:
            raise field_error(422, "invalid_request", "move_to", "must be another team")
        if not await models.Team.exists(id=query_args.move_to):
            raise field_error(422, "unknown_team", "move_to", f"there is no team {query_args.move_to}")
    members = set(await models.Agent.filter(teams__id=team.id).values_list("id", flat=True))
    moved = list(await models.Ticket.filter(team_id=team_id).values_list("id", "assignee_id"))
    async with in_transaction():
        await models.Ticket.filter(team_id=team_id).update(team_id=query_args.move_to, updated_at=now())
        await team.delete()
    events = current_nexus().events
    for ticket_id, assignee_id in moved:
        events.ticket_updated(await ticket_view(ticket_id), {"team_id": team_id},
                              previous_rooms=rooms_for_ticket(team_id, assignee_id))
    await _refresh_agents(members)
    return "", 204


async def _refresh_agents(agent_ids: set[int]) -> None:
    realtime = current_nexus().realtime
    if realtime:
        for agent_id in agent_ids:
            await realtime.agent_changed(agent_id)


# --- Canned responses ----------------------------------------------------------------------


def canned_json(row: models.CannedResponse) -> dict:
    return {"id": row.id, "shortcut": row.shortcut, "title": row.title, "body": row.body,
            "created_at": row.created_at.isoformat()}


async def _canned(canned_id: int) -> models.CannedResponse:
    row = await models.CannedResponse.get_or_none(id=canned_id)
    if row is None:
        raise ApiError(404, "canned_response_not_found", f"canned response {canned_id} does not exist")
    return row


@blueprint.get("/canned-responses")
@agent_required
@document_response(CannedList)
async def list_canned() -> Response:
    """Every canned response, by shortcut: any agent may use them."""
    return jsonify({"items": [canned_json(r) for r in await models.CannedResponse.all().order_by("shortcut")]})


@blueprint.post("/canned-responses")
@admin_required
@responds(409)
@validate_request(CannedIn)
@document_response(CannedOut, 201)
async def create_canned(data: CannedIn) -> tuple[Response, int]:
    """Create a canned response; its body may hold placeholders such as `{{contact.name}}`."""
    try:
        row = await models.CannedResponse.create(**data.model_dump())
    except IntegrityError:
        raise field_error(409, "shortcut_taken", "shortcut", f"shortcut {data.shortcut!r} is taken") from None
    return jsonify(canned_json(row)), 201


@blueprint.patch("/canned-responses/<id:canned_id>")
@admin_required
@responds(409)
@validate_request(CannedPatch)
@document_response(CannedOut)
async def patch_canned(canned_id: int, data: CannedPatch) -> Response:
    """Change a canned response's shortcut, title or body."""
    await _canned(canned_id)
    changes = data.model_dump(exclude_unset=True)
    if changes:
        try:
            await models.CannedResponse.filter(id=canned_id).update(**changes, updated_at=now())
        except IntegrityError:
            raise field_error(409, "shortcut_taken", "shortcut", f"shortcut {changes.get('shortcut')!r} is taken") from None
    return jsonify(canned_json(await _canned(canned_id)))


@blueprint.delete("/canned-responses/<id:canned_id>")
@admin_required
@responds(204)
async def delete_canned(canned_id: int) -> tuple[str, int]:
    """Delete a canned response."""
    await (await _canned(canned_id)).delete()
    return "", 204


@blueprint.post("/canned-responses/<id:canned_id>/render")
@agent_required
@validate_request(RenderIn)
@document_response(RenderOut)
async def render_canned(canned_id: int, data: RenderIn) -> Response:
    """Preview a canned response for a ticket, its placeholders filled."""
    nexus = current_nexus()
    canned = await _canned(canned_id)
    await nexus.tickets.get_visible(current_agent(), data.ticket_id)
    return jsonify({"body": await nexus.tickets.render_canned(canned, data.ticket_id, current_agent())})
