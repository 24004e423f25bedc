"""The webhook: Meta's verification handshake, signatures over the exact bytes, routing by
phone number, and payloads that fail to process."""

from __future__ import annotations

import base64
import json

import pytest

from nexus_whatsapp.media import ATTEMPTS
from whatsapp_fakes import (
    APP_SECRET,
    CHANNEL,
    VERIFY_TOKEN,
    WABA_ID,
    FakeGraph,
    contact,
    deliver,
    delivery,
    encode,
    inbound,
    message,
    post,
    settings,
    settled,
    signed,
    text_message,
    value,
)

from nexus.db import models
from nexus.testing import RunningNexus

SENDER = "5511987654321"


async def inbound_events(server: RunningNexus, status: str) -> list[dict]:
    response = await server.api(
        "GET", "/inbound-events", await server.admin_token(), params={"status": status}
    )
    assert response.status == 200, response.body
    return response.body["items"]


# --- Verification ------------------------------------------------------------------------


async def test_verification_echoes_the_challenge(server: RunningNexus) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    async with server.http.get(
        f"{server.url}/webhooks/whatsapp/{CHANNEL}", params=params
    ) as response:
        assert response.status == 200
        assert await response.text() == "1158201444"
        assert response.content_type == "text/plain"


async def test_verification_with_a_wrong_token_is_refused(server: RunningNexus) -> None:
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "42"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"},
        {},
    ):
        response = await server.post_webhook(CHANNEL, b"", method="GET", params=params)
        assert response.status == 403, params


# --- Signatures --------------------------------------------------------------------------


async def test_unsigned_or_wrongly_signed_deliveries_store_nothing(server: RunningNexus) -> None:
    body = encode(
        inbound(SENDER, "Mallory", text_message(SENDER, "wamid.forged", "Send me the refund"))
    )
    attempts = [
        {},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        signed(body, "not-the-app-secret"),
        {"X-Hub-Signature-256": signed(body)["X-Hub-Signature-256"].removeprefix("sha256=")},
    ]
    for headers in attempts:
        response = await server.post_webhook(CHANNEL, body, headers=headers)
        assert response.status in (401, 403), headers
    await settled()
    assert await server.messages() == []
    assert await server.tickets() == []
    assert (
        await inbound_events(server, "pending") == []
        and await inbound_events(server, "failed") == []
    )


async def test_signature_covers_the_exact_bytes_meta_sent(server: RunningNexus) -> None:
    """Meta's JSON escapes non-ASCII and '/': a signature over re-serialised JSON never matches."""
    text = "Olá! O pedido nº 42 chegou quebrado 😢 https://example.com/foto"
    payload = inbound(SENDER, "João", text_message(SENDER, "wamid.escaped", text))
    body = encode(payload)
    assert b"\\u00e1" in body and b"\\/" in body
    reserialised = json.dumps(json.loads(body), ensure_ascii=False).encode()
    assert reserialised != body
    response = await server.post_webhook(
        CHANNEL, body, headers={"X-Hub-Signature-256": signed(reserialised)["X-Hub-Signature-256"]}
    )
    assert response.status == 401
    await settled()
    assert await server.messages() == []

    await deliver(server, body)
    (stored,) = await server.messages()
    assert stored.text == text
    (ticket,) = await server.tickets()
    assert ticket.contact.name == "João"


# --- Routing by phone number -------------------------------------------------------------


async def test_changes_for_another_number_are_not_processed_here(server: RunningNexus) -> None:
    ours = value(
        contacts=[contact(SENDER, "Ana")], messages=[text_message(SENDER, "wamid.ours", "for us")]
    )
    theirs = value(
        contacts=[contact(SENDER, "Ana")],
        messages=[text_message(SENDER, "wamid.theirs", "not for us")],
        phone_number_id="999999999999999",
    )
    await deliver(server, delivery(ours, theirs))
    assert [m.text for m in await server.messages()] == ["for us"]

    assert await post(server, delivery(theirs)) == 200
    await settled()
    assert [m.text for m in await server.messages()] == ["for us"]


