"""The inbound pipeline: deduplication, contacts, threading, and the concurrency cases, on
PostgreSQL through real webhooks."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from nexus.db import models
from nexus.pipeline import InboundError
from nexus.types import Identity, InboundAttachment, InboundEdit, InboundMessage, InboundReaction
from tests.conftest import CHAT_SECRET, chat_config, free_port, message_event, post_events, receive
from tests.helpers import NexusProcess


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


# --- Time: the provider's for display, Nexus's for tickets ------------------------------


async def test_a_naive_provider_time_is_refused_naming_the_plugin(chat_server):
    runtime = chat_server.nexus.channels.get("chat")
    naive = datetime(2026, 1, 1, 12, 0)
    events = [
        InboundMessage("naive-1", Identity("alice"), text="hi", sent_at=naive),
        InboundEdit("naive-1", text="edited", edited_at=naive),
        InboundReaction("naive-1", Identity("alice"), "👍", reacted_at=naive),
    ]
    for event in events:
        with pytest.raises(InboundError) as refused:
            await runtime.host.receive(event)
        problem = str(refused.value)
        assert f"plugin {runtime.spec.plugin!r} (channel 'chat')" in problem
        assert "timezone-aware" in problem and type(event).__name__ in problem
    for wrong in (InboundMessage("typed-1", Identity("alice"), text=42),
                  InboundMessage("typed-2", Identity("alice", display_name=["Alice"]))):
        with pytest.raises(InboundError, match=r"plugin .* \(channel 'chat'\) handed over InboundMessage\..*expected a string"):
            await runtime.host.receive(wrong)
    assert await chat_server.messages() == [] and await chat_server.tickets() == []


async def test_tickets_run_on_the_time_nexus_received_a_message(chat_server):
    host = chat_server.nexus.channels.get("chat").host
    alice = Identity("alice", display_name="Alice")
    await host.receive(InboundMessage("clock-1", alice, text="first"))
    (old,) = await chat_server.tickets()
    await chat_server.nexus.tickets.update(old.id, {"status": "resolved"})
    await models.Ticket.filter(id=old.id).update(resolved_at=datetime.now(UTC) - timedelta(days=30))
    # A clock stuck in 2001 does not pull the message into the reopen window.
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)
    await host.receive(InboundMessage("clock-2", alice, text="from a broken clock", sent_at=long_ago))
    # A clock a year ahead does not make its ticket the most recent.
    ahead = datetime.now(UTC).replace(microsecond=0) + timedelta(days=365)
    await host.receive(InboundMessage("clock-3", Identity("bob"), text="from the future", sent_at=ahead))
    await host.receive(InboundMessage("clock-4", Identity("carol"), text="on time"))
    tickets = {t.subject: t for t in await chat_server.tickets()}
    assert tickets["first"].status == "resolved" and tickets["from a broken clock"].status == "open"
    _, token = await chat_server.agent()
    listed = await chat_server.api("GET", "/tickets", token, params={"status": "open"})
    assert [t["subject"] for t in listed.body["items"]] == ["on time", "from the future", "from a broken clock"]
    shown = {m.text: m for m in await chat_server.messages()}
    assert shown["from a broken clock"].sent_at == long_ago
    assert shown["from the future"].sent_at == ahead
    assert tickets["from the future"].last_message_at == shown["from the future"].received_at


async def test_the_openapi_schema_documents_the_inbound_fields(chat_server):
    document = (await chat_server.request("GET", "/openapi.json")).body
    schemas = document["components"]["schemas"]
    message = schemas["MessageView"]["properties"]
    assert {"sent_at", "received_at", "auto_submitted"} <= set(message)
    assert "inline" in schemas["AttachmentView"]["properties"]
    assert "received_at" in (schemas["MessageView"].get("description") or "")
    (events,) = [op for path, ops in document["paths"].items() if path == "/api/v1/inbound-events" for op in ops.values()]
    status = next(p for p in events["parameters"] if p["name"] == "status")
    assert "ignored" in json.dumps(status)


# --- Contacts: what plugins know about them -----------------------------------------------


async def test_an_identitys_email_and_phone_fill_the_contact_on_any_channel(chat_server):
    host = chat_server.nexus.channels.get("chat").host
    await host.receive(InboundMessage("id-1", Identity("dana", display_name="Dana")))
    (ticket,) = await chat_server.tickets()
    assert (ticket.contact.email, ticket.contact.phone) == (None, None)
    # The channel learns them later (a contact card): they fill the empty fields.
    await host.receive(InboundMessage("id-2", Identity("dana", email="dana@example.com", phone="+4930123456")))
    contact = await models.Contact.get(id=ticket.contact.id)
    assert (contact.email, contact.phone) == ("dana@example.com", "+4930123456")
    # An agent's own value is never overwritten by a plugin's.
    await models.Contact.filter(id=contact.id).update(phone="+49 30 999")
    await host.receive(InboundMessage("id-3", Identity("dana", phone="+4930000000")))
    assert (await models.Contact.get(id=contact.id)).phone == "+49 30 999"
    # A new contact starts with them.
    await host.receive(InboundMessage("id-4", Identity("erin", email="erin@example.com", phone="+15550100")))
    erin = await models.Contact.get(name=None, email="erin@example.com")
    assert erin.phone == "+15550100"
    canned = await models.CannedResponse.create(shortcut="reach", body="{{contact.email}} / {{contact.phone}}")
    erins = await models.Ticket.get(contact_id=erin.id)
    assert await chat_server.nexus.tickets.render_canned(canned, erins.id, None) == "erin@example.com / +15550100"


async def test_contact_attributes_from_a_message_are_merged(chat_server):
    host = chat_server.nexus.channels.get("chat").host
    await host.receive(InboundMessage("attr-1", Identity("fay"), text="/start ad-42",
                                      contact_attributes={"source": "ad-42"}))
    (ticket,) = await chat_server.tickets()
    _, token = await chat_server.agent()
    await chat_server.api("PATCH", f"/contacts/{ticket.contact.id}", token, {"attributes": {"plan": "pro"}})
    await host.receive(InboundMessage("attr-2", Identity("fay"), text="/start ad-43",
                                      contact_attributes={"source": "ad-43"}))
    contact = await chat_server.api("GET", f"/contacts/{ticket.contact.id}", token)
    assert (contact.body["attributes"]["source"], contact.body["attributes"]["plan"]) == ("ad-43", "pro")


# --- Automatic messages ---------------------------------------------------------------


async def test_an_automatic_message_changes_no_ticket_and_one_without_a_ticket_is_kept(chat_server):
    host = chat_server.nexus.channels.get("chat").host
    await host.receive(InboundMessage("auto-0", Identity("gus"), text="help"))
    (before,) = await chat_server.tickets()
    await chat_server.nexus.tickets.update(before.id, {"status": "resolved"})
    (before,) = await chat_server.tickets()
    # Threaded by key into the resolved ticket: stored there, the ticket untouched.
    receipt = await host.receive(InboundMessage("auto-1", Identity("gus"), text="I am away", thread_keys=["auto-0"],
                                                auto_submitted=True))
    assert receipt.stored and receipt.ticket_id == before.id
    (after,) = await chat_server.tickets()
    assert (after.status, after.resolved_at, after.last_message_at, after.updated_at) == (
        "resolved", before.resolved_at, before.last_message_at, before.updated_at)
    # A resolved ticket is not "open" for an unthreaded one, and a stranger has none: kept aside.
    for external_id, sender in (("auto-2", "gus"), ("auto-3", "stranger")):
        receipt = await host.receive(InboundMessage(external_id, Identity(sender), text="away", auto_submitted=True))
        assert (receipt.stored, receipt.duplicate) == (False, False) and "threads into no ticket" in receipt.ignored
    again = await host.receive(InboundMessage("auto-3", Identity("stranger"), text="away", auto_submitted=True))
    assert again.duplicate and again.ignored
    assert len(await chat_server.tickets()) == 1
    assert not await models.ContactIdentity.exists(key="stranger")
    kept = await models.InboundEvent.filter(status="ignored").order_by("id")
    assert [e.external_id for e in kept] == ["auto-2", "auto-3"]


# --- Text a database cannot store -----------------------------------------------------


async def test_nul_and_lone_surrogates_are_made_storable_everywhere(chat_server):
    host = chat_server.nexus.channels.get("chat").host
    receipt = await host.receive(InboundMessage(
        "nul\x00-1", Identity("hal\x00", display_name="Hal\x00 \ud800", profile={"nick\x00": "h\x00"}),
        text="text\x00 \udfff", html="<p>h\x00</p>", subject="sub\x00ject",
        attachments=[InboundAttachment("fi\x00le.txt", "text/plain", b"data", note="n\x00")],
        metadata={"k\x00": ["v\x00", {"deep\x00": "\ud83d"}]}, contact_attributes={"src\x00": "ad\x00"},
    ))
    assert receipt.stored
    (message,) = await chat_server.messages()
    assert (message.external_id, message.text, message.html) == ("nul-1", "text \ufffd", "<p>h</p>")
    assert message.metadata == {"k": ["v", {"deep": "\ufffd"}]}
    assert message.attachments[0].filename == "file.txt" and message.attachments[0].note == "n"
    (ticket,) = await chat_server.tickets()
    assert ticket.subject == "subject" and ticket.contact.name == "Hal \ufffd"
    assert ticket.contact.attributes["src"] == "ad"
    assert ticket.contact.identities[0]["profile"] == {"nick": "h"}
    await host.receive(InboundEdit("nul-1", text="edit\x00ed"))
    assert (await chat_server.messages())[0].text == "edited"


# --- Teams ----------------------------------------------------------------------------


async def test_a_deleted_or_recreated_team_counts_at_once_in_every_process(nexus_server, nexus_backends, chat_api,
                                                                             tmp_path):
    """Two API processes on one database: a team deleted through one is no longer given to
    new tickets by the other (which gave it to its earlier tickets), and a team of that name
    created again is given at once."""
    if nexus_backends.dialect != "postgres" or not nexus_backends.redis_url:
        pytest.fail("this test needs PostgreSQL and Redis (NEXUS_TEST_DATABASE, NEXUS_TEST_REDIS)")
    port = free_port()
    env = {
        "DATABASE_URL": nexus_backends.database_url, "REDIS_URL": nexus_backends.redis_url,
        "NEXUS_REDIS__NAMESPACE": nexus_backends.namespace(), "NEXUS_DATABASE__MIGRATE_ON_START": "false",
        "NEXUS_CHANNELS__CHAT__TYPE": "example", "NEXUS_CHANNELS__CHAT__API_URL": chat_api.url,
        "NEXUS_CHANNELS__CHAT__TOKEN": "chat-token", "NEXUS_CHANNELS__CHAT__SECRET": CHAT_SECRET,
        "NEXUS_CHANNELS__CHAT__TEAM": "Sales",
    }
    other = NexusProcess(["serve", "--port", str(port), "--no-delivery-worker", "--no-receivers"],
                         cwd=tmp_path, env=env, port=port)
    async with nexus_server(chat_config(chat_api, team="Sales")) as here, aiohttp.ClientSession() as http:
        other.start()
        try:
            other.wait_ready()
            there = WebhookClient(other.url, http)
            _, token = await here.agent()
            created = await here.api("POST", "/teams", token, {"name": "Sales"})
            assert (await post_events(there, message_event("team-1", "alice"))).status == 200
            assert [t.team_id for t in await here.tickets()] == [created.body["id"]]

            assert (await here.api("DELETE", f"/teams/{created.body['id']}", token)).status == 204
            assert (await post_events(there, message_event("team-2", "bob"))).status == 200
            recreated = await here.api("POST", "/teams", token, {"name": "Sales"})
            assert (await post_events(there, message_event("team-3", "carol"))).status == 200
        finally:
            other.stop()
        teams = {t.contact.identities[0]["address"]: t.team_id for t in await here.tickets()}
        assert teams == {"alice": None, "bob": None, "carol": recreated.body["id"]}
        assert recreated.body["id"] != created.body["id"]


class WebhookClient:
    """Posts webhooks to a Nexus running as another process."""

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url, self.http = url, http

    async def post_webhook(self, channel: str, body: bytes, headers: dict[str, str]):
        async with self.http.post(f"{self.url}/webhooks/example/{channel}", data=body, headers=headers) as response:
            return type("Answer", (), {"status": response.status, "body": await response.text()})()
