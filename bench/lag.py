"""Event-loop lag: how late one `nexus serve` process (PostgreSQL and Redis) runs what is due
while 20 logins a second run beside 100 signed WhatsApp webhooks a second, some of them with
files the WhatsApp plugin downloads from a fake Graph API (hashed, stored, hashed again).

    python -m bench.lag [--seconds 30] [--rate 100] [--logins 20] [--media-every 25]
                        [--media-sizes 100000,1000000,5000000] [--interval 0.01]

The lag is measured inside each server, by its own monitor (`server.loop_lag_interval`, here
every ``--interval`` seconds): the histogram ``nexus_event_loop_lag_seconds`` that ``/metrics``
shows, read before and after each phase. The floor is a bare Quart app in the same
python-socketio ASGI app and Hypercorn settings, with the same monitor, that checks the
webhook's signature and parses its JSON, and checks the password with the same scrypt in a
thread: what the load costs a server that does nothing else. Phases: idle, ingest alone,
logins alone, both. Target: Nexus's p99 under both at most 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import re
import secrets
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from bench.common import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    OpenLoopResult,
    Process,
    bench_database,
    free_port,
    machine,
    nexus_env,
    open_loop,
    percentile,
    python,
    signature,
    table,
    verdict,
    whatsapp_payload,
)

CONTACTS = 5000
EMAIL, PASSWORD = "bench-agent@example.com", "bench-password-1"
GRAPH_VERSION = "v21.0"
TARGET_MS = 20.0
BUCKET = re.compile(r'^nexus_event_loop_lag_seconds_bucket\{le="([^"]+)"\} (\S+)$')


# --- Lag from /metrics -------------------------------------------------------------------


@dataclass(frozen=True)
class LagSnapshot:
    """The cumulative lag histogram of one server at one moment."""

    buckets: tuple[tuple[float, float], ...]  # (upper bound, cumulative count), +Inf last

    @classmethod
    def parse(cls, text: str) -> LagSnapshot:
        found = []
        for line in text.splitlines():
            match = BUCKET.match(line)
            if match:
                found.append((float(match.group(1)), float(match.group(2))))
        if not found:
            raise RuntimeError("the server's /metrics has no nexus_event_loop_lag_seconds")
        return cls(tuple(sorted(found)))

    def since(self, before: LagSnapshot) -> LagSnapshot:
        return LagSnapshot(tuple((b, n - m) for (b, n), (_, m) in zip(self.buckets, before.buckets, strict=True)))

    @property
    def count(self) -> float:
        return self.buckets[-1][1]

    def quantile_ms(self, q: float) -> float:
        """Like Prometheus's histogram_quantile: linear within the bucket that holds it."""
        if not self.count:
            return float("nan")
        rank, lower, below = q * self.count, 0.0, 0.0
        for bound, cumulative in self.buckets:
            if cumulative >= rank:
                if bound == float("inf"):
                    return lower * 1000
                inside = cumulative - below
                return (lower + (bound - lower) * ((rank - below) / inside if inside else 1)) * 1000
            lower, below = bound, cumulative
        return lower * 1000

    def share_within(self, seconds: float) -> float:
        for bound, cumulative in self.buckets:
            if bound >= seconds:
                return cumulative / self.count if self.count else float("nan")
        return 1.0


async def scrape(port: int) -> LagSnapshot:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as response:
        return LagSnapshot.parse(await response.text())


# --- The fake Graph API, serving files ----------------------------------------------------


@dataclass(frozen=True)
class Media:
    media_id: str
    data: bytes
    sha256: str  # base64, as Meta reports it


@contextlib.asynccontextmanager
async def graph_api(sizes: list[int]) -> AsyncIterator[tuple[str, list[Media]]]:
    """A Graph API on a loopback port with one file of each size; yields (base URL, files)."""
    from aiohttp import web

    files = []
    for i, size in enumerate(sizes):
        data = os.urandom(size)
        files.append(Media(str(1_000_000_000_000_000 + i), data, base64.b64encode(hashlib.sha256(data).digest()).decode()))
    by_id = {f.media_id: f for f in files}
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    async def get_object(request: web.Request) -> web.Response:
        object_id = request.match_info["object_id"]
        if object_id == PHONE_NUMBER_ID:
            return web.json_response({"display_phone_number": "+1 555-078-3881", "verified_name": "Bench",
                                      "quality_rating": "GREEN", "id": object_id})
        media = by_id.get(object_id)
        if media is None:
            return web.json_response({"error": {"message": "no such object", "code": 100}}, status=400)
        return web.json_response({"messaging_product": "whatsapp", "url": f"{base}/cdn/{object_id}",
                                  "mime_type": "application/pdf", "sha256": media.sha256,
                                  "file_size": len(media.data), "id": object_id})

    async def download(request: web.Request) -> web.Response:
        return web.Response(body=by_id[request.match_info["media_id"]].data, content_type="application/pdf")

    app = web.Application()
    app.router.add_get(f"/{GRAPH_VERSION}/{{object_id}}", get_object)
    app.router.add_get("/cdn/{media_id}", download)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield base, files
    finally:
        await runner.cleanup()


