"""Outbound delivery: statuses only move forward, transient errors are retried, permanent ones
fail with a reason, replies keep their order, bursts are paced, and operators see it all."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import timedelta

import pytest

from nexus.db import models
from nexus.testing import wait_for
from tests.conftest import chat_config, message_event, post_events, receive


async def open_ticket(server, sender: str = "alice") -> tuple[int, str]:
    await receive(server, f"open-{sender}", sender)
    ticket = [t for t in await server.tickets() if t.contact.identities[0]["address"] == sender][0]
    _, token = await server.agent(f"agent-{sender}@example.com")
    return ticket.id, token


async def reply(server, ticket_id: int, token: str, text: str) -> int:
    status, body = await server.api("POST", f"/tickets/{ticket_id}/messages", token, {"body": text})
    assert status == 202, body
    return body["id"]


async def test_a_reply_moves_from_queued_to_sent_and_records_the_providers_id(chat_server, chat_api):
    ticket_id, token = await open_ticket(chat_server)
    message_id = await reply(chat_server, ticket_id, token, "hello")
    sent = await chat_server.wait_for_status(message_id, "sent")
    assert (sent.external_id, sent.attempts, sent.error_text) == ("out-1", 1, None)
    assert sent.sent_at is not None


async def test_transient_errors_are_retried_with_backoff(chat_server, chat_api):
    ticket_id, token = await open_ticket(chat_server)
    chat_api.fail(2, status=503, path="/messages")
    message_id = await reply(chat_server, ticket_id, token, "third time lucky")
    sent = await chat_server.wait_for_status(message_id, "sent", timeout=30)
    assert sent.attempts == 3
    statuses = [r.status for r in chat_api.requests_to("POST", "/messages")]
    assert statuses == [503, 503, 200]


async def test_retry_after_is_honoured(chat_server, chat_api):
    ticket_id, token = await open_ticket(chat_server)
    chat_api.fail(1, status=429, path="/messages", headers={"Retry-After": "2"}, json={"error": "slow down"})
    started = time.monotonic()
    message_id = await reply(chat_server, ticket_id, token, "patience")
    await chat_server.wait_for_status(message_id, "sent", timeout=30)
    first, second = chat_api.requests_to("POST", "/messages")
    assert (first.status, second.status) == (429, 200)
    assert time.monotonic() - started >= 2.0, "the second attempt waited for Retry-After"


async def test_a_permanent_error_fails_at_once_with_a_readable_reason(chat_server, chat_api):
    ticket_id, token = await open_ticket(chat_server)
    chat_api.fail(1, status=400, path="/messages", json={"error": "the recipient blocked this account", "code": "blocked"})
    message_id = await reply(chat_server, ticket_id, token, "hello?")
    failed = await chat_server.wait_for_status(message_id, "failed")
    assert (failed.attempts, failed.error_code, failed.error_text) == (1, "blocked", "the recipient blocked this account")
    status, deliveries = await chat_server.api("GET", "/deliveries", token, params={"status": "failed"})
    assert [(d["id"], d["error_text"]) for d in deliveries["items"]] == [(message_id, "the recipient blocked this account")]


async def test_delivery_gives_up_after_max_attempts(nexus_server, chat_api):
    async with nexus_server({**chat_config(chat_api), "delivery": {"max_attempts": 3}}) as server:
        ticket_id, token = await open_ticket(server)
        chat_api.fail(10, status=502, path="/messages", json={"error": "upstream down"})
        message_id = await reply(server, ticket_id, token, "nobody home")
        failed = await server.wait_for_status(message_id, "failed", timeout=30)
        assert failed.attempts == 3
        assert failed.error_text == "gave up after 3 attempts: provider answered 502: upstream down"


async def test_the_retry_endpoint_sends_a_failed_reply_again(chat_server, chat_api):
    ticket_id, token = await open_ticket(chat_server)
    chat_api.fail(1, status=400, path="/messages", json={"error": "bad recipient"})
    message_id = await reply(chat_server, ticket_id, token, "try me again")
    await chat_server.wait_for_status(message_id, "failed")
    status, body = await chat_server.api("POST", f"/messages/{message_id}/retry", token)
    assert (status, body["status"]) == (202, "queued")
    sent = await chat_server.wait_for_status(message_id, "sent")
    assert sent.metadata["failures"][0]["text"] == "bad recipient"
    assert [r.json()["text"] for r in chat_api.requests_to("POST", "/messages", succeeded=True)] == ["try me again"]
    assert (await chat_server.api("POST", f"/messages/{message_id}/retry", token)).status == 409


async def test_replies_in_one_ticket_arrive_in_the_order_they_were_written(chat_server, chat_api):
    ticket_id, token = await open_ticket(chat_server)
    chat_api.fail(1, status=503, path="/messages")  # the first reply needs a retry
    ids = [await reply(chat_server, ticket_id, token, f"part {i}") for i in range(6)]
    for message_id in ids:
        await chat_server.wait_for_status(message_id, "sent", timeout=30)
    delivered = [r.json()["text"] for r in chat_api.requests_to("POST", "/messages", succeeded=True)]
    assert delivered == [f"part {i}" for i in range(6)]


async def test_a_burst_is_paced_not_failed(chat_server, chat_api):
    """The example channel allows 5 sends a second to one recipient: 12 replies take over two
    seconds and none fails."""
    tickets = []
    for sender in ("alice", "bob"):
        tickets.append(await open_ticket(chat_server, sender))
    (alice_ticket, token), (bob_ticket, _) = tickets
    ids = [await reply(chat_server, alice_ticket, token, f"a{i}") for i in range(12)]
    ids.append(await reply(chat_server, bob_ticket, token, "b0"))
    await chat_server.settle(timeout=30)
    assert {m.status for m in await chat_server.messages(direction="outbound")} == {"sent"}
    to_alice = [r for r in chat_api.requests_to("POST", "/messages") if r.json()["to"] == "alice"]
    assert len(to_alice) == 12 and all(r.status == 200 for r in to_alice)
    assert to_alice[-1].received_at - to_alice[0].received_at >= 11 * 0.2 - 0.05, "paced at 5 a second"


async def test_statuses_never_move_backwards(chat_server, chat_api):
    ticket_id, token = await open_ticket(chat_server)
    message_id = await reply(chat_server, ticket_id, token, "track me")
    sent = await chat_server.wait_for_status(message_id, "sent")

    async def status_event(status, **extra):
        await post_events(chat_server, {"type": "status", "message_id": sent.external_id, "status": status, **extra})
        (view,) = await chat_server.messages(id=message_id)
        return view.status

    assert await status_event("read") == "read"
    assert await status_event("delivered") == "read", "a late delivered after read changes nothing"
    assert await status_event("failed", error_code="131026", error="undeliverable") == "read"
    (view,) = await chat_server.messages(id=message_id)
    assert view.delivered_at is not None and view.read_at is not None


async def test_a_status_for_an_unknown_message_is_applied_when_it_appears(chat_server, chat_api):
    ticket_id, token = await open_ticket(chat_server)
    await post_events(chat_server, {"type": "status", "message_id": "out-1", "status": "delivered"})
    assert await models.PendingStatus.all().count() == 1
    message_id = await reply(chat_server, ticket_id, token, "early report")
    delivered = await chat_server.wait_for_status(message_id, "delivered")
    assert delivered.external_id == "out-1"

    async def forgotten():
        return await models.PendingStatus.all().count() == 0

    await wait_for(forgotten, message="the applied report to be forgotten")


async def test_a_status_never_creates_a_contact_or_ticket(chat_server):
    await post_events(chat_server, {"type": "status", "message_id": "nobody-knows", "status": "read"})
    assert await models.Contact.all().count() == 0
    assert await chat_server.tickets() == []


async def test_metrics_show_the_delivery_figures(chat_server, chat_api):
    ticket_id, token = await open_ticket(chat_server)
    chat_api.fail(1, status=503, path="/messages")
    await chat_server.wait_for_status(await reply(chat_server, ticket_id, token, "one"), "sent", timeout=30)
    chat_api.fail(1, status=400, path="/messages")
    await chat_server.wait_for_status(await reply(chat_server, ticket_id, token, "two"), "failed")
    text = (await chat_server.request("GET", "/metrics")).body
    values = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert values["nexus_delivery_sent_total"] == "1"
    assert values["nexus_delivery_retried_total"] == "1"
    assert values["nexus_delivery_failed_total"] == "1"
    assert values["nexus_delivery_attempts_total"] == "3"
    assert values["nexus_delivery_failed_messages"] == "1"
    assert values["nexus_delivery_queued"] == "0"
    assert values['nexus_delivery_latency_seconds_bucket{le="+Inf"}'] == "1"
    assert float(values["nexus_delivery_latency_seconds_sum"]) > 0


async def test_automatic_replies_are_capped_per_address(nexus_server, chat_api):
    async with nexus_server({**chat_config(chat_api), "delivery": {"auto_reply_limit": 2}}) as server:
        ticket_id, _ = await open_ticket(server)
        views = [await server.nexus.api.reply(ticket_id, f"auto {i}") for i in range(3)]
        await server.settle()
        statuses = [(await server.messages(id=v.id))[0] for v in views]
        assert [m.status for m in statuses] == ["sent", "sent", "failed"]
        assert statuses[2].error_code == "auto_reply_limit"
        assert len(chat_api.requests_to("POST", "/messages")) == 2


async def test_automatic_replies_to_automatic_mail_are_refused(chat_server):
    from nexus.tickets import TicketError
    from nexus.types import Identity, InboundMessage

    host = chat_server.nexus.channels.get("chat").host
    await host.receive(InboundMessage("ask-1", Identity("casey"), text="Where is my order?"))
    # (An automatic message opens no ticket: this one lands in the contact's open ticket.)
    await host.receive(InboundMessage("ooo-1", Identity("casey"), text="Out of office", auto_submitted=True))
    (ticket,) = await chat_server.tickets()
    try:
        await chat_server.nexus.api.reply(ticket.id, "Thanks for writing!")
    except TicketError as error:
        assert error.code == "auto_submitted"
    else:
        raise AssertionError("an automatic reply to an auto-reply must be refused")


async def test_a_slow_provider_times_out_and_is_retried(nexus_server, fake_provider):
    api = await fake_provider()
    calls = itertools.count()

    async def slow_then_fast(request):
        if next(calls) == 0:
            await asyncio.sleep(3)
        return {"id": "slow-1"}

    api.route("POST", "/messages", slow_then_fast)
    async with nexus_server(chat_config(api, timeout=1.0)) as server:
        ticket_id, token = await open_ticket(server)
        sent = await server.wait_for_status(await reply(server, ticket_id, token, "eventually"), "sent", timeout=30)
        assert sent.attempts == 2


async def test_replies_wait_while_the_channel_is_down(nexus_server, chat_api):
    async with nexus_server(chat_config(chat_api)) as server:
        ticket_id, token = await open_ticket(server)
        runtime = server.nexus.channels.get("chat")
        runtime.state = "failed"
        message_id = await reply(server, ticket_id, token, "queued while down")

        async def unavailable():
            (view,) = await server.messages(id=message_id)
            return view if view.error_code == "channel_unavailable" else None

        waiting = await wait_for(unavailable, timeout=15, message="a retry that says the channel is down")
        assert waiting.status in ("queued", "sending")
        runtime.state = "running"
        await server.wait_for_status(message_id, "sent", timeout=30)
        assert chat_api.requests_to("POST", "/messages", succeeded=True)


async def test_operators_can_override_a_channels_pacing(nexus_server, chat_api):
    """rate_per_recipient_per_second = 2 paces one contact's replies half a second apart."""
    async with nexus_server(chat_config(chat_api, rate_per_recipient_per_second=2)) as server:
        assert server.nexus.channels.get("chat").rate_limit.per_recipient_per_second == 2
        ticket_id, token = await open_ticket(server)
        for i in range(4):
            await reply(server, ticket_id, token, f"r{i}")
        await server.settle(timeout=30)
        times = [r.received_at for r in chat_api.requests_to("POST", "/messages")]
        assert len(times) == 4
        assert times[-1] - times[0] >= 3 * 0.5 - 0.05


