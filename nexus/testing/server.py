"""Run Nexus for a test: a real Hypercorn server on a loopback port, in this event loop, on a
test database, with start-up and shutdown run for real."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from hypercorn.asyncio import serve
from hypercorn.config import Config

from nexus.app import create_app
from nexus.config import LoadedSettings, Settings
from nexus.config.loader import RawConfig
from nexus.db import models
from nexus.instances import prepare
from nexus.runtime import Nexus, Options
from nexus.testing.backends import TestBackends
from nexus.types import DeliveryStatus, MessageView, TicketView
from nexus.views import TICKET_RELATED, message_views, ticket_views


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_for(predicate: Callable[[], Awaitable[Any] | Any], timeout: float = 10.0, interval: float = 0.05,
                   message: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; returns that."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(interval)


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: Mapping[str, str]

    def __iter__(self):  # ``status, body = await server.api(...)``
        return iter((self.status, self.body))


class RunningNexus:
    """A Nexus serving on ``url``. ``nexus`` is the runtime; the database is open, so tests may
    query models directly."""

    def __init__(self, url: str, nexus: Nexus, http: aiohttp.ClientSession) -> None:
        self.url = url
        self.nexus = nexus
        self.http = http
        self._tokens: dict[str, str] = {}

    @property
    def public_url(self) -> str:
        """The base URL providers use: ``server.public_url`` when configured (``public_url=True``
        makes it this server's own address), else :attr:`url`."""
        return self.nexus.settings.server.public_url or self.url

    def webhook_url(self, channel: str, subpath: str = "") -> str:
        """The full URL of a channel's webhook on this server: what a fake provider calls."""
        runtime = self.nexus.channels.get(channel)
        if runtime is None:
            raise KeyError(f"no channel named {channel!r}")
        return f"{self.url}/webhooks/{runtime.spec.type_name}/{channel}" + (f"/{subpath}" if subpath else "")

    # --- HTTP --------------------------------------------------------------------------

    async def request(self, method: str, path: str, *, token: str | None = None, json_body: Any = None,
                      data: bytes | str | None = None, headers: Mapping[str, str] | None = None,
                      params: Mapping[str, Any] | None = None) -> ApiResponse:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(method, self.url + path, json=json_body, data=data, headers=all_headers,
                                     params=params) as response:
            raw = await response.read()
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            return ApiResponse(response.status, body, dict(response.headers))

    async def api(self, method: str, path: str, token: str | None = None, json: Any = None,
                  params: Mapping[str, Any] | None = None) -> ApiResponse:
        """A REST call under ``/api/v1``."""
        return await self.request(method, "/api/v1" + path, token=token, json_body=json, params=params)

    async def post_webhook(self, channel: str, body: bytes | str | dict[str, Any], *, headers: Mapping[str, str] | None = None,
                           method: str = "POST", subpath: str = "", params: Mapping[str, Any] | None = None) -> ApiResponse:
        """Send a provider's webhook to ``/webhooks/<type>/<channel>``."""
        if isinstance(body, dict):
            body = json.dumps(body, separators=(",", ":"))
        path = self.webhook_url(channel, subpath)[len(self.url):]
        return await self.request(method, path, data=body, headers=headers, params=params)

    # --- Accounts ----------------------------------------------------------------------

    async def agent(self, email: str = "admin@example.com", *, role: str = "admin", name: str | None = None,
                    password: str | None = "correct horse battery", team_ids: list[int] = ()) -> tuple[models.Agent, str]:
        """Create an agent and return it with a bearer token."""
        agent = await self.nexus.accounts.create_agent(email=email, name=name or email.split("@")[0], role=role, password=password)
        if team_ids:
            await agent.teams.add(*await models.Team.filter(id__in=list(team_ids)))
        issued = await self.nexus.accounts.issue_token(agent, "test", ttl=0)
        return agent, issued.token

    async def admin_token(self) -> str:
        if "admin" not in self._tokens:
            _, self._tokens["admin"] = await self.agent("kit-admin@example.com", role="admin")
        return self._tokens["admin"]

    # --- Reading back ------------------------------------------------------------------

    async def tickets(self, **filters: Any) -> list[TicketView]:
        rows = await models.Ticket.filter(**filters).select_related(*TICKET_RELATED).order_by("id")
        return await ticket_views(rows)

    async def messages(self, channel: str | None = None, **filters: Any) -> list[MessageView]:
        query = models.Message.filter(**filters)
        if channel is not None:
            query = query.filter(channel__name=channel)
        rows = await query.select_related("channel", "sender").order_by("id")
        return await message_views(rows)

    async def wait_for_message(self, timeout: float = 10.0, **filters: Any) -> MessageView:
        async def found() -> MessageView | None:
            rows = await self.messages(**filters)
            return rows[-1] if rows else None

        return await wait_for(found, timeout, message=f"a message with {filters}")

    async def wait_for_status(self, message_id: int, *statuses: str, timeout: float = 15.0) -> MessageView:
        async def reached() -> MessageView | None:
            (view,) = await self.messages(id=message_id)
            return view if view.status in statuses else None

        return await wait_for(reached, timeout, message=f"message {message_id} to reach {statuses}")

    async def settle(self, timeout: float = 20.0) -> None:
        """Wait until no reply is queued or being sent."""
        async def idle() -> bool:
            return not await models.Message.filter(
                status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENDING], private=False, direction="outbound"
            ).exists()

        await wait_for(idle, timeout, message="all replies to be delivered or failed")