def webhooks(count: int, prefix: str, media: list[Media], every: int) -> Iterator[tuple[str, bytes]]:
    """Signed webhooks, senders rotating over many contacts; every ``every``-th carries a file."""
    for i in range(count):
        wa_id = f"4915{(i % CONTACTS):09d}"
        body = whatsapp_payload(f"wamid.{prefix}.{i}", wa_id, f"message {i} from {wa_id}")
        if media and every and i % every == every - 1:
            file = media[(i // every) % len(media)]
            payload = json.loads(body)
            message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
            del message["text"]
            message.update(type="document", document={"id": file.media_id, "mime_type": "application/pdf",
                                                      "sha256": file.sha256, "filename": f"file-{i}.pdf"})
            body = json.dumps(payload, separators=(",", ":")).encode()
        yield signature(body), body


def logins(count: int) -> Iterator[tuple[str, bytes]]:
    body = json.dumps({"email": EMAIL, "password": PASSWORD}).encode()
    for _ in range(count):
        yield "", body


# --- The floor ----------------------------------------------------------------------------


def floor_app():  # noqa: ANN201 - an ASGI app
    """The floor: the ingest baseline's webhook, a login that does the same scrypt check in a
    thread (against one stored hash) and answers a token, and the same lag monitor."""
    import hmac

    import socketio
    from quart import Quart, Response, request

    from nexus.auth import hash_password, new_token, verify_password
    from nexus.looplag import LoopLagMonitor

    app = Quart("floor")
    stored = hash_password(PASSWORD)
    monitor = LoopLagMonitor(float(os.environ.get("NEXUS_SERVER__LOOP_LAG_INTERVAL", "0.1")))

    @app.before_serving
    async def start() -> None:
        monitor.start()

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(monitor.histogram.render(), content_type="text/plain")

    @app.post("/webhooks/whatsapp/<name>")
    async def webhook(name: str) -> Response:
        body = await request.get_data()
        expected = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest((request.headers.get("X-Hub-Signature-256") or "").encode(), expected.encode()):
            return Response('{"error":"bad signature"}', status=401, content_type="application/json")
        json.loads(body)
        return Response("", status=200)

    @app.post("/api/v1/auth/login")
    async def login() -> Response:
        data = json.loads(await request.get_data())
        if not await asyncio.to_thread(verify_password, data["password"], stored):
            return Response('{"error":"invalid_credentials"}', status=401, content_type="application/json")
        return Response(json.dumps({"token": new_token()}), content_type="application/json")

    return socketio.ASGIApp(socketio.AsyncServer(async_mode="asgi"), other_asgi_app=app)


def serve_floor(port: int, worker_class: str) -> None:
    from hypercorn.config import Config
    from hypercorn.run import run

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.workers = 0  # serve in this process, as `nexus serve --workers 1` does
    config.worker_class = worker_class
    config.accesslog = None
    config.application_path = "bench.lag:floor_app()"
    run(config)


# --- The run ------------------------------------------------------------------------------


@dataclass
class Phase:
    server: str
    name: str
    lag: LagSnapshot
    ingest: OpenLoopResult | None
    login: OpenLoopResult | None
    rss_mb: float


async def run_phase(server: str, name: str, process: Process, port: int, args: argparse.Namespace,
                    media: list[Media], ingest: bool, login: bool) -> Phase:
    before = await scrape(port)
    tag = f"{server}-{name}-{secrets.token_hex(2)}"
    jobs = []
    if ingest:
        jobs.append(open_loop(f"http://127.0.0.1:{port}/webhooks/whatsapp/wa",
                              webhooks(int(args.rate * args.seconds) + 10, tag, media, args.media_every),
                              args.rate, args.seconds))
    if login:
        jobs.append(open_loop(f"http://127.0.0.1:{port}/api/v1/auth/login", logins(int(args.logins * args.seconds) + 10),
                              args.logins, args.seconds))
    if jobs:
        results = list(await asyncio.gather(*jobs))
    else:
        await asyncio.sleep(args.seconds)
        results = []
    rss = process.rss_mb()
    lag = (await scrape(port)).since(before)
    ingest_result = results.pop(0) if ingest else None
    login_result = results.pop(0) if login else None
    phase = Phase(server, name, lag, ingest_result, login_result, rss)
    print(f"{server}, {name}: lag p50 {lag.quantile_ms(0.5):.1f} ms, p99 {lag.quantile_ms(0.99):.1f} ms "
          f"({lag.count:.0f} samples, {lag.share_within(TARGET_MS / 1000):.2%} within {TARGET_MS:.0f} ms)"
          + (f"; webhooks p99 {ingest_result.p99:.1f} ms, {ingest_result.errors} errors" if ingest_result else "")
          + (f"; logins p99 {login_result.p99:.1f} ms, {login_result.errors} errors" if login_result else "")
          + f"; RSS {rss:.0f} MB", flush=True)
    return phase


async def drain(database_url: str) -> None:
    from bench.ingest import drain as wait_processed

    await wait_processed(database_url, 0)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=100, help="webhooks a second")
    parser.add_argument("--logins", type=float, default=20, help="logins a second")
    parser.add_argument("--media-every", type=int, default=25, help="every n-th webhook carries a file (0: none)")
    parser.add_argument("--media-sizes", default="100000,1000000,5000000", help="bytes of the files, in turn")
    parser.add_argument("--interval", type=float, default=0.01, help="the servers' lag sampling interval")
    parser.add_argument("--worker-class", default="asyncio", choices=["asyncio", "uvloop"])
    args = parser.parse_args()
    phases = [("idle", False, False), ("ingest", True, False), ("logins", False, True), ("both", True, True)]
    results: list[Phase] = []

    async with bench_database() as database, graph_api([int(s) for s in args.media_sizes.split(",")]) as (graph, media):
        with tempfile.TemporaryDirectory(prefix="nexus-bench-lag-") as data_dir:
            env = nexus_env(database.url, NEXUS_DATA_DIR=data_dir,
                            NEXUS_SERVER__LOOP_LAG_INTERVAL=str(args.interval),
                            NEXUS_CHANNELS__WA__GRAPH_API_BASE=graph,
                            NEXUS_CHANNELS__WA__GRAPH_API_VERSION=GRAPH_VERSION)
            subprocess.run([python(), "-m", "nexus.cli", "agents", "create", "--email", EMAIL, "--name", "Bench",
                            "--password-stdin"], input=PASSWORD.encode(), env=env, check=True, capture_output=True)
            floor_port, nexus_port = free_port(), free_port()
            servers = {
                "floor": (Process([python(), "-c", f"from bench.lag import serve_floor; serve_floor({floor_port}, "
                                   f"{args.worker_class!r})"], env, floor_port, name="lag-floor"), floor_port),
                "nexus": (Process([python(), "-m", "nexus.cli", "serve", "--port", str(nexus_port), "--workers", "1",
                                   "--worker-class", args.worker_class, "--no-migrate"], env, nexus_port,
                                  name="lag-nexus"), nexus_port),
            }
            for name, (process, port) in servers.items():
                process.start()
                try:
                    # Warm up: connections, caches, the first scrypt.
                    await open_loop(f"http://127.0.0.1:{port}/webhooks/whatsapp/wa",
                                    webhooks(100, f"warm-{name}", media, args.media_every), 50, 2)
                    await open_loop(f"http://127.0.0.1:{port}/api/v1/auth/login", logins(10), 5, 2)
                    if name == "nexus":
                        await drain(database.url)
                    for phase, ingest, login in phases:
                        results.append(await run_phase(name, phase, process, port, args, media, ingest, login))
                        if name == "nexus":
                            await drain(database.url)
                finally:
                    process.stop()

    rows = []
    for phase, _, _ in phases:
        floor = next(r for r in results if r.server == "floor" and r.name == phase)
        ours = next(r for r in results if r.server == "nexus" and r.name == phase)
        rows.append([phase, floor.lag.quantile_ms(0.5), ours.lag.quantile_ms(0.5),
                     floor.lag.quantile_ms(0.99), ours.lag.quantile_ms(0.99),
                     f"{ours.lag.share_within(TARGET_MS / 1000):.2%}", floor.rss_mb, ours.rss_mb])
    print()
    files = f"every {args.media_every}th with a file of {args.media_sizes} bytes in turn" if args.media_every else "no files"
    print(f"Event-loop lag (ms, from each server's own monitor sampling every {args.interval * 1000:g} ms), phases of "
          f"{args.seconds:g}s: {args.rate:g} webhooks/s ({files}), {args.logins:g} logins/s; one API process, "
          f"{args.worker_class}; {machine()}")
    print(table(["phase", "floor p50", "nexus p50", "floor p99", "nexus p99", f"nexus <= {TARGET_MS:g} ms",
                 "floor RSS MB", "nexus RSS MB"], rows))
    both = next(r for r in results if r.server == "nexus" and r.name == "both")
    p99 = both.lag.quantile_ms(0.99)
    print()
    print(verdict("nexus lag p99 with logins beside ingest (ms)", p99, f"<= {TARGET_MS:g}", p99 <= TARGET_MS))
    if both.ingest and both.login:
        print(f"under both: webhooks p50 {both.ingest.p50:.1f} / p99 {both.ingest.p99:.1f} ms, logins p50 "
              f"{both.login.p50:.1f} / p99 {both.login.p99:.1f} ms (p99 of logins at the floor "
              f"{percentile(next(r for r in results if r.server == 'floor' and r.name == 'both').login.latencies_ms, 99):.1f} ms)")


if __name__ == "__main__":
    asyncio.run(main())
