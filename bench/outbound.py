"""Outbound: replies delivered per second to a fake channel API, with 1 and with 2 `nexus
worker` processes, against a no-op SAQ job's rate on the same Redis in the same run.

    python -m bench.outbound [--replies 3000] [--tickets 300] [--rounds 2] [--workers 1 2] [--profile]

The channel is the example plugin, with its pacing switched off (rate_per_second = 0), so the
delivery machinery itself is measured: claim, ordering check, send, commit, events. Target: at
least 0.5 times the baseline.

``--profile`` attaches ``py-spy record`` (``uv pip install py-spy``) to each worker while it
delivers and writes its collapsed stacks to bench/results/outbound-worker-<n>-<workers>w.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import aiohttp

from bench.common import (
    REDIS,
    RESULTS,
    Process,
    bench_database,
    free_port,
    machine,
    median,
    nexus_env,
    python,
    table,
    verdict,
)

SECRET = "bench-chat-secret"


def example_env(database_url: str, api_url: str, namespace: str) -> dict[str, str]:
    env = nexus_env(database_url, namespace)
    for key in list(env):
        if key.startswith("NEXUS_CHANNELS__WA__"):
            del env[key]
    env.update({
        "NEXUS_CHANNELS__CHAT__TYPE": "example", "NEXUS_CHANNELS__CHAT__API_URL": api_url,
        "NEXUS_CHANNELS__CHAT__TOKEN": "t", "NEXUS_CHANNELS__CHAT__SECRET": SECRET,
        "NEXUS_CHANNELS__CHAT__RATE_PER_SECOND": "0", "NEXUS_CHANNELS__CHAT__RATE_PER_RECIPIENT_PER_SECOND": "0",
        "NEXUS_DELIVERY__CONCURRENCY": "20",
    })
    return env


async def fake_api() -> tuple[object, str]:
    from nexus.testing import FakeProvider

    api = await FakeProvider().start()
    ids = itertools.count(1)
    api.route("POST", "/messages", lambda request: {"id": f"out-{next(ids)}"})
    return api, api.url


async def prepare(url: str, token: str, tickets: int) -> list[int]:
    from nexus_channel_example import sign

    async with aiohttp.ClientSession() as http:
        for i in range(tickets):
            body = json.dumps({"events": [{"type": "message", "id": f"in-{i}", "from": {"id": f"c{i}"}, "text": "hi"}]}).encode()
            async with http.post(f"{url}/webhooks/example/chat", data=body,
                                 headers={"X-Example-Signature": sign(body, SECRET)}) as response:
                assert response.status == 200
        async with http.get(f"{url}/api/v1/tickets", params={"limit": 1},
                            headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 200
    from nexus.db import models

    return list(await models.Ticket.all().order_by("id").values_list("id", flat=True))


async def queue_replies(url: str, token: str, tickets: list[int], count: int) -> None:
    async with aiohttp.ClientSession() as http:
        semaphore = asyncio.Semaphore(32)

        async def one(index: int) -> None:
            async with semaphore, http.post(f"{url}/api/v1/tickets/{tickets[index % len(tickets)]}/messages",
                                            json={"body": f"reply {index}"},
                                            headers={"Authorization": f"Bearer {token}"}) as response:
                assert response.status == 202, await response.text()

        await asyncio.gather(*(one(i) for i in range(count)))


def profile(process: Process, workers: int) -> subprocess.Popen[bytes]:
    """py-spy on a worker until it stops, its collapsed stacks in bench/results/."""
    assert process.popen is not None
    out = RESULTS / f"{process.name}-{workers}w.txt"
    spy = Path(python()).parent / "py-spy"
    return subprocess.Popen([str(spy), "record", "--pid", str(process.popen.pid), "--format", "raw", "--rate", "200",
                             "--output", str(out), "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cpu_seconds(process: Process) -> float:
    """User and system CPU time the process has used so far (Linux)."""
    assert process.popen is not None
    fields = Path(f"/proc/{process.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def delivery_rate(workers: int, env: dict[str, str], total: int, profiling: bool = False) -> float:
    """Start ``workers`` processes and time the deliveries from the first to the last; print
    the workers' CPU time per reply while they deliver (from the first sent reply on)."""
    from nexus.db import models

    processes = [Process([python(), "-m", "nexus.cli", "worker"], env, name=f"outbound-worker-{i}") for i in range(workers)]
    for process in processes:
        process.start()
    spies = [profile(process, workers) for process in processes] if profiling else []
    cpu_start: tuple[int, float] | None = None
    try:
        deadline = time.monotonic() + 600
        while (sent := await models.Message.filter(direction="outbound", status="sent").count()) < total:
            if cpu_start is None and sent:
                cpu_start = (sent, sum(cpu_seconds(process) for process in processes))
            if time.monotonic() > deadline:
                raise RuntimeError("replies were not all delivered in 10 minutes")
            await asyncio.sleep(0.25)
        cpu = sum(cpu_seconds(process) for process in processes)
        times = await models.Message.filter(direction="outbound", status="sent").values_list("sent_at", flat=True)
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        for process in processes:
            process.stop()
    if cpu_start is not None and total > cpu_start[0]:
        print(f"  worker CPU: {(cpu - cpu_start[1]) / (total - cpu_start[0]) * 1000:.2f} ms per reply", flush=True)
    span = (max(times) - min(times)).total_seconds()
    return (total - 1) / span


