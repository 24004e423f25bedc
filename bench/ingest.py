"""Ingest: signed WhatsApp-format webhooks against `nexus serve` on PostgreSQL and Redis, with
senders rotating over many contacts, against a bare Quart baseline in the same run.

    python -m bench.ingest [--workers 2] [--worker-class asyncio] [--seconds 10] [--rounds 3]

Reports the closed-loop maximum (wrk), and latency percentiles at fixed rates of 200 and 400
messages a second (an open-loop client that measures from each request's scheduled time).
Rounds alternate baseline and Nexus, since the machine is shared and noisy. Targets:
throughput at least 0.6 times the baseline's; p99 at each rate at most 3 times the baseline's.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time

from bench.common import (
    RESULTS,
    Process,
    bench_database,
    free_port,
    machine,
    median,
    nexus_env,
    open_loop,
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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="Hypercorn worker processes, for both servers")
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
        finally:
            nexus_pids = nexus.pids
            lag = await drain(database.url, acknowledged)
            messages, tickets, failed = await count_messages(database.url)
            nexus.stop()
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
    print(f"Ingest, {args.rounds} alternating rounds of {args.seconds}s, {args.workers} Hypercorn worker(s), "
          f"{args.worker_class}; {machine()}")
    print(table(["measure", "baseline", "nexus", "ratio"], rows))
    print()
    for line in checks:
        print(line)
    print(f"acknowledged by Nexus: ~{acknowledged}; stored: {messages} messages in {tickets} tickets; "
          f"failed payloads: {failed}; processing finished {lag:.1f}s after the load; "
          f"RSS under load {rss:.0f} MB over {len(nexus_pids)} process(es)")


if __name__ == "__main__":
    asyncio.run(main())
