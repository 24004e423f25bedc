"""Delivery statuses from Meta: they update our replies, never move backwards, carry Meta's
reason on failure, and wait for message ids not known yet."""

from __future__ import annotations

from typing import Any

from whatsapp_fakes import (
    FakeGraph,
    api_messages,
    deliver,
    delivery,
    inbound,
    reply,
    status,
    statuses,
    text_message,
    value,
)

from nexus.testing import RunningNexus

ANA = "5511987654321"
ECOSYSTEM = "This message was not delivered to maintain healthy ecosystem engagement."
REENGAGEMENT_DETAILS = (
    "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number."
)
ECOSYSTEM_DETAILS = (
    "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."
)


async def sent_reply(
    server: RunningNexus, text: str = "Your order ships today"
) -> tuple[int, dict[str, Any]]:
    """A contact writes, an agent replies and Meta accepts the reply: (ticket id, reply)."""
    if not await server.tickets():
        await deliver(
            server, inbound(ANA, "Ana", text_message(ANA, "wamid.in1", "Where is my order?"))
        )
    (ticket,) = await server.tickets()
    queued = await reply(server, ticket.id, text)
    await server.wait_for_status(queued["id"], "sent")
    return ticket.id, await reply_view(server, ticket.id, queued["id"])


async def reply_view(server: RunningNexus, ticket_id: int, message_id: int) -> dict[str, Any]:
    (view,) = [m for m in await api_messages(server, ticket_id) if m["id"] == message_id]
    return view


async def test_statuses_arriving_out_of_order_never_move_backwards(server: RunningNexus) -> None:
    ticket_id, ours = await sent_reply(server)
    wamid = ours["external_id"]
    await deliver(server, statuses(status(wamid, "read", ANA, timestamp=1767225660)))
    await deliver(
        server,
        statuses(
            status(wamid, "delivered", ANA, timestamp=1767225630),
            status(wamid, "sent", ANA, timestamp=1767225601),
        ),
    )
    view = await reply_view(server, ticket_id, ours["id"])
    assert view["status"] == "read"
    assert view["read_at"].startswith("2026-01-01T00:01:00")


async def test_read_without_delivered_counts_as_delivered(server: RunningNexus) -> None:
    ticket_id, ours = await sent_reply(server)
    await deliver(server, statuses(status(ours["external_id"], "read", ANA, timestamp=1767225700)))
    view = await reply_view(server, ticket_id, ours["id"])
    assert view["status"] == "read"
    assert view["delivered_at"] is not None and view["read_at"] is not None


async def test_a_failed_status_shows_meta_reason_to_agents(server: RunningNexus) -> None:
    ticket_id, ours = await sent_reply(server, "Here is a 20% discount code")
    await deliver(
        server,
        statuses(
            status(
                ours["external_id"],
                "failed",
                ANA,
                errors=[
                    {
                        "code": 131049,
                        "title": ECOSYSTEM,
                        "message": ECOSYSTEM,
                        "error_data": {"details": ECOSYSTEM_DETAILS},
                        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
                    }
                ],
            )
        ),
    )
    view = await reply_view(server, ticket_id, ours["id"])
    assert view["status"] == "failed"
    assert view["error_code"] == "131049"
    assert "not delivered to maintain healthy ecosystem engagement" in view["error_text"]
    assert "the message failed to be delivered" in view["error_text"]


async def test_nul_in_meta_reason_is_stored_without_it(server: RunningNexus) -> None:
    ticket_id, ours = await sent_reply(server)
    title = "Message\u0000 undeliverable"
    await deliver(
        server,
        statuses(
            status(
                ours["external_id"],
                "failed",
                ANA,
                errors=[{"code": 131026, "title": title, "error_data": {"details": "No\u0000 account"}}],
            )
        ),
    )
    view = await reply_view(server, ticket_id, ours["id"])
    assert view["status"] == "failed" and view["error_code"] == "131026"
    assert "Message undeliverable" in view["error_text"] and "\x00" not in view["error_text"]


async def test_a_re_engagement_failure_tells_the_agent_to_use_a_template(
    server: RunningNexus,
) -> None:
    ticket_id, ours = await sent_reply(server)
    await deliver(
        server,
        statuses(
            status(
                ours["external_id"],
                "failed",
                ANA,
                errors=[
                    {
                        "code": 131047,
                        "title": "Re-engagement message",
                        "message": "Re-engagement message",
                        "error_data": {"details": REENGAGEMENT_DETAILS},
                    }
                ],
            )
        ),
    )
    view = await reply_view(server, ticket_id, ours["id"])
    assert view["status"] == "failed" and view["error_code"] == "131047"
    assert "template" in view["error_text"]


async def test_delivered_after_failed_means_it_arrived(server: RunningNexus) -> None:
    ticket_id, ours = await sent_reply(server)
    wamid = ours["external_id"]
    await deliver(
        server,
        statuses(
            status(wamid, "failed", ANA, errors=[{"code": 131000, "title": "Something went wrong"}])
        ),
    )
    await deliver(server, statuses(status(wamid, "delivered", ANA)))
    view = await reply_view(server, ticket_id, ours["id"])
    assert view["status"] == "delivered" and view["error_code"] is None


async def test_a_status_for_an_unknown_id_is_applied_when_the_id_appears(
    server: RunningNexus, graph: FakeGraph
) -> None:
    await deliver(server, inbound(ANA, "Ana", text_message(ANA, "wamid.in1", "Hello?")))
    (ticket,) = await server.tickets()
    early = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjdBQjE5QkJEOUJGMzI3QjlCRQA="
    # Meta's "delivered" outruns the API's answer to the send.
    await deliver(server, statuses(status(early, "delivered", ANA)))
    graph.next_wamids.append(early)
    queued = await reply(server, ticket.id, "Hi Ana!")
    view = await server.wait_for_status(queued["id"], "delivered")
    assert view.external_id == early


async def test_legacy_and_per_message_pricing_statuses_both_parse(server: RunningNexus) -> None:
    ticket_id, first = await sent_reply(server, "first")
    _, second = await sent_reply(server, "second")
    legacy = status(first["external_id"], "delivered", ANA) | {
        "conversation": {
            "id": "a75d17ad06104c51166f948319b03c6a",
            "expiration_timestamp": "1767312000",
            "origin": {"type": "service"},
        },
        "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"},
    }
    per_message = status(second["external_id"], "delivered", ANA)
    assert per_message["pricing"]["pricing_model"] == "PMP" and "conversation" not in per_message
    await deliver(server, delivery(value(statuses=[legacy, per_message])))
    assert (await reply_view(server, ticket_id, first["id"]))["status"] == "delivered"
    assert (await reply_view(server, ticket_id, second["id"]))["status"] == "delivered"


async def test_statuses_nexus_does_not_track_are_ignored(server: RunningNexus) -> None:
    ticket_id, ours = await sent_reply(server)
    await deliver(
        server,
        statuses(
            status(ours["external_id"], "played", ANA), status(ours["external_id"], "deleted", ANA)
        ),
    )
    assert (await reply_view(server, ticket_id, ours["id"]))["status"] == "sent"
