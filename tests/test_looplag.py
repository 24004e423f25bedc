"""Event-loop lag: the histogram's arithmetic, the monitor that feeds it, and what an API
process's ``/metrics`` shows (each API process its own loop's)."""

from __future__ import annotations

import time

import pytest

from nexus.looplag import LAG_BUCKETS, LagHistogram, LoopLagMonitor
from nexus.testing.server import wait_for
from tests.conftest import chat_config

#: How long the tests hold the loop on purpose (a blocking call, as a bug would make).
HELD = 0.2


def samples(text: str) -> dict[str, float]:
    return {name: float(value) for name, value in
            (line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))}


def test_the_histogram_counts_each_lag_in_the_first_bucket_that_holds_it():
    histogram = LagHistogram()
    for lag in (0.0, 0.001, 0.0011, 0.02, 0.021, 7.0, -0.0001):
        histogram.observe(lag)
    cumulative = dict(histogram.cumulative())
    assert cumulative[0.001] == 3  # 0, exactly 1 ms, and a clock's tiny negative as 0
    assert cumulative[0.002] == 4
    assert cumulative[0.02] == 5
    assert cumulative[0.03] == 6
    assert cumulative[LAG_BUCKETS[-1]] == 6  # 7 s is only in +Inf
    assert histogram.count == 7
    assert histogram.largest == 7.0
    assert histogram.total == pytest.approx(7.0431)


def test_the_histogram_renders_as_prometheus_text():
    histogram = LagHistogram()
    histogram.observe(0.004)
    histogram.observe(0.3)
    values = samples(histogram.render())
    assert values['nexus_event_loop_lag_seconds_bucket{le="0.002"}'] == 0
    assert values['nexus_event_loop_lag_seconds_bucket{le="0.005"}'] == 1
    assert values['nexus_event_loop_lag_seconds_bucket{le="0.5"}'] == 2
    assert values['nexus_event_loop_lag_seconds_bucket{le="+Inf"}'] == 2
    assert values["nexus_event_loop_lag_seconds_count"] == 2
    assert values["nexus_event_loop_lag_seconds_sum"] == pytest.approx(0.304)
    assert values["nexus_event_loop_lag_max_seconds"] == pytest.approx(0.3)
    assert "# TYPE nexus_event_loop_lag_seconds histogram" in histogram.render()


def test_the_interval_must_be_positive():
    with pytest.raises(ValueError):
        LoopLagMonitor(0)


async def test_a_held_loop_shows_as_lag_at_least_as_long_as_it_was_held_less_one_interval():
    monitor = LoopLagMonitor(0.01)
    monitor.start()
    try:
        await wait_for(lambda: monitor.histogram.count >= 1, message="a first sample")
        time.sleep(HELD)  # the loop is held: the monitor's wake-up is due meanwhile
        seen = monitor.histogram.count
        await wait_for(lambda: monitor.histogram.count > seen, message="the late sample")
    finally:
        await monitor.stop()
    # The sample due during the hold woke at its end: at most one interval before the hold began.
    assert monitor.histogram.largest >= HELD - monitor.interval


async def scrape(server) -> dict[str, float]:
    return samples((await server.request("GET", "/metrics")).body)


async def test_metrics_show_this_process_event_loop_lag(chat_server):
    async def sampled() -> dict[str, float] | None:
        values = await scrape(chat_server)
        return values if values.get("nexus_event_loop_lag_seconds_count", 0) >= 2 else None

    async def held() -> dict[str, float] | None:
        values = await scrape(chat_server)
        return values if values["nexus_event_loop_lag_max_seconds"] > 0.1 else None

    await wait_for(sampled, message="lag samples in /metrics")
    time.sleep(HELD)  # the test shares the server's loop: hold it as a blocking call would
    values = await wait_for(held, message="the held loop's sample")
    buckets = [values[f'nexus_event_loop_lag_seconds_bucket{{le="{bound:g}"}}'] for bound in LAG_BUCKETS]
    assert buckets == sorted(buckets)
    assert values['nexus_event_loop_lag_seconds_bucket{le="+Inf"}'] == values["nexus_event_loop_lag_seconds_count"]
    assert values["nexus_event_loop_lag_max_seconds"] >= HELD - chat_server.nexus.settings.server.loop_lag_interval
    # The held sample is above 0.1 s, so not every sample fits in that bucket.
    assert values['nexus_event_loop_lag_seconds_bucket{le="0.1"}'] < values["nexus_event_loop_lag_seconds_count"]


async def test_no_lag_is_sampled_with_the_interval_at_zero(nexus_server, chat_api):
    async with nexus_server({**chat_config(chat_api), "server": {"loop_lag_interval": 0}}) as server:
        assert server.nexus.loop_lag is None
        text = (await server.request("GET", "/metrics")).body
        assert "nexus_delivery_sent_total" in text
        assert "nexus_event_loop_lag" not in text
