"""The statements of one delivery, written by hand: claiming a reply (with everything its send
needs), recording that it was sent, and finding the next reply of its ticket.

They run for every reply, where the ORM's query building and model instantiation cost more
than the queries themselves; everything rarer (retries, failures, sweeps) stays on the ORM and
:class:`nexus.lease.Lease`. The conditions are the lease's (see :mod:`nexus.lease`) and the
per-ticket order's (see :mod:`nexus.delivery.order`):

* :func:`claim` moves a reply ``queued`` → ``sending`` with a new token and lease, only if it
  is an outbound, non-private reply that is due and the earliest pending reply of its ticket.
  On PostgreSQL the claim and the read of its ticket, recipient, channel, attachment count and
  thread are one statement (an ``UPDATE ... RETURNING`` inside a ``WITH``); SQLite, which has
  no writes in ``WITH``, runs the same ``UPDATE`` and then the read.
* :func:`finish_sent` writes ``sent`` only while the row carries the claim's token.
* :func:`after_sent` reads, after that commit, the ticket's next pending reply and whether
  delivery receipts wait for the provider's id (the send side of "store, then look again":
  see :mod:`nexus.delivery.status`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nexus.db.models import Direction
from nexus.db.sql import dialect, execute, fetch_all, fetch_one
from nexus.types import DeliveryStatus, Identity

#: How many earlier provider ids of the ticket a reply carries (email threading).
THREAD_REFERENCES = 20

_QUEUED, _SENDING, _SENT = DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value, DeliveryStatus.SENT.value
_OUTBOUND = Direction.OUTBOUND.value


@dataclass(slots=True)
class Reply:
    """The message row of a reply, as far as delivery and its ``message.updated`` event need
    it (the attributes :func:`nexus.views.build_message_view` reads)."""

    id: int
    ticket_id: int
    channel_id: int
    author_id: int | None
    text: str | None
    html: str | None
    external_id: str | None
    reply_to_id: int | None
    status: str
    error_code: str | None
    error_text: str | None
    attempts: int
    auto_submitted: bool
    reactions: dict[str, Any]
    metadata: dict[str, Any]
    created_at: datetime
    status_changed_at: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    failed_at: datetime | None = None
    edited_at: datetime | None = None
    next_attempt_at: datetime | None = None
    provider_timestamp: datetime | None = None
    claim_token: str | None = None
    direction: str = _OUTBOUND
    private: bool = False


@dataclass(slots=True)
class Outgoing:
    """A claimed reply with what its send needs: ticket, recipient, channel and thread."""

    message: Reply
    channel: str
    team_id: int | None
    assignee_id: int | None
    subject: str | None
    recipient: Identity
    reply_to_external_id: str | None
    #: Provider ids of the ticket's earlier messages, oldest first.
    thread: list[str] = field(default_factory=list)
    #: Whether the reply has attachments (then they are read; most replies have none).
    has_files: bool = False


@dataclass(frozen=True, slots=True)
class AfterSent:
    """What :func:`after_sent` found once the send was committed."""

    #: The ticket's earliest pending reply other than the one sent, and when it is due.
    next_id: int | None
    next_attempt_at: datetime | None
    #: Delivery receipts arrived for the provider's id before the send recorded it.
    receipts_waiting: bool


# --- The statements ------------------------------------------------------------------------

# Written with the table's own name (no alias) so that one text serves both dialects.
_CLAIM_SET = f"""
SET status = '{_SENDING}', claim_token = ?, lease_expires_at = ?, attempts = attempts + 1,
    status_changed_at = ?, next_attempt_at = NULL
WHERE messages.id = ? AND messages.status = '{_QUEUED}' AND messages.direction = '{_OUTBOUND}'
  AND messages.private = ? AND (messages.next_attempt_at IS NULL OR messages.next_attempt_at <= ?)
  AND NOT EXISTS (SELECT 1 FROM messages e WHERE e.ticket_id = messages.ticket_id AND e.id < messages.id
                  AND e.status IN ('{_QUEUED}', '{_SENDING}') AND e.direction = '{_OUTBOUND}' AND e.private = ?)
