"""Real time: 1,000 connected agents in teams of 20, 100 inbound messages a second spread over
tickets of all teams, so that each event reaches about 20 agents.

    python -m bench.realtime [--agents 1000] [--team-size 20] [--rate 100] [--seconds 20] [--worker-class uvloop]

Measures from the webhook's 200 to each agent's receipt of ``message.created`` (p50, p99), and
counts lost and duplicated deliveries. The floor is a bare python-socketio server doing the same
fan-out through the same Redis manager, measured in the same run. Target: p99 of 150 ms or
less, nothing lost.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import secrets
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
    nexus_env,
    percentile,
    python,
    signature,
    table,
    verdict,
    whatsapp_payload,
)

CLIENT_PROCESSES = 4


async def start_clients(url: str, tokens: list[tuple[str, str]], tag: str) -> list[tuple[subprocess.Popen, Path]]:
    """The lean clients, split over processes; returns once every socket is connected."""
    clients = []
    for index in range(CLIENT_PROCESSES):
        part = tokens[index::CLIENT_PROCESSES]
        tokens_file = RESULTS / f"realtime-{tag}-tokens-{index}.tsv"
        tokens_file.write_text("".join(f"{agent}\t{token}\n" for agent, token in part))
        out_file = RESULTS / f"realtime-{tag}-receipts-{index}.jsonl"
        process = subprocess.Popen([python(), "-m", "bench.sio_clients", url, str(tokens_file), str(out_file)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        clients.append((process, out_file))
    for process, _ in clients:
        line = await asyncio.get_running_loop().run_in_executor(None, process.stdout.readline)
        assert line.strip() == "ready", f"client said {line!r}"
    return clients


def collect(clients: list[tuple[subprocess.Popen, Path]]) -> list[dict]:
    """Stop every client (each lingers a moment for events on the wire) and read its receipts."""
    receipts = []
    for process, _ in clients:
        process.stdin.write("stop\n")
        process.stdin.close()
    for process, out_file in clients:
        process.wait(120)
        receipts += [json.loads(line) for line in out_file.read_text().splitlines() if line]
    return receipts


def analyse(acks: dict[str, float], expected: dict[str, set[str]], receipts: list[dict]) -> dict:
    seen = collections.Counter((r["agent"], r["key"]) for r in receipts if r["key"] in acks)
    latencies = [(r["t"] - acks[r["key"]]) * 1000 for r in receipts if r["key"] in acks]
    wanted = sum(len(agents) for agents in expected.values())
    delivered = sum(1 for (agent, key) in seen if agent in expected.get(key, ()))
    return {
        "expected": wanted, "received": delivered, "lost": wanted - delivered,
        "duplicated": sum(n - 1 for n in seen.values()),
        "p50": percentile(latencies, 50), "p99": percentile(latencies, 99), "max": max(latencies, default=float("nan")),
    }


async def fixed_rate(rate: float, seconds: float, send) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    tasks = []
    for index in range(int(rate * seconds)):
        delay = start + index / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(index)))
    await asyncio.gather(*tasks)


async def run_floor(args, teams: int) -> dict:
    port = free_port()
    floor = Process([python(), "-m", "bench.floor", "--port", str(port), "--redis", REDIS, "--worker-class", args.worker_class],
                    nexus_env("sqlite:///unused"), port, name="realtime-floor").start()
    try:
        tokens = [(f"a{i}", f"team:{i // args.team_size}") for i in range(args.agents)]
        clients = await start_clients(f"http://127.0.0.1:{port}", tokens, "floor")
        acks: dict[str, float] = {}
        expected: dict[str, set[str]] = {}
        members = collections.defaultdict(set)
        for agent, room in tokens:
            members[room].add(agent)
        async with aiohttp.ClientSession() as http:
            async def send(index: int) -> None:
                room, key = f"team:{index % teams}", f"floor-{index}"
                async with http.post(f"http://127.0.0.1:{port}/emit", json={"room": room, "key": key}) as response:
                    assert response.status == 200
                acks[key] = time.time()
                expected[key] = members[room]

            await fixed_rate(args.rate, args.seconds, send)
        return analyse(acks, expected, collect(clients))
    finally:
        floor.stop()


async def prepare_nexus(database_url: str, url: str, args, teams: int, contacts_per_team: int) -> tuple[list, dict, list]:
    """Teams, agents with tokens, and one ticket per contact assigned to a team."""
    from nexus.accounts import Accounts
    from nexus.db import close_database, models, open_database

    ctx = await open_database(database_url)
    try:
        accounts = Accounts(86400)
        team_rows = [await models.Team.create(name=f"Team {t}") for t in range(teams)]
        tokens, members = [], collections.defaultdict(set)
        for i in range(args.agents):
            team = team_rows[i // args.team_size]
            agent = await models.Agent.create(name=f"Agent {i}", email=f"agent{i}@bench.example", role="agent")
            await team.members.add(agent)
            token = (await accounts.issue_token(agent, "bench")).token
            tokens.append((f"a{agent.id}", token))
            members[team.id].add(f"a{agent.id}")
        contacts = [(t, f"4917{t:04d}{c:05d}") for t in range(teams) for c in range(contacts_per_team)]
        async with aiohttp.ClientSession() as http:
            for index, (_, wa_id) in enumerate(contacts):
                body = whatsapp_payload(f"wamid.setup.{index}", wa_id, "hello")
                async with http.post(f"{url}/webhooks/whatsapp/wa", data=body,
                                     headers={"X-Hub-Signature-256": signature(body), "Content-Type": "application/json"}) as r:
                    assert r.status == 200, await r.text()
        while await models.Ticket.all().count() < len(contacts):
            await asyncio.sleep(0.2)
        contact_team = {}
        for team_index, wa_id in contacts:
            identity = await models.ContactIdentity.get(key=wa_id)
            await models.Ticket.filter(contact_id=identity.contact_id).update(team_id=team_rows[team_index].id)
            contact_team[wa_id] = team_rows[team_index].id
        return tokens, members, [(wa_id, contact_team[wa_id]) for _, wa_id in contacts]
    finally:
        await close_database(ctx)


async def run_nexus(args, teams: int) -> dict:
    async with bench_database() as database:
        port = free_port()
        env = nexus_env(database.url)
        nexus = Process([python(), "-m", "nexus.cli", "serve", "--port", str(port), "--workers", str(args.workers),
                         "--worker-class", args.worker_class, "--no-migrate"], env, port, name="realtime-nexus").start()
        try:
            url = f"http://127.0.0.1:{port}"
            tokens, members, contacts = await prepare_nexus(database.url, url, args, teams, contacts_per_team=10)
            clients = await start_clients(url, tokens, "nexus")
            acks: dict[str, float] = {}
            expected: dict[str, set[str]] = {}
            run = secrets.token_hex(3)
            async with aiohttp.ClientSession() as http:
                async def send(index: int) -> None:
                    wa_id, team_id = contacts[index % len(contacts)]
                    key = f"wamid.{run}.{index}"
                    body = whatsapp_payload(key, wa_id, f"message {index}")
                    async with http.post(f"{url}/webhooks/whatsapp/wa", data=body,
                                         headers={"X-Hub-Signature-256": signature(body), "Content-Type": "application/json"}) as r:
                        assert r.status == 200
                    acks[key] = time.time()
                    expected[key] = members[team_id]

                await fixed_rate(args.rate, args.seconds, send)
            return analyse(acks, expected, collect(clients))
        finally:
            nexus.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--team-size", type=int, default=20)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--worker-class", default="uvloop", choices=["asyncio", "uvloop"])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    teams = args.agents // args.team_size
    results: dict[str, list[dict]] = {"floor": [], "nexus": []}
    for round_ in range(args.rounds):
        results["floor"].append(await run_floor(args, teams))
        print(f"round {round_ + 1} floor: {results['floor'][-1]}", flush=True)
        results["nexus"].append(await run_nexus(args, teams))
        print(f"round {round_ + 1} nexus: {results['nexus'][-1]}", flush=True)

    def worst(name: str, key: str) -> float:
        return max(r[key] for r in results[name])

    rows = [[key, worst("floor", key), worst("nexus", key)] for key in ("p50", "p99", "max")]
    rows += [[key, sum(r[key] for r in results["floor"]), sum(r[key] for r in results["nexus"])]
             for key in ("expected", "received", "lost", "duplicated")]
    print()
    print(f"Real time: {args.agents} agents in teams of {args.team_size}, {args.rate:.0f} messages/s for "
          f"{args.seconds:.0f}s, {args.workers} API process(es), {args.worker_class}; {machine()}")
    print("(latencies in ms from the webhook's 200, or the floor's emit, to each receipt; worst round)")
    print(table(["measure", "floor", "nexus"], rows))
    print()
    p99 = worst("nexus", "p99")
    lost = sum(r["lost"] for r in results["nexus"])
    print(verdict("p99 (ms)", p99, "<= 150", p99 <= 150))
    print(f"lost: {lost}, duplicated: {sum(r['duplicated'] for r in results['nexus'])} "
          f"({'MET' if lost == 0 else 'MISSED'}: nothing lost)")


if __name__ == "__main__":
    asyncio.run(main())