async def nexus_round(workers: int, replies: int, tickets: int, profiling: bool = False) -> float:
    from nexus.accounts import Accounts
    from nexus.db import close_database, open_database

    async with bench_database() as database:
        api, api_url = await fake_api()
        namespace = f"bench-{secrets.token_hex(3)}"
        env = example_env(database.url, api_url, namespace)
        port = free_port()
        server = Process([python(), "-m", "nexus.cli", "serve", "--port", str(port), "--no-delivery-worker", "--no-migrate"],
                         env, port, name="outbound-api").start()
        ctx = await open_database(database.url)
        try:
            accounts = Accounts(86400)
            agent = await accounts.create_agent(email="bench@example.com", name="Bench", role="admin")
            token = (await accounts.issue_token(agent, "bench")).token
            url = f"http://127.0.0.1:{port}"
            ticket_ids = await prepare(url, token, tickets)
            await queue_replies(url, token, ticket_ids, replies)
            return await delivery_rate(workers, env, replies, profiling)
        finally:
            await close_database(ctx)
            server.stop()
            await api.stop()


def baseline_round(workers: int, jobs: int) -> float:
    """A no-op SAQ job's rate on the same Redis, with the same worker count and concurrency."""
    queue = f"bench-noop-{secrets.token_hex(3)}"
    subprocess.run([python(), "-m", "bench.noop_saq", "enqueue", REDIS, queue, str(jobs)], check=True)
    out = RESULTS / f"{queue}.json"
    processes = [subprocess.Popen([python(), "-m", "bench.noop_saq", "work", REDIS, queue, str(jobs), str(out) + f".{i}"])
                 for i in range(workers)]
    for process in processes:
        process.wait(600)
    spans = [json.loads(open(str(out) + f".{i}").read()) for i in range(workers)]
    first = min(s["first"] for s in spans if s["done"])
    last = max(s["last"] for s in spans if s["done"])
    done = sum(s["done"] for s in spans)
    return (done - 1) / (last - first)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replies", type=int, default=3000)
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to measure")
    parser.add_argument("--profile", action="store_true", help="py-spy each worker (collapsed stacks in bench/results/)")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict[tuple[str, int], list[float]] = {}
    for round_ in range(args.rounds):
        for workers in args.workers:
            rate = baseline_round(workers, args.replies)
            results.setdefault(("baseline", workers), []).append(rate)
            print(f"round {round_ + 1}: no-op SAQ jobs, {workers} worker(s): {rate:.0f}/s", flush=True)
            rate = await nexus_round(workers, args.replies, args.tickets, args.profile)
            results.setdefault(("nexus", workers), []).append(rate)
            print(f"round {round_ + 1}: replies delivered, {workers} worker(s): {rate:.0f}/s", flush=True)
    rows, checks = [], []
    for workers in args.workers:
        base, ours = median(results[("baseline", workers)]), median(results[("nexus", workers)])
        rows.append([f"{workers} worker(s), per second", base, ours, ours / base])
        checks.append(verdict(f"ratio with {workers} worker(s)", ours / base, ">= 0.50", ours / base >= 0.5))
    print()
    print(f"Outbound: {args.replies} replies over {args.tickets} tickets, concurrency 20 per worker, "
          f"{args.rounds} alternating rounds; {machine()}")
    print(table(["measure", "no-op SAQ job", "nexus reply", "ratio"], rows))
    print()
    for line in checks:
        print(line)


if __name__ == "__main__":
    asyncio.run(main())
