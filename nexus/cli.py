"""The ``nexus`` command.

Operators' mistakes end in one line naming the setting and the problem, never a traceback.

Commands import what they use when they run, so that ``nexus --help`` or ``nexus agents list``
stay fast: only ``serve``, ``worker``, ``config check`` and ``plugins list`` load the plugins
(:func:`setup_of`); the others read the settings alone (:func:`settings_of`). A command added to
a group (``plugins``, ``agents``, ``config``) follows the same rule.
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
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from nexus import __version__

if TYPE_CHECKING:
    from nexus.config import LoadedSettings, Settings
    from nexus.instances import Setup
    from nexus.plugins import PluginRegistry

T = TypeVar("T")
logger = logging.getLogger("nexus")


class Fail(click.ClickException):
    """An error worded for an operator: printed as one line, exit code ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = code

    def show(self, file: Any = None) -> None:
        click.echo(f"nexus: {self.message}", err=True)


# --- Settings and plugins, loaded when a command needs them --------------------------------


def _config_failed(ctx: click.Context, errors: Any) -> None:
    for line in errors.lines():
        click.echo(f"nexus: {line}", err=True)
    ctx.exit(2)


def loaded_settings(ctx: click.Context) -> LoadedSettings:
    """The validated settings (not the channels, which need the plugins); a bad configuration
    ends here with its lines."""
    from nexus.config import ConfigErrors, load_settings
    from nexus.logs import setup_logging

    obj = ctx.ensure_object(dict)
    if "loaded" not in obj:
        try:
            obj["loaded"] = load_settings(obj.get("config"), env_file=obj.get("env_file"))
        except ConfigErrors as exc:
            _config_failed(ctx, exc)
        setup_logging(obj.get("log_level") or obj["loaded"].settings.logging.level)
    return obj["loaded"]


def settings_of(ctx: click.Context) -> Settings:
    return loaded_settings(ctx).settings


def setup_of(ctx: click.Context, prepare_with: Callable[[LoadedSettings], Setup] | None = None) -> Setup:
    """Settings, plugins and channels; a bad configuration ends here with its lines.
    ``prepare_with`` replaces :func:`nexus.instances.prepare` (demo mode adds its channel)."""
    from nexus.config import ConfigErrors
    from nexus.instances import prepare

    obj = ctx.ensure_object(dict)
    if "setup" not in obj:
        try:
            obj["setup"] = (prepare_with or prepare)(loaded_settings(ctx))
        except ConfigErrors as exc:
            _config_failed(ctx, exc)
    return obj["setup"]


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro``; a :class:`nexus.startup.StartupError` becomes the command's one line."""
    from nexus.startup import StartupError

    try:
        return asyncio.run(coro)
    except StartupError as exc:
        raise Fail(str(exc)) from None


