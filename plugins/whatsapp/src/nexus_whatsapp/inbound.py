"""Meta's ``messages`` webhook in Nexus's normalised types.

One delivery holds ``entry[].changes[].value`` blocks, each for one business phone number
(``value.metadata.phone_number_id``) with ``contacts``, ``messages`` and ``statuses`` arrays, or
``errors``. Messages are matched to their contact by ``wa_id``, never by position. Parsing does
no I/O: media stays a :class:`MediaRef` for the channel to download.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nexus import DeliveryStatus, InboundMessage, InboundReaction, StatusUpdate
from nexus.http import UnreadablePayload
from nexus.http import read_json as read_body
from nexus_whatsapp.errors import as_int, describe
from nexus_whatsapp.identity import sender_identity

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
STATUSES: Mapping[str, DeliveryStatus] = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}
#: Extensions for WhatsApp's usual media types, where ``mimetypes`` has none or an odd one.
EXTENSIONS: Mapping[str, str] = {
    "audio/ogg": ".ogg",
    "audio/aac": ".aac",
    "audio/amr": ".amr",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
}


class PayloadError(UnreadablePayload):
    """The payload is not a WhatsApp webhook we can read."""


def read_json(payload: bytes) -> Any:
    """The JSON of a stored payload, or a :class:`PayloadError` saying why it cannot be read."""
    return read_body(payload, PayloadError)


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A file attached to an inbound message, still at Meta."""

    media_id: str
    mime_type: str
    filename: str
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    """An inbound message and, if it carries a file, where to fetch it."""

    message: InboundMessage
    media: MediaRef | None = None


@dataclass
class Batch:
    """What one webhook delivery holds for one phone number, in payload order."""

    events: list[Incoming | InboundReaction] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Errors Meta reported about the number or app itself (``value.errors``)."""


def message_changes(payload: Any) -> Iterator[tuple[str | None, Mapping[str, Any]]]:
    """``(phone_number_id, value)`` of each ``messages`` change in a delivery."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("entry"), list):
        raise PayloadError(
            "expected a WhatsApp webhook: {'object': 'whatsapp_business_account', 'entry': [...]}"
        )
    for entry in payload["entry"]:
        changes = entry.get("changes") if isinstance(entry, Mapping) else None
        if not isinstance(changes, list):
            raise PayloadError(f"an entry without a 'changes' list: {entry!r}")
        for change in changes:
            value = change.get("value") if isinstance(change, Mapping) else None
            if not isinstance(value, Mapping) or change.get("field") != "messages":
                continue
            metadata = _mapping(value.get("metadata"))
            number = metadata.get("phone_number_id")
            yield (str(number) if number is not None else None), value


def parse_payload(payload: Any, phone_number_id: str) -> Batch:
    """Everything in ``payload`` for ``phone_number_id``; changes for other numbers are left out."""
    batch = Batch()
    for number, value in message_changes(payload):
        if number != phone_number_id:
            continue
        contacts = _contacts(_items(value, "contacts"))
        for raw in _items(value, "messages"):
            batch.events.append(parse_message(raw, contacts))
        for raw in _items(value, "statuses"):
            status = parse_status(raw)
            if status is not None:
                batch.statuses.append(status)
        batch.errors.extend(_error_text(error) for error in _items(value, "errors"))
    return batch


