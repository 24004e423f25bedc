"""Write the next migration for both dialects, after changing nexus/db/models.py.

    python scripts/makemigrations.py add_ticket_source

Each dialect's migration is generated against an empty database of that dialect with the
existing migrations applied: a temporary SQLite file, and a temporary database on the
PostgreSQL server at NEXUS_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from nexus.db.migrations import make_migration


async def main(name: str) -> int:
    admin_url = os.environ.get("NEXUS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    temp_db = f"nexus_makemigrations_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite://{Path(tmp) / 'make.sqlite3'}"
        print("sqlite:", await make_migration(sqlite_url, name) or "no changes")
    admin = await asyncpg.connect(urlsplit(admin_url)._replace(scheme="postgresql").geturl())
    try:
        await admin.execute(f'CREATE DATABASE "{temp_db}"')
        pg_url = urlsplit(admin_url)._replace(path=f"/{temp_db}").geturl()
        print("postgres:", await make_migration(pg_url, name) or "no changes")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{temp_db}" WITH (FORCE)')
        await admin.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(asyncio.run(main(sys.argv[1])))