# --- Delivery that cannot stall, lose or double a reply (issue 13) ---------------------


async def test_a_backlog_paced_after_a_provider_pause_is_all_sent_in_order(nexus_server, chat_api):
    """200 replies to 100 contacts, paced at 10 a second, behind a 3 s Retry-After: a pacing
    slot is taken only by the send that uses it, so the backlog drains at the paced rate (the
    60 s pause and 5 s inline wait of production scaled down to 3 s and 2 s; the old pacing
    kept most of 60 workers' worth of replies queued for good). The backlog is written before
    the worker starts, so that only delivery is measured."""
    from nexus.runtime import Options

    pause, rate, tickets_count, per_ticket = 3, 10, 100, 2
    config = {**chat_config(chat_api, rate_per_second=rate), "delivery": {"max_inline_wait": 2, "concurrency": 60}}
    async with nexus_server(config, options=Options(delivery_worker=False)) as server:
        events = [message_event(f"in-{i}", f"contact-{i}", "help") for i in range(tickets_count)]
        assert (await post_events(server, *events)).status == 200
        tickets = [t.id for t in await server.tickets()]
        assert len(tickets) == tickets_count
        written: dict[int, list[str]] = {}
        for index in range(per_ticket):
            for number, ticket_id in enumerate(tickets):
                text = f"t{number}-r{index}"
                await server.nexus.tickets.reply(ticket_id, text, author=None)
                written.setdefault(ticket_id, []).append(text)
        chat_api.fail(1, status=429, path="/messages", headers={"Retry-After": str(pause)}, json={"error": "slow down"})
        await server.nexus.delivery.start_worker()
        try:
            total = tickets_count * per_ticket
            bound = pause + total / rate + 4.0
            await server.settle(timeout=bound + 30)
        finally:
            await server.nexus.delivery.stop_worker(1.0)
        outbound = await server.messages(direction="outbound")
        assert {m.status for m in outbound} == {"sent"} and len(outbound) == total
        (refused,) = chat_api.requests_to("POST", "/messages", succeeded=False)
        accepted_requests = chat_api.requests_to("POST", "/messages", succeeded=True)
        texts = [r.json()["text"] for r in accepted_requests]
        assert sorted(texts) == sorted(t for ts in written.values() for t in ts), "each reply accepted once"
        for ticket_texts in written.values():
            assert [t for t in texts if t in ticket_texts] == ticket_texts, "in order per ticket"
        took = accepted_requests[-1].received_at - refused.received_at
        assert took <= bound, f"the backlog drained in {took:.1f}s, beyond pause + backlog/rate + margin ({bound:.1f}s)"


