"""The application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import socketio
from quart import Quart, request
from quart_cors import cors
from quart_schema import Info, QuartSchema

from nexus import __version__
from nexus.api import api_blueprint
from nexus.api.ids import IdConverter, check_path_ids
from nexus.api.login_limit import LoginLimiter
from nexus.config import LoadedSettings, Settings, load_settings
from nexus.config.loader import RawConfig
from nexus.instances import Setup, prepare
from nexus.realtime import create_socketio_server
from nexus.runtime import Nexus, Options
from nexus.web import console, health, plugin_web, webhooks
from nexus.web.apidocs import TAGS, NexusOpenAPIProvider, register_docs
from nexus.web.errors import ApiError, field_error, register_error_handlers
from nexus.web.request import NexusRequest

#: The largest request body accepted from an authenticated agent (a reply with attachments,
#: base64-encoded). Unauthenticated requests get far less: see :mod:`nexus.web.request`.
MAX_CONTENT_LENGTH = 100 * 1024 * 1024

DESCRIPTION = (
    "The REST API of Nexus, for agent frontends. Authenticate with `Authorization: Bearer <token>` "
    "from `POST /api/v1/auth/login`. Errors are JSON: `{\"error\": {\"code\", \"message\", \"details\"}}`, "
    "`details` listing each `{field, problem}`. Live changes come over Socket.IO on the same port "
    "(see docs/api.md)."
)


def build_setup(
    settings: Settings | Setup | None = None, *, plugins: Mapping[str, Any] | None = None
) -> Setup:
    """A :class:`Setup` from settings (or the environment when None)."""
    if isinstance(settings, Setup):
        return settings
    loaded = load_settings() if settings is None else LoadedSettings(settings, RawConfig())
    return prepare(loaded, extra_plugins=plugins)


def create_app(
    settings: Settings | Setup | None = None,
    *,
    plugins: Mapping[str, Any] | None = None,
    options: Options = Options(),
) -> Quart:
    """The Quart app of one API process. ``app.asgi`` is the Socket.IO ASGI app wrapping it,
    which is what a server should run. Resources open in ``before_serving`` and close in
    ``after_serving``: run tests through ``async with app.test_app()``.

    :param settings: settings, or a prepared :class:`Setup`; None reads the environment.
    :param plugins: extra plugin objects by name, registered as if installed.
    """
    setup = build_setup(settings, plugins=plugins)
    app = Quart("nexus")
    app.request_class = NexusRequest
    app.url_map.converters["id"] = IdConverter
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    app.config["JSON_SORT_KEYS"] = False
    QuartSchema(
        app,
        info=Info(title="Nexus", version=__version__, description=DESCRIPTION),
        tags=TAGS,  # type: ignore[arg-type]
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        security=[{"bearer": []}],
        swagger_ui_path=None,
        redoc_ui_path=None,
        scalar_ui_path=None,
        openapi_provider_class=NexusOpenAPIProvider,
    )
    register_error_handlers(app)
    register_docs(app, "Nexus API")
    app.register_blueprint(health.blueprint)
    app.register_blueprint(webhooks.blueprint)
    app.register_blueprint(api_blueprint())

    sio = create_socketio_server(setup.settings)
    nexus = Nexus(setup, options, sio=sio)
    app.extensions["nexus"] = nexus
    app.request_class = NexusRequest.limiting(plugin_web.install(app, nexus, sio))
    app.register_blueprint(console.blueprint)
    app.asgi = socketio.ASGIApp(sio, other_asgi_app=app, socketio_path="socket.io")  # type: ignore[attr-defined]

    @app.before_request
    async def refuse_impossible_input() -> None:
        problem = check_path_ids(request.view_args)
        if problem is not None:
            raise ApiError(404, "not_found", problem)
        if request.path.startswith("/api/"):
            for name, values in request.args.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    raise field_error(422, "invalid_request", name.replace("\x00", "") or "query",
                                      "contains a NUL character")

    origins = list(setup.settings.server.cors_origins)
    if origins:
        # Bearer tokens, not cookies: no credentials, and "*" may be allowed.
        cors(app, allow_origin="*" if "*" in origins else origins, allow_headers=["Authorization", "Content-Type"],
             allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"], expose_headers=["Retry-After", "Content-Disposition"],
             max_age=600)

    @app.before_serving
    async def start() -> None:
        await nexus.start()
        app.extensions["nexus_login_limiter"] = LoginLimiter(setup.settings, nexus.redis)
        if nexus.realtime is not None:
            nexus.accounts.on_revoked = nexus.realtime.tokens_revoked

    @app.after_serving
    async def stop() -> None:
        await nexus.stop()

    return app
