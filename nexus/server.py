"""Running the app under Hypercorn: one process in this one, or several worker processes
that each import :mod:`nexus.asgi`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
from collections.abc import Callable
from typing import Any

from hypercorn.config import Config

from nexus.config import Settings
from nexus.instances import Setup
from nexus.runtime import Options

logger = logging.getLogger("nexus.server")

#: How ``nexus serve`` passes its options to the worker processes it spawns.
OPTIONS_ENV = "NEXUS_SERVE_OPTIONS"


def options_from_environment() -> Options:
    raw = os.environ.get(OPTIONS_ENV)
    if not raw:
        return Options()
    values = json.loads(raw)
    return Options(role="api", delivery_worker=bool(values.get("delivery_worker", True)),
                   receivers=bool(values.get("receivers", True)))


def hypercorn_config(settings: Settings, host: str, port: int, workers: int, worker_class: str) -> Config:
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.workers = workers
    config.worker_class = worker_class
    config.graceful_timeout = settings.server.graceful_timeout + 5
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.keep_alive_timeout = 75
    config.loglevel = settings.logging.level
    return config


def run_loop(main: Callable[[], Any], worker_class: str) -> Any:
    if worker_class == "uvloop":
        import uvloop

        return uvloop.run(main())
    return asyncio.run(main())


def check_bind(host: str, port: int) -> None:
    """Raise OSError now if ``host:port`` cannot be listened on, before anything starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))


def serve(setup: Setup, *, host: str, port: int, workers: int, worker_class: str, options: Options) -> int:
    """Serve until SIGINT or SIGTERM; returns the exit code."""
    check_bind(host, port)
    config = hypercorn_config(setup.settings, host, port, workers, worker_class)
    if workers > 1:
        from hypercorn.run import run

        os.environ[OPTIONS_ENV] = json.dumps({"delivery_worker": options.delivery_worker, "receivers": options.receivers})
        config.application_path = "nexus.asgi:app"
        return run(config)

    from hypercorn.asyncio import serve as hypercorn_serve

    from nexus.app import create_app

    async def main() -> None:
        app = create_app(setup, options=options)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await hypercorn_serve(app.asgi, config, shutdown_trigger=stop.wait)  # type: ignore[attr-defined]
        finally:
            nexus = app.extensions["nexus"]
            if nexus.started:  # the server failed after start-up (say, binding): close what opened
                await nexus.stop()

    run_loop(main, worker_class)
    return 0


def run_worker(setup: Setup, worker_class: str = "asyncio") -> int:
    """A delivery-only process (``nexus worker``): no HTTP, no receivers."""
    from nexus.runtime import Nexus

    async def main() -> None:
        nexus = Nexus(setup, Options(role="worker", delivery_worker=True, receivers=False))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await nexus.start()
        logger.info("worker ready; SIGTERM stops it after in-flight sends")
        try:
            await stop.wait()
        finally:
            await nexus.stop()

    run_loop(main, worker_class)
    return 0
