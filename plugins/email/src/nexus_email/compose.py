"""An :class:`~nexus.OutboundMessage` as a MIME message ready for SMTP."""

from __future__ import annotations

from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from nexus import AttachmentLimits, Capabilities, OutboundMessage

from nexus_email.html import html_to_text, text_to_html
from nexus_email.thread import normalize_message_id, references, reply_subject

__all__ = ["CAPABILITIES", "compose"]

#: What a mailbox can send, as the host checks replies and frontends see it: HTML and a
#: subject, text of any length, and files up to 18 MB in all. Most mail servers (Gmail,
#: Outlook, Exchange's default) take messages of 20-25 MB, and base64 makes files a third
#: larger on the wire.
CAPABILITIES = Capabilities(html=True, subject=True, attachments=AttachmentLimits(max_total_size=18 * 1024 * 1024))


def _address(address: str, name: str | None) -> Address:
    local, _, domain = address.rpartition("@")
    return Address(display_name=" ".join((name or "").split()), username=local, domain=domain)


def _in_reply_to(message: OutboundMessage, own_domain: str) -> str | None:
    """The message a reply answers: the one the agent picked, else the customer's latest
    message in the thread (ours are recognisable by their domain), else the latest at all."""
    if message.reply_to and normalize_message_id(message.reply_to):
        return normalize_message_id(message.reply_to)
    ids = [normalize_message_id(value) for value in message.thread]
    ids = [value for value in ids if value]
    theirs = [value for value in ids if not value.endswith(f"@{own_domain}>")]
    return (theirs or ids or [None])[-1]


def compose(message: OutboundMessage, *, message_id: str, sender: str, sender_name: str | None,
            own_domain: str) -> EmailMessage:
    """Build the reply: From, To, our Message-ID, the thread's In-Reply-To and References,
    "Re: <subject> [#<ticket>]", a text and an HTML alternative, and the attachments."""
    mail = EmailMessage(policy=SMTP)
    mail["From"] = _address(sender, sender_name)
    mail["To"] = _address(message.recipient.address, message.recipient.display_name)
    mail["Subject"] = reply_subject(message.subject, message.ticket_id)
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = message_id
    answered = _in_reply_to(message, own_domain)
    if answered:
        mail["In-Reply-To"] = answered
    chain = references(message.thread, answered)
    if chain:
        mail["References"] = " ".join(chain)
    if message.automatic:
        # RFC 3834: mark it, and ask Exchange and friends not to auto-answer it.
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
    mail["X-Nexus-Ticket"] = str(message.ticket_id)

    text = message.text or (html_to_text(message.html) if message.html else "")
    html = message.html or text_to_html(text)
    mail.set_content(text if text.endswith("\n") else text + "\n", subtype="plain", charset="utf-8")
    mail.add_alternative(html, subtype="html", charset="utf-8")
    for attachment in message.attachments:
        maintype, _, subtype = (attachment.content_type or "application/octet-stream").partition("/")
        mail.add_attachment(attachment.data, maintype=maintype or "application",
                            subtype=subtype or "octet-stream", filename=attachment.filename)
    return mail
