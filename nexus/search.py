"""Searching tickets and contacts: which ids match a query, best first.

The documents are indexed by the database itself (migration ``5_..._search``): on PostgreSQL,
``tsvector`` side tables with GIN indexes (and a ``pg_trgm`` index for substrings of contacts'
emails, phones and addresses); on SQLite, FTS5 tables. Triggers keep them current, so the
write paths do nothing for search. Accents are folded on both (``unaccent``;
``remove_diacritics``), and the text search configuration is the ``search.language`` setting.

A query is a list of words, every one of which must match; the last word also matches as a
prefix (as-you-type search). ``#123`` finds ticket 123. A ticket matches when one of its
messages (notes included), its subject or its contact's details hold the words.

Ranking: each source (messages, subjects, contacts) yields its most recent matches, a
hundred to begin with, scored by text relevance (``ts_rank`` or ``bm25``; subjects and names
weigh more than message text). Reading only the most recent matches is what keeps a common word
cheap in a million messages; on PostgreSQL ``nexus_search_newest`` (migration ``6_...``) walks
the newest rows while matches are dense and reads the rest through the index when they are not,
from what it found rather than from the planner's estimates. The caller's visibility rule
(none for an admin without filters: ``within`` None) then filters those ids, and when too
few are left (an agent who sees few tickets), the window widens. ``sort=recent`` orders the
same matches by last activity instead.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from tortoise.context import get_current_context
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from nexus.db import close_database, dialect_of, models, open_database, sql

logger = logging.getLogger(__name__)

Sort = Literal["relevance", "recent"]
T = TypeVar("T")

#: Words of a query that count; the rest are ignored.
MAX_WORDS = 12
#: Matches read per source to begin with, and the most after widening.
FIRST_WINDOW = 100
LAST_WINDOW = 12_800
#: Weights of a ticket's sources in its score (the documents' own weights come on top).
_SOURCE_WEIGHTS = {"subject": 1.0, "contact": 1.0, "message": 1.0}
_INT32 = 2**31 - 1
_PHONE = re.compile(r"^[\d\s+().\-/]+$")
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")
_TICKET_ID = re.compile(r"^#([0-9]{1,10})$")
#: PostgreSQL text search configuration names (and a SQLite tokenizer choice).
LANGUAGE_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


class SearchError(Exception):
    """A search setting the database cannot honour; the message names the key."""


@dataclass(frozen=True)
class SearchQuery:
    """What an agent typed, cleaned: never a syntax error for the database."""

    words: tuple[str, ...]
    #: ``#123``: the ticket id, when that is the whole query.
    ticket_id: int | None = None
    #: The digits of a query that looks like a phone number (``+49 30 123-45``).
    digits: str | None = None

    @classmethod
    def parse(cls, text: str) -> SearchQuery:
        text = text.replace("\x00", " ").strip()
        if match := _TICKET_ID.match(text):
            number = int(match.group(1))
            if 0 < number <= _INT32:
                return cls(words=(), ticket_id=number)
        words = []
        for raw in text.split():
            word = _EDGE_PUNCTUATION.sub("", raw).replace("\\", "")
            if any(ch.isalnum() for ch in word):
                words.append(word)
        digits = re.sub(r"\D", "", text) if _PHONE.match(text) and sum(ch.isdigit() for ch in text) >= 3 else None
        if digits:
            words = [digits]
        return cls(words=tuple(words[:MAX_WORDS]), digits=digits or None)

    @property
    def empty(self) -> bool:
        return not self.words and self.ticket_id is None

    def tsquery(self) -> str:
        """PostgreSQL ``to_tsquery`` text: each word quoted (the parser splits it as it split
        the documents), all required, the last one a prefix."""
        quoted = ["'" + word.replace("'", "''") + "'" for word in self.words]
        if quoted:
            quoted[-1] += ":*"
        return " & ".join(quoted)

    def head_and_tail(self) -> tuple[str | None, str | None]:
        """For two words or more, the :meth:`tsquery` of the words but the last (every one
        whole) and of the last (a prefix): the index may look up the first and check the
        second per row, when a short prefix begins too many words."""
        if len(self.words) < 2:
            return None, None
        head = SearchQuery(self.words[:-1]).tsquery().removesuffix(":*")
        return head, SearchQuery(self.words[-1:]).tsquery()

    def fts5(self) -> str:
        """SQLite FTS5 ``MATCH`` text: each word a quoted string, all required, the last a prefix."""
        quoted = ['"' + word.replace('"', '""') + '"' for word in self.words]
        if quoted:
            quoted[-1] += " *"
        return " ".join(quoted)

    def substrings(self) -> list[str]:
        """``LIKE`` patterns (lower case, escaped) for substring matches of contacts' details;
        empty when a word is too short for a trigram index to help."""
        if not self.words or any(len(word) < 3 for word in self.words):
            return []
        return ["%" + re.sub(r"([\\%_])", r"\\\1", word.lower()) + "%" for word in self.words]


@dataclass
class Matches:
    """Matching ids with their scores; ``complete`` unless a source had more than were read."""

    scores: dict[int, float]
    complete: bool


@dataclass(frozen=True)
class Hit:
    source: Literal["message", "subject", "contact"]
    #: The message, ticket or contact that matched.
    row_id: int
    #: The ticket (or contact) it finds.
    owner_id: int
    score: float


def ticket_scores(hits: Sequence[Hit], wanted: int) -> Matches:
    """A ticket's score: its subject's and contact's scores plus its best message's."""
    parts: dict[int, dict[str, float]] = {}
    counts: dict[str, set[int]] = {"message": set(), "subject": set(), "contact": set()}
    for hit in hits:
        counts[hit.source].add(hit.row_id)
        best = parts.setdefault(hit.owner_id, {})
        best[hit.source] = max(best.get(hit.source, 0.0), hit.score * _SOURCE_WEIGHTS[hit.source])
    complete = all(len(ids) < wanted for ids in counts.values())
    return Matches({ticket: sum(best.values()) for ticket, best in parts.items()}, complete)


class Backend(Protocol):
    async def ticket_hits(self, query: SearchQuery, wanted: int) -> list[Hit]: ...
    async def contact_hits(self, query: SearchQuery, wanted: int) -> list[Hit]: ...
    async def language(self) -> str: ...
    async def change_language(self, language: str) -> None: ...


async def fetch_all(sql: str, *params: Any) -> list[dict[str, Any]]:
    """Rows of a hand-written query on the open database, with ``$1, $2, ...`` placeholders on
    PostgreSQL and ``?`` on SQLite."""
    connection = _connection()
    _, rows = await connection.execute_query(sql, list(params))
    return [dict(row) for row in rows]


def _connection_name() -> str:
    ctx = get_current_context()
    assert ctx is not None, "the database is not open"
    return next(iter(ctx.connections.db_config))


def _connection() -> Any:
    ctx = get_current_context()
    assert ctx is not None, "the database is not open"
    return ctx.connections.get(_connection_name())


class PostgresSearch:
    #: pg_advisory_xact_lock key, so that processes starting together re-index once.
    LOCK_KEY = 0x6E657873  # "nexs"

    TICKETS = """
        WITH q AS (SELECT nexus_search_query($1) AS query, nexus_search_query($3) AS head,
                          nexus_search_query($4) AS tail)
        SELECT 'message' AS source, m.id, m.owner_id, m.rank
            FROM q, nexus_search_newest('search_messages', q.query, $2, NULL, q.head, q.tail) m
        UNION ALL
        SELECT 'subject', s.id, s.owner_id, s.rank
            FROM q, nexus_search_newest('search_tickets', q.query, $2, NULL, q.head, q.tail) s
        UNION ALL
        SELECT 'contact', c.id, t.id, c.rank
            FROM q, nexus_search_newest('search_contacts', q.query, $2, NULL, q.head, q.tail) c
            CROSS JOIN LATERAL (SELECT id FROM tickets WHERE contact_id = c.id) t
    """
    CONTACTS = """
        SELECT 'contact' AS source, c.id, c.owner_id, c.rank
        FROM nexus_search_newest('search_contacts', nexus_search_query($1), $2,
                                 ARRAY(SELECT nexus_unaccent(p) FROM unnest($3::text[]) p),
                                 nexus_search_query($4), nexus_search_query($5)) c
    """

    async def ticket_hits(self, query: SearchQuery, wanted: int) -> list[Hit]:
        return _hits(await fetch_all(self.TICKETS, query.tsquery(), wanted, *query.head_and_tail()))

    async def contact_hits(self, query: SearchQuery, wanted: int) -> list[Hit]:
        patterns = query.substrings()
        return _hits(await fetch_all(self.CONTACTS, query.tsquery(), wanted, patterns or None, *query.head_and_tail()))

    async def language(self) -> str:
        (row,) = await fetch_all("SELECT language FROM search_settings WHERE id = 1")
        return row["language"]

    async def change_language(self, language: str) -> None:
        async with in_transaction(_connection_name()) as conn:
            await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [self.LOCK_KEY])
            _, rows = await conn.execute_query("SELECT language FROM search_settings WHERE id = 1")
            if rows[0]["language"] == language:
                return  # another process did it while this one waited
            _, found = await conn.execute_query("SELECT cfgname FROM pg_ts_config WHERE cfgname = $1", [language])
            if not found:
                raise SearchError(f"search.language: PostgreSQL has no text search configuration {language!r} "
                                  "(SELECT cfgname FROM pg_ts_config lists them)")
            # The name matched LANGUAGE_PATTERN and exists: safe to write into the function.
            await conn.execute_script(
                "CREATE OR REPLACE FUNCTION nexus_search_config() RETURNS regconfig LANGUAGE sql IMMUTABLE "
                f"PARALLEL SAFE AS $$ SELECT '{language}'::regconfig $$"
            )
            await conn.execute_query("UPDATE search_settings SET language = $1 WHERE id = 1", [language])
            await conn.execute_query("SELECT nexus_search_rebuild()")


class SqliteSearch:
    TICKETS = """
        SELECT 'message' AS source, s.id, m.ticket_id AS owner_id, s.rank FROM (
            SELECT rowid AS id, -bm25(search_messages) AS rank FROM search_messages
            WHERE search_messages MATCH ? ORDER BY rowid DESC LIMIT ?) s JOIN messages m ON m.id = s.id
        UNION ALL
        SELECT 'subject', id, id, rank * 10 FROM (
            SELECT rowid AS id, -bm25(search_tickets) AS rank FROM search_tickets
            WHERE search_tickets MATCH ? ORDER BY rowid DESC LIMIT ?)
        UNION ALL
        SELECT 'contact', c.id, t.id, c.rank FROM (
            SELECT rowid AS id, -bm25(search_contacts, 10.0, 4.0, 2.0) AS rank FROM search_contacts
            WHERE search_contacts MATCH ? ORDER BY rowid DESC LIMIT ?) c JOIN tickets t ON t.contact_id = c.id
    """
    CONTACTS = """
        SELECT 'contact' AS source, id, id AS owner_id, rank FROM (
            SELECT rowid AS id, -bm25(search_contacts, 10.0, 4.0, 2.0) AS rank FROM search_contacts
            WHERE search_contacts MATCH ? ORDER BY rowid DESC LIMIT ?)
    """
    SUBSTRINGS = """
        SELECT 'contact' AS source, rowid AS id, rowid AS owner_id, 0.0 AS rank FROM search_contacts
        WHERE {conditions} ORDER BY rowid DESC LIMIT ?
    """
    #: FTS5 has no unaccent; English gets the Porter stemmer, every other language none.
    STEMMED = {"english": "porter unicode61 remove_diacritics 2"}
    PLAIN = "unicode61 remove_diacritics 2"
    TABLES = ("search_messages", "search_tickets", "search_contacts")

    async def ticket_hits(self, query: SearchQuery, wanted: int) -> list[Hit]:
        match = query.fts5()
        return _hits(await fetch_all(self.TICKETS, match, wanted, match, wanted, match, wanted))

    async def contact_hits(self, query: SearchQuery, wanted: int) -> list[Hit]:
        rows = await fetch_all(self.CONTACTS, query.fts5(), wanted)
        if patterns := query.substrings():
            haystack = "lower(names || ' ' || details || ' ' || addresses)"
            if query.digits:
                haystack = f"replace(replace(replace(replace({haystack}, ' ', ''), '-', ''), '+', ''), '.', '')"
            conditions = " AND ".join(f"{haystack} LIKE ? ESCAPE '\\'" for _ in patterns)
            rows += await fetch_all(self.SUBSTRINGS.format(conditions=conditions), *patterns, wanted)
        return _hits(rows)

    async def language(self) -> str:
        (row,) = await fetch_all("SELECT language FROM search_settings WHERE id = 1")
        return row["language"]

    async def change_language(self, language: str) -> None:
        tokenizer = self.STEMMED.get(language, self.PLAIN)
        async with in_transaction(_connection_name()) as conn:
            _, rows = await conn.execute_query("SELECT language FROM search_settings WHERE id = 1")
            if self.STEMMED.get(rows[0]["language"], self.PLAIN) != tokenizer:
                await self._retokenize(conn, tokenizer)
            await conn.execute_query("UPDATE search_settings SET language = ? WHERE id = 1", [language])

    async def _retokenize(self, conn: Any, tokenizer: str) -> None:
        """Create the FTS5 tables again with ``tokenizer`` and index everything again. The
        triggers stay: they name the tables, which exist again when this commits."""
        await conn.execute_script("CREATE TEMP TABLE search_contacts_copy AS "
                                  "SELECT rowid AS id, names, details, addresses FROM search_contacts")
        for table in self.TABLES:
            _, rows = await conn.execute_query("SELECT sql FROM sqlite_master WHERE name = ?", [table])
            create = re.sub(r"tokenize='[^']*'", f"tokenize='{tokenizer}'", rows[0]["sql"])
            await conn.execute_script(f"DROP TABLE {table}; {create};")
        await conn.execute_script(
            "INSERT INTO search_messages (search_messages) VALUES ('rebuild');"
            "INSERT INTO search_tickets (search_tickets) VALUES ('rebuild');"
            "INSERT INTO search_contacts (rowid, names, details, addresses) "
            "SELECT id, names, details, addresses FROM search_contacts_copy;"
            "DROP TABLE search_contacts_copy;"
        )


def _hits(rows: list[dict[str, Any]]) -> list[Hit]:
    return [Hit(row["source"], row["id"], row["owner_id"], float(row["rank"] or 0.0)) for row in rows]


def _contact_scores(hits: Sequence[Hit], wanted: int) -> Matches:
    scores: dict[int, float] = {}
    for hit in hits:
        scores[hit.owner_id] = max(scores.get(hit.owner_id, 0.0), hit.score)
    return Matches(scores, len(hits) < wanted)


@dataclass(frozen=True)
class Page:
    """One page of ids, in order, and the cursor of the next (None at the end)."""

    ids: list[int]
    next_cursor: str | None


class Search:
    """The search of one installation: its dialect and its language."""

    def __init__(self, database_url: str, language: str = "simple") -> None:
        self.database_url = database_url
        self.language = language
        self.backend: Backend = PostgresSearch() if dialect_of(database_url) == "postgres" else SqliteSearch()

    async def prepare(self) -> None:
        """Apply ``search.language`` if the database was indexed with another: every
        document is indexed again, once, whichever process gets there first. Opens the
        database on its own; raises :class:`SearchError` naming the key."""
        ctx = await open_database(self.database_url, global_fallback=False)
        try:
            with ctx:
                if await self.backend.language() != self.language:
                    started = time.monotonic()
                    await self.backend.change_language(self.language)
                    logger.warning("search.language is now %r: every message, ticket and contact was indexed "
                                   "again in %.1fs", self.language, time.monotonic() - started)
        finally:
            await close_database(ctx)

    async def tickets(self, text: str, within: QuerySet[models.Ticket] | None, *, sort: Sort = "relevance",
                      limit: int = 25, cursor: str | None = None) -> Page:
        """The tickets of ``within`` (None: every ticket) that match ``text``, best (or latest)
        first; ``cursor`` is a page's ``next_cursor``. Raises :class:`InvalidCursor`."""
        query = SearchQuery.parse(text)
        offset = decode_cursor(cursor)
        if query.ticket_id is not None:
            ids = [row[0] for row in await _ticket_keys([query.ticket_id], within)]
            return Page(ids[offset:offset + limit], None)

        async def find(wanted: int) -> Matches:
            return ticket_scores(await self.backend.ticket_hits(query, wanted), wanted)

        async def keys(ids: list[int]) -> list[tuple[int, datetime | None]]:
            return await _ticket_keys(ids, within)

        return await _ranked(query, find, keys, sort, limit, offset)

    async def contacts(self, text: str, within: QuerySet[models.Contact] | None, *, sort: Sort = "relevance",
                       limit: int = 25, cursor: str | None = None) -> Page:
        """The contacts of ``within`` (None: every contact) whose names, emails, phones or
        addresses match ``text``, best (or newest) first; ``cursor`` is a page's
        ``next_cursor``. Raises :class:`InvalidCursor`."""
        query = SearchQuery.parse(text)
        offset = decode_cursor(cursor)

        async def find(wanted: int) -> Matches:
            return _contact_scores(await self.backend.contact_hits(query, wanted), wanted)

        async def keys(ids: list[int]) -> list[tuple[int, int]]:
            if within is None:
                found = [row["id"] for row in await sql.fetch_all(_CONTACT_KEYS[sql.dialect()], _id_list(ids))]
            else:
                found = list(await within.filter(id__in=ids).values_list("id", flat=True))
            return [(contact_id, contact_id) for contact_id in found]

        return await _ranked(query, find, keys, sort, limit, offset)


