"""Every inbound message type, end to end: Meta's webhook → the stored message, attachment or
reaction an agent sees → the agent's reply reaching the Graph API with the right ``to`` and
``context``."""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import UTC, datetime

import socketio
from whatsapp_fakes import (
    META_EXAMPLE_TIMESTAMP,
    FakeGraph,
    api_messages,
    contact,
    deliver,
    delivery,
    inbound,
    message,
    meta_example_text,
    reply,
    statuses,
    text_message,
    value,
)

from nexus.db import models
from nexus.testing import RunningNexus, wait_for

ANA = "5511987654321"


async def download(server: RunningNexus, url: str) -> bytes:
    async with server.http.get(
        server.url + url, headers={"Authorization": f"Bearer {await server.admin_token()}"}
    ) as r:
        assert r.status == 200, await r.text()
        return await r.read()


async def test_text_message_opens_a_ticket_for_the_contact(
    server: RunningNexus, graph: FakeGraph
) -> None:
    await deliver(
        server, inbound(ANA, "Ana Souza", text_message(ANA, "wamid.t1", "Meu pedido não chegou"))
    )
    (ticket,) = await server.tickets()
    assert ticket.status == "open" and ticket.channel_type == "whatsapp"
    assert ticket.contact.name == "Ana Souza"
    (identity,) = ticket.contact.identities
    assert identity["address"] == ANA
    (stored,) = await api_messages(server, ticket.id)
    assert stored["text"] == "Meu pedido não chegou"
    assert stored["direction"] == "inbound" and stored["external_id"] == "wamid.t1"
    # Meta's timestamp (a string of epoch seconds) is when Ana sent it; the ticket runs on
    # when Nexus received it.
    assert stored["sent_at"] == "2026-01-01T00:00:00+00:00"
    assert ticket.last_message_at.isoformat() == stored["received_at"]

    await reply(server, ticket.id, "Vamos verificar agora mesmo")
    await server.settle()
    (sent,) = graph.sent()
    assert sent["to"] == ANA and sent["messaging_product"] == "whatsapp"
    assert sent["type"] == "text" and sent["text"]["body"] == "Vamos verificar agora mesmo"
    assert "context" not in sent


