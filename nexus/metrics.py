"""Cluster-wide delivery metrics in the Prometheus text format.

Counters and the latency histogram live in one Redis hash, so every process (API or worker)
adds to the same figures and any API process's ``/metrics`` shows the whole cluster. Gauges
(queued, sending, failed) are counted from the database at scrape time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import redis.asyncio as aioredis

logger = logging.getLogger("nexus.metrics")

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)

COUNTERS = {
    "delivery_attempts": "Calls to a channel's send.",
    "delivery_sent": "Replies a provider accepted.",
    "delivery_retried": "Attempts that failed transiently and were scheduled again.",
    "delivery_failed": "Replies that failed for good.",
    "inbound_received": "Inbound messages stored.",
    "inbound_duplicates": "Inbound messages absorbed as duplicates.",
}


class Metrics:
    def __init__(self, redis: aioredis.Redis, key: str) -> None:
        self.redis = redis
        self.key = key

    async def incr(self, name: str, amount: int = 1) -> None:
        try:
            await self.redis.hincrby(self.key, name, amount)
        except Exception as exc:  # noqa: BLE001 - metrics never break the work they measure
            logger.debug("metrics: %s", exc)

    async def record_sent(self, seconds: float) -> None:
        """A reply was accepted, ``seconds`` after its creation: one round trip for both."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hincrby(self.key, "delivery_sent", 1)
                for bound in LATENCY_BUCKETS:
                    if seconds <= bound:
                        pipe.hincrby(self.key, f"latency_bucket:{bound}", 1)
                pipe.hincrby(self.key, "latency_count", 1)
                pipe.hincrbyfloat(self.key, "latency_sum", seconds)
                await pipe.execute()
        except Exception as exc:  # noqa: BLE001
            logger.debug("metrics: %s", exc)

    async def snapshot(self) -> dict[str, float]:
        raw = await self.redis.hgetall(self.key)
        return {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in raw.items()}


def render(snapshot: Mapping[str, float], gauges: Mapping[str, tuple[str, float]]) -> str:
    """The Prometheus exposition text."""
    lines: list[str] = []
    for name, help_text in COUNTERS.items():
        lines += [f"# HELP nexus_{name}_total {help_text}", f"# TYPE nexus_{name}_total counter",
                  f"nexus_{name}_total {snapshot.get(name, 0):g}"]
    for name, (help_text, value) in gauges.items():
        lines += [f"# HELP nexus_{name} {help_text}", f"# TYPE nexus_{name} gauge", f"nexus_{name} {value:g}"]
    lines += ["# HELP nexus_delivery_latency_seconds From a reply's creation to the provider's acceptance.",
              "# TYPE nexus_delivery_latency_seconds histogram"]
    for bound in LATENCY_BUCKETS:
        lines.append(f'nexus_delivery_latency_seconds_bucket{{le="{bound:g}"}} {snapshot.get(f"latency_bucket:{bound}", 0):g}')
    count = snapshot.get("latency_count", 0)
    lines.append(f'nexus_delivery_latency_seconds_bucket{{le="+Inf"}} {count:g}')
    lines.append(f"nexus_delivery_latency_seconds_sum {snapshot.get('latency_sum', 0):g}")
    lines.append(f"nexus_delivery_latency_seconds_count {count:g}")
    return "\n".join(lines) + "\n"
