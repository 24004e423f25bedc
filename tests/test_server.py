"""The quick start: `nexus serve` runs on a bare machine's embedded defaults, and the
probes say what is up."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import NexusProcess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_serve_on_embedded_defaults(tmp_path):
    port = free_port()
    server = NexusProcess(["serve", "--port", str(port)], cwd=tmp_path, port=port)
    with server:
        assert get(server.url + "/healthz") == (200, {"status": "ok"})
        status, ready = get(server.url + "/readyz")
        assert status == 200, ready
        assert ready["status"] == "ok"
        assert ready["checks"] == {"database": {"ok": True}, "queue": {"ok": True}, "storage": {"ok": True}}
    assert server.process.returncode == 0
    log = server.log()
    assert "the embedded Redis stand-in serves this one process" in log
    assert f"sqlite://{tmp_path / 'data' / 'nexus.sqlite3'}" in log
    assert (tmp_path / "data" / "nexus.sqlite3").exists()
    assert "Traceback" not in log


def test_readyz_names_what_is_down(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed to start a private Redis (apt-get install redis-server)")
    redis_port, port = free_port(), free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        server = NexusProcess(["serve", "--port", str(port)], cwd=tmp_path, port=port,
                              env={"REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"})
        server.start().wait_ready()
        try:
            assert get(server.url + "/readyz")[0] == 200
            redis.send_signal(signal.SIGKILL)
            redis.wait()
            status, body = get(server.url + "/readyz")
            assert status == 503
            assert body["error"]["code"] == "unavailable"
            assert body["error"]["message"] == "not ready: queue down"
            assert body["checks"]["database"] == {"ok": True}
            assert body["checks"]["queue"]["ok"] is False
            assert get(server.url + "/healthz") == (200, {"status": "ok"})
        finally:
            server.stop()
    finally:
        redis.kill()
        redis.wait()


def test_serve_reports_unreachable_redis_in_one_line(tmp_path):
    port = free_port()
    server = NexusProcess(["serve", "--port", str(port)], cwd=tmp_path, port=port,
                          env={"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}).start()
    assert server.process.wait(60) == 1
    lines = [line for line in server.log().splitlines() if line.startswith("nexus: ")]
    assert len(lines) == 1 and lines[0].startswith("nexus: redis.url: cannot reach redis://127.0.0.1:")
    assert "Traceback" not in server.log()


def test_serve_reports_a_busy_port_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = NexusProcess(["serve", "--port", str(port)], cwd=tmp_path, port=port).start()
        assert server.process.wait(60) == 1
        assert f"nexus: server.port: cannot listen on 127.0.0.1:{port}" in server.log()
        assert "Traceback" not in server.log()
        assert "ready on" not in server.log(), "Nexus is not said to be ready on a port it could not bind"


def test_every_command_has_help(tmp_path):
    from tests.helpers import run_cli

    for command in ([], ["serve"], ["worker"], ["migrate"], ["agents"], ["agents", "create"], ["agents", "list"],
                    ["agents", "token"], ["agents", "set-password"], ["plugins"], ["plugins", "list"],
                    ["config"], ["config", "check"]):
        result = run_cli([*command, "--help"], cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout.startswith("Usage: "), command


def test_agents_create_and_token_from_the_cli(tmp_path):
    from tests.helpers import run_cli

    created = run_cli(["agents", "create", "--email", "Ops@Example.com", "--name", "Ops", "--role", "admin",
                       "--password-stdin", "--token"], cwd=tmp_path, input="a long password\n")
    assert created.returncode == 0, created.stderr
    first, token = created.stdout.splitlines()
    assert first == "created admin ops@example.com (id 1)"
    assert token.startswith("nx_")
    listed = run_cli(["agents", "list"], cwd=tmp_path)
    assert listed.stdout == "1\tops@example.com\tOps\tadmin\tactive\n"
    again = run_cli(["agents", "create", "--email", "ops@example.com", "--name", "X"], cwd=tmp_path)
    assert (again.returncode, again.stderr) == (1, "nexus: email: an agent with email 'ops@example.com' exists\n")
    short = run_cli(["agents", "set-password", "ops@example.com", "--password-stdin"], cwd=tmp_path, input="short\n")
    assert (short.returncode, short.stderr) == (1, "nexus: password: the password needs at least 8 characters\n")
    issued = run_cli(["agents", "token", "ops@example.com", "--name", "frontend"], cwd=tmp_path)
    assert issued.returncode == 0 and issued.stdout.startswith("nx_")


def test_start_up_says_where_it_serves_and_where_webhooks_go_and_shutdown_says_what_it_does(tmp_path):
    port = free_port()
    env = {"NEXUS_SERVER__PUBLIC_URL": "https://support.example.com", "NEXUS_CHANNELS__CHAT__TYPE": "example",
           "NEXUS_CHANNELS__CHAT__API_URL": "http://127.0.0.1:9", "NEXUS_CHANNELS__CHAT__TOKEN": "t",
           "NEXUS_CHANNELS__CHAT__SECRET": "s"}
    server = NexusProcess(["serve", "--port", str(port)], cwd=tmp_path, port=port, env=env)
    with server:
        pass
    assert server.process.returncode == 0
    lines = [line.split(": ", 1)[1] for line in server.log().splitlines() if line[:4].isdigit()]
    expected = [
        "channel chat: the provider posts webhooks to https://support.example.com/webhooks/example/chat",
        f"Nexus {nexus_version()} ready on http://127.0.0.1:{port}",
        f"Running on http://127.0.0.1:{port} (CTRL + C to quit)",
        "SIGTERM received: stopping (in-flight work has 10s to finish)",
        "stopping the delivery worker: in-flight sends have 10s to finish",
        "stopping 1 channel(s)",
        "stopped: database and queue connections closed",
        "Nexus stopped",
    ]
    assert [line for line in lines if line in expected] == expected, server.log()
    assert "Traceback" not in server.log()


def nexus_version() -> str:
    from nexus import __version__

    return __version__


def wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 120) -> None:
    """Wait until ``url`` answers 200; fail with ``log`` if ``process`` exits first."""
    import asyncio

    from nexus.testing import wait_for

    def answers() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return get(url)[0] == 200
        except OSError:
            return False

    asyncio.run(wait_for(answers, timeout=timeout, interval=0.2, message=f"{url} to answer"))


def hypercorn(tmp_path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`hypercorn nexus.asgi:app` as an operator runs it, in ``tmp_path``."""
    import sys

    from tests.helpers import clean_env

    log = open(tmp_path / "hypercorn.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "hypercorn", "nexus.asgi:app", "--bind", f"127.0.0.1:{port}"],
                            cwd=tmp_path, env=clean_env(env), stdout=log, stderr=subprocess.STDOUT)


