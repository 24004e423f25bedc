"""``/webhooks/<type>/<name>[/<subpath>]``: thin transport glue. Resolve the channel instance,
read the body (never more than the channel's ``max_webhook_body``), hand the raw request to it
with the URL the provider called, return its answer. Verification and parsing are the
plugin's."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

from quart import Blueprint, Response, request
from werkzeug.exceptions import RequestTimeout

from nexus.channel import Params, WebhookRequest, WebhookResponse
from nexus.channels import describe_error
from nexus.web.context import current_nexus
from nexus.web.errors import error_response
from nexus.web.forwarded import request_origin

blueprint = Blueprint("webhooks", __name__)
METHODS = ["GET", "POST", "PUT"]


@blueprint.route("/webhooks/<type_name>/<name>", methods=METHODS)
@blueprint.route("/webhooks/<type_name>/<name>/<path:subpath>", methods=METHODS)
async def webhook(type_name: str, name: str, subpath: str = "") -> Response:
    nexus = current_nexus()
    runtime = nexus.channels.get(name)
    if runtime is None or runtime.spec.type_name != type_name:
        return error_response(404, "unknown_channel", f"there is no {type_name} channel named {name!r}")
    if not runtime.usable or runtime.instance is None:
        # 503 makes the provider redeliver later, so nothing is lost while the channel is down.
        return error_response(503, "channel_unavailable", f"channel {name!r} is {runtime.state}", {"error": runtime.error})
    limit = runtime.instance.max_webhook_body
    body = await read_body(limit)
    if body is None:
        return error_response(413, "payload_too_large", f"a {type_name} webhook body may have at most {limit} bytes",
                              [{"field": "body", "problem": f"larger than {limit} bytes"}])
    headers = {k.lower(): v for k, v in request.headers.items()}
    query_string = request.query_string.decode("utf-8", "replace")
    server = nexus.settings.server
    origin = request_origin(
        public_url=server.public_url, scheme=request.scheme, host=request.host,
        raw_path=raw_path(), query_string=query_string, headers=headers,
        remote_addr=request.remote_addr, trusted=server.trusted_proxies,
    )
    incoming = WebhookRequest(
        method=request.method,
        path=request.path,
        headers=headers,
        query=Params.parse(query_string),
        body=body,
        subpath=subpath,
        remote_addr=origin.remote_addr,
        url=origin.url,
        query_string=query_string,
    )
    try:
        answer = await runtime.instance.handle_webhook(incoming)
    except Exception as exc:  # noqa: BLE001 - a plugin bug: report it on the channel, answer 500
        runtime.set_error(f"webhook handler raised {describe_error(exc)}")
        nexus_logger = runtime.host.logger
        nexus_logger.exception("webhook handler raised")
        return error_response(500, "channel_error", f"channel {name!r} could not process the request")
    return to_response(answer)


async def read_body(limit: int) -> bytes | None:
    """The request body as it streams in, or None as soon as it is known to exceed ``limit``
    bytes: at once from ``Content-Length``, else when the bytes read pass it."""
    if request.content_length is not None and request.content_length > limit:
        return None
    received = bytearray()
    try:
        async with asyncio.timeout(request.body_timeout):
            async for chunk in request.body:
                received += chunk
                if len(received) > limit:
                    return None
    except TimeoutError:
        raise RequestTimeout() from None
    return bytes(received)


def raw_path() -> str:
    """The path as the client sent it, percent-encoding included."""
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1") if raw else quote(request.path)


def to_response(answer: WebhookResponse) -> Response:
    body: Any = answer.body
    content_type = answer.content_type
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        content_type = content_type or "application/json"
    elif isinstance(body, str):
        content_type = content_type or "text/plain; charset=utf-8"
    response = Response(body if body is not None else b"", status=answer.status, content_type=content_type)
    for key, value in answer.headers.items():
        response.headers[key] = value
    return response
