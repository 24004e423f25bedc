"""The real-time floor: a bare python-socketio server (with the same Redis manager Nexus uses)
doing the same fan-out as Nexus, and nothing else. A client's auth token is the room it joins;
``POST /emit {"room", "key"}`` emits one ``message.created`` to that room.

    python -m bench.floor --port 8200 --redis redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import json
import secrets

import socketio
from quart import Quart, request


def create(redis_url: str) -> socketio.ASGIApp:
    manager = socketio.AsyncRedisManager(redis_url, channel=f"floor-{secrets.token_hex(3)}")
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager)
    app = Quart("floor")

    @sio.on("connect")
    async def connect(sid, environ, auth):
        await sio.enter_room(sid, auth["token"])

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.post("/emit")
    async def emit() -> tuple[str, int]:
        body = json.loads(await request.get_data())
        # A payload the size of a Nexus message event.
        payload = {"id": 1, "ticket_id": 1, "external_id": body["key"], "text": "x" * 60, "direction": "inbound",
                   "status": "received", "attachments": [], "metadata": {}, "sender": {"address": "49150000000"}}
        await sio.emit("message.created", payload, room=body["room"])
        return "", 200

    return socketio.ASGIApp(sio, other_asgi_app=app)


def main() -> None:
    import asyncio

    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--worker-class", default="asyncio")
    args = parser.parse_args()
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.accesslog = None
    app = create(args.redis)
    if args.worker_class == "uvloop":
        import uvloop

        uvloop.run(serve(app, config))
    else:
        asyncio.run(serve(app, config))


if __name__ == "__main__":
    main()
