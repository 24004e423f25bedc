"""Outbound: a reply as Bot API calls.

Text goes with ``sendMessage``, split at Telegram's 4096-character limit. Attachments go by
type: JPEG, PNG and WebP images up to 10 MB with ``sendPhoto`` (Telegram shows them inline),
every other file with ``sendDocument`` (up to 50 MB). A single attachment carries the text as
its caption when it fits in 1024 characters. Telegram counts these limits in UTF-16 code units.

The first message sent answers ``reply_to`` and names the reply: its id follows the scheme of
:mod:`nexus_telegram.ids`, so the contact's answers to it link back.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import AiogramError
from aiogram.methods import SendDocument, SendMessage, SendPhoto, TelegramMethod
from aiogram.types import BufferedInputFile, Message, ReplyParameters

from nexus import (
    AttachmentLimits,
    Capabilities,
    OutboundAttachment,
    OutboundMessage,
    PermanentError,
    SendResult,
)
from nexus_telegram import ids
from nexus_telegram.errors import send_error

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
PHOTO_LIMIT = 10 * 1024 * 1024
UPLOAD_LIMIT = 50 * 1024 * 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})

#: What a bot can send, as the host checks replies and frontends see it: text in messages of
#: 4096 UTF-16 units (longer text is split), captions of 1024, files up to 50 MB.
CAPABILITIES = Capabilities(
    max_text_length=TEXT_LIMIT,
    text_length_unit="utf16",
    splits_long_text=True,
    max_caption_length=CAPTION_LIMIT,
    attachments=AttachmentLimits(max_size=UPLOAD_LIMIT),
)

SendMethod = TelegramMethod[Message]


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-16 code units, cut at a line break or a
    space when there is one in the second half of a piece."""
    pieces: list[str] = []
    while utf16_length(text) > limit:
        units, end = 0, len(text)
        for index, char in enumerate(text):
            units += 2 if ord(char) > 0xFFFF else 1
            if units > limit:
                end = index
                break
        cut = end
        for separator in ("\n", " "):
            at = text.rfind(separator, 0, end)
            if at > end // 2:
                cut = at + 1
                break
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text.strip():
        pieces.append(text)
    return pieces


def chat_id_of(address: str) -> int | str:
    """The ``chat_id`` for an identity's address: a numeric id, or an ``@username``."""
    return int(address) if address.lstrip("-").isdigit() else address


def is_photo(attachment: OutboundAttachment) -> bool:
    return attachment.content_type.lower() in PHOTO_TYPES and attachment.size <= PHOTO_LIMIT


def plan(message: OutboundMessage) -> list[SendMethod]:
    """The Bot API calls that deliver ``message``, in order."""
    for attachment in message.attachments:
        if attachment.size > UPLOAD_LIMIT:
            raise PermanentError(
                f"{attachment.filename} is larger than the 50 MB a Telegram bot can send",
                code="too_large",
            )
    chat_id = chat_id_of(message.recipient.address)
    text = message.text.strip()
    caption = None
    if len(message.attachments) == 1 and text and utf16_length(text) <= CAPTION_LIMIT:
        caption, text = text, ""
    methods: list[SendMethod] = [
        SendMessage(chat_id=chat_id, text=piece) for piece in split_text(text)
    ]
    for attachment in message.attachments:
        upload = BufferedInputFile(attachment.data, filename=attachment.filename)
        if is_photo(attachment):
            methods.append(SendPhoto(chat_id=chat_id, photo=upload, caption=caption))
        else:
            methods.append(SendDocument(chat_id=chat_id, document=upload, caption=caption))
    if not methods:
        raise PermanentError("the reply has neither text nor attachments", code="empty")
    reply = ids.parse_message_id(message.reply_to) if message.reply_to else None
    if reply is not None and str(reply[0]) == str(chat_id):
        # A reply to a message that was deleted meanwhile is sent anyway, as a plain message.
        methods[0] = methods[0].model_copy(
            update={
                "reply_parameters": ReplyParameters(
                    message_id=reply[1], allow_sending_without_reply=True
                ),
            }
        )
    return methods


class Sender:
    """Sends replies through one bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, message: OutboundMessage) -> SendResult:
        """Deliver ``message``. When it takes several Bot API calls and one after the first
        fails, a retry sends the earlier parts again: delivery is at least once."""
        sent: list[Message] = []
        try:
            for method in plan(message):
                sent.append(await self.bot(method))
        except AiogramError as exc:
            raise send_error(exc) from exc
        first = sent[0]
        result_ids = [ids.message_id(item.chat.id, item.message_id) for item in sent]
        return SendResult(
            external_id=result_ids[0],
            sent_at=first.date,
            metadata={"message_ids": result_ids} if len(result_ids) > 1 else {},
        )
