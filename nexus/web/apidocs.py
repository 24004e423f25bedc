"""The OpenAPI document (``/openapi.json``) and the page that browses it (``/docs``).

quart-schema generates the document from the routes; :class:`NexusOpenAPIProvider` completes
it: every operation lists the error responses it can give (with :class:`~nexus.web.errors.ErrorBody`
as their schema), public operations drop the bearer requirement, and id parameters carry their
range. ``/docs`` is Swagger UI, served from the files of the installed ``swagger-ui-py``
package, so it works without internet.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources
from typing import Any, TypeVar

from quart import Blueprint, Quart, Response, abort, url_for
from quart_schema import hide
from quart_schema.openapi import OpenAPIProvider
from werkzeug.routing.rules import Rule

from nexus.web.errors import ErrorBody

F = TypeVar("F", bound=Callable[..., Any])

#: The tags operations are grouped by, in the order /docs shows them.
TAGS = [
    {"name": "session", "description": "Log in and out; the current agent and their API tokens."},
    {"name": "tickets", "description": "Tickets, their conversations, replies, notes and attachments."},
    {"name": "contacts", "description": "The people who write in, as far as their tickets are visible."},
    {"name": "admin", "description": "Agents, teams and canned responses."},
    {"name": "operations", "description": "Channels, deliveries and stored webhook payloads."},
    {"name": "webhooks", "description": "Providers' webhooks, answered by each channel's plugin."},
]

#: What each error status means, as the document describes it.
ERROR_MEANINGS = {
    400: "The body is not JSON, or a cursor is not one this API returned.",
    401: "No valid bearer token (missing, wrong, expired or revoked).",
    403: "The token's agent may not do this (it needs an admin).",
    404: "No such item, or one the agent may not see: the two are not told apart.",
    409: "The change conflicts with the current state.",
    413: "The body is larger than this endpoint accepts.",
    415: "The body was not sent as `Content-Type: application/json`.",
    422: "A field, query parameter or path parameter is invalid; `details` names each.",
    429: "Too many attempts; wait for the seconds in `Retry-After`.",
    503: "The database (or, for a webhook, the channel) is unavailable; try again after `Retry-After`.",
}

EXTRA_RESPONSES = "nexus_responses"
ACCESS = "nexus_access"
_PATH_PARAMETER = re.compile(r"<(?:[^:<>]*:)?([^<>]+)>")


def responds(*statuses: int) -> Callable[[F], F]:
    """Document error statuses an operation gives beyond the ones it gets from its shape
    (401/403 from its access, 404/422 from path parameters, 400/413/415/422 from a body)."""

    def decorate(func: F) -> F:
        setattr(func, EXTRA_RESPONSES, {*getattr(func, EXTRA_RESPONSES, set()), *statuses})
        return func

    return decorate


def mark_access(func: F, level: str) -> F:
    """Record who may call ``func`` ("agent" or "admin"), for the document."""
    setattr(func, ACCESS, level)
    return func


def error_schema_components() -> dict[str, Any]:
    schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    components["ErrorBody"] = schema
    return components


class NexusOpenAPIProvider(OpenAPIProvider):
    def schema(self) -> dict[str, Any]:
        self.operation_ids: set[str] = set()
        document = super().schema()
        document["components"]["schemas"].update(error_schema_components())
        return document

    def build_paths(self, rule: Rule) -> tuple[dict, dict]:
        paths, components = super().build_paths(rule)
        # quart-schema's path pattern runs across parameters (<a>/<b>/<path:c> became {c});
        # name every parameter of the rule.
        path = _PATH_PARAMETER.sub(r"{\1}", rule.rule)
        operations = next(iter(paths.values()))
        func = self._app.view_functions[rule.endpoint]
        for method, operation in operations.items():
            operations[method] = self._complete(dict(operation), func, rule, method)
        return {path: operations}, components

    def operation_id(self, method: str, path: str, func: Callable) -> str | None:
        # One view can serve several rules (a webhook with and without a subpath).
        base = super().operation_id(method, path, func) or method.lower()
        candidate, number = base, 2
        while candidate in self.operation_ids:
            candidate, number = f"{base}_{number}", number + 1
        self.operation_ids.add(candidate)
        return candidate

    def build_path_parameter(self, name: str, converter: Any) -> dict[str, Any]:
        parameter = super().build_path_parameter(name, converter)
        for key in ("minimum", "maximum"):
            value = getattr(converter, key, None)
            if isinstance(value, int):
                parameter["schema"][key] = value
        return parameter

    def _complete(self, operation: dict[str, Any], func: Any, rule: Rule, method: str) -> dict[str, Any]:
        responses = {str(status): response for status, response in (operation.get("responses") or {}).items()}
        statuses = set(getattr(func, EXTRA_RESPONSES, set()))
        for status in sorted(s for s in statuses if s < 400):
            responses.setdefault(str(status), {"description": _success(status)})
        statuses = {s for s in statuses if s >= 400}
        if not any(str(status).startswith("2") for status in responses):
            responses["200"] = {"description": "Done."}
        for status, response in responses.items():
            if not response.get("description"):
                responses[status] = {**response, "description": _success(int(status))}
        access = getattr(func, ACCESS, None)
        if rule.rule.startswith("/webhooks/"):
            operation["security"] = []
            operation["tags"] = ["webhooks"]
            operation["summary"] = "A provider's webhook for one channel instance, answered by its plugin."
            operation["description"] = ("The plugin verifies the request (a signature, a secret) and decides the "
                                        "answer; see the channel plugin's README.")
            statuses |= {404, 503}
            responses = {"default": {"description": "The channel plugin's answer to the provider."}}
        else:
            if access is None:
                operation["security"] = []
            else:
                statuses.add(401)
            if access == "admin":
                statuses.add(403)
            if rule.arguments:
                statuses.add(404)
            if any(parameter["in"] == "query" for parameter in operation.get("parameters", [])):
                statuses |= {400, 422}
            if "requestBody" in operation:
                statuses |= {400, 413, 415, 422}
            statuses.add(503)
        for status in sorted(statuses):
            responses.setdefault(str(status), {
                "description": ERROR_MEANINGS[status],
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                **({"headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}}
                   if status in (429, 503) else {}),
            })
        operation["responses"] = dict(sorted(responses.items()))
        return operation


def _success(status: int) -> str:
    return {200: "Done.", 201: "Created.", 202: "Accepted: queued for delivery.", 204: "Done; no body."}.get(
        status, "Done.")


# --- /docs ----------------------------------------------------------------------------------

SWAGGER_FILES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "LICENSE": "text/plain; charset=utf-8",
}
INIT_SCRIPT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "list",
    persistAuthorization: true,
    displayRequestDuration: true,
  });
});
"""
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="stylesheet" href="{css}">
  <link rel="icon" type="image/png" href="{icon}">
