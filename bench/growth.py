"""Growth: ingest latency with 1,000,000 messages and 100,000 tickets already stored, against an
empty database, in the same run; then search latency on the loaded database.

    python -m bench.growth [--messages 1000000] [--tickets 100000] [--rate 200] [--seconds 15] [--rounds 4]
                           [--search-rounds 3] [--skip-ingest] [--loaded-database URL] [--preload-only]

Both databases get the same stream: signed WhatsApp webhooks from 5,000 numbers that belong to
stored contacts with stored tickets; the "empty" database holds only those 5,000 (one message
each), the loaded one 100,000 tickets and 1,000,000 messages. Reported: the webhook's latency
(p50, p99), and the time from the webhook's 200 to the message being stored, which is where
the database's size shows. Target: loaded at most 1.25 times empty.

Search: one agent, one request at a time, types queries of every kind (common, middling and
rare words, two words, a prefix, names, references, ``#id``; for contacts names, emails and
phones) into ``GET /api/v1/tickets?q=`` and ``GET /api/v1/contacts?q=``, each request
alternating with the same endpoint's first page without ``q`` (the baseline). Target: search
p99 at most 50 ms. The stored text follows Zipf's law (bench/corpus.py).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import time
from datetime import UTC, datetime, timedelta

import aiohttp

from bench.common import (
    PHONE_NUMBER_ID,
    BenchDatabase,
    Process,
    bench_database,
    free_port,
    machine,
    median,
    nexus_env,
    percentile,
    python,
    signature,
    table,
    verdict,
    whatsapp_payload,
)
from bench.corpus import Corpus, contact, vocabulary
from bench.corpus import messages as corpus_messages

CONTACTS = 5000


def number(index: int) -> str:
    return f"4930{index:09d}"


async def preload(database_url: str, messages: int, tickets: int) -> tuple[float, float]:
    """Store ``tickets`` contacts, each with a WhatsApp identity and a ticket, and ``messages``
    messages over them; returns the seconds it took and the seconds the search backfill took.

    Triggers are off while loading (``session_replication_role``), and the search documents
    are then built at once by ``nexus_search_rebuild()``, the migration's backfill."""
    from urllib.parse import urlsplit

    import asyncpg

    started = time.monotonic()
    now = datetime.now(UTC)
    corpus = Corpus()
    conn = await asyncpg.connect(urlsplit(database_url)._replace(scheme="postgresql").geturl())
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("""INSERT INTO channels (id, name, type, plugin, enabled, state, details, created_at, updated_at)
                              VALUES (1, 'wa', 'whatsapp', 'whatsapp', true, 'configured', '{}', now(), now())""")
        await conn.copy_records_to_table(
            "contacts", columns=["id", "name", "email", "phone", "attributes", "created_at", "updated_at"],
            records=((g, *contact(g), "{}", now - timedelta(days=90), now) for g in range(1, tickets + 1)))
        await conn.execute("""
            INSERT INTO contact_identities (id, contact_id, channel_type, key, address, display_name, profile,
                                            created_at, updated_at)
            SELECT id, id, 'whatsapp', '4930' || lpad(id::text, 9, '0'), '4930' || lpad(id::text, 9, '0'), name,
                   '{}', created_at, now() FROM contacts""")
        await conn.copy_records_to_table(
            "tickets", columns=["id", "status", "priority", "channel_id", "contact_id", "identity_id", "subject",
                                "active_key", "resolved_at", "last_message_at", "created_at", "updated_at"],
            records=((g, "resolved" if g % 3 == 0 else "open", "normal", 1, g, g, corpus.text(3 + g % 5),
                      None if g % 3 == 0 else f"{g}:1", now - timedelta(days=30) if g % 3 == 0 else None,
                      now - timedelta(seconds=tickets - g), now - timedelta(days=60), now)
                     for g in range(1, tickets + 1)))
        await conn.copy_records_to_table(
            "messages", columns=["ticket_id", "channel_id", "direction", "private", "sender_id", "text", "external_id",
                                 "status", "attempts", "auto_submitted", "reactions", "metadata", "created_at",
                                 "status_changed_at"],
            records=((ticket, 1, "inbound", False, ticket, text, f"wamid.preloaded.{index}", "received", 0, False,
                      "{}", "{}", now - timedelta(seconds=messages - index), now)
                     for index, (ticket, text) in enumerate(corpus_messages(corpus, messages, tickets), start=1)))
        for table in ("contacts", "contact_identities", "tickets"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {tickets})")
        await conn.execute("SET session_replication_role = origin")
        backfill_started = time.monotonic()
        await conn.execute("SELECT nexus_search_rebuild()")
        backfill = time.monotonic() - backfill_started
        # What autovacuum does after a bulk insert: GIN pending lists merged, statistics.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return time.monotonic() - started, backfill


