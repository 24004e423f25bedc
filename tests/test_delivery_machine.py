"""A property-based, stateful test of delivery, against the real database and Redis.

Hypothesis drives several delivery workers over a handful of tickets in random order: workers
start on any reply (the dispatcher's or a stale job), the provider answers each send when a
rule says so (accepted, 503, 429 with Retry-After, 400, or a timeout, before or after it
accepted), workers crash or stall in the middle of a send, sweeps run, time passes, and
delivery receipts arrive early, late or for a duplicate. After every step it checks:

* statuses never move backwards (``sent``/``delivered``/``read`` never become ``queued`` or
  ``sending``, ``read`` never ``delivered``, ...), and a reply's provider id never changes;
* every ``sending`` reply holds a claim: a token and a lease;
* the provider is called for a reply only while it is ``sending``, and only once every earlier
  reply of its ticket is sent or failed (per-ticket order);
* the provider accepts a reply more than once only in the at-least-once window: for each
  extra acceptance there is an accepted send whose result was lost (its worker crashed, its
  answer timed out, or its worker had stopped renewing its claim);
* no reply fails for the automatic-reply budget, which is larger than the replies per contact.

At the end of each example the worker that crashed stays dead, the rest is resolved, and
rounds of "time passes, sweep, dispatch, provider accepts" must bring every reply to ``sent``
or ``failed`` within one round per reply (plus two); then every receipt for a reply's provider
id has been applied.

The machine controls time instead of waiting for it: backoffs, pauses and leases are an hour
long, and the "time passes" and "stall" rules move the stored times instead (a stalled worker
is one whose lease passed without a heartbeat). A timeout is the plugin's own client giving
up (it raises ``TimeoutError``), as aiohttp's does. Nothing sleeps, so an example is
deterministic and Hypothesis can shrink a failure to its shortest story.

``NEXUS_MACHINE_EXAMPLES`` sets the number of examples (default 12, the suite's bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from nexus import Channel, ChannelConfig, Identity, InboundMessage, PermanentError, RetryableError, SendResult, StatusUpdate, hookimpl
from nexus.clock import now
from nexus.db import models
from nexus.runtime import Options
from nexus.testing.server import run_nexus
from nexus.types import DeliveryStatus

EXAMPLES = int(os.environ.get("NEXUS_MACHINE_EXAMPLES", "12"))
STEPS = 30
HOUR = 3600.0
FINAL = {DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ, DeliveryStatus.FAILED}
DELIVERED = {DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ}
#: (from, to) pairs no reply may ever be seen to take, over any number of steps.
BACKWARDS = {
    *((a, b) for a in DELIVERED for b in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)),
    (DeliveryStatus.DELIVERED, DeliveryStatus.SENT), (DeliveryStatus.READ, DeliveryStatus.SENT),
    (DeliveryStatus.READ, DeliveryStatus.DELIVERED), (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED),
    (DeliveryStatus.READ, DeliveryStatus.FAILED),
    *((DeliveryStatus.FAILED, b) for b in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.SENT)),
}
CONFIG = {
    "channels": {"sim": {"type": "sim"}},
    "delivery": {"max_attempts": 4, "backoff_base": HOUR, "backoff_max": HOUR, "lease": HOUR,
                 "stuck_after": 100 * HOUR, "max_inline_wait": 1, "auto_reply_limit": 2, "sweep_interval": HOUR},
}


@dataclass
class Call:
    """One send as the provider sees it."""

    number: int
    message_id: int
    token: str | None
    answer: asyncio.Future[Any]
    worker: asyncio.Task[Any] | None = None
    accepted: bool = False
    provider_id: str | None = None
    #: The result of this send may be lost: its worker crashed or stalled, or it timed out.
    window: bool = False
    crashed: bool = False
    answered: bool = False


@dataclass
class Provider:
    """The channel's provider, answering each send only when the machine says so."""

    calls: list[Call] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(1))

    async def arrive(self, message_id: int) -> SendResult:
        row = await models.Message.get(id=message_id)
        if row.status != DeliveryStatus.SENDING:
            self.violations.append(f"message {message_id} was sent while {row.status}")
        earlier = await models.Message.filter(ticket_id=row.ticket_id, direction="outbound", id__lt=message_id).values_list("id", "status")
        for earlier_id, status in earlier:
            if status not in FINAL:
                self.violations.append(f"message {message_id} was sent while earlier message {earlier_id} was {status}")
        call = Call(len(self.calls) + 1, message_id, row.claim_token, asyncio.get_running_loop().create_future())
        self.calls.append(call)
        outcome = await call.answer
        return outcome()

    def accept(self, call: Call) -> str:
        call.accepted = True
        call.provider_id = f"sim-{next(self.ids)}"
        return call.provider_id


PROVIDER = Provider()
#: Every example writes as new contacts: the pipeline caches identities per process.
CONTACTS = itertools.count(1)


