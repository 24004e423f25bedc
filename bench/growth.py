"""Growth: ingest latency with 1,000,000 messages and 100,000 tickets already stored, against an
empty database, in the same run.

    python -m bench.growth [--messages 1000000] [--tickets 100000] [--rate 200] [--seconds 15] [--rounds 4]

Both databases get the same stream: signed WhatsApp webhooks from 5,000 numbers that belong to
stored contacts with stored tickets; the "empty" database holds only those 5,000 (one message
each), the loaded one 100,000 tickets and 1,000,000 messages. Reported: the webhook's latency
(p50, p99), and the time from the webhook's 200 to the message being stored, which is where
the database's size shows. Target: loaded at most 1.25 times empty.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time

import aiohttp

from bench.common import (
    PHONE_NUMBER_ID,
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

CONTACTS = 5000


def number(index: int) -> str:
    return f"4930{index:09d}"


PRELOAD = [
    """INSERT INTO channels (name, type, plugin, enabled, state, details, created_at, updated_at)
       VALUES ('wa', 'whatsapp', 'whatsapp', true, 'configured', '{}', now(), now())""",
    """INSERT INTO contacts (id, name, attributes, created_at, updated_at)
       SELECT g, 'Customer ' || g, '{}', now() - interval '90 days', now() FROM generate_series(1, {tickets}) g""",
    """INSERT INTO contact_identities (id, contact_id, channel_type, key, address, display_name, profile, created_at, updated_at)
       SELECT g, g, 'whatsapp', '4930' || lpad(g::text, 9, '0'), '4930' || lpad(g::text, 9, '0'), 'Customer ' || g,
              '{}', now() - interval '90 days', now() FROM generate_series(1, {tickets}) g""",
    """INSERT INTO tickets (id, status, priority, channel_id, contact_id, identity_id, subject, active_key,
                            resolved_at, last_message_at, created_at, updated_at)
       SELECT g, CASE WHEN g % 3 = 0 THEN 'resolved' ELSE 'open' END, 'normal', 1, g, g, 'Question ' || g,
              CASE WHEN g % 3 = 0 THEN NULL ELSE g || ':1' END,
              CASE WHEN g % 3 = 0 THEN now() - interval '30 days' END,
              now() - (g || ' seconds')::interval, now() - interval '60 days', now()
       FROM generate_series(1, {tickets}) g""",
    """INSERT INTO messages (ticket_id, channel_id, direction, private, sender_id, text, external_id, status,
                             attempts, auto_submitted, reactions, metadata, created_at, status_changed_at)
       SELECT (g - 1) % {tickets} + 1, 1, 'inbound', false, (g - 1) % {tickets} + 1, 'Stored message ' || g,
              'wamid.preloaded.' || g, 'received', 0, false, '{}', '{}', now() - (g || ' seconds')::interval, now()
       FROM generate_series(1, {messages}) g""",
    "SELECT setval(pg_get_serial_sequence('contacts', 'id'), {tickets})",
    "SELECT setval(pg_get_serial_sequence('contact_identities', 'id'), {tickets})",
    "SELECT setval(pg_get_serial_sequence('tickets', 'id'), {tickets})",
    "ANALYZE",
]


async def preload(database_url: str, messages: int, tickets: int) -> float:
    import asyncpg
    from urllib.parse import urlsplit

    started = time.monotonic()
    conn = await asyncpg.connect(urlsplit(database_url)._replace(scheme="postgresql").geturl())
    try:
        for statement in PRELOAD:
            if tickets == 0 and "setval" in statement:
                continue
            await conn.execute(statement.replace("{tickets}", str(tickets)).replace("{messages}", str(messages)))
    finally:
        await conn.close()
    return time.monotonic() - started


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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    assert PHONE_NUMBER_ID
    results: dict[str, list[dict[str, float]]] = {"empty": [], "loaded": []}
    async with bench_database() as empty, bench_database() as loaded:
        took = await preload(loaded.url, args.messages, args.tickets)
        print(f"preloaded {args.messages} messages and {args.tickets} tickets in {took:.0f}s", flush=True)
        # The "empty" database holds only what the stream needs: the channel row at the same id,
        # and the 5,000 contacts that write, each with a ticket and one message. Otherwise it
        # would measure first contacts (identity and ticket creation) against known ones.
        await preload(empty.url, CONTACTS, CONTACTS)
        for round_ in range(args.rounds):
            for name, database in (("empty", empty), ("loaded", loaded)):
                result = await run(database.url, args.rate, args.seconds, name)
                results[name].append(result)
                print(f"round {round_ + 1} {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in result.items()), flush=True)
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
