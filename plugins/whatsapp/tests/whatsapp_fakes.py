"""A local stand-in for Meta's Graph API, and webhook payloads in Meta's documented format.

The fake speaks real HTTP (``nexus.testing.FakeProvider``) and checks what Meta checks: the
bearer token on every call, including media downloads, and the shape of message requests.
Payloads are encoded as Meta sends them (compact JSON, ``\\uXXXX`` escapes, escaped ``/``) and
signed over those exact bytes.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping
from typing import Any

from nexus_whatsapp import SIGNATURE_HEADER, sign

from nexus.db import models
from nexus.testing import FakeProvider, RecordedRequest, Reply, RunningNexus, wait_for

VERSION = "v26.0"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550783881"
WABA_ID = "102290129340398"
TOKEN = "EAAtest-access-token"
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
TIMESTAMP = 1767225600  # 2026-01-01T00:00:00Z
MESSAGES_PATH = f"/{VERSION}/{PHONE_NUMBER_ID}/messages"
MEDIA_PATH = f"/{VERSION}/{PHONE_NUMBER_ID}/media"


def settings(graph_url: str, **overrides: Any) -> dict[str, Any]:
    """A WhatsApp channel's settings pointing at the fake."""
    return {
        "type": "whatsapp",
        "phone_number_id": PHONE_NUMBER_ID,
        "access_token": TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "graph_api_base": graph_url,
        "graph_api_version": VERSION,
        **overrides,
    }


def graph_error(
    code: int, title: str, details: str | None = None, *, type_: str = "OAuthException"
) -> dict[str, Any]:
    """A Graph API error body, as Meta answers it."""
    error: dict[str, Any] = {
        "message": f"(#{code}) {title}",
        "type": type_,
        "code": code,
        "fbtrace_id": "AbCdEfGhIjKlMnOp",
    }
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


