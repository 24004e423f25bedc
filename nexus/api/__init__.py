"""The REST API under ``/api/v1``, for agent frontends."""

from quart import Blueprint

from nexus.api import admin, operations, people, tickets


def api_blueprint() -> Blueprint:
    api = Blueprint("api", __name__, url_prefix="/api/v1")
    for module in (people, tickets, admin, operations):
        api.register_blueprint(module.blueprint)
    return api
