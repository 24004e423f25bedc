"""The web half of the plugin contract: HTTP routes, static files and Socket.IO namespaces
that a plugin adds to the host's server through the ``nexus_register_web`` hook.

A plugin claims URL prefixes and namespaces of its own; the host validates every registration
(a prefix the host uses, or one another plugin claimed, is refused and the plugin reported by
name) and serves them next to the REST API, on the same port::

    @nexus.hookimpl
    def nexus_register_web(register):
        register(StaticFiles("/chat/static", Path(__file__).parent / "static"))
        register(Route("/chat/{channel}/hello", hello, methods=["GET"]))
        register(Namespace("/chat", VisitorEvents()))

Handlers receive a :class:`WebContext`, which reaches the plugin's running channel instances
and the :class:`nexus.hookspecs.NexusAPI`. Requests are framework-neutral, like webhooks: a
handler returns a :class:`nexus.WebhookResponse`.

This module imports nothing of the host.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nexus.channel import WebhookResponse

if TYPE_CHECKING:
    from nexus.channel import Channel
    from nexus.hookspecs import NexusAPI

__all__ = [
    "ConnectionRefused",
    "HttpRequest",
    "Namespace",
    "NamespaceHandler",
    "RESERVED_PREFIXES",
    "Route",
    "Socket",
    "StaticFiles",
    "WebContext",
    "WebhookResponse",
    "registration_problem",
]

#: First path segments the host serves itself; no plugin may claim them.
RESERVED_PREFIXES = frozenset({
    "api", "webhooks", "socket.io", "docs", "openapi.json", "healthz", "readyz", "metrics",
    "console", "vendor", "static", "favicon.ico",
})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_SEGMENT = re.compile(r"^(?:[A-Za-z0-9._~-]+|\{[a-z_][a-z0-9_]*(?::path)?\})$")
_NAMESPACE = re.compile(r"^/[a-z][a-z0-9_-]{0,62}$")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A request to a plugin's route. ``body`` is the exact bytes received (at most the route's
    ``max_body``); header names are lower-case; ``params`` holds the path's ``{placeholders}``."""

    method: str
    path: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    params: Mapping[str, str] = field(default_factory=dict)
    remote_addr: str | None = None

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` when it is not JSON."""
        return json.loads(self.body or b"null")


RouteHandler = Callable[[HttpRequest, "WebContext"], Awaitable[WebhookResponse]]


@dataclass(frozen=True)
class Route:
    """An HTTP endpoint.

    :param path: starts with the plugin's prefix (``/chat/...``). ``{name}`` matches one path
        segment and ``{name:path}`` the rest of the path; both arrive in ``request.params``. The
        first segment must be literal.
    :param handler: ``async def handler(request, web) -> WebhookResponse``.
    :param methods: the HTTP methods it answers.
    :param max_body: larger request bodies are answered 413 before the handler runs.
    """

    path: str
    handler: RouteHandler
    methods: Sequence[str] = ("GET",)
    max_body: int = 64 * 1024


@dataclass(frozen=True)
class StaticFiles:
    """Files of a folder served under ``prefix`` (``/chat/static/app.js``), with a content
    type from the file name, an ETag and ``Cache-Control: max-age``. Paths that leave the folder
    are refused. ``cors`` adds ``Access-Control-Allow-Origin: *`` so other sites may load them
    (scripts embedded on an operator's website)."""

    prefix: str
    directory: Path
    max_age: int = 3600
    cors: bool = False


class ConnectionRefused(Exception):
    """Raise from :meth:`NamespaceHandler.connect` to refuse a socket. The client's
    ``connect_error`` has ``message`` and ``data.code``."""

    def __init__(self, message: str, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@runtime_checkable
class Socket(Protocol):
    """One client connected to a plugin's namespace, in this process. ``sid`` is its id,
    ``headers`` the handshake's headers with lower-case names (``origin``, ``user-agent``),
    ``remote_addr`` the client's address, and ``session`` a dict the plugin may keep anything
    in while the socket is connected (a visitor's id)."""

    sid: str
    headers: Mapping[str, str]
    remote_addr: str | None
    session: dict[str, Any]

    async def emit(self, event: str, data: Any = None) -> None:
        """Send an event to this socket only."""

    async def join(self, room: str) -> None:
        """Put the socket in a room of the namespace: :meth:`NexusAPI.emit` to that room, from
        any process, reaches it."""

    async def leave(self, room: str) -> None:
        """Take the socket out of a room."""

    async def disconnect(self) -> None:
        """Close the connection from the server's side."""


class NamespaceHandler(Protocol):
    """What a :class:`Namespace` calls. Every method may be omitted except ``connect``."""

    async def connect(self, socket: Socket, auth: Any, web: WebContext) -> None:
        """A client asks to connect with ``auth`` (the handshake's ``auth`` object). Raise
        :class:`ConnectionRefused` to refuse it; return to accept."""

    async def event(self, socket: Socket, name: str, data: Any, web: WebContext) -> Any:
        """The client emitted ``name``. What this returns is the acknowledgement, if the client
        asked for one. Raising answers ``{"error": {...}}``."""

    async def disconnect(self, socket: Socket, web: WebContext) -> None:
        """The client went away."""


@dataclass(frozen=True)
class Namespace:
    """A Socket.IO namespace of the plugin's own (``/chat``), separate from the agents' (``/``):
    its clients never receive agents' events, and agents' tokens mean nothing there. The
    Redis manager carries emits to it across processes like the agents' events."""

    name: str
    handler: NamespaceHandler


@runtime_checkable
class WebContext(Protocol):
    """What the host gives a plugin's web handlers, in the process handling the request.
    ``nexus`` is the :class:`nexus.hookspecs.NexusAPI` (tickets, conversations, pushes), the
    same the event hooks get."""

    nexus: NexusAPI

    def channels(self) -> Sequence[Channel]:
        """The running instances of this plugin's channel types in this process."""

    def channel(self, name: str) -> Channel | None:
        """One of :meth:`channels` by name, or None when there is none running by that name."""

    async def allow(self, key: str, limit: str) -> bool:
        """Count one hit of ``key`` against ``limit`` (``"20/minute"``, ``"5 per second"``) and
        say whether it is within it. Counted in Redis, so the limit holds across every process
        of the cluster; keys are the plugin's own (prefixed with its name)."""


def registration_problem(item: Any) -> str | None:
    """Why ``item`` cannot be registered through ``nexus_register_web``, or None if it can.
    Checks the shape only; clashes with the host and other plugins are checked by the host."""
    if isinstance(item, Route):
        if not callable(item.handler):
            return f"route {item.path!r}: handler is not callable"
        bad = [m for m in item.methods if str(m).upper() not in METHODS]
        if bad or not item.methods:
            return f"route {item.path!r}: unknown HTTP method {bad[0] if bad else '(none)'!r}"
        if not isinstance(item.max_body, int) or item.max_body < 0:
            return f"route {item.path!r}: max_body must be a number of bytes"
        return _path_problem(item.path, "route", placeholders=True)
    if isinstance(item, StaticFiles):
        problem = _path_problem(item.prefix, "static files", placeholders=False)
        if problem:
            return problem
        if not Path(item.directory).is_dir():
            return f"static files {item.prefix!r}: {item.directory} is not a folder"
        return None
    if isinstance(item, Namespace):
        if not isinstance(item.name, str) or not _NAMESPACE.match(item.name):
            return f"namespace {item.name!r}: a namespace is '/' and a lower-case name, such as '/chat'"
        if not callable(getattr(item.handler, "connect", None)):
            return f"namespace {item.name!r}: its handler has no connect() method"
        return None
    return f"{item!r} is not a nexus.endpoints Route, StaticFiles or Namespace"


def first_segment(path: str) -> str:
    return path.strip("/").split("/", 1)[0]


def _path_problem(path: Any, what: str, *, placeholders: bool) -> str | None:
    if not isinstance(path, str) or not path.startswith("/") or path == "/":
        return f"{what} {path!r}: a path starts with '/' and the plugin's prefix, such as '/chat/...'"
    segments = path.strip("/").split("/")
    for index, segment in enumerate(segments):
        if not _SEGMENT.match(segment):
            return f"{what} {path!r}: {segment!r} is not a valid path segment"
        if segment.startswith("{") and (index == 0 or not placeholders):
            return f"{what} {path!r}: " + ("the first segment must be literal" if index == 0 else "no placeholders here")
        if segment.endswith(":path}") and index != len(segments) - 1:
            return f"{what} {path!r}: a {{name:path}} placeholder must come last"
    if segments[0].lower() in RESERVED_PREFIXES:
        return f"{what} {path!r}: /{segments[0]} belongs to the host"
    return None
