"""Nexus's web-chat channel: a chat widget for the operator's own website, served by Nexus.

Configure ``[channels.<name>]`` with ``type = "webchat"`` and paste the embed code that
``GET /api/v1/channels`` shows into the website; see the README. ``nexus serve --demo`` runs one
named ``demo`` with no configuration at all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import nexus
from nexus.endpoints import Namespace, StaticFiles
from nexus.hookspecs import DemoChannel, NexusAPI
from nexus.types import MessageView
from nexus_webchat.channel import NAMESPACE, WebchatChannel
from nexus_webchat.config import WebchatConfig
from nexus_webchat.payloads import widget_message
from nexus_webchat.tokens import Visitor, identity_hash
from nexus_webchat.visitors import VisitorEvents
from nexus_webchat.web import routes

__all__ = ["WebchatChannel", "WebchatConfig", "identity_hash"]

STATIC = Path(__file__).resolve().parent / "static"


@nexus.hookimpl
def nexus_register_channel_types(register: Callable[[type[nexus.Channel]], None]) -> None:
    register(WebchatChannel)


@nexus.hookimpl
def nexus_register_web(register: Callable[[Any], None]) -> None:
    register(StaticFiles("/webchat/static", STATIC, max_age=300, cors=True))
    for route in routes():
        register(route)
    register(Namespace(NAMESPACE, VisitorEvents()))


@nexus.hookimpl
def nexus_register_demo_channels(register: Callable[[DemoChannel], None]) -> None:
    register(DemoChannel(
        "webchat",
        settings={"title": "Nexus demo", "greeting": "Hi! This is the Nexus demo. Write anything: an agent "
                                                     "answers from the console."},
        pages={"demo chat page": "/webchat/{channel}/demo"},
        description="a web-chat widget on a demo page, served by Nexus: no provider account needed",
    ))


@nexus.hookimpl
async def nexus_message_sent(nexus: NexusAPI, message: MessageView) -> None:
    """A reply to a visitor is pushed to their open widgets as soon as it counts as sent."""
    provider = (message.metadata or {}).get("provider") or {}
    visitor = (provider.get("webchat") or {}).get("visitor") if isinstance(provider, dict) else None
    if not visitor or message.private:
        return
    payload = widget_message(message) | {"status": "sent"}
    await nexus.emit(NAMESPACE, "message", payload, room=Visitor(message.channel, visitor).room)
