"""Helpers shared by the host's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

CLASSIC_ENV = ("PORT", "DATABASE_URL", "REDIS_URL", "REDIS_HOST", "REDIS_PORT", "WHATSAPP_API_KEY", "TELEGRAM_BOT_TOKEN")
ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("NEXUS_TEST_DATABASE", "postgres://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("NEXUS_TEST_REDIS", "redis://127.0.0.1:6379/0")


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without any Nexus setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("NEXUS_") and not k.startswith("NEXUS_TEST_")) and k not in CLASSIC_ENV}
    env.update(extra or {})
    return env


def run_cli(args: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None, input: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``nexus ARGS`` as an operator would, in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "nexus.cli", *args], cwd=cwd, env=clean_env(env), input=input,
                          capture_output=True, text=True, timeout=timeout)


class NexusProcess:
    """``nexus serve`` or ``nexus worker`` as a real child process."""

    def __init__(self, args: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None, port: int | None = None) -> None:
        self.args = list(args)
        self.cwd = cwd
        self.env = clean_env(env)
        self.port = port
        self.log_path = cwd / f"nexus-{'-'.join(self.args[:1])}-{port or os.getpid()}-{id(self)}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> NexusProcess:
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen([sys.executable, "-m", "nexus.cli", *self.args], cwd=self.cwd, env=self.env,
                                        stdout=log, stderr=subprocess.STDOUT)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = 60) -> NexusProcess:
        import time
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"nexus exited with {self.process.returncode}:\n{self.log()}")
            if self.port is None:
                if "worker ready" in self.log():
                    return self
            else:
                try:
                    with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                        if response.status == 200:
                            return self
                except OSError:
                    pass
            time.sleep(0.1)
        raise AssertionError(f"nexus did not become ready in {timeout}s:\n{self.log()}")

    def stop(self, sig: int | None = None, timeout: float = 30) -> int | None:
        import signal

        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig or signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        import signal

        self.stop(signal.SIGKILL)

    def __enter__(self) -> NexusProcess:
        return self.start().wait_ready()

    def __exit__(self, *exc: object) -> None:
        self.stop()
