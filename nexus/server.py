"""Running the app under Hypercorn: one process in this one, or several worker processes
that each import :mod:`nexus.asgi`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nexus.config import ConfigErrors, Settings, load_settings
from nexus.runtime import Options
from nexus.startup import StartupError, check_database

if TYPE_CHECKING:
    from hypercorn.config import Config

    from nexus.instances import Setup

logger = logging.getLogger("nexus.server")

#: How ``nexus serve`` passes its options to the worker processes it spawns.
OPTIONS_ENV = "NEXUS_SERVE_OPTIONS"


def options_from_environment() -> tuple[Options, str | None]:
    """The options ``nexus serve`` handed to this worker process, and its log level."""
    raw = os.environ.get(OPTIONS_ENV)
    if not raw:
        return Options(), None
    values = json.loads(raw)
    options = Options(role="api", delivery_worker=bool(values.get("delivery_worker", True)),
                      receivers=bool(values.get("receivers", True)), url=values.get("url"))
    return options, values.get("log_level")


def hypercorn_config(settings: Settings, host: str, port: int, workers: int, worker_class: str) -> Config:
    from hypercorn.config import Config

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


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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


def asgi_app() -> Any:
    """The ASGI app of ``hypercorn nexus.asgi:app``, configured from the environment as the CLI
    is. Alone, it first applies migrations (``database.migrate_on_start``) or refuses to start
    on an unmigrated database; under ``nexus serve``, which did that, it only builds the app.
    A configuration or database problem ends the process with one line, never a traceback."""
    from nexus.app import create_app
    from nexus.instances import prepare
    from nexus.logs import setup_logging

    options, log_level = options_from_environment()
    try:
        setup = prepare(load_settings())
    except ConfigErrors as exc:
        sys.exit("\n".join(f"nexus: {line}" for line in exc.lines()))
    setup_logging(log_level or setup.settings.logging.level)
    if OPTIONS_ENV not in os.environ:
        try:
            applied = asyncio.run(check_database(setup.settings, migrate=setup.settings.database.migrate_on_start))
        except StartupError as exc:
            sys.exit(f"nexus: {exc}")
        if applied:
            logger.info("applied migrations: %s", ", ".join(applied))
    return create_app(setup, options=options).asgi  # type: ignore[attr-defined]


# --- Serving --------------------------------------------------------------------------------


def stop_on_signals(stop: asyncio.Event, what: str) -> None:
    """SIGINT and SIGTERM set ``stop``, saying so."""
    loop = asyncio.get_running_loop()

    def stopping(signum: int) -> None:
        if not stop.is_set():
            logger.info("%s received: stopping %s", signal.Signals(signum).name, what)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping, signum)


def serve(setup: Setup, *, host: str, port: int, workers: int, worker_class: str, options: Options,
          log_level: str | None = None) -> int:
    """Serve until SIGINT or SIGTERM; returns the exit code. Raises OSError when the address
    cannot be listened on."""
    config = hypercorn_config(setup.settings, host, port, workers, worker_class)
    options = replace(options, url=base_url(host, port))
    if workers > 1:
        from hypercorn.run import run

        check_bind(host, port)
        os.environ[OPTIONS_ENV] = json.dumps({"delivery_worker": options.delivery_worker, "receivers": options.receivers,
                                              "url": options.url, "log_level": log_level})
        config.application_path = "nexus.asgi:app"
        logger.info("starting %s processes", workers)
        return run(config)

    from hypercorn.asyncio.run import worker_serve
    from hypercorn.utils import wrap_app

    from nexus.app import create_app

    # Bound before the app starts, so that "ready on http://..." is only said of a bound port.
    sockets = config.create_sockets()

    async def main() -> None:
        app = create_app(setup, options=options)
        stop = asyncio.Event()
        stop_on_signals(stop, f"(in-flight work has {setup.settings.server.graceful_timeout:g}s to finish)")
        try:
            await worker_serve(wrap_app(app.asgi, config.wsgi_max_body_size, "asgi"), config,  # type: ignore[attr-defined]
                               sockets=sockets, shutdown_trigger=stop.wait)
        finally:
            nexus = app.extensions["nexus"]
            if nexus.started:  # the server failed after start-up: close what opened
                await nexus.stop()

    run_loop(main, worker_class)
    return 0


def run_worker(setup: Setup, worker_class: str = "asyncio") -> int:
    """A worker process (``nexus worker``): deliveries and stored webhook payloads; no HTTP,
    no receivers."""
    from nexus.runtime import Nexus

    async def main() -> None:
        nexus = Nexus(setup, Options(role="worker", delivery_worker=True, receivers=False))
        stop = asyncio.Event()
        stop_on_signals(stop, "after in-flight sends")
        await nexus.start()
        logger.info("worker ready; SIGTERM stops it after in-flight sends")
        try:
            await stop.wait()
        finally:
            await nexus.stop()

    run_loop(main, worker_class)
    return 0
