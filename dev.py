#!/usr/bin/env python3
"""One command to run Nexus, one to test it, on a machine that has only Python 3.11+.

    python3 dev.py serve [nexus serve options]   # install into .venv, then run Nexus
    python3 dev.py demo [nexus serve options]    # the same in demo mode: a web chat, a console, an admin
    python3 dev.py test [pytest options]         # install into .venv, then run the tests
    python3 dev.py sync                          # only install

It creates .venv, installs uv into it, and installs the host, the built-in channel plugins, the
example plugin and the test tools exactly as uv.lock pins them. Only the standard library is
used here.
"""

from __future__ import annotations

import hashlib
import os
import shutil
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
JS_TESTS = ROOT / "tests" / "js"


def say(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr, flush=True)


def run(*command: str | Path, **kwargs) -> None:
    subprocess.run([str(part) for part in command], check=True, cwd=ROOT, **kwargs)


def fingerprint() -> str:
    digest = hashlib.sha256(UV_VERSION.encode())
    for name in LOCKED:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


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
    say("installing Nexus and its plugins as uv.lock pins them")
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(VENV)}
    run(uv, "sync", "--frozen", "--all-packages", "--python", BIN / "python", env=env)
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
    database = os.environ.get("NEXUS_TEST_DATABASE", "postgres://postgres@127.0.0.1:5432/test")
    redis = os.environ.get("NEXUS_TEST_REDIS", "redis://127.0.0.1:6379/0")
    missing = []
    if database.startswith("postgres") and not answers(database, 5432):
        missing.append(f"PostgreSQL at {database} (NEXUS_TEST_DATABASE)")
    if redis and not answers(redis, 6379):
        missing.append(f"Redis at {redis} (NEXUS_TEST_REDIS)")
    if missing:
        sys.exit("dev.py: the tests need " + " and ".join(missing) + "; start them or point those variables elsewhere")


def main(argv: list[str]) -> int:
    command, args = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "sync":
        sync()
        return 0
    if command == "serve":
        sync()
        return subprocess.call([str(BIN / "nexus"), "serve", *args], cwd=ROOT)
    if command == "demo":
        sync()
        return subprocess.call([str(BIN / "nexus"), "serve", "--demo", *args], cwd=ROOT)
    if command == "test":
        sync()
        js_dependencies()
        check_services()
        return subprocess.call([str(BIN / "python"), "-m", "pytest", *args], cwd=ROOT)
    print(__doc__)
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
