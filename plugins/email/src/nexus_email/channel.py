"""The email channel: one instance per mailbox."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from nexus import (
    Channel,
    ChannelHost,
    InboundAttachment,
    InboundMessage,
    OutboundMessage,
    RateLimit,
    SendResult,
)
from nexus.offload import off_loop

from nexus_email.compose import CAPABILITIES, compose
from nexus_email.config import EmailConfig
from nexus_email.imap import ImapReceiver
from nexus_email.listener import SmtpListener
from nexus_email.loops import auto_submitted_reason, delivery_reports
from nexus_email.parse import (
    Sender,
    author_of,
    external_id_of,
    header_text,
    parse_leniently,
    sender_of,
    to_inbound,
)
from nexus_email.smtp_out import SmtpSender
from nexus_email.thread import make_message_id, message_ids, ticket_token

__all__ = ["EmailChannel"]

SALT_KEY = "message_id_salt"


class EmailChannel(Channel):
    """A mailbox: IMAP and/or an SMTP listener in, SMTP out."""

    type_name = "email"
    Config = EmailConfig
    description = "Email: IMAP and SMTP in, SMTP out"
    rate_limit = RateLimit(per_second=10, per_recipient_per_second=1)
    send_timeout = 120.0
    capabilities = CAPABILITIES
    config: EmailConfig

    def __init__(self, name: str, config: EmailConfig, host: ChannelHost) -> None:  # type: ignore[override]
        super().__init__(name, config, host)
        self.sender = SmtpSender(config.smtp)
        self.salt = ""
        self.imap = ImapReceiver(config.imap, host, self.deliver_imap, self.logger) if config.imap else None
        self.listener = (SmtpListener(config.smtp_listener, config.listener_recipients, self.deliver_smtp, self.logger)
                         if config.smtp_listener else None)

    async def start(self) -> None:
        # Every process must generate the same Message-IDs for a message: share the salt.
        # (Stored in an object: the host's state column takes a bare string for encoded JSON.)
        stored = await self.host.setdefault_state(SALT_KEY, {"salt": secrets.token_hex(4)})
        self.salt = stored["salt"]

    async def run(self) -> None:
        """The IMAP loop and the SMTP listener, side by side, in the one receiving process."""
        tasks = [asyncio.create_task(self.imap.run(), name=f"{self.name}-imap")] if self.imap else []
        if self.listener:
            tasks.append(asyncio.create_task(self.listener.serve(), name=f"{self.name}-smtp-listener"))
        if not tasks:
            return
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # raise the failure, so the host reports it and restarts run()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def status_details(self) -> Mapping[str, Any]:
        details: dict[str, Any] = {"address": self.config.address}
        if self.config.imap:
            details["imap"] = f"{self.config.imap.host}:{self.config.imap.effective_port}/{self.config.imap.folder}"
        if self.config.smtp_listener:
            details["smtp_listener"] = f"{self.config.smtp_listener.host}:{self.config.smtp_listener.port}"
        return details

    # --- Inbound -------------------------------------------------------------------------

    async def deliver_imap(self, raw: bytes) -> str:
        return await self.ingest(raw)

    async def deliver_smtp(self, raw: bytes, envelope_sender: str) -> str:
        return await self.ingest(raw, envelope_sender=envelope_sender)

    async def ingest(self, raw: bytes, *, envelope_sender: str | None = None) -> str:
        """Store one raw message (or apply the bounce it is). Returns once committed, with a
        short description of the outcome; raises when it could not be stored."""
        # Parsing and decoding megabytes of mail is CPU work: a large mail is read in a thread.
        message, readable = await off_loop(len(raw), parse_leniently, raw)
        author = author_of(message)
        if author is not None and author.address.lower() in self.config.own_addresses:
            self.logger.info("ignoring %s: it comes from this mailbox's own address %s",
                             external_id_of(message, raw), author.address)
            return "ignored: sent by this mailbox"
        try:
            reports = delivery_reports(message)
        except Exception:  # noqa: BLE001 - a mangled report: store it as a (non-answerable) message
            self.logger.exception("could not read the delivery report %s", external_id_of(message, raw))
            reports = None
        if reports is not None:
            for update in reports:
                known = await self.host.update_status(update)
                self.logger.info("bounce for %s: %s %s%s", update.external_id, update.status, update.error_code or "",
                                 "" if known else " (not a message of ours yet)")
            return f"delivery report ({len(reports)} update(s))"
        if readable:
            inbound = await off_loop(len(raw), self._convert, message, raw, envelope_sender)
        else:
            self.logger.error("the structure of %s is unreadable; storing it raw", external_id_of(message, raw))
            inbound = self._raw_fallback(message, raw, envelope_sender)
        receipt = await self.host.receive(inbound)
        if receipt.ignored:
            self.logger.info("kept %s aside: %s", inbound.external_id, receipt.ignored)
            return f"kept aside: {receipt.ignored}"
        if receipt.duplicate:
            return f"duplicate of message {receipt.message_id}"
        return f"stored as message {receipt.message_id} in ticket {receipt.ticket_id}"

    def _convert(self, message: EmailMessage, raw: bytes, envelope_sender: str | None) -> InboundMessage:
        try:
            inbound = to_inbound(message, raw, envelope_sender=envelope_sender)
        except Exception:  # noqa: BLE001 - never lose mail to a parser bug: keep it raw
            self.logger.exception("could not parse %s; storing it raw", external_id_of(message, raw))
            return self._raw_fallback(message, raw, envelope_sender)
        defects = inbound.metadata.get("email", {}).get("defects")
        if defects:
            self.logger.warning("mail %s has defects: %s", inbound.external_id, "; ".join(defects))
        return inbound

    def _raw_fallback(self, message: EmailMessage, raw: bytes, envelope_sender: str | None) -> InboundMessage:
        sender = sender_of(message, envelope_sender) or Sender("unknown-sender@invalid", "Unknown sender")
        subject = header_text(message, "Subject") or None
        auto = auto_submitted_reason(message, envelope_sender)
        meta: dict[str, Any] = {"defects": ["unparseable message"]}
        if auto:
            meta["auto_submitted"] = auto
        return InboundMessage(
            external_id=external_id_of(message, raw), sender=sender.identity(),
            text="This email could not be read; the original is attached.", subject=subject,
            attachments=[InboundAttachment("message.eml", "message/rfc822", raw)],
            thread_keys=message_ids(header_text(message, "References")) + message_ids(header_text(message, "In-Reply-To")),
            ticket_hint=ticket_token(subject), auto_submitted=auto is not None, metadata={"email": meta},
        )

    # --- Outbound ------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        message_id = make_message_id(self.config.domain, message.ticket_id, message.message_id, self.salt)
        # Encoding megabytes of files in base64 is CPU work: a large mail is composed in a thread.
        mail = await off_loop(sum(a.size for a in message.attachments), compose, message, message_id=message_id,
                              sender=self.config.address, sender_name=self.config.from_name,
                              own_domain=self.config.domain)
        await self.sender.send(mail, envelope_from=self.config.address, recipient=message.recipient.address)
        return SendResult(external_id=message_id)
