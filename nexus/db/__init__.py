"""Opening and closing the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext

APP_LABEL = "nexus"
MODEL_MODULES = ["nexus.db.models"]


async def _keep_session(connection: Any) -> None:
    """A pool ``reset`` that sends nothing to the server."""


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
        connection = expand_db_url(f"{scheme}://{parts.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else ""))
        connection["credentials"].setdefault("maxsize", pool_size)
        # asyncpg resets every connection it takes back into the pool with a query (RESET ALL,
        # UNLISTEN, ...): a second round trip per query. Nexus changes no session state
        # (its advisory lock uses a connection of its own), so skip it.
        connection["credentials"]["reset"] = _keep_session
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


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database is away (restarting, failing over, unreachable), as
    opposed to a query that is wrong."""
    from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError

    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, (OperationalError, DBConnectionError, OSError)):
        return True
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    return isinstance(exc, (asyncpg.exceptions.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError,
                            asyncpg.exceptions.InternalClientError, asyncpg.InterfaceError))
