"""nexus.delivery.sql: a delivery's hand-written statements behave alike on SQLite and
PostgreSQL, with the lease's and the per-ticket order's conditions."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import pytest_asyncio
from tortoise.exceptions import IntegrityError

from nexus.clock import now
from nexus.db import close_database, models, open_database
from nexus.delivery import sql
from nexus.lease import new_token
from nexus.testing.backends import truncate
from nexus.types import DeliveryStatus
from tests.test_sql import database  # noqa: F401 - the two-dialect fixture

LEASE = timedelta(minutes=1)


@pytest_asyncio.fixture(loop_scope="session")
async def ticket(database):
    """A ticket on channel "chat" to alice, with an inbound message that has a provider id."""
    _, url = database
    await truncate(url)
    ctx = await open_database(url)
    try:
        channel = await models.Channel.create(name="chat", type="example")
        contact = await models.Contact.create(name="Alice")
        identity = await models.ContactIdentity.create(contact=contact, channel_type="example", key="alice",
                                                       address="alice@example.com", display_name="Alice A.",
                                                       profile={"lang": "fr"})
        team = await models.Team.create(name="Support")
        row = await models.Ticket.create(channel=channel, contact=contact, identity=identity, team=team, subject="Help")
        await models.Message.create(ticket=row, channel=channel, direction="inbound", text="hi", external_id="in-1",
                                    status=DeliveryStatus.RECEIVED)
        yield row
    finally:
        await close_database(ctx)


async def reply(ticket: models.Ticket, text: str = "hello", **fields) -> models.Message:
    values = {"direction": "outbound", "status": DeliveryStatus.QUEUED, "text": text, "status_changed_at": now()} | fields
    return await models.Message.create(ticket=ticket, channel_id=ticket.channel_id, **values)


async def claim(message_id: int, token: str | None = None, *, due_by=None):
    at = now()
    return await sql.claim(message_id, token or new_token(), at + LEASE, at, due_by or at + timedelta(seconds=0.5))


async def test_a_claim_reads_everything_the_send_needs(ticket):
    earlier = await models.Message.filter(ticket_id=ticket.id, direction="inbound").first()
    message = await reply(ticket, "hello", html="<p>hello</p>", reply_to=earlier, metadata={"x": 1}, attempts=2)
    token = new_token()
    loaded = await claim(message.id, token)
    assert loaded is not None
    assert (loaded.channel, loaded.subject, loaded.team_id, loaded.assignee_id) == ("chat", "Help", ticket.team_id, None)
    assert (loaded.recipient.address, loaded.recipient.key, loaded.recipient.display_name, loaded.recipient.profile) == \
        ("alice@example.com", "alice", "Alice A.", {"lang": "fr"})
    assert loaded.reply_to_external_id == "in-1"
    assert loaded.thread == ["in-1"]
    assert loaded.has_files is False
    m = loaded.message
    assert (m.id, m.ticket_id, m.text, m.html, m.metadata, m.private, m.direction) == \
        (message.id, ticket.id, "hello", "<p>hello</p>", {"x": 1}, False, "outbound")
    assert (m.status, m.attempts, m.claim_token, m.next_attempt_at) == (DeliveryStatus.SENDING, 3, token, None)
    assert m.created_at.tzinfo is not None and abs(m.created_at - message.created_at) < timedelta(seconds=1)
    stored = await models.Message.get(id=message.id)
    assert (stored.status, stored.claim_token, stored.attempts) == (DeliveryStatus.SENDING, token, 3)
    assert stored.lease_expires_at is not None and stored.lease_expires_at > now()


async def test_the_thread_is_the_last_twenty_provider_ids_oldest_first_and_files_are_noticed(ticket):
    for i in range(25):
        await reply(ticket, status=DeliveryStatus.SENT, external_id=f"out-{i}")
    await reply(ticket, private=True, status=DeliveryStatus.SENT, external_id="note")
    message = await reply(ticket)
    await models.Attachment.create(message=message, filename="a.txt", content_type="text/plain")
    loaded = await claim(message.id)
    assert loaded is not None
    assert loaded.thread == [f"out-{i}" for i in range(5, 25)]
    assert loaded.has_files is True


async def test_of_two_claims_on_one_reply_exactly_one_wins(ticket):
    message = await reply(ticket)
    results = await asyncio.gather(*(claim(message.id) for _ in range(5)))
    assert sum(result is not None for result in results) == 1
    assert await claim(message.id) is None


async def test_only_the_first_pending_reply_of_a_ticket_is_claimed(ticket):
    first, second = await reply(ticket, "one"), await reply(ticket, "two")
    assert await claim(second.id) is None
    token = new_token()
    assert await claim(first.id, token) is not None
    assert await claim(second.id) is None, "the first is sending: still pending"
    at = now()
    assert await sql.finish_sent(first.id, token, at=at, sent_at=at, external_id="p-1")
    assert await claim(second.id) is not None


async def test_what_is_not_a_due_queued_reply_is_not_claimed(ticket):
    inbound = await models.Message.filter(ticket_id=ticket.id, direction="inbound").first()
    assert await claim(inbound.id) is None
    note = await reply(ticket, private=True)
    assert await claim(note.id) is None
    later = await reply(ticket, next_attempt_at=now() + timedelta(minutes=5))
    assert await claim(later.id) is None
    assert await claim(later.id, due_by=now() + timedelta(minutes=6)) is not None
    assert await claim(10**9) is None


async def test_sent_lands_only_with_the_claims_token(ticket):
    message = await reply(ticket, metadata={"x": 1})
    token = new_token()
    assert await claim(message.id, token) is not None
    at = now()
    assert not await sql.finish_sent(message.id, new_token(), at=at, sent_at=at, external_id="p-9")
    assert await sql.finish_sent(message.id, token, at=at, sent_at=at - timedelta(seconds=1), external_id="p-9",
                                 metadata={"x": 1, "provider": {"a": "b"}})
    stored = await models.Message.get(id=message.id)
    assert (stored.status, stored.external_id, stored.metadata, stored.lease_expires_at) == \
        (DeliveryStatus.SENT, "p-9", {"x": 1, "provider": {"a": "b"}}, None)
    assert abs(stored.sent_at - (at - timedelta(seconds=1))) < timedelta(milliseconds=1)


async def test_sent_with_a_provider_id_another_message_has_raises_and_lands_without_it(ticket):
    await reply(ticket, status=DeliveryStatus.SENT, external_id="taken")
    message = await reply(ticket)
    token = new_token()
    assert await claim(message.id, token) is not None
    at = now()
    with pytest.raises(IntegrityError):
        await sql.finish_sent(message.id, token, at=at, sent_at=at, external_id="taken")
    assert await sql.finish_sent(message.id, token, at=at, sent_at=at)
    stored = await models.Message.get(id=message.id)
    assert (stored.status, stored.external_id) == (DeliveryStatus.SENT, None)


async def test_after_sent_finds_the_next_reply_and_waiting_receipts(ticket):
    sent, following = await reply(ticket, status=DeliveryStatus.SENT, external_id="p-1"), await reply(ticket)
    due = now() + timedelta(minutes=5)
    await models.Message.filter(id=following.id).update(next_attempt_at=due)
    after = await sql.after_sent(ticket.id, sent.id, ticket.channel_id, "p-1")
    assert (after.next_id, after.receipts_waiting) == (following.id, False)
    assert abs(after.next_attempt_at - due) < timedelta(milliseconds=1)
    await models.PendingStatus.create(channel_id=ticket.channel_id, external_id="p-1", status=DeliveryStatus.DELIVERED)
    assert (await sql.after_sent(ticket.id, sent.id, ticket.channel_id, "p-1")).receipts_waiting
    assert not (await sql.after_sent(ticket.id, sent.id, ticket.channel_id, None)).receipts_waiting
    assert await sql.next_pending(ticket.id, sent.id) == (following.id, after.next_attempt_at)
    hurried = now()
    assert await sql.hurry(following.id, hurried)
    assert not await sql.hurry(following.id, hurried + timedelta(minutes=1)), "a reply due sooner keeps its time"
    await models.Message.filter(id=following.id).update(status=DeliveryStatus.FAILED)
    after = await sql.after_sent(ticket.id, sent.id, ticket.channel_id, "p-1")
    assert (after.next_id, after.next_attempt_at) == (None, None)
    assert await sql.next_pending(ticket.id, sent.id) is None


async def test_load_reads_a_reply_in_any_status(ticket):
    message = await reply(ticket, status=DeliveryStatus.FAILED, error_code="x", error_text="y")
    loaded = await sql.load(message.id)
    assert loaded is not None
    assert (loaded.message.status, loaded.message.error_code, loaded.thread) == (DeliveryStatus.FAILED, "x", ["in-1"])
    assert await sql.load(10**9) is None
