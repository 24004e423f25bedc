"""From configuration to channel instances: validate each ``[channels.<name>]`` table through its
plugin's schema, apply environment shortcuts, and decide which plugins are enabled."""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr, ValidationError

from nexus.channel import Channel, ChannelConfig, RateLimit
from nexus.config import ConfigError, ConfigErrors, LoadedSettings, RawConfig, Settings
from nexus.plugins import PluginRegistry, discover_plugins

CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: Keys of a channel table that belong to the host, not to the plugin's schema.
HOST_KEYS = ("type", "enabled", "team", "rate_per_second", "rate_per_recipient_per_second")


@dataclass(frozen=True)
class ChannelSpec:
    """One configured channel instance, validated."""

    name: str
    type_name: str
    plugin: str | None
    cls: type[Channel] | None
    config: ChannelConfig | None
    enabled: bool = True
    team: str | None = None
    """The team that new tickets of this channel go to (by name)."""
    rate_limit: RateLimit | None = None
    """The operator's pacing for this instance, overriding the channel type's default."""
    problem: str | None = None
    """Why the instance cannot run although its configuration is fine (plugin failed or
    blocked). Shown as the channel's state; other channels run."""


@dataclass
class Setup:
    """Everything start-up needs: settings, the loaded plugins and the channel instances."""

    settings: Settings
    raw: RawConfig
    registry: PluginRegistry
    channels: dict[str, ChannelSpec]
    warnings: list[str] = field(default_factory=list)


def prepare(loaded: LoadedSettings, extra_plugins: Mapping[str, Any] | None = None) -> Setup:
    """Load plugins and validate the channel instances. Raises :class:`ConfigErrors` with every
    problem found."""
    settings, raw = loaded.settings, loaded.raw
    registry = discover_plugins(blocked=settings.plugins.blocked, extra=extra_plugins)
    errors: list[ConfigError] = []
    warnings: list[str] = []

    for key in ("enabled", "blocked"):
        for name in getattr(settings.plugins, key):
            if name not in registry.plugins:
                installed = ", ".join(sorted(registry.plugins)) or "none"
                errors.append(ConfigError(
                    f"plugins.{key}", f"unknown plugin {name!r} (installed: {installed})",
                    raw.source_of(f"plugins.{key}"),
                ))

    tables = {name: dict(table) for name, table in settings.channels.items()}
    sources = {name: raw.source_of(f"channels.{name}") for name in tables}
    _apply_env_shortcuts(registry, raw, tables, sources, warnings)

    channels: dict[str, ChannelSpec] = {}
    for name, table in sorted(tables.items()):
        spec = _channel_spec(name, table, registry, settings, raw, errors)
        if spec is not None:
            channels[name] = spec

    if errors:
        raise ConfigErrors(errors)

    # Plugins handed over in code (tests, embedding) are enabled by being handed over.
    active = set(settings.plugins.enabled) | set(extra_plugins or ())
    active.update(spec.plugin for spec in channels.values() if spec.plugin and spec.problem is None)
    registry.activate(active)
    return Setup(settings, raw, registry, channels, warnings)


def _apply_env_shortcuts(
    registry: PluginRegistry,
    raw: RawConfig,
    tables: dict[str, dict[str, Any]],
    sources: dict[str, str | None],
    warnings: list[str],
) -> None:
    """``TELEGRAM_BOT_TOKEN=...`` alone runs one bot: fill or create the single instance."""
    for type_name, ctype in sorted(registry.channel_types.items()):
        shortcuts = {env: key for env, key in ctype.cls.env_shortcuts.items() if raw.environ.get(env)}
        if not shortcuts:
            continue
        instances = [name for name, table in tables.items() if table.get("type") == type_name]
        if len(instances) > 1:
            warnings.append(
                f"{', '.join(sorted(shortcuts))} ignored: there are {len(instances)} {type_name} "
                f"channels ({', '.join(sorted(instances))}); set each one's key instead"
            )
            continue
        if instances:
            name = instances[0]
        else:
            name = type_name
            if name in tables:
                warnings.append(f"{', '.join(sorted(shortcuts))} ignored: channel {name!r} has another type")
                continue
            tables[name] = {"type": type_name}
            sources[name] = raw.env_sources[next(iter(shortcuts))]
            raw.sources[f"channels.{name}"] = sources[name]
        for env, key in shortcuts.items():
            if key not in tables[name]:
                tables[name][key] = raw.environ[env]
                raw.sources[f"channels.{name}.{key}"] = raw.env_sources[env]


