"""`python3 dev.py`, the one command of the README's quick start: Ctrl+C stops it quietly, it
says how to test without PostgreSQL, and a sync keeps the plugins an author installed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import free_port
from tests.helpers import ROOT, clean_env

DEV = [sys.executable, str(ROOT / "dev.py")]


def test_ctrl_c_on_dev_py_serve_stops_without_a_traceback(tmp_path):
    from tests.test_server import wait_until_serving

    (tmp_path / "empty.env").write_text("")
    (tmp_path / "nexus.toml").write_text("")
    port = free_port()
    env = clean_env({"NEXUS_DATA_DIR": str(tmp_path / "data"), "NEXUS_ENV_FILE": str(tmp_path / "empty.env"),
                     "NEXUS_CONFIG": str(tmp_path / "nexus.toml")})
    log = open(tmp_path / "dev.log", "wb")
    # Its own session, like a terminal's foreground job: Ctrl+C signals the whole group.
    process = subprocess.Popen([*DEV, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        wait_until_serving(process, f"http://127.0.0.1:{port}/healthz", tmp_path / "dev.log")
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    output = (tmp_path / "dev.log").read_text()
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert "SIGINT received: stopping" in output and "Nexus stopped" in output


def dev_test(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DEV, "test", *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=300)


def test_dev_py_test_on_sqlite_says_so_and_leaves_out_the_cross_process_tests():
    result = dev_test(["tests/test_scaleout.py", "--collect-only", "-q"], {"NEXUS_TEST_DATABASE": "sqlite"})
    assert result.returncode == 5, result.stdout + result.stderr  # pytest: nothing left to run
    assert ("dev.py: NEXUS_TEST_DATABASE=sqlite: running the tests that need no PostgreSQL, on SQLite; "
            "the cross-process tests are left out") in result.stderr
    assert "deselected" in result.stdout


def test_dev_py_test_without_postgres_names_the_sqlite_way():
    url = f"postgres://postgres@127.0.0.1:{free_port()}/test"
    result = dev_test(["tests/test_config.py"], {"NEXUS_TEST_DATABASE": url})
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"dev.py: the tests need PostgreSQL at {url} (NEXUS_TEST_DATABASE): start it, point NEXUS_TEST_DATABASE at "
        "another, or run the SQLite-only tests: NEXUS_TEST_DATABASE=sqlite python3 dev.py test")


def plugin_package(folder: Path, name: str) -> Path:
    """A third-party channel plugin's source folder, as an author has it."""
    module = name.replace("-", "_")
    (folder / "src" / module).mkdir(parents=True)
    (folder / "src" / module / "__init__.py").write_text('"""A plugin an author installed by hand."""\n')
    (folder / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [project]
        name = "{name}"
        version = "0.0.1"

        [project.entry-points.nexus]
        {module} = "{module}"

        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [tool.hatch.build.targets.wheel]
        packages = ["src/{module}"]
        """))
    return folder


def nexus_plugins(venv: Path) -> dict[str, str]:
    script = "import json; from importlib.metadata import entry_points; print(json.dumps({e.name: e.dist.name for e in entry_points(group='nexus')}))"
    return json.loads(subprocess.run([str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True,
                                     check=True).stdout)


def test_a_sync_keeps_hand_installed_plugins_and_installs_the_local_list(tmp_path):
    """After a `git pull` changes uv.lock, dev.py syncs again: the plugin the author installed
    into .venv stays, and the ones listed in plugins.local are installed."""
    checkout = tmp_path / "nexus"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, checkout / name)
    for name in ("dev.py", "pyproject.toml", "uv.lock"):  # this worktree's, committed or not
        shutil.copy2(ROOT / name, checkout / name)
    venv = checkout / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    shutil.copy2(Path(sys.executable).parent / "uv", venv / "bin" / "uv")  # the pinned uv, as dev.py installs it
    env = clean_env()
    subprocess.run([sys.executable, "dev.py", "sync"], cwd=checkout, env=env, check=True, capture_output=True)

    by_hand = plugin_package(tmp_path / "sms-plugin", "nexus-sms")
    subprocess.run([str(venv / "bin" / "uv"), "pip", "install", "--python", str(venv / "bin" / "python"), str(by_hand)],
                   env=env, check=True, capture_output=True)
    listed = plugin_package(tmp_path / "fax-plugin", "nexus-fax")
    (checkout / "plugins.local").write_text(f"# my plugins\n-e {listed}\n")
    assert nexus_plugins(venv)["nexus_sms"] == "nexus-sms"

    with open(checkout / "uv.lock", "a") as lock:
        lock.write("\n")  # what a pull that changes the lock does to dev.py's fingerprint
    result = subprocess.run([sys.executable, "dev.py", "sync"], cwd=checkout, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    plugins = nexus_plugins(venv)
    assert plugins["nexus_sms"] == "nexus-sms", "the hand-installed plugin survived the sync"
    assert plugins["nexus_fax"] == "nexus-fax", "plugins.local was installed"
    assert {"telegram", "whatsapp", "email", "example"} <= set(plugins)
    assert "warning" not in result.stderr
