"""Threading: Message-IDs, References and the ``[#123]`` ticket token in subjects.

Every message is known to the host by its Message-ID, written with its angle brackets
(``<abc@example.com>``): inbound mail under the customer's Message-ID, our replies under the
one we generate. A customer's answer names ours in In-Reply-To or References, and the host
threads it into the same ticket.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "make_message_id",
    "message_ids",
    "normalize_message_id",
    "references",
    "reply_subject",
    "strip_subject",
    "ticket_token",
]

_MSGID = re.compile(r"<([^<>\s]+)>")
_TOKEN = re.compile(r"\[#(\d{1,18})\]")
#: Reply and forward prefixes of common clients and languages, possibly numbered ("Re[2]:").
_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|antw|sv|vs|rif|fw|fwd|wg|tr|rv|enc|odp|pd|vl|ynt|回复|答复|转发|返信|転送)"
    r"(?:\s*\[\d+\]|\s*\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)
MAX_REFERENCES = 20


def normalize_message_id(value: str | None) -> str | None:
    """``<id@host>`` from a header value, or None. A bare id gets its brackets."""
    if not value:
        return None
    match = _MSGID.search(value)
    if match:
        return f"<{match.group(1)}>"
    bare = value.strip()
    if bare and not any(ch.isspace() for ch in bare) and "@" in bare:
        return f"<{bare.strip('<>')}>"
    return None


def message_ids(value: str | None) -> list[str]:
    """Every ``<id>`` in a References or In-Reply-To value, in order, without repeats."""
    seen: list[str] = []
    for match in _MSGID.finditer(value or ""):
        msgid = f"<{match.group(1)}>"
        if msgid not in seen:
            seen.append(msgid)
    if not seen:
        single = normalize_message_id(value)
        if single:
            seen.append(single)
    return seen


def make_message_id(domain: str, ticket_id: int, message_id: int, salt: str) -> str:
    """Our Message-ID for host message ``message_id``: stable across retries, so a reply sent
    twice is recognised as one by the recipient's client, and unique to this installation
    through ``salt``."""
    return f"<nexus.{ticket_id}.{message_id}.{salt}@{domain}>"


def ticket_token(subject: str | None) -> int | None:
    """The ticket number of a ``[#123]`` token in ``subject``."""
    match = _TOKEN.search(subject or "")
    return int(match.group(1)) if match else None


def strip_subject(subject: str | None) -> str:
    """``subject`` without reply/forward prefixes and ticket tokens."""
    text = _TOKEN.sub("", subject or "")
    text = re.sub(r"\s+", " ", text).strip()
    previous = None
    while previous != text:
        previous = text
        text = _PREFIX.sub("", text).strip()
    return text


def reply_subject(subject: str | None, ticket_id: int) -> str:
    """"Re: <subject> [#<ticket>]", however many "Re:" and tokens the subject had."""
    base = strip_subject(subject)
    return f"Re: {base} [#{ticket_id}]" if base else f"Re: [#{ticket_id}]"


def references(thread: Sequence[str], reply_to: str | None) -> list[str]:
    """The References of a reply: the thread's ids, oldest first, plus the message it answers
    if the thread lacks it; at most :data:`MAX_REFERENCES` (the first and the latest ones)."""
    ids: list[str] = []
    for value in [*thread, *([reply_to] if reply_to else [])]:
        msgid = normalize_message_id(value)
        if msgid and msgid not in ids:
            ids.append(msgid)
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1):]]
    return ids
