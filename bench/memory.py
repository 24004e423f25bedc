"""Memory: resident size of `nexus serve` idle and under the ingest load, beside the ingest
baseline's in the same run, in all and per API process.

    python -m bench.memory [--rate 400] [--seconds 20] [--workers 1]

With more than one worker, Hypercorn's parent process only watches its workers: the figure per
API process is that of the processes that serve (the workers; with one worker, `nexus serve`
serves in its own process, and the baseline in its one child). `python -m bench.lag` reports
the resident size of one process under logins, ingest and files beside its floor's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path

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


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def serving(server: Process) -> list[int]:
    """The processes that serve requests: Hypercorn's workers if it has any, else the one."""
    return server.pids[1:] or server.pids


async def measure(server: Process, url: str, rate: float, seconds: float) -> tuple[float, float, float, float]:
    """(idle total, peak total, idle per serving process, peak per serving process), in MB."""
    await asyncio.sleep(5)
    idle = server.rss_mb()
    idle_each = max(rss_mb(pid) for pid in serving(server))
    peak, peak_each = idle, idle_each

    async def sample() -> None:
        nonlocal peak, peak_each
        while True:
            peak = max(peak, server.rss_mb())
            peak_each = max(peak_each, *(rss_mb(pid) for pid in serving(server)))
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    await open_loop(url, iter(signed_requests(int(rate * seconds) + 10, 5000)), rate, seconds)
    await asyncio.sleep(2)
    sampler.cancel()
    return idle, peak, idle_each, peak_each


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
                idle, peak, idle_each, peak_each = await measure(
                    server, f"http://127.0.0.1:{port}/webhooks/whatsapp/wa", args.rate, args.seconds)
                processes = len(server.pids)
            finally:
                server.stop()
            rows.append([name, idle, peak, processes, idle_each, peak_each])
    print()
    print(f"Memory (RSS, MB): idle, then peak under {args.rate:.0f} webhooks/s for {args.seconds:.0f}s, "
          f"{args.workers} Hypercorn worker(s); {machine()}")
    print(table(["server", "idle MB", "under load MB", "processes", "idle MB per API process",
                 "under load MB per API process"], rows))
    base, ours = rows
    print(f"ratio nexus/baseline: idle {ours[1] / base[1]:.2f}, under load {ours[2] / base[2]:.2f}; "
          f"per API process: idle {ours[4] / base[4]:.2f}, under load {ours[5] / base[5]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