#: Which of some ids are rows, in one statement whatever their number (an ``IN`` list of
#: parameters would be a statement of its own, prepared again, for every count of ids).
_TICKET_KEYS = {"postgres": "SELECT id, last_message_at FROM tickets WHERE id = ANY(?::int[])",
                "sqlite": "SELECT id, last_message_at FROM tickets WHERE id IN (SELECT value FROM json_each(?))"}
_CONTACT_KEYS = {"postgres": "SELECT id FROM contacts WHERE id = ANY(?::int[])",
                 "sqlite": "SELECT id FROM contacts WHERE id IN (SELECT value FROM json_each(?))"}


def _id_list(ids: list[int]) -> list[int] | str:
    return ids if sql.dialect() == "postgres" else json.dumps(ids)


async def _ticket_keys(ids: list[int], within: QuerySet[models.Ticket] | None) -> list[tuple[int, datetime | None]]:
    """The tickets among ``ids`` that ``within`` holds, with their last activity. Without a
    rule (``within`` None), hand-written: the ORM's query for a few hundred ids costs more
    than the search that found them."""
    if within is not None:
        return list(await within.filter(id__in=ids).values_list("id", "last_message_at"))
    rows = await sql.fetch_all(_TICKET_KEYS[sql.dialect()], _id_list(ids))
    return [(row["id"], _timestamp(row["last_message_at"])) for row in rows]


