"""A Nexus reply as the WhatsApp messages that carry it.

One reply may take several WhatsApp messages ("parts"): text longer than WhatsApp's 4,096
characters is split, and each file is a message of its own. The text rides as the caption of
the first file that takes one when it fits (1,024 characters); otherwise it goes first.

Instructions in ``OutboundMessage.metadata``:

``template``
    ``{"name": ..., "language": "en_US" or {"code": "en_US"}, "components": [...]}``: a
    template message (the only kind WhatsApp accepts once the 24-hour window has closed). The
    reply's text is not sent with it.
``whatsapp.preview_url``
    Overrides the channel's ``preview_url`` setting for this reply.
``whatsapp.media``
    Files by link rather than upload: ``[{"type": "image", "link": "https://...",
    "caption": ..., "filename": ...}]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from nexus import AttachmentLimits, Capabilities, OutboundAttachment, OutboundMessage, PermanentError
from nexus_whatsapp.identity import is_phone_number

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CAPTIONED = frozenset({"image", "video", "document"})
LINK_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
#: Content types WhatsApp plays or shows inline, with its size limit for each kind; anything
#: else, or anything larger, goes as a document.
INLINE_TYPES: Mapping[str, str] = {
    "image/jpeg": "image",
    "image/png": "image",
    "video/mp4": "video",
    "video/3gpp": "video",
    "audio/aac": "audio",
    "audio/amr": "audio",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/ogg": "audio",
}
SIZE_LIMITS: Mapping[str, int] = {
    "image": 5 * 1024 * 1024,
    "video": 16 * 1024 * 1024,
    "audio": 16 * 1024 * 1024,
    "document": 100 * 1024 * 1024,
}
#: Free-form replies are possible for 24 hours after the customer's last message; after
#: that, only approved templates (Meta's customer service window).
SERVICE_WINDOW = 24 * 3600.0

#: What a WhatsApp number can send, as the host checks replies and frontends see it.
CAPABILITIES = Capabilities(
    max_text_length=TEXT_LIMIT,
    splits_long_text=True,
    max_caption_length=CAPTION_LIMIT,
    attachments=AttachmentLimits(max_size=SIZE_LIMITS["document"]),
    templates=True,
    templates_required_after=SERVICE_WINDOW,
)


@dataclass(frozen=True, slots=True)
class Part:
    """One WhatsApp message of a reply: ``body`` holds ``type`` and its object. When ``upload``
    is set, the file is uploaded first and its media id goes into ``body[type]["id"]``."""

    body: Mapping[str, Any]
    upload: OutboundAttachment | None = None

    @property
    def kind(self) -> str:
        return str(self.body["type"])

    def with_media_id(self, media_id: str) -> dict[str, Any]:
        return {**self.body, self.kind: {**self.body[self.kind], "id": media_id}}


def recipient_fields(address: str) -> dict[str, str]:
    """``to`` for a phone number (the ``wa_id`` exactly as received); ``recipient`` for a
    business-scoped user id."""
    return {"to": address} if is_phone_number(address) else {"recipient": address}


def build_parts(message: OutboundMessage, *, preview_url: bool) -> list[Part]:
    """The WhatsApp messages that carry ``message``, in sending order."""
    metadata = message.metadata or {}
    if metadata.get("template"):
        return [Part({"type": "template", "template": template_object(metadata["template"])})]
    options = metadata.get("whatsapp")
    if not isinstance(options, Mapping):
        options = {}
    media = [_upload_part(a) for a in message.attachments] + [
        _link_part(m) for m in _links(options)
    ]
    text = (message.text or "").strip()
    if text and len(text) <= CAPTION_LIMIT:
        for index, part in enumerate(media):
            if part.kind in CAPTIONED and not part.body[part.kind].get("caption"):
                media[index] = replace(
                    part, body={**part.body, part.kind: {**part.body[part.kind], "caption": text}}
                )
                text = ""
                break
    preview = bool(options.get("preview_url", preview_url))
    parts = [
        Part({"type": "text", "text": {"body": chunk, "preview_url": preview}})
        for chunk in split_text(text)
    ]
    parts += media
    if not parts:
        raise PermanentError(
            "the reply has no text, file or template to send", code="empty_message"
        )
    return parts


def template_object(spec: Any) -> dict[str, Any]:
    """The ``template`` object of a template message, from what the agent gave."""
    if (
        not isinstance(spec, Mapping)
        or not isinstance(spec.get("name"), str)
        or not spec["name"].strip()
    ):
        raise PermanentError(
            "a template needs a 'name' (as approved in WhatsApp Manager)", code="invalid_template"
        )
    language = spec.get("language")
    if isinstance(language, str) and language.strip():
        language = {"code": language.strip()}
    elif not (
        isinstance(language, Mapping)
        and isinstance(language.get("code"), str)
        and language["code"].strip()
    ):
        raise PermanentError(
            "a template needs a 'language', such as 'en_US' or {'code': 'en_US'}",
            code="invalid_template",
        )
    template: dict[str, Any] = {"name": spec["name"].strip(), "language": dict(language)}
    components = spec.get("components")
    if components is not None:
        if not isinstance(components, Sequence) or isinstance(components, (str, bytes)):
            raise PermanentError(
                "a template's 'components' must be a list", code="invalid_template"
            )
        template["components"] = list(components)
    return template


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at a line break or space where
    possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        if cut <= limit // 2:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def media_kind(content_type: str, size: int) -> str:
    """How WhatsApp should carry a file: inline (image, video, audio) or as a document."""
    kind = INLINE_TYPES.get(content_type.split(";")[0].strip().lower(), "document")
    return kind if size <= SIZE_LIMITS[kind] else "document"


def _upload_part(attachment: OutboundAttachment) -> Part:
    if attachment.size > SIZE_LIMITS["document"]:
        raise PermanentError(
            f"{attachment.filename} is larger than WhatsApp's 100 MB limit",
            code="attachment_too_large",
        )
    kind = media_kind(attachment.content_type, attachment.size)
    media: dict[str, Any] = {"filename": attachment.filename} if kind == "document" else {}
    return Part({"type": kind, kind: media}, upload=attachment)


def _links(options: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    links = options.get("media") or []
    if not isinstance(links, Sequence) or isinstance(links, (str, bytes)):
        raise PermanentError(
            "metadata whatsapp.media must be a list of {type, link}", code="invalid_media"
        )
    return list(links)


def _link_part(spec: Any) -> Part:
    if not isinstance(spec, Mapping):
        raise PermanentError(
            "each whatsapp.media item must be an object with 'type' and 'link'",
            code="invalid_media",
        )
    kind, link = spec.get("type"), spec.get("link")
    if (
        kind not in LINK_TYPES
        or not isinstance(link, str)
        or not link.startswith(("https://", "http://"))
    ):
        raise PermanentError(
            f"whatsapp.media items need a type ({', '.join(sorted(LINK_TYPES))}) and an "
            f"http(s) link, not {dict(spec)!r}",
            code="invalid_media",
        )
    media: dict[str, Any] = {"link": link}
    if spec.get("caption") and kind in CAPTIONED:
        media["caption"] = str(spec["caption"])
    if spec.get("filename") and kind == "document":
        media["filename"] = str(spec["filename"])
    return Part({"type": kind, kind: media})
