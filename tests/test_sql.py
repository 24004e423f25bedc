"""nexus.db.sql: the hand-written queries' helpers behave alike on SQLite and PostgreSQL."""

from __future__ import annotations

import os

import pytest_asyncio
from tortoise.transactions import in_transaction

from nexus.db import close_database, models, open_database
from nexus.db.sql import dialect, execute, fetch_all, fetch_one
from nexus.testing.backends import create_backends, drop_backends, truncate
from tests.helpers import PG_ADMIN

DIALECTS = ["sqlite", "postgres"]


@pytest_asyncio.fixture(scope="module", params=DIALECTS, loop_scope="session")
async def database(request):
    backends = await create_backends("sqlite" if request.param == "sqlite" else PG_ADMIN,
                                     os.environ.get("NEXUS_TEST_REDIS", ""))
    try:
        yield request.param, backends.database_url
    finally:
        await drop_backends(backends)


@pytest_asyncio.fixture(loop_scope="session")
async def opened(database):
    name, url = database
    await truncate(url)
    ctx = await open_database(url)
    try:
        yield name
    finally:
        await close_database(ctx)


async def test_the_dialect_is_the_database_s(opened):
    assert dialect() == opened


async def test_placeholders_rows_and_changed_counts(opened):
    await models.Team.create(name="Sales")
    await models.Team.create(name="Support")
    rows = await fetch_all("SELECT name FROM teams WHERE name IN (?, ?) ORDER BY name", "Sales", "Support")
    assert [row["name"] for row in rows] == ["Sales", "Support"]
    assert await fetch_one("SELECT name FROM teams WHERE name = ?", "Nobody") is None
    assert await execute("UPDATE teams SET name = ? WHERE name = ?", "Sales EU", "Sales") == 1
    assert await execute("UPDATE teams SET name = ? WHERE name = ?", "x", "Nobody") == 0
    returned = await fetch_all("UPDATE teams SET name = ? WHERE name = ? RETURNING id, name", "Help", "Support")
    assert [row["name"] for row in returned] == ["Help"]


async def test_a_rolled_back_transaction_keeps_nothing(opened):
    await models.Team.create(name="Billing")
    try:
        async with in_transaction() as conn:
            assert await execute("UPDATE teams SET name = ? WHERE name = ?", "Temporary", "Billing", conn=conn) == 1
            assert await fetch_one("SELECT name FROM teams WHERE name = ?", "Temporary", conn=conn) is not None
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert await fetch_one("SELECT name FROM teams WHERE name = ?", "Temporary") is None
    assert await fetch_one("SELECT name FROM teams WHERE name = ?", "Billing") is not None
