"""The `nexus` command as an operator meets it: quick commands import no plugin, agents are
created with a password or explicitly without one, and diagnostics work when the configuration
does not."""

from __future__ import annotations

import os
import pty
import select
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

from tests.helpers import clean_env, run_cli

#: Modules that only commands running channels or the server need.
HEAVY = ("nexus.runtime", "nexus.app", "nexus.channels", "socketio", "saq", "hypercorn", "quart", "aiogram")


def imported_by(args: list[str], cwd: Path) -> set[str]:
    """The modules ``nexus ARGS`` imported, as the command ran it."""
    probe = ("import sys\nsys.argv = ['nexus', *sys.argv[1:]]\ntry:\n    from nexus.cli import main\n    main()\n"
             "except SystemExit:\n    pass\nfinally:\n    print('MODULES=' + ','.join(sorted(sys.modules)), file=sys.stderr)\n")
    import subprocess

    result = subprocess.run([sys.executable, "-c", probe, *args], cwd=cwd, env=clean_env(), capture_output=True,
                            text=True, timeout=120)
    line = next(line for line in result.stderr.splitlines() if line.startswith("MODULES="))
    return set(line.removeprefix("MODULES=").split(","))


def plugin_modules() -> set[str]:
    return {ep.value.split(":")[0].split(".")[0] for ep in entry_points(group="nexus")}


def test_commands_that_run_no_channel_import_no_plugin(tmp_path):
    plugins = plugin_modules()
    assert {"nexus_telegram", "nexus_whatsapp", "nexus_email", "nexus_channel_example"} <= plugins
    for args in (["--help"], ["agents", "list"], ["agents", "create", "--help"], ["migrate", "--check"]):
        modules = imported_by(args, tmp_path)
        loaded = {m for m in modules if m.split(".")[0] in plugins or m == "aiogram"}
        heavy = {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}
        assert not loaded, (args, sorted(loaded))
        assert not heavy, (args, sorted(heavy))


def test_plugins_list_loads_the_plugins(tmp_path):
    modules = imported_by(["plugins", "list"], tmp_path)
    assert plugin_modules() <= {m.split(".")[0] for m in modules}


def test_agents_create_without_a_terminal_refuses_in_one_line(tmp_path):
    result = run_cli(["agents", "create", "--email", "ops@example.com", "--name", "Ops"], cwd=tmp_path, input="")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "nexus: password: there is no terminal to ask for it; pipe it in with --password-stdin\n"
    assert run_cli(["agents", "list"], cwd=tmp_path).stdout == "", "nothing was created"


def test_agents_create_without_a_password_when_asked_to(tmp_path):
    result = run_cli(["agents", "create", "--email", "bot@example.com", "--name", "Bot", "--no-password", "--token"],
                     cwd=tmp_path, input="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "created agent bot@example.com (id 1)"
    both = run_cli(["agents", "create", "--email", "x@example.com", "--name", "X", "--no-password", "--password-stdin"],
                   cwd=tmp_path, input="a long password\n")
    assert both.stderr == "nexus: password: --password-stdin and --no-password exclude each other\n"
    bad = run_cli(["agents", "create", "--email", "not-an-email", "--name", "X", "--no-password"], cwd=tmp_path)
    assert (bad.returncode, bad.stderr) == (1, "nexus: email: 'not-an-email' is not an email address\n")


def on_terminal(args: list[str], cwd: Path, answers: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    """Run ``nexus ARGS`` on a pseudo-terminal, typing each answer when its prompt shows."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: nexus, with the terminal as its controlling tty
        os.chdir(cwd)
        os.execve(sys.executable, [sys.executable, "-m", "nexus.cli", *args], clean_env())
    output, pending = b"", dict(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
            if not ready:
                break
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child closed the terminal: it exited
                break
            if not chunk:
                break
            output += chunk
            for prompt in list(pending):
                if output.rstrip().endswith(prompt.encode()):
                    os.write(fd, pending.pop(prompt).encode() + b"\n")
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace").replace("\r\n", "\n")


def test_agents_create_on_a_terminal_checks_the_email_before_asking_for_a_password(tmp_path):
    code, output = on_terminal(["agents", "create", "--email", "ops@example.com", "--name", "Ops"], tmp_path,
                               {"Password:": "a long password", "Again:": "a long password"})
    assert code == 0, output
    assert output.endswith("created agent ops@example.com (id 1)\n"), output
    assert "a long password" not in output, "the password is not echoed"

    code, output = on_terminal(["agents", "create", "--email", "Ops@Example.com", "--name", "Again"], tmp_path, {})
    assert (code, output) == (1, "nexus: email: an agent with email 'ops@example.com' exists\n")

    code, output = on_terminal(["agents", "create", "--email", "two@example.com", "--name", "Two"], tmp_path,
                               {"Password:": "a long password", "Again:": "another password"})
    assert code == 1 and output.endswith("nexus: password: the passwords differ\n"), output


def test_plugins_list_works_on_an_invalid_configuration_with_a_warning(tmp_path):
    config = tmp_path / "nexus.toml"
    config.write_text("[server]\nport = 'eighty'\n\n[channels.chat]\ntype = 'nope'\n")
    result = run_cli(["plugins", "list"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "nexus: warning: config error: server.port: input should be a valid integer, unable to parse string as an "
        "integer, got 'eighty' (from nexus.toml)",
        "nexus: warning: the configuration is invalid; listing the installed plugins without it",
    ]
    listed = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()}
    assert listed == {"email": "installed", "example": "installed", "telegram": "installed", "webchat": "installed",
                      "whatsapp": "installed"}

    config.write_text("[plugins]\nenabled = ['telegram']\n\n[channels.chat]\ntype = 'nope'\n")
    result = run_cli(["plugins", "list"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "unknown channel type 'nope'" in result.stderr.splitlines()[0]
    listed = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()}
    assert listed["telegram"] == "enabled" and listed["email"] == "installed"


def test_config_check_prints_durations_as_they_are_written(tmp_path):
    (tmp_path / "nexus.toml").write_text("[delivery]\nbackoff_base = 1.5\nstuck_after = '90s'\n")
    result = run_cli(["config", "check"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" = ", 1) for line in result.stdout.splitlines()[1:])
    assert lines["tickets.reopen_window"] == "7d"
    assert lines["auth.token_ttl"] == "30d"
    assert lines["delivery.backoff_max"] == "15m"
    assert lines["server.graceful_timeout"] == "10s"
    assert lines["delivery.backoff_base"].startswith("1.5s  # ")
    assert lines["delivery.stuck_after"].startswith("90s  # ")
    assert lines["storage.path"] == "data/attachments"
