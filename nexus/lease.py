"""Claims with a lease and a fencing token: how one worker at a time works on a row.

A row that workers take turns on (a reply being sent, a webhook payload being processed) has,
besides its ``status``, two columns:

``claim_token``
    A random token, new at every claim. Whoever knows it holds the claim.
``lease_expires_at``
    The claim is valid until then. Its holder renews it while it works (:meth:`Lease.renew`,
    every ``duration / 3``); only a claim whose lease has passed may be taken back.

Every operation is one conditional ``UPDATE`` (atomic on PostgreSQL and SQLite), and together
they guarantee:

* **One holder.** :meth:`Lease.claim` succeeds only on a row in an available status, and sets a
  new token: of two workers claiming one row, exactly one gets it.
* **Finish only if still mine.** :meth:`Lease.finish` changes the row only while it carries the
  caller's token. Once another worker has claimed the row, a late finish (a worker that hung,
  or lost the database, then woke up) changes nothing and returns ``False``: the token fences
  it off.
* **A live claim is never taken back.** :meth:`Lease.take_back` returns a held row to its
  first available status only once its lease has passed; a holder that keeps renewing keeps
  its claim, however long the work takes.
* **A taken-back row remembers its last holder.** Taking back keeps the token, so until
  somebody claims the row again, the late holder's finish still lands (its work did happen);
  the next claim replaces the token and fences the late holder off for good.

What no lease can do is stop a holder that lost its claim from carrying out what it had
started (calling a provider, processing a payload). That is the at-least-once window: work
whose holder stops renewing for longer than the lease, while the work is under way, may be
done twice. Keep the lease several heartbeats long, and the window is a process that hangs or
loses the database for that long. Leases compare times written by the processes' own clocks:
hosts must keep their clocks in sync (NTP) to well within a heartbeat.

Hand-written SQL that wants the same guarantees uses the same conditions:

* claim: ``UPDATE t SET status = :held, claim_token = :new, lease_expires_at = :now + :lease
  WHERE id = :id AND status IN (:available)``
* renew: ``... SET lease_expires_at = :now + :lease WHERE id = :id AND claim_token = :token
  AND status = :held``
* finish: ``... SET status = :final, lease_expires_at = NULL WHERE id = :id AND claim_token =
  :token AND status IN (:held, :available)``
* take back: ``... SET status = :available[0], lease_expires_at = NULL WHERE id = :id AND
  claim_token = :token AND status = :held AND (lease_expires_at IS NULL OR lease_expires_at <
  :now)``
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.models import Model

from nexus.clock import now

logger = logging.getLogger("nexus.lease")

#: Tokens renewed per statement by :meth:`Lease.renew_all` (SQLite's variable limit).
RENEW_BATCH = 500


def new_token() -> str:
    """A fresh fencing token: 128 random bits, as 32 hex digits."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Claim:
    """A worker's claim on one row: proof of ownership for :meth:`Lease.finish`."""

    row_id: int
    token: str
    claimed_at: datetime


@dataclass
class Holding:
    """What :meth:`Lease.keep` hands its block: ``lost`` turns true when a renewal finds that
    the claim is no longer this worker's."""

    claim: Claim
    lost: bool = field(default=False)


