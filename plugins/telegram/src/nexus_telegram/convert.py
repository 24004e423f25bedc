"""From aiogram's typed updates to Nexus's normalised inbound types.

Telegram's formats have a few traps that this module handles in one place:

* a ``message_id`` is unique only within its chat (see :mod:`nexus_telegram.ids`);
* ``photo`` is a list of sizes, the largest last;
* entity offsets and lengths count UTF-16 code units, so text is sliced through UTF-16;
* ``contact.phone_number`` may come without its leading ``+``;
* a sticker may be an animated ``.tgs`` (Lottie JSON), which is no image: it is shown as its
  emoji and, when it has one, its thumbnail;
* group ids are negative; a group is never taken for a person.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiogram.enums import ChatType, ContentType, MessageEntityType
from aiogram.types import (
    CallbackQuery,
    Chat,
    Location,
    Message,
    MessageEntity,
    MessageReactionUpdated,
    ReactionTypeCustomEmoji,
    ReactionTypeEmoji,
    ReactionTypePaid,
    Sticker,
    User,
)
from aiogram.utils.text_decorations import add_surrogates, remove_surrogates

from nexus import Identity, InboundEdit, InboundMessage, InboundReaction
from nexus_telegram import ids
from nexus_telegram.media import FileRef, MediaFetcher

#: Content that Nexus cannot show but a person sent: stored as a labelled placeholder so that
#: agents know something arrived. Other content types without text are service messages (a
#: member joined, a message was pinned) and are not stored.
PLACEHOLDER_CONTENT = frozenset(
    kind.value
    for kind in (
        ContentType.CHECKLIST,
        ContentType.DICE,
        ContentType.GAME,
        ContentType.GIVEAWAY,
        ContentType.INVOICE,
        ContentType.LIVE_PHOTO,
        ContentType.PAID_MEDIA,
        ContentType.POLL,
        ContentType.STORY,
        ContentType.UNKNOWN,
        ContentType.USERS_SHARED,
        ContentType.CHAT_SHARED,
        ContentType.WEB_APP_DATA,
    )
)


#: The contact attribute that keeps the payload of the contact's latest ``/start`` deep link.
START_ATTRIBUTE = "telegram_start_payload"


# --- Who --------------------------------------------------------------------------------


def is_private(chat: Chat) -> bool:
    return chat.type == ChatType.PRIVATE


def user_profile(user: User | None) -> dict[str, Any]:
    if user is None:
        return {}
    return _compact(
        {
            "user_id": user.id,
            "username": user.username,
            "language_code": user.language_code,
            "is_premium": user.is_premium or None,
        }
    )


def contact_identity(chat: Chat, user: User | None, phone: str | None = None) -> Identity:
    """The contact a message in ``chat`` belongs to: the person in a private chat, the group
    itself in a group (where replies go to the group, never to one member). ``phone`` is the
    person's own number, when they shared their contact card."""
    if is_private(chat):
        name = user.full_name if user is not None else chat.full_name
        return Identity(
            address=str(chat.id), display_name=name, profile=user_profile(user), phone=phone
        )
    return Identity(
        address=str(chat.id),
        key=f"group:{chat.id}",
        display_name=chat.title,
        profile=_compact({"chat_type": chat.type, "title": chat.title, "username": chat.username}),
    )


def person_identity(user: User) -> Identity:
    """One person by their user id, as in a reaction (which names no contact)."""
    return Identity(address=str(user.id), display_name=user.full_name, profile=user_profile(user))


# --- What -------------------------------------------------------------------------------


def utf16_tail(text: str, offset: int) -> str:
    """``text`` from the UTF-16 code unit ``offset`` on, as Telegram counts."""
    return remove_surrogates(add_surrogates(text)[offset * 2 :])


def command_of(
    text: str | None, entities: Sequence[MessageEntity] | None
) -> tuple[str, str] | None:
    """``("start", "payload")`` for ``/start payload`` (or ``/start@Bot payload``): a message
    that opens with a bot command."""
    if not text or not entities:
        return None
    entity = next(
        (e for e in entities if e.type == MessageEntityType.BOT_COMMAND and e.offset == 0), None
    )
    if entity is None:
        return None
    name = entity.extract_from(text)[1:].split("@", 1)[0]
    return name, utf16_tail(text, entity.offset + entity.length).strip()


def links_of(text: str | None, entities: Sequence[MessageEntity] | None) -> list[dict[str, str]]:
    """Links hidden behind text (``text_link``), which plain text would lose."""
    if not text or not entities:
        return []
    return [
        {"text": entity.extract_from(text), "url": entity.url}
        for entity in entities
        if entity.type == MessageEntityType.TEXT_LINK and entity.url
    ]


def own_phone(message: Message) -> str | None:
    """The sender's own phone number, when the message is their own contact card (what a
    ``request_contact`` keyboard button sends): a card of someone else is not theirs."""
    contact, sender = message.contact, message.from_user
    if contact is None or sender is None or contact.user_id != sender.id:
        return None
    return normalise_phone(contact.phone_number)


