"""The widget's API over real HTTP and Socket.IO: sessions, messages, files, history, pushes
and receipts, origins, identity verification and rate limits."""

from __future__ import annotations

import pytest
import socketio
from nexus_webchat import identity_hash
from webchat_client import WebchatClient, webchat_settings


pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_visitor_writes_and_the_ticket_opens(site, visitors):
    visitor = await visitors()
    assert visitor.session["greeting"] and visitor.session["channel"] == "site"
    response = await visitor.say("Where is my parcel?", client_id="first")
    assert response.status == 201, response.body
    assert response.body["from"] == "visitor" and response.body["client_id"] == "first"
    (ticket,) = await site.tickets()
    assert ticket.channel == "site" and ticket.subject == "Where is my parcel?"
    assert ticket.contact.identities[0]["address"] == visitor.session["visitor"]


async def test_a_retried_message_is_stored_once(site, visitors):
    visitor = await visitors()
    first = await visitor.say("Hello", client_id="same")
    again = await visitor.say("Hello", client_id="same")
    assert (first.status, again.status) == (201, 200)
    assert first.body["id"] == again.body["id"]
    assert len(await site.messages("site")) == 1


async def test_an_agent_reply_is_pushed_delivered_and_read(site, visitors):
    visitor = await visitors()
    await visitor.connect()
    await visitor.say("Hi")
    (ticket,) = await site.tickets()
    token = await site.admin_token()
    status, reply = await site.api("POST", f"/tickets/{ticket.id}/messages", token, {"body": "Hello from support"})
    assert status == 202
    pushed = await visitor.wait_pushed(lambda m: m["from"] == "agent", "the reply to be pushed")
    assert pushed["text"] == "Hello from support" and pushed["id"] == reply["id"]
    assert (await site.wait_for_status(reply["id"], "sent", "delivered", "read")).status
    assert await visitor.receipt("delivered", [reply["id"]]) == {"ok": True}
    await site.wait_for_status(reply["id"], "delivered")
    await visitor.receipt("read", [reply["id"]])
    await site.wait_for_status(reply["id"], "read")


async def test_a_reload_finds_the_conversation_again(site, visitors):
    visitor = await visitors()
    await visitor.say("First question")
    (ticket,) = await site.tickets()
    token = await site.admin_token()
    _, reply = await site.api("POST", f"/tickets/{ticket.id}/messages", token, {"body": "An answer"})
    await site.api("POST", f"/tickets/{ticket.id}/messages", token, {"body": "agents only", "private": True})
    await site.wait_for_status(reply["id"], "sent", "delivered", "read")
    again = WebchatClient(site, token=visitor.token)
    assert (await again.start()).status == 200
    assert again.session["visitor"] == visitor.session["visitor"]
    history = await again.history()
    assert [(m["from"], m["text"]) for m in history.body["items"]] == [("visitor", "First question"), ("agent", "An answer")]


async def test_a_visitor_sends_a_file_and_downloads_the_agents(site, visitors):
    visitor = await visitors()
    response = await visitor.upload("order.txt", b"order 1234", "text/plain")
    assert response.status == 201, response.body
    (attachment,) = response.body["attachments"]
    assert attachment["name"] == "order.txt" and attachment["size"] == 10
    (ticket,) = await site.tickets()
    token = await site.admin_token()
    _, reply = await site.api("POST", f"/tickets/{ticket.id}/messages", token, {
        "body": "Here is the label", "attachments": [{"filename": "label.pdf", "content_type": "application/pdf", "data": "JVBERi0="}]})
    await site.wait_for_status(reply["id"], "sent", "delivered", "read")
    items = (await visitor.history()).body["items"]
    files = [a for m in items for a in m["attachments"]]
    assert [f["name"] for f in files] == ["order.txt", "label.pdf"]
    for file, content in zip(files, [b"order 1234", b"%PDF-"], strict=True):
        download = await site.request("GET", f"/webchat/site/api/files/{file['id']}", headers=visitor.headers())
        assert download.status == 200
        assert (download.body if isinstance(download.body, str) else "").encode() == content


async def test_a_photo_of_a_few_megabytes_is_accepted(site, visitors):
    """The host's own body limits (a few KB without an agent's token, 1 MB with one) do not
    apply to plugins' routes: each route's max_body and the channel's max_upload_size decide."""
    visitor = await visitors()
    photo = b"\xff\xd8" + b"p" * (3 * 1024 * 1024)
    response = await visitor.upload("parcel.jpg", photo, "image/jpeg")
    assert response.status == 201, response.body
    assert response.body["attachments"][0]["size"] == len(photo)


async def test_uploads_above_the_limit_are_refused(nexus_server):
    async with nexus_server(webchat_settings(max_upload_size=1000)) as server:
        visitor = WebchatClient(server)
        await visitor.start()
        response = await visitor.upload("big.bin", b"x" * 1001, "application/octet-stream")
        assert response.status == 413 and response.body["error"]["code"] == "file_too_large"
        assert await server.messages("site") == []


