"""Ingest: signed WhatsApp-format webhooks against `nexus serve` on PostgreSQL and Redis, with
senders rotating over many contacts, against a bare Quart baseline in the same run.

    python -m bench.ingest [--workers 1] [--inbox-workers 1] [--worker-class asyncio] [--seconds 10]
                           [--rounds 3] [--sustained 60]

Reports the closed-loop maximum (wrk), and latency percentiles at fixed rates of 200 and 400
messages a second (an open-loop client that measures from each request's scheduled time).
Rounds alternate baseline and Nexus, since the machine is shared and noisy. Nexus runs
``--workers`` API processes and, beside them, ``--inbox-workers`` ``nexus worker`` processes
(0: the API processes process what they store). Then, unless ``--sustained 0``, Nexus alone
takes 0.6 times the baseline's closed-loop rate for that many seconds: what is still pending
5 s after the load, and the time from each webhook's 200 to its message's row (p50, p99).
Targets: throughput at least 0.6 times the baseline's; p99 at each rate at most 3 times the
baseline's; after the sustained load, no backlog within 5 s and time-to-stored p99 <= 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from collections.abc import Sequence

from bench.common import (
    RESULTS,
    Process,
    bench_database,
    free_port,
    machine,
    median,
    nexus_env,
    open_loop,
    percentile,
    python,
    require,
    run_wrk,
    signed_requests,
    table,
    verdict,
    write_requests_file,
)

CONTACTS = 5000


async def drain(database_url: str, expected: int, timeout: float = 600) -> float:
    """Seconds until every acknowledged payload is processed into messages."""
    from nexus.db import close_database, models, open_database

    ctx = await open_database(database_url)
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            pending = await models.InboundEvent.filter(status__in=["pending", "processing"]).count()
            if pending == 0:
                return time.monotonic() - started
            await asyncio.sleep(0.5)
        return float("nan")
    finally:
        await close_database(ctx)


async def count_messages(database_url: str) -> tuple[int, int, int]:
    from nexus.db import close_database, models, open_database

    ctx = await open_database(database_url)
    try:
        return (await models.Message.all().count(), await models.Ticket.all().count(),
                await models.InboundEvent.filter(status="failed").count())
    finally:
        await close_database(ctx)


async def backlog(database_url: str) -> int:
    from nexus.db import close_database, models, open_database

    ctx = await open_database(database_url)
    try:
        return await models.InboundEvent.filter(status__in=["pending", "processing"]).count()
    finally:
        await close_database(ctx)


async def stored_ms(database_url: str, acks: dict[str, float]) -> list[float]:
    """Milliseconds from each webhook's 200 to its message's row (the rows stored so far)."""
    from nexus.db import close_database, models, open_database

    ctx = await open_database(database_url)
    try:
        rows = await models.Message.filter(external_id__in=list(acks)).values_list("external_id", "created_at")
    finally:
        await close_database(ctx)
    return [(created.timestamp() - acks[external_id]) * 1000 for external_id, created in rows]


async def sustained(url: str, requests: Sequence[tuple[str, bytes, str]], rate: float, seconds: float,
                    ) -> tuple[dict[str, float], int]:
    """An open loop at ``rate`` for ``seconds``: the wall-clock time of each 200, by message
    id, and the number of errors."""
    import aiohttp

    acks: dict[str, float] = {}
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2000)) as session:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2
        semaphore = asyncio.Semaphore(2000)

        async def one(index: int) -> None:
            nonlocal errors
            sig, body, wamid = requests[index]
            if (delay := start + index / rate - loop.time()) > 0:
                await asyncio.sleep(delay)
            try:
                async with session.post(url, data=body, headers={"Content-Type": "application/json",
                                                                  "X-Hub-Signature-256": sig}) as response:
                    await response.read()
                    if response.status == 200:
                        acks[wamid] = time.time()
                    else:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1
            finally:
                semaphore.release()

        tasks = []
        for index in range(int(rate * seconds)):
            # Tasks are made just ahead of their time, so the client's memory stays small.
            if (ahead := start + index / rate - loop.time()) > 1.0:
                await asyncio.sleep(ahead - 1.0)
            await semaphore.acquire()
            tasks.append(asyncio.create_task(one(index)))
        await asyncio.gather(*tasks)
    return acks, errors


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1, help="Hypercorn worker processes, for both servers")
    parser.add_argument("--inbox-workers", type=int, default=1,
                        help="`nexus worker` processes beside Nexus's API processes (0: none)")
    parser.add_argument("--sustained", type=int, default=60,
                        help="seconds of Nexus alone at 0.6 x the baseline's closed-loop rate (0: skip)")
    parser.add_argument("--worker-class", default="asyncio", choices=["asyncio", "uvloop"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rates", default="200,400")
    args = parser.parse_args()
    require("wrk", "apt-get install wrk")
    rates = [float(r) for r in args.rates.split(",")]
    RESULTS.mkdir(parents=True, exist_ok=True)

    async with bench_database() as database:
        nexus_port, base_port = free_port(), free_port()
        nexus = Process([python(), "-m", "nexus.cli", "serve", "--port", str(nexus_port), "--workers", str(args.workers),
                         "--worker-class", args.worker_class, "--no-migrate"],
                        nexus_env(database.url), nexus_port, name="ingest-nexus")
        baseline = Process([python(), "-m", "bench.baseline", "--port", str(base_port), "--workers", str(args.workers),
                            "--worker-class", args.worker_class], nexus_env(database.url), base_port, name="ingest-baseline")
        namespace = f"bench-{secrets.token_hex(3)}"
        nexus.env = nexus_env(database.url, namespace)
        workers = [Process([python(), "-m", "nexus.cli", "worker", "--worker-class", args.worker_class],
                           nexus_env(database.url, namespace), None, name=f"ingest-worker-{i}")
                   for i in range(args.inbox_workers)]
        for worker in workers:
            worker.start()
        nexus.start()
        baseline.start()
        urls = {"baseline": f"http://127.0.0.1:{base_port}/webhooks/whatsapp/wa",
                "nexus": f"http://127.0.0.1:{nexus_port}/webhooks/whatsapp/wa"}
        closed: dict[str, list[float]] = {"baseline": [], "nexus": []}
        latency: dict[tuple[str, float], list] = {}
        acknowledged = 0
        try:
            # Warm up both (connections, caches, JIT-free Python's imports).
            for name, url in urls.items():
                await open_loop(url, iter(signed_requests(200, CONTACTS, f"warm-{name}")), 100, 2)
            acknowledged += 200
            per_round = 4000 * args.seconds
            for round_ in range(args.rounds):
                for name, url in urls.items():
                    file = RESULTS / f"ingest-{name}.tsv"
                    write_requests_file(file, signed_requests(per_round, CONTACTS, f"c{round_}-{name}-{secrets.token_hex(2)}"))
                    rate = run_wrk(url, file, args.seconds)
                    closed[name].append(rate)
                    line = f"round {round_ + 1}: closed loop {name}: {rate:.0f} req/s"
                    if name == "nexus":
                        acknowledged += int(rate * args.seconds)
                        # Measure every phase from a quiet server: let processing catch up.
                        line += f"; processing caught up {await drain(database.url, 0):.1f}s later"
                    print(line, flush=True)
                    await asyncio.sleep(2)
                for rate in rates:
                    for name, url in urls.items():
                        requests = signed_requests(int(rate * args.seconds) + 10, CONTACTS, f"o{round_}-{rate}-{name}")
                        result = await open_loop(url, iter(requests), rate, args.seconds)
                        latency.setdefault((name, rate), []).append(result)
                        caught_up = ""
                        if name == "nexus":
                            acknowledged += result.sent - result.errors
                            caught_up = f"; processing caught up {await drain(database.url, 0):.1f}s later"
                        print(f"round {round_ + 1}: {rate:.0f}/s {name}: p50 {result.p50:.1f} ms, "
                              f"p99 {result.p99:.1f} ms, errors {result.errors}{caught_up}", flush=True)
                        await asyncio.sleep(2)
            rss = nexus.rss_mb()
            held = float("nan")
            left, ttl_ms, sustained_rate, sustained_errors = -1, [], 0.0, 0
            if args.sustained:
                await drain(database.url, 0)
                sustained_rate = 0.6 * median(closed["baseline"])
                tag = secrets.token_hex(3)
                prepared = [(sig, body, f"wamid.s{tag}.{i}") for i, (sig, body) in
                            enumerate(signed_requests(int(sustained_rate * args.sustained) + 1, CONTACTS, f"s{tag}"))]
                print(f"sustained: {sustained_rate:.0f}/s for {args.sustained}s ...", flush=True)
                acks, sustained_errors = await sustained(urls["nexus"], prepared, sustained_rate, args.sustained)
                acknowledged += len(acks)
                await asyncio.sleep(5)  # the measurement: what is left 5 s after the load
                left = await backlog(database.url)
                held = await drain(database.url, 0)
                ttl_ms = await stored_ms(database.url, acks)
                print(f"sustained: {len(acks)} acknowledged, {sustained_errors} errors; backlog 5 s after: {left}; "
                      f"time-to-stored p50 {percentile(ttl_ms, 50):.1f} ms, p99 {percentile(ttl_ms, 99):.1f} ms",
                      flush=True)
        finally:
            nexus_pids = nexus.pids
            lag = await drain(database.url, acknowledged)
            messages, tickets, failed = await count_messages(database.url)
            nexus.stop()
            for worker in workers:
                worker.stop()
            baseline.stop()

    base, ours = median(closed["baseline"]), median(closed["nexus"])
    rows = [["closed-loop max (req/s)", base, ours, ours / base]]
    checks = [verdict("throughput ratio", ours / base, ">= 0.60", ours / base >= 0.6)]
    for rate in rates:
        b = [r.p99 for r in latency[("baseline", rate)]]
        n = [r.p99 for r in latency[("nexus", rate)]]
        b50 = [r.p50 for r in latency[("baseline", rate)]]
        n50 = [r.p50 for r in latency[("nexus", rate)]]
        rows.append([f"p50 at {rate:.0f}/s (ms)", median(b50), median(n50), median(n50) / median(b50)])
        rows.append([f"p99 at {rate:.0f}/s (ms)", median(b), median(n), median(n) / median(b)])
        checks.append(verdict(f"p99 ratio at {rate:.0f}/s", median(n) / median(b), "<= 3.00", median(n) / median(b) <= 3))
    print()
    if args.sustained:
        p99 = percentile(ttl_ms, 99)
        checks.append(verdict(f"backlog 5 s after {args.sustained}s at {sustained_rate:.0f}/s", left, "== 0", left == 0))
        checks.append(verdict("time-to-stored p99 (ms)", p99, "<= 250", p99 <= 250))
    print(f"Ingest, {args.rounds} alternating rounds of {args.seconds}s, {args.workers} Hypercorn worker(s) and "
          f"{args.inbox_workers} nexus worker(s), {args.worker_class}; {machine()}")
    print(table(["measure", "baseline", "nexus", "ratio"], rows))
    if args.sustained:
        print(f"sustained {args.sustained}s at {sustained_rate:.0f}/s: {len(ttl_ms)} stored, "
              f"{sustained_errors} errors, backlog 5 s after: {left}, all stored {5 + held:.1f}s after; "
              f"time-to-stored p50 {percentile(ttl_ms, 50):.1f} ms, p99 {percentile(ttl_ms, 99):.1f} ms")
    print()
    for line in checks:
        print(line)
    print(f"acknowledged by Nexus: ~{acknowledged}; stored: {messages} messages in {tickets} tickets; "
          f"failed payloads: {failed}; processing finished {lag:.1f}s after the load; "
          f"RSS under load {rss:.0f} MB over {len(nexus_pids)} API process(es)")


if __name__ == "__main__":
    asyncio.run(main())
