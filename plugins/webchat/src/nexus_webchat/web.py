"""The widget's HTTP API and the demo page, registered through ``nexus_register_web``.

Every answer carries CORS headers for the calling origin when the channel allows it; a page
on any other origin is refused with 403. Visitors authenticate with ``Authorization: Visitor
<token>``, a token from ``POST /webchat/api/session``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

from nexus import Identity, InboundAttachment, InboundMessage, WebhookResponse
from nexus.endpoints import HttpRequest, Route, WebContext
from nexus_webchat import tokens
from nexus_webchat.channel import NAMESPACE, WebchatChannel
from nexus_webchat.config import UPLOAD_CEILING
from nexus_webchat.payloads import visible, widget_message

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TEXT = 5000


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _cors(request: HttpRequest, channel: WebchatChannel | None, web: WebContext) -> dict[str, str]:
    origin = request.header("origin")
    if not origin:
        return {}
    channels = [channel] if channel is not None else web.channels()
    if any(c.origin_allowed(origin, request.header("host")) for c in channels):
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}


def answer(request: HttpRequest, web: WebContext, channel: WebchatChannel | None, status: int, body: Any,
           headers: Mapping[str, str] | None = None) -> WebhookResponse:
    return WebhookResponse(status, body, {**_cors(request, channel, web), **(headers or {})})


def handler(func):  # noqa: ANN001, ANN201 - wraps a route's handler
    """Turn :class:`Refused` into the host's JSON error shape, with CORS headers."""

    async def wrapped(request: HttpRequest, web: WebContext) -> WebhookResponse:
        try:
            return await func(request, web)
        except Refused as refused:
            channel = web.channel(request.params.get("channel", ""))
            return answer(request, web, channel if isinstance(channel, WebchatChannel) else None, refused.status,
                          {"error": {"code": refused.code, "message": refused.message, "details": []}})

    return wrapped


def _checked_origin(request: HttpRequest, channel: WebchatChannel) -> None:
    if not channel.origin_allowed(request.header("origin"), request.header("host")):
        raise Refused(403, "origin_not_allowed", f"this widget may not be used on {request.header('origin')}")


def _channel(web: WebContext, name: str) -> WebchatChannel:
    channel = web.channel(name)
    if not isinstance(channel, WebchatChannel):
        raise Refused(404, "unknown_channel", f"there is no web-chat channel named {name!r}")
    return channel


def _visitor(request: HttpRequest, web: WebContext) -> tuple[WebchatChannel, tokens.Visitor]:
    channel = _channel(web, request.params["channel"])
    _checked_origin(request, channel)
    visitor = channel.visitor_of(tokens.from_header(request.header("authorization")))
    if visitor is None:
        raise Refused(401, "invalid_visitor_token", "send 'Authorization: Visitor <token>' from POST /webchat/api/session")
    return channel, visitor


