"""Nexus's WhatsApp channel, for Meta's WhatsApp Cloud API.

Install the distribution and configure ``[channels.<name>]`` with ``type = "whatsapp"``; see
the README for the settings and for registering the webhook in Meta's app dashboard.
"""

from __future__ import annotations

from collections.abc import Callable

import nexus
from nexus_whatsapp.channel import WhatsAppChannel
from nexus_whatsapp.config import WhatsAppConfig
from nexus_whatsapp.identity import canonical_wa_id
from nexus_whatsapp.signature import SIGNATURE_HEADER, sign

__all__ = ["SIGNATURE_HEADER", "WhatsAppChannel", "WhatsAppConfig", "canonical_wa_id", "sign"]


@nexus.hookimpl
def nexus_register_channel_types(register: Callable[[type[nexus.Channel]], None]) -> None:
    register(WhatsAppChannel)
