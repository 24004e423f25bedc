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
from typing import Any, Literal

__all__ = [
    "AttachmentLimits",
    "AttachmentView",
    "Capabilities",
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
    :param email: the person's email address, when the channel knows it.
    :param phone: the person's phone number in international form (``+5511987654321``), when
        the channel knows it: a WhatsApp number, an SMS sender, a Telegram user who shared
        their own contact card.

    The host fills the contact's ``email`` and ``phone`` from ``email`` and ``phone`` when they
    are still empty (it never overwrites what an agent typed), so ``{{contact.phone}}`` in a
    canned response works whichever channel the contact wrote on.
    """

    address: str
    key: str | None = None
    display_name: str | None = None
    profile: Mapping[str, Any] = field(default_factory=dict)
    email: str | None = None
    phone: str | None = None

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
    :param sent_at: when the contact sent it, by the provider's clock (WhatsApp's
        ``timestamp``, Telegram's ``date``, email's ``Date:``). It must be timezone-aware. It is
        shown as the message's ``sent_at``; tickets are threaded, reopened and sorted by when
        Nexus received the message, never by the sender's clock.
    :param auto_submitted: true for a message no person wrote (an out-of-office reply, bulk
        mail). It never opens or reopens a ticket and changes neither its status nor its last
        activity; it is never answered automatically. When it threads into a ticket (a thread
        key, a quoted ticket number, or the contact's unresolved ticket) it is stored there,
        marked ``auto_submitted``; otherwise the host keeps it as an inbound event with status
        ``ignored`` and answers a :class:`Receipt` whose ``ignored`` says why.
    :param contact_attributes: facts this message tells about its contact, such as where a
        Telegram user came from (a ``/start`` deep link): merged into the contact's
        ``attributes``, each key replacing its earlier value.
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
    contact_attributes: Mapping[str, Any] = field(default_factory=dict)


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
    """False when the event was a duplicate, had nothing to attach to, or was ignored."""
    message_id: int | None = None
    ticket_id: int | None = None
    duplicate: bool = False
    ignored: str | None = None
    """Why the host kept the event aside instead of storing a message (an automatic message
    that threads into no ticket); it is listed under ``/api/v1/inbound-events?status=ignored``."""


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


# --- Capabilities --------------------------------------------------------------------------
# What a channel can send. The host checks every reply against them before it is queued (a
# 422 naming the limit), and ``GET /api/v1/channels`` shows them so that frontends can adapt.


@dataclass(frozen=True, slots=True)
class AttachmentLimits:
    """What files a channel can send with a reply. None means no limit.

    :param max_count: files in one reply.
    :param max_size: bytes in one file.
    :param max_total_size: bytes of all the files of one reply together (an email's size).
    :param content_types: the media types accepted, such as ``"image/jpeg"`` or ``"image/*"``;
        empty accepts any.
    """

    max_count: int | None = None
    max_size: int | None = None
    max_total_size: int | None = None
    content_types: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What one channel type can deliver, declared as :attr:`nexus.Channel.capabilities`.

    The defaults promise nothing more than text of any length and files of any kind, so a
    channel that declares nothing keeps working as before.

    :param text: whether the channel sends text at all (false for, say, a file drop).
    :param max_text_length: the most text one provider message carries, in
        ``text_length_unit``; None for no limit.
    :param text_length_unit: ``"characters"`` (code points) or ``"utf16"`` (UTF-16 code
        units, as Telegram counts).
    :param splits_long_text: true when the channel sends longer text as several messages;
        false when a longer reply is refused with a 422.
    :param max_caption_length: the most text that rides with a file as its caption; longer
        text goes as a message of its own (informational, never refused).
    :param html: whether the channel sends the reply's ``html`` (email); others send the text.
    :param subject: whether the channel uses the ticket's subject (email).
    :param attachments: the :class:`AttachmentLimits`, or None when the channel sends no
        files at all.
    :param templates: whether the channel takes a template (``metadata["template"]``).
    :param templates_required_after: seconds after the contact's last message from which only
        a template may be sent (WhatsApp's 24-hour customer service window); None for never.
    """

    text: bool = True
    max_text_length: int | None = None
    text_length_unit: Literal["characters", "utf16"] = "characters"
    splits_long_text: bool = False
    max_caption_length: int | None = None
    html: bool = False
    subject: bool = False
    attachments: AttachmentLimits | None = AttachmentLimits()
    templates: bool = False
    templates_required_after: float | None = None

    def text_length(self, text: str) -> int:
        """``text``'s length as this channel counts it."""
        if self.text_length_unit == "utf16":
            return len(text.encode("utf-16-le")) // 2
        return len(text)


def replace(obj: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` for the frozen types above."""
    return dataclasses.replace(obj, **changes)


# --- Read-only views ---------------------------------------------------------------------
# What event hooks receive, and the JSON shapes of the REST API and Socket.IO events.


@dataclass(frozen=True, slots=True)
class AttachmentView:
    """A stored file. ``inline`` is true for an image the message's HTML shows in place (its
    ``cid:`` reference now points at ``url``), false for a file to list as an attachment."""

    id: int
    filename: str
    content_type: str
    size: int
    url: str
    content_id: str | None = None
    note: str | None = None
    inline: bool = False


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
    """A message as the REST API, Socket.IO and hooks show it.

    Times: ``created_at`` is when Nexus stored the row. ``sent_at`` is when the message was
    sent by whoever sent it: for an inbound message the provider's time of the contact's
    message (WhatsApp ``timestamp``, Telegram ``date``, email ``Date:``; null when the provider
    gave none), for a reply when the provider accepted it. ``received_at`` is when Nexus
    received an inbound message (null for replies and notes): tickets sort and reopen by it.
    """

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
    received_at: datetime | None = None


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
