"""External ids: how Telegram's messages are named in Nexus.

A ``message_id`` is unique only within its chat, so a message is ``"<chat_id>:<message_id>"``
(``"123456789:42"``, or ``"-1001234567890:7"`` in a supergroup). Inbound messages, edits,
reactions, replies and the messages the bot sends all use this one scheme, so each can find the
others. A callback query (a button press) has a globally unique id of its own and becomes
``"callback:<id>"``.
"""

from __future__ import annotations


def message_id(chat_id: int | str, message_id: int | str) -> str:
    return f"{chat_id}:{message_id}"


def callback_id(query_id: str) -> str:
    return f"callback:{query_id}"


def parse_message_id(external_id: str) -> tuple[int, int] | None:
    """``(chat_id, message_id)`` of a message id made by :func:`message_id`, else None."""
    chat, _, message = external_id.rpartition(":")
    try:
        return int(chat), int(message)
    except ValueError:
        return None
