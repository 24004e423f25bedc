"""The inbound pipeline's hand-written SQL: the statements that run for nearly every message.

Most inbound messages come from a contact who already has an unresolved ticket on the channel
(the one holding the contact's ``active_key``). :func:`store_in_active_ticket` stores such a
message and moves its ticket in one statement on PostgreSQL (a data-modifying ``WITH``, so no
``BEGIN``/``COMMIT`` round trips: the statement is its own transaction) and in one short
transaction on SQLite. Everything else the pipeline does (a new contact, a thread key, a
quoted ticket number, a reopened ticket, attachments) stays on the ORM.

The unique constraints decide races exactly as they do for the ORM: a redelivered message
violates ``messages (channel_id, external_id)`` and the whole statement (or transaction)
rolls back with :class:`tortoise.exceptions.IntegrityError`; a ticket resolved meanwhile no
longer holds the key, so nothing is stored and the caller threads the message the long way.
The search triggers of the tables fire for these writes as for any other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from nexus.db.sql import dialect, execute, fetch_all, fetch_one

#: The ticket columns an event's view needs.
TICKET_COLUMNS = ("id", "status", "priority", "subject", "channel_id", "contact_id", "identity_id", "assignee_id",
                  "team_id", "active_key", "snoozed_until", "first_response_at", "resolved_at", "last_message_at",
                  "created_at", "updated_at")
_TIMES = ("snoozed_until", "first_response_at", "resolved_at", "last_message_at", "created_at", "updated_at")
#: A contact writing wakes a ticket in these states.
WOKEN = ("snoozed", "pending")


@dataclass(frozen=True)
class InboundRow:
    """What an inbound message stores, as the pipeline has it."""

    channel_id: int
    sender_id: int
    external_id: str
    text: str | None
    html: str | None
    reply_to_external_id: str | None
    metadata: Mapping[str, Any]
    sent_at: datetime | None
    received_at: datetime


@dataclass
class StoredInActive:
    """The committed result: the ticket as it now is, what it was before, the new message's id."""

    ticket: dict[str, Any]
    previous_status: str
    previous_snoozed_until: datetime | None
    message_id: int
    reply_to_id: int | None
    labels: list[str]
    #: The ticket's contact row and its identities' rows, when asked for (see :func:`contact_with_identities`).
    contact: tuple[dict[str, Any], list[dict[str, Any]]] | None = None

    @property
    def woken(self) -> bool:
        return self.previous_status in WOKEN


def to_datetime(value: Any) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite gives the ISO text Tortoise wrote)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _ticket(row: Mapping[str, Any]) -> dict[str, Any]:
    ticket = {name: row[name] for name in TICKET_COLUMNS}
    for name in _TIMES:
        ticket[name] = to_datetime(ticket[name])
    return ticket


#: The message a reply quotes, by the provider's id (NULL when unknown or not a reply).
_REPLY_TO = "SELECT r.id FROM messages r WHERE r.channel_id = ? AND r.external_id = ?"

_PG_STORE = f"""
WITH old AS (
    SELECT id, status, snoozed_until FROM tickets WHERE active_key = ? FOR UPDATE
), ticket AS (
    UPDATE tickets t SET
        status = CASE WHEN old.status IN ('snoozed', 'pending') THEN 'open' ELSE old.status END,
        snoozed_until = CASE WHEN old.status IN ('snoozed', 'pending') THEN NULL ELSE t.snoozed_until END,
        last_message_at = CASE WHEN t.last_message_at IS NULL OR t.last_message_at <= ?::timestamptz
                               THEN ?::timestamptz ELSE t.last_message_at END,
        subject = COALESCE(t.subject, ?),
        updated_at = ?
    FROM old WHERE t.id = old.id
    RETURNING {", ".join(f"t.{name}" for name in TICKET_COLUMNS)},
              old.status AS previous_status, old.snoozed_until AS previous_snoozed_until
), message AS (
    INSERT INTO messages (ticket_id, channel_id, direction, private, sender_id, text, html, external_id,
                          reply_to_id, reply_to_external_id, status, attempts, auto_submitted, reactions,
                          metadata, provider_timestamp, created_at, status_changed_at)
    SELECT ticket.id, ?, 'inbound', false, ?, ?, ?, ?, ({_REPLY_TO}), ?, 'received', 0, false, '{{}}',
           ?, ?, ?, ? FROM ticket
    RETURNING id, reply_to_id
)
SELECT ticket.*, message.id AS message_id, message.reply_to_id,
       ARRAY(SELECT name FROM ticket_labels WHERE ticket_id = ticket.id ORDER BY name) AS labels{{contact}}
FROM ticket, message
"""
#: With the ticket's contact and its identities (for an event whose contact view is not cached).
_PG_CONTACT = """,
       (SELECT json_build_object('id', c.id, 'name', c.name, 'email', c.email, 'phone', c.phone,
                                 'attributes', c.attributes, 'created_at', c.created_at)
        FROM contacts c WHERE c.id = ticket.contact_id) AS contact,
       (SELECT json_agg(json_build_object('id', i.id, 'contact_id', i.contact_id, 'channel_type', i.channel_type,
                                          'address', i.address, 'display_name', i.display_name,
                                          'profile', i.profile) ORDER BY i.id)
        FROM contact_identities i WHERE i.contact_id = ticket.contact_id) AS identities"""
