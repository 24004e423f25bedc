"""Opening and closing the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tortoise.context import TortoiseContext

APP_LABEL = "nexus"
MODEL_MODULES = ["nexus.db.models"]


def tortoise_config(url: str, *, with_aerich: bool = False, pool_size: int = 20) -> dict[str, Any]:
    """Tortoise's config for ``url``: ``sqlite:///path`` or ``postgres://...``."""
    modules = list(MODEL_MODULES) + (["aerich.models"] if with_aerich else [])
    connection: Any
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = (parts.netloc + parts.path) or ":memory:"
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = {
            "engine": "tortoise.backends.sqlite",
            # WAL lets readers run while a writer commits; a busy timeout instead of "locked".
            "credentials": {"file_path": path, "journal_mode": "WAL", "journal_size_limit": 16384,
                            "foreign_keys": "ON"},
        }
    else:
        scheme = "postgres" if parts.scheme in ("postgres", "postgresql") else parts.scheme
        connection = f"{scheme}://{parts.netloc}{parts.path}"
        query = parts.query
        extra = f"maxsize={pool_size}"
        connection += f"?{query}&{extra}" if query else f"?{extra}"
    # The connection is named after its dialect: Tortoise caches compiled queries by
    # connection name, so one process can then use SQLite and PostgreSQL one after the other.
    name = dialect_of(url)
    return {
        "connections": {name: connection},
        "apps": {APP_LABEL: {"models": modules, "default_connection": name}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def open_database(url: str, *, with_aerich: bool = False, global_fallback: bool = True) -> TortoiseContext:
    """Initialise Tortoise for ``url`` and return its context.

    Tortoise 1.x keeps its state per asyncio task; ``global_fallback`` makes this context
    visible to every task of the process (request handlers, workers), which is what a server
    needs. Close it with :func:`close_database`.
    """
    ctx = TortoiseContext()
    with ctx:
        await ctx.init(
            config=tortoise_config(url, with_aerich=with_aerich),
            _enable_global_fallback=global_fallback,
        )
    return ctx


async def close_database(ctx: TortoiseContext) -> None:
    await ctx.close_connections()


def dialect_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgres"
