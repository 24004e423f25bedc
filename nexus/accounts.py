"""Agents, teams and API tokens.

Passwords are hashed in worker threads of their own (scrypt takes tens of milliseconds of CPU):
logins never hold the event loop, and, few and at a lower CPU priority, they never take the
CPU from it either. Every way a token stops working goes through here (logout,
revocation, a password change, deactivation), and :attr:`Accounts.on_revoked` hears of it, so
the sockets opened with those tokens can be dropped in every process.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from tortoise.exceptions import IntegrityError

from nexus.auth import hash_password, new_token, token_hash, verify_password
from nexus.clock import now
from nexus.db import models

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
#: The longest lifetime a token may be given (0 means it never expires).
MAX_TOKEN_TTL = 10 * 365 * 86400
#: Passwords hashed at once per process: every core it may use but one, and at least two
#: (one scrypt thread serves only some 20 logins a second). This bounds their memory (16 MB
#: each); their priority (below) is what keeps the event loop first.
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2
HASHING_THREADS = max(2, CORES - 1)
#: How much nicer than the rest of the process the hashing threads are (Linux): when the CPU
#: is short, the event loop (and the database beside it) go first, and logins wait.
HASHING_NICENESS = 10


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


@dataclass(frozen=True)
class Session:
    """Who a valid token speaks for, and which token it is."""

    agent: models.Agent
    token_id: int
    expires_at: datetime | None


Revoked = Callable[[Sequence[int]], Awaitable[None]]


class Accounts:
    def __init__(self, token_ttl: float, on_revoked: Revoked | None = None) -> None:
        self.token_ttl = token_ttl
        #: Called with the ids of tokens that stopped working (revoked, or their agent's
        #: password changed). The API process sets it to drop their sockets everywhere.
        self.on_revoked = on_revoked

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
                password_hash=await hashing(hash_password, password) if password else None,
            )
        except IntegrityError:
            raise AccountError("email_taken", f"an agent with email {email!r} exists", "email") from None

    async def set_password(self, agent: models.Agent, password: str, *, keep_token_id: int | None = None) -> list[int]:
        """Change ``agent``'s password and revoke their tokens, all but ``keep_token_id`` (the
        one the agent changed it with). Returns the revoked token ids."""
        if len(password) < MIN_PASSWORD:
            raise AccountError("weak_password", f"the password needs at least {MIN_PASSWORD} characters", "password")
        agent.password_hash = await hashing(hash_password, password)
        await agent.save(update_fields=["password_hash", "updated_at"])
        return await self.revoke_agent_tokens(agent.id, keep_token_id=keep_token_id)

    async def check_password(self, agent: models.Agent, password: str) -> bool:
        return await hashing(verify_password, password, agent.password_hash)

    async def authenticate(self, email: str, password: str) -> models.Agent | None:
        agent = await models.Agent.get_or_none(email=email.strip().lower(), is_active=True)
        if agent is None:
            # The same work whether or not the agent exists.
            await hashing(lambda: verify_password(password, _dummy_hash()))
            return None
        return agent if await self.check_password(agent, password) else None

    async def issue_token(self, agent: models.Agent, name: str, *, ttl: float | None = None) -> IssuedToken:
        """A new token for ``agent``; ``ttl`` 0 means it never expires."""
        ttl = self.token_ttl if ttl is None else ttl
        if not 0 <= ttl <= MAX_TOKEN_TTL:
            raise AccountError("invalid_ttl", f"a token lives at most {MAX_TOKEN_TTL // 86400} days (0: forever)", "ttl_days")
        token = new_token()
        record = await models.ApiToken.create(
            agent=agent, name=name[:100], token_hash=token_hash(token), prefix=token[:10],
            expires_at=now() + timedelta(seconds=ttl) if ttl else None,
        )
        return IssuedToken(token, record)

    async def revoke_token(self, token_id: int, agent_id: int | None = None) -> bool:
        query = models.ApiToken.filter(id=token_id)
        if agent_id is not None:
            query = query.filter(agent_id=agent_id)
        revoked = bool(await query.delete())
        if revoked:
            await self._revoked([token_id])
        return revoked

    async def revoke_agent_tokens(self, agent_id: int, *, keep_token_id: int | None = None) -> list[int]:
        """Revoke every token of ``agent_id`` except ``keep_token_id``; returns their ids."""
        query = models.ApiToken.filter(agent_id=agent_id)
        if keep_token_id is not None:
            query = query.exclude(id=keep_token_id)
        ids = list(await query.values_list("id", flat=True))
        if ids:
            await models.ApiToken.filter(id__in=ids).delete()
            await self._revoked(ids)
        return ids

    async def _revoked(self, token_ids: Sequence[int]) -> None:
        if self.on_revoked is not None:
            await self.on_revoked(list(token_ids))

    async def session_for_token(self, token: str) -> Session | None:
        record = await models.ApiToken.get_or_none(token_hash=token_hash(token)).select_related("agent")
        if record is None or not record.agent.is_active:
            return None
        if record.expires_at is not None and record.expires_at <= now():
            return None
        last = record.last_used_at
        if last is None or now() - last > timedelta(minutes=5):
            await models.ApiToken.filter(id=record.id).update(last_used_at=now())
        return Session(record.agent, record.id, record.expires_at)

    async def agent_for_token(self, token: str) -> models.Agent | None:
        session = await self.session_for_token(token)
        return session.agent if session else None

    async def valid_token_ids(self, token_ids: Sequence[int]) -> set[int]:
        """The ids among ``token_ids`` whose token still works."""
        if not token_ids:
            return set()
        rows = await models.ApiToken.filter(id__in=list(token_ids), agent__is_active=True).values_list("id", "expires_at")
        current = now()
        return {token_id for token_id, expires in rows if expires is None or expires > current}

    async def active_agent(self, agent_id: int) -> models.Agent | None:
        return await models.Agent.get_or_none(id=agent_id, is_active=True)

    async def team_ids(self, agent_id: int) -> list[int]:
        return list(await models.Team.filter(members__id=agent_id).values_list("id", flat=True))


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not a real password")


T = TypeVar("T")


async def hashing(func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` (a password hash or check) in one of the hashing threads."""
    return await asyncio.get_running_loop().run_in_executor(_hashing_threads(), func, *args)


@functools.cache
def _hashing_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(HASHING_THREADS, thread_name_prefix="nexus-password", initializer=_nicer)


def _nicer() -> None:
    """Lower the calling thread's CPU priority (Linux schedules threads one by one)."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError):
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + HASHING_NICENESS))