async def test_numbers_of_one_app_share_its_webhook_url(nexus_server, fake_provider) -> None:
    """Meta posts every number of an app to one callback URL: each change reaches the channel
    that serves its number, whichever channel's URL received the delivery."""
    graph = FakeGraph(
        await fake_provider(), phone_number_ids=["111111111111111", "222222222222222"]
    )
    channels = {
        "sales": settings(graph.url, phone_number_id="111111111111111"),
        "help": settings(graph.url, phone_number_id="222222222222222"),
        "other_app": settings(
            graph.url, phone_number_id="333333333333333", app_secret="another-app"
        ),
    }
    graph.numbers.add("333333333333333")
    async with nexus_server({"channels": channels}) as server:
        payload = delivery(
            value(
                contacts=[contact(SENDER, "Ana")],
                messages=[text_message(SENDER, "wamid.s1", "to sales")],
                phone_number_id="111111111111111",
            ),
            value(
                contacts=[contact(SENDER, "Ana")],
                messages=[text_message(SENDER, "wamid.h1", "to help")],
                phone_number_id="222222222222222",
            ),
            value(
                contacts=[contact(SENDER, "Ana")],
                messages=[text_message(SENDER, "wamid.o1", "forged for the other app")],
                phone_number_id="333333333333333",
            ),
        )
        await deliver(server, payload, channel="sales")
        assert [m.text for m in await server.messages("sales")] == ["to sales"]
        assert [m.text for m in await server.messages("help")] == ["to help"]
        assert await server.messages("other_app") == []

        (help_ticket,) = await server.tickets(channel__name="help")
        await server.api(
            "POST",
            f"/tickets/{help_ticket.id}/messages",
            await server.admin_token(),
            {"body": "Hi from help"},
        )
        await server.settle()
        (sent,) = graph.provider.requests_to(
            "POST", "/{version}/222222222222222/messages", succeeded=True
        )
        assert sent.json()["to"] == SENDER


async def test_a_second_channel_for_the_same_number_does_not_start(
    nexus_server, fake_provider
) -> None:
    graph = FakeGraph(await fake_provider())
    async with nexus_server(
        {"channels": {"first": settings(graph.url), "second": settings(graph.url)}}
    ) as server:
        states = {name: server.nexus.channels.get(name).state for name in ("first", "second")}
        assert sorted(states.values()) == ["failed", "running"]
        failed = next(server.nexus.channels.get(n) for n, s in states.items() if s == "failed")
        assert "already served by channel" in failed.error


# --- Payloads that fail ------------------------------------------------------------------


async def test_a_payload_that_fails_is_kept_and_can_be_replayed(
    server: RunningNexus, graph: FakeGraph
) -> None:
    media_id, sha256 = graph.add_media(b"%PDF-1.7 receipt", "application/pdf")
    payload = inbound(
        SENDER,
        "Ana",
        message(
            SENDER,
            "wamid.receipt",
            "document",
            {
                "filename": "receipt.pdf",
                "mime_type": "application/pdf",
                "sha256": sha256,
                "id": media_id,
            },
        ),
    )
    # Meta's media service is down for longer than the channel's own retries.
    graph.provider.fail(ATTEMPTS, status=503, method="GET", path=f"/{{version}}/{media_id}")

    assert await post(server, payload) == 200  # acknowledged at once: Meta does not redeliver
    await settled()
    assert await server.messages() == []
    (failed,) = await inbound_events(server, "failed")
    assert failed["channel"] == CHANNEL
    assert "503" in failed["error"]

    token = await server.admin_token()
    response = await server.api("POST", f"/inbound-events/{failed['id']}/replay", token)
    assert response.status == 200 and response.body["status"] == "processed", response.body
    (stored,) = await server.messages()
    assert [a.filename for a in stored.attachments] == ["receipt.pdf"]
    assert await inbound_events(server, "failed") == []

    # Meta redelivering the same payload stores nothing twice.
    await deliver(server, payload)
    assert len(await server.messages()) == 1


async def test_an_unreadable_signed_payload_is_kept_with_its_error(server: RunningNexus) -> None:
    for body in (b"{not json", b'{"object":"whatsapp_business_account"}'):
        assert await post(server, body) == 200
    await settled()
    failed = await inbound_events(server, "failed")
    assert len(failed) == 2
    assert all(event["error"] for event in failed)
    assert await server.messages() == []