def build_settings(backends: TestBackends, config: Mapping[str, Any] | None = None) -> Settings:
    values: dict[str, Any] = {
        "data_dir": backends.data_dir,
        "database": {"url": backends.database_url, "migrate_on_start": False},
        "redis": {"url": backends.redis_url, "namespace": backends.namespace()},
        "delivery": {"backoff_base": 0.2, "backoff_max": 2.0, "sweep_interval": 2.0, "stuck_after": 10.0},
        "tickets": {"snooze_check_interval": 0.5},
        "server": {"graceful_timeout": 3.0},
    }
    for key, value in (config or {}).items():
        if isinstance(value, Mapping) and isinstance(values.get(key), dict):
            values[key] = {**values[key], **value}
        else:
            values[key] = value
    return Settings.model_validate(values)


@contextlib.asynccontextmanager
async def run_nexus(
    backends: TestBackends,
    config: Mapping[str, Any] | None = None,
    *,
    plugins: Mapping[str, Any] | None = None,
    options: Options = Options(),
    environ: Mapping[str, str] | None = None,
    public_url: bool = False,
) -> AsyncIterator[RunningNexus]:
    """Serve Nexus on a free loopback port until the block ends.

    :param config: settings as nested dicts (``{"channels": {"chat": {"type": "example", ...}}}``),
        laid over test defaults (fast retries, a fresh Redis namespace, a temporary ``data_dir``).
    :param plugins: extra plugin objects by name, registered as if installed.
    :param environ: environment variables visible to env shortcuts (``TELEGRAM_BOT_TOKEN``).
    :param public_url: set ``server.public_url`` to this server's own address (its port is
        chosen before start), so that channels' ``host.webhook_url`` is a callback URL a fake
        provider can really call.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if public_url:
        config = {**(config or {}), "server": {**dict((config or {}).get("server", {})), "public_url": url}}
    settings = build_settings(backends, config)
    raw = RawConfig(environ=dict(environ or {}), env_sources={k: f"environment variable {k}" for k in environ or {}})
    setup = prepare(LoadedSettings(settings, raw), extra_plugins=plugins)
    app = create_app(setup, options=options)
    hconfig = Config()
    hconfig.bind = [f"127.0.0.1:{port}"]
    hconfig.graceful_timeout = 5
    hconfig.accesslog = None
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app.asgi, hconfig, shutdown_trigger=stop.wait))  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as http:
        try:
            async def ready() -> bool:
                if server.done():
                    server.result()  # start-up failed: raise its error here
                try:
                    async with http.get(url + "/healthz") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return False

            await wait_for(ready, timeout=30, message="the server to start")
            yield RunningNexus(url, app.extensions["nexus"], http)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(server, 30)
