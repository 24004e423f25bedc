"""nexus.db.inbound_sql: the pipeline's hand-written statements store what the ORM would, on
SQLite and PostgreSQL alike, and let the unique constraints decide races."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import pytest_asyncio
from tortoise.exceptions import IntegrityError

from nexus.db import models
from nexus.db.inbound_sql import InboundRow, contact_with_identities, store_in_active_ticket
from nexus.db.models import TicketStatus
from nexus.pipeline import active_key
from tests.test_sql import database, opened  # noqa: F401 - the two-dialect fixtures

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="session")
async def ticket(opened):
    channel = await models.Channel.create(name="chat", type="example")
    contact = await models.Contact.create(name="Casey")
    identity = await models.ContactIdentity.create(contact=contact, channel_type="example", key="casey",
                                                   address="casey")
    return await models.Ticket.create(
        channel=channel, contact=contact, identity=identity, subject=None, last_message_at=T0,
        active_key=active_key(contact.id, channel.id),
    )


def row(ticket: models.Ticket, external_id: str, received: datetime, **extra) -> InboundRow:
    values = dict(channel_id=ticket.channel_id, sender_id=ticket.identity_id, external_id=external_id, text="Hello",
                  html=None, reply_to_external_id=None, metadata={}, sent_at=None, received_at=received)
    return InboundRow(**(values | extra))


async def test_a_message_lands_in_the_active_ticket_as_the_orm_reads_it(ticket):
    received = T0 + timedelta(minutes=5)
    sent = datetime(2026, 12, 1, 11, 4, tzinfo=timezone(timedelta(hours=2)))
    done = await store_in_active_ticket(
        ticket.active_key, row(ticket, "m-1", received, text="Hi there", html="<p>Hi there</p>",
                               metadata={"lang": "en", "n": [1, 2]}, sent_at=sent),
        "Hi there", received,
    )
    assert done is not None and done.ticket["id"] == ticket.id
    assert (done.previous_status, done.woken, done.labels, done.reply_to_id) == ("open", False, [], None)
    assert (done.ticket["subject"], done.ticket["last_message_at"], done.ticket["updated_at"]) == ("Hi there", received, received)

    stored = await models.Message.get(id=done.message_id)
    assert (stored.ticket_id, stored.channel_id, stored.sender_id, stored.direction, stored.private) == (
        ticket.id, ticket.channel_id, ticket.identity_id, "inbound", False)
    assert (stored.text, stored.html, stored.external_id, stored.status, stored.attempts) == (
        "Hi there", "<p>Hi there</p>", "m-1", "received", 0)
    assert (stored.metadata, stored.reactions, stored.auto_submitted) == ({"lang": "en", "n": [1, 2]}, {}, False)
    assert (stored.created_at, stored.status_changed_at, stored.provider_timestamp) == (received, received, sent)
    reread = await models.Ticket.get(id=ticket.id)
    assert (reread.subject, reread.last_message_at, reread.status) == ("Hi there", received, TicketStatus.OPEN)
    assert {name: getattr(reread, name) for name in done.ticket} == done.ticket


async def test_no_ticket_holding_the_key_stores_nothing(ticket):
    assert await store_in_active_ticket("0:0", row(ticket, "m-1", T0), "x", T0) is None
    assert await models.Message.all().count() == 0


async def test_a_snoozed_ticket_wakes_and_says_what_it_was(ticket):
    until = T0 + timedelta(days=1)
    await models.Ticket.filter(id=ticket.id).update(status=TicketStatus.SNOOZED, snoozed_until=until, subject="Kept")
    await models.TicketLabel.create(ticket_id=ticket.id, name="vip")
    await models.TicketLabel.create(ticket_id=ticket.id, name="billing")
    done = await store_in_active_ticket(ticket.active_key, row(ticket, "m-1", T0 + timedelta(hours=1)), "New", T0)
    assert (done.previous_status, done.previous_snoozed_until, done.woken) == ("snoozed", until, True)
    assert (done.ticket["status"], done.ticket["snoozed_until"], done.ticket["subject"]) == ("open", None, "Kept")
    assert done.labels == ["billing", "vip"]
    reread = await models.Ticket.get(id=ticket.id)
    assert (reread.status, reread.snoozed_until, reread.subject) == (TicketStatus.OPEN, None, "Kept")


async def test_last_activity_never_moves_back(ticket):
    later = T0 + timedelta(hours=3)
    await models.Ticket.filter(id=ticket.id).update(last_message_at=later)
    done = await store_in_active_ticket(ticket.active_key, row(ticket, "m-1", T0 + timedelta(hours=1)), None, T0)
    assert done.ticket["last_message_at"] == later
    assert (await models.Ticket.get(id=ticket.id)).last_message_at == later


async def test_a_reply_points_at_the_message_it_quotes(ticket):
    first = await store_in_active_ticket(ticket.active_key, row(ticket, "m-1", T0), None, T0)
    done = await store_in_active_ticket(ticket.active_key, row(ticket, "m-2", T0, reply_to_external_id="m-1"), None, T0)
    unknown = await store_in_active_ticket(ticket.active_key, row(ticket, "m-3", T0, reply_to_external_id="gone"),
                                           None, T0)
    assert (done.reply_to_id, unknown.reply_to_id) == (first.message_id, None)
    assert (await models.Message.get(id=done.message_id)).reply_to_id == first.message_id
    assert (await models.Message.get(id=unknown.message_id)).reply_to_external_id == "gone"


async def test_a_redelivery_violates_the_unique_key_and_changes_nothing(ticket):
    await store_in_active_ticket(ticket.active_key, row(ticket, "m-1", T0 + timedelta(hours=1)), "First", T0)
    before = await models.Ticket.get(id=ticket.id)
    with pytest.raises(IntegrityError):
        await store_in_active_ticket(ticket.active_key, row(ticket, "m-1", T0 + timedelta(hours=2)), "Second",
                                     T0 + timedelta(hours=2))
    after = await models.Ticket.get(id=ticket.id)
    assert (after.last_message_at, after.updated_at) == (before.last_message_at, before.updated_at)
    assert await models.Message.filter(external_id="m-1").count() == 1


async def test_a_resolved_ticket_holds_no_key(ticket):
    await models.Ticket.filter(id=ticket.id).update(status=TicketStatus.RESOLVED, active_key=None, resolved_at=T0)
    assert await store_in_active_ticket(ticket.active_key, row(ticket, "m-1", T0), None, T0) is None
    assert await models.Message.all().count() == 0


async def test_stored_text_is_searchable(ticket, opened):
    await store_in_active_ticket(ticket.active_key, row(ticket, "m-1", T0, text="the parcel never arrived"), None, T0)
    from nexus.db.sql import fetch_all

    if opened == "postgres":
        hits = await fetch_all("SELECT owner_id FROM search_messages WHERE vector @@ nexus_search_query(?)", "parcel")
    else:
        hits = await fetch_all("SELECT ticket_id AS owner_id FROM messages WHERE id IN "
                               "(SELECT rowid FROM search_messages WHERE search_messages MATCH ?)", "parcel")
    assert [hit["owner_id"] for hit in hits] == [ticket.id]


async def test_a_contact_with_its_identities_in_one_read(ticket):
    contact = await models.Contact.get(id=ticket.contact_id)
    contact.attributes = {"plan": "pro"}
    await contact.save()
    await models.ContactIdentity.create(contact=contact, channel_type="email", key="c@example.com",
                                        address="c@example.com", display_name="C", profile={"x": 1})
    found = await contact_with_identities(contact.id)
    assert found is not None
    row_, identities = found
    assert (row_["id"], row_["name"], row_["attributes"], row_["created_at"]) == (
        contact.id, "Casey", {"plan": "pro"}, contact.created_at)
    assert [(i["channel_type"], i["address"], i["display_name"], i["profile"]) for i in identities] == [
        ("example", "casey", None, {}), ("email", "c@example.com", "C", {"x": 1})]
    lonely = await models.Contact.create(name=None)
    assert await contact_with_identities(lonely.id) == ({"id": lonely.id, "name": None, "email": None, "phone": None,
                                                         "attributes": {}, "created_at": lonely.created_at}, [])
    assert await contact_with_identities(10**6) is None


async def test_the_contact_can_come_back_with_the_stored_message(ticket):
    await models.ContactIdentity.create(contact_id=ticket.contact_id, channel_type="email", key="c@example.com",
                                        address="c@example.com", profile={"lang": "de"})
    await models.Contact.filter(id=ticket.contact_id).update(attributes={"plan": "pro"}, email="c@example.com")
    plain = await store_in_active_ticket(ticket.active_key, row(ticket, "m-1", T0), None, T0)
    assert plain.contact is None
    done = await store_in_active_ticket(ticket.active_key, row(ticket, "m-2", T0), None, T0, with_contact=True)
    assert done.contact == await contact_with_identities(ticket.contact_id)
    contact, identities = done.contact
    assert (contact["email"], contact["attributes"]) == ("c@example.com", {"plan": "pro"})
    assert [i["profile"] for i in identities] == [{}, {"lang": "de"}]
