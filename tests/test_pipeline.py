"""The inbound pipeline: deduplication, contacts, threading, and the concurrency cases, on
PostgreSQL through real webhooks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from nexus.db import models
from nexus.types import Identity, InboundAttachment, InboundMessage
from tests.conftest import chat_config, message_event, post_events, receive


async def test_fifty_messages_from_a_new_contact_give_one_contact_and_one_ticket(chat_server):
    responses = await asyncio.gather(*(
        post_events(chat_server, message_event(f"burst-{i}", "new-contact", f"part {i}")) for i in range(50)
    ))
    assert [r.status for r in responses] == [200] * 50
    assert await models.Contact.all().count() == 1
    assert await models.ContactIdentity.all().count() == 1
    (ticket,) = await chat_server.tickets()
    assert len(await chat_server.messages(ticket_id=ticket.id)) == 50


async def test_the_same_message_posted_five_times_at_once_is_stored_once(chat_server):
    responses = await asyncio.gather(*(post_events(chat_server, message_event("same-1")) for _ in range(5)))
    assert [r.status for r in responses] == [200] * 5
    assert sorted(r.body["stored"] for r in responses) == [0, 0, 0, 0, 1]
    assert len(await chat_server.messages()) == 1
    assert len(await chat_server.tickets()) == 1


async def test_a_webhook_is_answered_only_after_the_message_is_committed(chat_server):
    await receive(chat_server, "committed-1", text="Is it there?")
    # No waiting: the 200 stands for a committed row.
    assert [m.text for m in await chat_server.messages()] == ["Is it there?"]


async def test_messages_from_one_contact_thread_into_the_open_ticket(chat_server):
    await receive(chat_server, "t-1", "alice", "first")
    await receive(chat_server, "t-2", "alice", "second")
    await receive(chat_server, "t-3", "bob", "other person")
    tickets = await chat_server.tickets()
    assert [len(await chat_server.messages(ticket_id=t.id)) for t in tickets] == [2, 1]
    assert tickets[0].subject == "first"


async def test_a_resolved_ticket_reopens_within_the_window(chat_server):
    await receive(chat_server, "r-1", "alice")
    (ticket,) = await chat_server.tickets()
    await chat_server.nexus.tickets.update(ticket.id, {"status": "resolved"})
    await receive(chat_server, "r-2", "alice", "one more thing")
    (reopened,) = await chat_server.tickets()
    assert (reopened.id, reopened.status, reopened.resolved_at) == (ticket.id, "open", None)


async def test_after_the_window_a_new_ticket_is_opened(chat_server):
    await receive(chat_server, "w-1", "alice")
    (ticket,) = await chat_server.tickets()
    await chat_server.nexus.tickets.update(ticket.id, {"status": "resolved"})
    await models.Ticket.filter(id=ticket.id).update(resolved_at=datetime.now(UTC) - timedelta(days=8))
    await receive(chat_server, "w-2", "alice", "new problem")
    old, new = await chat_server.tickets()
    assert (old.status, new.status) == ("resolved", "open")
    assert new.subject == "new problem"


async def test_a_thread_key_wins_over_the_open_ticket(chat_server):
    host = chat_server.nexus.channels.get("chat").host
    alice = Identity("alice", display_name="Alice")
    await host.receive(InboundMessage("k-1", alice, text="about order 1", subject="Order 1"))
    (first,) = await chat_server.tickets()
    await chat_server.nexus.tickets.update(first.id, {"status": "resolved"})
    await models.Ticket.filter(id=first.id).update(resolved_at=datetime.now(UTC) - timedelta(days=30))
    await host.receive(InboundMessage("k-2", alice, text="about order 2", subject="Order 2"))
    # A reply to the first conversation goes back there and reopens it, beside the newer ticket.
    await host.receive(InboundMessage("k-3", alice, text="order 1 again", thread_keys=["x", "k-1"]))
    one, two = await chat_server.tickets()
    assert (one.status, two.status) == ("open", "open")
    assert [m.text for m in await chat_server.messages(ticket_id=one.id)] == ["about order 1", "order 1 again"]
    assert [m.text for m in await chat_server.messages(ticket_id=two.id)] == ["about order 2"]
    # Unthreaded messages keep going to the contact's active ticket.
    await host.receive(InboundMessage("k-4", alice, text="and order 2?"))
    assert (await chat_server.messages(external_id="k-4"))[0].ticket_id == two.id
    # Once that is resolved, the remaining unresolved ticket takes them.
    await chat_server.nexus.tickets.update(two.id, {"status": "resolved"})
    await host.receive(InboundMessage("k-5", alice, text="still there?"))
    assert (await chat_server.messages(external_id="k-5"))[0].ticket_id == one.id


async def test_a_quoted_ticket_number_finds_the_contacts_ticket(chat_server):
    host = chat_server.nexus.channels.get("chat").host
    await host.receive(InboundMessage("h-1", Identity("alice"), text="first"))
    (ticket,) = await chat_server.tickets()
    await chat_server.nexus.tickets.update(ticket.id, {"status": "resolved"})
    await models.Ticket.filter(id=ticket.id).update(resolved_at=datetime.now(UTC) - timedelta(days=30))
    await host.receive(InboundMessage("h-2", Identity("alice"), text="re: first", ticket_hint=ticket.id))
    await host.receive(InboundMessage("h-3", Identity("mallory"), text="not yours", ticket_hint=ticket.id))
    tickets = await chat_server.tickets()
    assert [(t.id, t.status) for t in tickets] == [(ticket.id, "open"), (ticket.id + 1, "open")]
    assert (await chat_server.messages(external_id="h-3"))[0].ticket_id == ticket.id + 1


async def test_a_contact_writing_wakes_a_snoozed_ticket(chat_server):
    await receive(chat_server, "s-1", "alice")
    (ticket,) = await chat_server.tickets()
    await chat_server.nexus.tickets.update(ticket.id, {"snoozed_until": datetime.now(UTC) + timedelta(days=1)})
    assert (await chat_server.tickets())[0].status == "snoozed"
    await receive(chat_server, "s-2", "alice", "hello?")
    (woken,) = await chat_server.tickets()
    assert (woken.status, woken.snoozed_until) == ("open", None)


async def test_a_snoozed_ticket_wakes_when_due(chat_server):
    await receive(chat_server, "d-1", "alice")
    (ticket,) = await chat_server.tickets()
    await chat_server.nexus.tickets.update(ticket.id, {"snoozed_until": datetime.now(UTC) + timedelta(days=1)})
    await models.Ticket.filter(id=ticket.id).update(snoozed_until=datetime.now(UTC) - timedelta(seconds=1))

    async def awake():
        return (await chat_server.tickets())[0].status == "open"

    from nexus.testing import wait_for

    await wait_for(awake, message="the snooze waker to reopen the ticket")


async def test_an_edit_updates_the_stored_message(chat_server):
    await receive(chat_server, "e-1", "alice", "teh typo")
    response = await post_events(chat_server, {"type": "edit", "id": "e-1", "text": "the typo"})
    assert response.body["stored"] == 1
    (message,) = await chat_server.messages()
    assert message.text == "the typo"
    assert message.edited_at is not None
    assert message.metadata["edits"][0]["text"] == "teh typo"


async def test_a_reaction_attaches_to_its_message_and_reopens_nothing(chat_server):
    await receive(chat_server, "x-1", "alice", "thanks!")
    (ticket,) = await chat_server.tickets()
    await chat_server.nexus.tickets.update(ticket.id, {"status": "resolved"})
    await post_events(chat_server, {"type": "reaction", "message_id": "x-1", "from": {"id": "alice"}, "emoji": "👍"})
    (message,) = await chat_server.messages()
    assert message.reactions == {"alice": "👍"}
    assert (await chat_server.tickets())[0].status == "resolved"
    await post_events(chat_server, {"type": "reaction", "message_id": "x-1", "from": {"id": "alice"}, "emoji": ""})
    assert (await chat_server.messages())[0].reactions == {}


async def test_a_reply_links_to_the_message_it_answers(chat_server):
    await receive(chat_server, "q-1", "alice", "question")
    await receive(chat_server, "q-2", "alice", "follow-up", reply_to="q-1")
    first, second = await chat_server.messages()
    assert second.reply_to_id == first.id


async def test_attachments_are_stored_and_oversized_ones_kept_as_placeholders(nexus_server, chat_api):
    async with nexus_server({**chat_config(chat_api), "storage": {"max_attachment_size": 10}}) as server:
        host = server.nexus.channels.get("chat").host
        await host.receive(InboundMessage("a-1", Identity("alice"), text="files", attachments=[
            InboundAttachment("small.txt", "text/plain", b"tiny"),
            InboundAttachment("big.bin", "application/octet-stream", b"x" * 100),
            InboundAttachment("huge.mp4", "video/mp4", None, note="too large for the provider's API (25 MB)"),
        ]))
        (message,) = await server.messages()
        small, big, huge = message.attachments
        assert (small.filename, small.size) == ("small.txt", 4)
        assert big.note == "not stored: larger than storage.max_attachment_size (100 bytes)"
        assert huge.note == "too large for the provider's API (25 MB)"
        _, token = await server.agent()
        download = await server.request("GET", small.url, token=token)
        assert (download.status, download.body) == (200, "tiny")
        assert (await server.request("GET", big.url, token=token)).status == 404


async def test_new_tickets_go_to_the_channels_team_round_robin(nexus_server, chat_api):
    async with nexus_server(chat_config(chat_api, team="Support")) as server:
        team = await models.Team.create(name="Support", auto_assign=True)
        agents = [(await server.agent(f"a{i}@example.com", role="agent", team_ids=[team.id]))[0] for i in range(3)]
        await models.Agent.filter(id=agents[1].id).update(available=False)
        for i in range(4):
            await receive(server, f"rr-{i}", f"contact-{i}")
        tickets = await server.tickets()
        assert [t.team_id for t in tickets] == [team.id] * 4
        assert [t.assignee_id for t in tickets] == [agents[0].id, agents[2].id, agents[0].id, agents[2].id]
