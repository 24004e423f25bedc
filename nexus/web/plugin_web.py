"""Serving what plugins register through ``nexus_register_web``: their HTTP routes and static
files on the Quart app, their Socket.IO namespaces on the server beside the agents' one.

Every registration is validated before anything is mounted. A plugin whose registrations
break a rule (a prefix of the host's, a prefix or namespace another plugin claimed, a bad
path) gets none of them served; it is reported by name in the log and in ``/readyz``, and the
rest of Nexus runs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import socketio
from quart import Quart, Response, request
from quart.helpers import send_from_directory
from quart_schema import hide
from werkzeug.exceptions import NotFound

from nexus.channel import Channel, WebhookResponse
from nexus.channels import describe_error
from nexus.clock import now
from nexus.endpoints import HttpRequest, Namespace, Route, StaticFiles, first_segment, registration_problem
from nexus.plugins import call_impl
from nexus.web.errors import error_response
from nexus.web.plugin_sockets import NamespaceAdapter
from nexus.web.webhooks import to_response

if TYPE_CHECKING:
    from nexus.runtime import Nexus

logger = logging.getLogger("nexus.plugins")
HOOK = "nexus_register_web"


@dataclass
class PluginRegistrations:
    plugin: str
    routes: list[Route] = field(default_factory=list)
    static: list[StaticFiles] = field(default_factory=list)
    namespaces: list[Namespace] = field(default_factory=list)

    @property
    def prefixes(self) -> set[str]:
        return {first_segment(r.path) for r in self.routes} | {first_segment(s.prefix) for s in self.static}


class PluginWebContext:
    """The :class:`nexus.endpoints.WebContext` of one plugin in one process."""

    def __init__(self, nexus: Nexus, plugin: str) -> None:
        self._nexus = nexus
        self.plugin = plugin
        self.nexus = nexus.api

    def channels(self) -> Sequence[Channel]:
        return [runtime.instance for runtime in self._nexus.channels.runtimes.values()
                if runtime.usable and runtime.instance is not None and runtime.spec.plugin == self.plugin]

    def channel(self, name: str) -> Channel | None:
        return next((c for c in self.channels() if c.name == name), None)

    async def allow(self, key: str, limit: str) -> bool:
        return await self._nexus.limits.allow(f"{self.plugin}:{key}", limit)

    def failed(self, where: str, exc: BaseException) -> None:
        """Record a handler's exception like a hook's, for ``/readyz``."""
        logger.error("plugin %r raised in %s: %s", self.plugin, where, describe_error(exc), exc_info=exc)
        self._nexus.plugin_errors[self.plugin] = {"hook": where, "error": describe_error(exc), "at": now().isoformat()}


def collect(nexus: Nexus) -> list[PluginRegistrations]:
    """Ask every enabled plugin for its registrations; keep the valid, unclashing ones. Plugins
    are asked in the order of their names, so which of two clashing plugins wins is stable."""
    accepted: list[PluginRegistrations] = []
    prefixes: dict[str, str] = {}
    namespaces: dict[str, str] = {}
    for impl in sorted(getattr(nexus.registry.pm.hook, HOOK).get_hookimpls(), key=lambda i: i.plugin_name):
        found = PluginRegistrations(impl.plugin_name)

        def register(item: Any, _found: PluginRegistrations = found) -> None:
            problem = registration_problem(item)
            if problem:
                raise ValueError(problem)
            if isinstance(item, Route):
                _found.routes.append(item)
            elif isinstance(item, StaticFiles):
                _found.static.append(item)
            else:
                _found.namespaces.append(item)

        try:
            call_impl(impl, register=register)
            for prefix in sorted(found.prefixes):
                if prefixes.get(prefix, found.plugin) != found.plugin:
                    raise ValueError(f"/{prefix} is already served by plugin {prefixes[prefix]!r}")
            for ns in found.namespaces:
                if ns.name in namespaces:
                    raise ValueError(f"namespace {ns.name!r} is already registered by plugin {namespaces[ns.name]!r}")
        except Exception as exc:  # noqa: BLE001 - the plugin's mistake: report it, serve the rest
            reason = f"{HOOK} refused: {describe_error(exc)}"
            logger.error("plugin %r: %s", found.plugin, reason)
            nexus.plugin_errors[found.plugin] = {"hook": HOOK, "error": reason, "at": now().isoformat()}
            continue
        prefixes.update(dict.fromkeys(found.prefixes, found.plugin))
        namespaces.update({ns.name: found.plugin for ns in found.namespaces})
        accepted.append(found)
    return accepted


def install(app: Quart, nexus: Nexus, sio: socketio.AsyncServer) -> list[str]:
    """Mount every plugin's routes, static files and namespaces. Returns the prefixes of the
    routes, whose handlers enforce each route's ``max_body`` themselves."""
    prefixes: list[str] = []
    for found in collect(nexus):
        web = PluginWebContext(nexus, found.plugin)
        for index, route in enumerate(found.routes):
            prefixes.append("/" + first_segment(route.path))
            app.add_url_rule(
                quart_rule(route.path), f"plugin.{found.plugin}.route{index}", hide(route_view(route, web)),
                methods=[m.upper() for m in route.methods], provide_automatic_options=False,
            )
        for index, static in enumerate(found.static):
            app.add_url_rule(
                static.prefix.rstrip("/") + "/<path:filename>", f"plugin.{found.plugin}.static{index}",
                hide(static_view(static)), methods=["GET"],
            )
        for ns in found.namespaces:
            sio.register_namespace(NamespaceAdapter(ns, web))
        logger.debug("plugin %r serves %d route(s), %d static folder(s), %d namespace(s)",
                     found.plugin, len(found.routes), len(found.static), len(found.namespaces))
    return sorted(set(prefixes))


_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(:path)?\}")


def quart_rule(path: str) -> str:
    """``/chat/{channel}/{rest:path}`` as a Quart rule: ``/chat/<channel>/<path:rest>``."""
    return _PLACEHOLDER.sub(lambda m: f"<path:{m[1]}>" if m[2] else f"<{m[1]}>", path)


def route_view(route: Route, web: PluginWebContext):  # noqa: ANN201 - a Quart view
    async def view(**params: str) -> Response:
        if request.content_length is not None and request.content_length > route.max_body:
            return error_response(413, "payload_too_large", f"the request body is larger than {route.max_body} bytes")
        body = bytearray()
        async for chunk in request.body:
            body.extend(chunk)
            if len(body) > route.max_body:
                return error_response(413, "payload_too_large", f"the request body is larger than {route.max_body} bytes")
        incoming = HttpRequest(
            method=request.method, path=request.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            query={k: v for k, v in request.args.items()}, body=bytes(body),
            params=params, remote_addr=request.remote_addr,
        )
        try:
            answer = await route.handler(incoming, web)
            if not isinstance(answer, WebhookResponse):
                raise TypeError(f"the handler returned {type(answer).__name__}, not a WebhookResponse")
        except Exception as exc:  # noqa: BLE001 - a plugin bug: report it on the plugin, answer 500
            web.failed(f"route {route.path}", exc)
            return error_response(500, "plugin_error", f"plugin {web.plugin!r} could not handle the request")
        return to_response(answer)

    return view


def static_view(static: StaticFiles):  # noqa: ANN201 - a Quart view
    directory = Path(static.directory).resolve()

    async def view(filename: str) -> Response:
        try:
            response = await send_from_directory(directory, filename, cache_timeout=static.max_age)
        except (NotFound, FileNotFoundError, IsADirectoryError):
            return error_response(404, "not_found", f"no such file: {request.path}")
        if static.cors:
            response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return view
