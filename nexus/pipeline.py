"""The inbound pipeline, shared by every channel: deduplicate, find the contact, thread the
message into a ticket, store it, then publish.

Correctness under concurrency rests on unique constraints, not on read-then-write:

* ``messages (channel_id, external_id)`` stores a redelivered message once;
* ``contact_identities (channel_type, key)`` creates one contact per identity;
* ``tickets.active_key`` allows one unresolved ticket per contact and channel.

A transaction that loses a race on one of them rolls back and runs again, and then finds what
the winner committed. :meth:`InboundPipeline.receive` returns only after the commit, so a
channel acknowledges its provider only for what is durably stored.

Tickets run on the time Nexus received a message, never on the sender's clock: threading,
the reopen window, ``last_message_at`` and sorting all use it. The provider's time is kept
for display (the message's ``sent_at``). An automatic message (``auto_submitted``) never
opens, reopens or moves a ticket; one that threads into no ticket is kept aside as an
``ignored`` inbound event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError, TransactionManagementError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from nexus.cid import is_referenced, referenced_content_ids, resolve_cid_references
from nexus.clock import now
from nexus.db import models
from nexus.db.inbound_sql import InboundRow, StoredInActive, store_in_active_ticket
from nexus.db.models import Direction, TicketStatus
from nexus.ignored import keep_ignored
from nexus.sanitize import clean_event
from nexus.storage import sha256_of
from nexus.types import (
    DeliveryStatus,
    Identity,
    InboundEdit,
    InboundMessage,
    InboundReaction,
    Receipt,
)
from nexus.views import (
    ContactViewCache,
    attachment_url,
    attachment_view,
    build_message_view,
    build_ticket_view,
    inbound_message_view,
    message_view,
    ticket_row_view,
)

if TYPE_CHECKING:
    from nexus.channels import ChannelRuntime
    from nexus.runtime import Nexus

logger = logging.getLogger("nexus.pipeline")

RACE_RETRIES = 8
IDENTITY_CACHE = 50_000
SUBJECT_LENGTH = 120
UNRESOLVED = (TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.SNOOZED)
#: The ticket fields the pipeline writes; everything else belongs to agents.
TICKET_PIPELINE_FIELDS = [
    "status", "snoozed_until", "resolved_at", "active_key", "last_message_at", "subject", "updated_at",
]


#: Why an automatic message that threads into no ticket is kept aside.
AUTOMATIC_UNTHREADED = ("automatic message (auto_submitted) that threads into no ticket: "
                        "it opens none, so it is kept here instead")
#: The provider times each inbound event may carry; the pipeline refuses naive ones.
EVENT_TIMES = {InboundMessage: ("sent_at",), InboundEdit: ("edited_at",), InboundReaction: ("reacted_at",)}
#: The texts each event carries, which must be strings.
EVENT_TEXTS = {
    InboundMessage: ("external_id", "text", "html", "subject", "reply_to"),
    InboundEdit: ("external_id", "text", "html"),
    InboundReaction: ("target_external_id", "emoji"),
}


class InboundError(ValueError):
    """A plugin handed the pipeline something it cannot store; the message names the plugin."""


def active_key(contact_id: int, channel_id: int) -> str:
    return f"{contact_id}:{channel_id}"


def subject_from(message: InboundMessage) -> str | None:
    if message.subject and message.subject.strip():
        return message.subject.strip()[:500]
    text = (message.text or "").strip()
    if text:
        first_line = text.splitlines()[0]
        return first_line if len(first_line) <= SUBJECT_LENGTH else first_line[: SUBJECT_LENGTH - 1] + "…"
    return None


@dataclass
class Threaded:
    ticket: models.Ticket
    created: bool = False
    changes: dict[str, object] | None = None
    previous_rooms: list[str] | None = None
    #: False when the message left the ticket as it was (an automatic message).
    moved: bool = True


class InboundPipeline:
    def __init__(self, nexus: Nexus) -> None:
        self.nexus = nexus
        #: Identities seen lately: a contact's next message skips the lookup. Identities are
        #: never deleted, and a changed address or name goes to the database again.
        self._identities: dict[tuple[str, str], models.ContactIdentity] = {}
        #: The (email, phone) each identity last filled its contact with, in this process.
        self._filled: dict[tuple[str, str], tuple[str | None, str | None]] = {}
        self.contacts = ContactViewCache()

    async def receive(self, channel: ChannelRuntime, event: InboundMessage | InboundEdit | InboundReaction) -> Receipt:
        if not isinstance(event, (InboundMessage, InboundEdit, InboundReaction)):
            raise TypeError(f"cannot receive {type(event).__name__}: expected InboundMessage, InboundEdit or InboundReaction")
        check_event(channel, event)
        event = clean_event(event)  # NUL and lone surrogates out: every database can store it
        if isinstance(event, InboundMessage):
            return await self.receive_message(channel, event)
        if isinstance(event, InboundEdit):
            return await self.receive_edit(channel, event)
        return await self.receive_reaction(channel, event)

    # --- Messages ----------------------------------------------------------------------

    async def receive_message(self, channel: ChannelRuntime, message: InboundMessage) -> Receipt:
        if not message.external_id:
            raise ValueError("InboundMessage.external_id is required: it is what deduplicates redeliveries")
        received = now()
        if message.auto_submitted:
            return await self._receive_automatic(channel, message, received)
        if message.attachments:
            # Files are written before the transaction: skip that work for a known duplicate.
            # (Without files, the unique constraint alone decides, one round trip cheaper.)
            existing = await self._existing(channel.row_id, message.external_id)
            if existing is not None:
                return Receipt(stored=False, duplicate=True, message_id=existing.id, ticket_id=existing.ticket_id)

        stored_files = await self._save_attachments(message)
        try:
            identity, new_contact = await self._identity(channel.spec.type_name, message.sender)
            direct = not new_contact and _direct(message)
            for attempt in range(RACE_RETRIES):
                try:
                    if direct:
                        done = await store_in_active_ticket(
                            active_key(identity.contact_id, channel.row_id), _row(channel, identity, message, received),
                            subject_from(message), now(), with_contact=self.contacts.peek(identity.contact_id) is None)
                        if done is not None:
                            break
                    async with in_transaction() as conn:
                        threaded = await self._thread(conn, channel, identity, message, received,
                                                      new_contact and attempt == 0)
                        stored, files = await self._store(conn, channel, threaded.ticket, identity, message,
                                                          stored_files, received, created=threaded.created)
                    break
                except (IntegrityError, TransactionManagementError):
                    existing = await self._existing(channel.row_id, message.external_id)
                    if existing is not None:
                        await self._discard(stored_files)
                        return Receipt(stored=False, duplicate=True, message_id=existing.id, ticket_id=existing.ticket_id)
                    if attempt == RACE_RETRIES - 1:
                        raise
                    await asyncio.sleep(0.005 * (attempt + 1))
        except BaseException:
            await self._discard(stored_files)
            raise

        if direct and done is not None:
            await self._publish_direct(channel, done, identity, message, received)
            return Receipt(stored=True, message_id=done.message_id, ticket_id=done.ticket["id"])
        await self._publish(channel, threaded, stored, identity, files)
        return Receipt(stored=True, message_id=stored.id, ticket_id=threaded.ticket.id)

    async def _receive_automatic(self, channel: ChannelRuntime, message: InboundMessage, received: datetime) -> Receipt:
        """An automatic message goes into the ticket it threads into, changing nothing about
        that ticket; without one it is kept aside. It creates no contact unless it is stored."""
        existing = await self._existing(channel.row_id, message.external_id)
        if existing is not None:
            return Receipt(stored=False, duplicate=True, message_id=existing.id, ticket_id=existing.ticket_id)
        channel_type = channel.spec.type_name
        known = await self._known_identity(channel_type, message.sender)
        ticket_id = await self._automatic_target(channel, known, message)
        if ticket_id is None:
            kept = await keep_ignored(channel.row_id, message, AUTOMATIC_UNTHREADED, received)
            return Receipt(stored=False, duplicate=not kept, ignored=AUTOMATIC_UNTHREADED)
        identity, _ = await self._identity(channel_type, message.sender)
        stored_files = await self._save_attachments(message)
        try:
            async with in_transaction() as conn:
                # The row lock makes a concurrent delete of the ticket wait for this commit.
                ticket = await models.Ticket.filter(id=ticket_id).using_db(conn).select_for_update().first()
                if ticket is not None:
                    stored, files = await self._store(conn, channel, ticket, identity, message, stored_files,
                                                      received, touch_ticket=False)
        except (IntegrityError, TransactionManagementError):
            await self._discard(stored_files)
            existing = await self._existing(channel.row_id, message.external_id)
            if existing is not None:
                return Receipt(stored=False, duplicate=True, message_id=existing.id, ticket_id=existing.ticket_id)
            raise
        except BaseException:
            await self._discard(stored_files)
            raise
        if ticket is None:  # deleted since it was found: nothing to thread into any more
            await self._discard(stored_files)
            kept = await keep_ignored(channel.row_id, message, AUTOMATIC_UNTHREADED, received)
            return Receipt(stored=False, duplicate=not kept, ignored=AUTOMATIC_UNTHREADED)
        await self._publish(channel, Threaded(ticket, moved=False), stored, identity, files)
        return Receipt(stored=True, message_id=stored.id, ticket_id=ticket.id)

    async def _automatic_target(self, channel: ChannelRuntime, identity: models.ContactIdentity | None,
                                message: InboundMessage) -> int | None:
        """The ticket an automatic message threads into, whatever its status: a thread key,
        then a quoted ticket number of the contact's, then the contact's unresolved ticket."""
        channel_id = channel.row_id
        if message.thread_keys:
            ref = await models.Message.filter(
                channel_id=channel_id, external_id__in=list(message.thread_keys)
            ).order_by("-id").first()
            if ref is not None:
                return ref.ticket_id
        if identity is None:
            return None
        if message.ticket_hint:
            hinted = await models.Ticket.filter(
                id=message.ticket_hint, channel_id=channel_id, contact_id=identity.contact_id
            ).values_list("id", flat=True)
            if hinted:
                return hinted[0]
        unresolved = await models.Ticket.filter(
            contact_id=identity.contact_id, channel_id=channel_id, status__in=list(UNRESOLVED)
        ).order_by("-last_message_at", "-id").values_list("id", flat=True)
        return unresolved[0] if unresolved else None

    async def _existing(self, channel_id: int, external_id: str) -> models.Message | None:
        return await models.Message.get_or_none(channel_id=channel_id, external_id=external_id)

    async def _save_attachments(self, message: InboundMessage) -> list[tuple[str | None, int, str | None]]:
        """Write attachment bytes before the transaction; returns (key, size, sha256)."""
        saved: list[tuple[str | None, int, str | None]] = []
        limit = self.nexus.settings.storage.max_attachment_size
        try:
            for attachment in message.attachments:
                if attachment.data is None or len(attachment.data) > limit:
                    saved.append((None, len(attachment.data or b""), None))
                    continue
                key = await self.nexus.storage.save(attachment.data, attachment.filename)
                saved.append((key, len(attachment.data), await sha256_of(attachment.data)))
        except BaseException:
            await self._discard(saved)
            raise
        return saved

    async def _discard(self, saved: list[tuple[str | None, int, str | None]]) -> None:
        for key, _, _ in saved:
            if key:
                try:
                    await self.nexus.storage.delete(key)
                except Exception:  # noqa: BLE001
                    logger.warning("could not delete orphaned attachment %s", key)

    async def _identity(self, channel_type: str, sender: Identity) -> tuple[models.ContactIdentity, bool]:
        """The contact identity for ``sender``, and whether this call created it (with its
        contact) on first contact."""
        key = sender.canonical.strip()
        if not key:
            raise ValueError("Identity.address is required")
        cached = self._identities.get((channel_type, key))
        if cached is not None and cached.address == sender.address and (
            not sender.display_name or sender.display_name == cached.display_name
        ) and (not sender.profile or dict(sender.profile) == cached.profile):
            identity, created = cached, False
        else:
            identity, created = await self._load_identity(channel_type, key, sender)
            if len(self._identities) >= IDENTITY_CACHE:
                self._identities.clear()
            self._identities[(channel_type, key)] = identity
        if not created:
            await self._fill_contact(identity, sender, (channel_type, key))
        return identity, created

    async def _known_identity(self, channel_type: str, sender: Identity) -> models.ContactIdentity | None:
        """The identity of ``sender`` if it exists; creates nothing."""
        key = sender.canonical.strip()
        cached = self._identities.get((channel_type, key))
        if cached is not None:
            return cached
        return await models.ContactIdentity.get_or_none(channel_type=channel_type, key=key)

    async def _fill_contact(self, identity: models.ContactIdentity, sender: Identity, cache_key: tuple[str, str]) -> None:
        """The email and phone a plugin knows fill the contact's when those are empty (an
        agent's value is never overwritten). Once per identity and value in this process."""
        known = (sender.email or None, sender.phone or None)
        if known == (None, None) or self._filled.get(cache_key) == known:
            return
        changed = 0
        for name, value in zip(("email", "phone"), known, strict=True):
            if value:
                empty = models.Contact.filter(id=identity.contact_id).filter(Q(**{name: None}) | Q(**{name: ""}))
                changed += await empty.update(**{name: value})
        if changed:
            self.contacts.forget(identity.contact_id)
        if len(self._filled) >= IDENTITY_CACHE:
            self._filled.clear()
        self._filled[cache_key] = known

    async def _load_identity(self, channel_type: str, key: str, sender: Identity) -> tuple[models.ContactIdentity, bool]:
        """The identity, and whether this call created it (with its contact)."""
        for _ in range(RACE_RETRIES):
            identity = await models.ContactIdentity.get_or_none(channel_type=channel_type, key=key)
            if identity is not None:
                changed = {}
                if sender.address != identity.address:
                    changed["address"] = sender.address
                if sender.display_name and sender.display_name != identity.display_name:
                    changed["display_name"] = sender.display_name
                if sender.profile and dict(sender.profile) != identity.profile:
                    changed["profile"] = {**(identity.profile or {}), **dict(sender.profile)}
                if changed:
                    await models.ContactIdentity.filter(id=identity.id).update(**changed)
                    for name, value in changed.items():
                        setattr(identity, name, value)
                    self.contacts.forget(identity.contact_id)
                return identity, False
            try:
                async with in_transaction() as conn:
                    contact = await models.Contact.create(
                        name=sender.display_name, email=sender.email or None, phone=sender.phone or None,
                        using_db=conn,
                    )
                    identity = await models.ContactIdentity.create(
                        contact=contact, channel_type=channel_type, key=key, address=sender.address,
                        display_name=sender.display_name, profile=dict(sender.profile), using_db=conn,
                    )
                self.contacts.remember(contact, [identity])
                self._filled[(channel_type, key)] = (sender.email or None, sender.phone or None)
                return identity, True
            except IntegrityError:
                continue  # created concurrently: read it on the next turn
        raise RuntimeError(f"could not create the identity {channel_type}:{key}")

    async def _thread(
        self, conn: BaseDBAsyncClient, channel: ChannelRuntime, identity: models.ContactIdentity,
        message: InboundMessage, arrived: datetime, new_contact: bool = False,
    ) -> Threaded:
        """Find or open the ticket this message belongs to; ``arrived`` is when Nexus received
        it (the reopen window counts from it). A contact this very call created has no ticket
        yet, so the lookups are skipped (the active key's unique index still guards against a
        concurrent message of the same contact)."""
        channel_id, contact_id = channel.row_id, identity.contact_id
        key = active_key(contact_id, channel_id)
        if new_contact and not message.thread_keys and not message.ticket_hint:
            return await self._open(conn, channel, identity, message, key, arrived)

        # 1. An explicit thread (email's In-Reply-To/References), then a quoted ticket number.
        candidate: models.Ticket | None = None
        if message.thread_keys:
            ref = await models.Message.filter(
                channel_id=channel_id, external_id__in=list(message.thread_keys)
            ).using_db(conn).order_by("-id").first()
            if ref is not None:
                candidate = await models.Ticket.filter(id=ref.ticket_id).using_db(conn).select_for_update().first()
        if candidate is None and message.ticket_hint:
            candidate = await models.Ticket.filter(
                id=message.ticket_hint, channel_id=channel_id, contact_id=contact_id
            ).using_db(conn).select_for_update().first()

        # Row locks: an agent's concurrent change to the ticket waits for this commit.
        active = await models.Ticket.filter(active_key=key).using_db(conn).select_for_update().first()
        if candidate is not None:
            if candidate.status != TicketStatus.RESOLVED:
                return self._wake(candidate)
            # The thread wins: its ticket reopens. It becomes the contact's active ticket
            # only if no other unresolved ticket already is.
            return self._reopen(candidate, key if active is None else None)
        if active is not None:
            return self._wake(active)

        # An unresolved ticket that a thread reopened (it holds no active key) takes the
        # unthreaded messages too, and from now on holds the key.
        unresolved = await models.Ticket.filter(
            contact_id=contact_id, channel_id=channel_id, status__in=list(UNRESOLVED)
        ).using_db(conn).order_by("-last_message_at", "-id").select_for_update().first()
        if unresolved is not None:
            unresolved.active_key = key
            return self._wake(unresolved)

        # 2. A recently resolved ticket comes back; otherwise a new one.
        window = self.nexus.settings.tickets.reopen_window
        if window > 0:
            recent = await models.Ticket.filter(
                contact_id=contact_id, channel_id=channel_id, status=TicketStatus.RESOLVED,
                resolved_at__gte=arrived - timedelta(seconds=window),
            ).using_db(conn).order_by("-resolved_at").select_for_update().first()
            if recent is not None:
                return self._reopen(recent, key)

        return await self._open(conn, channel, identity, message, key, arrived)

    async def _open(self, conn: BaseDBAsyncClient, channel: ChannelRuntime, identity: models.ContactIdentity,
                    message: InboundMessage, key: str, arrived: datetime) -> Threaded:
        channel_id, contact_id = channel.row_id, identity.contact_id
        team_id = await self.nexus.tickets.default_team_id(channel.spec, conn)
        ticket = await models.Ticket.create(
            status=TicketStatus.OPEN, channel_id=channel_id, contact_id=contact_id,
            identity_id=identity.id, subject=subject_from(message), active_key=key,
            team_id=team_id, last_message_at=arrived, using_db=conn,
        )
        if team_id is not None:
            assignee = await self.nexus.tickets.next_round_robin_agent(team_id, conn)
            if assignee is not None:
                ticket.assignee_id = assignee
                await ticket.save(using_db=conn, update_fields=["assignee_id"])
        return Threaded(ticket, created=True)

    @staticmethod
    def _wake(ticket: models.Ticket) -> Threaded:
        """A contact writing wakes a snoozed or pending ticket."""
        if ticket.status in (TicketStatus.SNOOZED, TicketStatus.PENDING):
            changes: dict[str, object] = {"status": str(ticket.status)}
            if ticket.snoozed_until is not None:
                changes["snoozed_until"] = ticket.snoozed_until
            ticket.status = TicketStatus.OPEN
            ticket.snoozed_until = None
            return Threaded(ticket, changes=changes)
        return Threaded(ticket)

    @staticmethod
    def _reopen(ticket: models.Ticket, key: str | None) -> Threaded:
        changes: dict[str, object] = {"status": str(ticket.status), "resolved_at": ticket.resolved_at}
        ticket.status = TicketStatus.OPEN
        ticket.resolved_at = None
        ticket.active_key = key
        return Threaded(ticket, changes=changes)

    async def _store(
        self,
        conn: BaseDBAsyncClient,
        channel: ChannelRuntime,
        ticket: models.Ticket,
        identity: models.ContactIdentity,
        message: InboundMessage,
        files: list[tuple[str | None, int, str | None]],
        received: datetime,
        *,
        created: bool = False,
        touch_ticket: bool = True,
    ) -> tuple[models.Message, list[models.Attachment]]:
        """Write the message and its files. ``touch_ticket`` moves the ticket's last activity
        (and gives it a subject); an automatic message leaves the ticket as it was."""
        reply_to_id = None
        if message.reply_to:
            target = await models.Message.filter(
                channel_id=channel.row_id, external_id=message.reply_to
            ).using_db(conn).first()
            reply_to_id = target.id if target else None
        stored = await models.Message.create(
            ticket_id=ticket.id, channel_id=channel.row_id, direction=Direction.INBOUND,
            sender_id=identity.id, text=message.text, html=message.html,
            external_id=message.external_id, reply_to_id=reply_to_id,
            reply_to_external_id=message.reply_to, status=DeliveryStatus.RECEIVED,
            auto_submitted=message.auto_submitted, metadata=dict(message.metadata),
            provider_timestamp=message.sent_at, created_at=received, status_changed_at=received, using_db=conn,
        )
        referenced = referenced_content_ids(message.html) if message.html else set()
        rows = []
        for attachment, (key, size, digest) in zip(message.attachments, files, strict=True):
            note = attachment.note
            if key is None and attachment.data is not None:
                note = note or f"not stored: larger than storage.max_attachment_size ({size} bytes)"
            rows.append(await models.Attachment.create(
                message_id=stored.id, filename=attachment.filename[:255] or "file",
                content_type=attachment.content_type[:255], size=size, storage_key=key,
                sha256=digest, content_id=attachment.content_id, note=note,
                inline=is_referenced(attachment.content_id, referenced), using_db=conn,
            ))
        inline = {row.content_id: attachment_url(row.id) for row in rows if row.inline and row.content_id}
        if inline and stored.html:
            stored.html = resolve_cid_references(stored.html, inline)
            await stored.save(using_db=conn, update_fields=["html"])
        if message.contact_attributes:
            await self._merge_attributes(conn, ticket.contact_id, message.contact_attributes)
        if not touch_ticket:
            return stored, rows
        before = (ticket.last_message_at, ticket.subject)
        if ticket.last_message_at is None or received >= ticket.last_message_at:
            ticket.last_message_at = received
        if ticket.subject is None:
            ticket.subject = subject_from(message)
        if not created or (ticket.last_message_at, ticket.subject) != before:
            await ticket.save(using_db=conn, update_fields=TICKET_PIPELINE_FIELDS)
        return stored, rows

    async def _merge_attributes(self, conn: BaseDBAsyncClient, contact_id: int, attributes: Mapping[str, Any]) -> None:
        contact = await models.Contact.filter(id=contact_id).using_db(conn).select_for_update().first()
        if contact is None:
            return
        merged = {**(contact.attributes or {}), **dict(attributes)}
        if merged != contact.attributes:
            contact.attributes = merged
            await contact.save(using_db=conn, update_fields=["attributes", "updated_at"])
            self.contacts.forget(contact_id)

    async def _publish(self, channel: ChannelRuntime, threaded: Threaded, stored: models.Message,
                       identity: models.ContactIdentity, files: list[models.Attachment]) -> None:
        """Publish from what is in memory: the committed rows need no second read."""
        events = self.nexus.events
        ticket = threaded.ticket
        labels = [] if threaded.created else await models.TicketLabel.filter(ticket_id=ticket.id).order_by("name").values_list("name", flat=True)
        contact = await self.contacts.get(ticket.contact_id)
        view = build_ticket_view(ticket, channel.name, channel.spec.type_name, contact, labels)
        if threaded.created:
            events.ticket_created(view)
        elif threaded.changes:
            events.ticket_updated(view, threaded.changes)
        elif threaded.moved:
            # last_message_at moved: lists sorted by activity need to know.
            events.ticket_updated(view, {"last_message_at": None})
        sender = identity if stored.sender_id == identity.id else None
        message = build_message_view(stored, channel.name, sender, [attachment_view(a) for a in files])
        events.message_created(message, view, received=True)

    async def _publish_direct(self, channel: ChannelRuntime, done: StoredInActive, identity: models.ContactIdentity,
                              message: InboundMessage, received: datetime) -> None:
        """Publish what :func:`store_in_active_ticket` stored, as :meth:`_publish` does."""
        ticket = done.ticket
        contact = self.contacts.put(*done.contact) if done.contact else await self.contacts.get(ticket["contact_id"])
        view = ticket_row_view(ticket, channel.name, channel.spec.type_name, contact, done.labels)
        changes: dict[str, object] = {"last_message_at": None}
        if done.woken:
            changes = {"status": done.previous_status}
            if done.previous_snoozed_until is not None:
                changes["snoozed_until"] = done.previous_snoozed_until
        self.nexus.events.ticket_updated(view, changes)
        stored = inbound_message_view(done.message_id, ticket["id"], channel.name, identity, message, received,
                                      done.reply_to_id)
        self.nexus.events.message_created(stored, view, received=True)

    # --- Edits and reactions -----------------------------------------------------------

    async def receive_edit(self, channel: ChannelRuntime, edit: InboundEdit) -> Receipt:
        async with in_transaction() as conn:
            target = await models.Message.filter(
                channel_id=channel.row_id, external_id=edit.external_id
            ).using_db(conn).select_for_update().first()
            if target is None:
                return Receipt(stored=False)
            if target.text == edit.text and target.html == edit.html:
                return Receipt(stored=False, duplicate=True, message_id=target.id, ticket_id=target.ticket_id)
            history = list((target.metadata or {}).get("edits", []))
            history.append({"text": target.text, "edited_at": (edit.edited_at or now()).isoformat()})
            target.metadata = {**(target.metadata or {}), "edits": history[-20:]}
            target.text = edit.text
            target.html = edit.html
            target.edited_at = edit.edited_at or now()
            await target.save(using_db=conn, update_fields=["text", "html", "edited_at", "metadata"])
        await self._publish_update(target)
        return Receipt(stored=True, message_id=target.id, ticket_id=target.ticket_id)

    async def receive_reaction(self, channel: ChannelRuntime, reaction: InboundReaction) -> Receipt:
        async with in_transaction() as conn:
            target = await models.Message.filter(
                channel_id=channel.row_id, external_id=reaction.target_external_id
            ).using_db(conn).select_for_update().first()
            if target is None:
                return Receipt(stored=False)
            who = reaction.sender.canonical
            reactions = dict(target.reactions or {})
            if reaction.emoji:
                if reactions.get(who) == reaction.emoji:
                    return Receipt(stored=False, duplicate=True, message_id=target.id, ticket_id=target.ticket_id)
                reactions[who] = reaction.emoji
            elif who in reactions:
                del reactions[who]
            else:
                return Receipt(stored=False, duplicate=True, message_id=target.id, ticket_id=target.ticket_id)
            target.reactions = reactions
            await target.save(using_db=conn, update_fields=["reactions"])
        await self._publish_update(target)
        return Receipt(stored=True, message_id=target.id, ticket_id=target.ticket_id)

    async def _publish_update(self, message: models.Message) -> None:
        ticket = await models.Ticket.get(id=message.ticket_id)
        self.nexus.events.message_updated(await message_view(message.id), ticket.team_id, ticket.assignee_id)


