"""Event-loop lag: how late the loop runs a callback that was due, measured in this process.

A task sleeps for a fixed interval, again and again, and records by how much each wake-up
came after the time it was scheduled for. Anything that holds the loop (CPU work in a
coroutine, a blocking call) or starves the process of CPU shows as lag, and every request this
process serves meanwhile waits as long. The figures are this process's own: ``/metrics`` shows
those of the API process that answers the scrape.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from dataclasses import dataclass, field

__all__ = ["LAG_BUCKETS", "LagHistogram", "LoopLagMonitor"]

#: Upper bounds (seconds) of the lag histogram's buckets, fine around the 20 ms target.
LAG_BUCKETS: tuple[float, ...] = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

METRIC = "nexus_event_loop_lag_seconds"


@dataclass
class LagHistogram:
    """A cumulative Prometheus-style histogram of lags, plus the largest seen."""

    buckets: tuple[float, ...] = LAG_BUCKETS
    counts: list[int] = field(default_factory=list)
    count: int = 0
    total: float = 0.0
    largest: float = 0.0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, lag: float) -> None:
        lag = max(lag, 0.0)
        index = bisect.bisect_left(self.buckets, lag)
        if index < len(self.counts):
            self.counts[index] += 1
        self.count += 1
        self.total += lag
        self.largest = max(self.largest, lag)

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at most that large), bucket by bucket."""
        running, out = 0, []
        for bound, n in zip(self.buckets, self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out

    def render(self) -> str:
        """The histogram and the largest lag, in the Prometheus exposition format."""
        lines = [f"# HELP {METRIC} How late this process's event loop ran a callback that was due "
                 "(sampled periodically; server.loop_lag_interval).",
                 f"# TYPE {METRIC} histogram"]
        lines += [f'{METRIC}_bucket{{le="{bound:g}"}} {n}' for bound, n in self.cumulative()]
        lines += [f'{METRIC}_bucket{{le="+Inf"}} {self.count}', f"{METRIC}_sum {self.total:.6f}",
                  f"{METRIC}_count {self.count}",
                  "# HELP nexus_event_loop_lag_max_seconds The largest event-loop lag this process has seen.",
                  "# TYPE nexus_event_loop_lag_max_seconds gauge",
                  f"nexus_event_loop_lag_max_seconds {self.largest:.6f}"]
        return "\n".join(lines) + "\n"


class LoopLagMonitor:
    """Samples the running loop's lag every ``interval`` seconds into :attr:`histogram`."""

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError("the sampling interval must be positive")
        self.interval = interval
        self.histogram = LagHistogram()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.histogram.observe(loop.time() - due)