def test_hypercorn_alone_migrates_a_fresh_data_directory(tmp_path):
    port = free_port()
    process = hypercorn(tmp_path, port)
    try:
        wait_until_serving(process, f"http://127.0.0.1:{port}/readyz", tmp_path / "hypercorn.log")
        assert get(f"http://127.0.0.1:{port}/readyz")[1]["checks"]["database"] == {"ok": True}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    log = (tmp_path / "hypercorn.log").read_text()
    assert "applied migrations: 0_" in log
    assert "Traceback" not in log


def test_hypercorn_alone_on_an_unmigrated_database_says_to_run_migrate_in_one_line(tmp_path):
    from nexus.db.migrations import migrations_root

    process = hypercorn(tmp_path, free_port(), {"NEXUS_DATABASE__MIGRATE_ON_START": "false"})
    process.wait(60)  # it stops (hypercorn 0.17 exits 0 whatever its worker's exit code)
    log = (tmp_path / "hypercorn.log").read_text()
    count = len(list((migrations_root() / "sqlite" / "nexus").glob("*.py")))
    nexus_lines = [line for line in log.splitlines() if line.startswith("nexus: ")]
    assert nexus_lines == [f"nexus: database.url: sqlite://{tmp_path / 'data' / 'nexus.sqlite3'} lacks {count} "
                           "migration(s): run `nexus migrate` (database.migrate_on_start is false)"], log
    assert "Traceback" not in log


def test_hypercorn_alone_reports_a_bad_configuration_in_one_line(tmp_path):
    process = hypercorn(tmp_path, free_port(), {"NEXUS_SERVER__GRACEFUL_TIMEOUT": "soon"})
    process.wait(60)
    log = (tmp_path / "hypercorn.log").read_text()
    assert log.startswith("nexus: config error: server.graceful_timeout: must be a duration"), log
    assert "Traceback" not in log
