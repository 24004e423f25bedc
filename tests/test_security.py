"""Hostile and careless input against a real server on PostgreSQL and Redis: each probe of
issue 15 gets a 4xx that names the problem (never a 500), unauthenticated bodies stay small,
logins are rate-limited across processes, contacts follow their tickets' visibility, and a
hidden item is indistinguishable from a missing one."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import threading
from urllib.parse import urlsplit

import aiohttp
import pytest

from nexus.accounts import Accounts
from nexus.db import models
from nexus.testing import wait_for
from nexus.testing.server import ApiResponse
from nexus.tickets import NewAttachment
from nexus.types import DeliveryStatus
from tests.conftest import chat_config, free_port, receive
from tests.helpers import NexusProcess
from tests.test_realtime import Listener

MAX_ID = 2**31 - 1


def cursor(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


async def a_ticket(server, sender: str = "alice", text: str = "Hello") -> int:
    await receive(server, f"m-{sender}-{text}", sender, text)
    return next(t.id for t in await server.tickets() if t.contact.identities[0]["address"] == sender)


def assert_error(response, status: int, code: str | None = None, field: str | None = None) -> dict:
    assert response.status == status, (response.status, response.body)
    error = response.body["error"]
    assert set(error) == {"code", "message", "details"} and isinstance(error["details"], list)
    if code:
        assert error["code"] == code, error
    if field:
        assert field in [d["field"] for d in error["details"]], error
    return error


# --- Exhaustion -------------------------------------------------------------------------------


async def test_unauthenticated_bodies_are_limited_to_a_few_kilobytes(chat_server):
    server = chat_server
    _, token = await server.agent()
    ticket = await a_ticket(server)
    padding = "x" * 20_000
    login = await server.request("POST", "/api/v1/auth/login", data=json.dumps({"email": "a@b.c", "password": padding}),
                                 headers={"Content-Type": "application/json"})
    assert_error(login, 413, "payload_too_large")
    largest = json.dumps({"email": "e" * 310 + "@example.c", "password": "\U0001F600" * 1000})  # ASCII escapes
    assert_error(await server.request("POST", "/api/v1/auth/login", data=largest, headers={"Content-Type": "application/json"}),
                 401, "invalid_credentials")
    # Any other endpoint without a valid token: 401 before the body is read, whatever its size.
    big = json.dumps({"text": "y" * 300_000})  # past the limit, small enough to be sent whole
    for auth in (None, "nx_not-a-token"):
        response = await server.request("POST", f"/api/v1/tickets/{ticket}/messages", data=big, token=auth,
                                        headers={"Content-Type": "application/json"})
        assert_error(response, 401, "unauthorized")
    # Authenticated uploads keep the large limit.
    content = b"%PDF" + b"0" * 3_000_000
    attachment = base64.b64encode(content).decode()
    status, reply = await server.api("POST", f"/tickets/{ticket}/messages", token, {
        "text": "the file", "attachments": [{"filename": "big.pdf", "content_type": "application/pdf", "data": attachment}]})
    assert status == 202, reply
    # Decoded and hashed off the event loop, to the same bytes and digest.
    (stored,) = await models.Attachment.filter(message_id=reply["id"])
    assert (stored.size, stored.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    # ... and only they: other authenticated bodies stop at 1 MB.
    response = await server.request("PATCH", f"/api/v1/tickets/{ticket}", token=token,
                                    data=json.dumps({"subject": "z" * 1_100_000}), headers={"Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large")


async def test_failed_logins_are_limited_per_account_and_address_across_processes(tmp_path, cluster_env):
    env, _ = cluster_env
    env = {**env, "NEXUS_AUTH__LOGIN_FAILURES_PER_ACCOUNT": "3", "NEXUS_AUTH__LOGIN_FAILURES_PER_ADDRESS": "5"}
    accounts = Accounts(3600)
    await accounts.create_agent(email="sam@example.com", name="Sam", password="sam's password")
    await accounts.create_agent(email="kim@example.com", name="Kim", password="kim's password")
    ports = free_port(), free_port()
    with NexusProcess(["serve", "--port", str(ports[0])], cwd=tmp_path, env=env, port=ports[0]) as first, \
            NexusProcess(["serve", "--port", str(ports[1])], cwd=tmp_path, env=env, port=ports[1]) as second:
        http = aiohttp.ClientSession()

        async def login(process, email, password):
            async with http.post(f"{process.url}/api/v1/auth/login", json={"email": email, "password": password}) as answer:
                return ApiResponse(answer.status, await answer.json(), dict(answer.headers))

        for process in (first, second, first):  # the failures of both processes add up
            assert_error(await login(process, "sam@example.com", "wrong"), 401, "invalid_credentials")
        refused = await login(second, "sam@example.com", "sam's password")
        error = assert_error(refused, 429, "too_many_attempts", "email")
        assert 1 <= int(refused.headers["Retry-After"]) <= 900 and "try again in" in error["message"]
        assert (await login(first, "kim@example.com", "kim's password")).status == 200, "other accounts still log in"

        for _ in range(2):  # two more failures from this address, on another account: five in all
            assert_error(await login(first, "kim@example.com", "wrong"), 401)
        refused = await login(second, "kim@example.com", "kim's password")
        assert_error(refused, 429, "too_many_attempts", "address")
        await http.close()


async def test_passwords_are_hashed_off_the_event_loop(chat_server, monkeypatch):
    threads = []
    scrypt = hashlib.scrypt

    def recording(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return scrypt(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", recording)
    await chat_server.agent("sam@example.com", password="sam's password")
    assert (await chat_server.api("POST", "/auth/login", json={"email": "sam@example.com", "password": "sam's password"})).status == 200
    assert (await chat_server.api("POST", "/auth/login", json={"email": "nobody@example.com", "password": "x"})).status == 401
    assert len(threads) >= 3 and not any(threads), "scrypt ran on the event loop's thread"


# --- Bad input --------------------------------------------------------------------------------


async def test_bad_bodies_get_a_clear_error(chat_server):
    server = chat_server
    _, token = await server.agent()
    ticket = await a_ticket(server)
    url = f"/api/v1/tickets/{ticket}"
    json_header = {"Content-Type": "application/json"}
    assert_error(await server.request("POST", "/api/v1/auth/login", data=b'{"email": "\xff\xfe"}', headers=json_header),
                 400, "invalid_json")
    assert_error(await server.request("PATCH", url, token=token, data=b'{"subject": "\xe9t\xe9"}', headers=json_header),
                 400, "invalid_json")
    assert_error(await server.request("PATCH", url, token=token, data='{"priority": NaN}', headers=json_header),
                 400, "invalid_json")
    error = assert_error(await server.request("PATCH", url, token=token, data='{"priority": "high"}',
                                              headers={"Content-Type": "text/plain"}), 415, "unsupported_media_type")
    assert "application/json" in error["message"]
    assert_error(await server.request("PATCH", url, token=token, data='{"priority": "high"}'), 415)
    deep = '{"attributes": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"
    contact = (await server.tickets())[0].contact.id
    response = await server.request("PATCH", f"/api/v1/contacts/{contact}", token=token, data=deep, headers=json_header)
    assert response.status in (400, 422) and response.body["error"]["code"] in ("invalid_json", "invalid_request")
    shallow = {"attributes": {"a": {"b": {"c": [1, {"d": 2}]}}}}
    assert (await server.api("PATCH", f"/contacts/{contact}", token, shallow)).status == 200


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("GET", "/tickets?q=a%00b", None, "q"),
    ("GET", "/contacts?q=%00", None, "q"),
    ("GET", "/tickets?label=x%00", None, "label"),
    ("PATCH", "/tickets/{ticket}", {"labels": ["ok", "bad\u0000"]}, "labels.1"),
    ("PATCH", "/tickets/{ticket}", {"subject": "a\u0000b"}, "subject"),
    ("POST", "/tickets/{ticket}/messages", {"text": "hi\u0000"}, "text"),
    ("POST", "/tickets/{ticket}/messages", {"text": "x", "attachments": [{"filename": "a\u0000.txt", "data": "aGk="}]},
     "attachments.0.filename"),
    ("PATCH", "/contacts/{contact}", {"name": "\u0000"}, "name"),
    ("PATCH", "/contacts/{contact}", {"attributes": {"k\u0000": 1}}, "attributes"),
    ("PATCH", "/contacts/{contact}", {"attributes": {"k": ["\u0000"]}}, "attributes.k.0"),
    ("POST", "/teams", {"name": "a\u0000"}, "name"),
    ("POST", "/canned-responses", {"shortcut": "x", "body": "\u0000"}, "body"),
])
async def test_a_nul_character_in_any_string_is_a_422(chat_server, method, path, body, field):
    _, token = await chat_server.agent()
    ticket = await a_ticket(chat_server)
    contact = (await chat_server.tickets())[0].contact.id
    response = await chat_server.api(method, path.format(ticket=ticket, contact=contact), token, body)
    assert_error(response, 422, "invalid_request", field)


async def test_ids_beyond_32_bits_are_refused_where_they_enter(chat_server):
    server = chat_server
    _, token = await server.agent()
    ticket = await a_ticket(server)
    for path in (f"/tickets/{MAX_ID + 1}", f"/tickets/{2**63}/messages", f"/contacts/{10**30}", "/tickets/0",
                 f"/attachments/{MAX_ID + 1}"):
        assert_error(await server.api("GET", path, token), 404)
    assert_error(await server.api("POST", f"/messages/{MAX_ID + 1}/retry", token), 404)
    assert_error(await server.api("PATCH", f"/tickets/{ticket}", token, {"assignee_id": MAX_ID + 1}), 422, field="assignee_id")
    assert_error(await server.api("PATCH", f"/tickets/{ticket}", token, {"team_id": -1}), 422, field="team_id")
    assert_error(await server.api("POST", f"/tickets/{ticket}/messages", token, {"text": "x", "reply_to_id": 2**40}),
                 422, field="reply_to_id")
    assert_error(await server.api("POST", "/teams", token, {"name": "T", "member_ids": [2**31]}), 422)
    for params in ({"assignee": str(MAX_ID + 1)}, {"team": "99999999999999999999"}, {"assignee": "²"}):
        assert_error(await server.api("GET", "/tickets", token, params=params), 422, field=next(iter(params)))
    status, page = await server.api("GET", "/tickets", token, params={"q": f"#{MAX_ID + 1}"})
    assert (status, page["items"]) == (200, [])
    assert (await server.api("GET", "/tickets", token, params={"q": f"#{ticket}"})).body["items"][0]["id"] == ticket
    for q in ("#²", "#١٢٣", "#"):  # not ASCII digits: searched as words
        assert (await server.api("GET", "/tickets", token, params={"q": q})).status == 200


@pytest.mark.parametrize("crafted", [
    cursor(MAX_ID + 1), cursor(-5), cursor("x"), cursor(1.5), cursor(True), cursor([1]), cursor(None),
    cursor("2024-01-01T00:00:00", 5), cursor("0001-01-01T00:00:00+05:00", 5), cursor("2024-01-01T00:00:00+00:00", 2**40),
    cursor(1, 2, 3), "!!!", base64.urlsafe_b64encode(b"[" * 5000).decode(), base64.urlsafe_b64encode(b"\xff").decode(),
])
async def test_a_crafted_cursor_is_a_400_on_every_list(chat_server, crafted):
    _, token = await chat_server.agent()
    ticket = await a_ticket(chat_server)
    for path in ("/tickets", f"/tickets/{ticket}/messages", "/contacts", "/deliveries", "/inbound-events"):
        assert_error(await chat_server.api("GET", path, token, params={"cursor": crafted}), 400, "invalid_cursor", "cursor")


async def test_filters_and_fields_that_made_500s(chat_server):
    server = chat_server
    _, token = await server.agent()
    ticket = await a_ticket(server)
    assert_error(await server.api("GET", "/tickets", token, params={"priority": "extreme"}), 422, field="priority")
    # Longer than any channel name or label can be: a 422, not a 500 from the ORM's check.
    for path, name, length in [("/tickets", "channel", 65), ("/tickets", "label", 101), ("/deliveries", "channel", 65),
                               ("/inbound-events", "channel", 65)]:
        assert_error(await server.api("GET", path, token, params={name: "x" * length}), 422, field=name)
    assert (await server.api("GET", "/tickets", token, params={"priority": "high,urgent"})).status == 200
    assert_error(await server.api("POST", "/me/tokens", token, {"ttl_days": 1e308}), 422, field="ttl_days")
    assert_error(await server.api("POST", "/me/tokens", token, {"ttl_days": 3651}), 422, field="ttl_days")
    for until in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+12:00", "3000-01-01T00:00:00Z"):
        assert_error(await server.api("PATCH", f"/tickets/{ticket}", token, {"snoozed_until": until}), 422,
                     field="snoozed_until")


async def test_explicit_null_on_a_field_that_cannot_be_cleared_is_a_422(chat_server):
    server = chat_server
    admin, token = await server.agent()
    other, _ = await server.agent("pat@example.com", role="agent")
    _, team = await server.api("POST", "/teams", token, {"name": "Support"})
    _, canned = await server.api("POST", "/canned-responses", token, {"shortcut": "hi", "body": "Hello"})
    for path, field in [(f"/agents/{other.id}", "name"), (f"/agents/{other.id}", "role"),
                        (f"/agents/{other.id}", "password"), (f"/agents/{other.id}", "is_active"),
                        (f"/agents/{other.id}", "available"), (f"/agents/{other.id}", "team_ids"),
                        (f"/teams/{team['id']}", "name"), (f"/teams/{team['id']}", "auto_assign"),
                        (f"/teams/{team['id']}", "member_ids"), (f"/canned-responses/{canned['id']}", "shortcut"),
                        (f"/canned-responses/{canned['id']}", "body")]:
        assert_error(await server.api("PATCH", path, token, {field: None}), 422, "invalid_request", field)
    assert_error(await server.api("PATCH", f"/agents/{admin.id}", token, {"role": "agent"}), 409, "cannot_change_own_role")
    # What may be cleared still can.
    assert (await server.api("PATCH", f"/canned-responses/{canned['id']}", token, {"title": None})).status == 200


async def test_reply_text_and_the_deprecated_body_alias(chat_server, chat_api):
    server = chat_server
    _, token = await server.agent()
    ticket = await a_ticket(server)
    status, reply = await server.api("POST", f"/tickets/{ticket}/messages", token, {"body": "old clients still work"})
    assert (status, reply["text"]) == (202, "old clients still work")
    assert_error(await server.api("POST", f"/tickets/{ticket}/messages", token, {"text": "a", "body": "b"}), 422)
    status, note = await server.api("POST", f"/tickets/{ticket}/messages", token, {"text": "internal", "private": True})
    assert (status, note["status"], note["sent_at"]) == (201, "stored", None)
    await server.settle()
    assert [r.json()["text"] for r in chat_api.requests_to("POST", "/messages")] == ["old clients still work"]


async def test_a_contact_has_email_and_phone_as_fields(chat_server):
    server = chat_server
    _, token = await server.agent()
    await a_ticket(server)
    contact = (await server.tickets())[0].contact.id
    status, body = await server.api("PATCH", f"/contacts/{contact}", token,
                                    {"email": " ALICE@example.com ", "phone": "+4930123", "attributes": {"plan": "pro"}})
    assert status == 200
    assert (body["email"], body["phone"], body["attributes"]) == ("ALICE@example.com", "+4930123", {"plan": "pro"})
    assert_error(await server.api("PATCH", f"/contacts/{contact}", token, {"attributes": {"email": "x@y.z"}}), 422,
                 field="attributes")
    status, body = await server.api("PATCH", f"/contacts/{contact}", token, {"attributes": {"plan": None, "tier": 2}})
    assert body["attributes"] == {"tier": 2}, "null removes a key"
    status, page = await server.api("GET", f"/tickets/{(await server.tickets())[0].id}", token)
    assert page["contact"]["email"] == "ALICE@example.com" and "email" not in page["contact"]["attributes"]


async def test_an_attachment_whose_content_type_breaks_headers(chat_server, chat_api):
    server = chat_server
    _, token = await server.agent()
    ticket = await a_ticket(server)
    bad = {"filename": "a.txt", "content_type": "text/plain\r\nX-Injected: 1", "data": "aGk="}
    assert_error(await server.api("POST", f"/tickets/{ticket}/messages", token, {"text": "x", "attachments": [bad]}),
                 422, "invalid_request", "attachments.0.content_type")
    # A reply stored with such a type before this check fails at once, for good, and does not
    # hold up the ticket's next reply.
    stuck = await server.nexus.tickets.reply(ticket, "old", author=None, attachments=[
        NewAttachment("a.txt", "text/plain\r\nX-Injected: 1", b"hi")])
    failed = await server.wait_for_status(stuck.id, "failed", "sent")
    assert (failed.status, failed.error_code, failed.attempts) == ("failed", "invalid_attachment", 1)
    status, following = await server.api("POST", f"/tickets/{ticket}/messages", token, {"text": "next"})
    assert (await server.wait_for_status(following["id"], "sent")).status == "sent"
    download = await server.request("GET", failed.attachments[0].url, token=token)
    assert download.status == 200 and download.headers["Content-Type"] == "application/octet-stream"
    assert "X-Injected" not in download.headers


# --- Who sees what --------------------------------------------------------------------------


async def test_contacts_follow_the_visibility_of_their_tickets(chat_server):
    server = chat_server
    support = await models.Team.create(name="Support")
    billing = await models.Team.create(name="Billing")
    _, admin_token = await server.agent("admin@example.com", role="admin")
    ann, ann_token = await server.agent("ann@example.com", role="agent", team_ids=[support.id])
    _, ben_token = await server.agent("ben@example.com", role="agent", team_ids=[billing.id])
    secret = await a_ticket(server, "secret-customer", "my account number is 42")
    await server.nexus.tickets.update(secret, {"team_id": support.id})
    listener = await Listener().connect(server.url, ben_token)
    try:
        shared = await a_ticket(server, "open-customer", "anyone there?")
        secret_contact = next(t.contact.id for t in await server.tickets() if t.id == secret)
        shared_contact = next(t.contact.id for t in await server.tickets() if t.id == shared)

        async def listed(token, **params):
            status, page = await server.api("GET", "/contacts", token, params=params)
            assert status == 200
            return sorted(c["id"] for c in page["items"])

        assert await listed(admin_token) == sorted([secret_contact, shared_contact])
        assert await listed(ann_token) == sorted([secret_contact, shared_contact])
        assert await listed(ben_token) == [shared_contact]
        assert await listed(ben_token, q="secret") == []
        hidden = await server.api("GET", f"/contacts/{secret_contact}", ben_token)
        missing = await server.api("GET", f"/contacts/{MAX_ID}", ben_token)
        assert_error(hidden, 404, "contact_not_found")
        assert hidden.body["error"]["message"].replace(str(secret_contact), "N") == \
            missing.body["error"]["message"].replace(str(MAX_ID), "N")
        assert_error(await server.api("PATCH", f"/contacts/{secret_contact}", ben_token, {"name": "pwned"}), 404)
        assert (await models.Contact.get(id=secret_contact)).name != "pwned"
        assert (await server.api("GET", f"/contacts/{secret_contact}", ann_token)).status == 200

        await receive(server, "after", "secret-customer", "second message")
        await server.api("PATCH", f"/contacts/{secret_contact}", admin_token, {"name": "Secret Customer"})
        await receive(server, "last", "open-customer", "still there?")
        await listener.wait("message.created", lambda m: m["text"] == "still there?")
        for name, data in listener.events:
            assert "secret-customer" not in json.dumps(data) and "Secret Customer" not in json.dumps(data), \
                f"{name} carried the hidden contact"
        # The contact's open ticket moves to Billing: now Ben sees the contact too.
        await server.nexus.tickets.update(secret, {"team_id": billing.id})
        assert await listed(ben_token) == sorted([secret_contact, shared_contact])
    finally:
        await listener.close()


async def test_not_found_and_not_visible_are_the_same_answer(chat_server):
    server = chat_server
    team = await models.Team.create(name="Support")
    _, admin_token = await server.agent("admin@example.com", role="admin")
    _, outsider = await server.agent("out@example.com", role="agent")
    ticket = await a_ticket(server)
    await server.nexus.tickets.update(ticket, {"team_id": team.id})
    status, reply = await server.api("POST", f"/tickets/{ticket}/messages", admin_token, {
        "text": "file", "attachments": [{"filename": "a.txt", "content_type": "text/plain", "data": "aGk="}]})
    await models.Message.filter(id=reply["id"]).update(status=DeliveryStatus.FAILED)
    attachment = reply["attachments"][0]["id"]
    for hidden, missing in [(f"/api/v1/attachments/{attachment}", f"/api/v1/attachments/{MAX_ID}"),
                            (f"/api/v1/tickets/{ticket}", f"/api/v1/tickets/{MAX_ID}")]:
        seen = await server.request("GET", hidden, token=outsider)
        absent = await server.request("GET", missing, token=outsider)
        assert seen.status == absent.status == 404
        assert seen.body["error"]["code"] == absent.body["error"]["code"]
        assert seen.body["error"]["message"].split(" ", 2)[2] == absent.body["error"]["message"].split(" ", 2)[2]
    seen = await server.api("POST", f"/messages/{reply['id']}/retry", outsider)
    absent = await server.api("POST", f"/messages/{MAX_ID}/retry", outsider)
    assert seen.status == absent.status == 404 and seen.body["error"]["code"] == absent.body["error"]["code"]
    assert (await models.Message.get(id=reply["id"])).status == DeliveryStatus.FAILED, "nothing was retried"


async def test_deleting_a_team_moves_its_tickets_to_a_chosen_team(chat_server):
    server = chat_server
    old = await models.Team.create(name="Old")
    new = await models.Team.create(name="New")
    _, admin_token = await server.agent("admin@example.com", role="admin")
    _, outsider = await server.agent("out@example.com", role="agent")
    moved, dropped = await a_ticket(server, "alice"), await a_ticket(server, "bob")
    await server.nexus.tickets.update(moved, {"team_id": old.id})
    assert (await server.api("GET", f"/tickets/{moved}", outsider)).status == 404
    listener = await Listener().connect(server.url, admin_token)
    try:
        assert_error(await server.api("DELETE", f"/teams/{old.id}?move_to={old.id}", admin_token), 422, field="move_to")
        assert_error(await server.api("DELETE", f"/teams/{old.id}?move_to={MAX_ID}", admin_token), 422, field="move_to")
        assert (await server.api("DELETE", f"/teams/{old.id}?move_to={new.id}", admin_token)).status == 204
        assert (await models.Ticket.get(id=moved)).team_id == new.id
        assert (await server.api("GET", f"/tickets/{moved}", outsider)).status == 404, "still hidden from outsiders"
        update = await listener.wait("ticket.updated", lambda t: t["id"] == moved)
        assert (update["team_id"], update["changes"]) == (new.id, {"team_id": old.id})
        # Without move_to the tickets lose their team, as docs/api.md warns.
        await server.nexus.tickets.update(dropped, {"team_id": new.id})
        assert (await server.api("DELETE", f"/teams/{new.id}", admin_token)).status == 204
        assert (await server.api("GET", f"/tickets/{dropped}", outsider)).status == 200
    finally:
        await listener.close()


async def test_metrics_and_readiness_can_need_a_token_or_an_address(nexus_server, chat_api):
    guarded = chat_config(chat_api) | {"server": {"monitoring_token": "s3cret-monitoring"}}
    async with nexus_server(guarded) as server:
        for path in ("/metrics", "/readyz"):
            assert_error(await server.request("GET", path), 401, "unauthorized")
            assert_error(await server.request("GET", path, token="wrong"), 401)
            assert (await server.request("GET", path, token="s3cret-monitoring")).status == 200
        assert (await server.request("GET", "/healthz")).status == 200, "liveness stays open"
    elsewhere = chat_config(chat_api) | {"server": {"monitoring_networks": ["10.0.0.0/8"]}}
    async with nexus_server(elsewhere) as server:
        assert_error(await server.request("GET", "/metrics"), 403, "forbidden")
        assert_error(await server.request("GET", "/readyz"), 403)
    loopback = chat_config(chat_api) | {"server": {"monitoring_networks": ["127.0.0.0/8"]}}
    async with nexus_server(loopback) as server:
        assert (await server.request("GET", "/metrics")).status == 200


async def test_browsers_of_the_configured_origins_may_call_the_api(nexus_server, chat_api):
    async with nexus_server(chat_config(chat_api) | {"server": {"cors_origins": ["https://console.example.com"]}}) as server:
        _, token = await server.agent()
        preflight = await server.request("OPTIONS", "/api/v1/tickets", headers={
            "Origin": "https://console.example.com", "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert preflight.status == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://console.example.com"
        assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
        assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
        answer = await server.request("GET", "/api/v1/tickets", token=token, headers={"Origin": "https://console.example.com"})
        assert answer.headers["Access-Control-Allow-Origin"] == "https://console.example.com"
        assert "Retry-After" in answer.headers["Access-Control-Expose-Headers"]
        stranger = await server.request("GET", "/api/v1/tickets", token=token, headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in stranger.headers


class TcpProxy:
    """A TCP forwarder to PostgreSQL that a test can cut, as a network partition or a
    database restart would."""

    def __init__(self, host: str, port: int, listen: int | None = None) -> None:
        self.target = (host, port)
        self.server: asyncio.Server | None = None
        self.port = listen or free_port()
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> TcpProxy:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        return self

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.links |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        for writer in self.links:
            writer.close()
        self.links.clear()


async def test_a_database_outage_is_a_503_with_retry_after(nexus_server, chat_api, nexus_backends):
    url = urlsplit(nexus_backends.database_url)
    proxy = await TcpProxy(url.hostname, url.port or 5432).start()
    through_proxy = url._replace(netloc=f"{url.username}@127.0.0.1:{proxy.port}").geturl()
    async with nexus_server(chat_config(chat_api) | {"database": {"url": through_proxy}}) as server:
        _, token = await server.agent()
        assert (await server.api("GET", "/tickets", token)).status == 200
        await proxy.cut()
        for path in ("/tickets", "/me", "/contacts"):
            answer = await server.api("GET", path, token)
            assert_error(answer, 503, "database_unavailable")
            assert answer.headers["Retry-After"] == "5"
        proxy = await TcpProxy(url.hostname, url.port or 5432, listen=proxy.port).start()

        async def back() -> bool:
            return (await server.api("GET", "/me", token)).status == 200

        await wait_for(back, timeout=20, message="the database to be back")
    await proxy.cut()


async def test_sockets_from_the_configured_origins_and_nexus_itself_connect(nexus_server, chat_api):
    """With server.cors_origins set, Engine.IO checks every socket's Origin: the configured ones
    and Nexus's own (the console it serves) connect, any other site is refused."""
    import socketio

    async def connects(server, token: str, origin: str) -> bool:
        client = socketio.AsyncClient(reconnection=False)
        try:
            await client.connect(server.url, auth={"token": token}, headers={"Origin": origin},
                                 transports=["websocket"], wait_timeout=10)
        except socketio.exceptions.ConnectionError:
            return False
        await client.disconnect()
        return True

    async with nexus_server(chat_config(chat_api) | {"server": {"cors_origins": ["https://console.example.com"]}}) as server:
        _, token = await server.agent()
        assert await connects(server, token, "https://console.example.com")
        assert await connects(server, token, server.url), "the console Nexus serves itself is refused"
        assert not await connects(server, token, "https://evil.example")
