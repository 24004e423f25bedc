"""The channel half of the plugin contract: the class a channel plugin subclasses, what the
host hands it, and the errors it raises.

A plugin registers its :class:`Channel` subclasses through the ``nexus_register_channel_types``
hook. The host then makes one instance per configured channel (two WhatsApp numbers are two
instances of one class) and drives it:

* ``start()`` in every process that runs the channel, then ``run()`` (if the class overrides
  it) in exactly one process across the whole cluster, then ``stop()`` at shutdown;
* ``handle_webhook()`` for each request to ``/webhooks/<type>/<name>``, once its body (at
  most ``max_webhook_body`` bytes) has arrived;
* ``send()`` from the delivery worker, for each reply.

This module imports nothing of the host.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict

from nexus.types import (
    Capabilities,
    InboundEdit,
    InboundMessage,
    InboundReaction,
    OutboundMessage,
    Receipt,
    SendResult,
    StatusUpdate,
)

__all__ = [
    "Channel",
    "ChannelConfig",
    "ChannelError",
    "ChannelHost",
    "Params",
    "PermanentError",
    "RateLimit",
    "RetryableError",
    "WebhookRequest",
    "WebhookResponse",
]


class ChannelConfig(BaseModel):
    """Base for a channel type's settings schema.

    Unknown keys are errors, so an operator's typo is caught at start-up. Declare secrets as
    ``pydantic.SecretStr``: ``nexus config check`` masks them, and operators may set them from
    the environment (``NEXUS_CHANNELS__<NAME>__<KEY>``) instead of the TOML file.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """How fast the host may call :meth:`Channel.send`. A burst is paced, never failed.

    :param per_second: sends per second across the whole channel instance (all processes).
    :param per_recipient_per_second: sends per second to one recipient.
    """

    per_second: float | None = None
    per_recipient_per_second: float | None = None


class ChannelError(Exception):
    """Base of the errors :meth:`Channel.send` raises. ``code`` and ``message`` are shown to
    agents on the failed message, so make them readable."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class RetryableError(ChannelError):
    """A transient failure (network error, timeout, 5xx, rate limit): the host retries with
    exponential backoff and jitter, waiting at least ``retry_after`` seconds when given."""

    retryable = True

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class PermanentError(ChannelError):
    """A failure that retrying cannot fix (invalid recipient, messaging window closed, bot
    blocked by the user): the message fails at once with this reason."""


class Params(Mapping[str, str]):
    """Query or form parameters as received: every ``(name, value)`` pair in order.

    As a mapping it gives each name's first value (``params["From"]``); :meth:`getall` gives
    all of a name's values, and :attr:`pairs` every pair in the order received, which is what
    signature schemes over sorted parameters need.
    """

    __slots__ = ("_first", "pairs")

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self.pairs: tuple[tuple[str, str], ...] = tuple(pairs)
        first: dict[str, str] = {}
        for name, value in self.pairs:
            first.setdefault(name, value)
        self._first = first

    @classmethod
    def parse(cls, encoded: str | bytes, *, encoding: str = "utf-8") -> Params:
        """Parse ``application/x-www-form-urlencoded`` text: a query string or a form body.
        ``+`` is a space, ``%XX`` an escaped byte, and blank values are kept. Raises
        ``ValueError`` (``UnicodeDecodeError``) when the bytes are not valid ``encoding``."""
        text = encoded.decode(encoding) if isinstance(encoded, bytes) else encoded
        return cls(parse_qsl(text, keep_blank_values=True, encoding=encoding, errors="strict"))

    def getall(self, name: str) -> list[str]:
        """Every value of ``name``, in the order received; empty when it is absent."""
        return [value for key, value in self.pairs if key == name]

    def __getitem__(self, name: str) -> str:
        return self._first[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def __repr__(self) -> str:
        return f"Params({list(self.pairs)!r})"


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A framework-neutral view of a webhook request. ``body`` is the exact bytes received, so
    signatures can be checked before any parsing. Header names are lower-case."""

    method: str
    path: str
    """The path Nexus served, ``/webhooks/<type>/<name>[/<subpath>]``."""
    headers: Mapping[str, str]
    query: Mapping[str, str]
    """Each query parameter's first value; :attr:`query_params` has them all."""
    body: bytes
    subpath: str = ""
    remote_addr: str | None = None
    """The caller's address: the client's own, or the one a trusted proxy forwarded."""
    url: str = ""
    """The full URL as the provider called it: scheme, host, path and query string, exactly
    what URL-signing providers sign. Nexus builds it from ``server.public_url`` when set (else
    from the request's own scheme and ``Host``), and lets ``X-Forwarded-Proto`` and
    ``X-Forwarded-Host`` override scheme and host when the request comes from a proxy listed
    in ``server.trusted_proxies``."""
    query_string: str = ""
    """The raw query string, percent-encoded as received, without the ``?``."""

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def content_type(self) -> str:
        """The body's media type, lower-case, without parameters (``application/json``)."""
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    @property
    def query_params(self) -> Params:
        """Every query parameter, with repeated names and in the order received."""
        if self.query_string:
            return Params.parse(self.query_string)
        return self.query if isinstance(self.query, Params) else Params(self.query.items())

    def form(self, encoding: str = "utf-8") -> Params:
        """The body parsed as an ``application/x-www-form-urlencoded`` form, whatever the
        ``Content-Type`` says (check :attr:`content_type` first if it matters). Raises
        ``ValueError`` when the body is not valid ``encoding``."""
        return Params.parse(self.body, encoding=encoding)


