"""Our own SMTP server for inbound mail (aiosmtpd, in the channel's event loop).

It accepts mail only for the mailbox's addresses (550 5.1.1 otherwise), refuses mail over
the size limit (552), and answers 250 only once the message is committed, so the sending MTA
keeps (and retries) anything that was not stored: a storage failure answers 451.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable, Collection

from aiosmtpd.smtp import SMTP, Envelope, Session

from nexus_email.config import ListenerSettings

__all__ = ["SmtpListener"]

#: ``(raw message, envelope sender)`` → a short description of what was done with it.
Deliver = Callable[[bytes, str], Awaitable[str]]


def _accepts(recipient: str, addresses: Collection[str]) -> bool:
    """Whether ``recipient`` is one of ``addresses``, also as ``local+tag@domain``."""
    address = recipient.strip().strip("<>").lower()
    if address in addresses:
        return True
    local, _, domain = address.rpartition("@")
    return "+" in local and f"{local.split('+', 1)[0]}@{domain}" in addresses


class _Handler:
    def __init__(self, recipients: Collection[str], deliver: Deliver, logger: logging.Logger) -> None:
        self.recipients = recipients
        self.deliver = deliver
        self.logger = logger

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if not _accepts(address, self.recipients):
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        sender = envelope.mail_from or ""
        try:
            outcome = await self.deliver(raw, sender)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the database or Redis is away: the MTA tries again
            self.logger.exception("could not store mail from <%s> received over SMTP", sender)
            return "451 4.3.0 Temporary failure storing the message; try again later"
        return f"250 2.0.0 OK: {outcome}"


class _Server(SMTP):
    #: Lenient about over-long lines: some senders exceed RFC 5321's 1000 octets.
    line_length_limit = 64 * 1024


class SmtpListener:
    def __init__(self, settings: ListenerSettings, recipients: Collection[str], deliver: Deliver,
                 logger: logging.Logger) -> None:
        self.settings = settings
        self.handler = _Handler(recipients, deliver, logger)
        self.logger = logger

    def _tls_context(self) -> ssl.SSLContext | None:
        if not self.settings.tls_certificate or not self.settings.tls_key:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.settings.tls_certificate, self.settings.tls_key)
        return context

    async def serve(self) -> None:
        """Listen until cancelled."""
        settings = self.settings
        loop = asyncio.get_running_loop()
        context = self._tls_context()

        def protocol() -> SMTP:
            return _Server(
                self.handler, data_size_limit=settings.max_size, enable_SMTPUTF8=True, decode_data=False,
                hostname=settings.hostname, ident="Nexus ESMTP", tls_context=context,
                require_starttls=settings.require_tls, loop=loop,
            )

        server = await loop.create_server(protocol, settings.host, settings.port)
        self.logger.info("SMTP listener on %s:%s", settings.host, settings.port)
        try:
            await asyncio.Future()
        finally:
            server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5)
