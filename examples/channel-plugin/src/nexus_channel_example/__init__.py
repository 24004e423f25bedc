"""An example Nexus channel plugin for "Example Chat", a small JSON chat API.

The whole plugin is this module: a settings schema, a :class:`nexus.Channel` subclass that
converts between the provider's JSON and Nexus's normalised types, and the hook that
registers it.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

import nexus
from nexus import (
    AttachmentLimits,
    Capabilities,
    Channel,
    ChannelConfig,
    DeliveryStatus,
    Identity,
    InboundAttachment,
    InboundEdit,
    InboundMessage,
    InboundReaction,
    OutboundMessage,
    RateLimit,
    SendResult,
    StatusUpdate,
    WebhookRequest,
    WebhookResponse,
)
from nexus.http import HttpClient, hmac_signature, signatures_match

SIGNATURE_HEADER = "X-Example-Signature"


class ExampleConfig(ChannelConfig):
    api_url: str
    """Base URL of the provider's API."""
    token: SecretStr
    """Bearer token for sending."""
    secret: SecretStr
    """Shared secret that signs webhooks."""
    timeout: float = 10.0


def sign(body: bytes, secret: str) -> str:
    """The signature the provider sends: ``sha256=`` and the hex HMAC of the exact body."""
    return "sha256=" + hmac_signature(secret, body)


def _when(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value is not None else None


def _identity(sender: dict[str, Any]) -> Identity:
    return Identity(address=str(sender["id"]), display_name=sender.get("name"))


class ExampleChannel(Channel):
    """A channel instance talking to one Example Chat account."""

    type_name = "example"
    Config = ExampleConfig
    description = "Example Chat (a sample JSON chat API)"
    rate_limit = RateLimit(per_second=50, per_recipient_per_second=5)
    send_timeout = 15.0
    # Example Chat takes messages of up to 10,000 characters with up to ten files of 25 MB.
    capabilities = Capabilities(
        max_text_length=10_000, attachments=AttachmentLimits(max_count=10, max_size=25 * 1024 * 1024)
    )
    config: ExampleConfig

    async def start(self) -> None:
        self.api = await HttpClient(
            self.config.api_url, bearer=self.config.token.get_secret_value(), timeout=self.config.timeout
        ).open()

    async def stop(self) -> None:
        await self.api.close()

    # --- Inbound -----------------------------------------------------------------------

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResponse:
        if request.method != "POST":
            return WebhookResponse.error(405, "method_not_allowed", "POST events here")
        expected = sign(request.body, self.config.secret.get_secret_value())
        if not signatures_match(request.header(SIGNATURE_HEADER), expected):
            return WebhookResponse.error(401, "bad_signature", f"missing or wrong {SIGNATURE_HEADER}")
        try:
            events = json.loads(request.body)["events"]
            if not isinstance(events, list):
                raise TypeError("events must be a list")
        except (ValueError, KeyError, TypeError) as exc:
            return WebhookResponse.error(400, "bad_payload", f"expected {{'events': [...]}}: {exc}")
        stored = 0
        for event in events:
            converted = self.convert(event)
            if converted is None:
                self.logger.info("ignoring event of type %r", event.get("type"))
            elif isinstance(converted, StatusUpdate):
                await self.host.update_status(converted)
            else:
                # receive() returns only once the event is committed: acknowledge after it.
                receipt = await self.host.receive(converted)
                stored += receipt.stored
        return WebhookResponse.ok({"ok": True, "stored": stored})

    def convert(self, event: dict[str, Any]) -> InboundMessage | InboundEdit | InboundReaction | StatusUpdate | None:
        """One provider event in Nexus's normalised types."""
        kind = event.get("type")
        if kind == "message":
            return InboundMessage(
                external_id=str(event["id"]),
                sender=_identity(event["from"]),
                text=event.get("text"),
                reply_to=event.get("reply_to"),
                sent_at=_when(event.get("timestamp")),
                attachments=[
                    InboundAttachment(
                        filename=item["filename"],
                        content_type=item.get("content_type", "application/octet-stream"),
                        data=base64.b64decode(item["data"]),
                    )
                    for item in event.get("attachments", [])
                ],
                metadata={"example": {"conversation": event.get("conversation")}} if event.get("conversation") else {},
            )
        if kind == "edit":
            return InboundEdit(external_id=str(event["id"]), text=event.get("text"), edited_at=_when(event.get("timestamp")))
        if kind == "reaction":
            return InboundReaction(
                target_external_id=str(event["message_id"]), sender=_identity(event["from"]),
                emoji=event.get("emoji") or None, reacted_at=_when(event.get("timestamp")),
            )
        if kind == "status":
            return StatusUpdate(
                external_id=str(event["message_id"]), status=DeliveryStatus(event["status"]),
                at=_when(event.get("timestamp")), error_code=event.get("error_code"), error_text=event.get("error"),
            )
        return None

    # --- Outbound ----------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        payload = {
            "to": message.recipient.address,
            "text": message.text,
            "reply_to": message.reply_to,
            "client_ref": str(message.message_id),
            "attachments": [
                {"filename": a.filename, "content_type": a.content_type, "data": base64.b64encode(a.data).decode()}
                for a in message.attachments
            ],
        }
        # A 429 or 5xx is retried (after Retry-After), any other 4xx fails the reply with the
        # provider's "error", and network errors are retried.
        answer = await self.api.call("POST", "messages", json=payload)
        return SendResult(external_id=str(answer["id"]))


@nexus.hookimpl
def nexus_register_channel_types(register):
    register(ExampleChannel)