@dataclass(frozen=True, slots=True)
class WebhookResponse:
    """What a webhook answers. ``body`` may be bytes, text, or anything JSON-serialisable."""

    status: int = 200
    body: Any = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None

    @classmethod
    def ok(cls, body: Any = b"") -> WebhookResponse:
        return cls(200, body)

    @classmethod
    def error(cls, status: int, code: str, message: str) -> WebhookResponse:
        """An error in the host's JSON error shape."""
        return cls(status, {"error": {"code": code, "message": message, "details": {}}})


@runtime_checkable
class ChannelHost(Protocol):
    """What the host gives each channel instance. Everything here is safe to call from any
    process of the cluster."""

    name: str
    """The instance's name, as configured (``[channels.<name>]``)."""

    logger: logging.Logger
    """A logger named after the plugin and the instance."""

    @property
    def webhook_url(self) -> str | None:
        """This instance's public webhook URL, or None when ``server.public_url`` is not set."""

    async def receive(self, event: InboundMessage | InboundEdit | InboundReaction) -> Receipt:
        """Run an inbound event through the pipeline. Returns once it is durably committed, so
        acknowledge the provider only after this returns. Duplicates are absorbed."""

    async def update_status(self, update: StatusUpdate) -> bool:
        """Apply a delivery-status report to the outbound message it names. Returns False when
        the message is not known (yet): the host keeps the report and applies it later."""

    async def get_state(self, key: str, default: Any = None) -> Any:
        """Read a small JSON value this instance stored (a polling offset, IMAP UIDs)."""

    async def set_state(self, key: str, value: Any) -> None:
        """Durably store a small JSON value for this instance."""

    async def delete_state(self, key: str) -> None:
        """Forget a value stored with :meth:`set_state`."""

    async def has_message(self, external_id: str) -> bool:
        """Whether a message with this provider id is already stored for this instance (to skip
        slow work, such as a media download, when a payload is replayed)."""

    async def setdefault_state(self, key: str, value: Any) -> Any:
        """Store ``value`` unless ``key`` already has one; return the stored value. Atomic
        across processes, so every process agrees on, say, a generated webhook secret."""

    async def store_raw(self, payload: bytes, headers: Mapping[str, str] | None = None) -> int:
        """Durably store a raw webhook payload and return its id; the host then calls
        :meth:`Channel.process_raw` with it in the background. Use it to acknowledge a provider
        as soon as the payload is safe, before slow work such as media downloads. A payload
        whose processing raises is kept with its error; operators list and replay it through
        ``/api/v1/inbound-events``."""

    def report_error(self, message: str | None) -> None:
        """Show a problem (or None to clear it) in the channel's status, ``/readyz`` and
        ``GET /api/v1/channels``, without stopping the channel."""


