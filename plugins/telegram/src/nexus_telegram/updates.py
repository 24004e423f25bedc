"""Where one bot's updates go: an aiogram :class:`~aiogram.Dispatcher` with a router built for
this channel instance (a router belongs to one dispatcher, so each instance has its own).

Both inbound modes hand updates to :meth:`UpdateRouter.feed_raw`, which returns only once
whatever the update carried is durably stored by the host. Polling commits its offset and the
webhook answers Telegram only after that, so a failure anywhere means Telegram delivers the
update again, and the host's deduplication absorbs what was already stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiogram
from aiogram import Bot, Dispatcher, F, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    CallbackQuery,
    Chat,
    Message,
    MessageReactionUpdated,
    TelegramObject,
    Update,
)
from aiogram.types.update import UpdateTypeLookupError
from pydantic import ValidationError

from nexus import ChannelHost, Receipt
from nexus.http import UnreadablePayload, read_json
from nexus_telegram.convert import Converter, has_content, is_private


class UnreadableUpdate(UnreadablePayload):
    """A body or update that is no Telegram Update this plugin can read; the text says why."""


def read_update(body: bytes) -> Any:
    """The JSON of an update's body, or :class:`UnreadableUpdate` saying why it has none."""
    return read_json(body, UnreadableUpdate)


def in_private_chat(event: TelegramObject, event_chat: Chat | None = None) -> bool:
    """The filter that keeps group and channel chats out unless ``allow_groups`` is set.
    ``event_chat`` is what aiogram resolved the update's chat to; a button under an inline-mode
    message has none, and belongs to the person who pressed it."""
    return event_chat is None or is_private(event_chat)


class UpdateRouter:
    """Converts one bot's updates and hands them to the host."""

    def __init__(
        self, bot: Bot, host: ChannelHost, converter: Converter, *, allow_groups: bool
    ) -> None:
        self.bot = bot
        self.host = host
        self.converter = converter
        self.dispatcher = self._dispatcher(allow_groups)

    def _dispatcher(self, allow_groups: bool) -> Dispatcher:
        router = Router(name=f"nexus-{self.host.name}")
        router.message.register(self._message, has_content)
        router.edited_message.register(self._edit)
        router.callback_query.register(self._callback)
        router.message_reaction.register(self._reaction, F.user | F.actor_chat)
        if not allow_groups:
            for observer in (
                router.message,
                router.edited_message,
                router.callback_query,
                router.message_reaction,
            ):
                observer.filter(in_private_chat)
        dispatcher = Dispatcher(disable_fsm=True, name=f"nexus-{self.host.name}")
        dispatcher.include_router(router)
        return dispatcher

    @property
    def allowed_updates(self) -> list[str]:
        """The update types to ask Telegram for (``message_reaction`` is sent only on request)."""
        return self.dispatcher.resolve_used_update_types()

    def parse(self, data: Any) -> Update:
        """An update as Telegram sent it, in aiogram's types; :class:`UnreadableUpdate` when
        it does not fit them (the Bot API changed under an older aiogram, or a malformed
        body such as ``"message": 5``)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("update_id"), int):
            raise UnreadableUpdate("expected a Telegram Update: a JSON object with an integer update_id")
        try:
            return Update.model_validate(data, context={"bot": self.bot})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]
            )
            raise UnreadableUpdate(
                f"update {data.get('update_id')} does not match the Bot API types of aiogram "
                f"{aiogram.__version__} ({problems})"
            ) from None

    async def feed_raw(self, data: Mapping[str, Any], raw: bytes | None = None) -> None:
        """Parse one update as Telegram sent it, then :meth:`feed` it.

        An update that aiogram's types cannot read is kept as an inbound event (``raw``, the
        bytes received, or its JSON) whose processing fails with the reason, listed under
        ``/api/v1/inbound-events`` for replay once aiogram is upgraded, and the bot goes on:
        held back, it would hold back every later update of the bot too.
        """
        try:
            update = self.parse(data)
        except UnreadableUpdate as exc:
            body = raw if raw is not None else json.dumps(data, ensure_ascii=False).encode()
            event_id = await self.host.store_raw(body, {"content-type": "application/json"})
            self.host.logger.error("%s; kept as inbound event %s. The update: %s", exc, event_id,
                                   body.decode("utf-8", "replace"))
            return
        await self.feed(update)

    async def feed(self, update: Update) -> None:
        """Process one update; returns once it is stored (or deliberately ignored)."""
        try:
            kind = update.event_type
        except UpdateTypeLookupError:
            fields = sorted(set(update.model_dump(exclude_none=True)) - {"update_id"})
            self.host.logger.warning(
                "update %s is of a type this plugin does not know (%s); ignored",
                update.update_id,
                ", ".join(fields),
            )
            return
        result = await self.dispatcher.feed_update(self.bot, update)
        if result is UNHANDLED:
            self.host.logger.info(
                "update %s (%s) ignored: nothing for Nexus in it", update.update_id, kind
            )

    # --- Handlers ----------------------------------------------------------------------
    # Each returns the host's receipt: a handler that returned handled the update.

    async def _message(self, message: Message, event_update: Update) -> Receipt:
        return await self.host.receive(
            await self.converter.message(message, event_update.update_id)
        )

    async def _edit(self, message: Message) -> Receipt:
        return await self.host.receive(self.converter.edit(message))

    async def _reaction(self, event: MessageReactionUpdated) -> Receipt:
        return await self.host.receive(self.converter.reaction(event))

    async def _callback(self, query: CallbackQuery) -> Receipt:
        receipt = await self.host.receive(self.converter.callback(query))
        # Stored: now stop the spinner on the contact's button. A replayed update finds the
        # query expired, which is harmless.
        try:
            await self.bot.answer_callback_query(query.id)
        except TelegramAPIError as exc:
            self.host.logger.warning("could not answer callback query %s: %s", query.id, exc)
        return receipt
