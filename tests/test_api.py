"""The REST API end to end, over a real Hypercorn server on PostgreSQL and Redis: what an agent
does all day, who may see what, and the errors a frontend gets."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta

import pytest

from nexus.db import models
from nexus.types import to_json
from nexus_channel_example import ExampleChannel
from tests.conftest import receive


async def test_an_agents_day(chat_server, chat_api):
    server = chat_server
    await server.agent("lead@example.com", role="admin", password="lead password")
    agent, _ = await server.agent("sam@example.com", role="agent", name="Sam", password="sam password")

    status, login = await server.api("POST", "/auth/login", json={"email": "SAM@example.com", "password": "sam password"})
    assert status == 200
    token = login["token"]
    assert login["agent"]["email"] == "sam@example.com" and login["agent"]["role"] == "agent"
    assert (await server.api("GET", "/me", token)).body["name"] == "Sam"

    await receive(server, "m-1", "alice", "My parcel is lost")
    await receive(server, "m-2", "bob", "Refund please")

    status, page = await server.api("GET", "/tickets", token)
    assert status == 200
    assert [t["subject"] for t in page["items"]] == ["Refund please", "My parcel is lost"]
    lost = page["items"][1]["id"]

    status, conversation = await server.api("GET", f"/tickets/{lost}/messages", token)
    assert [m["text"] for m in conversation["items"]] == ["My parcel is lost"]

    status, reply = await server.api("POST", f"/tickets/{lost}/messages", token, {"text": "Sorry! Looking into it."})
    assert (status, reply["status"], reply["private"]) == (202, "queued", False)
    status, note = await server.api("POST", f"/tickets/{lost}/messages", token, {"text": "Courier is DHL", "private": True})
    assert (status, note["private"], note["status"]) == (201, True, "stored")

    status, ticket = await server.api("PATCH", f"/tickets/{lost}", token,
                                      {"assignee_id": agent.id, "priority": "urgent", "labels": ["shipping", "vip"]})
    assert status == 200
    assert (ticket["assignee_id"], ticket["priority"], ticket["labels"]) == (agent.id, "urgent", ["shipping", "vip"])
    assert ticket["first_response_at"] is not None

    until = (datetime.now(UTC) + timedelta(hours=4)).isoformat()
    status, ticket = await server.api("PATCH", f"/tickets/{lost}", token, {"snoozed_until": until})
    assert (status, ticket["status"]) == (200, "snoozed")
    status, ticket = await server.api("PATCH", f"/tickets/{lost}", token, {"status": "resolved"})
    assert (status, ticket["status"], ticket["snoozed_until"]) == (200, "resolved", None)
    assert ticket["resolved_at"] is not None

    sent = await server.wait_for_status(reply["id"], "sent")
    assert sent.external_id.startswith("out-")
    (request,) = chat_api.requests_to("POST", "/messages")
    assert request.json()["to"] == "alice" and request.json()["text"] == "Sorry! Looking into it."
    assert len(chat_api.requests) == 1, "a private note is never sent"

    status, mine = await server.api("GET", "/tickets", token, params={"assignee": "me", "status": "resolved"})
    assert [t["id"] for t in mine["items"]] == [lost]


async def test_filters_and_search(chat_server):
    server = chat_server
    _, token = await server.agent()
    await receive(server, "f-1", "alice", "Invoice 1042 is wrong")
    await receive(server, "f-2", "bob", "Hello")
    await receive(server, "f-3", "bob", "my invoice too")
    await receive(server, "f-4", "carol", "Password reset")
    tickets = {t.contact.identities[0]["address"]: t.id for t in await server.tickets()}
    await server.api("PATCH", f"/tickets/{tickets['carol']}", token, {"priority": "high", "labels": ["account"]})
    await server.api("PATCH", f"/tickets/{tickets['alice']}", token, {"status": "pending"})

    async def ids(**params):
        status, page = await server.api("GET", "/tickets", token, params=params)
        assert status == 200, page
        return sorted(t["id"] for t in page["items"])

    assert await ids(q="invoice") == sorted([tickets["alice"], tickets["bob"]])
    assert await ids(q=f"#{tickets['carol']}") == [tickets["carol"]]
    assert await ids(status="pending") == [tickets["alice"]]
    assert await ids(status="open,pending") == sorted(tickets.values())
    assert await ids(priority="high") == [tickets["carol"]]
    assert await ids(label="account") == [tickets["carol"]]
    assert await ids(channel="chat") == sorted(tickets.values())
    assert await ids(channel="other") == []
    assert await ids(assignee="none") == sorted(tickets.values())
    assert await ids(team="none") == sorted(tickets.values())


async def test_cursor_pagination_walks_every_ticket_once(chat_server):
    server = chat_server
    _, token = await server.agent()
    for i in range(7):
        await receive(server, f"p-{i}", f"contact-{i}", f"ticket {i}")
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        status, page = await server.api("GET", "/tickets", token, params=params)
        assert status == 200
        seen += [t["subject"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"ticket {i}" for i in reversed(range(7))]
    status, error = await server.api("GET", "/tickets", token, params={"cursor": "garbage"})
    assert (status, error["error"]["code"]) == (400, "invalid_cursor")

    (ticket,) = (await server.tickets())[:1]
    for i in range(5):
        await receive(server, f"pm-{i}", "contact-0", f"more {i}")
    status, first = await server.api("GET", f"/tickets/{ticket.id}/messages", token, params={"limit": 4})
    status, rest = await server.api("GET", f"/tickets/{ticket.id}/messages", token,
                                    params={"limit": 4, "cursor": first["next_cursor"]})
    assert [m["text"] for m in first["items"] + rest["items"]] == ["ticket 0"] + [f"more {i}" for i in range(5)]
    assert rest["next_cursor"] is None


async def test_visibility_rules(chat_server):
    server = chat_server
    support = await models.Team.create(name="Support")
    billing = await models.Team.create(name="Billing")
    admin, admin_token = await server.agent("admin@example.com", role="admin")
    ann, ann_token = await server.agent("ann@example.com", role="agent", team_ids=[support.id])
    ben, ben_token = await server.agent("ben@example.com", role="agent", team_ids=[billing.id])
    for name in ("unassigned", "support", "billing", "ben-only", "ann-in-billing"):
        await receive(server, f"v-{name}", name, name)
    ids = {t.subject: t.id for t in await server.tickets()}
    await server.nexus.tickets.update(ids["support"], {"team_id": support.id})
    await server.nexus.tickets.update(ids["billing"], {"team_id": billing.id})
    await server.nexus.tickets.update(ids["ben-only"], {"assignee_id": ben.id})
    await server.nexus.tickets.update(ids["ann-in-billing"], {"team_id": billing.id, "assignee_id": ann.id})

    async def visible(token):
        status, page = await server.api("GET", "/tickets", token)
        return sorted(t["subject"] for t in page["items"])

    assert await visible(admin_token) == sorted(ids)
    assert await visible(ann_token) == ["ann-in-billing", "support", "unassigned"]
    assert await visible(ben_token) == ["ann-in-billing", "ben-only", "billing", "unassigned"]
    status, error = await server.api("GET", f"/tickets/{ids['billing']}", ann_token)
    assert (status, error["error"]["code"]) == (404, "ticket_not_found")
    for method, path, body in [("PATCH", f"/tickets/{ids['billing']}", {"priority": "low"}),
                               ("GET", f"/tickets/{ids['billing']}/messages", None),
                               ("POST", f"/tickets/{ids['billing']}/messages", {"text": "hi"})]:
        assert (await server.api(method, path, ann_token, body)).status == 404
    message = (await server.messages(external_id="v-billing"))[0]
    assert (await server.request("GET", f"/api/v1/attachments/{message.id}", token=ann_token)).status == 404


async def test_authentication_errors(chat_server):
    server = chat_server
    await server.agent("a@example.com", password="right password")
    status, body = await server.api("GET", "/tickets")
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    assert (await server.api("GET", "/tickets", "nx_not-a-token")).status == 401
    status, body = await server.api("POST", "/auth/login", json={"email": "a@example.com", "password": "wrong"})
    assert (status, body["error"]["code"]) == (401, "invalid_credentials")
    status, login = await server.api("POST", "/auth/login", json={"email": "a@example.com", "password": "right password"})
    assert (await server.api("POST", "/auth/logout", login["token"])).status == 204
    assert (await server.api("GET", "/me", login["token"])).status == 401


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "field"),
    [
        ("PATCH", "/tickets/{ticket}", {"status": "closed"}, 422, "invalid_request", "status"),
        ("PATCH", "/tickets/{ticket}", {"priority": 3}, 422, "invalid_request", "priority"),
        ("PATCH", "/tickets/{ticket}", {"colour": "red"}, 422, "invalid_request", "colour"),
        ("PATCH", "/tickets/{ticket}", {"assignee_id": 999}, 422, "unknown_agent", "assignee_id"),
        ("PATCH", "/tickets/{ticket}", {"labels": ["ok", "not valid!"]}, 422, "invalid_label", "labels"),
        ("PATCH", "/tickets/{ticket}", {"snoozed_until": "2001-01-01T00:00:00Z"}, 422, "snooze_in_past", "snoozed_until"),
        ("PATCH", "/tickets/{ticket}", {"status": "snoozed"}, 422, "snooze_needs_time", "snoozed_until"),
        ("PATCH", "/tickets/999999", {"priority": "low"}, 404, "ticket_not_found", None),
        ("POST", "/tickets/{ticket}/messages", {}, 422, "empty_reply", "text"),
        ("POST", "/tickets/{ticket}/messages", {"text": "x", "attachments": [{"filename": "a", "data": "!!"}]}, 422, "invalid_request", "attachments.0.data"),
        ("POST", "/tickets/{ticket}/messages", {"text": "x", "reply_to_id": 999}, 422, "unknown_reply_to", "reply_to_id"),
        ("POST", "/messages/{message}/retry", None, 409, "not_failed", None),
        ("POST", "/agents", {"email": "not-an-email", "name": "X"}, 422, "invalid_email", "email"),
        ("GET", "/contacts/999", None, 404, "contact_not_found", None),
        ("DELETE", "/tickets/{ticket}", None, 405, "method_not_allowed", None),
        ("GET", "/no/such/thing", None, 404, "not_found", None),
    ],
)
async def test_bad_requests_get_a_json_error_naming_the_problem(chat_server, method, path, body, status, code, field):
    server = chat_server
    _, token = await server.agent()
    await receive(server, "e-1", "alice")
    (ticket,) = await server.tickets()
    (message,) = await server.messages()
    response = await server.api(method, path.format(ticket=ticket.id, message=message.id), token, body)
    assert response.status == status, response.body
    error = response.body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code and error["message"]
    assert isinstance(error["details"], list)
    assert all(set(item) == {"field", "problem"} for item in error["details"])
    if field:
        assert field in [d["field"] for d in error["details"]]
        assert field in error["message"] or code != "invalid_request"


async def test_malformed_json_is_a_400(chat_server):
    _, token = await chat_server.agent()
    response = await chat_server.request("POST", "/api/v1/auth/login", data="{not json",
                                         headers={"Content-Type": "application/json"})
    assert (response.status, response.body["error"]["code"]) == (400, "invalid_json")
    response = await chat_server.request("PATCH", "/api/v1/tickets/1", token=token, data="[1, 2]",
                                         headers={"Content-Type": "application/json"})
    assert response.status in (400, 422) and response.body["error"]["code"] in ("invalid_body", "invalid_request")


async def test_a_reply_with_an_attachment_and_a_canned_response(chat_server, chat_api):
    server = chat_server
    admin, token = await server.agent(name="Robin")
    await receive(server, "c-1", "alice", "Where is my invoice?", name="Alice Liddell")
    (ticket,) = await server.tickets()
    status, canned = await server.api("POST", "/canned-responses", token, {
        "shortcut": "invoice", "title": "Invoice", "body": "Hi {{contact.first_name}}, here it is. {{agent.name}}, ticket #{{ticket.id}}",
    })
    assert status == 201
    status, preview = await server.api("POST", f"/canned-responses/{canned['id']}/render", token, {"ticket_id": ticket.id})
    assert preview["body"] == f"Hi Alice, here it is. Robin, ticket #{ticket.id}"
    pdf = b"%PDF-1.4 fake invoice"
    status, reply = await server.api("POST", f"/tickets/{ticket.id}/messages", token, {
        "canned_response_id": canned["id"],
        "attachments": [{"filename": "invoice.pdf", "content_type": "application/pdf", "data": base64.b64encode(pdf).decode()}],
    })
    assert status == 202
    assert reply["text"] == preview["body"]
    assert [(a["filename"], a["size"]) for a in reply["attachments"]] == [("invoice.pdf", len(pdf))]
    await server.wait_for_status(reply["id"], "sent")
    (sent,) = chat_api.requests_to("POST", "/messages")
    assert base64.b64decode(sent.json()["attachments"][0]["data"]) == pdf
    download = await server.request("GET", reply["attachments"][0]["url"], token=token)
    assert download.status == 200 and download.headers["Content-Disposition"] == "attachment; filename*=UTF-8''invoice.pdf"


async def test_contacts(chat_server):
    server = chat_server
    _, token = await server.agent()
    await receive(server, "ct-1", "alice", name="Alice")
    await receive(server, "ct-2", "bob", name="Bob")
    status, page = await server.api("GET", "/contacts", token, params={"q": "ali"})
    (alice,) = page["items"]
    assert alice["identities"][0]["address"] == "alice"
    status, patched = await server.api("PATCH", f"/contacts/{alice['id']}", token,
                                       {"email": "alice@example.com", "attributes": {"plan": "pro"}})
    assert (status, patched["email"], patched["attributes"]) == (200, "alice@example.com", {"plan": "pro"})
    assert (await server.api("GET", f"/contacts/{alice['id']}", token)).body["name"] == "Alice"


async def test_admin_manages_agents_teams_and_canned_responses(chat_server):
    server = chat_server
    _, admin_token = await server.agent("root@example.com", role="admin")
    _, agent_token = await server.agent("pat@example.com", role="agent")
    status, team = await server.api("POST", "/teams", admin_token, {"name": "Support", "auto_assign": True})
    assert status == 201
    status, kim = await server.api("POST", "/agents", admin_token, {
        "email": "kim@example.com", "name": "Kim", "password": "kims password", "team_ids": [team["id"]],
    })
    assert (status, kim["team_ids"]) == (201, [team["id"]])
    assert (await server.api("POST", "/agents", admin_token, {"email": "kim@example.com", "name": "K"})).status == 409
    assert (await server.api("POST", "/agents", agent_token, {"email": "x@example.com", "name": "X"})).status == 403
    assert (await server.api("POST", "/teams", agent_token, {"name": "Nope"})).status == 403
    assert (await server.api("GET", "/teams", agent_token)).body["items"][0]["member_ids"] == [kim["id"]]
    status, kim = await server.api("PATCH", f"/agents/{kim['id']}", admin_token, {"available": False, "role": "admin"})
    assert (kim["available"], kim["role"]) == (False, "admin")
    status, token = await server.api("POST", f"/agents/{kim['id']}/tokens", admin_token, {"name": "integration", "ttl_days": 0})
    assert status == 201 and token["token"].startswith("nx_") and token["expires_at"] is None
    assert (await server.api("GET", "/me", token["token"])).body["email"] == "kim@example.com"
    assert (await server.api("DELETE", f"/agents/{kim['id']}", admin_token)).status == 204
    assert (await server.api("GET", "/me", token["token"])).status == 401
    assert (await server.api("DELETE", f"/teams/{team['id']}", admin_token)).status == 204
    status, canned = await server.api("POST", "/canned-responses", admin_token, {"shortcut": "hi", "body": "Hello!"})
    assert (await server.api("PATCH", f"/canned-responses/{canned['id']}", admin_token, {"body": "Hi!"})).body["body"] == "Hi!"
    assert (await server.api("GET", "/canned-responses", agent_token)).body["items"][0]["shortcut"] == "hi"
    assert (await server.api("DELETE", f"/canned-responses/{canned['id']}", admin_token)).status == 204


async def test_channels_are_listed_with_their_state(chat_server):
    _, token = await chat_server.agent(role="agent")
    status, body = await chat_server.api("GET", "/channels", token)
    assert body["items"] == [{"name": "chat", "type": "example", "plugin": "example", "enabled": True,
                              "state": "running", "error": None, "last_error_at": None, "next_start_at": None,
                              "details": {}, "description": "Example Chat (a sample JSON chat API)",
                              "capabilities": to_json(ExampleChannel.capabilities)}]


async def test_openapi_document_and_docs_page(chat_server):
    spec = await chat_server.request("GET", "/openapi.json")
    assert spec.status == 200
    paths = spec.body["paths"]
    for path in ("/api/v1/auth/login", "/api/v1/me", "/api/v1/tickets", "/api/v1/tickets/{ticket_id}",
                 "/api/v1/tickets/{ticket_id}/messages", "/api/v1/messages/{message_id}/retry",
                 "/api/v1/contacts", "/api/v1/contacts/{contact_id}", "/api/v1/channels"):
        assert path in paths, path
    assert "requestBody" in paths["/api/v1/tickets/{ticket_id}"]["patch"]
    docs = await chat_server.request("GET", "/docs")
    assert docs.status == 200 and "swagger" in docs.body.lower()


async def test_concurrent_agent_changes_and_inbound_messages_do_not_overwrite_each_other(chat_server):
    server = chat_server
    _, token = await server.agent()
    await receive(server, "cc-0", "alice")
    (ticket,) = await server.tickets()
    await asyncio.gather(
        *(receive(server, f"cc-{i}", "alice", f"message {i}") for i in range(1, 11)),
        server.api("PATCH", f"/tickets/{ticket.id}", token, {"priority": "urgent"}),
        server.api("PATCH", f"/tickets/{ticket.id}", token, {"labels": ["escalated"]}),
    )
    (after,) = await server.tickets()
    assert (after.priority, list(after.labels)) == ("urgent", ["escalated"])
    assert len(await server.messages(ticket_id=ticket.id)) == 11
