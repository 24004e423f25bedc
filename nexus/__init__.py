"""Nexus: an omnichannel customer-support backend.

This package's top level is the plugin contract and nothing else, so that importing it from a
plugin is cheap and pulls in none of the host::

    from nexus import Channel, ChannelConfig, hookimpl, InboundMessage
"""

from importlib.metadata import PackageNotFoundError, version

import pluggy

from nexus.channel import (
    Channel,
    ChannelConfig,
    ChannelError,
    ChannelHost,
    Params,
    PermanentError,
    RateLimit,
    RetryableError,
    WebhookRequest,
    WebhookResponse,
)
from nexus.types import (
    AttachmentLimits,
    Capabilities,
    DeliveryStatus,
    Identity,
    InboundAttachment,
    InboundEdit,
    InboundMessage,
    InboundReaction,
    OutboundAttachment,
    OutboundMessage,
    Receipt,
    SendResult,
    StatusUpdate,
)

#: Marks a function as a Nexus hook implementation.
hookimpl = pluggy.HookimplMarker("nexus")

try:
    __version__ = version("nexus-helpdesk")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0"

__all__ = [
    "AttachmentLimits",
    "Capabilities",
    "Channel",
    "ChannelConfig",
    "ChannelError",
    "ChannelHost",
    "DeliveryStatus",
    "Identity",
    "InboundAttachment",
    "InboundEdit",
    "InboundMessage",
    "InboundReaction",
    "OutboundAttachment",
    "OutboundMessage",
    "Params",
    "PermanentError",
    "RateLimit",
    "Receipt",
    "RetryableError",
    "SendResult",
    "StatusUpdate",
    "WebhookRequest",
    "WebhookResponse",
    "__version__",
    "hookimpl",
]
