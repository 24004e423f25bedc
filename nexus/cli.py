"""The ``nexus`` command.

Operators' mistakes end in one line naming the setting and the problem, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import logging
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from functools import wraps
from typing import Any, TypeVar

import click

from nexus import __version__
from nexus.config import ConfigErrors, Settings, load_settings, mask_url
from nexus.instances import Setup, prepare

T = TypeVar("T")
NOISY_LOGGERS = ("tortoise", "aiosqlite", "asyncio", "saq", "socketio", "engineio", "hypercorn.access", "asyncpg",
                 "aerich", "aiogram.event", "mail.log")


class Fail(click.ClickException):
    """An error worded for an operator: printed as one line, exit code ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = code

    def show(self, file: Any = None) -> None:
        click.echo(f"nexus: {self.message}", err=True)


class OneLine(logging.Filter):
    """Drops the traceback of a library's warning, keeping its line and the error's text
    (asyncpg logs every failed reconnect during a database restart with a full traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.levelno < logging.ERROR and not record.name.startswith("nexus"):
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {error}"
            record.args = ()
            record.exc_info = None
        return True


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", force=True)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    for handler in logging.getLogger().handlers:
        handler.addFilter(OneLine())


def load(ctx: click.Context) -> Setup:
    """Settings, plugins and channels; a bad configuration ends here with its lines."""
    obj = ctx.ensure_object(dict)
    if "setup" not in obj:
        try:
            loaded = load_settings(obj.get("config"), env_file=obj.get("env_file"))
            obj["setup"] = prepare(loaded)
        except ConfigErrors as exc:
            for line in exc.lines():
                click.echo(f"nexus: {line}", err=True)
            ctx.exit(2)
        setup_logging(obj.get("log_level") or obj["setup"].settings.logging.level)
    return obj["setup"]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@contextlib.asynccontextmanager
async def database(settings: Settings, *, migrate: bool | None = None) -> AsyncIterator[None]:
    """Open the database for a command, migrating it first if configured to."""
    from nexus.db import close_database, open_database
    from nexus.db.migrations import apply_migrations

    url = settings.database_url
    try:
        if settings.database.migrate_on_start if migrate is None else migrate:
            await apply_migrations(url)
        ctx = await open_database(url)
    except Exception as exc:  # noqa: BLE001 - reported as one line
        raise Fail(f"database.url: cannot use {mask_url(url)}: {exc}") from None
    try:
        yield
    finally:
        await close_database(ctx)


async def preflight(settings: Settings) -> None:
    """Fail early, in one line, when the database or Redis cannot be reached."""
    from nexus.redis_backend import connect_redis
    from nexus.search import Search, SearchError

    async with database(settings, migrate=False):
        pass
    try:
        await Search(settings.database_url, settings.search.language).prepare()
    except SearchError as exc:
        raise Fail(str(exc)) from None
    if settings.redis.url:
        client = connect_redis(settings)
        try:
            await asyncio.wait_for(client.ping(), 5)
        except Exception as exc:  # noqa: BLE001
            raise Fail(f"redis.url: cannot reach {mask_url(settings.redis.url)}: {exc or type(exc).__name__}") from None
        finally:
            await client.aclose()


def async_command(func: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return run(func(*args, **kwargs))

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nexus")
@click.option("--config", "config", type=click.Path(dir_okay=False), envvar="NEXUS_CONFIG",
              help="The TOML settings file (default: ./nexus.toml if present).")
@click.option("--env-file", type=click.Path(dir_okay=False), help="A .env file (default: ./.env if present).")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="Override logging.level.")
@click.pass_context
def main(ctx: click.Context, config: str | None, env_file: str | None, log_level: str | None) -> None:
    """Nexus: the omnichannel customer-support backend."""
    ctx.ensure_object(dict).update(config=config, env_file=env_file, log_level=log_level and log_level.upper())


# --- serve and worker ----------------------------------------------------------------------


@main.command()
@click.option("--host", help="Address to listen on (server.host).")
@click.option("--port", type=int, help="Port to listen on (server.port).")
@click.option("--workers", type=click.IntRange(1, 64), help="API processes (server.workers); more than one needs Redis.")
@click.option("--worker-class", type=click.Choice(["asyncio", "uvloop"]), help="Event loop (server.worker_class).")
@click.option("--no-delivery-worker", is_flag=True, help="Do not deliver replies in this process; run `nexus worker` instead.")
@click.option("--no-receivers", is_flag=True, help="Do not run the channels' polling receivers in this process.")
@click.option("--no-migrate", is_flag=True, help="Do not apply migrations at start (database.migrate_on_start).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None, worker_class: str | None,
          no_delivery_worker: bool, no_receivers: bool, no_migrate: bool) -> None:
    """Run the API, Socket.IO, the channels' receivers and a delivery worker."""
    from nexus.db.migrations import apply_migrations
    from nexus.runtime import Options
    from nexus.server import serve as run_server

    setup = load(ctx)
    server = setup.settings.server
    host, port = host or server.host, port or server.port
    workers, worker_class = workers or server.workers, worker_class or server.worker_class
    if workers > 1 and setup.settings.embedded_redis:
        raise Fail("config error: server.workers: several processes need a shared Redis; set REDIS_URL", 2)
    for warning in setup.warnings:
        logging.getLogger("nexus").warning(warning)
    log = logging.getLogger("nexus")
    log.info("Nexus %s on http://%s:%s with %s process(es), %s loop", __version__, host, port, workers, worker_class)
    if setup.settings.database.migrate_on_start and not no_migrate:
        try:
            applied = run(apply_migrations(setup.settings.database_url))
        except Fail:
            raise
        except Exception as exc:  # noqa: BLE001
            raise Fail(f"database.url: cannot migrate {mask_url(setup.settings.database_url)}: {exc}") from None
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
    run(preflight(setup.settings))
    options = Options(role="api", delivery_worker=not no_delivery_worker, receivers=not no_receivers)
    try:
        code = run_server(setup, host=host, port=port, workers=workers, worker_class=worker_class, options=options)
    except OSError as exc:
        raise Fail(f"server.port: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    ctx.exit(code)


@main.command()
@click.option("--worker-class", type=click.Choice(["asyncio", "uvloop"]), help="Event loop.")
@click.pass_context
def worker(ctx: click.Context, worker_class: str | None) -> None:
    """Deliver replies only; run any number of these beside `nexus serve`."""
    from nexus.server import run_worker

    setup = load(ctx)
    if setup.settings.embedded_redis:
        raise Fail("config error: redis.url: a separate worker needs a shared Redis; set REDIS_URL "
                   "(nexus serve delivers in-process without it)", 2)
    run(preflight(setup.settings))
    ctx.exit(run_worker(setup, worker_class or setup.settings.server.worker_class))


# --- migrate -------------------------------------------------------------------------------


@main.command()
@click.option("--check", is_flag=True, help="Only report whether migrations are pending; exit 1 if so.")
@click.pass_context
def migrate(ctx: click.Context, check: bool) -> None:
    """Apply the database migrations."""
    from nexus.db.migrations import apply_migrations, pending_migrations

    settings = load(ctx).settings
    url = settings.database_url
    try:
        if check:
            pending = run(pending_migrations(url))
            click.echo("pending: " + ", ".join(pending) if pending else "the database is up to date")
            ctx.exit(1 if pending else 0)
        applied = run(apply_migrations(url))
    except (click.exceptions.Exit, Fail):
        raise
    except Exception as exc:  # noqa: BLE001
        raise Fail(f"database.url: cannot migrate {mask_url(url)}: {exc}") from None
    click.echo(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "the database is up to date")


# --- agents --------------------------------------------------------------------------------


@main.group()
def agents() -> None:
    """Manage agents and their API tokens."""


def read_password(password_stdin: bool) -> str | None:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if sys.stdin.isatty():
        first = getpass.getpass("Password (empty for none): ")
        if first and getpass.getpass("Again: ") != first:
            raise Fail("the passwords differ")
        return first or None
    return None


@agents.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "agent"]), default="agent", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--token", "with_token", is_flag=True, help="Also print a new API token for the agent.")
@click.pass_context
@async_command
async def agents_create(ctx: click.Context, email: str, name: str, role: str, password_stdin: bool, with_token: bool) -> None:
    """Create an agent (prompts for a password on a terminal)."""
    from nexus.accounts import AccountError, Accounts

    setup = load(ctx)
    password = read_password(password_stdin)
    async with database(setup.settings):
        accounts = Accounts(setup.settings.auth.token_ttl)
        try:
            agent = await accounts.create_agent(email=email, name=name, role=role, password=password)
        except AccountError as exc:
            raise Fail(f"{exc.field or 'agent'}: {exc.message}") from None
        click.echo(f"created {role} {agent.email} (id {agent.id})")
        if with_token:
            issued = await accounts.issue_token(agent, "cli", ttl=0)
            click.echo(issued.token)