def _json_object(request: HttpRequest) -> dict[str, Any]:
    try:
        data = request.json()
    except ValueError:
        raise Refused(400, "invalid_json", "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "invalid_body", "the request body must be a JSON object")
    return data


def _string(data: Mapping[str, Any], key: str, *, limit: int, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise Refused(422, "invalid_request", f"{key}: must be a text of at most {limit} characters")
    return value


async def _limit(web: WebContext, channel: WebchatChannel, key: str, limit: str) -> None:
    if not await web.allow(f"{channel.name}:{key}", limit):
        raise Refused(429, "rate_limited", f"too many requests; the limit is {limit}")


# --- Session -------------------------------------------------------------------------------


@handler
async def start_session(request: HttpRequest, web: WebContext) -> WebhookResponse:
    """``{key, token?, user?: {id, hash, name?, email?}}`` → the visitor's token and the widget's
    settings. A valid token resumes its visitor; ``user`` identifies a logged-in user."""
    data = _json_object(request)
    key = data.get("key")
    channel = next((c for c in web.channels() if isinstance(c, WebchatChannel) and c.public_key == key), None)
    if channel is None:
        raise Refused(404, "unknown_key", "no web-chat channel has this key")
    _checked_origin(request, channel)
    visitor = channel.visitor_of(data.get("token") if isinstance(data.get("token"), str) else None)
    user = data.get("user")
    if user is not None:
        visitor = await _identify(channel, user)
    elif visitor is None or visitor.verified:
        # A verified visitor resumes only with their site's proof, never with the token alone.
        await _limit(web, channel, f"session:{request.remote_addr}", channel.config.session_rate_limit)
        visitor = tokens.Visitor(channel.name, tokens.new_anonymous_id())
    config = channel.config
    return answer(request, web, channel, 200, {
        "token": channel.token_for(visitor), "visitor": visitor.id, "verified": visitor.verified,
        "channel": channel.name, "title": config.title, "greeting": config.greeting, "color": config.color,
        "max_upload_size": config.max_upload_size, "namespace": NAMESPACE,
    })


async def _identify(channel: WebchatChannel, user: Any) -> tokens.Visitor:
    secret = channel.config.identity_secret
    if secret is None:
        raise Refused(422, "identity_not_configured", "user: this channel has no identity_secret")
    if not isinstance(user, dict):
        raise Refused(422, "invalid_request", "user: must be an object with id and hash")
    user_id = _string(user, "id", limit=200, required=True)
    claimed = _string(user, "hash", limit=128, required=True)
    assert user_id is not None and claimed is not None
    if not tokens.identity_matches(secret.get_secret_value(), user_id, claimed):
        raise Refused(401, "identity_not_verified", "user.hash is not the HMAC of user.id under the channel's secret")
    visitor = tokens.Visitor(channel.name, tokens.verified_id(user_id))
    profile = {"user_id": user_id, "verified": True}
    for field in ("name", "email"):
        value = _string(user, field, limit=320)
        if value:
            profile[field] = value.strip()
    await channel.host.set_state(f"visitor:{visitor.id}", profile)
    return visitor


async def _sender(channel: WebchatChannel, visitor: tokens.Visitor) -> Identity:
    profile = await channel.host.get_state(f"visitor:{visitor.id}", {}) if visitor.verified else {}
    name = profile.get("name") or f"Visitor {visitor.id[2:6].upper()}"
    # A verified user's email fills the contact's email (while it has none), so canned
    # responses and agents see it; an anonymous visitor's claims are not trusted.
    return Identity(address=visitor.id, display_name=name, profile=profile, email=profile.get("email"))


# --- Conversation --------------------------------------------------------------------------


@handler
async def history(request: HttpRequest, web: WebContext) -> WebhookResponse:
    """The visitor's conversation, oldest first; ``before`` (a message id) pages back."""
    channel, visitor = _visitor(request, web)
    before = request.query.get("before")
    if before is not None and not before.isdigit():
        raise Refused(422, "invalid_request", "before: must be a message id")
    messages = await web.nexus.conversation(channel.name, visitor.id, limit=50, before_id=int(before) if before else None)
    return answer(request, web, channel, 200, {"items": [widget_message(m) for m in messages if visible(m)]})


@handler
async def post_message(request: HttpRequest, web: WebContext) -> WebhookResponse:
    """``{text, client_id, page?}``: the visitor writes. ``client_id`` makes a retry safe."""
    channel, visitor = _visitor(request, web)
    data = _json_object(request)
    text = _string(data, "text", limit=MAX_TEXT, required=True)
    client_id = _client_id(data.get("client_id"))
    page = _string(data, "page", limit=2000)
    await _limit(web, channel, f"visitor:{visitor.id}", channel.config.rate_limit)
    inbound = InboundMessage(
        external_id=f"in:{visitor.id}:{client_id}", sender=await _sender(channel, visitor), text=text,
        metadata={"page": page} if page else {},
    )
    return await _received(request, web, channel, visitor, inbound)


@handler
async def upload(request: HttpRequest, web: WebContext) -> WebhookResponse:
    """The file is the raw body; ``?name=`` its file name and ``?client_id=`` the retry key."""
    channel, visitor = _visitor(request, web)
    name = (request.query.get("name") or "").strip()[:255]
    if not name:
        raise Refused(422, "invalid_request", "name: the file's name is required")
    client_id = _client_id(request.query.get("client_id"))
    if not request.body:
        raise Refused(422, "invalid_request", "the file is empty")
    if len(request.body) > channel.config.max_upload_size:
        raise Refused(413, "file_too_large", f"files may be at most {channel.config.max_upload_size} bytes")
    await _limit(web, channel, f"visitor:{visitor.id}", channel.config.rate_limit)
    content_type = (request.header("content-type") or "application/octet-stream").split(";")[0].strip()[:255]
    inbound = InboundMessage(
        external_id=f"in:{visitor.id}:{client_id}", sender=await _sender(channel, visitor),
        attachments=[InboundAttachment(filename=name, content_type=content_type, data=request.body)],
    )
    return await _received(request, web, channel, visitor, inbound)


def _client_id(value: Any) -> str:
    if not isinstance(value, str) or not CLIENT_ID.match(value):
        raise Refused(422, "invalid_request", "client_id: 1 to 64 letters, digits, '-' or '_'")
    return value


async def _received(request: HttpRequest, web: WebContext, channel: WebchatChannel, visitor: tokens.Visitor,
                    inbound: InboundMessage) -> WebhookResponse:
    receipt = await channel.host.receive(inbound)
    if receipt.message_id is None:
        raise Refused(409, "not_stored", "the message could not be stored")
    (stored,) = [m for m in await web.nexus.conversation(channel.name, visitor.id, limit=1, before_id=receipt.message_id + 1)
                 if m.id == receipt.message_id] or [None]
    if stored is None:
        raise Refused(409, "not_stored", "the message could not be stored")
    payload = widget_message(stored)
    if receipt.stored:  # the visitor's other tabs show it too
        await web.nexus.emit(NAMESPACE, "message", payload, room=visitor.room)
    return answer(request, web, channel, 201 if receipt.stored else 200, payload)


@handler
async def download(request: HttpRequest, web: WebContext) -> WebhookResponse:
    """A file of the visitor's own conversation."""
    channel, visitor = _visitor(request, web)
    attachment_id = request.params["attachment_id"]
    found = await web.nexus.read_attachment(int(attachment_id)) if attachment_id.isdigit() else None
    if found is None or not await _in_conversation(web, channel, visitor, found[0].id):
        raise Refused(404, "not_found", "there is no such file in your conversation")
    view, data = found
    disposition = "inline" if view.content_type.startswith("image/") else "attachment"
    quoted = json.dumps(view.filename.encode("ascii", "replace").decode())
    return answer(request, web, channel, 200, data, {
        "Content-Disposition": f"{disposition}; filename={quoted}",
        "Content-Type": view.content_type or "application/octet-stream",
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox", "Cache-Control": "private, max-age=3600",
    })


async def _in_conversation(web: WebContext, channel: WebchatChannel, visitor: tokens.Visitor, attachment_id: int) -> bool:
    before = None
    while True:
        messages = await web.nexus.conversation(channel.name, visitor.id, limit=200, before_id=before)
        if any(a.id == attachment_id for m in messages if visible(m) for a in m.attachments):
            return True
        if len(messages) < 200:
            return False
        before = messages[0].id


@handler
async def preflight(request: HttpRequest, web: WebContext) -> WebhookResponse:
    """CORS preflight: allowed for origins that some web-chat channel allows."""
    cors = _cors(request, None, web)
    if not cors:
        raise Refused(403, "origin_not_allowed", f"no web-chat channel may be used on {request.header('origin')}")
    return WebhookResponse(204, b"", {**cors, "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                                      "Access-Control-Allow-Headers": "Authorization, Content-Type",
                                      "Access-Control-Max-Age": "600"})


# --- Demo page -----------------------------------------------------------------------------


@handler
async def demo_page(request: HttpRequest, web: WebContext) -> WebhookResponse:
    channel = _channel(web, request.params["channel"])
    title = html.escape(channel.config.title)
    page = DEMO_PAGE.format(title=title, key=html.escape(channel.public_key), channel=html.escape(channel.name))
    return WebhookResponse(200, page, {"Cache-Control": "no-cache"}, "text/html; charset=utf-8")


DEMO_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: Nexus web-chat demo</title>
<link rel="stylesheet" href="/webchat/static/demo.css">
</head>
<body>
<main>
  <h1>Example Outfitters</h1>
  <p>This page stands for your website. The chat bubble in the corner is the Nexus web-chat
  widget of the channel <code>{channel}</code>, embedded with one tag:</p>
  <pre><code>&lt;script src="/webchat/static/widget.js" data-key="{key}" async&gt;&lt;/script&gt;</code></pre>
  <p>Write something in the widget, then answer it from the agent console at <a href="/">/</a>.</p>
</main>
<script src="/webchat/static/widget.js" data-key="{key}" async></script>
</body>
</html>
"""


def routes() -> list[Route]:
    return [
        Route("/webchat/api/session", start_session, methods=["POST"], max_body=8 * 1024),
        Route("/webchat/{channel}/api/messages", history, methods=["GET"]),
        Route("/webchat/{channel}/api/messages", post_message, methods=["POST"], max_body=32 * 1024),
        Route("/webchat/{channel}/api/files", upload, methods=["POST"], max_body=UPLOAD_CEILING),
        Route("/webchat/{channel}/api/files/{attachment_id}", download, methods=["GET"]),
        Route("/webchat/{channel}/demo", demo_page, methods=["GET"]),
        Route("/webchat/{rest:path}", preflight, methods=["OPTIONS"]),
    ]
