"""Submitting mail over SMTP, with the server's answers mapped to the host's error kinds:
4xx and network trouble are retried, 5xx fail the message with the server's own words."""

from __future__ import annotations

import ssl
from email.message import EmailMessage

import aiosmtplib

from nexus import PermanentError, RetryableError

from nexus_email.config import SmtpSettings

__all__ = ["SmtpSender"]


def _text(message: str) -> str:
    return " ".join(str(message).split())


class SmtpSender:
    """One SMTP connection per message: simple, and nothing to keep alive between replies."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def _client(self) -> aiosmtplib.SMTP:
        settings = self.settings
        context = ssl.create_default_context()
        if not settings.verify_certificate:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return aiosmtplib.SMTP(
            hostname=settings.host,
            port=settings.effective_port,
            username=settings.user,
            password=settings.password.get_secret_value() if settings.password else None,
            use_tls=settings.security == "tls",
            start_tls=settings.security == "starttls",
            tls_context=context if settings.security != "none" else None,
            timeout=settings.timeout,
        )

    async def send(self, mail: EmailMessage, *, envelope_from: str, recipient: str) -> None:
        """Submit ``mail`` to ``recipient``. Raises RetryableError or PermanentError."""
        where = f"{self.settings.host}:{self.settings.effective_port}"
        client = self._client()
        try:
            async with client:
                await client.send_message(mail, sender=envelope_from, recipients=[recipient])
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0] if exc.recipients else None
            code = refused.code if refused else 550
            raise self._error(code, refused.message if refused else str(exc), f"recipient {recipient} refused") from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            # The operator's credentials, not this message: retry until they are fixed.
            raise RetryableError(f"SMTP server {where} refused our login: {exc.code} {_text(exc.message)}",
                                 code="smtp_auth") from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise self._error(exc.code, exc.message, "message refused") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise RetryableError(f"cannot deliver through SMTP server {where}: {_text(str(exc)) or type(exc).__name__}",
                                 code="smtp_unavailable") from exc

    @staticmethod
    def _error(code: int, message: str, what: str) -> RetryableError | PermanentError:
        text = f"{what}: {code} {_text(message)}"
        if 500 <= code < 600:
            return PermanentError(text, code=f"smtp_{code}")
        return RetryableError(text, code=f"smtp_{code}")
