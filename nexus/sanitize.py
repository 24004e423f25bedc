"""Inbound text made storable in every database Nexus runs on.

PostgreSQL refuses the NUL character in text columns and in JSON, and no database driver can
encode a lone surrogate (what a JSON ``"\\ud800"`` escape or undecodable bytes become in a
Python string). A provider may send either inside a perfectly valid, signed payload, and the
message must still be stored: NUL is removed (it carries nothing a person wrote) and a lone
surrogate becomes U+FFFD, the replacement character.

Everything a plugin hands to the pipeline goes through :func:`clean_event` first: texts,
names, subjects, filenames, ids, metadata, profiles and attributes, keys included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from nexus.types import Identity, InboundAttachment, InboundEdit, InboundMessage, InboundReaction, StatusUpdate

__all__ = ["clean_event", "clean_json", "clean_status", "clean_text"]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _replacement(match: re.Match[str]) -> str:
    return "" if match.group() == "\x00" else "\ufffd"


def clean_text(value: str) -> str:
    """``value`` without NUL characters and with lone surrogates replaced."""
    if value.isascii():
        return value.replace("\x00", "") if "\x00" in value else value
    return _UNSTORABLE.sub(_replacement, value)


def _clean_optional(value: str | None) -> str | None:
    return clean_text(value) if isinstance(value, str) else value


def clean_json(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings, numbers) with every string cleaned, keys
    included. Returns ``value`` itself when nothing needed cleaning."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        cleaned = {clean_text(str(k)) if isinstance(k, str) else k: clean_json(v) for k, v in value.items()}
        same = len(cleaned) == len(value) and all(k in cleaned and cleaned[k] is v for k, v in value.items())
        return value if same else cleaned
    if isinstance(value, (list, tuple)):
        items = [clean_json(v) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else type(value)(items)
    return value


def _changes(obj: Any, text: tuple[str, ...] = (), data: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of ``obj`` that cleaning changes, with their clean values."""
    changes: dict[str, Any] = {}
    for name in text:
        value = getattr(obj, name)
        clean = _clean_optional(value)
        if clean is not value:
            changes[name] = clean
    for name in data:
        value = getattr(obj, name)
        clean = clean_json(value)
        if clean is not value:
            changes[name] = clean
    return changes


def clean_identity(identity: Identity) -> Identity:
    changes = _changes(identity, ("address", "key", "display_name", "email", "phone"), ("profile",))
    return replace(identity, **changes) if changes else identity


def clean_attachment(attachment: InboundAttachment) -> InboundAttachment:
    changes = _changes(attachment, ("filename", "content_type", "content_id", "note"))
    return replace(attachment, **changes) if changes else attachment


def clean_event(event: InboundMessage | InboundEdit | InboundReaction) -> Any:
    """``event`` with every string it carries made storable (the same object if it was)."""
    if isinstance(event, InboundMessage):
        changes = _changes(event, ("external_id", "text", "html", "subject", "reply_to"),
                           ("thread_keys", "metadata", "contact_attributes"))
        sender = clean_identity(event.sender)
        if sender is not event.sender:
            changes["sender"] = sender
        attachments = [clean_attachment(a) for a in event.attachments]
        if any(a is not b for a, b in zip(attachments, event.attachments, strict=True)):
            changes["attachments"] = attachments
        return replace(event, **changes) if changes else event
    if isinstance(event, InboundEdit):
        changes = _changes(event, ("external_id", "text", "html"))
        return replace(event, **changes) if changes else event
    if isinstance(event, InboundReaction):
        changes = _changes(event, ("target_external_id", "emoji"))
        sender = clean_identity(event.sender)
        if sender is not event.sender:
            changes["sender"] = sender
        return replace(event, **changes) if changes else event
    return event


def clean_status(update: StatusUpdate) -> StatusUpdate:
    """A delivery-status report with storable texts (a provider's error title may hold NUL)."""
    changes = _changes(update, ("external_id", "error_code", "error_text"), ("metadata",))
    return replace(update, **changes) if changes else update
