"""``/webhooks/<type>/<name>[/<subpath>]``: thin transport glue. Resolve the channel instance,
hand the raw request to it, return its answer. Verification and parsing are the plugin's."""

from __future__ import annotations

import json
from typing import Any

from quart import Blueprint, Response, request

from nexus.channel import WebhookRequest, WebhookResponse
from nexus.channels import describe_error
from nexus.web.context import current_nexus
from nexus.web.errors import error_response

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
    body = await request.get_data(cache=False)
    incoming = WebhookRequest(
        method=request.method,
        path=request.path,
        headers={k.lower(): v for k, v in request.headers.items()},
        query={k: v for k, v in request.args.items()},
        body=body,
        subpath=subpath,
        remote_addr=request.remote_addr,
    )
    try:
        answer = await runtime.instance.handle_webhook(incoming)
    except Exception as exc:  # noqa: BLE001 - a plugin bug: report it on the channel, answer 500
        runtime.set_error(f"webhook handler raised {describe_error(exc)}")
        nexus_logger = runtime.host.logger
        nexus_logger.exception("webhook handler raised")
        return error_response(500, "channel_error", f"channel {name!r} could not process the request")
    return to_response(answer)


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
