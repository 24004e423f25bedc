"""Inbound mail through the channel's own SMTP listener."""

from __future__ import annotations

import aiosmtplib
import pytest
from email_mails import apple_mail, gmail, simple
from email_servers import smtp_send

from nexus_email.listener import _accepts

pytestmark = pytest.mark.asyncio(loop_scope="session")

SUPPORT = "support@example.com"


async def test_mail_for_our_address_becomes_a_ticket(email_server) -> None:
    async with email_server() as (server, port):
        answer = await smtp_send(port, gmail(), mail_from="jane.doe@gmail.com", to=SUPPORT)
        assert answer.startswith("2.0.0 OK: stored as message")
        (message,) = await server.messages("support")
        assert message.external_id == "<CAFx7Yq1mP0gK3tz=Hq2B@mail.gmail.com>"
        assert message.sender["address"] == "jane.doe@gmail.com"
        assert message.sender["display_name"] == "Jane Doe"
        (ticket,) = await server.tickets()
        assert ticket.subject == "My order has not arrived" and ticket.status == "open"
        assert ticket.contact.name == "Jane Doe"


async def test_plus_addressing_and_case_reach_the_mailbox(email_server) -> None:
    async with email_server() as (server, port):
        await smtp_send(port, apple_mail(), mail_from="zoe.martin@icloud.com", to="Support+App@Example.com")
        assert len(await server.messages("support")) == 1


async def test_other_recipients_are_refused_with_550(email_server) -> None:
    async with email_server() as (server, port):
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await smtp_send(port, gmail(), mail_from="jane.doe@gmail.com", to="sales@example.com")
        (recipient,) = refused.value.recipients
        assert recipient.code == 550 and "5.1.1" in recipient.message
        assert await server.messages("support") == []


async def test_oversized_mail_is_refused_with_552(email_server) -> None:
    async with email_server() as (server, port):  # max_size is 256 KiB in these tests
        big = simple(message_id="<big@customer.test>", sender="big@customer.test", text="x" * 76 + ("\n" + "y" * 76) * 4000)
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
            await smtp_send(port, big, mail_from="big@customer.test", to=SUPPORT)
        assert refused.value.code == 552
        assert await server.messages("support") == []


async def test_storage_failure_answers_451_and_the_retry_is_stored(email_server) -> None:
    async with email_server() as (server, port):
        pipeline = server.nexus.pipeline
        original = pipeline.receive

        async def database_down(*args, **kwargs):
            raise ConnectionError("database unavailable")

        pipeline.receive = database_down
        try:
            with pytest.raises(aiosmtplib.SMTPDataError) as refused:
                await smtp_send(port, gmail(), mail_from="jane.doe@gmail.com", to=SUPPORT)
            assert refused.value.code == 451
        finally:
            pipeline.receive = original
        assert await server.messages("support") == []
        # The sending MTA retries later: now it is stored.
        await smtp_send(port, gmail(), mail_from="jane.doe@gmail.com", to=SUPPORT)
        assert len(await server.messages("support")) == 1


async def test_mail_from_our_own_address_is_not_a_ticket(email_server) -> None:
    async with email_server() as (server, port):
        own = simple(message_id="<own@example.com>", sender=SUPPORT, name="Example Support", text="Echo")
        answer = await smtp_send(port, own, mail_from=SUPPORT, to=SUPPORT)
        assert "ignored" in answer
        assert await server.tickets() == []


async def test_recipient_matching() -> None:
    addresses = {"support@example.com"}
    assert _accepts("<Support@EXAMPLE.com>", addresses)
    assert _accepts("support+billing@example.com", addresses)
    assert not _accepts("support@example.org", addresses)
    assert not _accepts("supportx@example.com", addresses)
