"""The WhatsApp channel: one instance per business phone number on Meta's Cloud API."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from nexus import (
    Channel,
    ChannelHost,
    InboundMessage,
    OutboundMessage,
    RateLimit,
    SendResult,
    WebhookRequest,
    WebhookResponse,
)
from nexus.http import NETWORK_ERRORS, describe_exception, network_error
from nexus_whatsapp.config import WhatsAppConfig
from nexus_whatsapp.errors import GraphAPIError, Outcome, to_channel_error
from nexus_whatsapp.graph import GraphClient
from nexus_whatsapp.inbound import Incoming, parse_payload, read_json
from nexus_whatsapp.media import fetch_attachment
from nexus_whatsapp.outbound import CAPABILITIES, Part, build_parts, recipient_fields
from nexus_whatsapp.routing import Directory, encode, readable_parts
from nexus_whatsapp.signature import SIGNATURE_HEADER, signature_valid, subscription_challenge


class WhatsAppChannel(Channel):
    """One WhatsApp business phone number.

    Webhooks are verified, stored raw and acknowledged at once; :meth:`process_raw` then turns
    them into messages, reactions and statuses, downloading media on the way.
    """

    type_name = "whatsapp"
    Config = WhatsAppConfig
    description = "WhatsApp Business (Meta's Cloud API)"
    env_shortcuts = {"WHATSAPP_API_KEY": "access_token"}
    # Cloud API takes 80 messages a second per number by default. Meta's pair limit averages
    # one message per six seconds to one user but allows bursts, so one a second per contact
    # keeps an agent's quick replies flowing; a 131056 is retried.
    rate_limit = RateLimit(per_second=80, per_recipient_per_second=1.0)
    send_timeout = 180.0
    capabilities = CAPABILITIES
    config: WhatsAppConfig

    #: The running instances of this process, for routing deliveries by phone number.
    directory: ClassVar[Directory] = Directory()

    def __init__(self, name: str, config: WhatsAppConfig, host: ChannelHost) -> None:
        super().__init__(name, config, host)
        self.graph = GraphClient(
            base_url=config.graph_api_base,
            version=config.graph_api_version,
            phone_number_id=config.phone_number_id,
            access_token=config.access_token.get_secret_value(),
            request_timeout=config.request_timeout,
            media_timeout=config.media_timeout,
        )
        self._phone: Mapping[str, Any] = {}
        self._problem = False

    # --- Lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self.directory.add(self)
        await self.graph.open()
        try:
            self._phone = await self.graph.phone_number()
        except GraphAPIError as exc:
            if exc.outcome in (Outcome.AUTH, Outcome.PERMANENT):
                await self.stop()
                raise RuntimeError(
                    f"Meta refused phone number id {self.config.phone_number_id}: {exc}"
                ) from exc
            self._report(
                f"could not check phone number id {self.config.phone_number_id} with Meta: {exc}"
            )
        except NETWORK_ERRORS as exc:
            self._report(
                f"could not reach the Graph API at {self.graph.root}: {describe_exception(exc)}"
            )

    async def stop(self) -> None:
        self.directory.remove(self)
        await self.graph.close()

    def status_details(self) -> Mapping[str, Any]:
        details: dict[str, Any] = {
            "phone_number_id": self.config.phone_number_id,
            "graph_api_version": self.config.graph_api_version,
        }
        for key in ("display_phone_number", "verified_name", "quality_rating"):
            if self._phone.get(key):
                details[key] = self._phone[key]
        return details

    # --- Webhooks ----------------------------------------------------------------------

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResponse:
        if request.method == "GET":
            challenge = subscription_challenge(
                request.query, self.config.verify_token.get_secret_value()
            )
            if challenge is None:
                return WebhookResponse.error(
                    403,
                    "verification_failed",
                    "hub.mode must be 'subscribe' and hub.verify_token the channel's verify_token",
                )
            return WebhookResponse(200, challenge, content_type="text/plain; charset=utf-8")
        if request.method != "POST":
            return WebhookResponse.error(
                405, "method_not_allowed", "Meta verifies with GET and delivers with POST"
            )
        if not signature_valid(
            request.body,
            request.header(SIGNATURE_HEADER),
            self.config.app_secret.get_secret_value(),
        ):
            return WebhookResponse.error(
                401, "bad_signature", f"missing or wrong {SIGNATURE_HEADER}"
            )
        await self._store(request)
        return WebhookResponse.ok({"ok": True})

    async def _store(self, request: WebhookRequest) -> None:
        """Store the delivery for processing after the 200: this number's changes here, other
        numbers' changes with the instance that serves them."""
        parts = readable_parts(request.body)
        own = self.config.phone_number_id
        if not parts or any(number in (own, None) for number in parts):
            # Unreadable payloads are stored too, byte for byte: processing fails and keeps
            # them, with the reason, for operators.
            await self.host.store_raw(request.body, request.headers)
        for number, part in parts.items():
            if number in (own, None):
                continue
            sibling = self.directory.sibling(self, number)
            if sibling is None:
                self.logger.warning(
                    "ignored changes for phone_number_id %s: no WhatsApp channel of this Meta app "
                    "serves that number",
                    number,
                )
                continue
            await sibling.host.store_raw(encode(part), request.headers)

    async def process_raw(self, payload: bytes, headers: Mapping[str, str]) -> None:
        batch = parse_payload(read_json(payload), self.config.phone_number_id)
        for problem in batch.errors:
            self.logger.warning(
                "Meta reported a problem with phone number id %s: %s",
                self.config.phone_number_id,
                problem,
            )
        for event in batch.events:
            await self.host.receive(
                await self._with_media(event) if isinstance(event, Incoming) else event
            )
        for status in batch.statuses:
            await self.host.update_status(status)

    async def _with_media(self, incoming: Incoming) -> InboundMessage:
        if incoming.media is None:
            return incoming.message
        attachment = await fetch_attachment(self.graph, incoming.media)
        return dataclasses.replace(incoming.message, attachments=[attachment])

    # --- Sending -----------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        parts = build_parts(message, preview_url=self.config.preview_url)
        # A reply of several WhatsApp messages remembers which went out, so a retry after a
        # failure part-way sends only the rest.
        key = f"sent-parts:{message.message_id}"
        multipart = len(parts) > 1
        sent: dict[str, str] = dict(await self.host.get_state(key) or {}) if multipart else {}
        resumed = bool(sent)
        try:
            for index, part in enumerate(parts):
                if str(index) not in sent:
                    sent[str(index)] = await self._send_part(message, part, first=index == 0)
        except GraphAPIError as exc:
            await self._keep_progress(key, sent)
            if exc.outcome is Outcome.AUTH:
                self._report(f"Meta refused the access token or its permissions: {exc}")
            raise to_channel_error(exc, note=_progress_note(sent, parts)) from exc
        except NETWORK_ERRORS as exc:
            await self._keep_progress(key, sent)
            raise network_error(exc, "the Graph API") from exc
        except asyncio.CancelledError:
            await self._keep_progress(key, sent)
            raise
        if resumed:
            await self.host.set_state(key, None)
        self._clear()
        ids = [sent[str(index)] for index in range(len(parts))]
        return SendResult(external_id=ids[0], metadata={"message_ids": ids} if multipart else {})

    async def _send_part(self, message: OutboundMessage, part: Part, *, first: bool) -> str:
        body = dict(part.body)
        if part.upload is not None:
            upload = part.upload
            body = part.with_media_id(
                await self.graph.upload_media(upload.data, upload.filename, upload.content_type)
            )
        request: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            **recipient_fields(message.recipient.address),
            **body,
        }
        if first and message.reply_to:
            request["context"] = {"message_id": message.reply_to}
        return await self.graph.send_message(request)

    async def _keep_progress(self, key: str, sent: Mapping[str, str]) -> None:
        if sent:
            await self.host.set_state(key, dict(sent))

    # --- Channel health ----------------------------------------------------------------

    def _report(self, problem: str) -> None:
        self._problem = True
        self.host.report_error(problem)

    def _clear(self) -> None:
        if self._problem:
            self._problem = False
            self.host.report_error(None)


def _progress_note(sent: Mapping[str, str], parts: list[Part]) -> str:
    if not sent or len(sent) == len(parts):
        return ""
    return (
        f"{len(sent)} of {len(parts)} WhatsApp messages of this reply went out; "
        "a retry sends only the rest"
    )