async def test_origins_not_allowed_are_refused(site, visitors):
    stranger = WebchatClient(site, origin="https://evil.example")
    response = await stranger.start()
    assert response.status == 403 and response.body["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response.headers
    visitor = await visitors()
    assert visitor.session, "the allowed origin gets a session"
    visitor.origin = "https://evil.example"
    response = await visitor.say("from a page that may not embed the widget")
    assert response.status == 403
    with pytest.raises(socketio.exceptions.ConnectionError):
        await visitor.connect()
    assert visitor.refusals[-1] == {"message": "this widget may not be used on https://evil.example", "data": {"code": "origin_not_allowed"}}
    preflight = await site.request("OPTIONS", "/webchat/api/session", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status == 403
    preflight = await site.request("OPTIONS", "/webchat/api/session", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status == 204 and preflight.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert await site.messages("site") == []


async def test_the_demo_page_is_same_origin_and_embeds_the_widget(site):
    page = await site.request("GET", "/webchat/site/demo")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    runtime = site.nexus.channels.get("site")
    assert f'data-key="{runtime.instance.public_key}"' in page.body
    host = site.url.removeprefix("http://")
    same = WebchatClient(site, origin=site.url)
    assert (await same.start()).status == 200, host
    script = await site.request("GET", "/webchat/static/widget.js")
    assert script.status == 200 and "javascript" in script.headers["Content-Type"]
    client = await site.request("GET", "/vendor/socket.io.esm.min.js")
    assert client.status == 200


async def test_visitors_are_rate_limited(nexus_server):
    async with nexus_server(webchat_settings(rate_limit="3/minute")) as server:
        visitor = WebchatClient(server)
        await visitor.start()
        statuses = [(await visitor.say(f"message {i}")).status for i in range(4)]
        assert statuses == [201, 201, 201, 429]
        other = WebchatClient(server)
        await other.start()
        assert (await other.say("a different visitor has their own allowance")).status == 201


async def test_identity_verification_links_the_user_on_every_device(site, visitors):
    user = {"id": "42", "hash": identity_hash("identity-secret", "42"), "name": "Ada Lovelace", "email": "ada@example.com"}
    laptop = await visitors(user=user)
    phone = await visitors(user=user)
    assert laptop.session["verified"] and laptop.session["visitor"] == phone.session["visitor"]
    await laptop.say("From the laptop")
    await phone.say("From the phone")
    (ticket,) = await site.tickets()
    assert ticket.contact.name == "Ada Lovelace"
    assert ticket.contact.email == "ada@example.com", "the verified user's email fills the contact's"
    identity = ticket.contact.identities[0]
    assert identity["profile"] == {"user_id": "42", "verified": True, "name": "Ada Lovelace", "email": "ada@example.com"}
    forged = WebchatClient(site, user={**user, "hash": identity_hash("guessed", "42")})
    response = await forged.start()
    assert response.status == 401 and response.body["error"]["code"] == "identity_not_verified"
    # The token alone does not resume a verified visitor: it starts an anonymous one.
    stolen = WebchatClient(site, token=laptop.token)
    await stolen.start()
    assert not stolen.session["verified"] and stolen.session["visitor"] != laptop.session["visitor"]


async def test_a_visitor_token_reaches_its_own_conversation_only(site, visitors):
    alice, bob = await visitors(), await visitors()
    await alice.connect()
    await bob.connect()
    alice_file = (await alice.upload("alice.txt", b"private to alice")).body["attachments"][0]
    await alice.say("Alice's secret")
    await bob.say("Bob's question")
    bob_items = (await bob.history()).body["items"]
    assert [m["text"] for m in bob_items] == ["Bob's question"]
    download = await site.request("GET", f"/webchat/site/api/files/{alice_file['id']}", headers=bob.headers())
    assert download.status == 404
    # Replies to Alice are pushed to Alice only, and Bob's receipts cannot touch them.
    alice_ticket = next(t for t in await site.tickets() if t.contact.identities[0]["address"] == alice.session["visitor"])
    _, reply = await site.api("POST", f"/tickets/{alice_ticket.id}/messages", await site.admin_token(), {"body": "For Alice"})
    await alice.wait_pushed(lambda m: m["text"] == "For Alice")
    await site.wait_for_status(reply["id"], "sent")
    assert await bob.receipt("read", [reply["id"]]) == {"ok": True}
    assert not [m for _, m in bob.pushed if m["text"] == "For Alice"]
    (view,) = await site.messages(id=reply["id"])
    assert view.status == "sent"
    # A visitor token is no agent token: the REST API and the agents' namespace refuse it.
    for path in ("/me", "/tickets", f"/tickets/{alice_ticket.id}/messages", "/contacts"):
        assert (await site.api("GET", path, alice.token)).status == 401
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(site.url, auth={"token": alice.token}, transports=["websocket"], wait_timeout=10)
    # A token of one visitor altered to name another is refused everywhere.
    channel, visitor_id, signature = alice.token.split(".")
    forged = f"{channel}.{bob.session['visitor']}.{signature}"
    response = await site.request("GET", "/webchat/site/api/messages", headers={"Origin": alice.origin, "Authorization": f"Visitor {forged}"})
    assert response.status == 401
    intruder = WebchatClient(site, token=forged)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await intruder.connect()
    assert intruder.refusals[-1]["data"] == {"code": "unauthorized"}


def test_the_widget_stays_small():
    """The widget's own files, and with the socket.io-client it loads from Nexus."""
    from pathlib import Path

    import nexus_webchat

    static = Path(nexus_webchat.__file__).parent / "static"
    own = sum((static / name).stat().st_size for name in ("widget.js", "chat.js", "chat.css"))
    vendored = Path(__import__("nexus").__file__).parent / "console" / "vendor" / "socket.io.esm.min.js"
    assert own < 25_000, f"the widget's own files are {own} bytes"
    assert own + vendored.stat().st_size < 70_000, "the widget with socket.io-client is over 70 KB"
