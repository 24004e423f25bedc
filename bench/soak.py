"""Soak: a long mixed run that ends in counts, not timings.

    python -m bench.soak [--inbound 10000] [--replies 2000] [--contacts 1000]
                         [--failure-rate 0.3] [--pause-rate 0.05] [--retry-after 30]

* 10,000 signed WhatsApp webhooks, 20% of them redeliveries of earlier ones, sent in random
  order with bursts of 50 from one contact posted at once;
* 2,000 agent replies while the fake Graph API answers 30% of calls with 5xx or 429 (with
  Retry-After 1 s), and 5% more with provider pauses: 429 with Retry-After 30 s, which stops
  every send of the number for 30 s while the replies pile up behind the WhatsApp plugin's
  pacing (80 a second, 1 a second to one recipient);
* `nexus serve` plus one `nexus worker`, on PostgreSQL and Redis.

At the end it prints what was acknowledged, stored and delivered, and how many replies are
still `queued` or `sending` once delivery has settled (or ``--settle`` seconds passed). The
run passes with zero lost and zero duplicated messages and tickets, zero replies stuck, none
accepted twice by the provider, and every reply delivered or failed with a reason. Each
provider pause costs its Retry-After: 2,000 replies with 5% of calls paused for 30 s take
about an hour; ``--replies 200 --inbound 2000`` is a five-minute run.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import random
import secrets
import time

import aiohttp

from bench.common import (
    PHONE_NUMBER_ID,
    Process,
    bench_database,
    free_port,
    machine,
    nexus_env,
    python,
    signature,
    table,
    whatsapp_payload,
)

GRAPH_VERSION = "v21.0"


def graph_error(code: int, message: str) -> dict:
    return {"error": {"message": f"(#{code}) {message}", "type": "OAuthException", "code": code, "fbtrace_id": "soak"}}


async def fake_graph(failure_rate: float, pause_rate: float, retry_after: int):
    """Meta's Graph API as far as sending text goes, failing a share of calls on purpose and
    pausing the number (429, Retry-After) on another share."""
    from nexus.testing import FakeProvider, Reply

    api = await FakeProvider().start()
    ids = itertools.count(1)
    rng = random.Random(11)
    failures = [
        Reply(503, graph_error(1, "Service temporarily unavailable")),
        Reply(500, graph_error(2, "An unexpected error has occurred")),
        Reply(429, graph_error(130429, "Rate limit hit"), headers={"Retry-After": "1"}),
    ]
    pause = Reply(429, graph_error(80007, "Rate limit issues"), headers={"Retry-After": str(retry_after)})
    api.route("GET", "/{version}/{number}", {"id": PHONE_NUMBER_ID, "display_phone_number": "+1 555-0100",
                                             "verified_name": "Soak", "quality_rating": "GREEN"})

    def send(request):
        draw = rng.random()
        if draw < pause_rate:
            api.pauses += 1  # type: ignore[attr-defined]
            return pause
        if draw < pause_rate + failure_rate:
            return rng.choice(failures)
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": request.json()["to"], "wa_id": request.json()["to"]}],
            "messages": [{"id": f"wamid.out.{next(ids)}"}],
        }

    api.pauses = 0  # type: ignore[attr-defined]
    api.route("POST", "/{version}/{number}/messages", send)
    return api


def inbound_plan(count: int, contacts: int, duplicate_share: float, burst: int) -> list[list[tuple[str, bytes]]]:
    """Batches of webhooks to post at once: mostly one each, some bursts of ``burst`` from one
    contact; ``duplicate_share`` of all posts are redeliveries of earlier webhooks."""
    rng = random.Random(5)
    run = secrets.token_hex(3)
    unique = int(count * (1 - duplicate_share))
    bursts = max(1, unique // 400)
    regular = unique - bursts * burst
    batches: list[list[tuple[str, bytes]]] = []
    for index in range(regular):
        wamid = f"wamid.soak.{run}.{index}"
        batches.append([(wamid, whatsapp_payload(wamid, f"4917{rng.randrange(contacts):08d}", f"message {index}"))])
    for number in range(bursts):
        contact = f"4916{number:08d}"
        batch = []
        for part in range(burst):
            wamid = f"wamid.soak.{run}.burst.{number}.{part}"
            batch.append((wamid, whatsapp_payload(wamid, contact, f"burst part {part}")))
        batches.insert(rng.randrange(len(batches) + 1), batch)
    originals = [body for batch in batches for body in batch]
    for _ in range(count - unique):
        batches.insert(rng.randrange(len(batches) + 1), [rng.choice(originals)])
    return batches


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inbound", type=int, default=10_000)
    parser.add_argument("--replies", type=int, default=2_000)
    parser.add_argument("--contacts", type=int, default=1_000)
    parser.add_argument("--failure-rate", type=float, default=0.3,
                        help="share of send calls answered 500, 503 or 429 with Retry-After 1 s")
    parser.add_argument("--pause-rate", type=float, default=0.05,
                        help="share of send calls answered 429 with a long Retry-After (a provider pause)")
    parser.add_argument("--retry-after", type=int, default=30, help="seconds of each provider pause")
    parser.add_argument("--settle", type=float, default=7200, help="longest wait for delivery to settle (seconds)")
    args = parser.parse_args()
    from nexus.accounts import Accounts
    from nexus.db import close_database, models, open_database
    from nexus.types import DeliveryStatus

    started = time.monotonic()
    async with bench_database() as database:
        graph = await fake_graph(args.failure_rate, args.pause_rate, args.retry_after)
        env = nexus_env(database.url, NEXUS_CHANNELS__WA__GRAPH_API_BASE=graph.url,
                        NEXUS_CHANNELS__WA__GRAPH_API_VERSION=GRAPH_VERSION,
                        NEXUS_DELIVERY__BACKOFF_BASE="0.5s", NEXUS_DELIVERY__BACKOFF_MAX="5s",
                        NEXUS_LOGGING__LEVEL="WARNING")
        port = free_port()
        server = Process([python(), "-m", "nexus.cli", "serve", "--port", str(port), "--no-migrate"], env, port,
                         name="soak-serve").start()
        worker = Process([python(), "-m", "nexus.cli", "worker"], env, name="soak-worker").start()
        ctx = await open_database(database.url)
        acknowledged: set[str] = set()
        posts = errors = 0
        try:
            accounts = Accounts(86400)
            agent = await accounts.create_agent(email="soak@example.com", name="Soak", role="admin")
            token = (await accounts.issue_token(agent, "soak")).token
            url = f"http://127.0.0.1:{port}"
            batches = inbound_plan(args.inbound, args.contacts, 0.2, 50)
            async with aiohttp.ClientSession() as http:
                semaphore = asyncio.Semaphore(64)

                async def post(wamid: str, body: bytes) -> None:
                    nonlocal posts, errors
                    async with semaphore, http.post(f"{url}/webhooks/whatsapp/wa", data=body,
                                                    headers={"X-Hub-Signature-256": signature(body),
                                                             "Content-Type": "application/json"}) as response:
                        posts += 1
                        if response.status == 200:
                            acknowledged.add(wamid)
                        else:
                            errors += 1

                for batch in batches:
                    await asyncio.gather(*(post(w, b) for w, b in batch))
                print(f"inbound: {posts} webhooks posted, {len(acknowledged)} distinct acknowledged", flush=True)

                while await models.InboundEvent.filter(status__in=["pending", "processing"]).exists():
                    await asyncio.sleep(0.5)
                tickets = list(await models.Ticket.all().values_list("id", flat=True))
                reply_semaphore = asyncio.Semaphore(16)
                reply_ids: list[int] = []

                async def reply(index: int) -> None:
                    async with reply_semaphore, http.post(f"{url}/api/v1/tickets/{tickets[index % len(tickets)]}/messages",
                                                          json={"body": f"soak reply {index}"},
                                                          headers={"Authorization": f"Bearer {token}"}) as response:
                        assert response.status == 202, await response.text()
                        reply_ids.append((await response.json())["id"])

                await asyncio.gather(*(reply(i) for i in range(args.replies)))
                print(f"replies: {len(reply_ids)} accepted (202)", flush=True)

            replies_started = time.monotonic()
            deadline = replies_started + args.settle
            while await models.Message.filter(id__in=reply_ids, status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENDING]).exists():
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(1)
            delivery_seconds = time.monotonic() - replies_started
            stuck = collections.Counter(await models.Message.filter(
                id__in=reply_ids, status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENDING]).values_list("status", flat=True))

            inbound = await models.Message.filter(direction="inbound").values_list("external_id", flat=True)
            stored = collections.Counter(inbound)
            statuses = collections.Counter(await models.Message.filter(id__in=reply_ids).values_list("status", flat=True))
            failed_without_reason = await models.Message.filter(id__in=reply_ids, status=DeliveryStatus.FAILED,
                                                                error_text__isnull=True).count()
            contacts = await models.Contact.all().count()
            ticket_count = await models.Ticket.all().count()
            identities = await models.ContactIdentity.all().count()
            failed_payloads = await models.InboundEvent.filter(status="failed").count()
            accepted = collections.Counter(r.json()["text"]["body"] for r in graph.requests_to("POST", "/{version}/{number}/messages",
                                                                                    succeeded=True))
            graph_failures = len(graph.requests_to("POST", "/{version}/{number}/messages", succeeded=False))
            pauses = graph.pauses
        finally:
            await close_database(ctx)
            worker.stop()
            server.stop()
            await graph.stop()

    lost = len(acknowledged - set(stored))
    duplicated_messages = sum(n - 1 for n in stored.values())
    unresolved = stuck[DeliveryStatus.QUEUED] + stuck[DeliveryStatus.SENDING]
    duplicate_sends = sum(n - 1 for n in accepted.values())
    rows = [
        ["webhooks posted", posts], ["webhooks refused (non-200)", errors],
        ["distinct messages acknowledged", len(acknowledged)], ["inbound messages stored", sum(stored.values())],
        ["acknowledged but not stored (lost)", lost], ["stored twice (duplicated)", duplicated_messages],
        ["contacts", contacts], ["contact identities", identities], ["tickets", ticket_count],
        ["payloads failed to process", failed_payloads],
        ["replies accepted", args.replies], ["replies sent", statuses[DeliveryStatus.SENT]],
        ["replies failed", statuses[DeliveryStatus.FAILED]], ["failed without a reason", failed_without_reason],
        ["replies still queued at the end (stuck)", stuck[DeliveryStatus.QUEUED]],
        ["replies still sending at the end (stuck)", stuck[DeliveryStatus.SENDING]],
        ["provider calls failed on purpose", graph_failures],
        [f"of them provider pauses (429, Retry-After {args.retry_after}s)", pauses],
        ["replies accepted twice by the provider", duplicate_sends],
        ["seconds from the last reply accepted to delivery settled", round(delivery_seconds)],
    ]
    print()
    print(f"Soak: {args.inbound} webhooks (20% redelivered, bursts of 50), {args.replies} replies with "
          f"{args.failure_rate:.0%} of provider calls failing and {args.pause_rate:.0%} pausing the number for "
          f"{args.retry_after}s, pacing on; {time.monotonic() - started:.0f}s; {machine()}")
    print(table(["count", "value"], rows))
    ok = (lost == 0 and duplicated_messages == 0 and ticket_count == contacts and identities == contacts
          and unresolved == 0 and failed_without_reason == 0 and duplicate_sends == 0 and failed_payloads == 0)
    print()
    print(f"zero lost, zero duplicated, zero stuck, none accepted twice, every reply delivered or failed "
          f"with a reason: {'MET' if ok else 'MISSED'}")


if __name__ == "__main__":
    asyncio.run(main())
