"""What the benchmarks share: services to start, signed WhatsApp payloads, load clients and
the tables they print. Run by hand (see bench/README.md), never from the test suite."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_ADMIN = os.environ.get("NEXUS_BENCH_DATABASE", "postgres://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("NEXUS_BENCH_REDIS", "redis://127.0.0.1:6379/0")
APP_SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "100200300400500"
VERIFY_TOKEN = "bench-verify"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require(tool: str, hint: str) -> None:
    if shutil.which(tool) is None:
        sys.exit(f"bench: {tool} is needed: {hint}")


# --- WhatsApp Cloud API webhooks, as Meta sends them ---------------------------------------


def whatsapp_payload(message_id: str, wa_id: str, text: str, timestamp: int | None = None) -> bytes:
    """One inbound text message in Meta's documented webhook format, compact JSON with
    non-ASCII escaped the way Meta sends it."""
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
                    "contacts": [{"profile": {"name": f"Customer {wa_id[-4:]}"}, "wa_id": wa_id}],
                    "messages": [{
                        "from": wa_id, "id": message_id, "timestamp": str(timestamp or int(time.time())),
                        "type": "text", "text": {"body": text},
                    }],
                },
            }],
        }],
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_requests(count: int, contacts: int, prefix: str | None = None) -> list[tuple[str, bytes]]:
    """``count`` distinct messages, senders rotating over ``contacts`` numbers."""
    prefix = prefix or secrets.token_hex(4)
    requests = []
    for i in range(count):
        wa_id = f"4915{(i % contacts):09d}"
        body = whatsapp_payload(f"wamid.{prefix}.{i}", wa_id, f"message {i} from {wa_id}")
        requests.append((signature(body), body))
    return requests


# --- Services ------------------------------------------------------------------------------


@dataclass
class BenchDatabase:
    url: str
    name: str

    @classmethod
    async def create(cls, migrate: bool = True) -> BenchDatabase:
        import asyncpg

        from nexus.db.migrations import apply_migrations

        name = f"nexus_bench_{os.getpid()}_{secrets.token_hex(3)}"
        admin = await asyncpg.connect(urlsplit(PG_ADMIN)._replace(scheme="postgresql").geturl())
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        database = cls(urlsplit(PG_ADMIN)._replace(path=f"/{name}").geturl(), name)
        if migrate:
            await apply_migrations(database.url)
        return database

    async def drop(self) -> None:
        import asyncpg

        admin = await asyncpg.connect(urlsplit(PG_ADMIN)._replace(scheme="postgresql").geturl())
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()


@dataclass
class Process:
    """A server process of the benchmark, with its log in bench/results/."""

    args: list[str]
    env: dict[str, str]
    port: int | None = None
    name: str = "process"
    popen: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.log = RESULTS / f"{self.name}.log"

    def start(self, ready_timeout: float = 60) -> Process:
        with open(self.log, "wb") as out:
            self.popen = subprocess.Popen(self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        if self.port is not None:
            deadline = time.monotonic() + ready_timeout
            while True:
                if self.popen.poll() is not None:
                    raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}") from None
                    time.sleep(0.1)
        return self

    @property
    def pids(self) -> list[int]:
        """The process and its children (hypercorn's workers)."""
        assert self.popen is not None
        pids = [self.popen.pid]
        try:
            children = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children").read_text().split()
            pids += [int(pid) for pid in children]
        except OSError:
            pass
        return pids

    def rss_mb(self) -> float:
        total = 0
        for pid in self.pids:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total / 1024

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def python() -> str:
    return sys.executable


def nexus_env(database_url: str, namespace: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({
        "DATABASE_URL": database_url, "REDIS_URL": REDIS,
        "NEXUS_REDIS__NAMESPACE": namespace or f"bench-{secrets.token_hex(3)}",
        "NEXUS_LOGGING__LEVEL": "WARNING",
        "NEXUS_CHANNELS__WA__TYPE": "whatsapp",
        "NEXUS_CHANNELS__WA__PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "NEXUS_CHANNELS__WA__ACCESS_TOKEN": "bench-token",
        "NEXUS_CHANNELS__WA__APP_SECRET": APP_SECRET,
        "NEXUS_CHANNELS__WA__VERIFY_TOKEN": VERIFY_TOKEN,
        # The Graph API is never called while ingesting text; point it nowhere.
        "NEXUS_CHANNELS__WA__GRAPH_API_BASE": "http://127.0.0.1:9",
    })
    env.update(extra)
    return env


# --- Load clients --------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class OpenLoopResult:
    rate: float
    sent: int
    errors: int
    latencies_ms: list[float]

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)


async def open_loop(url: str, requests: Iterator[tuple[str, bytes]], rate: float, seconds: float,
                    concurrency_cap: int = 2000) -> OpenLoopResult:
    """Send at a fixed rate whatever the server does, and measure each request from the time it
    was *scheduled*, so that queueing in the server shows (no coordinated omission)."""
    import aiohttp

    latencies: list[float] = []
    errors = 0
    total = int(rate * seconds)
    connector = aiohttp.TCPConnector(limit=concurrency_cap)
    async with aiohttp.ClientSession(connector=connector) as session:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2

        async def one(index: int, sig: str, body: bytes) -> None:
            nonlocal errors
            scheduled = start + index / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                async with session.post(url, data=body, headers={"Content-Type": "application/json",
                                                                  "X-Hub-Signature-256": sig}) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                        return
            except aiohttp.ClientError:
                errors += 1
                return
            latencies.append((loop.time() - scheduled) * 1000)

        tasks = [asyncio.create_task(one(i, *next(requests))) for i in range(total)]
        await asyncio.gather(*tasks)
    return OpenLoopResult(rate, total, errors, latencies)


def run_wrk(url: str, requests_file: Path, seconds: int, connections: int = 64, threads: int = 2) -> float:
    """Closed-loop maximum with wrk, cycling pre-signed requests; returns requests per second."""
    require("wrk", "apt-get install wrk")
    script = ROOT / "bench" / "wrk_signed.lua"
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url,
         "--", str(requests_file), str(threads)],
        capture_output=True, text=True, check=True,
    )
    for line in result.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            rate = float(line.split()[1])
            break
    else:
        raise RuntimeError(f"wrk printed no rate:\n{result.stdout}\n{result.stderr}")
    errors = [line for line in result.stdout.splitlines() if "Non-2xx" in line or "Socket errors" in line]
    if errors:
        print(f"  wrk: {'; '.join(errors)}", file=sys.stderr)
    return rate


def write_requests_file(path: Path, requests: Sequence[tuple[str, bytes]]) -> None:
    with open(path, "wb") as out:
        for sig, body in requests:
            out.write(sig.encode() + b"\t" + body + b"\n")


# --- Output --------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[f"{c:.1f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def verdict(name: str, value: float, target: str, ok: bool) -> str:
    return f"{name}: {value:.2f} (target {target}) {'MET' if ok else 'MISSED'}"


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextlib.asynccontextmanager
async def bench_database(migrate: bool = True) -> AsyncIterator[BenchDatabase]:
    database = await BenchDatabase.create(migrate)
    try:
        yield database
    finally:
        await database.drop()


def machine() -> str:
    cpus = os.cpu_count()
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        mem = f"{int(mem) / 1024 / 1024:.0f} GiB"
    return f"{cpus} CPUs ({model}), {mem} RAM, Python {sys.version.split()[0]}"
