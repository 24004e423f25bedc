"""The Telegram channel type: one instance per bot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.types import User
from aiogram.utils.token import TokenValidationError

from nexus import (
    Channel,
    ChannelHost,
    OutboundMessage,
    RateLimit,
    SendResult,
    WebhookRequest,
    WebhookResponse,
)
from nexus_telegram.config import Mode, TelegramConfig
from nexus_telegram.convert import Converter
from nexus_telegram.media import MediaFetcher
from nexus_telegram.polling import Poller
from nexus_telegram.send import CAPABILITIES, Sender
from nexus_telegram.updates import UnreadableUpdate, UpdateRouter, read_update
from nexus_telegram.webhook import SECRET_HEADER, SECRET_KEY, has_secret, new_secret

Inbound = Literal["polling", "webhook"]


def inbound_mode(mode: Mode, webhook_url: str | None) -> Inbound:
    """How this instance receives updates: ``auto`` means a webhook when Telegram can reach
    this server (``server.public_url`` is set), long polling otherwise."""
    if mode == "auto":
        return "webhook" if webhook_url else "polling"
    if mode == "webhook" and not webhook_url:
        raise ValueError(
            "mode = 'webhook' needs server.public_url, the address at which Telegram reaches Nexus"
        )
    return mode


def make_bot(config: TelegramConfig) -> Bot:
    session = AiohttpSession(
        api=TelegramAPIServer.from_base(config.api_server), timeout=config.request_timeout
    )
    try:
        return Bot(config.token.get_secret_value(), session=session)
    except TokenValidationError as exc:
        raise ValueError(
            "the bot token is malformed: @BotFather's tokens look like 123456789:AAH... "
            "(digits, a colon, a secret)"
        ) from exc


class TelegramChannel(Channel):
    """One Telegram bot, receiving by long polling or by webhook, sending through the Bot API."""

    type_name = "telegram"
    Config = TelegramConfig
    description = "Telegram bots (Bot API, through aiogram), by long polling or webhook"
    env_shortcuts = {"TELEGRAM_BOT_TOKEN": "token"}
    # Telegram's limits: about 30 messages a second per bot, one a second per chat.
    rate_limit = RateLimit(per_second=30, per_recipient_per_second=1)
    # A send may upload files of up to 50 MB.
    send_timeout = 90.0
    capabilities = CAPABILITIES
    config: TelegramConfig
    router: UpdateRouter
    sender: Sender

    def __init__(self, name: str, config: TelegramConfig, host: ChannelHost) -> None:
        super().__init__(name, config, host)
        self.mode: Inbound = "polling"
        self.bot: Bot | None = None
        self.me: User | None = None
        self._secret = ""

    async def start(self) -> None:
        """Check the token with ``getMe``; in webhook mode, register the webhook."""
        self.mode = inbound_mode(self.config.mode, self.host.webhook_url)
        self.bot = bot = make_bot(self.config)
        try:
            self.me = await bot.get_me()
        except TelegramUnauthorizedError as exc:
            raise PermissionError(
                f"Telegram rejected the bot token ({exc.message}): check the token from @BotFather"
            ) from exc
        fetcher = MediaFetcher(
            bot, max_size=self.config.max_download_size, timeout=self.config.request_timeout
        )
        self.router = UpdateRouter(
            bot, self.host, Converter(fetcher), allow_groups=self.config.allow_groups
        )
        self.sender = Sender(bot)
        if self.mode == "webhook":
            # Every process runs start(): they all agree on the first secret stored. (Wrapped
            # in an object: the host's state store takes a bare string for encoded JSON.)
            stored = await self.host.setdefault_state(SECRET_KEY, {"secret": new_secret()})
            self._secret = stored["secret"]
            await bot.set_webhook(
                url=self.host.webhook_url or "",
                secret_token=self._secret,
                allowed_updates=self.router.allowed_updates,
                drop_pending_updates=False,
            )
        self.logger.info("bot @%s receives updates by %s", self.me.username, self.mode)

    async def run(self) -> None:
        """The long-polling loop, in polling mode; in webhook mode there is nothing to run."""
        if self.mode != "polling" or self.bot is None:
            return
        await Poller(self.bot, self.host, self.router, timeout=self.config.polling_timeout).run()

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.session.close()

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResponse:
        if self.mode != "webhook" or not self._secret:
            return WebhookResponse.error(
                404,
                "not_in_webhook_mode",
                f"channel {self.name!r} receives updates by long polling",
            )
        if request.method != "POST":
            return WebhookResponse.error(405, "method_not_allowed", "Telegram POSTs updates here")
        if not has_secret(request, self._secret):
            return WebhookResponse.error(401, "bad_secret", f"missing or wrong {SECRET_HEADER}")
        try:
            update = read_update(request.body)
        except UnreadableUpdate as exc:
            # It carries the secret, so it comes from Telegram: keep it, byte for byte, with
            # the reason, and answer 200 so Telegram does not send it again and again.
            event_id = await self.host.store_raw(request.body, request.headers)
            self.logger.error("webhook body kept as inbound event %s: %s", event_id, exc)
            return WebhookResponse.ok()
        # Answer only once the update is stored: an error answers 500, and Telegram sends again.
        await self.router.feed_raw(update, request.body)
        return WebhookResponse.ok()

    async def process_raw(self, payload: bytes, headers: Mapping[str, str]) -> None:
        """An update kept because it could not be read when it came (see
        :meth:`UpdateRouter.feed_raw`): read it again, and raise with the reason if it still
        cannot be."""
        await self.router.feed(self.router.parse(read_update(payload)))

    async def send(self, message: OutboundMessage) -> SendResult:
        return await self.sender.send(message)

    def status_details(self) -> Mapping[str, Any]:
        details: dict[str, Any] = {"mode": self.mode}
        if self.me is not None:
            details.update(bot=f"@{self.me.username}", bot_id=self.me.id)
        if self.mode == "webhook":
            details["webhook_url"] = self.host.webhook_url
        return details
