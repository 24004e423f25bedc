"""A reply checked against what its channel can send, before it is queued.

Without this a reply the channel can never deliver (too long for an SMS, a file for a
text-only channel, free text after WhatsApp's 24-hour window) is accepted with a 202 and only
fails later. :func:`check_reply` names the first limit a reply exceeds;
``Tickets.reply`` turns it into a 422.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from nexus.clock import now
from nexus.db import models
from nexus.db.models import Direction
from nexus.types import Capabilities, to_json

if TYPE_CHECKING:
    from nexus.channels import ChannelRuntime

UNITS = {"characters": "characters", "utf16": "UTF-16 code units"}


class FileLike(Protocol):
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class ReplyProblem:
    """Why a channel cannot send a reply: an API error code, a message naming the limit, and
    the request field at fault."""

    code: str
    message: str
    field: str


def capabilities_of(runtime: ChannelRuntime) -> Capabilities:
    """The running instance's capabilities (a property may depend on its settings), else its
    class's; the permissive default when a plugin declares something that is not one."""
    source: Any = runtime.instance if runtime.instance is not None else runtime.spec.cls
    declared = getattr(source, "capabilities", None) if source is not None else None
    return declared if isinstance(declared, Capabilities) else Capabilities()


def _size(count: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if count >= scale:
            return f"{count / scale:g} {unit}"
    return f"{count} bytes"


def _type_accepted(content_type: str, accepted: Sequence[str]) -> bool:
    if not accepted:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    for pattern in accepted:
        pattern = pattern.strip().lower()
        if pattern == media or (pattern.endswith("/*") and media.startswith(pattern[:-1])):
            return True
    return False


def reply_problem(
    capabilities: Capabilities,
    channel: str,
    *,
    text: str | None,
    attachments: Sequence[FileLike] = (),
    metadata: Mapping[str, Any] | None = None,
    last_contact_message_at: datetime | None = None,
    at: datetime | None = None,
) -> ReplyProblem | None:
    """The first of ``capabilities`` the reply exceeds, or None when the channel can send it.

    :param channel: the channel's name, for the message.
    :param last_contact_message_at: when the contact last wrote on this channel; only read
        when the channel requires templates after a while.
    """
    caps = capabilities
    body = (text or "").strip()
    template = (metadata or {}).get("template")
    if template and not caps.templates:
        return ReplyProblem("templates_not_supported", f"channel {channel!r} does not send templates", "template")
    if body and not caps.text:
        return ReplyProblem("text_not_supported", f"channel {channel!r} sends files only, not text", "text")
    length = caps.text_length(body)
    if caps.max_text_length is not None and length > caps.max_text_length and not caps.splits_long_text:
        unit = UNITS.get(caps.text_length_unit, caps.text_length_unit)
        return ReplyProblem("text_too_long", f"channel {channel!r} sends at most {caps.max_text_length} {unit} "
                            f"in a message; this reply has {length}", "text")
    if attachments:
        problem = _attachments_problem(caps, channel, attachments)
        if problem is not None:
            return problem
    window = caps.templates_required_after
    if window is not None and not template:
        moment = at or now()
        if last_contact_message_at is None or moment - last_contact_message_at > timedelta(seconds=window):
            since = ("the contact has not written on it" if last_contact_message_at is None
                     else f"the contact last wrote {_ago(moment - last_contact_message_at)} ago")
            return ReplyProblem("template_required", f"channel {channel!r} sends only templates more than "
                                f"{_ago(timedelta(seconds=window))} after the contact's last message, and "
                                f"{since}: send an approved template instead", "template")
    return None


def _attachments_problem(caps: Capabilities, channel: str, attachments: Sequence[FileLike]) -> ReplyProblem | None:
    limits = caps.attachments
    if limits is None:
        return ReplyProblem("attachments_not_supported", f"channel {channel!r} does not send attachments", "attachments")
    if limits.max_count is not None and len(attachments) > limits.max_count:
        return ReplyProblem("too_many_attachments", f"channel {channel!r} sends at most {limits.max_count} "
                            f"attachment(s) with a reply; this one has {len(attachments)}", "attachments")
    for attachment in attachments:
        if not _type_accepted(attachment.content_type, limits.content_types):
            return ReplyProblem("attachment_type_not_supported", f"channel {channel!r} does not send "
                                f"{attachment.content_type} files ({attachment.filename}); it sends "
                                f"{', '.join(limits.content_types)}", "attachments")
        if limits.max_size is not None and len(attachment.data) > limits.max_size:
            return ReplyProblem("attachment_too_large_for_channel", f"channel {channel!r} sends files of at most "
                                f"{_size(limits.max_size)}; {attachment.filename} has {_size(len(attachment.data))}",
                                "attachments")
    total = sum(len(a.data) for a in attachments)
    if limits.max_total_size is not None and total > limits.max_total_size:
        return ReplyProblem("attachments_too_large_for_channel", f"channel {channel!r} sends at most "
                            f"{_size(limits.max_total_size)} of files with a reply; these have {_size(total)}",
                            "attachments")
    return None


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} hours" if hours < 48 else f"{hours / 24:.0f} days"


async def last_contact_message_at(ticket: models.Ticket) -> datetime | None:
    """When the ticket's contact last wrote, from the ticket's identity, on its channel (in
    this ticket or an earlier one)."""
    ticket_ids = await models.Ticket.filter(contact_id=ticket.contact_id, channel_id=ticket.channel_id).values_list(
        "id", flat=True)
    last = await models.Message.filter(
        ticket_id__in=list(ticket_ids), direction=Direction.INBOUND, sender_id=ticket.identity_id,
    ).order_by("-created_at").first()
    return last.created_at if last else None


async def check_reply(
    runtime: ChannelRuntime,
    ticket: models.Ticket,
    *,
    text: str | None,
    attachments: Sequence[FileLike] = (),
    metadata: Mapping[str, Any] | None = None,
) -> ReplyProblem | None:
    """Why ``runtime``'s channel cannot send this reply to ``ticket``'s contact, or None."""
    caps = capabilities_of(runtime)
    last = None
    if caps.templates_required_after is not None and not (metadata or {}).get("template"):
        last = await last_contact_message_at(ticket)
    return reply_problem(caps, runtime.name, text=text, attachments=attachments, metadata=metadata,
                         last_contact_message_at=last)


def channel_profile(runtime: ChannelRuntime | None) -> dict[str, Any]:
    """What ``GET /api/v1/channels`` shows of a channel type so that frontends can adapt: its
    ``description`` and ``capabilities`` (None for a channel no longer configured)."""
    if runtime is None or runtime.spec.cls is None:
        return {"description": None, "capabilities": None}
    return {"description": runtime.spec.cls.description or None, "capabilities": to_json(capabilities_of(runtime))}
