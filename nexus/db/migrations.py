"""Aerich migrations, one history per SQL dialect.

Aerich writes dialect-specific SQL, so ``migrations/sqlite/`` and ``migrations/postgres/`` each
hold a complete history generated on that dialect (``scripts/makemigrations.py`` writes both).
Both record the same models state, which is what the drift check compares with the models.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from nexus.db import APP_LABEL, dialect_of, tortoise_config

T = TypeVar("T")
#: pg_advisory_lock key, so that API processes starting together migrate one at a time.
MIGRATION_LOCK_KEY = 0x6E657875  # "nexu"


def migrations_root() -> Path:
    """The migrations: inside the installed package, or at the top of a source checkout."""
    packaged = Path(__file__).resolve().parent.parent / "_migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "migrations"


def migrations_location(url: str) -> Path:
    return migrations_root() / dialect_of(url)


async def _isolated(factory: Callable[[], Awaitable[T]]) -> T:
    """Run aerich in a fresh context: it initialises Tortoise globally for the current task,
    and that must not leak into the caller's context."""
    return await asyncio.create_task(factory(), context=contextvars.Context())  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def _migration_lock(url: str) -> AsyncIterator[None]:
    if dialect_of(url) != "postgres":
        yield
        return
    import asyncpg

    parts = urlsplit(url)
    conn = await asyncpg.connect(parts._replace(scheme="postgresql", query="").geturl())
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        yield
    finally:
        with contextlib.suppress(Exception):
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        await conn.close()


async def apply_migrations(url: str) -> list[str]:
    """Apply the migrations that ``url``'s database lacks; returns their file names."""
    from aerich import Command

    async def run() -> list[str]:
        command = Command(
            tortoise_config(url, with_aerich=True, pool_size=2),
            app=APP_LABEL,
            location=str(migrations_location(url)),
        )
        async with _migration_lock(url):
            await command.init()
            try:
                return await command.upgrade(run_in_transaction=True)
            finally:
                await command.aclose()

    return await _isolated(run)


async def pending_migrations(url: str) -> list[str]:
    """The migration files ``url``'s database has not applied yet."""
    from aerich import Command

    async def run() -> list[str]:
        command = Command(tortoise_config(url, with_aerich=True, pool_size=2), app=APP_LABEL,
                          location=str(migrations_location(url)))
        await command.init()
        try:
            try:
                return await command.heads()
            except Exception:  # noqa: BLE001 - no aerich table yet: everything is pending
                from aerich.migrate import Migrate

                return Migrate.get_all_version_files()
        finally:
            await command.aclose()

    return await _isolated(run)


def _reset_operators() -> None:
    from aerich.migrate import Migrate

    for name in ("upgrade_operators", "downgrade_operators", "_upgrade_fk_m2m_index_operators",
                 "_downgrade_fk_m2m_index_operators", "_upgrade_m2m", "_downgrade_m2m"):
        setattr(Migrate, name, [])


async def model_drift(url: str) -> list[str]:
    """The SQL a new migration would need for the models to match ``url``'s migrated
    database. Empty means the migrations are complete."""
    from aerich import Command
    from aerich.migrate import Migrate
    from aerich.utils import get_models_describe

    async def run() -> list[str]:
        command = Command(
            tortoise_config(url, with_aerich=True, pool_size=2),
            app=APP_LABEL,
            location=str(migrations_location(url)),
        )
        await command.init()
        try:
            _reset_operators()
            last = Migrate._last_version_content
            if last is None:
                return ["-- no migration has been applied"]
            new = get_models_describe(APP_LABEL)
            last, new = Migrate._exclude_model_name_changes(last, new)
            Migrate.diff_models(last, new, no_input=True)
            Migrate.diff_models(new, last, False, no_input=True)
            Migrate._merge_operators()
            return list(Migrate.upgrade_operators)
        finally:
            _reset_operators()
            await command.aclose()

    return await _isolated(run)


async def make_migration(url: str, name: str) -> str | None:
    """Write the next migration for ``url``'s dialect, generated against that (empty)
    database. Returns the new file's name, or None when nothing changed."""
    from aerich import Command

    async def run() -> str | None:
        location = migrations_location(url)
        command = Command(tortoise_config(url, with_aerich=True, pool_size=2), app=APP_LABEL,
                          location=str(location))
        existing = list((location / APP_LABEL).glob("*.py")) if (location / APP_LABEL).is_dir() else []
        try:
            if not existing:
                await command.init_db(safe=True)
                return sorted(p.name for p in (location / APP_LABEL).glob("*.py"))[-1]
            await command.init()
            await command.upgrade(run_in_transaction=True)
            _reset_operators()
            # The migrate command reads the last state from the database it just upgraded.
            from aerich.migrate import Migrate

            last = await Migrate.get_last_version()
            Migrate._last_version_content = last.content if last else None
            version = await command.migrate(name, no_input=True)
            return version or None
        finally:
            _reset_operators()
            await command.aclose()

    return await _isolated(run)
