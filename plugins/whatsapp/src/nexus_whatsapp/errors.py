"""Meta's error codes, and what each means for a reply: retry it, fail it, or fix the channel.

The Graph API answers an error as ``{"error": {"message": "(#131047) Re-engagement message",
"code": 131047, "error_data": {"details": "..."}, ...}}``; failed-status webhooks carry the same
``code``, ``title`` and ``error_data.details``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any

from nexus import ChannelError, PermanentError, RetryableError
from nexus.http import retry_after as parse_retry_after
from nexus.http import retryable_status

#: Throughput limits of the whole number or app, with the pause (seconds) every send of the
#: channel then takes, unless Meta sent Retry-After.
CHANNEL_RATE_LIMITS: Mapping[int, float] = {
    4: 60.0,  # application request limit reached
    17: 60.0,  # user request limit reached
    32: 60.0,  # page-level throttling
    613: 60.0,  # calls within one hour exceeded
    80007: 60.0,  # WhatsApp Business Account rate limit
    130429: 1.0,  # Cloud API throughput (messages per second) reached
    131057: 60.0,  # account in maintenance (throughput upgrade, up to a minute)
}
#: Too many messages to one recipient (the pair rate limit): retried, nothing else paused.
PAIR_RATE_LIMIT = 131056
#: Meta's side failed; the same request may well succeed later.
TRANSIENT = frozenset({1, 2, 131000, 131016, 133004})
#: The access token or the app's permissions are wrong: replies wait while an operator fixes it.
AUTH = frozenset({0, 3, 10, 190, *range(200, 300)})
#: More than 24 hours since the customer last wrote: only a template may be sent.
REENGAGEMENT = 131047

HINTS: Mapping[int, str] = {
    REENGAGEMENT: "The 24-hour customer service window has closed: send an approved template "
    "message instead; free-form replies are possible again once the customer answers.",
    131026: "The recipient cannot receive this message: the number may not use WhatsApp, or "
    "their app is outdated.",
    131030: "While the app is in development, add this number to the recipient list in Meta's "
    "app dashboard.",
    132001: "Check the template's name and language against WhatsApp Manager.",
}

_CODE_PREFIX = re.compile(r"^\(#\d+\)\s*")


class Outcome(enum.Enum):
    """What a Graph API error means for the request that got it."""

    RETRY = "retry"
    PAUSE = "pause"  # retry, and slow the whole channel down
    AUTH = "auth"  # retry once an operator fixed the token
    PERMANENT = "permanent"


def describe(code: int | None, title: str | None, details: str | None = None) -> str:
    """Meta's error as one readable sentence: title, details, and a hint for known codes."""
    title = _CODE_PREFIX.sub("", (title or "").strip())
    details = (details or "").strip()
    text = title
    if details and details.rstrip(".").lower() != title.rstrip(".").lower():
        text = f"{title}: {details}" if title else details
    text = text or (f"WhatsApp error {code}" if code is not None else "WhatsApp reported an error")
    hint = HINTS.get(code) if code is not None else None
    if hint:
        text = f"{text.rstrip('.')}. {hint}"
    return text


class GraphAPIError(Exception):
    """A Graph API request answered with an error."""

    def __init__(
        self,
        status: int,
        *,
        code: int | None = None,
        title: str = "",
        details: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.title = title
        self.details = details
        self.retry_after = retry_after
        super().__init__(self.describe())

    @classmethod
    def from_response(cls, status: int, body: Any, headers: Mapping[str, str]) -> GraphAPIError:
        error = body.get("error") if isinstance(body, Mapping) else None
        wait = parse_retry_after(headers.get("Retry-After"))
        if not isinstance(error, Mapping):
            return cls(status, title=f"Graph API answered HTTP {status}", retry_after=wait)
        data = _mapping(error.get("error_data"))
        return cls(
            status,
            code=as_int(error.get("code")),
            title=str(error.get("error_user_title") or error.get("message") or ""),
            details=str(data.get("details") or error.get("error_user_msg") or "") or None,
            retry_after=wait,
        )

    def describe(self) -> str:
        return describe(
            self.code, self.title or f"Graph API answered HTTP {self.status}", self.details
        )

    @property
    def outcome(self) -> Outcome:
        code = self.code
        if code in CHANNEL_RATE_LIMITS:
            return Outcome.PAUSE
        if code == PAIR_RATE_LIMIT or code in TRANSIENT or retryable_status(self.status):
            return Outcome.RETRY
        if code in AUTH or self.status == 401:
            return Outcome.AUTH
        return Outcome.PERMANENT

    @property
    def error_code(self) -> str:
        """The code agents see on a failed reply."""
        return str(self.code) if self.code is not None else f"http_{self.status}"


def to_channel_error(error: GraphAPIError, *, note: str = "") -> ChannelError:
    """The host's error for a failed send. ``note`` is appended to the text (say, how many
    parts of the reply were already delivered)."""
    text = error.describe() + (f" ({note})" if note else "")
    outcome = error.outcome
    if outcome is Outcome.PERMANENT:
        return PermanentError(text, code=error.error_code)
    # The host pauses every send of the channel for ``retry_after``: right for the number's
    # throughput limits and for Meta's own Retry-After, wrong for one recipient's pair limit.
    retry_after = None if error.code == PAIR_RATE_LIMIT else error.retry_after
    if outcome is Outcome.PAUSE and retry_after is None:
        retry_after = CHANNEL_RATE_LIMITS[error.code]  # type: ignore[index]
    return RetryableError(text, code=error.error_code, retry_after=retry_after)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_int(value: Any) -> int | None:
    """``value`` as an int, or None (Meta sends codes as numbers, sometimes as strings)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
