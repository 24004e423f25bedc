"""Loop protection: automatic mail is never answered automatically, bounces mark our message
failed and open no ticket, and automatic replies we send say so."""

from __future__ import annotations

import json

import pytest
from email_mails import (
    OTHER_AUTOMATIC_SUBJECTS,
    OUTLOOK_AUTOMATIC_REPLY,
    autoresponder,
    crlf,
    dsn_bounce,
    gmail,
    out_of_office,
    simple,
)
from email_servers import SmtpSink, smtp_send

from nexus import DeliveryStatus
from nexus.db import models
from nexus.testing.server import RunningNexus, wait_for
from nexus.tickets import TicketError
from nexus_email.loops import auto_submitted_reason, delivery_reports
from nexus_email.parse import parse_bytes

pytestmark = pytest.mark.asyncio(loop_scope="session")

SUPPORT = "support@example.com"


async def sent_reply(server: RunningNexus, ticket_id: int, text: str) -> str:
    status, body = await server.api("POST", f"/tickets/{ticket_id}/messages", await server.admin_token(), {"body": text})
    assert status == 202, body
    return (await server.wait_for_status(body["id"], "sent")).external_id


async def test_out_of_office_is_stored_but_never_answered_automatically(email_server, sink: SmtpSink) -> None:
    async with email_server() as (server, port):
        await smtp_send(port, gmail(), mail_from="jane.doe@gmail.com", to=SUPPORT)
        (ticket,) = await server.tickets()
        ours = await sent_reply(server, ticket.id, "We are looking into it.")

        await smtp_send(port, out_of_office(in_reply_to=ours), mail_from="jane.doe@gmail.com", to=SUPPORT)
        ooo = (await server.messages("support", direction="inbound"))[-1]
        assert ooo.ticket_id == ticket.id and ooo.auto_submitted
        assert ooo.metadata["email"]["auto_submitted"] == "Auto-Submitted: auto-replied"

        with pytest.raises(TicketError) as refused:
            await server.nexus.tickets.reply(ticket.id, "Thanks for your message!", author=None, automatic=True)
        assert refused.value.code == "auto_submitted"
        assert len(sink.received) == 1  # only the agent's reply ever went out


async def test_an_out_of_office_reply_changes_nothing_about_its_ticket(email_server) -> None:
    """It threads into the (resolved, or pending) ticket by In-Reply-To and is stored there,
    marked automatic; the ticket stays as it was: status, resolution, last activity."""
    async with email_server() as (server, port):
        await smtp_send(port, gmail(), mail_from="jane.doe@gmail.com", to=SUPPORT)
        (ticket,) = await server.tickets()
        ours = await sent_reply(server, ticket.id, "Your parcel left our warehouse today.")
        for status in ("resolved", "pending"):
            await server.nexus.tickets.update(ticket.id, {"status": status})
            (before,) = await server.tickets()
            mail = autoresponder(subject="Automatic reply: Re: My order has not arrived [#1]",
                                 message_id=f"<ooo-{status}@gmail.com>", in_reply_to=ours,
                                 headers="Auto-Submitted: auto-replied\n")
            await smtp_send(port, mail, mail_from="jane.doe@gmail.com", to=SUPPORT)
            (after,) = await server.tickets()
            assert (after.status, after.resolved_at, after.last_message_at, after.updated_at) == (
                before.status, before.resolved_at, before.last_message_at, before.updated_at)
            (ooo,) = await server.messages("support", external_id=f"<ooo-{status}@gmail.com>")
            assert ooo.ticket_id == ticket.id and ooo.auto_submitted


AUTOMATIC = [
    *[("", OUTLOOK_AUTOMATIC_REPLY[language]) for language in ("en", "pt", "es", "fr", "de")],
    *[("", subject) for subject in OTHER_AUTOMATIC_SUBJECTS],
    ("Auto-Submitted: auto-replied\n", "{subject}"),  # Gmail's vacation responder keeps the subject
    ("Auto-Submitted: auto-generated\n", "Your ticket was received"),
    ("X-Autoreply: yes\n", "{subject}"),
    ("X-Autorespond: Thank you for your mail\n", "{subject}"),
    ("Precedence: auto_reply\n", "{subject}"),
    ("Precedence: bulk\n", "Our January newsletter"),
    ("Precedence: junk\n", "{subject}"),
    ("X-Auto-Response-Suppress: All\n", "{subject}"),
]


