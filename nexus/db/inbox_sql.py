"""The inbox's hand-written SQL, on both dialects: many webhook payloads stored in one
statement (a grouped commit), and pending payloads claimed many at a time.

Both are single statements, so each is atomic on its own: a batch is stored whole or not at
all, and a claim takes each row for exactly one caller. The claim follows the conditions of
:mod:`nexus.lease` (claim only from ``pending``, a fresh fencing token per row, a lease).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nexus.db.sql import dialect, fetch_all

#: Columns of one stored payload, in the order of :meth:`NewPayload.values`.
_COLUMNS = ("channel_id", "payload", "payload_encoding", "headers", "status", "attempts", "received_at",
            "status_changed_at", "claim_token", "lease_expires_at")
_ROW = "(" + ", ".join("?" * len(_COLUMNS)) + ")"


@dataclass(frozen=True)
class NewPayload:
    """A payload to store: ``processing`` with the claim ``claim_token`` (born claimed by the
    storing process) or, without a token, ``pending``."""

    channel_id: int
    payload: str
    payload_encoding: str
    headers: dict[str, str]
    claim_token: str | None = None
    lease_expires_at: datetime | None = None

    def values(self, at: datetime) -> tuple[Any, ...]:
        status = "processing" if self.claim_token else "pending"
        return (self.channel_id, self.payload, self.payload_encoding, json.dumps(self.headers), status, 0, at, at,
                self.claim_token, self.lease_expires_at if self.claim_token else None)


async def insert_payloads(rows: Sequence[NewPayload], *, at: datetime) -> list[int]:
    """Store ``rows`` in one ``INSERT`` (committed when it returns: all rows or none) and
    return their ids in the order of ``rows``.

    ``RETURNING`` promises no order on SQLite, but both dialects number the rows of one
    statement in the order of its ``VALUES`` (a sequence on PostgreSQL, ``AUTOINCREMENT`` on
    SQLite, each increasing), so the returned ids, sorted, are the rows' ids in order."""
    if not rows:
        return []
    sql = f"INSERT INTO inbound_events ({', '.join(_COLUMNS)}) VALUES {', '.join([_ROW] * len(rows))} RETURNING id"
    params = [value for row in rows for value in row.values(at)]
    returned = await fetch_all(sql, *params)
    ids = sorted(int(row["id"]) for row in returned)
    if len(ids) != len(rows):  # pragma: no cover - a database that broke the statement's promise
        raise RuntimeError(f"stored {len(rows)} payloads but {len(ids)} ids came back")
    return ids


@dataclass(frozen=True)
class ClaimedPayload:
    """A pending payload this caller now holds: ``claim_token`` is its fencing token."""

    id: int
    channel_id: int
    payload: str
    payload_encoding: str
    headers: dict[str, str]
    attempts: int
    claim_token: str


_RETURNING = "RETURNING id, channel_id, payload, payload_encoding, headers, attempts, claim_token"
#: On PostgreSQL, rows another claimer has locked are skipped rather than waited for, and the
#: chosen ids are read once into an array: a plain ``IN (subquery)`` may be scanned again by
#: the planner, and each scan with ``SKIP LOCKED`` finds other rows (more than ``LIMIT``).
_CLAIM = {
    "postgres": f"""
UPDATE inbound_events
SET status = 'processing', claim_token = replace(gen_random_uuid()::text, '-', ''),
    lease_expires_at = ?, status_changed_at = ?
WHERE status = 'pending' AND id = ANY(ARRAY(
    SELECT id FROM inbound_events WHERE status = 'pending' ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED
))
{_RETURNING}""",
    # SQLite runs one writer at a time: the statement alone is atomic.
    "sqlite": f"""
UPDATE inbound_events
SET status = 'processing', claim_token = lower(hex(randomblob(16))), lease_expires_at = ?, status_changed_at = ?
WHERE status = 'pending' AND id IN (
    SELECT id FROM inbound_events WHERE status = 'pending' ORDER BY id LIMIT ?
)
{_RETURNING}""",
}


async def claim_pending(limit: int, *, lease: float, at: datetime) -> list[ClaimedPayload]:
    """Claim up to ``limit`` pending payloads, oldest first, each with its own new token and
    a lease of ``lease`` seconds. Concurrent callers get disjoint rows."""
    if limit <= 0:
        return []
    rows = await fetch_all(_CLAIM[dialect()], at + timedelta(seconds=lease), at, limit)
    claimed = [
        ClaimedPayload(int(row["id"]), int(row["channel_id"]), row["payload"], row["payload_encoding"],
                       _json(row["headers"]), int(row["attempts"]), row["claim_token"])
        for row in rows
    ]
    return sorted(claimed, key=lambda payload: payload.id)


def _json(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    return json.loads(value) if isinstance(value, str | bytes) else dict(value)
