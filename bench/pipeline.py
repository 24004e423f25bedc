"""The inbound pipeline's CPU per message, in process, against bare INSERTs of the same rows.

    python -m bench.pipeline [--messages 2000] [--contacts 500] [--rounds 3] [--concurrency 4]
                             [--profile pyinstrument|cprofile]

A Nexus runtime (PostgreSQL, Redis, Socket.IO's server with its Redis manager, the example
channel) runs in this process without HTTP: ``pipeline.receive`` is called for every message,
from ``--concurrency`` tasks as the inbox's processors do, senders rotating over
``--contacts`` contacts that already have an open ticket (the steady state of the ingest
benchmark). This process's CPU time (``time.process_time``) is measured from the first
message until every event has left, so it includes the Socket.IO emits through Redis.

The baseline, in alternating rounds: the same number of rows inserted into ``messages`` with
bare asyncpg, one autocommitted ``INSERT`` each, from as many connections. The ratio says how
many bare inserts one inbound message costs in Nexus's CPU; the database's CPU is not counted
in either.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from datetime import UTC, datetime

from bench.common import REDIS, bench_database, machine, median, table


async def run(args: argparse.Namespace) -> None:
    import asyncpg

    from nexus.config import LoadedSettings
    from nexus.config.loader import RawConfig
    from nexus.db import models
    from nexus.instances import prepare
    from nexus.realtime import create_socketio_server
    from nexus.runtime import Nexus, Options
    from nexus.testing.backends import TestBackends
    from nexus.testing.server import build_settings
    from nexus.types import Identity, InboundMessage

    async with bench_database() as database:
        backends = TestBackends(database.url, REDIS)
        settings = build_settings(backends, {
            "channels": {"chat": {"type": "example", "api_url": "http://127.0.0.1:9", "token": "t", "secret": "s"}},
            "logging": {"level": "WARNING"},
        })
        setup = prepare(LoadedSettings(settings, RawConfig(environ={}, env_sources={})))
        nexus = Nexus(setup, Options(delivery_worker=False, receivers=False), sio=create_socketio_server(settings))
        await nexus.start()
        # The Socket.IO server starts its Redis listener with its first connection; start it
        # now, as a server with agents connected has it running.
        nexus.sio.manager_initialized = True
        nexus.sio.manager.initialize()
        runtime = nexus.channels.get("chat")
        run_id = secrets.token_hex(3)
        counter = iter(range(10**9))

        def message(i: int) -> InboundMessage:
            sender = f"contact-{i % args.contacts}"
            return InboundMessage(f"{run_id}-{next(counter)}", Identity(sender, display_name=f"Customer {sender}"),
                                  text=f"message {i} from {sender}", sent_at=datetime.now(UTC))

        async def nexus_round(count: int) -> float:
            queue: asyncio.Queue[InboundMessage] = asyncio.Queue()
            for i in range(count):
                queue.put_nowait(message(i))

            async def processor() -> None:
                while not queue.empty():
                    await nexus.pipeline.receive(runtime, queue.get_nowait())

            start = time.process_time()
            await asyncio.gather(*(processor() for _ in range(args.concurrency)))
            await nexus.events.idle()
            return (time.process_time() - start) / count * 1000

        pool = await asyncpg.create_pool(database.url.replace("postgres://", "postgresql://", 1),
                                         min_size=args.concurrency, max_size=args.concurrency)
        channel_id = runtime.row_id

        async def bare_round(count: int) -> float:
            rows = list(range(count))
            sql = ("INSERT INTO messages (ticket_id, channel_id, direction, private, sender_id, text, external_id, "
                   "status, attempts, auto_submitted, reactions, metadata, provider_timestamp, created_at, "
                   "status_changed_at) VALUES ($1, $2, 'inbound', false, $3, $4, $5, 'received', 0, false, '{}', "
                   "'{}', $6, $7, $7) RETURNING id")

            async def inserter() -> None:
                async with pool.acquire() as conn:
                    while rows:
                        i = rows.pop()
                        at = datetime.now(UTC)
                        await conn.fetchval(sql, ticket.id, channel_id, ticket.identity_id, f"message {i}",
                                            f"bare-{run_id}-{next(counter)}", at, at)

            start = time.process_time()
            await asyncio.gather(*(inserter() for _ in range(args.concurrency)))
            return (time.process_time() - start) / count * 1000

        # Warm up: every contact gets its contact, identity and open ticket.
        await nexus_round(args.contacts)
        ticket = await models.Ticket.first()
        await bare_round(200)
        profiler = None
        if args.profile == "pyinstrument":
            import pyinstrument

            profiler = pyinstrument.Profiler(async_mode="disabled", interval=0.0005)
        elif args.profile == "cprofile":
            import cProfile

            profiler = cProfile.Profile()
        results: dict[str, list[float]] = {"bare": [], "nexus": []}
        for _ in range(args.rounds):
            results["bare"].append(await bare_round(args.messages))
            if profiler is not None:
                profiler.enable() if args.profile == "cprofile" else profiler.start()
            results["nexus"].append(await nexus_round(args.messages))
            if profiler is not None:
                profiler.disable() if args.profile == "cprofile" else profiler.stop()
        await pool.close()
        await nexus.stop()

    print(f"Pipeline CPU per message, {args.rounds} alternating rounds of {args.messages} messages over "
          f"{args.contacts} contacts, concurrency {args.concurrency}; {machine()}")
    bare, ours = median(results["bare"]), median(results["nexus"])
    print(table(["measure", "bare INSERT", "nexus", "ratio"],
                [["CPU ms per message (median)", f"{bare:.3f}", f"{ours:.3f}", f"{ours / bare:.1f}"]]))
    print("rounds (ms):", ", ".join(f"bare {b:.3f} / nexus {n:.3f}" for b, n in zip(results["bare"], results["nexus"],
                                                                                   strict=True)))
    if args.profile == "pyinstrument":
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    elif args.profile == "cprofile":
        import pstats

        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--profile", choices=["pyinstrument", "cprofile"])
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
