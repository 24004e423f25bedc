"""Searching tickets and contacts, end to end over the REST API, on SQLite (FTS5) and on
PostgreSQL (tsvector, unaccent, pg_trgm): what agents type, in what order results come, who
may see them, and queries that must never break the server."""

from __future__ import annotations

import importlib.util
import os

import pytest
import pytest_asyncio

from nexus.db import close_database, models, open_database
from nexus.db.migrations import migrations_location
from nexus.search import SearchQuery
from nexus.testing.backends import create_backends, drop_backends, truncate
from nexus.testing.server import run_nexus
from tests.conftest import chat_config, receive
from tests.helpers import PG_ADMIN, run_cli

DIALECTS = ["sqlite", "postgres"]


@pytest_asyncio.fixture(scope="module", params=DIALECTS, loop_scope="session")
async def backends(request):
    """A migrated database of each dialect (whatever NEXUS_TEST_DATABASE says)."""
    backends = await create_backends("sqlite" if request.param == "sqlite" else PG_ADMIN,
                                     os.environ.get("NEXUS_TEST_REDIS", ""))
    try:
        yield backends
    finally:
        await drop_backends(backends)


@pytest_asyncio.fixture(loop_scope="session")
async def start(backends, chat_api):
    """``async with start(**settings) as server``: Nexus on an emptied database of the dialect."""
    await truncate(backends.database_url)

    def serve(**settings):
        return run_nexus(backends, {**chat_config(chat_api), **settings})

    return serve


@pytest_asyncio.fixture(loop_scope="session")
async def server(start):
    async with start() as running:
        yield running


async def found(server, token, path="/tickets", **params) -> list[dict]:
    status, page = await server.api("GET", path, token, params=params)
    assert status == 200, page
    return page["items"]


async def subjects(server, token, q, **params) -> list[str]:
    return [ticket["subject"] for ticket in await found(server, token, q=q, **params)]


async def test_words_accents_and_the_last_word_as_a_prefix(server):
    _, token = await server.agent()
    await receive(server, "a-1", "jose", "Hola, my invoice is wrong", name="José Núñez")
    await receive(server, "a-2", "zoe", "Crème brûlée arrived cold", name="Zoë Müller")
    await receive(server, "a-3", "sam", "Where is my parcel?", name="Sam")

    assert await subjects(server, token, "jose") == ["Hola, my invoice is wrong"]        # the contact's name
    assert await subjects(server, token, "NUÑEZ") == ["Hola, my invoice is wrong"]
    assert await subjects(server, token, "creme brulee") == ["Crème brûlée arrived cold"]
    assert await subjects(server, token, "muller") == ["Crème brûlée arrived cold"]
    assert await subjects(server, token, "inv") == ["Hola, my invoice is wrong"]         # as you type
    assert await subjects(server, token, "wrong invoice") == ["Hola, my invoice is wrong"]  # any order
    assert await subjects(server, token, "parcel") == ["Where is my parcel?"]            # punctuation
    assert await subjects(server, token, "invoice parcel") == []                          # every word
    assert await subjects(server, token, "nv") == []                                      # a prefix, not a substring
    await receive(server, "a-4", "sam", "Also: the café lost my umbrella")
    assert await subjects(server, token, "cafe umbrel") == ["Where is my parcel?"]        # a later message


async def test_relevance_puts_subjects_first_and_recent_sorts_by_activity(server):
    _, token = await server.agent()
    await receive(server, "r-1", "old", "Refund please")
    await receive(server, "r-2", "new", "Hello")
    await receive(server, "r-3", "new", "It is about the refund for my order")
    await receive(server, "r-4", "other", "Nothing to see")

    assert await subjects(server, token, "refund") == ["Refund please", "Hello"]
    assert await subjects(server, token, "refund", sort="recent") == ["Hello", "Refund please"]
    assert await subjects(server, token, "refund", sort="relevance") == ["Refund please", "Hello"]
    status, body = await server.api("GET", "/tickets", token, params={"q": "refund", "sort": "oldest"})
    assert status in (400, 422) and "sort" in str(body)


async def test_the_ticket_number(server):
    _, token = await server.agent()
    await receive(server, "n-1", "alice", "First")
    await receive(server, "n-2", "bob", "Second mentions #1 and 2")
    first, second = sorted(ticket.id for ticket in await server.tickets())
    assert [t["id"] for t in await found(server, token, q=f"#{second}")] == [second]
    assert [t["id"] for t in await found(server, token, q=f" #{first} ")] == [first]
    assert await found(server, token, q="#99999999999") == []     # beyond any id: a word, not an error
    assert await found(server, token, q="#0") == []