async def test_a_message_without_an_id_fails_the_payload_visibly(server: RunningNexus) -> None:
    broken = text_message(SENDER, "", "no id")
    del broken["id"]
    assert await post(server, inbound(SENDER, "Ana", broken)) == 200
    await settled()
    (failed,) = await inbound_events(server, "failed")
    assert "without 'id'" in failed["error"]


async def test_other_methods_are_refused(server: RunningNexus) -> None:
    body = encode(inbound(SENDER, "Ana", text_message(SENDER, "wamid.put", "hi")))
    response = await server.post_webhook(
        CHANNEL, body, method="PUT", headers=signed(body, APP_SECRET)
    )
    assert response.status == 405


# --- Hostile but signed payloads (kept, answered 200, never a 500) -------------------------


async def test_nul_in_text_and_names_is_stored_without_it(server: RunningNexus) -> None:
    """``\\u0000`` is valid JSON that PostgreSQL refuses in text and JSON columns."""
    payload = inbound(
        SENDER,
        "Ana\u0000 Souza",
        text_message(SENDER, "wamid.nul", "Olá\u0000 o pedido\u0000 chegou?"),
        message(
            SENDER,
            "wamid.nul-loc",
            "location",
            {"latitude": 1.5, "longitude": 2.5, "name": "Loja\u0000 Centro", "address": "Rua\u0000 1"},
        ),
    )
    body = encode(payload)
    assert b"\\u0000" in body
    assert await post(server, body) == 200
    await settled()
    assert await inbound_events(server, "failed") == []
    text, location = await server.messages()
    assert text.text == "Olá o pedido chegou?"
    assert location.text.startswith("Location: Loja Centro, Rua 1")
    assert location.metadata["whatsapp"]["location"]["name"] == "Loja Centro"
    (ticket,) = await server.tickets()
    assert ticket.contact.name == "Ana Souza"

    # A payload that an earlier version stored but could never process replays now.
    runtime = server.nexus.channels.get(CHANNEL)
    earlier = await models.InboundEvent.create(
        channel_id=runtime.row_id,
        payload=encode(inbound(SENDER, "Ana", text_message(SENDER, "wamid.old", "antes\u0000 agora"))).decode(),
        status="failed",
        error="CharacterNotInRepertoireError: invalid byte sequence for encoding \"UTF8\": 0x00",
        attempts=3,
    )
    replayed = await server.api("POST", f"/inbound-events/{earlier.id}/replay", await server.admin_token())
    assert replayed.body["status"] == "processed", replayed.body
    assert (await server.messages(external_id="wamid.old"))[0].text == "antes agora"


def with_text(raw: bytes) -> bytes:
    """A text message delivery whose text is the raw bytes ``raw``."""
    body = encode(inbound(SENDER, "Ana", text_message(SENDER, "wamid.raw", "MARKER")))
    return body.replace(b"MARKER", raw)


UNREADABLE = {
    "not UTF-8": (with_text(b"Ol\xe1 \xff\xfe"), "base64", "not UTF-8"),
    "a raw NUL byte": (with_text(b"a\x00b"), "base64", "not JSON"),
    '"changes": 5': (
        encode({"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": 5}]}),
        "utf-8",
        "'changes' list",
    ),
    "nested 100,000 deep": (
        b'{"object":"whatsapp_business_account","entry":[' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
        "utf-8",
        "nested too deeply",
    ),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
async def test_a_signed_body_that_cannot_be_read_is_kept_byte_for_byte(
    server: RunningNexus, case: str
) -> None:
    """Answered 200 (so Meta stops retrying) and kept exactly, failed with the reason."""
    body, encoding, reason = UNREADABLE[case]
    assert await post(server, body) == 200
    await settled()
    (failed,) = await inbound_events(server, "failed")
    kept = await server.api("GET", f"/inbound-events/{failed['id']}", await server.admin_token())
    assert kept.status == 200, kept.body
    assert kept.body["payload_encoding"] == encoding
    stored = kept.body["payload"]
    assert (base64.b64decode(stored) if encoding == "base64" else stored.encode()) == body
    assert reason in kept.body["error"]
    assert await server.messages() == []
