"""The one clock: timezone-aware UTC, as every timestamp Nexus stores is."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)