def _timestamp(value: datetime | str | None) -> datetime | None:
    """A timestamp as PostgreSQL returns it, or as SQLite stores it (ISO 8601 text)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


async def _ranked(query: SearchQuery, find: Callable[[int], Awaitable[Matches]],
                  keys: Callable[[list[int]], Awaitable[list[tuple[int, Any]]]],
                  sort: Sort, limit: int, offset: int) -> Page:
    """Read matches in a widening window until the caller's rows (``keys`` filters them and
    gives each its recency) fill the page, or every match was read."""
    if query.empty:
        return Page([], None)
    needed = offset + limit + 1
    wanted = max(FIRST_WINDOW, 2 * needed)
    while True:
        matches = await find(wanted)
        rows = await keys(list(matches.scores)) if matches.scores else []
        if len(rows) >= needed or matches.complete or wanted >= LAST_WINDOW:
            break
        wanted = min(LAST_WINDOW, wanted * 8)

    def recency(row: tuple[int, Any]) -> tuple[float, int]:
        stamp = row[1]
        value = stamp.timestamp() if isinstance(stamp, datetime) else float(stamp or -math.inf)
        return value, row[0]

    if sort == "recent":
        rows.sort(key=recency, reverse=True)
    else:
        rows.sort(key=lambda row: (round(matches.scores[row[0]], 6), *recency(row)), reverse=True)
    ids = [row[0] for row in rows]
    more = len(ids) > offset + limit
    return Page(ids[offset:offset + limit], encode_cursor(offset + limit) if more else None)


class InvalidCursor(ValueError):
    """A cursor this search did not hand out."""


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"search:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset a search cursor stands for (0 for none)."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidCursor(cursor) from None
    kind, _, offset = text.partition(":")
    if kind != "search" or not offset.isascii() or not offset.isdigit() or int(offset) > LAST_WINDOW * 3:
        raise InvalidCursor(cursor)
    return int(offset)


def in_order(rows: Sequence[T], ids: Sequence[int]) -> list[T]:
    """``rows`` (model instances) in the order of ``ids``."""
    position = {row_id: index for index, row_id in enumerate(ids)}
    return sorted(rows, key=lambda row: position[row.id])  # type: ignore[attr-defined]
