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


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server to start a private Redis")
def test_readyz_names_what_is_down(tmp_path):
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
