"""What a failed Bot API call means for a reply: try again later, or fail with a reason an agent
can act on. The text of each error is shown on the failed message."""

from __future__ import annotations

from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from nexus import ChannelError, PermanentError, RetryableError
from nexus.http import describe_exception

#: Telegram's 403 descriptions, lower-cased, and what they mean for the agent.
FORBIDDEN: tuple[tuple[str, str, str], ...] = (
    (
        "bot was blocked by the user",
        "bot_blocked",
        "The contact blocked the bot: Telegram delivers nothing to them until they unblock it.",
    ),
    ("user is deactivated", "user_deactivated", "The contact's Telegram account was deleted."),
    ("bot was kicked", "bot_kicked", "The bot was removed from this group."),
    ("bot is not a member", "bot_kicked", "The bot is no longer a member of this chat."),
    (
        "bot can't initiate conversation",
        "cannot_initiate",
        "The bot cannot write first: the contact never started a chat with it.",
    ),
)


def send_error(exc: AiogramError) -> ChannelError:
    """The Nexus error for a Bot API call that failed while sending."""
    if isinstance(exc, TelegramRetryAfter):
        return RetryableError(
            f"Telegram's flood control asks to wait {exc.retry_after}s before sending again",
            code="rate_limited",
            retry_after=float(exc.retry_after),
        )
    if isinstance(exc, TelegramEntityTooLarge):
        return PermanentError(
            "Telegram refused the file as too large (the Bot API takes up to 50 MB)",
            code="too_large",
        )
    if isinstance(exc, (TelegramNetworkError, ClientDecodeError)):
        return RetryableError(f"could not talk to the Bot API: {_text(exc)}", code="network")
    if isinstance(exc, TelegramServerError):
        return RetryableError(f"Telegram's servers failed: {exc.message}", code="server_error")
    if isinstance(exc, TelegramForbiddenError):
        description = exc.message.lower()
        for fragment, code, text in FORBIDDEN:
            if fragment in description:
                return PermanentError(text, code=code)
        return PermanentError(f"Telegram refused to deliver: {exc.message}", code="forbidden")
    if isinstance(exc, TelegramMigrateToChat):
        return PermanentError(
            f"The group was upgraded to a supergroup (new id {exc.migrate_to_chat_id}); "
            "the contact must write again from it",
            code="chat_migrated",
        )
    if isinstance(exc, TelegramBadRequest):
        if "chat not found" in exc.message.lower():
            return PermanentError(
                "Telegram does not know this chat (chat not found): the contact may have "
                "deleted their account, or never started the bot",
                code="chat_not_found",
            )
        return PermanentError(f"Telegram rejected the message: {exc.message}", code="bad_request")
    if isinstance(exc, TelegramUnauthorizedError):
        return PermanentError(
            "Telegram rejected the bot token (401 Unauthorized): check the channel's token",
            code="unauthorized",
        )
    if isinstance(exc, TelegramNotFound):
        return PermanentError(f"Telegram answered 404: {exc.message}", code="not_found")
    return RetryableError(f"Telegram answered: {_text(exc)}", code="telegram_error")


def _text(exc: AiogramError) -> str:
    return exc.message if isinstance(exc, TelegramAPIError) else describe_exception(exc)