def start_attributes(message: Message) -> dict[str, Any]:
    """What a ``/start <payload>`` deep link (``t.me/<bot>?start=<payload>``) tells about the
    contact: where they came from, kept on the contact as ``telegram_start_payload``."""
    command = command_of(message.text, message.entities)
    if command is None or command[0] != "start" or not command[1] or not is_private(message.chat):
        return {}
    return {START_ATTRIBUTE: command[1]}


def coordinates(location: Location) -> str:
    return f"{location.latitude:.6f}, {location.longitude:.6f}"


def normalise_phone(number: str) -> str:
    """Telegram sends ``contact.phone_number`` with or without ``+``; always add it."""
    number = number.strip()
    return number if number.startswith("+") or not number.isdigit() else f"+{number}"


def content_type(message: Message) -> str:
    """aiogram's name for what the message holds: ``"text"``, ``"photo"``, ``"poll"``..."""
    return ContentType(message.content_type).value


def text_of(message: Message) -> str | None:
    """What the message says, as text an agent can read."""
    if message.text is not None:
        return message.text
    if message.caption:
        return message.caption
    if message.sticker is not None:
        return message.sticker.emoji or "[sticker]"
    if message.venue is not None:
        venue = message.venue
        return f"Venue: {venue.title}, {venue.address} ({coordinates(venue.location)})"
    if message.location is not None:
        return f"Location: {coordinates(message.location)}"
    if message.contact is not None:
        contact = message.contact
        name = " ".join(part for part in (contact.first_name, contact.last_name) if part)
        return f"Contact: {name}, {normalise_phone(contact.phone_number)}"
    kind = content_type(message)
    if kind in PLACEHOLDER_CONTENT:
        return f"[Telegram {kind.replace('_', ' ')}: not shown in Nexus]"
    return None


def has_content(message: Message) -> bool:
    """False for service messages (members joining, pins): nothing a person wrote."""
    return text_of(message) is not None or file_of(message) is not None


def file_of(message: Message) -> FileRef | None:
    """The file worth downloading from a message (a message carries at most one)."""
    if message.photo:
        largest = message.photo[-1]  # the sizes come smallest first
        return _ref(largest, f"photo_{largest.file_unique_id}.jpg", "image/jpeg")
    # An animation also comes as ``document``, for old clients: it is taken once, as itself.
    named = (
        ("animation", message.animation, "video/mp4"),
        ("document", message.document, None),
        ("audio", message.audio, None),
        ("video", message.video, "video/mp4"),
    )
    for stem, item, default_type in named:
        if item is not None:
            mime_type = item.mime_type or default_type
            return _ref(
                item, item.file_name or _name(stem, item.file_unique_id, mime_type), mime_type
            )
    if message.voice is not None:
        voice = message.voice
        return _ref(voice, f"voice_{voice.file_unique_id}.ogg", voice.mime_type or "audio/ogg")
    if message.video_note is not None:
        note = message.video_note
        return _ref(note, f"video_note_{note.file_unique_id}.mp4", "video/mp4")
    if message.sticker is not None:
        return sticker_file(message.sticker)
    return None


def sticker_file(sticker: Sticker) -> FileRef | None:
    """A static sticker is a WebP image. An animated one (``.tgs``, which is gzipped Lottie
    JSON) or a video one (``.webm``) is no image: its thumbnail stands in when it has one, typed
    from its path (``.webp`` or ``.jpg``); otherwise the emoji alone shows it."""
    name = f"sticker_{sticker.file_unique_id}"
    if not sticker.is_animated and not sticker.is_video:
        return _ref(sticker, f"{name}.webp", "image/webp")
    if sticker.thumbnail is not None:
        return _ref(sticker.thumbnail, f"{name}_thumbnail", None)
    return None


def details(message: Message, update_id: int | None) -> dict[str, Any]:
    """What the message's metadata keeps under ``"telegram"``."""
    chat = message.chat
    info: dict[str, Any] = {
        "update_id": update_id,
        "chat_id": chat.id,
        "chat_type": chat.type,
        "message_id": message.message_id,
        "content_type": content_type(message),
        "media_group_id": message.media_group_id,
        "forwarded": True if message.forward_origin else None,
    }
    command = command_of(message.text, message.entities)
    if command is not None:
        info["command"], info["command_args"] = command
        if command[0] == "start" and command[1]:
            info["start_payload"] = command[1]  # a deep link: t.me/<bot>?start=<payload>
    links = links_of(message.text, message.entities) or links_of(
        message.caption, message.caption_entities
    )
    if links:
        info["links"] = links
    if message.venue is not None:
        info["venue"] = _compact(
            {
                "title": message.venue.title,
                "address": message.venue.address,
                "latitude": message.venue.location.latitude,
                "longitude": message.venue.location.longitude,
            }
        )
    elif message.location is not None:
        info["location"] = _compact(
            {
                "latitude": message.location.latitude,
                "longitude": message.location.longitude,
                "live_period": message.location.live_period,
            }
        )
    if message.contact is not None:
        contact = message.contact
        info["contact"] = _compact(
            {
                "phone_number": normalise_phone(contact.phone_number),
                "first_name": contact.first_name,
                "last_name": contact.last_name,
                "user_id": contact.user_id,
                "vcard": contact.vcard,
            }
        )
    if message.sticker is not None:
        sticker = message.sticker
        kind = "animated" if sticker.is_animated else "video" if sticker.is_video else "static"
        info["sticker"] = _compact(
            {"emoji": sticker.emoji, "set_name": sticker.set_name, "kind": kind}
        )
    if not is_private(chat) and message.from_user is not None:
        info["author"] = _compact(
            {"name": message.from_user.full_name, **user_profile(message.from_user)}
        )
    return _compact(info)