@agents.command("list")
@click.pass_context
@async_command
async def agents_list(ctx: click.Context) -> None:
    """List agents."""
    from nexus.db import models

    setup = load(ctx)
    async with database(setup.settings):
        for agent in await models.Agent.all().order_by("id"):
            state = "active" if agent.is_active else "inactive"
            click.echo(f"{agent.id}\t{agent.email}\t{agent.name}\t{agent.role}\t{state}")


@agents.command("token")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option("--ttl-days", type=float, default=0, show_default=True, help="Days until it expires; 0 for never.")
@click.pass_context
@async_command
async def agents_token(ctx: click.Context, email: str, name: str, ttl_days: float) -> None:
    """Print a new API token for the agent with EMAIL."""
    from nexus.accounts import Accounts
    from nexus.db import models

    setup = load(ctx)
    async with database(setup.settings):
        agent = await models.Agent.get_or_none(email=email.strip().lower(), is_active=True)
        if agent is None:
            raise Fail(f"there is no active agent with email {email!r}")
        issued = await Accounts(setup.settings.auth.token_ttl).issue_token(agent, name, ttl=ttl_days * 86400)
        click.echo(issued.token)


@agents.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
@async_command
async def agents_set_password(ctx: click.Context, email: str, password_stdin: bool) -> None:
    """Set the password of the agent with EMAIL."""
    from nexus.accounts import AccountError, Accounts
    from nexus.db import models

    setup = load(ctx)
    password = read_password(password_stdin)
    if not password:
        raise Fail("password: no password given")
    async with database(setup.settings):
        agent = await models.Agent.get_or_none(email=email.strip().lower())
        if agent is None:
            raise Fail(f"there is no agent with email {email!r}")
        try:
            await Accounts(setup.settings.auth.token_ttl).set_password(agent, password)
        except AccountError as exc:
            raise Fail(f"password: {exc.message}") from None
        click.echo(f"password set for {agent.email}")