async def test_the_users_timestamp_is_shown_beside_when_nexus_received_it(
    server: RunningNexus,
) -> None:
    """Meta's documented text message: REST and Socket.IO show ``sent_at`` (the user's
    ``timestamp``) and ``received_at``; the ticket's last activity is the latter."""
    token = await server.admin_token()
    client = socketio.AsyncClient(reconnection=False)
    created: list[dict] = []
    client.on("message.created", lambda data: created.append(data))
    await client.connect(server.url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    try:
        before = datetime.now(UTC)
        await deliver(server, meta_example_text())
        after = datetime.now(UTC)
        (ticket,) = await server.tickets()
        (stored,) = await api_messages(server, ticket.id)
        sent = datetime.fromtimestamp(int(META_EXAMPLE_TIMESTAMP), UTC)
        assert stored["sent_at"] == sent.isoformat() == "2025-06-08T20:59:43+00:00"
        received = datetime.fromisoformat(stored["received_at"])
        assert before <= received <= after
        assert ticket.last_message_at == received
        listed = await server.api("GET", "/tickets", token)
        assert listed.body["items"][0]["last_message_at"] == stored["received_at"]

        await wait_for(lambda: created, message="message.created")
        (event,) = created
        assert (event["sent_at"], event["received_at"]) == (stored["sent_at"], stored["received_at"])
    finally:
        await client.disconnect()


async def test_the_wa_id_fills_the_contacts_phone_for_canned_responses(server: RunningNexus) -> None:
    await deliver(server, meta_example_text())
    (ticket,) = await server.tickets()
    assert ticket.contact.phone == "+16505551234"
    token = await server.admin_token()
    canned = await server.api(
        "POST",
        "/canned-responses",
        token,
        {"shortcut": "callback", "body": "We will call {{contact.name}} at {{contact.phone}}."},
    )
    assert canned.status == 201, canned.body
    rendered = await server.api(
        "POST", f"/canned-responses/{canned.body['id']}/render", token, {"ticket_id": ticket.id}
    )
    assert rendered.body["body"] == "We will call Sheena Nelson at +16505551234."

    # A number an agent typed is the contact's: a later message does not overwrite it.
    contact_id = ticket.contact.id
    patched = await server.api("PATCH", f"/contacts/{contact_id}", token, {"phone": "+1 650 555 0000"})
    assert patched.status == 200, patched.body
    await deliver(server, inbound("16505551234", "Sheena Nelson", text_message("16505551234", "wamid.2", "Hi")))
    contact = await server.api("GET", f"/contacts/{contact_id}", token)
    assert contact.body["phone"] == "+1 650 555 0000"


async def test_media_is_downloaded_and_kept_with_its_filename(
    server: RunningNexus, graph: FakeGraph
) -> None:
    files = {
        "image": (b"\xff\xd8\xff\xe0 photo of the broken box", "image/jpeg"),
        "video": (b"\x00\x00\x00\x18ftypmp42 unboxing", "video/mp4"),
        "audio": (b"OggS voice note", "audio/ogg; codecs=opus"),
        "document": (b"%PDF-1.4 invoice", "application/pdf"),
        "sticker": (b"RIFF....WEBPVP8 sticker", "image/webp"),
    }
    ids = {kind: graph.add_media(data, mime) for kind, (data, mime) in files.items()}

    def media(kind: str, **extra) -> dict:
        media_id, sha256 = ids[kind]
        return {"mime_type": files[kind][1], "sha256": sha256, "id": media_id, **extra}

    await deliver(
        server,
        inbound(
            ANA,
            "Ana",
            message(ANA, "wamid.img", "image", media("image", caption="The box arrived like this")),
            message(ANA, "wamid.vid", "video", media("video")),
            message(ANA, "wamid.voice", "audio", media("audio", voice=True)),
            message(
                ANA,
                "wamid.doc",
                "document",
                media("document", filename="Nota Fiscal março.pdf", caption="Invoice"),
            ),
            message(ANA, "wamid.stk", "sticker", media("sticker", animated=False)),
        ),
    )
    (ticket,) = await server.tickets()
    stored = {m["external_id"]: m for m in await api_messages(server, ticket.id)}
    assert stored["wamid.img"]["text"] == "The box arrived like this"
    assert stored["wamid.doc"]["text"] == "Invoice"
    assert stored["wamid.voice"]["metadata"]["whatsapp"]["voice"] is True
    assert stored["wamid.doc"]["attachments"][0]["filename"] == "Nota Fiscal março.pdf"
    assert stored["wamid.voice"]["attachments"][0]["filename"].startswith("voice-note-")
    assert stored["wamid.voice"]["attachments"][0]["filename"].endswith(".ogg")
    for wamid, kind in [
        ("wamid.img", "image"),
        ("wamid.vid", "video"),
        ("wamid.voice", "audio"),
        ("wamid.doc", "document"),
        ("wamid.stk", "sticker"),
    ]:
        (attachment,) = stored[wamid]["attachments"]
        assert attachment["content_type"] == files[kind][1]
        assert attachment["size"] == len(files[kind][0])
        assert await download(server, attachment["url"]) == files[kind][0]
    # Each file was looked up by its media id and downloaded, both with the bearer token.
    downloads = graph.provider.requests_to("GET", "/cdn/{media_id}", succeeded=True)
    assert len(downloads) == 5 and all(
        r.header("authorization") == f"Bearer {graph.token}" for r in downloads
    )


async def test_a_file_meta_no_longer_has_leaves_a_visible_placeholder(server: RunningNexus) -> None:
    await deliver(
        server,
        inbound(
            ANA,
            "Ana",
            message(
                ANA,
                "wamid.gone",
                "image",
                {
                    "mime_type": "image/jpeg",
                    "sha256": "bm90IHRoZXJl",
                    "id": "1999999999999999",
                    "caption": "old photo",
                },
            ),
        ),
    )
    (stored,) = await server.messages()
    assert stored.text == "old photo"
    (attachment,) = stored.attachments
    assert attachment.size == 0 and "could not provide this file" in attachment.note


async def test_location_and_contacts_are_readable(server: RunningNexus) -> None:
    await deliver(
        server,
        inbound(
            ANA,
            "Ana",
            message(
                ANA,
                "wamid.loc",
                "location",
                {
                    "latitude": -23.5613,
                    "longitude": -46.6565,
                    "name": "MASP",
                    "address": "Av. Paulista, 1578",
                },
            ),
            message(ANA, "wamid.vcard", "contacts", None)
            | {
                "contacts": [
                    {
                        "name": {
                            "formatted_name": "Carlos Lima",
                            "first_name": "Carlos",
                            "last_name": "Lima",
                        },
                        "phones": [
                            {"phone": "+55 21 99999-0000", "wa_id": "5521999990000", "type": "CELL"}
                        ],
                        "emails": [{"email": "carlos@example.com", "type": "WORK"}],
                    }
                ]
            },
        ),
    )
    by_id = {m.external_id: m for m in await server.messages()}
    location = by_id["wamid.loc"]
    assert "MASP, Av. Paulista, 1578" in location.text and "-23.5613,-46.6565" in location.text
    assert location.metadata["whatsapp"]["location"]["latitude"] == -23.5613
    shared = by_id["wamid.vcard"]
    assert shared.text == "Contact: Carlos Lima (+55 21 99999-0000, carlos@example.com)"
    assert shared.metadata["whatsapp"]["contacts"][0]["phones"][0]["wa_id"] == "5521999990000"


async def test_button_and_list_replies_carry_what_was_chosen(server: RunningNexus) -> None:
    business_message = {"from": "15550783881", "id": "wamid.menu"}
    await deliver(
        server,
        inbound(
            ANA,
            "Ana",
            message(
                ANA,
                "wamid.btn",
                "interactive",
                {
                    "type": "button_reply",
                    "button_reply": {"id": "track-order", "title": "Track my order"},
                },
                context=business_message,
            ),
            message(
                ANA,
                "wamid.list",
                "interactive",
                {
                    "type": "list_reply",
                    "list_reply": {
                        "id": "refund",
                        "title": "Refund",
                        "description": "Money back to your card",
                    },
                },
                context=business_message,
            ),
            message(
                ANA,
                "wamid.quick",
                "button",
                {"payload": "CONFIRM_DELIVERY", "text": "Yes, deliver tomorrow"},
                context=business_message,
            ),
        ),
    )
    by_id = {m.external_id: m for m in await server.messages()}
    assert by_id["wamid.btn"].text == "Track my order"
    assert by_id["wamid.btn"].metadata["whatsapp"]["interactive"]["id"] == "track-order"
    assert by_id["wamid.list"].text == "Refund\nMoney back to your card"
    assert by_id["wamid.list"].metadata["whatsapp"]["interactive"]["id"] == "refund"
    assert by_id["wamid.quick"].text == "Yes, deliver tomorrow"
    assert by_id["wamid.quick"].metadata["whatsapp"]["button"]["payload"] == "CONFIRM_DELIVERY"


async def test_context_links_a_reply_and_a_forward_is_not_one(
    server: RunningNexus, graph: FakeGraph
) -> None:
    await deliver(
        server, inbound(ANA, "Ana", text_message(ANA, "wamid.first", "Where is order 1234?"))
    )
    (ticket,) = await server.tickets()
    queued = await reply(server, ticket.id, "It ships today")
    await server.settle()
    (ours,) = await server.messages(id=queued["id"])

    await deliver(
        server,
        inbound(
            ANA,
            "Ana",
            text_message(
                ANA,
                "wamid.answer",
                "Great, thanks!",
                context={"from": "15550783881", "id": ours.external_id},
            ),
            text_message(ANA, "wamid.fwd", "Look at this", context={"forwarded": True}),
        ),
    )
    by_id = {m.external_id: m for m in await server.messages()}
    assert by_id["wamid.answer"].reply_to_id == ours.id
    assert by_id["wamid.fwd"].reply_to_id is None
    assert by_id["wamid.fwd"].metadata["whatsapp"]["forwarded"] is True

    # The agent answers the customer's message: the reply quotes it.
    await reply(server, ticket.id, "You're welcome", reply_to_id=by_id["wamid.answer"].id)
    await server.settle()
    last = graph.sent()[-1]
    assert last["to"] == ANA
    assert last["context"] == {"message_id": "wamid.answer"}


async def test_reactions_attach_to_their_message_and_reopen_nothing(
    server: RunningNexus, graph: FakeGraph
) -> None:
    await deliver(
        server, inbound(ANA, "Ana", text_message(ANA, "wamid.q", "Can I change the address?"))
    )
    (ticket,) = await server.tickets()
    queued = await reply(server, ticket.id, "Done, the address is updated")
    await server.settle()
    (ours,) = await server.messages(id=queued["id"])
    token = await server.admin_token()
    assert (
        await server.api("PATCH", f"/tickets/{ticket.id}", token, {"status": "resolved"})
    ).status == 200

    await deliver(
        server,
        inbound(
            ANA,
            "Ana",
            message(
                ANA, "wamid.r1", "reaction", {"message_id": ours.external_id, "emoji": "\U0001f44d"}
            ),
        ),
    )
    (reacted,) = await server.messages(id=ours.id)
    assert reacted.reactions == {ANA: "\U0001f44d"}
    assert len(await server.messages()) == 2  # not a message of its own
    (ticket,) = await server.tickets()
    assert ticket.status == "resolved"

    # Removing a reaction: Meta omits "emoji".
    await deliver(
        server,
        inbound(ANA, "Ana", message(ANA, "wamid.r2", "reaction", {"message_id": ours.external_id})),
    )
    (reacted,) = await server.messages(id=ours.id)
    assert reacted.reactions == {}
    (ticket,) = await server.tickets()
    assert ticket.status == "resolved"


async def test_unsupported_messages_become_a_visible_placeholder(server: RunningNexus) -> None:
    unsupported = message(ANA, "wamid.poll", "unsupported", {"type": "poll_update"}) | {
        "errors": [
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ]
    }
    await deliver(server, inbound(ANA, "Ana", unsupported))
    (stored,) = await server.messages()
    assert stored.text.startswith("[Unsupported WhatsApp message (poll_update)")
    assert "Message type is currently not supported" in stored.text
    (ticket,) = await server.tickets()
    assert ticket.status == "open"


async def test_a_batch_matches_each_message_to_its_contact_by_wa_id(
    server: RunningNexus, graph: FakeGraph
) -> None:
    bruno, carla = "14155550101", "447700900123"
    # The contacts block lists the senders in the opposite order of their messages.
    await deliver(
        server,
        delivery(
            value(
                contacts=[contact(carla, "Carla Jones"), contact(bruno, "Bruno Costa")],
                messages=[
                    text_message(bruno, "wamid.b1", "Hi, it's Bruno"),
                    text_message(carla, "wamid.c1", "Carla here"),
                    text_message(bruno, "wamid.b2", "Still Bruno"),
                ],
            )
        ),
    )
    tickets = {t.contact.name: t for t in await server.tickets()}
    assert set(tickets) == {"Bruno Costa", "Carla Jones"}
    assert tickets["Bruno Costa"].contact.identities[0]["address"] == bruno
    assert tickets["Carla Jones"].contact.identities[0]["address"] == carla
    bruno_texts = [m["text"] for m in await api_messages(server, tickets["Bruno Costa"].id)]
    assert bruno_texts == ["Hi, it's Bruno", "Still Bruno"]

    await reply(server, tickets["Carla Jones"].id, "Hello Carla")
    await reply(server, tickets["Bruno Costa"].id, "Hello Bruno")
    await server.settle()
    assert sorted((s["to"], s["text"]["body"]) for s in graph.sent()) == [
        (bruno, "Hello Bruno"),
        (carla, "Hello Carla"),
    ]


async def test_a_brazilian_number_with_and_without_the_ninth_digit_is_one_contact(
    server: RunningNexus, graph: FakeGraph
) -> None:
    old_form, new_form = "553188887777", "5531988887777"
    await deliver(server, inbound(old_form, "Rafael", text_message(old_form, "wamid.br1", "Oi")))
    (ticket,) = await server.tickets()
    await reply(server, ticket.id, "Olá Rafael")
    await server.settle()
    assert graph.sent()[-1]["to"] == old_form  # the wa_id exactly as received

    await deliver(
        server, inbound(new_form, "Rafael", text_message(new_form, "wamid.br2", "Tudo bem?"))
    )
    tickets = await server.tickets()
    assert [t.id for t in tickets] == [ticket.id]
    response = await server.api("GET", "/contacts", await server.admin_token())
    assert len(response.body["items"]) == 1
    assert [
        m["text"] for m in await api_messages(server, ticket.id) if m["direction"] == "inbound"
    ] == ["Oi", "Tudo bem?"]

    await reply(server, ticket.id, "Tudo ótimo")
    await server.settle()
    assert graph.sent()[-1]["to"] == new_form


async def test_statuses_create_no_contact_or_ticket(server: RunningNexus) -> None:
    await deliver(
        server,
        statuses(
            {
                "id": "wamid.unknown1",
                "status": "delivered",
                "timestamp": "1767225600",
                "recipient_id": "4915112345678",
                "pricing": {
                    "billable": False,
                    "pricing_model": "PMP",
                    "category": "service",
                    "type": "free_customer_service",
                },
            },
        ),
    )
    assert await server.tickets() == []
    response = await server.api("GET", "/contacts", await server.admin_token())
    assert response.body["items"] == []


async def test_a_large_file_is_checked_and_kept_byte_for_byte(
    server: RunningNexus, graph: FakeGraph
) -> None:
    """Above 64 KiB the digest checks run in a thread (nexus.offload): same verdicts."""
    data = os.urandom(3 * 1024 * 1024 + 1)
    media_id, sha256 = graph.add_media(data, "application/pdf")
    document = {"mime_type": "application/pdf", "sha256": sha256, "id": media_id, "filename": "big.pdf"}
    await deliver(server, inbound(ANA, "Ana", message(ANA, "wamid.big", "document", document)))
    (stored,) = await models.Attachment.filter(filename="big.pdf")
    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert await server.nexus.storage.load(stored.storage_key) == data

    # A large download that does not match the digest Meta reported is not kept.
    wrong = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    tampered = {**document, "sha256": wrong, "filename": "tampered.pdf"}
    await deliver(server, inbound(ANA, "Ana", message(ANA, "wamid.tampered", "document", tampered)))
    assert not await models.Attachment.filter(filename="tampered.pdf").exists()
    (event,) = await models.InboundEvent.filter(status="failed")
    assert "SHA-256" in (event.error or "")
