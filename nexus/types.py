"""The normalised types that every channel plugin speaks.

Plugins convert between these and their provider's format. They never touch tickets or the
database: the host's pipeline owns that. This module is part of the plugin contract, so it
imports nothing of the host, and its types only grow by optional fields.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "AttachmentView",
    "ContactView",
    "DeliveryStatus",
    "Identity",
    "InboundAttachment",
    "InboundEdit",
    "InboundMessage",
    "InboundReaction",
    "MessageView",
    "OutboundAttachment",
    "OutboundMessage",
    "Receipt",
    "SendResult",
    "StatusUpdate",
    "TicketView",
    "to_json",
]


class DeliveryStatus(enum.StrEnum):
    """Where a message stands. Outbound messages only ever move forward in this order:
    ``queued`` → ``sending`` → ``sent`` → ``delivered`` → ``read``, or to ``failed``.
    Inbound messages are ``received``; private notes are ``stored`` (they are never sent)."""

    RECEIVED = "received"
    STORED = "stored"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a contact is on one channel type.

    :param address: where replies go, exactly as the provider gave it (a WhatsApp ``wa_id``, a
        Telegram chat id, an email address).
    :param key: the canonical form that identifies the person, when it differs from
        ``address``: two spellings of one phone number must share a key. Defaults to ``address``.
    :param display_name: the name the provider reports, if any.
    :param profile: anything else worth keeping (username, language, phone number).
    """

    address: str
    key: str | None = None
    display_name: str | None = None
    profile: Mapping[str, Any] = field(default_factory=dict)

    @property
    def canonical(self) -> str:
        return self.key or self.address


@dataclass(frozen=True, slots=True)
class InboundAttachment:
    """A file that came with an inbound message.

    ``data`` holds the downloaded bytes. When the file could not be downloaded (too large for the
    provider's API, say), leave ``data`` as None and say why in ``note``: the host stores a
    visible placeholder instead of dropping it.
    """

    filename: str
    content_type: str = "application/octet-stream"
    data: bytes | None = None
    content_id: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message a contact sent.

    :param external_id: the provider's id, unique within the channel instance. The host
        deduplicates on it, so a redelivered webhook or a replayed poll is stored once.
    :param thread_keys: external ids of earlier messages this one belongs with (email's
        In-Reply-To and References). A match wins over the contact's open ticket.
    :param ticket_hint: a ticket number the contact quoted (``[#123]`` in a subject), used when no
        thread key matched and the ticket belongs to this contact.
    :param reply_to: the external id of the message this one answers.
    :param auto_submitted: true for automatic mail (auto-replies, bulk): stored, never answered
        automatically.
    """

    external_id: str
    sender: Identity
    text: str | None = None
    html: str | None = None
    subject: str | None = None
    attachments: Sequence[InboundAttachment] = ()
    reply_to: str | None = None
    thread_keys: Sequence[str] = ()
    ticket_hint: int | None = None
    sent_at: datetime | None = None
    auto_submitted: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InboundEdit:
    """The contact edited a message they sent earlier: the stored message is updated in place."""

    external_id: str
    text: str | None = None
    html: str | None = None
    edited_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InboundReaction:
    """A reaction to an earlier message. ``emoji`` None means the reaction was removed.

    It attaches to the message it reacts to; it is not a new message and reopens nothing.
    """

    target_external_id: str
    sender: Identity
    emoji: str | None
    reacted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the host answers to :meth:`ChannelHost.receive`, once the event is committed."""

    stored: bool
    """False when the event was a duplicate or had nothing to attach to."""
    message_id: int | None = None
    ticket_id: int | None = None
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class OutboundAttachment:
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A reply to deliver, built by the host from a queued message.

    :param message_id: the host's id of the message; stable across retries.
    :param recipient: the contact's identity on this channel; send to ``recipient.address``.
    :param reply_to: the provider's id of the message this one answers, if any.
    :param thread: provider ids of the conversation so far, oldest first (email's References).
    :param subject: the ticket's subject, for channels that have one.
    :param attempt: 1 on the first try, then 2, 3, ...
    :param metadata: channel-specific instructions from the agent, such as a WhatsApp template.
    :param automatic: sent by an automation (a plugin's auto-reply), not typed by an agent.
        Email marks such mail ``Auto-Submitted: auto-replied``.
    """

    message_id: int
    ticket_id: int
    recipient: Identity
    text: str = ""
    html: str | None = None
    subject: str | None = None
    attachments: Sequence[OutboundAttachment] = ()
    reply_to: str | None = None
    thread: Sequence[str] = ()
    attempt: int = 1
    metadata: Mapping[str, Any] = field(default_factory=dict)
    automatic: bool = False


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a successful :meth:`Channel.send` returns."""

    external_id: str
    """The provider's id for the message: status updates and replies refer to it."""
    status: DeliveryStatus = DeliveryStatus.SENT
    sent_at: datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """The provider reports on a message we sent. Statuses never move backwards: a late
    ``delivered`` after ``read`` changes nothing."""

    external_id: str
    status: DeliveryStatus
    at: datetime | None = None
    error_code: str | None = None
    error_text: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


def replace(obj: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` for the frozen types above."""
    return dataclasses.replace(obj, **changes)


# --- Read-only views ---------------------------------------------------------------------
# What event hooks receive, and the JSON shapes of the REST API and Socket.IO events.


@dataclass(frozen=True, slots=True)
class AttachmentView:
    id: int
    filename: str
    content_type: str
    size: int
    url: str
    content_id: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ContactView:
    id: int
    name: str | None
    identities: Sequence[Mapping[str, Any]] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class TicketView:
    id: int
    status: str
    priority: str
    subject: str | None
    channel: str
    channel_type: str
    contact: ContactView
    assignee_id: int | None
    team_id: int | None
    labels: Sequence[str]
    snoozed_until: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    last_message_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    ticket_id: int
    channel: str
    direction: str
    private: bool
    author_id: int | None
    sender: Mapping[str, Any] | None
    text: str | None
    html: str | None
    attachments: Sequence[AttachmentView]
    external_id: str | None
    reply_to_id: int | None
    status: str
    error_code: str | None
    error_text: str | None
    attempts: int
    reactions: Mapping[str, str]
    metadata: Mapping[str, Any]
    auto_submitted: bool
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    edited_at: datetime | None


def to_json(view: Any) -> Any:
    """The JSON-ready form of a view: dataclasses become dicts, datetimes ISO 8601 strings."""
    if dataclasses.is_dataclass(view) and not isinstance(view, type):
        return {f.name: to_json(getattr(view, f.name)) for f in dataclasses.fields(view)}
    if isinstance(view, datetime):
        return view.isoformat()
    if isinstance(view, enum.Enum):
        return view.value
    if isinstance(view, Mapping):
        return {str(k): to_json(v) for k, v in view.items()}
    if isinstance(view, (list, tuple)):
        return [to_json(v) for v in view]
    return view
