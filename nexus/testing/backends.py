"""Databases and Redis namespaces for test runs.

``NEXUS_TEST_DATABASE`` chooses the database: ``sqlite`` (the default) or a PostgreSQL URL such
as ``postgres://postgres@127.0.0.1:5432/test``, whose server gets a fresh database for each test
session (dropped at the end). ``NEXUS_TEST_REDIS`` chooses Redis: empty for the embedded
stand-in (the default), or a URL such as ``redis://127.0.0.1:6379/0``; every test gets its own
key namespace, so concurrent runs do not collide.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tortoise.context import TortoiseContext

from nexus.db import close_database, dialect_of, open_database
from nexus.db.migrations import apply_migrations

#: Tables emptied between tests, children first.
TABLES = (
    "pending_statuses", "attachments", "messages", "ticket_labels", "tickets", "contact_identities",
    "contacts", "channel_state", "inbound_events", "channels", "canned_responses", "team_members",
    "teams", "api_tokens", "agents",
)


@dataclass
class TestBackends:
    """Where a test session's data lives. ``data_dir`` is a temporary directory (attachments
    and anything else Nexus keeps in ``data_dir``), removed by :func:`drop_backends`, so a test
    run leaves nothing in the author's folder."""

    database_url: str
    redis_url: str | None
    data_dir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="nexus-test-data-"))
    _cleanup: list = field(default_factory=list)

    @property
    def dialect(self) -> str:
        return dialect_of(self.database_url)

    def namespace(self) -> str:
        """A fresh Redis namespace (one per test)."""
        return f"nexustest-{secrets.token_hex(4)}"


def _pg_admin_url(url: str) -> str:
    return urlsplit(url)._replace(scheme="postgresql", query="").geturl()


async def create_backends(database: str | None = None, redis: str | None = None) -> TestBackends:
    """Provision a migrated database for a test session."""
    database = database if database is not None else os.environ.get("NEXUS_TEST_DATABASE", "sqlite")
    redis = redis if redis is not None else os.environ.get("NEXUS_TEST_REDIS", "")
    if database in ("", "sqlite"):
        directory = tempfile.mkdtemp(prefix="nexus-test-data-")
        url = f"sqlite://{Path(directory) / 'test.sqlite3'}"
        backends = TestBackends(url, redis or None, data_dir=directory)
    elif database.startswith(("postgres://", "postgresql://")):
        import asyncpg

        name = f"nexus_test_{os.getpid()}_{secrets.token_hex(3)}"
        admin = await asyncpg.connect(_pg_admin_url(database))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        url = urlsplit(database)._replace(path=f"/{name}").geturl()
        backends = TestBackends(url, redis or None)
        backends._cleanup.append((database, name))
    else:
        raise ValueError(f"NEXUS_TEST_DATABASE must be 'sqlite' or a postgres:// URL, not {database!r}")
    await apply_migrations(backends.database_url)
    return backends


async def drop_backends(backends: TestBackends) -> None:
    """Drop the session's PostgreSQL database and remove its data directory."""
    import asyncpg

    shutil.rmtree(backends.data_dir, ignore_errors=True)
    for admin_url, name in backends._cleanup:
        admin = await asyncpg.connect(_pg_admin_url(admin_url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def truncate(url: str) -> None:
    """Empty every table, so the next test starts from nothing."""
    ctx: TortoiseContext = await open_database(url, global_fallback=False)
    try:
        connection = ctx.connections.get(dialect_of(url))
        if dialect_of(url) == "postgres":
            await connection.execute_script(
                "TRUNCATE " + ", ".join(f'"{t}"' for t in TABLES) + " RESTART IDENTITY CASCADE"
            )
        else:
            await connection.execute_script(
                "".join(f'DELETE FROM "{t}";' for t in TABLES)
                + "DELETE FROM sqlite_sequence WHERE name IN (" + ", ".join(f"'{t}'" for t in TABLES) + ");"
            )
    finally:
        await close_database(ctx)
