"""Hand-written SQL for the hot paths, on both dialects.

The ORM stays for everything else; the few queries that run for every inbound message and
every reply (where Tortoise's query building and model instantiation cost more than the
query itself) are written by hand and run through these helpers. They use only the public
client API (``execute_query`` and ``execute_query_dict``): on PostgreSQL that is asyncpg's
``fetch``/``execute``, which prepares each statement once per connection and caches it.

Write ``?`` placeholders; on PostgreSQL they become ``$1, $2, ...`` (translated once per
statement). Pass ``conn`` (a transaction from ``in_transaction()``) to run inside it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import get_current_context


def connection() -> BaseDBAsyncClient:
    """The current database connection (the one the ORM uses)."""
    ctx = get_current_context()
    if ctx is None:
        raise RuntimeError("the database is not open")
    return ctx.connections.get(next(iter(ctx.connections.db_config)))


def dialect(conn: BaseDBAsyncClient | None = None) -> str:
    """``"postgres"`` or ``"sqlite"``: the connection is named after its dialect."""
    return "postgres" if (conn or connection()).capabilities.dialect == "postgres" else "sqlite"


@lru_cache(maxsize=512)
def _numbered(sql: str) -> str:
    parts = sql.split("?")
    return parts[0] + "".join(f"${index}{part}" for index, part in enumerate(parts[1:], start=1))


def _prepare(sql: str, conn: BaseDBAsyncClient | None) -> tuple[BaseDBAsyncClient, str]:
    conn = conn or connection()
    return conn, (_numbered(sql) if dialect(conn) == "postgres" else sql)


async def fetch_all(sql: str, *params: Any, conn: BaseDBAsyncClient | None = None) -> list[dict[str, Any]]:
    """Every row of a query (``SELECT``, or a write with ``RETURNING``), as dicts."""
    conn, sql = _prepare(sql, conn)
    return await conn.execute_query_dict(sql, list(params))


async def fetch_one(sql: str, *params: Any, conn: BaseDBAsyncClient | None = None) -> dict[str, Any] | None:
    """The first row of a query, or None."""
    rows = await fetch_all(sql, *params, conn=conn)
    return rows[0] if rows else None


async def execute(sql: str, *params: Any, conn: BaseDBAsyncClient | None = None) -> int:
    """Run a write without ``RETURNING``; returns how many rows it changed."""
    conn, sql = _prepare(sql, conn)
    changed, _ = await conn.execute_query(sql, list(params))
    return changed