"""

_JOINED = """
       t.team_id AS t_team_id, t.assignee_id AS t_assignee_id, t.subject AS t_subject,
       i.address AS i_address, i.key AS i_key, i.display_name AS i_display_name, i.profile AS i_profile,
       c.name AS c_name, r.external_id AS r_external_id,
       EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id) AS has_files
"""

_JOINS = """
JOIN tickets t ON t.id = m.ticket_id
JOIN contact_identities i ON i.id = t.identity_id
JOIN channels c ON c.id = m.channel_id
LEFT JOIN messages r ON r.id = m.reply_to_id
"""

# The ticket's earlier provider ids, newest first; ``{ticket}`` and ``{before}`` are the
# ticket and the reply (placeholders, or the claimed row's columns), then ``private = ?``.
_THREAD_OF = f"""
SELECT id, external_id FROM messages
WHERE ticket_id = {{ticket}} AND id < {{before}} AND private = ? AND external_id IS NOT NULL
ORDER BY id DESC LIMIT {THREAD_REFERENCES}
"""

_THREAD = _THREAD_OF.format(ticket="?", before="?")

_CLAIM_POSTGRES = f"""
WITH m AS (UPDATE messages {_CLAIM_SET} RETURNING messages.*)
SELECT m.*, {_JOINED},
       (SELECT json_agg(x.external_id ORDER BY x.id)
        FROM ({_THREAD_OF.format(ticket="m.ticket_id", before="m.id")}) x) AS thread
FROM m {_JOINS}
"""

_CLAIM_SQLITE = f"UPDATE messages {_CLAIM_SET} RETURNING id"

_LOAD = f"SELECT m.*, {_JOINED} FROM messages m {_JOINS} WHERE m.id = ?"

_FINISH_SENT = f"""
UPDATE messages SET status = '{_SENT}', status_changed_at = ?, sent_at = ?,
    error_code = NULL, error_text = NULL, next_attempt_at = NULL, lease_expires_at = NULL{{extra}}
WHERE id = ? AND claim_token = ? AND status IN ('{_SENDING}', '{_QUEUED}')
"""

# The ticket's earliest pending reply other than ``id <> ?``.
_NEXT = f"""
SELECT id, next_attempt_at FROM messages
WHERE ticket_id = ? AND id <> ? AND status IN ('{_QUEUED}', '{_SENDING}') AND direction = '{_OUTBOUND}' AND private = ?
ORDER BY id LIMIT 1
"""

_AFTER_SENT = f"""
SELECT n.id AS next_id, n.next_attempt_at AS next_attempt_at,
       EXISTS (SELECT 1 FROM pending_statuses p WHERE p.channel_id = ? AND p.external_id = ?) AS receipts_waiting
FROM (SELECT 1 AS one) base LEFT JOIN ({_NEXT}) n ON 1 = 1
"""

_HURRY = f"""
UPDATE messages SET next_attempt_at = ? WHERE id = ? AND status = '{_QUEUED}' AND next_attempt_at > ?
"""


# --- Reading rows --------------------------------------------------------------------------

def _time(value: Any) -> datetime | None:
    """A stored time as an aware datetime: asyncpg returns one, SQLite its ISO text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _json(value: Any, default: Any) -> Any:
    """A JSON column's value: both drivers hand over the text."""
    if value is None:
        return default
    return json.loads(value) if isinstance(value, str | bytes) else value