@pytest.mark.parametrize(("headers", "subject"), AUTOMATIC)
async def test_automatic_mail_that_threads_nowhere_opens_nothing_and_is_kept(email_server, headers, subject) -> None:
    async with email_server() as (server, port):
        mail = autoresponder(subject=subject.format(subject="Your invoice"), message_id="<auto-1@contoso.com>",
                             sender="away@contoso.com", headers=headers)
        answer = await smtp_send(port, mail, mail_from="away@contoso.com", to=SUPPORT)
        assert "kept aside" in answer
        assert await server.tickets() == []
        assert await models.Contact.all().count() == 0
        token = await server.admin_token()
        status, page = await server.api("GET", "/inbound-events", token, params={"status": "ignored"})
        (event,) = page["items"]
        assert event["channel"] == "support" and event["external_id"] == "<auto-1@contoso.com>"
        assert "automatic message" in event["reason"] and event["error"] is None
        status, kept = await server.api("GET", f"/inbound-events/{event['id']}", token)
        document = json.loads(kept["payload"])["message"]
        assert document["sender"]["address"] == "away@contoso.com" and document["auto_submitted"] is True
        assert document["metadata"]["email"]["auto_submitted"]

        # Delivered again (an IMAP re-fetch, an MTA retry): kept once.
        await smtp_send(port, mail, mail_from="away@contoso.com", to=SUPPORT)
        status, page = await server.api("GET", "/inbound-events", token, params={"status": "ignored"})
        assert len(page["items"]) == 1


async def test_the_null_sender_is_automatic(email_server) -> None:
    async with email_server() as (server, port):
        raw = simple(message_id="<null@news.test>", sender="news@news.test", text="Newsletter")
        await smtp_send(port, raw, mail_from="", to=SUPPORT)
        assert await server.tickets() == []


async def test_automatic_mail_from_a_contact_goes_into_their_open_ticket_unchanged(email_server) -> None:
    async with email_server() as (server, port):
        await smtp_send(port, gmail(), mail_from="jane.doe@gmail.com", to=SUPPORT)
        (before,) = await server.tickets()
        mail = autoresponder(subject="Réponse automatique : Absence", message_id="<ooo-fr@gmail.com>")
        await smtp_send(port, mail, mail_from="jane.doe@gmail.com", to=SUPPORT)
        (after,) = await server.tickets()
        assert (after.id, after.status, after.last_message_at) == (before.id, "open", before.last_message_at)
        (ooo,) = await server.messages("support", external_id="<ooo-fr@gmail.com>")
        assert ooo.auto_submitted and ooo.ticket_id == before.id


async def test_mail_through_a_list_is_a_person_writing(email_server) -> None:
    """A support address behind a Google Group gets List-Id and Precedence: list on every
    customer's mail: it opens tickets like any other."""
    async with email_server() as (server, port):
        raw = simple(message_id="<via-list@customer.test>", sender="p@customer.test",
                     extra_headers="Precedence: list\nList-Id: <support.example.com>\n"
                                   "List-Unsubscribe: <mailto:unsubscribe@example.com>\n")
        await smtp_send(port, raw, mail_from="p@customer.test", to=SUPPORT)
        (message,) = await server.messages("support")
        assert not message.auto_submitted
        assert len(await server.tickets()) == 1


async def test_person_written_mail_is_not_flagged(email_server) -> None:
    async with email_server() as (server, port):
        raw = simple(message_id="<person@customer.test>", sender="p@customer.test", extra_headers="Auto-Submitted: no\n",
                     subject="Automatic reply: why did I get one?")
        await smtp_send(port, raw, mail_from="p@customer.test", to=SUPPORT)
        (message,) = await server.messages("support")
        assert not message.auto_submitted


