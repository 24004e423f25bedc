"""The claim and lease module: one holder at a time, finish only if still mine, live claims
kept, and a taken-back row that remembers its last holder until somebody claims it again."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from nexus.clock import now
from nexus.db import close_database, models, open_database
from nexus.lease import Lease
from nexus.testing import truncate


@pytest.fixture
async def rows(nexus_backends):
    """Three pending inbound events to take turns on, in a database of the test's own."""
    await truncate(nexus_backends.database_url)
    ctx = await open_database(nexus_backends.database_url)
    try:
        channel = await models.Channel.create(name="leased", type="example")
        ids = [(await models.InboundEvent.create(channel_id=channel.id, payload="{}", status="pending")).id for _ in range(3)]
        yield ids
    finally:
        await close_database(ctx)


def lease(duration: float = 60.0, **kwargs) -> Lease:
    return Lease(models.InboundEvent, held="processing", available=["pending", "failed"], duration=duration, **kwargs)


async def expire(row_id: int) -> None:
    await models.InboundEvent.filter(id=row_id).update(lease_expires_at=now() - timedelta(seconds=1))


async def test_of_many_claims_at_once_exactly_one_wins(rows):
    claims = await asyncio.gather(*(lease().claim(rows[0]) for _ in range(10)))
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1
    row = await models.InboundEvent.get(id=rows[0])
    assert (row.status, row.claim_token) == ("processing", winners[0].token)
    assert row.lease_expires_at > now()


async def test_a_claim_applies_its_changes_and_only_from_an_available_status(rows):
    claims = lease()
    claim = await claims.claim(rows[0], attempts=7)
    assert claim is not None and (await models.InboundEvent.get(id=rows[0])).attempts == 7
    assert await claims.claim(rows[0]) is None, "a held row cannot be claimed"
    await models.InboundEvent.filter(id=rows[1]).update(status="processed")
    assert await claims.claim(rows[1]) is None, "nor a finished one"
    assert await claims.claim(rows[2], from_status=["failed"]) is None


async def test_finish_lands_only_while_the_claim_is_the_callers(rows):
    claims = lease()
    first = await claims.claim(rows[0])
    await expire(rows[0])
    assert await claims.take_back(rows[0], first.token)
    second = await claims.claim(rows[0])
    assert second is not None and second.token != first.token
    assert not await claims.finish(first, status="processed"), "the late first holder is fenced off"
    assert not await claims.renew(first)
    assert await claims.finish(second, status="failed", error="x")
    row = await models.InboundEvent.get(id=rows[0])
    assert (row.status, row.error, row.lease_expires_at) == ("failed", "x", None)


async def test_a_taken_back_row_still_takes_its_last_holders_finish_until_claimed_again(rows):
    claims = lease()
    claim = await claims.claim(rows[0])
    await expire(rows[0])
    assert await claims.take_back(rows[0], claim.token)
    assert (await models.InboundEvent.get(id=rows[0])).status == "pending"
    assert not await claims.renew(claim), "taken back: no longer held"
    assert await claims.finish(claim, status="processed"), "nobody claimed it since: the work that was done counts"
    assert await claims.claim(rows[0]) is None


async def test_a_live_claim_is_never_taken_back(rows):
    claims = lease(duration=60)
    claim = await claims.claim(rows[0])
    assert await claims.expired() == []
    assert not await claims.take_back(rows[0], claim.token)
    assert await claims.take_back_all() == 0
    await expire(rows[0])
    assert await claims.renew(claim), "a holder that renews in time keeps its claim"
    assert await claims.expired() == []
    await expire(rows[0])
    assert await claims.expired() == [(rows[0], claim.token)]
    assert await claims.take_back_all() == 1


async def test_keep_renews_while_the_work_runs_and_notices_a_lost_claim(rows):
    claims = lease(duration=0.3)
    claim = await claims.claim(rows[0])
    first_expiry = (await models.InboundEvent.get(id=rows[0])).lease_expires_at
    async with claims.keep(claim) as holding:
        async def renewed() -> bool:
            row = await models.InboundEvent.get(id=rows[0])
            return row.lease_expires_at > first_expiry and now() > first_expiry

        from nexus.testing import wait_for

        await wait_for(renewed, message="the lease to be renewed past its first expiry")
        assert await claims.take_back_all() == 0
        # Somebody else takes the row (as if this holder had stalled): the next beat notices.
        await models.InboundEvent.filter(id=rows[0]).update(claim_token="someone-else")
        await wait_for(lambda: holding.lost, message="the heartbeat to notice the lost claim")


async def test_renewals_stop_after_max_hold(rows):
    claims = lease(max_hold=0.0)
    claim = await claims.claim(rows[0])
    assert not await claims.renew(claim)


async def test_renew_all_and_release_act_on_held_rows_by_token(rows):
    claims = lease()
    held = [await claims.claim(row_id) for row_id in rows]
    assert await claims.renew_all(held) == 3
    assert await claims.release(held[:2]) == 2
    statuses = dict(await models.InboundEvent.all().values_list("id", "status"))
    assert [statuses[r] for r in rows] == ["pending", "pending", "processing"]
    assert await claims.renew_all(held) == 1


async def test_a_row_born_claimed_is_held(rows):
    claims = lease()
    token, values = claims.born_claimed()
    channel = await models.Channel.get(name="leased")
    row = await models.InboundEvent.create(channel_id=channel.id, payload="{}", **values)
    claim = claims.held_claim(row.id, token)
    assert claims.surely_held(claim)
    assert await claims.renew(claim)
    assert await claims.finish(claim, status="processed")


async def test_a_held_row_without_a_lease_counts_as_expired(rows):
    """Rows claimed before leases existed (held, no token, no expiry) are taken back."""
    await models.InboundEvent.filter(id=rows[0]).update(status="processing")
    claims = lease()
    assert await claims.expired() == [(rows[0], None)]
    assert await claims.take_back(rows[0], None)
    assert (await models.InboundEvent.get(id=rows[0])).status == "pending"
