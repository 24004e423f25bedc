"""What the channel declares it can send, checked by the host before a reply is queued:
free-form text only within 24 hours of the customer's last message, templates at any time."""

from __future__ import annotations

from datetime import timedelta

from whatsapp_fakes import FakeGraph, deliver, inbound, reply, text_message

from nexus.clock import now
from nexus.db import models
from nexus.testing import RunningNexus

ANA = "5511987654321"
TEMPLATE = {"name": "order_update", "language": "pt_BR"}


async def customer_wrote(server: RunningNexus, ago: timedelta) -> int:
    """Ana writes; her message is then made ``ago`` old (as if it had arrived back then)."""
    await deliver(server, inbound(ANA, "Ana", text_message(ANA, "wamid.in1", "Oi, preciso de ajuda")))
    (ticket,) = await server.tickets()
    await models.Message.filter(ticket_id=ticket.id, direction="inbound").update(created_at=now() - ago)
    return ticket.id


async def test_free_text_within_the_window_is_queued(server: RunningNexus, graph: FakeGraph) -> None:
    ticket_id = await customer_wrote(server, timedelta(hours=23, minutes=50))
    queued = await reply(server, ticket_id, "Olá Ana!")
    await server.wait_for_status(queued["id"], "sent")


async def test_free_text_after_the_window_is_refused_before_it_reaches_meta(
    server: RunningNexus, graph: FakeGraph
) -> None:
    ticket_id = await customer_wrote(server, timedelta(hours=25))
    response = await server.api("POST", f"/tickets/{ticket_id}/messages", await server.admin_token(),
                                {"text": "Olá Ana, ainda precisa de ajuda?"})
    assert response.status == 422
    error = response.body["error"]
    assert error["code"] == "template_required"
    assert "24 hours after the contact's last message" in error["message"]
    assert [detail["field"] for detail in error["details"]] == ["template"]
    assert graph.sent() == []
    assert await models.Message.filter(direction="outbound").count() == 0

    queued = await reply(server, ticket_id, template=TEMPLATE)
    await server.wait_for_status(queued["id"], "sent")
    (request,) = graph.sent()
    assert request["type"] == "template"
