"""The settings of one email channel instance.

A ``[channels.<name>]`` table of ``type = "email"`` holds the mailbox's addresses, and one
sub-table per transport: ``imap`` and/or ``smtp_listener`` for inbound mail, ``smtp`` for
outbound mail. Secrets may come from the environment, for example
``NEXUS_CHANNELS__SUPPORT__IMAP__PASSWORD``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from nexus import ChannelConfig

__all__ = ["EmailConfig", "ImapSettings", "ListenerSettings", "SmtpSettings", "valid_address"]

ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
Security = Literal["tls", "starttls", "none"]


def valid_address(value: str) -> str:
    """A plain ``local@domain`` address, domain lower-cased. Raises ValueError."""
    value = value.strip()
    if not ADDRESS.match(value):
        raise ValueError(f"{value!r} is not an email address such as support@example.com")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImapSettings(_Section):
    """Inbound mail fetched from an IMAP folder."""

    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    """Defaults to 993 with ``security = "tls"``, else 143."""
    security: Security = "tls"
    verify_certificate: bool = True
    user: str
    password: SecretStr
    folder: str = "INBOX"
    poll_interval: float = Field(default=60.0, ge=1.0, le=1740.0)
    """Seconds between checks; with IDLE, how often IDLE is renewed and a full check runs."""
    idle: bool = True
    """Use IMAP IDLE (push) where the server offers it."""
    after_processing: Literal["mark_seen", "move"] = "mark_seen"
    move_to: str | None = None
    """The folder processed mail moves to, with ``after_processing = "move"``."""
    timeout: float = Field(default=30.0, gt=0)

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)

    @model_validator(mode="after")
    def _check(self) -> ImapSettings:
        if self.after_processing == "move":
            if not self.move_to:
                raise ValueError('after_processing = "move" needs move_to (the folder processed mail goes to)')
            if self.move_to == self.folder:
                raise ValueError("move_to must differ from folder")
        elif self.move_to:
            raise ValueError('move_to is only used with after_processing = "move"')
        return self


class ListenerSettings(_Section):
    """Inbound mail received by our own SMTP server (behind an MTA, or as the MX)."""

    host: str = "127.0.0.1"
    port: int = Field(default=2525, ge=1, le=65535)
    recipients: list[str] = []
    """Accepted recipient addresses; defaults to ``address`` and ``aliases``."""
    max_size: int = Field(default=25 * 1024 * 1024, ge=1024)
    """The largest message accepted, in bytes (advertised as SIZE; larger mail gets 552)."""
    hostname: str | None = None
    """The name in the greeting and EHLO answer; defaults to the machine's FQDN."""
    tls_certificate: str | None = None
    """PEM certificate (chain) file: with ``tls_key``, the listener offers STARTTLS."""
    tls_key: str | None = None
    require_tls: bool = False
    """Refuse mail until the client used STARTTLS."""

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        return [valid_address(v) for v in value]

    @model_validator(mode="after")
    def _check(self) -> ListenerSettings:
        if bool(self.tls_certificate) != bool(self.tls_key):
            raise ValueError("tls_certificate and tls_key go together")
        if self.require_tls and not self.tls_certificate:
            raise ValueError("require_tls needs tls_certificate and tls_key")
        return self


class SmtpSettings(_Section):
    """Outbound mail, submitted to an SMTP server."""

    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    """Defaults to 465 with ``security = "tls"``, 587 with ``"starttls"``, 25 with ``"none"``."""
    security: Security = "starttls"
    verify_certificate: bool = True
    user: str | None = None
    password: SecretStr | None = None
    timeout: float = Field(default=30.0, gt=0)

    @property
    def effective_port(self) -> int:
        return self.port or {"tls": 465, "starttls": 587, "none": 25}[self.security]

    @model_validator(mode="after")
    def _check(self) -> SmtpSettings:
        if self.user and self.password is None:
            raise ValueError("user is set but password is missing (set it here or in NEXUS_CHANNELS__<NAME>__SMTP__PASSWORD)")
        if self.password is not None and not self.user:
            raise ValueError("password is set but user is missing")
        return self


class EmailConfig(ChannelConfig):
    address: str
    """The mailbox's address: the From of replies, and the envelope sender bounces return to."""
    aliases: list[str] = []
    """Other addresses this mailbox answers for (mail from them is never a customer's)."""
    from_name: str | None = None
    """The display name of replies, e.g. "Example Support"."""
    message_id_domain: str | None = None
    """The right-hand side of the Message-IDs we generate; defaults to the address's domain."""
    imap: ImapSettings | None = None
    smtp_listener: ListenerSettings | None = None
    smtp: SmtpSettings
    outbound_only: bool = False
    """Set to confirm that this instance receives no mail (neither imap nor smtp_listener)."""

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return valid_address(value)

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: list[str]) -> list[str]:
        return [valid_address(v) for v in value]

    @field_validator("message_id_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is not None and not DOMAIN.match(value):
            raise ValueError(f"{value!r} is not a domain name")
        return value.lower() if value else value

    @model_validator(mode="after")
    def _inbound(self) -> EmailConfig:
        receives = self.imap is not None or self.smtp_listener is not None
        if not receives and not self.outbound_only:
            raise ValueError("configure inbound mail ([imap] and/or [smtp_listener]), or set outbound_only = true")
        if receives and self.outbound_only:
            raise ValueError("outbound_only = true contradicts the configured imap/smtp_listener")
        return self

    @property
    def own_addresses(self) -> frozenset[str]:
        """Every address of this mailbox, lower-cased."""
        return frozenset(a.lower() for a in (self.address, *self.aliases))

    @property
    def listener_recipients(self) -> frozenset[str]:
        listener = self.smtp_listener
        chosen = listener.recipients if listener and listener.recipients else [self.address, *self.aliases]
        return frozenset(a.lower() for a in chosen)

    @property
    def domain(self) -> str:
        return self.message_id_domain or self.address.rpartition("@")[2]
