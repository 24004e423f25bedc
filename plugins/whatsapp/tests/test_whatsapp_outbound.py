"""Agents' replies reaching the Graph API: text, files by upload and by link, templates, and
Meta's errors mapped to a retry or a failure agents can read."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from whatsapp_fakes import (
    CHANNEL,
    MEDIA_PATH,
    TOKEN,
    FakeGraph,
    deliver,
    inbound,
    reply,
    settings,
    text_message,
)

from nexus.testing import RunningNexus, wait_for

ANA = "5511987654321"


async def ticket_id(server: RunningNexus) -> int:
    if not await server.tickets():
        await deliver(
            server, inbound(ANA, "Ana", text_message(ANA, "wamid.in1", "Oi, preciso de ajuda"))
        )
    (ticket,) = await server.tickets()
    return ticket.id


def attachment(filename: str, content_type: str, data: bytes) -> dict[str, Any]:
    return {
        "filename": filename,
        "content_type": content_type,
        "data": base64.b64encode(data).decode(),
    }


async def channel_error(server: RunningNexus) -> str | None:
    response = await server.api("GET", "/channels", await server.admin_token())
    (channel,) = [c for c in response.body["items"] if c["name"] == CHANNEL]
    return channel["error"]


# --- What is sent ------------------------------------------------------------------------


async def test_text_goes_to_the_wa_id_with_a_link_preview(
    server: RunningNexus, graph: FakeGraph
) -> None:
    queued = await reply(
        server, await ticket_id(server), "Track it here: https://example.com/track/1234"
    )
    sent = await server.wait_for_status(queued["id"], "sent")
    (request,) = graph.sent()
    assert request == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": ANA,
        "type": "text",
        "text": {"body": "Track it here: https://example.com/track/1234", "preview_url": True},
    }
    assert sent.external_id.startswith("wamid.")


async def test_link_previews_can_be_switched_off(nexus_server, fake_provider) -> None:
    graph = FakeGraph(await fake_provider())
    async with nexus_server(
        {"channels": {CHANNEL: settings(graph.url, preview_url=False)}}
    ) as server:
        await reply(server, await ticket_id(server), "See https://example.com")
        await server.settle()
        (request,) = graph.sent()
        assert request["text"]["preview_url"] is False


async def test_long_text_is_split_at_whatsapp_limit(server: RunningNexus, graph: FakeGraph) -> None:
    paragraph = "Here is everything about your warranty. " * 60  # 2,400 characters
    text = paragraph.strip() + "\n\n" + paragraph.strip()
    queued = await reply(server, await ticket_id(server), text)
    sent = await server.wait_for_status(queued["id"], "sent")
    bodies = [r["text"]["body"] for r in graph.sent()]
    assert len(bodies) == 2 and all(len(b) <= 4096 for b in bodies)
    assert " ".join(bodies).split() == text.split()
    assert sent.metadata["provider"]["message_ids"][0] == sent.external_id


async def test_files_are_uploaded_and_the_text_becomes_a_caption(
    server: RunningNexus, graph: FakeGraph
) -> None:
    photo, manual = b"\x89PNG\r\n\x1a\n label photo", b"%PDF-1.7 manual"
    queued = await reply(
        server,
        await ticket_id(server),
        "The label and the manual",
        attachments=[
            attachment("label.png", "image/png", photo),
            attachment("Manual do usuário.pdf", "application/pdf", manual),
        ],
    )
    await server.wait_for_status(queued["id"], "sent")
    uploads = graph.provider.requests_to("POST", MEDIA_PATH, succeeded=True)
    assert [
        (u.form()["file"]["filename"], u.form()["type"], u.form()["file"]["data"]) for u in uploads
    ] == [("label.png", "image/png", photo), ("Manual_do_usuario.pdf", "application/pdf", manual)]
    image, document = graph.sent()
    assert image["type"] == "image" and image["to"] == ANA
    assert (
        image["image"]["caption"] == "The label and the manual"
        and image["image"]["id"] in graph.uploads
    )
    assert document["type"] == "document"
    assert (
        document["document"]["filename"] == "Manual do usuário.pdf"
        and "caption" not in document["document"]
    )


async def test_text_goes_first_when_no_file_takes_a_caption(
    server: RunningNexus, graph: FakeGraph
) -> None:
    queued = await reply(
        server,
        await ticket_id(server),
        "Listen to this",
        attachments=[attachment("message.ogg", "audio/ogg", b"OggS audio")],
    )
    await server.wait_for_status(queued["id"], "sent")
    text, audio = graph.sent()
    assert text["text"]["body"] == "Listen to this"
    assert audio["type"] == "audio" and set(audio["audio"]) == {"id"}


async def test_files_can_be_sent_by_link(server: RunningNexus, graph: FakeGraph) -> None:
    view = await server.nexus.tickets.reply(
        await ticket_id(server),
        "Our catalogue",
        author=None,
        metadata={
            "whatsapp": {
                "media": [
                    {
                        "type": "document",
                        "link": "https://cdn.example.com/catalogue.pdf",
                        "filename": "catalogue.pdf",
                    }
                ]
            }
        },
    )
    await server.wait_for_status(view.id, "sent")
    (request,) = graph.sent()
    assert request["type"] == "document"
    assert request["document"] == {
        "link": "https://cdn.example.com/catalogue.pdf",
        "filename": "catalogue.pdf",
        "caption": "Our catalogue",
    }
    assert graph.provider.requests_to("POST", MEDIA_PATH) == []


async def test_an_agent_sends_a_template_after_the_window_closed(
    server: RunningNexus, graph: FakeGraph
) -> None:
    template = {
        "name": "order_update",
        "language": "pt_BR",
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "1234"}]}],
    }
    queued = await reply(server, await ticket_id(server), template=template)
    await server.wait_for_status(queued["id"], "sent")
    (request,) = graph.sent()
    assert request["to"] == ANA and request["type"] == "template"
    assert request["template"] == {
        "name": "order_update",
        "language": {"code": "pt_BR"},
        "components": template["components"],
    }


async def test_a_template_without_a_language_fails_before_reaching_meta(
    server: RunningNexus, graph: FakeGraph
) -> None:
    queued = await reply(server, await ticket_id(server), template={"name": "order_update"})
    failed = await server.wait_for_status(queued["id"], "failed")
    assert failed.error_code == "invalid_template" and "language" in failed.error_text
    assert graph.sent() == []


# --- Errors ------------------------------------------------------------------------------


async def test_re_engagement_error_fails_and_asks_for_a_template(
    server: RunningNexus, graph: FakeGraph
) -> None:
    tid = await ticket_id(server)
    graph.fail_sends(
        131047,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have "
        "passed since the customer last replied to this number.",
    )
    queued = await reply(server, tid, "Are you still there?")
    failed = await server.wait_for_status(queued["id"], "failed")
    assert failed.attempts == 1 and failed.error_code == "131047"
    assert "24 hours" in failed.error_text and "template" in failed.error_text


async def test_an_invalid_recipient_fails_at_once(server: RunningNexus, graph: FakeGraph) -> None:
    tid = await ticket_id(server)
    graph.fail_sends(
        131026,
        "Message undeliverable",
        "Unable to deliver message. Reasons can include: The "
        "recipient phone number is not a WhatsApp phone number.",
    )
    queued = await reply(server, tid, "Hello?")
    failed = await server.wait_for_status(queued["id"], "failed")
    assert failed.attempts == 1 and failed.error_code == "131026"
    assert "not a WhatsApp phone number" in failed.error_text


@pytest.mark.parametrize(
    "failure",
    [
        dict(
            code=130429,
            title="Rate limit hit",
            details="Cloud API message throughput has been reached.",
        ),
        dict(code=131056, title="(Business Account, Consumer Account) pair rate limit hit"),
        dict(code=131000, title="Something went wrong", status=500),
        dict(code=2, title="Service temporarily unavailable", status=503),
    ],
    ids=["throughput", "pair-rate-limit", "something-went-wrong", "service-unavailable"],
)
async def test_rate_limits_and_outages_are_retried(
    server: RunningNexus, graph: FakeGraph, failure: dict
) -> None:
    tid = await ticket_id(server)
    graph.fail_sends(**failure)
    queued = await reply(server, tid, "Sent on the second try")
    sent = await server.wait_for_status(queued["id"], "sent", timeout=30)
    assert sent.attempts == 2
    assert [r["text"]["body"] for r in graph.sent()] == ["Sent on the second try"]


async def test_a_refused_token_is_shown_on_the_channel_and_retried(
    server: RunningNexus, graph: FakeGraph
) -> None:
    tid = await ticket_id(server)
    graph.token = "a-rotated-token"  # Meta no longer accepts the channel's token
    queued = await reply(server, tid, "Sent once the token works")
    error = await wait_for(
        lambda: channel_error(server), message="the channel to show the token problem"
    )
    assert "access token" in error
    (waiting,) = await server.messages(id=queued["id"])
    assert waiting.status in ("queued", "sending") and waiting.error_code == "190"

    graph.token = TOKEN  # the operator fixed it
    await server.wait_for_status(queued["id"], "sent", timeout=30)

    async def cleared() -> bool:
        return await channel_error(server) is None

    await wait_for(cleared, message="the channel's problem to clear")


async def test_a_reply_interrupted_part_way_is_not_sent_twice(
    server: RunningNexus, graph: FakeGraph
) -> None:
    tid = await ticket_id(server)
    queued = await reply(
        server,
        tid,
        "Two voice notes for you",
        attachments=[
            attachment("a.ogg", "audio/ogg", b"OggS one"),
            attachment("b.ogg", "audio/ogg", b"OggS two"),
        ],
    )
    # The text goes out, then the first file's upload meets an outage: the retry sends only
    # the files.
    graph.provider.fail(
        1,
        status=500,
        method="POST",
        path=MEDIA_PATH,
        json={"error": {"code": 1, "message": "An unknown error occurred"}},
    )
    sent = await server.wait_for_status(queued["id"], "sent", timeout=30)
    kinds = [r["type"] for r in graph.sent()]
    assert kinds == ["text", "audio", "audio"]
    assert sent.attempts == 2