def async_command(func: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return run(func(*args, **kwargs))

    return wrapper


@contextlib.asynccontextmanager
async def database(settings: Settings, *, migrate: bool | None = None) -> AsyncIterator[None]:
    """Open the database for a command, migrating it first if configured to (or refusing,
    in one line, a database that lacks migrations)."""
    from nexus.config import mask_url
    from nexus.db import close_database, open_database
    from nexus.startup import check_database

    await check_database(settings, migrate=settings.database.migrate_on_start if migrate is None else migrate)
    try:
        ctx = await open_database(settings.database_url)
    except Exception as exc:  # noqa: BLE001 - reported as one line
        raise Fail(f"database.url: cannot use {mask_url(settings.database_url)}: {exc}") from None
    try:
        yield
    finally:
        await close_database(ctx)


# --- The command group ---------------------------------------------------------------------


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
@click.option("--demo", is_flag=True, help="Demo mode: add a channel that needs no account, an admin, a team and canned responses.")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None, worker_class: str | None,
          no_delivery_worker: bool, no_receivers: bool, no_migrate: bool, demo: bool) -> None:
    """Run the API, Socket.IO, the channels' receivers and a delivery worker."""
    from nexus.runtime import Options
    from nexus.server import serve as run_server
    from nexus.startup import check_database, check_redis, check_search

    demo_mode = None
    if demo:
        from nexus.demo import Demo

        demo_mode = Demo()
    setup = setup_of(ctx, demo_mode.setup if demo_mode else None)
    server = setup.settings.server
    host, port = host or server.host, port or server.port
    workers, worker_class = workers or server.workers, worker_class or server.worker_class
    if workers > 1 and setup.settings.embedded_redis:
        raise Fail("config error: server.workers: several processes need a shared Redis; set REDIS_URL", 2)
    if setup.settings.inbox.process_on == "workers" and setup.settings.embedded_redis:
        raise Fail("config error: inbox.process_on: \"workers\" needs a shared Redis for `nexus worker` processes; "
                   "set REDIS_URL, or use \"auto\"", 2)
    for warning in setup.warnings:
        logger.warning(warning)
    logger.info("starting Nexus %s: %s process(es), %s loop", __version__, workers, worker_class)
    applied = run(check_database(setup.settings, migrate=setup.settings.database.migrate_on_start and not no_migrate))
    if applied:
        logger.info("applied migrations: %s", ", ".join(applied))
    run(check_search(setup.settings))
    run(check_redis(setup.settings))
    if demo_mode:
        run(announce_demo(setup, demo_mode, host, port))
    options = Options(role="api", delivery_worker=not no_delivery_worker, receivers=not no_receivers)
    try:
        code = run_server(setup, host=host, port=port, workers=workers, worker_class=worker_class, options=options,
                          log_level=ctx.obj.get("log_level"))
    except OSError as exc:
        raise Fail(f"server.port: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    logger.info("Nexus stopped")
    ctx.exit(code)


async def announce_demo(setup: Setup, demo: Any, host: str, port: int) -> None:
    """Create the demo's admin, team and canned responses if missing, and say where to look."""
    from nexus.demo import announcement, seed

    async with database(setup.settings, migrate=False):
        seeded = await seed(setup)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    for line in announcement(demo.plan, seeded, f"http://{shown}:{port}"):
        click.echo(line)


@main.command()
@click.option("--worker-class", type=click.Choice(["asyncio", "uvloop"]), help="Event loop.")
@click.pass_context
def worker(ctx: click.Context, worker_class: str | None) -> None:
    """Deliver replies and process stored webhooks; run any number of these beside `nexus serve`."""
    from nexus.server import run_worker
    from nexus.startup import check_database, check_redis, check_search

    setup = setup_of(ctx)
    if setup.settings.embedded_redis:
        raise Fail("config error: redis.url: a separate worker needs a shared Redis; set REDIS_URL "
                   "(nexus serve delivers in-process without it)", 2)
    run(check_database(setup.settings, migrate=False))
    run(check_search(setup.settings))
    run(check_redis(setup.settings))
    code = run_worker(setup, worker_class or setup.settings.server.worker_class)
    logger.info("worker stopped")
    ctx.exit(code)


# --- migrate -------------------------------------------------------------------------------


@main.command()
@click.option("--check", is_flag=True, help="Only report whether migrations are pending; exit 1 if so.")
@click.pass_context
def migrate(ctx: click.Context, check: bool) -> None:
    """Apply the database migrations."""
    from nexus.config import mask_url
    from nexus.db.migrations import apply_migrations, pending_migrations

    url = settings_of(ctx).database_url
    try:
        if check:
            pending = asyncio.run(pending_migrations(url))
            click.echo("pending: " + ", ".join(pending) if pending else "the database is up to date")
            ctx.exit(1 if pending else 0)
        applied = asyncio.run(apply_migrations(url))
    except (click.exceptions.Exit, Fail):
        raise
    except Exception as exc:  # noqa: BLE001
        raise Fail(f"database.url: cannot migrate {mask_url(url)}: {exc}") from None
    click.echo(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "the database is up to date")


# --- agents --------------------------------------------------------------------------------


@main.group()
def agents() -> None:
    """Manage agents and their API tokens."""


def read_password(password_stdin: bool) -> str:
    """The new password: from standard input, or asked twice on the terminal."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if password and getpass.getpass("Again: ") != password:
            raise Fail("password: the passwords differ")
    else:
        raise Fail("password: there is no terminal to ask for it; pipe it in with --password-stdin")
    if not password:
        raise Fail("password: no password given")
    return password


@agents.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "agent"]), default="agent", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--no-password", is_flag=True, help="No password: the agent signs in with API tokens only.")
@click.option("--token", "with_token", is_flag=True, help="Also print a new API token for the agent.")
@click.pass_context
@async_command
async def agents_create(ctx: click.Context, email: str, name: str, role: str, password_stdin: bool,
                        no_password: bool, with_token: bool) -> None:
    """Create an agent (asks for a password on a terminal)."""
    from nexus.accounts import EMAIL, AccountError, Accounts
    from nexus.db import models

    if password_stdin and no_password:
        raise Fail("password: --password-stdin and --no-password exclude each other")
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise Fail(f"email: {email!r} is not an email address")
    settings = settings_of(ctx)
    async with database(settings):
        if await models.Agent.exists(email=email):
            raise Fail(f"email: an agent with email {email!r} exists")
        password = None if no_password else read_password(password_stdin)
        accounts = Accounts(settings.auth.token_ttl)
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

    async with database(settings_of(ctx)):
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

    settings = settings_of(ctx)
    async with database(settings):
        agent = await models.Agent.get_or_none(email=email.strip().lower(), is_active=True)
        if agent is None:
            raise Fail(f"there is no active agent with email {email!r}")
        issued = await Accounts(settings.auth.token_ttl).issue_token(agent, name, ttl=ttl_days * 86400)
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

    settings = settings_of(ctx)
    async with database(settings):
        agent = await models.Agent.get_or_none(email=email.strip().lower())
        if agent is None:
            raise Fail(f"there is no agent with email {email!r}")
        password = read_password(password_stdin)
        try:
            await Accounts(settings.auth.token_ttl).set_password(agent, password)
        except AccountError as exc:
            raise Fail(f"password: {exc.message}") from None
        click.echo(f"password set for {agent.email}")


# --- plugins and config --------------------------------------------------------------------


@main.group()
def plugins() -> None:
    """Inspect plugins, or scaffold a new one."""


def plugins_for_listing(ctx: click.Context) -> PluginRegistry:
    """The plugins as the configuration enables them; when the configuration is invalid, as
    installed, after a warning naming what is wrong (an author needs the list most then)."""
    from nexus.config import ConfigErrors, load_settings
    from nexus.instances import prepare
    from nexus.plugins import discover_plugins

    obj = ctx.ensure_object(dict)
    settings = None
    try:
        loaded = load_settings(obj.get("config"), env_file=obj.get("env_file"))
        settings = loaded.settings
        return prepare(loaded).registry
    except ConfigErrors as exc:
        for line in exc.lines():
            click.echo(f"nexus: warning: {line}", err=True)
        click.echo("nexus: warning: the configuration is invalid; listing the installed plugins without it", err=True)
    registry = discover_plugins(blocked=settings.plugins.blocked if settings else ())
    if settings is not None:
        registry.activate(name for name in settings.plugins.enabled if name in registry.plugins)
    return registry


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def plugins_list(ctx: click.Context, as_json: bool) -> None:
    """Installed plugins: enabled, installed (not enabled), blocked or failed."""
    registry = plugins_for_listing(ctx)
    rows = [
        {"name": info.name, "state": info.state, "version": info.version, "distribution": info.distribution,
         "channel_types": info.channel_types, "error": info.error}
        for info in sorted(registry.plugins.values(), key=lambda i: i.name)
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


@plugins.command("new")
@click.argument("name")
@click.option("--directory", "-d", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write it (default: ./nexus-channel-NAME).")
@click.option("--description", help="One line saying what the channel connects to.")
def plugins_new(name: str, directory: Path | None, description: str | None) -> None:
    """Scaffold a channel plugin package that passes its own tests (see docs/plugins.md)."""
    from nexus.scaffold import ScaffoldError, new_plugin

    try:
        target, _ = new_plugin(name, directory, description=description)
    except ScaffoldError as exc:
        raise Fail(str(exc)) from None
    click.echo(f"created {target}: channel type {name!r}; next: cd {target} && pip install -e '.[test]' && pytest")


@main.group()
def config() -> None:
    """Check the configuration."""


@config.command("check")
@click.pass_context
def config_check(ctx: click.Context) -> None:
    """Validate the configuration and print the effective settings, secrets masked."""
    from nexus.describe import effective_settings

    setup = setup_of(ctx)
    source = setup.raw.config_path or "no file (defaults and environment)"
    click.echo(f"configuration OK ({source})")
    for warning in setup.warnings:
        click.echo(f"warning: {warning}")
    for line in effective_settings(setup):
        click.echo(line)


if __name__ == "__main__":  # pragma: no cover
    main()