async def test_search_respects_visibility_and_filters(server):
    admin, admin_token = await server.agent("lead@example.com")
    status, support = await server.api("POST", "/teams", admin_token, {"name": "Support"})
    status, sales = await server.api("POST", "/teams", admin_token, {"name": "Sales"})
    _, token = await server.agent("pat@example.com", role="agent", team_ids=[support["id"]])
    await receive(server, "v-1", "a", "broken screen, support team")
    await receive(server, "v-2", "b", "broken screen, sales team")
    await receive(server, "v-3", "c", "broken screen, nobody's")
    ids = {t.subject.split(", ")[1]: t.id for t in await server.tickets()}
    await server.api("PATCH", f"/tickets/{ids['support team']}", admin_token, {"team_id": support["id"]})
    await server.api("PATCH", f"/tickets/{ids['sales team']}", admin_token, {"team_id": sales["id"], "status": "pending"})

    assert sorted(await subjects(server, token, "broken screen")) == ["broken screen, nobody's", "broken screen, support team"]
    assert await found(server, token, q=f"#{ids['sales team']}") == []
    assert len(await found(server, admin_token, q="broken")) == 3
    assert await subjects(server, admin_token, "broken", status="pending") == ["broken screen, sales team"]
    assert await subjects(server, admin_token, "broken", team=str(support["id"])) == ["broken screen, support team"]