class FakeGraph:
    """The Graph API calls the channel makes, for one or more business numbers."""

    def __init__(
        self,
        provider: FakeProvider,
        *,
        phone_number_ids: Iterable[str] = (PHONE_NUMBER_ID,),
        token: str = TOKEN,
    ) -> None:
        self.provider = provider
        self.token = token
        self.numbers = set(phone_number_ids)
        self.media: dict[str, tuple[bytes, str]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        #: Message ids to hand out next, before generated ones.
        self.next_wamids: list[str] = []
        self._ids = itertools.count(1)
        provider.route("GET", "/{version}/{object_id}", self._get_object)
        provider.route("GET", "/cdn/{media_id}", self._download)
        provider.route("POST", "/{version}/{number}/messages", self._send)
        provider.route("POST", "/{version}/{number}/media", self._upload)

    @property
    def url(self) -> str:
        return self.provider.url

    # --- Scripting and reading back ----------------------------------------------------

    def add_media(self, data: bytes, mime_type: str) -> tuple[str, str]:
        """Make an inbound file available; returns its media id and base64 SHA-256."""
        media_id = f"{next(self._ids) + 1000000000000000}"
        self.media[media_id] = (data, mime_type)
        return media_id, base64.b64encode(hashlib.sha256(data).digest()).decode()

    def sent(self) -> list[dict[str, Any]]:
        """The message requests Meta accepted, in order."""
        return [r.json() for r in self.provider.requests_to("POST", MESSAGES_PATH, succeeded=True)]

    def fail_sends(
        self,
        code: int,
        title: str,
        details: str | None = None,
        *,
        status: int = 400,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.provider.fail(
            times,
            status=status,
            json=graph_error(code, title, details),
            method="POST",
            path=MESSAGES_PATH,
            headers=headers,
        )

    # --- Handlers ----------------------------------------------------------------------

    def _authorised(self, request: RecordedRequest) -> bool:
        return request.header("authorization") == f"Bearer {self.token}"

    def _refuse(self) -> Reply:
        return Reply(
            401, graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        )

    def _get_object(self, request: RecordedRequest) -> Any:
        if not self._authorised(request):
            return self._refuse()
        object_id = request.params["object_id"]
        if request.params["version"] != VERSION:
            return Reply(400, graph_error(2635, f"Unknown API version {request.params['version']}"))
        if object_id in self.numbers:
            return {
                "display_phone_number": f"+1 555-078-{object_id[-4:]}",
                "verified_name": "Nexus Support",
                "quality_rating": "GREEN",
                "id": object_id,
            }
        if object_id in self.media:
            data, mime = self.media[object_id]
            return {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/cdn/{object_id}?ext=1&hash=abc",
                "mime_type": mime,
                "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
                "file_size": len(data),
                "id": object_id,
            }
        return Reply(
            400,
            graph_error(
                100,
                f"Unsupported get request. Object with ID '{object_id}' does not exist",
                type_="GraphMethodException",
            ),
        )

    def _download(self, request: RecordedRequest) -> Any:
        if not self._authorised(request):
            return Reply(401, body=b"Unauthorized")
        found = self.media.get(request.params["media_id"])
        if found is None:
            return Reply(404, body=b"Not Found")
        data, mime = found
        return Reply(200, body=data, headers={"Content-Type": mime})

    def _send(self, request: RecordedRequest) -> Any:
        if not self._authorised(request):
            return self._refuse()
        if request.params["number"] not in self.numbers:
            return Reply(400, graph_error(100, "Invalid parameter", "phone number id not found"))
        body = request.json()
        kind = body.get("type", "text")
        problem = None
        if body.get("messaging_product") != "whatsapp":
            problem = "messaging_product must be whatsapp"
        elif not (body.get("to") or body.get("recipient")):
            problem = "to is required"
        elif not isinstance(body.get(kind), dict):
            problem = f"{kind} object is required"
        elif "id" in body[kind] and body[kind]["id"] not in self.uploads:
            problem = f"media id {body[kind]['id']} was not uploaded"
        if problem:
            return Reply(400, graph_error(100, "Invalid parameter", problem))
        recipient = body.get("to") or body.get("recipient")
        wamid = (
            self.next_wamids.pop(0)
            if self.next_wamids
            else "wamid." + base64.b64encode(f"nexus-test-{next(self._ids)}".encode()).decode()
        )
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": recipient, "wa_id": recipient}],
            "messages": [{"id": wamid}],
        }

    def _upload(self, request: RecordedRequest) -> Any:
        if not self._authorised(request):
            return self._refuse()
        form = request.form()
        file = form.get("file")
        if (
            form.get("messaging_product") != "whatsapp"
            or not isinstance(file, dict)
            or not form.get("type")
        ):
            return Reply(
                400,
                graph_error(
                    100, "Invalid parameter", "file, type and messaging_product are required"
                ),
            )
        media_id = f"{next(self._ids) + 2000000000000000}"
        self.uploads[media_id] = {**file, "type": form["type"]}
        return {"id": media_id}


# --- Webhook payloads --------------------------------------------------------------------


def encode(payload: Mapping[str, Any]) -> bytes:
    """The bytes Meta posts: compact JSON, ASCII with ``\\uXXXX`` escapes, ``/`` escaped."""
    return (
        json.dumps(payload, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()
    )


def signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(body, secret), "Content-Type": "application/json"}


def delivery(*values: Mapping[str, Any], waba_id: str = WABA_ID) -> dict[str, Any]:
    """One webhook delivery holding ``values`` (one per change)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": waba_id, "changes": [{"value": dict(v), "field": "messages"} for v in values]}
        ],
    }


def value(
    *,
    messages: Iterable[Mapping[str, Any]] = (),
    contacts: Iterable[Mapping[str, Any]] = (),
    statuses: Iterable[Mapping[str, Any]] = (),
    phone_number_id: str = PHONE_NUMBER_ID,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id},
    }
    if contacts:
        result["contacts"] = list(contacts)
    if messages:
        result["messages"] = list(messages)
    if statuses:
        result["statuses"] = list(statuses)
    return result


def contact(wa_id: str, name: str) -> dict[str, Any]:
    return {"profile": {"name": name}, "wa_id": wa_id}


def message(
    wa_id: str,
    wamid: str,
    kind: str,
    body: Any,
    *,
    timestamp: int = TIMESTAMP,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    result: dict[str, Any] = {"from": wa_id, "id": wamid, "timestamp": str(timestamp), "type": kind}
    if body is not None:
        result[kind] = body
    if context is not None:
        result["context"] = dict(context)
    return result


def text_message(wa_id: str, wamid: str, text: str, **kwargs: Any) -> dict[str, Any]:
    return message(wa_id, wamid, "text", {"body": text}, **kwargs)


def inbound(
    wa_id: str, name: str, *messages: Mapping[str, Any], phone_number_id: str = PHONE_NUMBER_ID
) -> dict[str, Any]:
    """A delivery of ``messages`` from one contact."""
    return delivery(
        value(contacts=[contact(wa_id, name)], messages=messages, phone_number_id=phone_number_id)
    )


def status(
    wamid: str,
    state: str,
    recipient: str,
    *,
    timestamp: int = TIMESTAMP,
    errors: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """A status item as sent since per-message pricing (PMP ``pricing``, no ``conversation``)."""
    result: dict[str, Any] = {
        "id": wamid,
        "status": state,
        "timestamp": str(timestamp),
        "recipient_id": recipient,
    }
    if state != "failed":
        result["pricing"] = {
            "billable": False,
            "pricing_model": "PMP",
            "category": "service",
            "type": "free_customer_service",
        }
    if errors:
        result["errors"] = list(errors)
    return result


def statuses(*items: Mapping[str, Any]) -> dict[str, Any]:
    return delivery(value(statuses=items))


#: The text message of Meta's ``messages`` webhook reference ("Incoming messages"), as
#: documented: its ``timestamp`` is 2025-06-08T20:59:43Z, when the user sent it.
META_EXAMPLE_TIMESTAMP = "1749416383"


def meta_example_text() -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": DISPLAY_NUMBER,
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
                            "messages": [
                                {
                                    "from": "16505551234",
                                    "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                                    "timestamp": META_EXAMPLE_TIMESTAMP,
                                    "type": "text",
                                    "text": {"body": "Does it come in another color?"},
                                }
                            ],
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


# --- Driving a running Nexus ------------------------------------------------------------

CHANNEL = "support"


async def post(
    server: RunningNexus,
    payload: Mapping[str, Any] | bytes,
    *,
    channel: str = CHANNEL,
    secret: str = APP_SECRET,
) -> int:
    """Post a signed delivery; returns the HTTP status."""
    body = payload if isinstance(payload, bytes) else encode(payload)
    response = await server.post_webhook(channel, body, headers=signed(body, secret))
    return response.status


async def deliver(
    server: RunningNexus, payload: Mapping[str, Any] | bytes, *, channel: str = CHANNEL
) -> None:
    """Post a signed delivery and wait until Nexus has processed what it stored."""
    status_code = await post(server, payload, channel=channel)
    assert status_code == 200, status_code
    await settled()


async def settled() -> None:
    """Wait until no stored webhook payload is waiting to be processed."""

    async def idle() -> bool:
        return not await models.InboundEvent.filter(status__in=["pending", "processing"]).exists()

    await wait_for(idle, message="stored webhook payloads to be processed")


async def reply(
    server: RunningNexus, ticket_id: int, body: str | None = None, **fields: Any
) -> dict[str, Any]:
    """An agent's reply through the REST API; returns the queued message."""
    payload = {"body": body, **fields} if body is not None else fields
    response = await server.api(
        "POST", f"/tickets/{ticket_id}/messages", await server.admin_token(), payload
    )
    assert response.status == 202, response.body
    return response.body


async def api_messages(server: RunningNexus, ticket_id: int) -> list[dict[str, Any]]:
    """The conversation as agents see it through the REST API."""
    response = await server.api("GET", f"/tickets/{ticket_id}/messages", await server.admin_token())
    assert response.status == 200, response.body
    return response.body["items"]
