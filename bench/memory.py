"""Memory: resident size of `nexus serve` idle and under the ingest load, beside the ingest
baseline's in the same run.

    python -m bench.memory [--rate 400] [--seconds 20] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio

from bench.common import (
    Process,
    bench_database,
    free_port,
    machine,
    nexus_env,
    open_loop,
    python,
    signed_requests,
    table,
)


async def measure(server: Process, url: str, rate: float, seconds: float) -> tuple[float, float]:
    await asyncio.sleep(5)
    idle = server.rss_mb()
    peak = idle

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, server.rss_mb())
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    await open_loop(url, iter(signed_requests(int(rate * seconds) + 10, 5000)), rate, seconds)
    await asyncio.sleep(2)
    sampler.cancel()
    return idle, peak


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=400)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    rows = []
    async with bench_database() as database:
        for name, command in (
            ("baseline", [python(), "-m", "bench.baseline", "--workers", str(args.workers)]),
            ("nexus", [python(), "-m", "nexus.cli", "serve", "--workers", str(args.workers), "--no-migrate"]),
        ):
            port = free_port()
            server = Process([*command, "--port", str(port)], nexus_env(database.url), port, name=f"memory-{name}").start()
            try:
                idle, peak = await measure(server, f"http://127.0.0.1:{port}/webhooks/whatsapp/wa", args.rate, args.seconds)
                processes = len(server.pids)
            finally:
                server.stop()
            rows.append([name, idle, peak, processes])
    print()
    print(f"Memory (RSS, MB, summed over the server's processes): idle, then peak under {args.rate:.0f} webhooks/s "
          f"for {args.seconds:.0f}s, {args.workers} Hypercorn worker(s); {machine()}")
    print(table(["server", "idle MB", "under load MB", "processes"], rows))
    print(f"ratio nexus/baseline: idle {rows[1][1] / rows[0][1]:.2f}, under load {rows[1][2] / rows[0][2]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