_PG_STORE_PLAIN = _PG_STORE.replace("{contact}", "")
_PG_STORE_CONTACT = _PG_STORE.replace("{contact}", _PG_CONTACT)

_SQLITE_ACTIVE = f"SELECT {', '.join(TICKET_COLUMNS)} FROM tickets WHERE active_key = ?"
_SQLITE_TOUCH = ("UPDATE tickets SET status = ?, snoozed_until = ?, last_message_at = ?, subject = ?, updated_at = ? "
                 "WHERE id = ?")
_SQLITE_INSERT = f"""
INSERT INTO messages (ticket_id, channel_id, direction, private, sender_id, text, html, external_id,
                      reply_to_id, reply_to_external_id, status, attempts, auto_submitted, reactions, metadata,
                      provider_timestamp, created_at, status_changed_at)
VALUES (?, ?, 'inbound', 0, ?, ?, ?, ?, ({_REPLY_TO}), ?, 'received', 0, 0, '{{}}', ?, ?, ?, ?)
RETURNING id, reply_to_id
"""
_LABELS = "SELECT name FROM ticket_labels WHERE ticket_id = ? ORDER BY name"


async def store_in_active_ticket(key: str, message: InboundRow, subject: str | None, updated_at: datetime, *,
                                 with_contact: bool = False) -> StoredInActive | None:
    """Store ``message`` in the ticket holding ``key`` (waking it if snoozed or pending, moving
    its last activity, giving it ``subject`` if it has none). None, with nothing stored, when no
    ticket holds the key. ``with_contact`` reads the ticket's contact too (``contact``)."""
    metadata = json.dumps(dict(message.metadata), separators=(",", ":"))
    received = message.received_at
    if dialect() == "postgres":
        row = await fetch_one(
            _PG_STORE_CONTACT if with_contact else _PG_STORE_PLAIN, key, received, received, subject, updated_at,
            message.channel_id, message.sender_id, message.text, message.html, message.external_id,
            message.channel_id, message.reply_to_external_id, message.reply_to_external_id,
            metadata, message.sent_at, received, received,
        )
        if row is None:
            return None
        contact = None
        if with_contact and row["contact"] is not None:
            contact = _contact(_json(row["contact"]), _json(row["identities"]) or [])
        return StoredInActive(_ticket(row), row["previous_status"], to_datetime(row["previous_snoozed_until"]),
                              row["message_id"], row["reply_to_id"], list(row["labels"]), contact)

    async with in_transaction() as conn:
        row = await fetch_one(_SQLITE_ACTIVE, key, conn=conn)
        if row is None:
            return None
        ticket = _ticket(row)
        previous_status, previous_snoozed = ticket["status"], ticket["snoozed_until"]
        if previous_status in WOKEN:
            ticket["status"], ticket["snoozed_until"] = "open", None
        if ticket["last_message_at"] is None or received >= ticket["last_message_at"]:
            ticket["last_message_at"] = received
        if ticket["subject"] is None:
            ticket["subject"] = subject
        ticket["updated_at"] = updated_at
        await execute(_SQLITE_TOUCH, ticket["status"], ticket["snoozed_until"], ticket["last_message_at"],
                        ticket["subject"], updated_at, ticket["id"], conn=conn)
        inserted = await fetch_one(
            _SQLITE_INSERT, ticket["id"], message.channel_id, message.sender_id, message.text, message.html,
            message.external_id, message.channel_id, message.reply_to_external_id, message.reply_to_external_id,
            metadata, message.sent_at, received, received, conn=conn,
        )
        assert inserted is not None
        labels = [label["name"] for label in await fetch_all(_LABELS, ticket["id"], conn=conn)]
        contact = await contact_with_identities(ticket["contact_id"], conn=conn) if with_contact else None
    return StoredInActive(ticket, previous_status, previous_snoozed, inserted["id"], inserted["reply_to_id"], labels,
                          contact)


_CONTACT = """
SELECT c.id, c.name, c.email, c.phone, c.attributes, c.created_at,
       i.id AS identity_id, i.channel_type, i.address, i.display_name, i.profile
FROM contacts c LEFT JOIN contact_identities i ON i.contact_id = c.id
WHERE c.id = ?
ORDER BY i.id
"""


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


async def contact_with_identities(contact_id: int, *, conn: BaseDBAsyncClient | None = None,
                                  ) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """A contact's row and its identities' rows (oldest first), in one query; None if it is gone."""
    rows = await fetch_all(_CONTACT, contact_id, conn=conn)
    if not rows:
        return None
    first = rows[0]
    identities = [{"id": row["identity_id"], "contact_id": first["id"], "channel_type": row["channel_type"],
                   "address": row["address"], "display_name": row["display_name"], "profile": row["profile"]}
                  for row in rows if row["identity_id"] is not None]
    return _contact(first, identities)


def _contact(row: Mapping[str, Any], identities: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    contact = {"id": row["id"], "name": row["name"], "email": row["email"], "phone": row["phone"],
               "attributes": _json(row["attributes"]), "created_at": to_datetime(row["created_at"])}
    for identity in identities:
        identity["profile"] = _json(identity["profile"])
    return contact, identities
