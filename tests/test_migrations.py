"""Migrations apply to empty SQLite and PostgreSQL databases, and fail the build when the
models change without a matching migration."""

from __future__ import annotations

import os
import secrets

import pytest

from nexus.db.migrations import apply_migrations, migrations_location, model_drift, pending_migrations
from nexus.testing.backends import create_backends, drop_backends
from tests.helpers import PG_ADMIN, run_cli

DIALECTS = ["sqlite", "postgres"]


@pytest.fixture(params=DIALECTS)
async def empty_database(request):
    """A database with nothing in it, of each dialect. (create_backends migrates, so this
    builds the bare database itself.)"""
    import tempfile
    from pathlib import Path
    from urllib.parse import urlsplit

    import asyncpg

    if request.param == "sqlite":
        directory = tempfile.mkdtemp(prefix="nexus-migrate-")
        yield f"sqlite://{Path(directory) / 'empty.sqlite3'}"
        return
    name = f"nexus_migrate_{os.getpid()}_{secrets.token_hex(4)}"  # unique across concurrent runs
    admin = await asyncpg.connect(urlsplit(PG_ADMIN)._replace(scheme="postgresql").geturl())
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlsplit(PG_ADMIN)._replace(path=f"/{name}").geturl()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_migrations_apply_to_an_empty_database(empty_database):
    files = sorted(p.name for p in (migrations_location(empty_database) / "nexus").glob("*.py"))
    assert await pending_migrations(empty_database) == files
    assert await apply_migrations(empty_database) == files
    assert await pending_migrations(empty_database) == []
    assert await apply_migrations(empty_database) == []  # a second run changes nothing


async def test_models_match_the_migrations(empty_database):
    """Fails when a model changed without a migration: run scripts/makemigrations.py."""
    await apply_migrations(empty_database)
    drift = await model_drift(empty_database)
    assert drift == [], "the models changed without a migration; run: python scripts/makemigrations.py <name>\n" + "\n".join(drift)


async def test_the_drift_check_notices_a_model_change(empty_database):
    """The guard above can fail: add a field to a model and it reports the SQL it needs."""
    from tortoise import fields

    from nexus.db.models import Contact

    await apply_migrations(empty_database)
    field = fields.CharField(max_length=10, null=True)
    Contact._meta.add_field("nickname", field)
    try:
        drift = await model_drift(empty_database)
    finally:
        del Contact._meta.fields_map["nickname"]
        Contact._meta.fields_db_projection.pop("nickname", None)
        Contact._meta.fields.discard("nickname")
        Contact._meta.db_fields.discard("nickname")
    assert any("nickname" in sql for sql in drift)


def test_nexus_migrate_command(tmp_path):
    url = f"sqlite://{tmp_path / 'cli.sqlite3'}"
    first = run_cli(["migrate"], cwd=tmp_path, env={"DATABASE_URL": url})
    assert first.returncode == 0, first.stderr
    shipped = sorted((path.name for path in (migrations_location(url) / "nexus").glob("[0-9]*_*.py")),
                     key=lambda name: int(name.split("_")[0]))
    assert shipped[0].startswith("0_")
    assert first.stdout == f"applied {len(shipped)} migration(s): {', '.join(shipped)}\n"
    check = run_cli(["migrate", "--check"], cwd=tmp_path, env={"DATABASE_URL": url})
    assert (check.returncode, check.stdout) == (0, "the database is up to date\n")


def test_nexus_migrate_reports_an_unreachable_database_in_one_line(tmp_path):
    result = run_cli(["migrate"], cwd=tmp_path, env={"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"})
    assert result.returncode == 1
    assert result.stderr.startswith("nexus: database.url: cannot migrate postgres://nobody@127.0.0.1:1/none: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


async def test_backends_fixture_database_is_migrated():
    backends = await create_backends("sqlite", "")
    try:
        assert await pending_migrations(backends.database_url) == []
    finally:
        await drop_backends(backends)