def _channel_spec(
    name: str,
    table: dict[str, Any],
    registry: PluginRegistry,
    settings: Settings,
    raw: RawConfig,
    errors: list[ConfigError],
) -> ChannelSpec | None:
    prefix = f"channels.{name}"
    if not CHANNEL_NAME.match(name):
        errors.append(ConfigError(
            prefix, "a channel name uses a-z, 0-9 and _ and starts with a letter", raw.source_of(prefix)
        ))
        return None
    type_name = table.pop("type", None)
    enabled = table.pop("enabled", True)
    team = table.pop("team", None)
    if team is not None and not isinstance(team, str):
        errors.append(ConfigError(f"{prefix}.team", "must be a team's name", raw.source_of(f"{prefix}.team")))
        return None
    rates = {}
    for key in ("rate_per_second", "rate_per_recipient_per_second"):
        if key in table:
            value = table.pop(key)
            try:
                rates[key] = float(value)
                if rates[key] < 0:
                    raise ValueError
            except (TypeError, ValueError):
                errors.append(ConfigError(f"{prefix}.{key}", f"must be a number of sends per second (0 for no limit), got {value!r}",
                                          raw.source_of(f"{prefix}.{key}")))
                return None
    if isinstance(enabled, str):
        enabled = enabled.strip().lower() in ("1", "true", "yes", "on")
    if not type_name:
        errors.append(ConfigError(f"{prefix}.type", "is required (the channel type, such as 'telegram')", raw.source_of(prefix)))
        return None
    ctype = registry.channel_types.get(type_name)
    if ctype is None:
        owner = registry.plugins.get(type_name)
        if owner and owner.state == "blocked":
            return ChannelSpec(name, type_name, owner.name, None, None, bool(enabled), team, None,
                               problem=f"plugin {owner.name!r} is blocked (plugins.blocked)")
        failed = registry.failed
        if failed:
            reasons = "; ".join(f"plugin {p!r} {info.error}" for p, info in sorted(failed.items()))
            return ChannelSpec(name, type_name, None, None, None, bool(enabled), team, None,
                               problem=f"channel type {type_name!r} is unavailable: {reasons}")
        known = ", ".join(sorted(registry.channel_types)) or "none installed"
        errors.append(ConfigError(
            f"{prefix}.type", f"unknown channel type {type_name!r}: no installed plugin provides it (available: {known}); "
                              "install its plugin's package, or reinstall it if it was removed (`nexus plugins list`)",
            raw.source_of(f"{prefix}.type"),
        ))
        return None

    try:
        config = ctype.cls.Config.model_validate(table)
    except ValidationError as exc:
        for error in exc.errors():
            key = ".".join([prefix, *map(str, error["loc"])])
            errors.append(_channel_error(ctype.cls, key, error, raw))
        return None
    rate_limit = None
    if rates:
        default = ctype.cls.rate_limit
        per_second = rates.get("rate_per_second", default.per_second or 0.0)
        per_recipient = rates.get("rate_per_recipient_per_second", default.per_recipient_per_second or 0.0)
        rate_limit = RateLimit(per_second or None, per_recipient or None)
    return ChannelSpec(name, type_name, ctype.plugin, ctype.cls, config, bool(enabled), team, rate_limit)


def _channel_error(cls: type[Channel], key: str, error: Mapping[str, Any], raw: RawConfig) -> ConfigError:
    field_name = key.split(".")[2] if key.count(".") >= 2 else ""
    if error["type"] == "missing" and _is_secret(cls.Config, field_name):
        env = "NEXUS_" + "__".join(part.upper() for part in key.split("."))
        shortcut = [e for e, k in cls.env_shortcuts.items() if k == field_name]
        also = f" (or {shortcut[0]} when there is one {cls.type_name} channel)" if shortcut else ""
        return ConfigError(key, f"required secret is missing: set {env}{also}")
    if error["type"] == "extra_forbidden":
        return ConfigError(key, "unknown setting", raw.source_of(key))
    if error["type"] == "missing":
        return ConfigError(key, "is required", raw.source_of(key.rpartition(".")[0]))
    message = str(error["ctx"]["error"]) if error["type"] == "value_error" and "ctx" in error else error["msg"]
    return ConfigError(key, message[0].lower() + message[1:], raw.source_of(key))


def _is_secret(model: type[ChannelConfig], field_name: str) -> bool:
    info = model.model_fields.get(field_name)
    if info is None:
        return False
    annotation = info.annotation
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)
