"""An idle server uses no CPU: with no traffic, `nexus serve` sleeps between its periodic checks
(the delivery dispatcher, the inbox sweep, the snooze waker, SAQ's timers), on the embedded
defaults as on PostgreSQL and a real Redis.

This is a resource assertion, not a speed one: it measures the CPU time the kernel charged to
a real `nexus serve` process while it waited for work.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.conftest import free_port
from tests.helpers import NexusProcess

#: The idle server is watched this long ...
WINDOW = 10.0
#: ... and may use at most this share of one core (busy-waiting used all of it).
MAX_SHARE = 0.05


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_share(server: NexusProcess) -> float:
    """The share of a core ``server`` used over :data:`WINDOW` seconds with nothing to do."""
    assert server.process is not None
    before, started = cpu_seconds(server.process.pid), time.monotonic()
    time.sleep(WINDOW)  # the measurement window itself, not a wait for a condition
    used, elapsed = cpu_seconds(server.process.pid) - before, time.monotonic() - started
    assert server.process.poll() is None, server.log()
    return used / elapsed


def test_an_idle_server_on_embedded_defaults_uses_no_cpu(tmp_path):
    port = free_port()
    server = NexusProcess(["serve", "--port", str(port)], cwd=tmp_path, port=port,
                          env={"NEXUS_CHANNELS__CHAT__TYPE": "example", "NEXUS_CHANNELS__CHAT__API_URL": "http://127.0.0.1:9",
                               "NEXUS_CHANNELS__CHAT__TOKEN": "t", "NEXUS_CHANNELS__CHAT__SECRET": "s"})
    with server:
        share = idle_share(server)
    assert "embedded Redis stand-in" in server.log()
    assert share < MAX_SHARE, f"an idle server used {share:.1%} of a core"


def test_an_idle_server_on_postgres_and_redis_uses_no_cpu(tmp_path, cluster_env):
    env, _ = cluster_env
    port = free_port()
    with NexusProcess(["serve", "--port", str(port)], cwd=tmp_path, port=port, env=env) as server:
        share = idle_share(server)
    assert "queue and events: Redis at redis://" in server.log()
    assert share < MAX_SHARE, f"an idle server used {share:.1%} of a core"
