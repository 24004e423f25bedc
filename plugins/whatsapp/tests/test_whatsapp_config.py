"""Configuring the channel: the ``WHATSAPP_API_KEY`` shortcut and readable setting errors."""

from __future__ import annotations

import pytest
from nexus_whatsapp import WhatsAppConfig
from pydantic import ValidationError
from whatsapp_fakes import TOKEN, FakeGraph, deliver, inbound, reply, settings, text_message


async def test_whatsapp_api_key_supplies_the_single_channel_token(
    nexus_server, fake_provider
) -> None:
    graph = FakeGraph(await fake_provider())
    table = settings(graph.url)
    del table["access_token"]
    async with nexus_server(
        {"channels": {"whatsapp": table}}, environ={"WHATSAPP_API_KEY": TOKEN}
    ) as server:
        assert server.nexus.channels.get("whatsapp").state == "running"
        await deliver(
            server,
            inbound("14155550101", "Bo", text_message("14155550101", "wamid.k1", "hi")),
            channel="whatsapp",
        )
        (ticket,) = await server.tickets()
        await reply(server, ticket.id, "Hello Bo")
        await server.settle()
        (sent,) = graph.provider.requests_to("POST", "/{version}/{number}/messages", succeeded=True)
        assert sent.header("authorization") == f"Bearer {TOKEN}"


async def test_a_token_meta_refuses_stops_the_channel_at_start(nexus_server, fake_provider) -> None:
    graph = FakeGraph(await fake_provider())
    channels = {"support": settings(graph.url, access_token="expired-token")}
    async with nexus_server({"channels": channels}) as server:
        runtime = server.nexus.channels.get("support")
        assert runtime.state == "failed"
        assert "access token" in runtime.error


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"phone_number_id": "+1 555 0100"}, "numeric phone number id"),
        ({"graph_api_version": "21"}, "must look like"),
        ({"graph_api_base": "graph.facebook.com"}, "http(s) URL"),
    ],
)
def test_settings_are_checked_with_readable_errors(change: dict, message: str) -> None:
    table = settings("https://graph.facebook.com", **change)
    del table["type"]
    with pytest.raises(ValidationError) as caught:
        WhatsAppConfig.model_validate(table)
    assert message in str(caught.value)


def test_a_numeric_phone_number_id_from_toml_is_accepted() -> None:
    table = settings("https://graph.facebook.com/", phone_number_id=106540352242922)
    del table["type"]
    config = WhatsAppConfig.model_validate(table)
    assert config.phone_number_id == "106540352242922"
    assert config.graph_api_base == "https://graph.facebook.com"