def _outgoing(row: dict[str, Any], thread: list[str]) -> Outgoing:
    reply = Reply(
        id=row["id"], ticket_id=row["ticket_id"], channel_id=row["channel_id"], author_id=row["author_id"],
        text=row["text"], html=row["html"], external_id=row["external_id"], reply_to_id=row["reply_to_id"],
        status=row["status"], error_code=row["error_code"], error_text=row["error_text"], attempts=row["attempts"],
        auto_submitted=bool(row["auto_submitted"]), reactions=_json(row["reactions"], {}) or {},
        metadata=_json(row["metadata"], {}) or {}, created_at=_time(row["created_at"]) or datetime.now(UTC),
        status_changed_at=_time(row["status_changed_at"]), sent_at=_time(row["sent_at"]),
        delivered_at=_time(row["delivered_at"]), read_at=_time(row["read_at"]), failed_at=_time(row["failed_at"]),
        edited_at=_time(row["edited_at"]), next_attempt_at=_time(row["next_attempt_at"]),
        provider_timestamp=_time(row["provider_timestamp"]), claim_token=row["claim_token"],
        direction=row["direction"], private=bool(row["private"]),
    )
    return Outgoing(
        message=reply, channel=row["c_name"], team_id=row["t_team_id"], assignee_id=row["t_assignee_id"],
        subject=row["t_subject"],
        recipient=Identity(address=row["i_address"], key=row["i_key"], display_name=row["i_display_name"],
                           profile=_json(row["i_profile"], {}) or {}),
        reply_to_external_id=row["r_external_id"], thread=thread, has_files=bool(row["has_files"]),
    )


# --- The operations ------------------------------------------------------------------------

async def claim(message_id: int, token: str, lease_until: datetime, at: datetime, due_by: datetime) -> Outgoing | None:
    """Claim reply ``message_id`` for sending: ``queued`` → ``sending`` with ``token`` and a
    lease until ``lease_until``, one more attempt, at ``at``. Only an outbound, non-private
    reply that is due by ``due_by`` and the earliest pending reply of its ticket is claimed;
    ``None`` otherwise (or if another worker claimed it first)."""
    params = (token, lease_until, at, message_id, False, due_by, False)
    if dialect() == "postgres":
        row = await fetch_one(_CLAIM_POSTGRES, *params, False)
        if row is None:
            return None
        return _outgoing(row, _json(row["thread"], []) or [])
    if await fetch_one(_CLAIM_SQLITE, *params) is None:
        return None
    return await load(message_id)


async def load(message_id: int) -> Outgoing | None:
    """Reply ``message_id`` (whatever its status) with what its send needs."""
    row = await fetch_one(_LOAD, message_id)
    if row is None:
        return None
    thread = await fetch_all(_THREAD, row["ticket_id"], message_id, False)
    return _outgoing(row, [r["external_id"] for r in reversed(thread)])


async def finish_sent(message_id: int, token: str, *, at: datetime, sent_at: datetime,
                      external_id: str | None = None, metadata: dict[str, Any] | None = None) -> bool:
    """Mark a claimed reply ``sent`` at ``at``, accepted at ``sent_at``, if it still carries
    ``token``; the provider's ``external_id`` and ``metadata`` replace the stored ones when
    given. ``False`` when another claim fenced this one off. Raises
    :class:`tortoise.exceptions.IntegrityError` if another message of the channel has the id."""
    extra, values = "", []
    if external_id is not None:
        extra, values = extra + ", external_id = ?", [*values, external_id]
    if metadata is not None:
        extra, values = extra + ", metadata = ?", [*values, json.dumps(metadata)]
    return bool(await execute(_FINISH_SENT.format(extra=extra), at, sent_at, *values, message_id, token))


async def after_sent(ticket_id: int, message_id: int, channel_id: int, external_id: str | None) -> AfterSent:
    """The ticket's next pending reply, and whether receipts wait for ``external_id``: one
    read, to run after the send's commit."""
    row = await fetch_one(_AFTER_SENT, channel_id, external_id or "", ticket_id, message_id, False)
    assert row is not None  # the base row is always there
    return AfterSent(row["next_id"], _time(row["next_attempt_at"]), bool(external_id) and bool(row["receipts_waiting"]))


async def next_pending(ticket_id: int, message_id: int) -> tuple[int, datetime | None] | None:
    """The ticket's earliest pending reply other than ``message_id``, and when it is due."""
    row = await fetch_one(_NEXT, ticket_id, message_id, False)
    return None if row is None else (row["id"], _time(row["next_attempt_at"]))


async def hurry(message_id: int, at: datetime) -> bool:
    """Make a queued reply due at ``at`` if it was due later (its turn came early)."""
    return bool(await execute(_HURRY, at, message_id, at))
