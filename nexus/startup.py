"""What every start checks before it opens anything else: the database's migrations and the
reachability of Redis. Kept apart from the server so that quick commands can use it cheaply."""

from __future__ import annotations

import asyncio

from nexus.config import Settings, mask_url


class StartupError(Exception):
    """Why Nexus cannot start, as one line for an operator (``setting: problem``)."""


async def check_database(settings: Settings, *, migrate: bool) -> list[str]:
    """Apply the migrations the database lacks (``migrate``), or refuse to start on a database
    that lacks some. Returns the migrations applied."""
    from nexus.db.migrations import apply_migrations, pending_migrations

    url = settings.database_url
    if migrate:
        try:
            return await apply_migrations(url)
        except Exception as exc:  # noqa: BLE001 - reported as one line
            raise StartupError(f"database.url: cannot migrate {mask_url(url)}: {exc}") from None
    try:
        pending = await pending_migrations(url)
    except Exception as exc:  # noqa: BLE001
        raise StartupError(f"database.url: cannot use {mask_url(url)}: {exc}") from None
    if pending:
        raise StartupError(f"database.url: {mask_url(url)} lacks {len(pending)} migration(s): run `nexus migrate` "
                           "(database.migrate_on_start is false)")
    return []


async def check_search(settings: Settings) -> None:
    """Check ``search.language`` against the database, and index again once if it changed."""
    from nexus.search import Search, SearchError

    try:
        await Search(settings.database_url, settings.search.language).prepare()
    except SearchError as exc:
        raise StartupError(str(exc)) from None


async def check_redis(settings: Settings) -> None:
    """Fail early, in one line, when the configured Redis cannot be reached."""
    from nexus.redis_backend import connect_redis

    if not settings.redis.url:
        return
    client = connect_redis(settings)
    try:
        await asyncio.wait_for(client.ping(), 5)
    except Exception as exc:  # noqa: BLE001
        raise StartupError(f"redis.url: cannot reach {mask_url(settings.redis.url)}: {exc or type(exc).__name__}") from None
    finally:
        await client.aclose()