class Channel:
    """Base class of a channel type. Subclass it, set ``type_name`` and ``Config``, and
    register the class with the ``nexus_register_channel_types`` hook.

    Each instance has ``name`` (the configured instance name), ``config`` (its validated
    ``Config``) and ``host`` (its :class:`ChannelHost`).
    """

    type_name: ClassVar[str] = ""
    """The channel type, used in config (``type = "telegram"``) and webhook URLs: lower-case
    letters, digits and ``_``."""
    Config: ClassVar[type[ChannelConfig]] = ChannelConfig
    """A :class:`ChannelConfig` subclass: the schema of one instance's settings."""
    description: ClassVar[str] = ""
    """One line saying what the channel connects to, shown to frontends on
    ``GET /api/v1/channels``."""
    env_shortcuts: ClassVar[Mapping[str, str]] = {}
    """Environment variables that fill a setting of the single instance of this type, e.g.
    ``{"TELEGRAM_BOT_TOKEN": "token"}``. When no instance of the type is configured and all the
    required settings are filled this way, the host creates one named after the type."""
    rate_limit: ClassVar[RateLimit] = RateLimit()
    """The default :class:`RateLimit` for sending; operators may override it per instance."""
    send_timeout: ClassVar[float] = 30.0
    """Seconds one :meth:`send` may take before the host counts it as a retryable timeout."""
    capabilities: ClassVar[Capabilities] = Capabilities()
    """What the channel can send (:class:`nexus.types.Capabilities`): the host refuses a reply
    that exceeds them with a 422 before queueing it, and ``GET /api/v1/channels`` shows them to
    frontends. Override it with a property when it depends on the instance's settings."""
    max_webhook_body: ClassVar[int] = 4 * 1024 * 1024
    """The largest webhook body accepted, in bytes. A larger request is refused with 413 (and
    a JSON error) before more than this is read, so no provider, or attacker, can make the
    host buffer more."""

    def __init__(self, name: str, config: ChannelConfig, host: ChannelHost) -> None:
        self.name = name
        self.config = config
        self.host = host

    async def start(self) -> None:
        """Prepare the instance: open clients, check credentials, register webhooks.

        Called once in every process that uses the channel (API processes and workers). Raise to
        mark this instance failed, with the exception's text as the reason; other channels keep
        running.
        """

    async def run(self) -> None:
        """The long-running receiver (a polling loop, an IMAP IDLE session), if the channel has
        one. Override it only if it does.

        The host runs it in exactly one ``nexus serve`` process across the cluster, holding a lock
        in Redis, and cancels it at shutdown. If it raises, the error is reported on the channel
        and the host restarts it with backoff. A process that dies loses the lock, and another
        process takes over.
        """

    async def stop(self) -> None:
        """Release what :meth:`start` opened. Called once at shutdown, after :meth:`run` is
        cancelled."""

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResponse:
        """Answer a request to ``/webhooks/<type_name>/<name>[/<subpath>]``: verify it, convert
        the payload, hand it to :meth:`ChannelHost.receive` or :meth:`ChannelHost.update_status`,
        then acknowledge. The default answers 404."""
        return WebhookResponse.error(404, "no_webhook", f"channel type {self.type_name!r} has no webhook")

    async def process_raw(self, payload: bytes, headers: Mapping[str, str]) -> None:
        """Process a payload stored with :meth:`ChannelHost.store_raw`: convert it and hand
        the results to :meth:`ChannelHost.receive` and :meth:`ChannelHost.update_status`. It may
        run more than once for one payload (a replay, a crash), which deduplication absorbs.
        Raise to mark the payload failed with the exception's text."""
        raise NotImplementedError(f"channel type {self.type_name!r} does not store raw payloads")

    async def send(self, message: OutboundMessage) -> SendResult:
        """Deliver one outbound message and return the provider's id for it.

        Raise :class:`RetryableError` for transient failures and :class:`PermanentError` for the
        rest. Any other exception counts as retryable. Called by the delivery worker, with at
        most one ``send`` in flight per ticket, in the order agents wrote the replies.
        """
        raise PermanentError(f"channel type {self.type_name!r} cannot send messages", code="not_supported")

    # A few helpers that every plugin would otherwise write itself.

    @property
    def logger(self) -> logging.Logger:
        """The instance's logger (``host.logger``), named after the instance."""
        return self.host.logger

    def status_details(self) -> Mapping[str, Any]:
        """Extra, non-secret facts for the channel's status (mode, bot username, ...)."""
        return {}


def channel_type_problem(cls: Any) -> str | None:
    """Why ``cls`` cannot be registered as a channel type, or None if it can."""
    if not isinstance(cls, type) or not issubclass(cls, Channel):
        return f"{cls!r} is not a subclass of nexus.Channel"
    if not cls.type_name or not cls.type_name.replace("_", "a").isalnum() or not cls.type_name.islower():
        return f"{cls.__name__}.type_name must be a lower-case name such as 'telegram', not {cls.type_name!r}"
    if not (isinstance(cls.Config, type) and issubclass(cls.Config, BaseModel)):
        return f"{cls.__name__}.Config must be a pydantic model (subclass nexus.ChannelConfig)"
    return None