def _items(value: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = value.get(key) or []
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise PayloadError(f"'{key}' must be a list of objects, not {items!r}")
    return items


# --- Messages ----------------------------------------------------------------------------


def parse_message(
    raw: Mapping[str, Any], contacts: Mapping[str, Mapping[str, Any]]
) -> Incoming | InboundReaction:
    """One ``messages[]`` item. ``contacts`` maps ``wa_id`` (and ``user_id``) to its contact."""
    external_id = raw.get("id")
    address = raw.get("from") or raw.get("from_user_id")
    if not external_id or not address:
        raise PayloadError(f"a message without 'id' or 'from': {dict(raw)!r}")
    contact = contacts.get(str(address)) or contacts.get(str(raw.get("from_user_id") or ""))
    sender = sender_identity(str(address), contact)
    sent_at = _when(raw.get("timestamp"))
    kind = str(raw.get("type") or "unknown")
    body = _mapping(raw.get(kind))

    if kind == "reaction":
        target = body.get("message_id")
        if not target:
            raise PayloadError(f"a reaction without 'message_id': {dict(raw)!r}")
        return InboundReaction(
            target_external_id=str(target),
            sender=sender,
            emoji=body.get("emoji") or None,
            reacted_at=sent_at,
        )

    details: dict[str, Any] = {"type": kind}
    media: MediaRef | None = None
    if kind == "text":
        text = _string(body.get("body"))
    elif kind in MEDIA_TYPES:
        media = _media(kind, body, str(external_id))
        text = _string(body.get("caption")) or None
        if kind == "audio" and body.get("voice"):
            details["voice"] = True
        if kind == "sticker" and body.get("animated"):
            details["animated"] = True
    elif kind == "location":
        text = _location_text(body)
        details["location"] = dict(body)
    elif kind == "contacts":
        cards = [card for card in _list(raw.get("contacts")) if isinstance(card, Mapping)]
        text = "\n".join(_contact_text(card) for card in cards) or "[Shared contact]"
        details["contacts"] = cards
    elif kind == "interactive":
        text, reply = _interactive(body)
        details["interactive"] = reply
    elif kind == "button":
        text = _string(body.get("text") or body.get("payload"))
        details["button"] = {"payload": body.get("payload"), "text": body.get("text")}
    elif kind == "system":
        text = body.get("body") or f"[WhatsApp system message: {body.get('type', 'unknown')}]"
        details["system"] = dict(body)
    else:
        text = _unsupported_text(kind, raw)
        details["raw"] = dict(raw)

    context = _mapping(raw.get("context"))
    if context.get("forwarded"):
        details["forwarded"] = True
    if context.get("frequently_forwarded"):
        details["frequently_forwarded"] = True
    if context.get("referred_product"):
        details["referred_product"] = context["referred_product"]
    if raw.get("referral"):
        details["referral"] = raw["referral"]
    if raw.get("errors") and kind != "unsupported":
        details["errors"] = raw["errors"]

    message = InboundMessage(
        external_id=str(external_id),
        sender=sender,
        text=text,
        reply_to=context.get("id") or None,
        sent_at=sent_at,
        metadata={"whatsapp": details},
    )
    return Incoming(message, media)


def _contacts(contacts: list[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    by_id: dict[str, Mapping[str, Any]] = {}
    for contact in contacts:
        for key in ("wa_id", "user_id"):
            if contact.get(key):
                by_id[str(contact[key])] = contact
    return by_id


def _media(kind: str, body: Mapping[str, Any], external_id: str) -> MediaRef:
    media_id = body.get("id")
    if not media_id:
        raise PayloadError(f"a {kind} message without a media id (message {external_id})")
    mime = str(body.get("mime_type") or "application/octet-stream")
    filename = body.get("filename") if kind == "document" else None
    if not filename:
        base = mime.split(";")[0].strip().lower()
        extension = EXTENSIONS.get(base) or mimetypes.guess_extension(base) or ""
        stem = "voice-note" if kind == "audio" and body.get("voice") else kind
        filename = f"{stem}-{media_id}{extension}"
    return MediaRef(
        media_id=str(media_id), mime_type=mime, filename=str(filename), sha256=body.get("sha256")
    )


def _location_text(body: Mapping[str, Any]) -> str:
    lat, lng = body.get("latitude"), body.get("longitude")
    label = ", ".join(str(body[k]) for k in ("name", "address") if body.get(k))
    lines = [f"Location: {label}" if label else "Location"]
    if lat is not None and lng is not None:
        lines.append(f"https://www.google.com/maps/search/?api=1&query={lat},{lng}")
    if body.get("url"):
        lines.append(str(body["url"]))
    return "\n".join(lines)


def _contact_text(card: Mapping[str, Any]) -> str:
    name = _mapping(card.get("name")).get("formatted_name") or "Unnamed contact"
    details = [str(p.get("phone")) for p in card.get("phones") or [] if p.get("phone")]
    details += [str(e.get("email")) for e in card.get("emails") or [] if e.get("email")]
    org = _mapping(card.get("org")).get("company")
    if org:
        details.append(str(org))
    return f"Contact: {name}" + (f" ({', '.join(details)})" if details else "")


def _interactive(body: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = body.get("type")
    reply = _mapping(body.get(str(kind)))
    if kind == "button_reply":
        return str(reply.get("title") or reply.get("id") or ""), {
            "type": kind,
            "id": reply.get("id"),
            "title": reply.get("title"),
        }
    if kind == "list_reply":
        title = str(reply.get("title") or reply.get("id") or "")
        text = f"{title}\n{reply['description']}" if reply.get("description") else title
        return text, {
            "type": kind,
            "id": reply.get("id"),
            "title": reply.get("title"),
            "description": reply.get("description"),
        }
    if kind == "nfm_reply":
        return str(reply.get("body") or "[Form response]"), {
            "type": kind,
            "name": reply.get("name"),
            "response_json": reply.get("response_json"),
        }
    return f"[Interactive WhatsApp reply of type {kind!r}]", {"type": kind, "raw": dict(body)}


def _unsupported_text(kind: str, raw: Mapping[str, Any]) -> str:
    if kind == "unsupported":
        shown = _mapping(raw.get("unsupported")).get("type")
        head = (
            f"Unsupported WhatsApp message ({shown})" if shown else "Unsupported WhatsApp message"
        )
    else:
        head = f"WhatsApp {kind} message, which Nexus cannot display"
    reasons = "; ".join(_error_text(e) for e in raw.get("errors") or [])
    return f"[{head}: {reasons}]" if reasons else f"[{head}]"


# --- Statuses ----------------------------------------------------------------------------


def parse_status(raw: Mapping[str, Any]) -> StatusUpdate | None:
    """One ``statuses[]`` item, or None for statuses Nexus does not track (``deleted``,
    ``played``, ...). ``failed`` carries the first error's code and text."""
    status = STATUSES.get(str(raw.get("status")))
    if status is None or not raw.get("id"):
        return None
    error_code = error_text = None
    errors = raw.get("errors") or []
    if status == DeliveryStatus.FAILED:
        if errors:
            first = errors[0]
            error_code = str(first["code"]) if first.get("code") is not None else None
            error_text = "; ".join(_error_text(e) for e in errors)
        else:
            error_text = "WhatsApp reported the message as failed without a reason"
    metadata: dict[str, Any] = {}
    for key in ("pricing", "conversation", "recipient_id", "biz_opaque_callback_data"):
        if raw.get(key):
            metadata[key] = raw[key]
    return StatusUpdate(
        external_id=str(raw["id"]),
        status=status,
        at=_when(raw.get("timestamp")),
        error_code=error_code,
        error_text=error_text,
        metadata={"whatsapp": metadata} if metadata else {},
    )


def _error_text(error: Mapping[str, Any]) -> str:
    data = _mapping(error.get("error_data"))
    return describe(
        as_int(error.get("code")),
        error.get("title") or error.get("message"),
        data.get("details"),
    )


def _string(value: Any) -> str | None:
    """A text field as text, whatever JSON type a malformed payload gave it."""
    return value if isinstance(value, str) or value is None else json.dumps(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _when(value: Any) -> datetime | None:
    """Meta's timestamps are strings of epoch seconds."""
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