async def stored_latency(database_url: str, acks: dict[str, float]) -> list[float]:
    """Milliseconds from each webhook's 200 to its message's row."""
    from nexus.db import close_database, models, open_database

    ctx = await open_database(database_url)
    try:
        deadline = time.monotonic() + 300
        while await models.InboundEvent.filter(status__in=["pending", "processing"]).count():
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        rows = await models.Message.filter(external_id__in=list(acks)).values_list("external_id", "created_at")
    finally:
        await close_database(ctx)
    return [(created.timestamp() - acks[external_id]) * 1000 for external_id, created in rows]


async def run(database_url: str, rate: float, seconds: float, name: str) -> dict[str, float]:
    port = free_port()
    server = Process([python(), "-m", "nexus.cli", "serve", "--port", str(port), "--no-migrate"],
                     nexus_env(database_url), port, name=f"growth-{name}").start()
    acks: dict[str, float] = {}
    webhook_ms: list[float] = []
    try:
        url = f"http://127.0.0.1:{port}/webhooks/whatsapp/wa"
        tag = secrets.token_hex(3)
        async with aiohttp.ClientSession() as http:
            loop = asyncio.get_running_loop()
            start = loop.time() + 0.2

            async def one(index: int, measured: bool = True) -> None:
                scheduled = start + index / rate
                if (delay := scheduled - loop.time()) > 0:
                    await asyncio.sleep(delay)
                wamid = f"wamid.growth.{tag}.{'' if measured else 'warm.'}{index}"
                body = whatsapp_payload(wamid, number(1 + (index * 7919) % CONTACTS), f"message {index}")
                async with http.post(url, data=body, headers={"X-Hub-Signature-256": signature(body),
                                                              "Content-Type": "application/json"}) as response:
                    assert response.status == 200
                if measured:
                    acks[wamid] = time.time()
                    webhook_ms.append((loop.time() - scheduled) * 1000)

            # A second of unmeasured traffic first: connections, caches and imports warm up, so
            # that neither database pays for a cold process.
            await asyncio.gather(*(one(i, measured=False) for i in range(int(rate))))
            await asyncio.sleep(1)
            start = loop.time() + 0.2
            await asyncio.gather(*(one(i) for i in range(int(rate * seconds))))
        stored_ms = await stored_latency(database_url, acks)
    finally:
        server.stop()
    return {"webhook p50": percentile(webhook_ms, 50), "webhook p99": percentile(webhook_ms, 99),
            "stored p50": percentile(stored_ms, 50), "stored p99": percentile(stored_ms, 99), "stored": len(stored_ms)}


def search_queries(tickets: int) -> dict[str, list[tuple[str, str]]]:
    """What agents type, by endpoint: (kind, q) pairs, ten of each kind, over words of every
    frequency (see bench/corpus.py), names, emails, phones and ticket numbers."""
    words = vocabulary()
    rng = random.Random(3)

    def ranked(low: int, high: int) -> str:
        return words[rng.randrange(low, high)]

    def person() -> tuple[str, str | None, str]:
        return contact(rng.randrange(1, tickets + 1))

    ticket_kinds = {
        "common word": lambda: ranked(0, 10),
        "frequent word": lambda: ranked(10, 100),
        "middling word": lambda: ranked(100, 1000),
        "rare word": lambda: ranked(1000, len(words)),
        "two words": lambda: f"{ranked(100, 2000)} {ranked(0, 50)}",
        "typing (prefix)": lambda: ranked(20, 2000)[:3],
        "contact name": lambda: person()[0],
        "reference": lambda: f"R{rng.randrange(1, 100_000) * 10}",
        "#id": lambda: f"#{rng.randrange(1, tickets + 1)}",
    }
    contact_kinds = {
        "first name": lambda: person()[0].split()[0],
        "full name": lambda: person()[0],
        "name prefix": lambda: person()[0].split()[1][:4],
        "email": lambda: (person()[1] or "ana.muller2@example.com").split("@")[0],
        "email domain": lambda: "example.com",
        "phone as typed": lambda: person()[2][:11],
        "phone digits": lambda: person()[2].replace(" ", "")[-7:],
    }
    return {"tickets": [(kind, make()) for kind, make in ticket_kinds.items() for _ in range(10)],
            "contacts": [(kind, make()) for kind, make in contact_kinds.items() for _ in range(10)]}


