"""The agent console: a single-page app served at ``/`` from files inside the package
(``nexus/console``), so it works with no build step, no Node and no internet. It uses only the
public REST API and Socket.IO. ``/vendor`` serves the official socket.io-client, vendored from
npm (see ``nexus/console/vendor/README.md``), for the console and for plugins' pages."""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response
from quart.helpers import send_from_directory
from quart_schema import hide
from werkzeug.exceptions import NotFound

from nexus.web.errors import error_response

CONSOLE = Path(__file__).resolve().parent.parent / "console"
VENDOR = CONSOLE / "vendor"
blueprint = Blueprint("console", __name__)


async def _send(directory: Path, filename: str, max_age: int) -> Response:
    try:
        response = await send_from_directory(directory, filename, cache_timeout=max_age)
    except (NotFound, FileNotFoundError, IsADirectoryError):
        return error_response(404, "not_found", f"no such file: {filename}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.get("/")
@hide  # files for browsers, not part of the REST API
async def index() -> Response:
    """The console's page. It is revalidated on every load, so an upgrade shows at once."""
    response = await _send(CONSOLE, "index.html", 0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blueprint.get("/console/<path:filename>")
@hide
async def asset(filename: str) -> Response:
    response = await _send(CONSOLE, filename, 0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.get("/vendor/<path:filename>")
@hide
async def vendor(filename: str) -> Response:
    response = await _send(VENDOR, filename, 86400)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
