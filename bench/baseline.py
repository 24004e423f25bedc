"""The ingest baseline: a bare Quart app, wrapped in the same python-socketio ASGI app, that
answers the same signed WhatsApp POST after checking the signature and parsing the JSON, and
does nothing else.

    python -m bench.baseline --port 8100 [--workers 2] [--worker-class asyncio]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os

import socketio
from quart import Quart, Response, request

SECRET = os.environ.get("BENCH_APP_SECRET", "bench-app-secret").encode()


def create() -> socketio.ASGIApp:
    app = Quart("baseline")

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.post("/webhooks/whatsapp/<name>")
    async def webhook(name: str) -> Response:
        body = await request.get_data()
        expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest((request.headers.get("X-Hub-Signature-256") or "").encode(), expected.encode()):
            return Response('{"error":"bad signature"}', status=401, content_type="application/json")
        json.loads(body)
        return Response("", status=200)

    sio = socketio.AsyncServer(async_mode="asgi")
    return socketio.ASGIApp(sio, other_asgi_app=app)


app = create()


def main() -> None:
    from hypercorn.config import Config
    from hypercorn.run import run

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--worker-class", default="asyncio")
    args = parser.parse_args()
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.workers = args.workers
    config.worker_class = args.worker_class
    config.accesslog = None
    config.application_path = "bench.baseline:app"
    run(config)


if __name__ == "__main__":
    main()
