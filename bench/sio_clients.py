"""A lean Socket.IO client for many sockets in one process: just enough of the Engine.IO v4 and
Socket.IO v5 protocols (websocket transport) to connect with an auth token, answer pings and
record events. python-socketio's own client saturates a core at about 200 sockets.

    python -m bench.sio_clients URL TOKENS_FILE OUT_FILE

It prints "ready" once every socket is connected, and keeps recording until a line arrives on
its standard input (or it closes), then waits a moment for events still on the wire.

TOKENS_FILE has one "<agent>\\t<token>" per line; OUT_FILE gets one JSON line per received
``message.created``: {"agent", "key", "t"} with ``t`` the wall-clock receipt time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp


async def agent_socket(session: aiohttp.ClientSession, url: str, agent: str, token: str,
                       out: list[str], connected: asyncio.Event, counters: dict[str, int]) -> None:
    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with session.ws_connect(ws_url, heartbeat=None, max_msg_size=0) as ws:
        opening = await ws.receive_str()
        assert opening.startswith("0"), opening
        await ws.send_str("40" + json.dumps({"token": token}))
        async for frame in ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                break
            data = frame.data
            if data == "2":
                await ws.send_str("3")
            elif data.startswith("42"):
                received = time.time()
                name, payload = json.loads(data[2:])[:2]
                if name == "message.created":
                    key = payload.get("external_id") or str(payload.get("id"))
                    out.append(json.dumps({"agent": agent, "key": key, "t": received}))
            elif data.startswith("40"):
                counters["connected"] += 1
                if counters["connected"] == counters["total"]:
                    connected.set()
            elif data.startswith("44"):
                counters["refused"] += 1
                print(f"refused: {data}", file=sys.stderr)
                return


LINGER = 2.0


async def main(url: str, tokens_file: str, out_file: str) -> None:
    tokens = [line.split("\t") for line in open(tokens_file).read().splitlines() if line]
    out: list[str] = []
    connected = asyncio.Event()
    counters = {"connected": 0, "refused": 0, "total": len(tokens)}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [asyncio.create_task(agent_socket(session, url, agent, token, out, connected, counters))
                 for agent, token in tokens]
        try:
            await asyncio.wait_for(connected.wait(), 60)
        except TimeoutError:
            print(f"only {counters['connected']} of {len(tokens)} sockets connected", file=sys.stderr)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await asyncio.sleep(LINGER)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    with open(out_file, "w") as handle:
        handle.write("\n".join(out) + ("\n" if out else ""))


if __name__ == "__main__":
    import uvloop

    uvloop.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
