#!/usr/bin/env python3
"""One command to run Nexus, one to test it, one to build it, on a machine that has only
Python 3.11+.

    python3 dev.py serve [nexus serve options]   # install into .venv, then run Nexus
    python3 dev.py demo [nexus serve options]    # the same in demo mode: a web chat, a console, an admin
    python3 dev.py test [pytest options]         # install into .venv, then run the tests
    python3 dev.py build [--out-dir DIR]         # wheels and sdists of the host and every plugin, in dist/
    python3 dev.py sync                          # only install

It creates .venv, installs uv into it, and installs the host, the built-in channel plugins, the
example plugin and the test tools exactly as uv.lock pins them. Packages it does not know (a
plugin you installed into .venv yourself) are kept; to have it install your own plugins too,
list them in `plugins.local`, one pip requirement a line (`-e ../nexus-sms`, a path to a
wheel, a package name). Only the standard library is used here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import venv
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
UV_VERSION = "0.13.9"
STAMP = VENV / ".nexus-sync"
LOCKED = ["uv.lock", "pyproject.toml", "plugins/whatsapp/pyproject.toml", "plugins/telegram/pyproject.toml",
          "plugins/email/pyproject.toml", "plugins/webchat/pyproject.toml", "examples/channel-plugin/pyproject.toml"]
#: The operator's own plugins, installed into .venv after every sync (not in git).
LOCAL_PLUGINS = ROOT / "plugins.local"
JS_TESTS = ROOT / "tests" / "js"
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def say(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr, flush=True)


def run(*command: str | Path, **kwargs) -> None:
    subprocess.run([str(part) for part in command], check=True, cwd=ROOT, **kwargs)


def run_in_foreground(command: list[str | Path], env: dict[str, str] | None = None) -> int:
    """Run ``command`` until it exits. Ctrl+C reaches it through the terminal; this process
    only waits, so it prints no traceback of its own."""
    child = subprocess.Popen([str(part) for part in command], cwd=ROOT, env=env)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # after Popen: the child keeps the default
    try:
        return child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


def fingerprint() -> str:
    digest = hashlib.sha256(UV_VERSION.encode())
    for name in LOCKED:
        digest.update((ROOT / name).read_bytes())
    if LOCAL_PLUGINS.exists():
        digest.update(LOCAL_PLUGINS.read_bytes())
    return digest.hexdigest()


def installed_plugins() -> dict[str, str]:
    """The ``nexus`` entry points installed in .venv, by name, with their distribution."""
    script = ("import json; from importlib.metadata import entry_points; "
              "print(json.dumps({e.name: e.dist.name if e.dist else '?' for e in entry_points(group='nexus')}))")
    result = subprocess.run([str(BIN / "python"), "-c", script], capture_output=True, text=True)
    return json.loads(result.stdout) if result.returncode == 0 else {}


def sync() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"dev.py: Nexus needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not (BIN / "python").exists() and not (BIN / "python.exe").exists():
        say("creating .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == fingerprint():
        return
    uv = BIN / ("uv.exe" if os.name == "nt" else "uv")
    if not uv.exists() or UV_VERSION not in subprocess.run([uv, "--version"], capture_output=True, text=True).stdout:
        say(f"installing uv {UV_VERSION} into .venv")
        run(BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"uv=={UV_VERSION}")
    before = installed_plugins()
    say("installing Nexus and its plugins as uv.lock pins them")
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(VENV)}
    # --inexact: keep what uv.lock does not know, such as a plugin installed by hand.
    run(uv, "sync", "--frozen", "--all-packages", "--inexact", "--python", BIN / "python", env=env)
    if LOCAL_PLUGINS.exists():
        say(f"installing the plugins listed in {LOCAL_PLUGINS.name}")
        run(uv, "pip", "install", "--python", BIN / "python", "-r", LOCAL_PLUGINS)
    gone = {name: dist for name, dist in before.items() if name not in installed_plugins()}
    for name, dist in sorted(gone.items()):
        say(f"warning: plugin {name!r} ({dist}) is no longer installed; list it in {LOCAL_PLUGINS.name} "
            "to have it installed on every sync")
    STAMP.write_text(fingerprint())


def js_dependencies() -> None:
    """The official socket.io-client, for the tests that drive it from Node."""
    if shutil.which("npm") is None:
        say("npm not found: the JavaScript client tests will fail; install Node.js 18 or newer")
        return
    lock = (JS_TESTS / "package-lock.json").read_bytes()
    stamp = JS_TESTS / "node_modules" / ".nexus-sync"
    if stamp.exists() and stamp.read_bytes() == hashlib.sha256(lock).hexdigest().encode():
        return
    say("installing tests/js dependencies with npm ci")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=JS_TESTS, check=True)
    stamp.write_bytes(hashlib.sha256(lock).hexdigest().encode())


def answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def check_services() -> None:
    """Stop with one line naming what is missing, and how to run without it."""
    database = os.environ.get("NEXUS_TEST_DATABASE", DEFAULT_DATABASE)
    redis = os.environ.get("NEXUS_TEST_REDIS", DEFAULT_REDIS)
    if database == "sqlite":
        say("NEXUS_TEST_DATABASE=sqlite: running the tests that need no PostgreSQL, on SQLite"
            + ("" if redis else " and the embedded Redis stand-in")
            + "; the cross-process tests are left out")
    elif database.startswith("postgres") and not answers(database, 5432):
        sys.exit(f"dev.py: the tests need PostgreSQL at {database} (NEXUS_TEST_DATABASE): start it, point "
                 "NEXUS_TEST_DATABASE at another, or run the SQLite-only tests: NEXUS_TEST_DATABASE=sqlite python3 dev.py test")
    if redis and not answers(redis, 6379):
        sys.exit(f"dev.py: the tests need Redis at {redis} (NEXUS_TEST_REDIS): start it, point NEXUS_TEST_REDIS at "
                 "another, or set it empty for the embedded stand-in (with NEXUS_TEST_DATABASE=sqlite)")


def build(args: list[str]) -> int:
    """Wheels and sdists of every distribution in the workspace (the host, the built-in
    plugins, the example plugin), in dist/ or ``--out-dir``."""
    out = Path(args[args.index("--out-dir") + 1]) if "--out-dir" in args else ROOT / "dist"
    if out == ROOT / "dist" and out.exists():
        shutil.rmtree(out)  # only this build's files, so that `pip install dist/*.whl` is right
    run(BIN / "uv", "build", "--all-packages", "--out-dir", out, "--quiet")
    for path in sorted(out.glob("*")):
        if path.name.endswith((".whl", ".tar.gz")):
            print(path)
    return 0


def main(argv: list[str]) -> int:
    command, args = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "sync":
        sync()
        return 0
    if command == "serve":
        sync()
        return run_in_foreground([BIN / "nexus", "serve", *args])
    if command == "demo":
        sync()
        return run_in_foreground([BIN / "nexus", "serve", "--demo", *args])
    if command == "test":
        sync()
        js_dependencies()
        check_services()
        return run_in_foreground([BIN / "python", "-m", "pytest", *args])
    if command == "build":
        sync()
        return build(args)
    print(__doc__)
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # Ctrl+C while installing: stop quietly
        sys.exit(130)
