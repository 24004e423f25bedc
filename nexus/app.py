"""The application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import socketio
from quart import Quart, Response, request
from quart_schema import Info, QuartSchema

from nexus import __version__
from nexus.api import api_blueprint
from nexus.config import LoadedSettings, Settings, load_settings
from nexus.config.loader import RawConfig
from nexus.instances import Setup, prepare
from nexus.realtime import create_socketio_server
from nexus.runtime import Nexus, Options
from nexus.web import console, health, plugin_web, webhooks
from nexus.web.errors import register_error_handlers

#: The largest request body accepted (a reply with attachments, base64-encoded).
MAX_CONTENT_LENGTH = 100 * 1024 * 1024


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
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    app.config["JSON_SORT_KEYS"] = False
    QuartSchema(
        app,
        info=Info(title="Nexus", version=__version__,
                  description="The REST API of Nexus, for agent frontends. Authenticate with "
                              "`Authorization: Bearer <token>` from `POST /api/v1/auth/login`."),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        security=[{"bearer": []}],
        redoc_ui_path=None,
        scalar_ui_path=None,
    )
    register_error_handlers(app)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(webhooks.blueprint)
    app.register_blueprint(api_blueprint())

    sio = create_socketio_server(setup.settings)
    nexus = Nexus(setup, options, sio=sio)
    app.extensions["nexus"] = nexus
    plugin_web.install(app, nexus, sio)
    app.register_blueprint(console.blueprint)
    app.asgi = socketio.ASGIApp(sio, other_asgi_app=app, socketio_path="socket.io")  # type: ignore[attr-defined]

    origins = set(setup.settings.server.cors_origins)

    @app.after_request
    async def cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and ("*" in origins or origin in origins):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, PUT, DELETE, OPTIONS"
        return response

    @app.before_serving
    async def start() -> None:
        await nexus.start()

    @app.after_serving
    async def stop() -> None:
        await nexus.stop()

    return app