</head>
<body data-openapi="{openapi}">
  <div id="swagger-ui"></div>
  <noscript>This page needs JavaScript. The OpenAPI document itself is at <a href="{openapi}">{openapi}</a>.</noscript>
  <script src="{js}"></script>
  <script src="{init}"></script>
</body>
</html>
"""
#: Everything /docs loads comes from this server.
DOCS_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"


def _swagger_file(name: str) -> bytes:
    return (resources.files("swagger_ui") / "static" / name).read_bytes()


def docs_blueprint(title: str) -> Blueprint:
    blueprint = Blueprint("apidocs", __name__)

    @blueprint.get("/docs")
    @hide
    async def docs_page() -> Response:
        page = PAGE.format(
            title=title, openapi=url_for("openapi"),
            css=url_for("apidocs.asset", name="swagger-ui.css"), js=url_for("apidocs.asset", name="swagger-ui-bundle.js"),
            icon=url_for("apidocs.asset", name="favicon-32x32.png"), init=url_for("apidocs.init_script"),
        )
        response = Response(page, content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = DOCS_POLICY
        return response

    @blueprint.get("/docs/assets/init.js")
    @hide
    async def init_script() -> Response:
        return Response(INIT_SCRIPT, content_type="text/javascript; charset=utf-8")

    @blueprint.get("/docs/assets/<name>")
    @hide
    async def asset(name: str) -> Response:
        if name not in SWAGGER_FILES:
            abort(404)
        response = Response(_swagger_file(name), content_type=SWAGGER_FILES[name])
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    return blueprint


def register_docs(app: Quart, title: str) -> None:
    app.register_blueprint(docs_blueprint(title))