# --- The converter ----------------------------------------------------------------------


class Converter:
    """Turns one bot's updates into inbound events, downloading their files."""

    def __init__(self, fetcher: MediaFetcher) -> None:
        self.fetcher = fetcher

    async def message(self, message: Message, update_id: int | None = None) -> InboundMessage:
        file = file_of(message)
        attachments = [await self.fetcher.fetch(file)] if file is not None else []
        chat = message.chat
        reply = message.reply_to_message
        return InboundMessage(
            external_id=ids.message_id(chat.id, message.message_id),
            sender=contact_identity(chat, message.from_user, own_phone(message)),
            text=text_of(message),
            attachments=attachments,
            reply_to=ids.message_id(chat.id, reply.message_id) if reply is not None else None,
            sent_at=message.date,  # Telegram's ``date``: when the user sent it
            metadata={"telegram": details(message, update_id)},
            contact_attributes=start_attributes(message),
        )

    @staticmethod
    def edit(message: Message) -> InboundEdit:
        edited = datetime.fromtimestamp(message.edit_date, UTC) if message.edit_date else None
        return InboundEdit(
            external_id=ids.message_id(message.chat.id, message.message_id),
            text=text_of(message),
            edited_at=edited,
        )

    @staticmethod
    def reaction(event: MessageReactionUpdated) -> InboundReaction:
        """A reaction set or removed, by a person or (an anonymous admin) in a chat's name."""
        if event.user is not None:
            sender = person_identity(event.user)
        elif event.actor_chat is not None:
            sender = contact_identity(event.actor_chat, None)
        else:
            raise ValueError("a reaction update names neither user nor actor_chat")
        return InboundReaction(
            target_external_id=ids.message_id(event.chat.id, event.message_id),
            sender=sender,
            emoji=_reaction_emoji(event),
            reacted_at=event.date,
        )

    @staticmethod
    def callback(query: CallbackQuery) -> InboundMessage:
        """A press on an inline keyboard button, stored as what the contact chose."""
        message = query.message
        label = None
        if (
            isinstance(message, Message)
            and message.reply_markup is not None
            and query.data is not None
        ):
            label = next(
                (
                    button.text
                    for row in message.reply_markup.inline_keyboard
                    for button in row
                    if button.callback_data == query.data
                ),
                None,
            )
        chosen = label or query.data or query.game_short_name or ""
        if message is not None:
            sender = contact_identity(message.chat, query.from_user)
            reply_to = ids.message_id(message.chat.id, message.message_id)
        else:  # a button under an inline-mode message: no chat, only the person
            sender = person_identity(query.from_user)
            reply_to = None
        return InboundMessage(
            external_id=ids.callback_id(query.id),
            sender=sender,
            text=f"[button] {chosen}",
            reply_to=reply_to,
            metadata={
                "telegram": _compact(
                    {
                        "callback_query_id": query.id,
                        "callback_data": query.data,
                        "button": label,
                        "game_short_name": query.game_short_name,
                        "chat_id": message.chat.id if message is not None else None,
                    }
                )
            },
        )


def _reaction_emoji(event: MessageReactionUpdated) -> str | None:
    for reaction in event.new_reaction:
        if isinstance(reaction, ReactionTypeEmoji):
            return reaction.emoji
    for reaction in event.new_reaction:
        if isinstance(reaction, ReactionTypeCustomEmoji):
            return f"custom emoji {reaction.custom_emoji_id}"
        if isinstance(reaction, ReactionTypePaid):
            return "⭐"
    return None


def _ref(item: Any, filename: str, content_type: str | None) -> FileRef:
    """A file of any of aiogram's file types (they share ``file_id`` and ``file_size``)."""
    return FileRef(item.file_id, filename, content_type, item.file_size)


def _name(stem: str, unique_id: str, content_type: str | None) -> str:
    extension = mimetypes.guess_extension(content_type) if content_type else None
    return f"{stem}_{unique_id}{extension or ''}"


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