# --- plugins and config --------------------------------------------------------------------


@main.group()
def plugins() -> None:
    """Inspect plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def plugins_list(ctx: click.Context, as_json: bool) -> None:
    """Installed plugins: enabled, installed (not enabled), blocked or failed."""
    setup = load(ctx)
    rows = [
        {"name": info.name, "state": info.state, "version": info.version, "distribution": info.distribution,
         "channel_types": info.channel_types, "error": info.error}
        for info in sorted(setup.registry.plugins.values(), key=lambda i: i.name)
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no plugins installed")
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        source = f"{r['distribution']} {r['version']}" if r["distribution"] else "(not installed from a distribution)"
        types = f"  channel types: {', '.join(r['channel_types'])}" if r["channel_types"] else ""
        click.echo(f"{r['name']:<{width}}  {r['state']:<9}  {source}{types}")
        if r["error"]:
            click.echo(f"{'':<{width}}  {r['error']}")


@main.group()
def config() -> None:
    """Check the configuration."""


@config.command("check")
@click.pass_context
def config_check(ctx: click.Context) -> None:
    """Validate the configuration and print the effective settings, secrets masked."""
    from nexus.describe import effective_settings

    setup = load(ctx)
    source = setup.raw.config_path or "no file (defaults and environment)"
    click.echo(f"configuration OK ({source})")
    for warning in setup.warnings:
        click.echo(f"warning: {warning}")
    for line in effective_settings(setup):
        click.echo(line)


if __name__ == "__main__":  # pragma: no cover
    main()
