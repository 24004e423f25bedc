"""Replies thread both ways: our replies carry our Message-ID and the thread's headers, and the
customer's answers land in the same ticket, reopening it when it was resolved."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from email_mails import PDF, gmail, outlook_html, simple, thunderbird
from email_servers import SmtpSink, smtp_send

from nexus.db import models
from nexus.testing.server import RunningNexus, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="session")

SUPPORT = "support@example.com"
CUSTOMER_ID = "<CAFx7Yq1mP0gK3tz=Hq2B@mail.gmail.com>"


async def agent_reply(server: RunningNexus, ticket_id: int, text: str, **extra) -> int:
    status, body = await server.api("POST", f"/tickets/{ticket_id}/messages", await server.admin_token(), {"body": text, **extra})
    assert status == 202, body
    sent = await server.wait_for_status(body["id"], "sent")
    return sent.id


async def test_our_reply_threads_and_the_answer_comes_back(email_server, sink: SmtpSink) -> None:
    async with email_server() as (server, port):
        await smtp_send(port, gmail(), mail_from="jane.doe@gmail.com", to=SUPPORT)
        (ticket,) = await server.tickets()

        reply_id = await agent_reply(server, ticket.id, "Sorry about that! It ships today.\nhttps://track.example/1042")
        await wait_for(lambda: sink.received, message="the reply to reach the SMTP server")
        (mail,) = sink.received
        (reply,) = await server.messages(id=reply_id)

        # Addressing and threading headers, as the customer's mail client sees them.
        assert mail.mail_from == SUPPORT and mail.recipients == ["jane.doe@gmail.com"]
        assert str(mail.message["From"]) == "Example Support <support@example.com>"
        assert str(mail.message["To"]) == "Jane Doe <jane.doe@gmail.com>"
        assert mail.message["Subject"] == f"Re: My order has not arrived [#{ticket.id}]"
        assert mail.message["In-Reply-To"] == CUSTOMER_ID
        assert mail.message["References"] == CUSTOMER_ID
        assert mail.message["Message-ID"] == reply.external_id
        assert reply.external_id.endswith("@example.com>")
        assert "Auto-Submitted" not in mail.message
        # Both a text and an HTML alternative.
        assert mail.message.get_content_type() == "multipart/alternative"
        assert mail.text.startswith("Sorry about that! It ships today.")
        assert '<a href="https://track.example/1042">' in mail.html

        # Jane answers from Gmail, quoting us: same ticket, quote collapsed.
        answer = gmail(message_id="<CAFx7Yq2answer@mail.gmail.com>", subject=f"Re: My order has not arrived [#{ticket.id}]",
                       text="Great, thank you!", in_reply_to=reply.external_id,
                       references=[CUSTOMER_ID, reply.external_id], quote="Sorry about that! It ships today.")
        await smtp_send(port, answer, mail_from="jane.doe@gmail.com", to=SUPPORT)
        assert len(await server.tickets()) == 1
        latest = (await server.messages("support", direction="inbound"))[-1]
        assert latest.ticket_id == ticket.id
        assert latest.text == "Great, thank you!"
        assert "wrote:" in latest.metadata["email"]["quoted_text"]
        assert "Sorry about that" in latest.html  # the full HTML keeps the history


async def test_references_alone_reopen_a_resolved_ticket(email_server, sink: SmtpSink) -> None:
    async with email_server(settings={"tickets": {"reopen_window": 0}}) as (server, port):
        await smtp_send(port, gmail(), mail_from="jane.doe@gmail.com", to=SUPPORT)
        (ticket,) = await server.tickets()
        reply_id = await agent_reply(server, ticket.id, "Done, closing this.")
        (reply,) = await server.messages(id=reply_id)
        status, _ = await server.api("PATCH", f"/tickets/{ticket.id}", await server.admin_token(), {"status": "resolved"})
        assert status == 200

        # Outlook answers without In-Reply-To; References name our reply.
        await smtp_send(port, outlook_html(references=[CUSTOMER_ID, reply.external_id]),
                        mail_from="bjoern.mueller@contoso.com", to=SUPPORT)
        (reopened,) = await server.tickets()
        assert reopened.id == ticket.id and reopened.status == "open"
        latest = (await server.messages("support", direction="inbound"))[-1]
        assert latest.ticket_id == ticket.id


async def test_subject_token_is_the_fallback(email_server) -> None:
    async with email_server(settings={"tickets": {"reopen_window": 0}}) as (server, port):
        first = thunderbird(message_id="<tb-1@contoso.de>", subject="Lieferung", text="Wo bleibt die Lieferung?\n")
        await smtp_send(port, first, mail_from="juergen.weiss@contoso.de", to=SUPPORT)
        (ticket,) = await server.tickets()
        status, _ = await server.api("PATCH", f"/tickets/{ticket.id}", await server.admin_token(), {"status": "resolved"})
        assert status == 200
        # A new mail (no threading headers) that quotes the ticket token in its subject.
        again = thunderbird(message_id="<tb-2@contoso.de>", subject=f"Noch einmal: Lieferung [#{ticket.id}]",
                            text="Immer noch nichts angekommen.\n")
        await smtp_send(port, again, mail_from="juergen.weiss@contoso.de", to=SUPPORT)
        tickets = await server.tickets()
        assert [t.id for t in tickets] == [ticket.id] and tickets[0].status == "open"


async def test_reply_subject_does_not_stack_and_attachments_go_out(email_server, sink: SmtpSink) -> None:
    async with email_server() as (server, port):
        await smtp_send(port, outlook_html(), mail_from="bjoern.mueller@contoso.com", to=SUPPORT)
        (ticket,) = await server.tickets()
        assert ticket.subject == "RE: Replacement part [#7]"
        status, body = await server.api("POST", f"/tickets/{ticket.id}/messages", await server.admin_token(), {
            "body": "Here is the label.",
            "attachments": [{"filename": "Rücksendeetikett.pdf", "content_type": "application/pdf",
                             "data": base64.b64encode(PDF).decode()}],
        })
        assert status == 202, body
        await server.wait_for_status(body["id"], "sent")
        (mail,) = sink.received
        assert mail.message["Subject"] == f"Re: Replacement part [#{ticket.id}]"
        (attachment,) = list(mail.message.iter_attachments())
        assert attachment.get_filename() == "Rücksendeetikett.pdf"
        assert attachment.get_content() == PDF


async def test_concurrent_customers_get_their_own_tickets(email_server) -> None:
    async with email_server() as (server, port):
        for n in range(3):
            await smtp_send(port, simple(message_id=f"<c{n}@customer.test>", sender=f"c{n}@customer.test", text=f"Hi {n}"),
                            mail_from=f"c{n}@customer.test", to=SUPPORT)
        assert len(await server.tickets()) == 3


async def test_a_mail_dated_2001_does_not_reopen_an_old_ticket(email_server) -> None:
    """The sender's clock says 2001; Nexus received it now, 30 days after the ticket was
    resolved, beyond the 7-day reopen window: a new ticket, showing the mail's own Date."""
    async with email_server() as (server, port):
        await smtp_send(port, simple(message_id="<first@customer.test>", sender="casey@customer.test"),
                        mail_from="casey@customer.test", to=SUPPORT)
        (old,) = await server.tickets()
        await server.nexus.tickets.update(old.id, {"status": "resolved"})
        await models.Ticket.filter(id=old.id).update(resolved_at=datetime.now(UTC) - timedelta(days=30))

        dated_2001 = simple(message_id="<y2k@customer.test>", sender="casey@customer.test", subject="Broken clock",
                            date="Mon, 1 Jan 2001 09:30:00 +0100")
        await smtp_send(port, dated_2001, mail_from="casey@customer.test", to=SUPPORT)
        first, second = await server.tickets()
        assert (first.id, first.status) == (old.id, "resolved")
        assert second.status == "open" and second.subject == "Broken clock"
        (message,) = await server.messages("support", external_id="<y2k@customer.test>")
        assert message.sent_at == datetime(2001, 1, 1, 8, 30, tzinfo=UTC)
        assert second.last_message_at == message.received_at


async def test_a_mail_dated_in_the_future_sorts_by_when_it_arrived(email_server) -> None:
    async with email_server() as (server, port):
        ahead = datetime.now(UTC) + timedelta(hours=6)
        for name, date in (("early", format_datetime(ahead)), ("later", format_datetime(ahead.replace(year=ahead.year + 1)))):
            await smtp_send(port, simple(message_id=f"<{name}@skewed.test>", sender=f"{name}@skewed.test",
                                         subject=f"From {name}", date=date), mail_from=f"{name}@skewed.test", to=SUPPORT)
        await smtp_send(port, simple(message_id="<last@customer.test>", sender="last@customer.test", subject="Arrived last"),
                        mail_from="last@customer.test", to=SUPPORT)
        token = await server.admin_token()
        status, page = await server.api("GET", "/tickets", token)
        assert [t["subject"] for t in page["items"]] == ["Arrived last", "From later", "From early"]
        skewed = {m.external_id: m for m in await server.messages("support")}
        assert skewed["<early@skewed.test>"].sent_at == ahead.replace(microsecond=0)
        assert skewed["<later@skewed.test>"].sent_at.year == ahead.year + 1