class SimChannel(Channel):
    type_name = "sim"
    Config = ChannelConfig
    send_timeout = 100 * HOUR

    async def send(self, message):
        return await PROVIDER.arrive(message.message_id)


class SimPlugin:
    @hookimpl
    def nexus_register_channel_types(self, register):
        register(SimChannel)


class DeliveryMachine(RuleBasedStateMachine):
    loop: asyncio.AbstractEventLoop
    server: Any
    #: Examples run and steps taken, for the test to check that the search really ran.
    examples = 0
    steps = 0

    def __init__(self) -> None:
        super().__init__()
        DeliveryMachine.examples += 1
        PROVIDER.calls.clear()
        PROVIDER.violations.clear()
        self.nexus = self.server.nexus
        self.delivery = self.nexus.delivery
        self.host = self.nexus.channels.get("sim").host
        self.message_ids: list[int] = []
        self.automatic: set[int] = set()
        self.seen: dict[int, tuple[DeliveryStatus, str | None]] = {}
        self.receipts: list[tuple[str, DeliveryStatus]] = []
        self.workers: list[asyncio.Task[Any]] = []

    def run(self, coro: Any) -> Any:
        DeliveryMachine.steps += 1
        return self.loop.run_until_complete(coro)

    # --- Helpers -----------------------------------------------------------------------

    async def _settle(self, task: asyncio.Task[Any], calls_before: int) -> None:
        """Let ``task`` run until it is done or waits at the provider."""
        while not task.done() and len(PROVIDER.calls) == calls_before:
            await asyncio.sleep(0.002)
        if len(PROVIDER.calls) > calls_before:
            PROVIDER.calls[-1].worker = task
        if task.done() and task.exception() is not None:
            raise task.exception()

    async def _start(self, message_id: int) -> None:
        before = len(PROVIDER.calls)
        task = asyncio.create_task(self.delivery.deliver(message_id))
        self.workers.append(task)
        await self._settle(task, before)

    async def _answer(self, call: Call, outcome: Any) -> None:
        call.answered = True
        call.answer.set_result(outcome)
        if call.worker is not None:
            before = len(PROVIDER.calls)
            await self._settle(call.worker, before)

    def _waiting(self, *, alive: bool = True) -> list[Call]:
        return [c for c in PROVIDER.calls if not c.answered and not c.crashed] if alive else \
               [c for c in PROVIDER.calls if not c.answered]

    async def _expire_lease(self, call: Call) -> None:
        await models.Message.filter(id=call.message_id, claim_token=call.token, status=DeliveryStatus.SENDING).update(
            lease_expires_at=now() - timedelta(seconds=1))

    async def _time_passes(self) -> None:
        earlier = now() - timedelta(seconds=2 * HOUR)
        await models.Message.filter(id__in=self.message_ids, status=DeliveryStatus.QUEUED, next_attempt_at__isnull=False).update(
            next_attempt_at=earlier)
        await models.Message.filter(id__in=self.message_ids, status=DeliveryStatus.QUEUED).update(status_changed_at=earlier)
        await self.nexus.redis.delete(self.nexus.settings.redis_key("pause", "sim"))
        for call in PROVIDER.calls:
            if call.crashed or call.window:
                await self._expire_lease(call)

    async def _receipt(self, provider_id: str, status: DeliveryStatus) -> None:
        self.receipts.append((provider_id, status))
        await self.host.update_status(StatusUpdate(provider_id, status))

    # --- Rules -------------------------------------------------------------------------

    @initialize(tickets=st.integers(1, 3), replies=st.lists(st.tuples(st.integers(0, 2), st.booleans()), min_size=1, max_size=6))
    def open_tickets(self, tickets: int, replies: list[tuple[int, bool]]) -> None:
        async def go() -> None:
            ids = []
            for number in range(tickets):
                contact = next(CONTACTS)
                receipt = await self.host.receive(InboundMessage(f"in-{contact}", Identity(f"contact-{contact}"), text="help"))
                ids.append((await models.Message.get(id=receipt.message_id)).ticket_id)
            automatic_per_ticket: dict[int, int] = {}
            for index, (ticket, automatic) in enumerate(replies):
                ticket_id = ids[ticket % tickets]
                # Each contact gets at most as many automatic replies as the budget allows.
                automatic = automatic and automatic_per_ticket.get(ticket_id, 0) < CONFIG["delivery"]["auto_reply_limit"]
                automatic_per_ticket[ticket_id] = automatic_per_ticket.get(ticket_id, 0) + automatic
                view = await self.nexus.tickets.reply(ticket_id, f"reply {index}", author=None, automatic=automatic)
                self.message_ids.append(view.id)
                if automatic:
                    self.automatic.add(view.id)

        self.run(go())

    @rule(pick=st.integers(0, 50))
    def a_worker_takes_any_reply(self, pick: int) -> None:
        self.run(self._start(self.message_ids[pick % len(self.message_ids)]))

    @rule()
    def the_dispatcher_runs(self) -> None:
        async def go() -> None:
            for message_id in await self.delivery.due():
                await self._start(message_id)

        self.run(go())

    @rule()
    def a_sweep_runs(self) -> None:
        self.run(self.delivery.sweep())

    @rule()
    def time_passes(self) -> None:
        self.run(self._time_passes())

    @precondition(lambda self: self._waiting())
    @rule(pick=st.integers(0, 50), early=st.sampled_from([None, DeliveryStatus.DELIVERED, DeliveryStatus.READ]))
    def the_provider_accepts(self, pick: int, early: DeliveryStatus | None) -> None:
        calls = self._waiting()
        call = calls[pick % len(calls)]
        provider_id = PROVIDER.accept(call)

        async def go() -> None:
            if early is not None:  # the receipt overtakes the send's answer
                await self._receipt(provider_id, early)
            await self._answer(call, lambda: SendResult(external_id=provider_id))

        self.run(go())

    @precondition(lambda self: self._waiting())
    @rule(pick=st.integers(0, 50), kind=st.sampled_from(["503", "429", "400"]))
    def the_provider_refuses(self, pick: int, kind: str) -> None:
        calls = self._waiting()
        call = calls[pick % len(calls)]

        def refuse() -> Any:
            if kind == "400":
                raise PermanentError("the recipient blocked this account", code="blocked")
            raise RetryableError(f"provider answered {kind}", code=kind, retry_after=HOUR if kind == "429" else None)

        self.run(self._answer(call, refuse))

    @precondition(lambda self: self._waiting())
    @rule(pick=st.integers(0, 50), accepted=st.booleans())
    def the_send_times_out(self, pick: int, accepted: bool) -> None:
        calls = self._waiting()
        call = calls[pick % len(calls)]
        if accepted:
            PROVIDER.accept(call)
        call.window = True

        def give_up() -> Any:
            raise TimeoutError

        self.run(self._answer(call, give_up))

    @precondition(lambda self: self._waiting())
    @rule(pick=st.integers(0, 50), accepted=st.booleans())
    def a_worker_crashes_mid_send(self, pick: int, accepted: bool) -> None:
        calls = self._waiting()
        call = calls[pick % len(calls)]
        call.crashed = call.window = True
        if accepted:
            PROVIDER.accept(call)
        self.run(self._expire_lease(call))

    @precondition(lambda self: self._waiting())
    @rule(pick=st.integers(0, 50))
    def a_worker_stalls_past_its_lease(self, pick: int) -> None:
        calls = self._waiting()
        call = calls[pick % len(calls)]
        call.window = True
        self.run(self._expire_lease(call))

    @precondition(lambda self: any(c.accepted for c in PROVIDER.calls))
    @rule(pick=st.integers(0, 50), status=st.sampled_from([DeliveryStatus.DELIVERED, DeliveryStatus.READ, DeliveryStatus.FAILED]))
    def a_late_receipt_arrives(self, pick: int, status: DeliveryStatus) -> None:
        accepted = [c for c in PROVIDER.calls if c.accepted]
        call = accepted[pick % len(accepted)]
        assert call.provider_id is not None
        self.run(self._receipt(call.provider_id, status))

    # --- Invariants --------------------------------------------------------------------

    @invariant()
    def statuses_move_forward_and_claims_hold(self) -> None:
        if self.message_ids:
            self.run(self._check_statuses())

    async def _check_statuses(self) -> None:
        rows = await models.Message.filter(id__in=self.message_ids).values_list(
            "id", "status", "external_id", "claim_token", "lease_expires_at", "attempts", "error_code", "error_text")
        for message_id, status, external_id, token, lease, attempts, error_code, error_text in rows:
            status = DeliveryStatus(status)
            before = self.seen.get(message_id)
            if before is not None:
                assert (before[0], status) not in BACKWARDS, f"message {message_id} went from {before[0]} to {status}"
                assert before[1] is None or before[1] == external_id, f"message {message_id}'s provider id changed"
            self.seen[message_id] = (status, external_id)
            if status == DeliveryStatus.SENDING:
                assert token and lease, f"message {message_id} is sending without a claim"
            for call in PROVIDER.calls:
                if call.message_id == message_id and not (call.answered or call.window):
                    # A send whose worker is alive and renewing keeps its claim: nobody else
                    # (a sweep, a late worker) may change the reply meanwhile.
                    assert (status, token) == (DeliveryStatus.SENDING, call.token), (
                        f"message {message_id} became {status} while send {call.number} held its claim")
            if external_id is not None:
                sender = next(c for c in PROVIDER.calls if c.provider_id == external_id)
                assert sender.token == token, f"message {message_id} recorded the id of a send whose claim was not the last"
            if status == DeliveryStatus.FAILED:
                assert error_text, f"message {message_id} failed without a reason"
            assert error_code != "auto_reply_limit", f"automatic reply {message_id} was refused by a budget it fits in"
            assert attempts <= CONFIG["delivery"]["max_attempts"]
        assert not PROVIDER.violations, PROVIDER.violations

    @invariant()
    def the_provider_accepts_twice_only_in_the_window(self) -> None:
        for message_id in self.message_ids:
            accepted = [c for c in PROVIDER.calls if c.message_id == message_id and c.accepted]
            lost = [c for c in accepted if c.window]
            assert len(accepted) <= 1 + len(lost), (
                f"message {message_id} was accepted {len(accepted)} times, {len(lost)} of them in the at-least-once window")

    # --- The end of an example ---------------------------------------------------------

    def teardown(self) -> None:
        try:
            if self.message_ids:
                self.run(self._drain_and_check())
        finally:
            self.run(self._clean_up())

    async def _drain_and_check(self) -> None:
        for call in self._waiting():  # stalled or waiting workers hear back; crashed ones never do
            provider_id = PROVIDER.accept(call)
            await self._answer(call, lambda provider_id=provider_id: SendResult(external_id=provider_id))
        rounds = len(self.message_ids) + 2
        for _ in range(rounds):
            await self._time_passes()
            await self.delivery.sweep()
            for message_id in await self.delivery.due():
                await self._start(message_id)
                for call in self._waiting():
                    provider_id = PROVIDER.accept(call)
                    await self._answer(call, lambda provider_id=provider_id: SendResult(external_id=provider_id))
        rows = dict(await models.Message.filter(id__in=self.message_ids).values_list("id", "status"))
        stuck = {m: s for m, s in rows.items() if s not in FINAL}
        assert not stuck, f"replies still pending after {rounds} rounds of sweep and dispatch: {stuck}"
        await self._check_statuses()
        self.the_provider_accepts_twice_only_in_the_window()
        # Committed sends keep the order of their ticket.
        by_id = {c.provider_id: c for c in PROVIDER.calls if c.provider_id}
        rows = await models.Message.filter(id__in=self.message_ids).order_by("id").values("id", "ticket_id", "external_id", "status")
        committed: dict[int, list[tuple[int, int]]] = {}
        for row in rows:
            if row["external_id"]:
                committed.setdefault(row["ticket_id"], []).append((by_id[row["external_id"]].number, row["id"]))
        for sends in committed.values():
            assert [m for _, m in sorted(sends)] == [m for _, m in sends], "a ticket's sends were accepted out of order"
        # Every receipt for a reply's provider id was applied.
        await self.delivery.sweep()
        current = {row["external_id"]: DeliveryStatus(row["status"]) for row in
                   await models.Message.filter(id__in=self.message_ids).values("external_id", "status")}
        for provider_id, status in self.receipts:
            if provider_id in current:
                final = current[provider_id]
                if status == DeliveryStatus.FAILED:
                    assert final in FINAL, (provider_id, final)
                else:
                    assert final in (DeliveryStatus.DELIVERED, DeliveryStatus.READ), f"receipt {status} for {provider_id} not applied: {final}"
                    assert not (status == DeliveryStatus.READ and final != DeliveryStatus.READ)

    async def _clean_up(self) -> None:
        for task in self.workers:
            task.cancel()
        for task in self.workers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await models.PendingStatus.all().delete()
        await models.Attachment.all().delete()
        await models.Message.all().delete()
        await models.Ticket.all().delete()
        keys = await self.nexus.redis.keys(self.nexus.settings.redis_key("*"))
        if keys:
            await self.nexus.redis.delete(*keys)


def test_the_delivery_state_machine(nexus_backends):
    """Runs ``EXAMPLES`` random stories of up to 30 steps each (see the module's docstring)."""
    loop = asyncio.new_event_loop()
    stack = contextlib.AsyncExitStack()
    try:
        server = loop.run_until_complete(stack.enter_async_context(
            run_nexus(nexus_backends, CONFIG, plugins={"sim": SimPlugin()}, options=Options(delivery_worker=False))))
        DeliveryMachine.loop, DeliveryMachine.server = loop, server
        DeliveryMachine.examples = DeliveryMachine.steps = 0
        run_state_machine_as_test(DeliveryMachine, settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        ))
        assert DeliveryMachine.examples >= EXAMPLES, f"only {DeliveryMachine.examples} examples ran"
        assert DeliveryMachine.steps > 10 * EXAMPLES, f"only {DeliveryMachine.steps} steps in {EXAMPLES} examples"
        print(f"delivery state machine: {DeliveryMachine.examples} examples, {DeliveryMachine.steps} steps")
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()