class Lease:
    """Claims on the rows of ``model``, a table with ``status``, ``claim_token`` and
    ``lease_expires_at`` columns.

    :param held: the status of a claimed row (``sending``, ``processing``).
    :param available: the statuses a row may be claimed from; the first is where
        :meth:`take_back` returns a row whose holder stopped renewing.
    :param duration: seconds a claim stays valid without a renewal.
    :param max_hold: if set, seconds after which a claim is no longer renewed, whatever its
        holder does: a holder stuck for that long loses its row to the next sweep.
    """

    def __init__(self, model: type[Model], *, held: str, available: Sequence[str], duration: float,
                 max_hold: float | None = None) -> None:
        if not available:
            raise ValueError("a lease needs at least one available status")
        self.model = model
        self.held = held
        self.available = list(available)
        self.duration = duration
        self.max_hold = max_hold

    @property
    def heartbeat_every(self) -> float:
        """How often a holder renews: three renewals fit in one lease."""
        return self.duration / 3

    def _expiry(self) -> datetime:
        return now() + timedelta(seconds=self.duration)

    # --- Claiming ----------------------------------------------------------------------

    async def claim(self, row_id: int, *, from_status: Iterable[str] | None = None, **changes: Any) -> Claim | None:
        """Claim row ``row_id`` if it is in an available status (or one of ``from_status``),
        applying ``changes`` in the same update. ``None`` if somebody else has it."""
        token = new_token()
        claimed_at = now()
        statuses = list(from_status) if from_status is not None else self.available
        updated = await self.model.filter(id=row_id, status__in=statuses).update(
            status=self.held, claim_token=token, lease_expires_at=claimed_at + timedelta(seconds=self.duration), **changes,
        )
        return Claim(row_id, token, claimed_at) if updated else None

    def born_claimed(self) -> tuple[str, dict[str, Any]]:
        """A token and the column values for a row inserted already claimed; after the
        insert, :meth:`held` makes the :class:`Claim`."""
        token = new_token()
        return token, {"status": self.held, "claim_token": token, "lease_expires_at": self._expiry()}

    def prepare(self, row_id: int) -> tuple[Claim, datetime]:
        """A claim for hand-written SQL to take (with the claim condition above), and its
        lease's expiry: the statement sets ``claim_token`` to ``claim.token`` and
        ``lease_expires_at`` to the expiry. The claim is the caller's only if the statement
        changed the row."""
        claimed_at = now()
        return Claim(row_id, new_token(), claimed_at), claimed_at + timedelta(seconds=self.duration)

    @staticmethod
    def held_claim(row_id: int, token: str) -> Claim:
        return Claim(row_id, token, now())

    # --- Holding -----------------------------------------------------------------------

    def surely_held(self, claim: Claim) -> bool:
        """True while less than half the first lease has passed since the claim: nobody can
        have taken it back yet, so there is no need to ask the database."""
        return now() < claim.claimed_at + timedelta(seconds=self.duration / 2)

    async def renew(self, claim: Claim) -> bool:
        """Extend the lease; ``False`` if the claim is no longer this worker's (or it has
        been held for ``max_hold``)."""
        if self.max_hold is not None and now() >= claim.claimed_at + timedelta(seconds=self.max_hold):
            return False
        return bool(await self.model.filter(id=claim.row_id, claim_token=claim.token, status=self.held).update(
            lease_expires_at=self._expiry()))

    async def renew_all(self, claims: Iterable[Claim]) -> int:
        """Extend the leases of many claims at once (one statement per 500); returns how many
        were still held."""
        tokens = [claim.token for claim in claims]
        renewed = 0
        for start in range(0, len(tokens), RENEW_BATCH):
            renewed += await self.model.filter(claim_token__in=tokens[start:start + RENEW_BATCH], status=self.held).update(
                lease_expires_at=self._expiry())
        return renewed

    @contextlib.asynccontextmanager
    async def keep(self, claim: Claim) -> AsyncIterator[Holding]:
        """Renew ``claim`` every :attr:`heartbeat_every` seconds while the block runs."""
        holding = Holding(claim)

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(self.heartbeat_every)
                try:
                    if not await self.renew(claim):
                        holding.lost = True
                        return
                except Exception as exc:  # noqa: BLE001 - the database is away: try again next beat
                    logger.warning("could not renew the lease on %s %s: %s", self.model.__name__, claim.row_id, exc)

        task = asyncio.create_task(heartbeat(), name=f"lease-{self.model.__name__}-{claim.row_id}")
        try:
            yield holding
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- Finishing ---------------------------------------------------------------------

    async def finish(self, claim: Claim, **values: Any) -> bool:
        """Apply ``values`` (the outcome: a new status and its details) if the row is still
        this claim's: it carries the token and nobody has claimed it since. ``False`` when
        another worker's claim fenced this one off."""
        return bool(await self.model.filter(
            id=claim.row_id, claim_token=claim.token, status__in=[self.held, *self.available],
        ).update(lease_expires_at=None, **values))

    async def release(self, claims: Iterable[Claim], **values: Any) -> int:
        """Give unstarted claims back: their rows return to the first available status."""
        tokens = [claim.token for claim in claims]
        released = 0
        for start in range(0, len(tokens), RENEW_BATCH):
            released += await self.model.filter(claim_token__in=tokens[start:start + RENEW_BATCH], status=self.held).update(
                status=self.available[0], lease_expires_at=None, **values)
        return released

    # --- Taking back -------------------------------------------------------------------

    def _expired(self) -> Q:
        return Q(status=self.held) & (Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now()))

    async def expired(self, limit: int = 500) -> list[tuple[int, str | None]]:
        """Held rows whose lease has passed (their holder died, hung or lost the database),
        as ``(id, token)``, oldest first."""
        rows = await self.model.filter(self._expired()).order_by("id").limit(limit).values_list("id", "claim_token")
        return [(row_id, token) for row_id, token in rows]

    async def take_back(self, row_id: int, token: str | None, *, status: str | None = None, **changes: Any) -> bool:
        """Return a held row whose lease has passed to the first available status (or to
        ``status``: say, failed once it has had enough tries), applying ``changes``.
        ``False`` if its holder renewed or finished meanwhile."""
        return bool(await self.model.filter(self._expired(), id=row_id, claim_token=token).update(
            status=status or self.available[0], lease_expires_at=None, **changes))

    async def take_back_all(self, **changes: Any) -> int:
        """:meth:`take_back` every held row whose lease has passed, in one statement."""
        return await self.model.filter(self._expired()).update(status=self.available[0], lease_expires_at=None, **changes)