async def test_pages_of_results_walk_every_match_once(server):
    _, token = await server.agent()
    for i in range(7):
        await receive(server, f"p-{i}", f"contact-{i}", f"printer jam number {i}")
    await receive(server, "p-x", "contact-x", "something else")
    seen, cursor = [], None
    while True:
        params = {"q": "printer", "limit": 3, **({"cursor": cursor} if cursor else {})}
        status, page = await server.api("GET", "/tickets", token, params=params)
        assert status == 200, page
        seen += [t["subject"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(f"printer jam number {i}" for i in range(7))
    status, body = await server.api("GET", "/tickets", token, params={"q": "printer", "cursor": "bm9wZQ"})
    assert (status, body["error"]["code"]) == (400, "invalid_cursor")


ODD_QUERIES = [
    "\x00", "a\x00b", "'", "''", '"', '""', "\\", "\\'", "o'brien", "it's", "&", "|", "!", "!!!", "()", "(a",
    "a & b", "a | b", "!a", "a:*", "*", "a*", "^a", "-a", "+a", "a -b", "NEAR(a b)", "a AND", "OR", "NOT a",
    "col:value", "{a}", "[a]", "a<->b", "%", "_", "%_%", "100%", "a.b.c", "x@y.z", "😀", "שלום", "Ωμέγα", "ⅷ", "²",
    "x" * 200, "a " * 100, "#", "##1", "#-1", "#١٢٣", "#1a", "   ", "\t\n", "\u200b", "é" * 50,
]


@pytest.mark.parametrize("q", ODD_QUERIES, ids=range(len(ODD_QUERIES)))
async def test_odd_queries_never_fail(server, q):
    _, token = await server.agent()
    if not await server.tickets():
        await receive(server, "o-1", "obrien", "Mr O'Brien's café & bar (x@y.z) 100% done")
    for path in ("/tickets", "/contacts"):
        status, body = await server.api("GET", path, token, params={"q": q})
        assert status == 200 or (status in (400, 422) and body["error"]["code"]), (path, q, status, body)


async def test_quotes_and_symbols_are_searched_not_parsed(server):
    _, token = await server.agent()
    await receive(server, "s-1", "obrien", "Mr O'Brien's café & bar (x@y.z) 100% done")
    await receive(server, "s-2", "other", "nothing here")
    for q in ("o'brien", "O'Brien's", "bar)", "(x@y.z)", "100%", "café &"):
        assert len(await found(server, token, q=q)) == 1, q


async def test_contacts_by_names_emails_phones_and_addresses(server):
    _, token = await server.agent()
    await receive(server, "c-1", "tg-1001", "hi", name="José María")
    await receive(server, "c-2", "tg-1002", "hi", name="Natalie Jones")
    await receive(server, "c-3", "tg-1003", "hi", name="Alicia Keys")
    contacts = {t.contact.name: t.contact.id for t in await server.tickets()}
    await server.api("PATCH", f"/contacts/{contacts['José María']}", token,
                     {"email": "jose.maria@example.org", "phone": "+49 30 1234567"})
    await server.api("PATCH", f"/contacts/{contacts['Natalie Jones']}", token, {"email": "nat@sample.net"})

    async def names(q, **params):
        return [c["name"] for c in await found(server, token, "/contacts", q=q, **params)]

    assert await names("jose") == ["José María"]
    assert await names("MARIA") == ["José María"]
    assert await names("example.org") == ["José María"]          # inside an email
    assert await names("sample") == ["Natalie Jones"]
    assert await names("+49 30 123") == ["José María"]           # a phone as typed
    assert await names("301234567") == ["José María"]            # its digits
    assert await names("tg-1003") == ["Alicia Keys"]             # the channel address
    assert await names("1002") == ["Natalie Jones"]
    # a word (or its prefix) first, then a substring match inside a word
    assert await names("ali") == ["Alicia Keys", "Natalie Jones"]
    assert await names("ali", sort="recent") == ["Alicia Keys", "Natalie Jones"]
    assert await names("nobody") == []


async def test_the_index_follows_edits(server):
    _, token = await server.agent()
    await receive(server, "e-1", "dana", "Old subject line", name="Dana")
    (ticket,) = await server.tickets()
    await server.api("PATCH", f"/tickets/{ticket.id}", token, {"subject": "Shiny new title"})
    await server.api("PATCH", f"/contacts/{ticket.contact.id}", token, {"name": "Dagmar"})
    assert await subjects(server, token, "shiny") == ["Shiny new title"]
    assert await subjects(server, token, "old subject") == ["Shiny new title"]          # still the message
    assert await subjects(server, token, "dagmar") == ["Shiny new title"]
    assert [c["name"] for c in await found(server, token, "/contacts", q="dagm")] == ["Dagmar"]
    assert await found(server, token, "/contacts", q="zzz") == []
    await models.Message.filter(ticket_id=ticket.id).update(text="Edited text")
    assert await subjects(server, token, "edited") == ["Shiny new title"]
    assert await subjects(server, token, "old subject line") == []
    await models.Ticket.filter(id=ticket.id).delete()
    assert await found(server, token, q="edited") == []


async def test_search_language_setting_stems_and_indexes_again(start, backends):
    async with start(search={"language": "english"}) as server:
        _, token = await server.agent()
        await receive(server, "l-1", "runner", "Shoes for the run")
        assert await subjects(server, token, "running shoe") == ["Shoes for the run"]
    async with start(search={"language": "simple"}) as server:  # same database, indexed again
        _, token = await server.agent("second@example.com")
        assert await subjects(server, token, "running shoe") == []
        assert await subjects(server, token, "run shoe") == ["Shoes for the run"]


async def test_an_unknown_language_stops_start_up_naming_the_key(start, backends, tmp_path):
    if backends.dialect == "sqlite":
        async with start(search={"language": "klingon"}) as server:   # SQLite: no stemming
            _, token = await server.agent()
            await receive(server, "k-1", "worf", "Qapla battle")
            assert await subjects(server, token, "qapla") == ["Qapla battle"]
        return
    with pytest.raises(Exception, match=r"search\.language: PostgreSQL has no text search configuration 'klingon'"):
        async with start(search={"language": "klingon"}):
            pass
    result = run_cli(["serve", "--no-migrate"], cwd=tmp_path,
                     env={"DATABASE_URL": backends.database_url, "NEXUS_SEARCH__LANGUAGE": "klingon"})
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == ("nexus: search.language: PostgreSQL has no text search configuration 'klingon' "
                             "(SELECT cfgname FROM pg_ts_config lists them)")


async def test_the_migration_indexes_existing_rows(server, backends):
    """The backfill: documents dropped, then the migration run again over rows already there."""
    _, token = await server.agent()
    await receive(server, "b-1", "bea", "Existing conversation about kites", name="Beatriz")
    url = backends.database_url
    path = next((migrations_location(url) / "nexus").glob("*_search.py"))
    spec = importlib.util.spec_from_file_location("search_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    ctx = await open_database(url, global_fallback=False)
    try:
        connection = ctx.connections.get(backends.dialect)
        if backends.dialect == "postgres":
            await connection.execute_script("TRUNCATE search_messages, search_tickets, search_contacts")
        else:
            await connection.execute_script(
                "INSERT INTO search_messages (search_messages) VALUES ('delete-all');"
                "INSERT INTO search_tickets (search_tickets) VALUES ('delete-all');"
                "DELETE FROM search_contacts;")
        assert await found(server, token, q="kites") == []
        await connection.execute_script(await migration.upgrade(connection))
    finally:
        await close_database(ctx)
    assert await subjects(server, token, "kites") == ["Existing conversation about kites"]
    assert await subjects(server, token, "beatriz") == ["Existing conversation about kites"]
    assert [c["name"] for c in await found(server, token, "/contacts", q="bea")] == ["Beatriz"]


def test_queries_are_parsed_into_words():
    assert SearchQuery.parse("  Hello,  (world)! ").words == ("Hello", "world")
    assert SearchQuery.parse("#42").ticket_id == 42
    assert SearchQuery.parse("#١٢").ticket_id is None
    assert SearchQuery.parse("a\x00b").words == ("a", "b")
    assert SearchQuery.parse("+49 (30) 123-45").digits == "493012345"
    assert SearchQuery.parse("o'brien").tsquery() == "'o''brien':*"
    assert SearchQuery.parse('say "hi" now').fts5() == '"say" "hi" "now" *'
    assert SearchQuery.parse("!!! ...").empty


def test_a_query_splits_into_its_first_words_and_the_prefix():
    assert SearchQuery.parse("refund").head_and_tail() == (None, None)
    assert SearchQuery.parse("late refund ord").head_and_tail() == ("'late' & 'refund'", "'ord':*")
    assert SearchQuery.parse("o'brien caf").head_and_tail() == ("'o''brien'", "'caf':*")


# Rows of a stand-in document table: (id, text). Among 3,000 ids: "dense" in every other row,
# "tenth" in every tenth (walked on past the first window), "middling" in every 40th (read
# through the index), "sparse" in five, "gone" only in the oldest rows, "none" nowhere;
# "mixer" and "mixed" begin as "mix"; "rarely" is rare and always beside a "mix" word.
def _documents() -> list[tuple[int, str]]:
    rows = []
    for i in range(1, 3001):
        words = ["filler"]
        words += ["dense"] if i % 2 == 0 else []
        words += ["tenth"] if i % 10 == 0 else []
        words += ["middling"] if i % 40 == 0 else []
        words += ["sparse"] if i in (7, 900, 1500, 2222, 2990) else []
        words += ["gone"] if i <= 150 else []
        words += ["mixer"] if i % 3 == 0 else ["mixed"] if i % 3 == 1 else []
        words += ["rarely"] if i % 250 == 1 else []
        rows.append((i, " ".join(words)))
    return rows


@pytest.mark.parametrize("q", ["dense", "tenth", "middling", "sparse", "gone", "none", "mix", "rarely mix", "dense middling",
                               "rarely mixe", "mixer rarely"])
@pytest.mark.parametrize("wanted", [1, 3, 10, 100])
async def test_the_newest_matches_are_the_newest_whichever_way_they_are_read(backends, q, wanted):
    """``nexus_search_newest`` walks the newest rows, then chooses between walking on and the
    index from what it found: whichever it takes, the answer is the ``wanted`` newest
    matches, newest first, as a plain query finds them."""
    if backends.dialect != "postgres":
        pytest.skip("SQLite's FTS5 reads matches newest first by itself")
    import asyncpg

    query = SearchQuery.parse(q)
    head, tail = query.head_and_tail()
    conn = await asyncpg.connect(backends.database_url.replace("postgres://", "postgresql://", 1))
    try:
        async with conn.transaction():
            await conn.execute("CREATE TEMP TABLE documents (id INT PRIMARY KEY, owner_id INT NOT NULL, "
                               "vector TSVECTOR NOT NULL) ON COMMIT DROP")
            await conn.executemany("INSERT INTO documents VALUES ($1, $1 % 7, to_tsvector('simple', $2))", _documents())
            await conn.execute("CREATE INDEX ON documents USING gin (vector)")
            await conn.execute("ANALYZE documents")
            expected = await conn.fetch("SELECT id FROM documents WHERE vector @@ to_tsquery('simple', $1) "
                                        "ORDER BY id DESC LIMIT $2", query.tsquery(), wanted)
            got = await conn.fetch("SELECT id, owner_id, rank FROM nexus_search_newest('documents', "
                                   "to_tsquery('simple', $1), $2, NULL, to_tsquery('simple', $3), "
                                   "to_tsquery('simple', $4))", query.tsquery(), wanted, head, tail)
            assert [row["id"] for row in got] == [row["id"] for row in expected]
            assert all(row["owner_id"] == row["id"] % 7 and row["rank"] > 0 for row in got)
            assert await conn.fetchval("SELECT current_setting('enable_indexscan') || current_setting('enable_seqscan')") == "onon"
    finally:
        await conn.close()
