"""The host's settings schema. Every key here is documented in ``config/nexus.toml`` and the
README; ``tests/test_docs.py`` keeps the three in step."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Any) -> float:
    """Seconds, from a number or a string such as ``"90s"``, ``"15m"``, ``"12h"`` or ``"7d"``."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 30, '15m', '12h' or '7d'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"must be a duration such as 30, '15m', '12h' or '7d', not {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds < 0:
        raise ValueError("must not be negative")
    return seconds


def split_list(value: Any) -> Any:
    """Lists may come from the environment as comma-separated text."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]
NameList = Annotated[list[str], BeforeValidator(split_list)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    worker_class: Literal["asyncio", "uvloop"] = "asyncio"
    public_url: str | None = None
    #: Reverse proxies (addresses or networks, ``*`` for any) whose ``X-Forwarded-Proto``,
    #: ``X-Forwarded-Host`` and ``X-Forwarded-For`` headers are believed; others' are ignored.
    trusted_proxies: NameList = []
    cors_origins: NameList = []
    graceful_timeout: Duration = 10.0
    #: When set, ``/metrics`` and ``/readyz`` need ``Authorization: Bearer <monitoring_token>``.
    monitoring_token: SecretStr | None = None
    #: When set, only clients in these networks (CIDR) may call ``/metrics`` and ``/readyz``.
    monitoring_networks: NameList = []
    #: How often each API process samples its event loop's lag for ``/metrics`` (0: never).
    loop_lag_interval: Duration = Field(0.1, ge=0)

    @field_validator("monitoring_networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not a network such as 10.0.0.0/8 or 127.0.0.1") from None
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(
                        f"{entry!r} is not an IP address or network such as 10.0.0.0/8 (or * for any)"
                    ) from None
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"malformed URL {value!r}: expected https://host[:port][/path]")
        return value.rstrip("/")


class DatabaseSettings(Section):
    url: str | None = None
    migrate_on_start: bool = True

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme == "sqlite":
            if not (parts.netloc + parts.path):
                raise ValueError(f"malformed URL {mask_url(value)!r}: expected sqlite:///path/to/file.sqlite3")
            return value
        if parts.scheme in ("postgres", "postgresql", "asyncpg"):
            if not parts.hostname or not parts.path.strip("/"):
                raise ValueError(
                    f"malformed URL {mask_url(value)!r}: expected postgres://user:password@host:5432/database"
                )
            try:
                parts.port  # noqa: B018 - raises on a bad port
            except ValueError:
                raise ValueError(f"malformed URL {mask_url(value)!r}: the port is not a number") from None
            return value
        raise ValueError(
            f"malformed URL {mask_url(value)!r}: the scheme must be sqlite or postgres, not {parts.scheme or 'missing'!r}"
        )

    @property
    def dialect(self) -> str:
        return "sqlite" if not self.url or self.url.startswith("sqlite") else "postgres"


class RedisSettings(Section):
    url: str | None = None
    #: Prefix of every key and channel Nexus uses, so that several installations (or test
    #: runs) can share one Redis.
    namespace: str = Field("nexus", pattern=r"^[A-Za-z0-9_.-]{1,40}$")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError(
                f"malformed URL {mask_url(value)!r}: the scheme must be redis, rediss or unix, not {parts.scheme or 'missing'!r}"
            )
        if parts.scheme != "unix" and not parts.hostname:
            raise ValueError(f"malformed URL {mask_url(value)!r}: expected redis://host:6379/0")
        try:
            parts.port  # noqa: B018
        except ValueError:
            raise ValueError(f"malformed URL {mask_url(value)!r}: the port is not a number") from None
        return value


class StorageSettings(Section):
    backend: Literal["local"] = "local"
    path: Path | None = None
    max_attachment_size: int = Field(50 * 1024 * 1024, ge=1)


class PluginSettings(Section):
    enabled: NameList = []
    blocked: NameList = []


class TicketSettings(Section):
    reopen_window: Duration = 7 * 86400.0
    snooze_check_interval: Duration = 30.0


class DeliverySettings(Section):
    max_attempts: int = Field(10, ge=1, le=100)
    backoff_base: Duration = 2.0
    backoff_max: Duration = 900.0
    concurrency: int = Field(10, ge=1, le=1000)
    sweep_interval: Duration = 30.0
    stuck_after: Duration = 120.0
    #: A send's claim is valid this long without a heartbeat from its worker (it renews it
    #: three times a lease); then the sweep queues the reply again.
    lease: Duration = Field(10.0, gt=0)
    #: A paced send waits in its job up to this long for its slot; a longer wait (a provider's
    #: pause, a backlog) puts it back in the queue until its turn is near, without a slot. At
    #: least the dispatcher's round (1 s), so that the sends in reach keep the channel busy.
    max_inline_wait: Annotated[float, BeforeValidator(parse_duration), Field(ge=1.0)] = 5.0
    #: Automatic replies (from plugins) one address may get per hour, on any channel; the
    #: rest fail with a reason. Mail loops between two autoresponders stop here.
    auto_reply_limit: int = Field(5, ge=0)


class InboxSettings(Section):
    #: A payload's processing claim is valid this long without a heartbeat from its processor
    #: (it renews it three times a lease); then any process's sweep takes the payload back.
    lease: Duration = Field(30.0, gt=0)
    #: Where stored payloads are processed. ``auto``: on ``nexus worker`` processes while at
    #: least one runs (API processes then only store and acknowledge), otherwise in the API
    #: process that stored them; ``api``: in the process that stored them (workers help only
    #: with what overflows); ``workers``: only on workers (needs Redis; payloads wait while no
    #: worker runs).
    process_on: Literal["auto", "api", "workers"] = "auto"
    #: Payloads stored in one commit at most (a grouped commit of concurrent webhooks).
    commit_batch: int = Field(64, ge=1, le=500)
    #: How long a commit waits for more payloads to join it; 0: none, a commit takes what
    #: arrived while the previous one was under way.
    commit_wait: Annotated[float, BeforeValidator(parse_duration), Field(ge=0.0, le=0.05)] = 0.0


class SearchSettings(Section):
    #: The text search configuration (stemming, stop words): PostgreSQL's ``simple``,
    #: ``english``, ``german``, ... (``SELECT cfgname FROM pg_ts_config``). On SQLite,
    #: ``english`` stems and any other language does not. Changing it re-indexes at start.
    language: str = Field("simple", pattern=r"^[a-z][a-z0-9_]{0,62}$")


class AuthSettings(Section):
    token_ttl: Duration = 30 * 86400.0
    #: Failed logins one account may have within ``login_window`` (0: no limit).
    login_failures_per_account: int = Field(10, ge=0)
    #: Failed logins one client address may have within ``login_window`` (0: no limit).
    login_failures_per_address: int = Field(50, ge=0)
    login_window: Duration = 900.0
    #: How often each API process checks that its sockets' tokens still work (revocations
    #: made outside the API, such as ``nexus agents set-password``, and missed notices).
    socket_recheck_interval: Duration = 60.0


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class Settings(Section):
    """All host settings. Channel instances stay raw here; they are validated through their
    plugin's schema once the plugins are loaded (see :mod:`nexus.channels`)."""

    data_dir: Path = Path("data")
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    storage: StorageSettings = StorageSettings()
    plugins: PluginSettings = PluginSettings()
    tickets: TicketSettings = TicketSettings()
    delivery: DeliverySettings = DeliverySettings()
    inbox: InboxSettings = InboxSettings()
    search: SearchSettings = SearchSettings()
    auth: AuthSettings = AuthSettings()
    logging: LoggingSettings = LoggingSettings()
    channels: dict[str, dict[str, Any]] = {}

    @property
    def database_url(self) -> str:
        """The configured URL, or the embedded SQLite file in ``data_dir``."""
        return self.database.url or f"sqlite://{(self.data_dir / 'nexus.sqlite3').resolve()}"

    @property
    def storage_path(self) -> Path:
        return self.storage.path or self.data_dir / "attachments"

    @property
    def embedded_redis(self) -> bool:
        return not self.redis.url

    def redis_key(self, *parts: object) -> str:
        """A Redis key (or pub/sub channel) in this installation's namespace."""
        return ":".join([self.redis.namespace, *map(str, parts)])


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
