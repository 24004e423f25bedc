"""Access to the running host from request handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import current_app

if TYPE_CHECKING:
    from nexus.runtime import Nexus


def current_nexus() -> Nexus:
    return current_app.extensions["nexus"]
