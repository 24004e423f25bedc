"""Agents, teams and API tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from tortoise.exceptions import IntegrityError

from nexus.auth import hash_password, new_token, token_hash, verify_password
from nexus.clock import now
from nexus.db import models

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8


class AccountError(Exception):
    """A request about accounts that cannot be done, worded for the person asking."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: models.ApiToken


class Accounts:
    def __init__(self, token_ttl: float) -> None:
        self.token_ttl = token_ttl

    async def create_agent(
        self, *, email: str, name: str, role: str = "agent", password: str | None = None
    ) -> models.Agent:
        email = email.strip().lower()
        if not EMAIL.match(email):
            raise AccountError("invalid_email", f"{email!r} is not an email address", "email")
        if role not in ("admin", "agent"):
            raise AccountError("invalid_role", "role must be 'admin' or 'agent'", "role")
        if password is not None and len(password) < MIN_PASSWORD:
            raise AccountError("weak_password", f"the password needs at least {MIN_PASSWORD} characters", "password")
        try:
            return await models.Agent.create(
                email=email, name=name.strip() or email, role=role,
                password_hash=hash_password(password) if password else None,
            )
        except IntegrityError:
            raise AccountError("email_taken", f"an agent with email {email!r} exists", "email") from None

    async def set_password(self, agent: models.Agent, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError("weak_password", f"the password needs at least {MIN_PASSWORD} characters", "password")
        agent.password_hash = hash_password(password)
        await agent.save(update_fields=["password_hash", "updated_at"])

    async def authenticate(self, email: str, password: str) -> models.Agent | None:
        agent = await models.Agent.get_or_none(email=email.strip().lower(), is_active=True)
        if agent is None:
            verify_password(password, _DUMMY_HASH)  # same work whether or not the agent exists
            return None
        return agent if verify_password(password, agent.password_hash) else None

    async def issue_token(self, agent: models.Agent, name: str, *, ttl: float | None = None) -> IssuedToken:
        """A new token for ``agent``; ``ttl`` 0 means it never expires."""
        token = new_token()
        ttl = self.token_ttl if ttl is None else ttl
        record = await models.ApiToken.create(
            agent=agent, name=name[:100], token_hash=token_hash(token), prefix=token[:10],
            expires_at=now() + timedelta(seconds=ttl) if ttl else None,
        )
        return IssuedToken(token, record)

    async def revoke_token(self, token_id: int, agent_id: int | None = None) -> bool:
        query = models.ApiToken.filter(id=token_id)
        if agent_id is not None:
            query = query.filter(agent_id=agent_id)
        return bool(await query.delete())

    async def agent_for_token(self, token: str) -> models.Agent | None:
        record = await models.ApiToken.get_or_none(token_hash=token_hash(token)).select_related("agent")
        if record is None or not record.agent.is_active:
            return None
        if record.expires_at is not None and record.expires_at <= now():
            return None
        last = record.last_used_at
        if last is None or now() - last > timedelta(minutes=5):
            await models.ApiToken.filter(id=record.id).update(last_used_at=now())
        return record.agent

    async def active_agent(self, agent_id: int) -> models.Agent | None:
        return await models.Agent.get_or_none(id=agent_id, is_active=True)

    async def team_ids(self, agent_id: int) -> list[int]:
        return list(await models.Team.filter(members__id=agent_id).values_list("id", flat=True))


_DUMMY_HASH = hash_password("not a real password")
