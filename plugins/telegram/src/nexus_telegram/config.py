"""The settings of one Telegram channel instance (one bot)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from nexus import ChannelConfig

#: Telegram's own Bot API server.
DEFAULT_API_SERVER = "https://api.telegram.org"
#: The largest file the hosted Bot API lets a bot download (``getFile``).
BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024

Mode = Literal["auto", "polling", "webhook"]


class TelegramConfig(ChannelConfig):
    """``[channels.<name>]`` with ``type = "telegram"``."""

    token: SecretStr
    """The bot token from @BotFather. Set it from the environment: ``TELEGRAM_BOT_TOKEN`` for a
    single bot, ``NEXUS_CHANNELS__<NAME>__TOKEN`` for each of several."""
    mode: Mode = "auto"
    """How updates arrive. ``auto`` uses a webhook when ``server.public_url`` is set and long
    polling otherwise; ``polling`` and ``webhook`` force one."""
    allow_groups: bool = False
    """Open tickets for group and supergroup chats too (the group is the contact and replies go
    to the group). By default only private chats with the bot are handled."""
    api_server: str = DEFAULT_API_SERVER
    """Base URL of the Bot API: Telegram's, or a self-hosted ``telegram-bot-api`` server."""
    polling_timeout: int = Field(30, ge=1, le=50)
    """Seconds one ``getUpdates`` long poll waits for new updates."""
    request_timeout: float = Field(60.0, gt=0, le=600)
    """Seconds one Bot API call (a send, an upload, a file download) may take."""
    max_download_size: int = Field(BOT_API_DOWNLOAD_LIMIT, ge=1)
    """Larger inbound files are stored as a placeholder that says so. Telegram's Bot API serves
    at most 20 MB; raise this only with a self-hosted Bot API server."""

    @field_validator("api_server")
    @classmethod
    def _api_server(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://api.telegram.org")
        return value
