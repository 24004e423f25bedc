"""The settings of one web-chat channel instance (one widget)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from limits import parse
from pydantic import Field, SecretStr, field_validator

from nexus import ChannelConfig

#: The largest upload any web-chat channel accepts; ``max_upload_size`` may only lower it.
UPLOAD_CEILING = 25 * 1024 * 1024
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class WebchatConfig(ChannelConfig):
    """``[channels.<name>]`` with ``type = "webchat"``."""

    allowed_origins: list[str] = Field(default_factory=list)
    """Websites that may embed the widget, as origins (``https://shop.example.com``); ``*`` for
    any. Nexus's own pages (the demo page) are always allowed. Others are refused."""
    title: str = Field("Chat with us", min_length=1, max_length=80)
    greeting: str = Field("Hi! Ask us anything, we usually answer within minutes.", max_length=500)
    """The first bubble a visitor sees; shown by the widget, never stored as a message."""
    color: str = "#1d4ed8"
    """The widget's accent colour (``#rrggbb``)."""
    rate_limit: str = "20/minute"
    """Messages and uploads one visitor may send, counted across all API processes."""
    session_rate_limit: str = "30/hour"
    """New visitors one network address may start."""
    max_upload_size: int = Field(10 * 1024 * 1024, gt=0, le=UPLOAD_CEILING)
    """The largest file a visitor may send, in bytes (at most 25 MB)."""
    identity_secret: SecretStr | None = None
    """Turns on identity verification: your site sends the logged-in user's id with
    ``user_hash`` = hex HMAC-SHA256 of the id under this secret; such a visitor is the same
    contact on every device, with the name and email your site gives."""
    public_key: str | None = Field(None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    """The key in the embed code. Generated once and kept when unset."""
    forward_url: str | None = None
    """Optional: every reply to a visitor is also POSTed here as JSON (signed with
    ``forward_secret``), for instance to email visitors who left. Errors there are retried."""
    forward_secret: SecretStr | None = None
    forward_timeout: float = Field(10.0, gt=0, le=60)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        cleaned = []
        for value in values:
            value = value.strip().rstrip("/")
            if value != "*":
                parts = urlsplit(value)
                if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
                    raise ValueError(f"{value!r} is not an origin such as 'https://shop.example.com'")
            cleaned.append(value.lower())
        return cleaned

    @field_validator("color")
    @classmethod
    def _color(cls, value: str) -> str:
        if not COLOR.match(value):
            raise ValueError("must be a colour such as '#1d4ed8'")
        return value

    @field_validator("rate_limit", "session_rate_limit")
    @classmethod
    def _limit(cls, value: str) -> str:
        try:
            parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate such as '20/minute' or '5 per second'") from None
        return value

    @field_validator("forward_url")
    @classmethod
    def _forward(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        return value
