"""nexus.db.inbox_sql on both dialects: a batch of payloads is stored whole or not at all, with
its ids in order, and concurrent claims of pending payloads never share a row."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from nexus.clock import now
from nexus.db import models
from nexus.db.inbox_sql import NewPayload, claim_pending, insert_payloads
from nexus.lease import Lease
from tests.test_sql import database, opened  # noqa: F401 - the two-dialect fixtures



@pytest_asyncio.fixture(loop_scope="session")
async def channel(opened):
    """A channel row, in a database of each dialect (test_sql's fixtures) emptied for the test."""
    return await models.Channel.create(name="box", type="inboxed")


async def test_a_batch_is_stored_with_its_ids_in_order(channel):
    lease = Lease(models.InboundEvent, held="processing", available=["pending", "failed"], duration=30)
    token, claimed = lease.born_claimed()
    rows = [NewPayload(channel.id, f"payload {i}", "utf-8", {"content-type": "application/json"}) for i in range(5)]
    rows.insert(2, NewPayload(channel.id, "claimed", "utf-8", {}, token, claimed["lease_expires_at"]))
    ids = await insert_payloads(rows, at=now())
    assert len(set(ids)) == 6
    stored = {row.id: row for row in await models.InboundEvent.filter(id__in=ids)}
    assert [stored[i].payload for i in ids] == [row.payload for row in rows]
    assert stored[ids[0]].headers == {"content-type": "application/json"}
    assert (stored[ids[2]].status, stored[ids[2]].claim_token) == ("processing", token)
    assert stored[ids[2]].lease_expires_at == claimed["lease_expires_at"]
    assert {stored[i].status for i in ids if i != ids[2]} == {"pending"}
    assert {stored[i].attempts for i in ids} == {0}
    assert await insert_payloads([], at=now()) == []


async def test_a_batch_with_one_bad_row_stores_nothing(channel):
    rows = [NewPayload(channel.id, "fine", "utf-8", {}), NewPayload(channel.id + 1000, "no such channel", "utf-8", {})]
    with pytest.raises(Exception):  # the foreign key: the whole statement fails
        await insert_payloads(rows, at=now())
    assert await models.InboundEvent.all().count() == 0


async def test_concurrent_claims_take_disjoint_rows_each_with_its_own_token(channel):
    ids = await insert_payloads([NewPayload(channel.id, f"p{i}", "utf-8", {"x": "y"}) for i in range(30)], at=now())
    results = await asyncio.gather(*(claim_pending(7, lease=30, at=now()) for _ in range(6)))
    claimed = [payload for result in results for payload in result]
    assert sorted(payload.id for payload in claimed) == ids, "every row claimed once"
    assert len({payload.claim_token for payload in claimed}) == 30
    assert all(len(payload.claim_token) == 32 for payload in claimed)
    assert claimed[0].headers == {"x": "y"} and claimed[0].attempts == 0
    rows = await models.InboundEvent.filter(id__in=ids)
    assert {row.status for row in rows} == {"processing"}
    assert {row.id: row.claim_token for row in rows} == {payload.id: payload.claim_token for payload in claimed}
    assert all(row.lease_expires_at > now() for row in rows)
    assert await claim_pending(5, lease=30, at=now()) == []


async def test_a_claim_takes_the_oldest_pending_and_leaves_the_rest(channel):
    ids = await insert_payloads([NewPayload(channel.id, f"p{i}", "utf-8", {}) for i in range(4)], at=now())
    await models.InboundEvent.filter(id=ids[0]).update(status="failed")
    claimed = await claim_pending(2, lease=30, at=now())
    assert [payload.id for payload in claimed] == ids[1:3]
    assert (await models.InboundEvent.get(id=ids[0])).status == "failed"
    assert (await models.InboundEvent.get(id=ids[3])).status == "pending"