async def agent_token(database_url: str) -> str:
    from nexus.accounts import Accounts
    from nexus.db import close_database, open_database

    ctx = await open_database(database_url, global_fallback=False)
    try:
        with ctx:
            accounts = Accounts(86400)
            agent = await accounts.create_agent(email=f"bench-{secrets.token_hex(3)}@example.com", name="Bench",
                                                role="admin")
            return (await accounts.issue_token(agent, "bench")).token
    finally:
        await close_database(ctx)


async def search_latency(database_url: str, tickets: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per request, one at a time as an agent types: each search query of
    :func:`search_queries`, alternating with the same endpoint's page without ``q``."""
    port = free_port()
    server = Process([python(), "-m", "nexus.cli", "serve", "--port", str(port), "--no-migrate"],
                     nexus_env(database_url), port, name="growth-search").start()
    samples: dict[str, dict[str, list[float]]] = {}
    try:
        headers = {"Authorization": f"Bearer {await agent_token(database_url)}"}
        queries = search_queries(tickets)
        async with aiohttp.ClientSession(headers=headers) as http:
            async def timed(path: str, params: dict[str, str]) -> float:
                started = time.perf_counter()
                async with http.get(f"http://127.0.0.1:{port}/api/v1{path}", params=params) as response:
                    body = await response.json()
                    assert response.status == 200, body
                return (time.perf_counter() - started) * 1000

            for path in ("/tickets", "/contacts"):  # warm up: connections, plans, caches
                for _ in range(20):
                    await timed(path, {})
            for round_ in range(rounds):
                for endpoint, pairs in queries.items():
                    pairs = pairs[:]
                    random.Random(round_).shuffle(pairs)
                    for kind, q in pairs:
                        by_kind = samples.setdefault(endpoint, {})
                        by_kind.setdefault("without q", []).append(await timed(f"/{endpoint}", {}))
                        by_kind.setdefault(kind, []).append(await timed(f"/{endpoint}", {"q": q}))
                print(f"search round {round_ + 1}: " + ", ".join(
                    f"{endpoint} p99 {percentile([v for k, vs in by_kind.items() if k != 'without q' for v in vs], 99):.1f}"
                    for endpoint, by_kind in samples.items()), flush=True)
    finally:
        server.stop()
    return samples


async def indexing_cost(database_url: str, count: int = 2000) -> dict[str, list[float]]:
    """Milliseconds per committed message INSERT (as the pipeline stores one) with the search
    triggers firing, against the same INSERT with triggers off, in alternating batches."""
    from urllib.parse import urlsplit

    import asyncpg

    corpus = Corpus(seed=11)
    tag = secrets.token_hex(3)
    conn = await asyncpg.connect(urlsplit(database_url)._replace(scheme="postgresql").geturl())
    samples: dict[str, list[float]] = {"triggers off": [], "search triggers on": []}
    try:
        insert = await conn.prepare(
            "INSERT INTO messages (ticket_id, channel_id, direction, private, sender_id, text, external_id, status, "
            "attempts, auto_submitted, reactions, metadata, created_at) "
            "VALUES ($1, 1, 'inbound', false, $1, $2, $3, 'received', 0, false, '{}', '{}', now())")
        for batch in range(count // 100):
            mode = "triggers off" if batch % 2 == 0 else "search triggers on"
            await conn.execute(f"SET session_replication_role = {'replica' if batch % 2 == 0 else 'origin'}")
            for index in range(100):
                started = time.perf_counter()
                async with conn.transaction():
                    await insert.fetch(1 + index, corpus.message(index), f"wamid.cost.{tag}.{batch}.{index}")
                samples[mode].append((time.perf_counter() - started) * 1000)
        await conn.execute("SET session_replication_role = origin")
    finally:
        await conn.close()
    return samples


def report_search(samples: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> None:
    print()
    print(f"Search: {args.messages} messages, {args.tickets} contacts and tickets; one agent typing, one request at a "
          f"time, {args.search_rounds} rounds; baseline: the same endpoint without q (first page); {machine()}")
    rows = []
    for endpoint, by_kind in samples.items():
        searched = [v for kind, values in by_kind.items() if kind != "without q" for v in values]
        base = by_kind["without q"]
        rows.append([f"GET /{endpoint}", f"{percentile(base, 50):.1f}", f"{percentile(base, 99):.1f}",
                     f"{percentile(searched, 50):.1f}", f"{percentile(searched, 99):.1f}",
                     f"{percentile(searched, 99) / percentile(base, 99):.2f}"])
    print(table(["endpoint", "without q p50", "without q p99", "q p50", "q p99", "p99 ratio"], rows))
    print()
    kinds = [[f"/{endpoint} {kind}", len(values), percentile(values, 50), percentile(values, 99), max(values)]
             for endpoint, by_kind in samples.items() for kind, values in by_kind.items()]
    print(table(["query kind", "requests", "p50 (ms)", "p99 (ms)", "max (ms)"], kinds))
    print()
    for endpoint, by_kind in samples.items():
        p99 = percentile([v for kind, values in by_kind.items() if kind != "without q" for v in values], 99)
        print(verdict(f"search p99 of GET /{endpoint}?q= (ms)", p99, "<= 50", p99 <= 50))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--search-rounds", type=int, default=3)
    parser.add_argument("--skip-ingest", action="store_true", help="measure search only")
    parser.add_argument("--loaded-database", help="with --skip-ingest: a database this benchmark already preloaded "
                        "(bench.growth.preload), measured as it is and kept")
    parser.add_argument("--preload-only", action="store_true",
                        help="preload a new database, print its URL for --loaded-database, keep it, and stop")
    args = parser.parse_args()
    if args.preload_only:
        database = await BenchDatabase.create()
        took, backfill = await preload(database.url, args.messages, args.tickets)
        print(f"preloaded {args.messages} messages and {args.tickets} tickets in {took:.0f}s, of which {backfill:.0f}s "
              f"building the search documents; kept (DROP DATABASE \"{database.name}\" when done):\n{database.url}")
        return
    if args.loaded_database:
        search = await search_latency(args.loaded_database, args.tickets, args.search_rounds)
        report_search(search, args)
        report_cost(await indexing_cost(args.loaded_database))
        return
    assert PHONE_NUMBER_ID
    results: dict[str, list[dict[str, float]]] = {"empty": [], "loaded": []}
    async with bench_database() as empty, bench_database() as loaded:
        took, backfill = await preload(loaded.url, args.messages, args.tickets)
        print(f"preloaded {args.messages} messages and {args.tickets} tickets in {took:.0f}s, "
              f"of which {backfill:.0f}s building the search documents", flush=True)
        # The "empty" database holds only what the stream needs: the channel row at the same id,
        # and the 5,000 contacts that write, each with a ticket and one message. Otherwise it
        # would measure first contacts (identity and ticket creation) against known ones.
        await preload(empty.url, CONTACTS, CONTACTS)
        for round_ in range(0 if args.skip_ingest else args.rounds):
            for name, database in (("empty", empty), ("loaded", loaded)):
                result = await run(database.url, args.rate, args.seconds, name)
                results[name].append(result)
                print(f"round {round_ + 1} {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in result.items()), flush=True)
        search = await search_latency(loaded.url, args.tickets, args.search_rounds)
        cost = await indexing_cost(loaded.url)
    if not args.skip_ingest:
        report_ingest(results, args)
    report_search(search, args)
    report_cost(cost)


def report_cost(cost: dict[str, list[float]]) -> None:
    print()
    print("Indexing cost on the loaded database: one committed message INSERT at a time, alternating batches")
    print(table(["inserts", "count", "p50 (ms)", "p99 (ms)"],
                [[mode, len(values), percentile(values, 50), percentile(values, 99)] for mode, values in cost.items()]))
    off, on = (percentile(values, 50) for values in cost.values())
    print(f"p50 ratio, triggers on / off: {on / off:.2f}")


def report_ingest(results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    keys = ["webhook p50", "webhook p99", "stored p50", "stored p99"]
    rows = []
    for key in keys:
        empty_value = median([r[key] for r in results["empty"]])
        loaded_value = median([r[key] for r in results["loaded"]])
        rows.append([f"{key} (ms)", empty_value, loaded_value, loaded_value / empty_value])
    print()
    print(f"Growth: {args.messages} messages and {args.tickets} tickets stored vs none; {args.rate:.0f} webhooks/s "
          f"for {args.seconds:.0f}s, {args.rounds} alternating rounds; {machine()}")
    print(table(["measure", "empty", "loaded", "ratio"], rows))
    print()
    for key, row in zip(keys, rows, strict=True):
        if "p99" in key:
            print(verdict(f"{key} ratio", row[3], "<= 1.25", row[3] <= 1.25))


if __name__ == "__main__":
    asyncio.run(main())