def _direct(message: InboundMessage) -> bool:
    """Whether the message can take :func:`store_in_active_ticket`: no thread to follow, no
    files, no contact attributes (the ORM path does those); an automatic message never gets here."""
    return not (message.thread_keys or message.ticket_hint or message.attachments or message.contact_attributes)


def _row(channel: ChannelRuntime, identity: models.ContactIdentity, message: InboundMessage,
         received: datetime) -> InboundRow:
    return InboundRow(channel_id=channel.row_id, sender_id=identity.id, external_id=message.external_id,
                      text=message.text, html=message.html, reply_to_external_id=message.reply_to,
                      metadata=message.metadata, sent_at=message.sent_at, received_at=received)


def check_event(channel: ChannelRuntime, event: InboundMessage | InboundEdit | InboundReaction) -> None:
    """Refuse what the database cannot take (a naive provider time, a text that is no
    string) with an error naming the plugin that handed it over, before anything is stored."""
    kind = type(event).__name__
    base = next(cls for cls in EVENT_TIMES if isinstance(event, cls))
    for name in EVENT_TIMES[base]:
        value = getattr(event, name)
        if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
            raise _refused(channel, f"{kind}.{name} = {value!r}: a provider time must be a timezone-aware "
                                    "datetime, such as datetime.fromtimestamp(seconds, UTC)")
    for name in EVENT_TEXTS[base]:
        value = getattr(event, name)
        if value is not None and not isinstance(value, str):
            raise _refused(channel, f"{kind}.{name} = {value!r}: expected a string or None")
    sender = getattr(event, "sender", None)
    if sender is not None:
        if not isinstance(getattr(sender, "address", None), str):
            raise _refused(channel, f"{kind}.sender must be an Identity whose address is a string, not {sender!r}")
        for name in ("key", "display_name", "email", "phone"):
            value = getattr(sender, name)
            if value is not None and not isinstance(value, str):
                raise _refused(channel, f"{kind}.sender.{name} = {value!r}: expected a string or None")


def _refused(channel: ChannelRuntime, problem: str) -> InboundError:
    return InboundError(f"plugin {channel.spec.plugin or 'unknown'!r} (channel {channel.name!r}) handed over {problem}")