async def test_bounce_fails_our_message_and_opens_no_ticket(email_server, sink: SmtpSink) -> None:
    async with email_server() as (server, port):
        await smtp_send(port, gmail(), mail_from="jane.doe@gmail.com", to=SUPPORT)
        (ticket,) = await server.tickets()
        ours = await sent_reply(server, ticket.id, "Your refund is on its way.")

        bounce = dsn_bounce(original_message_id=ours, recipient="jane.doe@gmail.com")
        answer = await smtp_send(port, bounce, mail_from="", to=SUPPORT)
        assert "delivery report" in answer

        (failed,) = await server.messages(external_id=ours)
        assert failed.status == "failed"
        assert failed.error_code == "5.1.1"
        assert "User unknown" in failed.error_text
        assert len(await server.tickets()) == 1
        assert [m.text for m in await server.messages("support", direction="inbound")] == [
            "Hi,\n\nmy order #1042 has not arrived yet. Can you help?\n\nThanks,\nJane"
        ]


async def test_automatic_reply_is_marked_auto_submitted(email_server, sink: SmtpSink) -> None:
    async with email_server() as (server, port):
        await smtp_send(port, gmail(), mail_from="jane.doe@gmail.com", to=SUPPORT)
        (ticket,) = await server.tickets()
        view = await server.nexus.tickets.reply(ticket.id, "We received your request.", author=None, automatic=True)
        await server.wait_for_status(view.id, "sent")
        await wait_for(lambda: sink.received, message="the automatic reply")
        (mail,) = sink.received
        assert mail.message["Auto-Submitted"] == "auto-replied"
        assert mail.message["X-Auto-Response-Suppress"] == "All"


async def test_automatic_replies_are_capped_per_address(email_server, sink: SmtpSink) -> None:
    async with email_server(settings={"delivery": {"auto_reply_limit": 2}}) as (server, port):
        ids = []
        for n in range(3):
            await smtp_send(port, simple(message_id=f"<m{n}@customer.test>", sender="loop@customer.test", text=f"Hi {n}"),
                            mail_from="loop@customer.test", to=SUPPORT)
            (ticket,) = await server.tickets()
            view = await server.nexus.tickets.reply(ticket.id, f"Auto {n}", author=None, automatic=True)
            ids.append(view.id)
        await server.settle()
        statuses = [(await server.messages(id=i))[0].status for i in ids]
        assert statuses == ["sent", "sent", "failed"]
        assert len(sink.received) == 2


async def test_report_variants() -> None:
    """A delay is no failure; a success report marks delivery; a read receipt is no bounce
    but still automatic mail; a report whose original is unknown yields nothing."""
    ours = "<nexus.1.2.abcd@example.com>"
    delayed = dsn_bounce(original_message_id=ours, recipient="a@b.test").replace(b"Action: failed", b"Action: delayed")
    assert delivery_reports(parse_bytes(delayed)) == []
    delivered = dsn_bounce(original_message_id=ours, recipient="a@b.test", status="2.0.0").replace(
        b"Action: failed", b"Action: delivered")
    (update,) = delivery_reports(parse_bytes(delivered))
    assert update.status == DeliveryStatus.DELIVERED and update.external_id == ours
    mailbox_full = dsn_bounce(original_message_id=ours, recipient="a@b.test", status="4.2.2", diagnostic="")
    mailbox_full = mailbox_full.replace(b"Diagnostic-Code: \r\n", b"")
    (update,) = delivery_reports(parse_bytes(mailbox_full))
    assert update.status == DeliveryStatus.FAILED and update.error_text == "delivery failed: 4.2.2 Mailbox full"

    receipt = crlf(b"""From: a@b.test
Message-ID: <mdn@b.test>
Content-Type: multipart/report; report-type=disposition-notification; boundary=r

--r
Content-Type: text/plain

Your message was read.
--r
Content-Type: message/disposition-notification

Final-Recipient: rfc822; a@b.test
Original-Message-ID: <nexus.1.2.abcd@example.com>
Disposition: manual-action/MDN-sent-manually; displayed
--r--
""")
    message = parse_bytes(receipt)
    assert delivery_reports(message) is None
    assert auto_submitted_reason(message) == "multipart/report report"