async def test_an_automatic_reply_retried_five_times_is_still_sent(nexus_server, chat_api):
    """The auto-reply budget counts messages, not attempts: with a budget of one, one automatic
    reply that needs six attempts is sent."""
    async with nexus_server({**chat_config(chat_api), "delivery": {"auto_reply_limit": 1}}) as server:
        ticket_id, _ = await open_ticket(server)
        chat_api.fail(5, status=503, path="/messages")
        view = await server.nexus.api.reply(ticket_id, "we got your message")
        sent = await server.wait_for_status(view.id, "sent", "failed", timeout=40)
        assert (sent.status, sent.error_code, sent.attempts) == ("sent", None, 6)
        assert [r.status for r in chat_api.requests_to("POST", "/messages")] == [503] * 5 + [200]


async def test_a_receipt_racing_the_send_is_applied(chat_server, chat_api, nexus_backends):
    """The provider's "delivered" arrives while the send is being recorded: the webhook finds no
    message yet, and the send looks for waiting receipts before the webhook has stored its own.
    A lock on pending_statuses holds the webhook between the two, deterministically."""
    import asyncpg

    if nexus_backends.dialect != "postgres":
        pytest.fail("this interleaving is forced with a PostgreSQL table lock (NEXUS_TEST_DATABASE)")
    ticket_id, token = await open_ticket(chat_server)
    blocker = await asyncpg.connect(nexus_backends.database_url.replace("postgres://", "postgresql://", 1))
    try:
        locked = blocker.transaction()
        await locked.start()
        await blocker.execute("LOCK TABLE pending_statuses IN EXCLUSIVE MODE")
        receipt = asyncio.create_task(post_events(chat_server, {"type": "status", "message_id": "out-1", "status": "delivered"}))

        async def receipt_waits_for_the_lock() -> bool:
            return await blocker.fetchval(
                "SELECT count(*) FROM pg_locks WHERE relation = 'pending_statuses'::regclass AND NOT granted") > 0

        await wait_for(receipt_waits_for_the_lock, message="the receipt to wait on the table lock")
        message_id = await reply(chat_server, ticket_id, token, "race me")
        sent = await chat_server.wait_for_status(message_id, "sent")
        assert sent.external_id == "out-1"
        await locked.commit()
        assert (await receipt).status == 200
    finally:
        await blocker.close()
    delivered = await chat_server.wait_for_status(message_id, "delivered")
    assert delivered.delivered_at is not None


