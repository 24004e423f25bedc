"""Administration: agents, teams and canned responses."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify
from quart_schema import document_response, validate_request
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from nexus.api.access import admin_required, agent_required, current_agent
from nexus.api.people import agent_json, token_json
from nexus.api.schemas import (
    AgentIn,
    AgentOut,
    AgentPatch,
    CannedIn,
    CannedOut,
    CannedPatch,
    RenderIn,
    RenderOut,
    TeamIn,
    TeamOut,
    TeamPatch,
    TokenIn,
    TokenOut,
)
from nexus.clock import now
from nexus.db import models
from nexus.web.context import current_nexus
from nexus.web.errors import ApiError

blueprint = Blueprint("admin", __name__)


async def _agent(agent_id: int) -> models.Agent:
    agent = await models.Agent.get_or_none(id=agent_id)
    if agent is None:
        raise ApiError(404, "agent_not_found", f"agent {agent_id} does not exist")
    return agent


async def _check_ids(model: type, ids: list[int], field: str) -> None:
    found = set(await model.filter(id__in=ids).values_list("id", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise ApiError(422, "unknown_id", f"{field}: {missing[0]} does not exist", {"field": field})


async def _set_agent_teams(agent: models.Agent, team_ids: list[int]) -> None:
    await _check_ids(models.Team, team_ids, "team_ids")
    async with in_transaction():
        await agent.teams.clear()
        if team_ids:
            await agent.teams.add(*await models.Team.filter(id__in=team_ids))


# --- Agents --------------------------------------------------------------------------------


@blueprint.get("/agents")
@agent_required
async def list_agents() -> Response:
    """Every agent (all agents may see who they can assign to)."""
    return jsonify({"items": [await agent_json(a) for a in await models.Agent.all().order_by("id")]})


@blueprint.post("/agents")
@validate_request(AgentIn)
@document_response(AgentOut, 201)
@admin_required
async def create_agent(data: AgentIn) -> tuple[Response, int]:
    nexus = current_nexus()
    await _check_ids(models.Team, data.team_ids, "team_ids")
    agent = await nexus.accounts.create_agent(email=data.email, name=data.name, role=data.role, password=data.password)
    if data.team_ids:
        await _set_agent_teams(agent, data.team_ids)
    return jsonify(await agent_json(agent)), 201


@blueprint.get("/agents/<int:agent_id>")
@document_response(AgentOut)
@agent_required
async def get_agent(agent_id: int) -> Response:
    return jsonify(await agent_json(await _agent(agent_id)))


@blueprint.patch("/agents/<int:agent_id>")
@validate_request(AgentPatch)
@document_response(AgentOut)
@admin_required
async def patch_agent(agent_id: int, data: AgentPatch) -> Response:
    nexus = current_nexus()
    agent = await _agent(agent_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("is_active") is False and agent.id == current_agent().id:
        raise ApiError(409, "cannot_deactivate_self", "you cannot deactivate yourself", {"field": "is_active"})
    if "password" in changes and changes["password"]:
        await nexus.accounts.set_password(agent, changes.pop("password"))
    team_ids = changes.pop("team_ids", None)
    if changes:
        await models.Agent.filter(id=agent_id).update(**changes, updated_at=now())
    if team_ids is not None:
        await _set_agent_teams(agent, team_ids)
    if nexus.realtime and ({"role", "is_active"} & set(changes) or team_ids is not None):
        await nexus.realtime.agent_changed(agent_id)
    return jsonify(await agent_json(await _agent(agent_id)))


@blueprint.delete("/agents/<int:agent_id>")
@admin_required
async def deactivate_agent(agent_id: int) -> tuple[str, int]:
    """Deactivate an agent: their tokens stop working and their sockets are dropped. Their
    messages and tickets stay."""
    nexus = current_nexus()
    agent = await _agent(agent_id)
    if agent.id == current_agent().id:
        raise ApiError(409, "cannot_deactivate_self", "you cannot deactivate yourself")
    await models.Agent.filter(id=agent_id).update(is_active=False, updated_at=now())
    await models.ApiToken.filter(agent_id=agent_id).delete()
    if nexus.realtime:
        await nexus.realtime.agent_changed(agent_id)
    return "", 204


@blueprint.post("/agents/<int:agent_id>/tokens")
@validate_request(TokenIn)
@document_response(TokenOut, 201)
@admin_required
async def create_agent_token(agent_id: int, data: TokenIn) -> tuple[Response, int]:
    agent = await _agent(agent_id)
    ttl = None if data.ttl_days is None else data.ttl_days * 86400
    issued = await current_nexus().accounts.issue_token(agent, data.name, ttl=ttl)
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
async def list_teams() -> Response:
    return jsonify({"items": [await team_json(t) for t in await models.Team.all().order_by("id")]})


@blueprint.post("/teams")
@validate_request(TeamIn)
@document_response(TeamOut, 201)
@admin_required
async def create_team(data: TeamIn) -> tuple[Response, int]:
    try:
        team = await models.Team.create(name=data.name.strip(), auto_assign=data.auto_assign)
    except IntegrityError:
        raise ApiError(409, "team_exists", f"a team named {data.name!r} exists", {"field": "name"}) from None
    changed = await _set_members(team, data.member_ids)
    await _refresh_agents(changed)
    return jsonify(await team_json(team)), 201


@blueprint.get("/teams/<int:team_id>")
@document_response(TeamOut)
@agent_required
async def get_team(team_id: int) -> Response:
    return jsonify(await team_json(await _team(team_id)))


@blueprint.patch("/teams/<int:team_id>")
@validate_request(TeamPatch)
@document_response(TeamOut)
@admin_required
async def patch_team(team_id: int, data: TeamPatch) -> Response:
    team = await _team(team_id)
    changes = data.model_dump(exclude_unset=True)
    member_ids = changes.pop("member_ids", None)
    if changes:
        try:
            await models.Team.filter(id=team_id).update(**changes, updated_at=now())
        except IntegrityError:
            raise ApiError(409, "team_exists", f"a team named {changes.get('name')!r} exists", {"field": "name"}) from None
    if member_ids is not None:
        await _refresh_agents(await _set_members(team, member_ids))
    return jsonify(await team_json(await _team(team_id)))


@blueprint.delete("/teams/<int:team_id>")
@admin_required
async def delete_team(team_id: int) -> tuple[str, int]:
    """Delete a team; its tickets keep their assignee and lose the team."""
    team = await _team(team_id)
    members = set(await models.Agent.filter(teams__id=team.id).values_list("id", flat=True))
    await team.delete()
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
async def list_canned() -> Response:
    return jsonify({"items": [canned_json(r) for r in await models.CannedResponse.all().order_by("shortcut")]})


@blueprint.post("/canned-responses")
@validate_request(CannedIn)
@document_response(CannedOut, 201)
@admin_required
async def create_canned(data: CannedIn) -> tuple[Response, int]:
    try:
        row = await models.CannedResponse.create(**data.model_dump())
    except IntegrityError:
        raise ApiError(409, "shortcut_taken", f"shortcut {data.shortcut!r} is taken", {"field": "shortcut"}) from None
    return jsonify(canned_json(row)), 201


@blueprint.patch("/canned-responses/<int:canned_id>")
@validate_request(CannedPatch)
@document_response(CannedOut)
@admin_required
async def patch_canned(canned_id: int, data: CannedPatch) -> Response:
    await _canned(canned_id)
    changes = data.model_dump(exclude_unset=True)
    if changes:
        try:
            await models.CannedResponse.filter(id=canned_id).update(**changes, updated_at=now())
        except IntegrityError:
            raise ApiError(409, "shortcut_taken", f"shortcut {changes.get('shortcut')!r} is taken", {"field": "shortcut"}) from None
    return jsonify(canned_json(await _canned(canned_id)))


@blueprint.delete("/canned-responses/<int:canned_id>")
@admin_required
async def delete_canned(canned_id: int) -> tuple[str, int]:
    await (await _canned(canned_id)).delete()
    return "", 204


@blueprint.post("/canned-responses/<int:canned_id>/render")
@validate_request(RenderIn)
@document_response(RenderOut)
@agent_required
async def render_canned(canned_id: int, data: RenderIn) -> Response:
    """Preview a canned response for a ticket, placeholders filled."""
    nexus = current_nexus()
    canned = await _canned(canned_id)
    await nexus.tickets.get_visible(current_agent(), data.ticket_id)
    return jsonify({"body": await nexus.tickets.render_canned(canned, data.ticket_id, current_agent())})
