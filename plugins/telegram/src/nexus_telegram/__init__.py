"""Nexus's Telegram channel: bots on the Bot API, through aiogram, by long polling or webhook.

Install the distribution and set ``TELEGRAM_BOT_TOKEN`` to run one bot in long-polling mode, or
configure ``[channels.<name>]`` tables with ``type = "telegram"``; see the README.
"""

from __future__ import annotations

from collections.abc import Callable

import nexus
from nexus_telegram.channel import TelegramChannel
from nexus_telegram.config import TelegramConfig
from nexus_telegram.webhook import SECRET_HEADER

__all__ = ["SECRET_HEADER", "TelegramChannel", "TelegramConfig"]


@nexus.hookimpl
def nexus_register_channel_types(register: Callable[[type[nexus.Channel]], None]) -> None:
    register(TelegramChannel)