async def test_the_sweep_applies_receipts_whose_message_appeared(chat_server, chat_api):
    """A receipt kept for later whose message has been sent since (the sender's process died
    between recording the send and applying waiting receipts) is applied by the next sweep."""
    ticket_id, token = await open_ticket(chat_server)
    message_id = await reply(chat_server, ticket_id, token, "late news")
    sent = await chat_server.wait_for_status(message_id, "sent")
    channel = await models.Channel.get(name="chat")
    await models.PendingStatus.create(channel_id=channel.id, external_id=sent.external_id, status="read")
    await chat_server.nexus.delivery.sweep()
    (view,) = await chat_server.messages(id=message_id)
    assert view.status == "read"
    assert not await models.PendingStatus.exists()


async def test_a_reply_whose_worker_stops_on_its_last_attempt_fails_visibly(nexus_server, fake_provider):
    """A send whose worker stopped renewing its claim on the reply's last allowed attempt is not
    tried forever: the sweep marks it failed with a reason, and the stale worker's late answer
    changes nothing."""
    from nexus.clock import now

    from tests.test_faults import answer_when_told

    provider = await fake_provider()
    arrived, answer = answer_when_told(provider, "late-1")
    async with nexus_server({**chat_config(provider), "delivery": {"max_attempts": 1, "lease": 60}}) as server:
        ticket_id, _ = await open_ticket(server)
        message_id = (await server.nexus.tickets.reply(ticket_id, "last chance", author=None)).id
        await asyncio.wait_for(arrived.wait(), 15)
        # The worker stops renewing (hung, or cut off from the database): its lease passes.
        await models.Message.filter(id=message_id).update(lease_expires_at=now() - timedelta(seconds=1))
        assert await server.nexus.delivery.sweep() == 0, "nothing is queued again"
        failed = await server.wait_for_status(message_id, "failed")
        assert (failed.error_code, failed.attempts) == ("worker_lost", 1)
        assert "gave up after 1 attempts" in failed.error_text
        answer.set()
        await wait_for(lambda: provider.requests_to("POST", "/messages", succeeded=True), message="the late answer")
        await wait_for(lambda: not server.nexus.delivery.worker.job_task_contexts, message="the stale job to end")
        (view,) = await server.messages(id=message_id)
        assert (view.status, view.external_id) == ("failed", None), "the stale worker's late answer is fenced off"
