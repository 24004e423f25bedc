"""The settings of one WhatsApp channel instance (one business phone number)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, SecretStr, field_validator

from nexus import ChannelConfig

#: The Graph API version used unless ``graph_api_version`` says otherwise.
DEFAULT_GRAPH_API_VERSION = "v26.0"
VERSION_PATTERN = re.compile(r"^v\d+\.\d+$")


class WhatsAppConfig(ChannelConfig):
    """``[channels.<name>]`` with ``type = "whatsapp"``."""

    phone_number_id: str = Field(min_length=1, max_length=64)
    """The business phone number's id in Meta's app dashboard (not the phone number itself)."""
    access_token: SecretStr
    """A system-user access token with ``whatsapp_business_messaging`` permission."""
    app_secret: SecretStr
    """The Meta app's secret: it signs every webhook (``X-Hub-Signature-256``)."""
    verify_token: SecretStr
    """Any string you choose; Meta echoes it when you register the webhook."""
    graph_api_base: str = "https://graph.facebook.com"
    graph_api_version: str = DEFAULT_GRAPH_API_VERSION
    request_timeout: float = Field(20.0, gt=0, le=120)
    """Seconds one Graph API call (send, media lookup) may take."""
    media_timeout: float = Field(60.0, gt=0, le=600)
    """Seconds one media upload or download may take."""
    preview_url: bool = True
    """Ask WhatsApp to render a preview of the first link in a text reply."""

    @field_validator("phone_number_id", mode="before")
    @classmethod
    def _phone_number_id(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            value = value.strip()
            if not value.isdigit():
                raise ValueError("must be the numeric phone number id from Meta's app dashboard")
        return value

    @field_validator("graph_api_base")
    @classmethod
    def _base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://graph.facebook.com")
        return value

    @field_validator("graph_api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        value = value.strip()
        if not VERSION_PATTERN.match(value):
            raise ValueError(f"must look like {DEFAULT_GRAPH_API_VERSION!r}")
        return value
