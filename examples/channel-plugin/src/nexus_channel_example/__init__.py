"""An example Nexus channel plugin for "Example Chat", a small JSON chat API.

The whole plugin is this module: a settings schema, a :class:`nexus.Channel` subclass that
converts between the provider's JSON and Nexus's normalised types, and the hook that
registers it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import aiohttp
from pydantic import SecretStr

import nexus
from nexus import (
    Channel,
    ChannelConfig,
    DeliveryStatus,
    Identity,
    InboundAttachment,
    InboundEdit,
    InboundMessage,
    InboundReaction,
    OutboundMessage,
    PermanentError,
    RateLimit,
    RetryableError,
    SendResult,
    StatusUpdate,
    WebhookRequest,
    WebhookResponse,
)

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
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


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
    config: ExampleConfig

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(
            base_url=self.config.api_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {self.config.token.get_secret_value()}"},
            timeout=aiohttp.ClientTimeout(total=self.config.timeout),
        )

    async def stop(self) -> None:
        await self.session.close()

    # --- Inbound -----------------------------------------------------------------------

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResponse:
        if request.method != "POST":
            return WebhookResponse.error(405, "method_not_allowed", "POST events here")
        expected = sign(request.body, self.config.secret.get_secret_value())
        given = request.header(SIGNATURE_HEADER) or ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
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
        try:
            async with self.session.post("messages", json=payload) as response:
                body = await response.json(content_type=None) if response.content_length != 0 else {}
                if response.status == 429 or response.status >= 500:
                    retry_after = response.headers.get("Retry-After")
                    raise RetryableError(
                        f"provider answered {response.status}: {(body or {}).get('error', response.reason)}",
                        code=str(response.status),
                        retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
                    )
                if response.status >= 400:
                    raise PermanentError((body or {}).get("error") or f"provider answered {response.status}",
                                         code=(body or {}).get("code") or str(response.status))
                return SendResult(external_id=str(body["id"]))
        except aiohttp.ClientError as exc:
            raise RetryableError(f"network error: {exc}", code="network") from exc


@nexus.hookimpl
def nexus_register_channel_types(register):
    register(ExampleChannel)
