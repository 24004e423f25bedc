"""Load settings from a TOML file, a ``.env`` file and the environment, in that order of
precedence (the environment wins), remembering where each value came from so that an error
can name the key *and* the place to fix it."""

from __future__ import annotations

import difflib
import logging
import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import ValidationError

from nexus.config.settings import Section, Settings

logger = logging.getLogger("nexus.config")

ENV_PREFIX = "NEXUS_"
#: Environment variables that steer loading itself rather than name a setting.
RESERVED_ENV = frozenset({"NEXUS_CONFIG", "NEXUS_ENV_FILE", "NEXUS_SERVE_OPTIONS"})
#: Prefixes of variables that belong to tools around Nexus, not to its settings.
IGNORED_ENV_PREFIXES = ("NEXUS_TEST_",)
#: The names of Nexus's classic ``.env.example``, and the setting each one fills.
CLASSIC_ENV = {
    "PORT": "server.port",
    "DATABASE_URL": "database.url",
    "REDIS_URL": "redis.url",
}
DEFAULT_CONFIG_FILES = ("nexus.toml",)
#: ``NEXUS_*`` names without ``__`` that were ignored and logged, so each is logged once.
_LOGGED_IGNORED: set[str] = set()


def setting_keys(model: type[Section] = Settings, prefix: str = "") -> Iterator[str]:
    """Every dotted key of the settings schema, sections included (``server``,
    ``server.port``, ...). Channel tables are the plugins' and not listed."""
    for name, info in model.model_fields.items():
        dotted = f"{prefix}{name}"
        yield dotted
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, Section):
            yield from setting_keys(annotation, dotted + ".")


def _top_level_settings() -> frozenset[str]:
    """Settings outside any section (``data_dir``): the one kind ``NEXUS_<KEY>`` can name."""
    return frozenset(
        name for name, info in Settings.model_fields.items()
        if name != "channels" and not (isinstance(info.annotation, type) and issubclass(info.annotation, Section))
    )


def suggestion(dotted: str) -> str | None:
    """The setting closest to a misspelled ``dotted`` key, if one is close enough."""
    candidates = [key for key in setting_keys() if key.count(".") == dotted.count(".")]
    found = difflib.get_close_matches(dotted, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


class ConfigError(Exception):
    """One problem with the configuration, worded for an operator."""

    def __init__(self, key: str, problem: str, source: str | None = None) -> None:
        self.key = key
        self.problem = problem
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" (from {self.source})" if self.source else ""
        return f"{self.key}: {self.problem}{where}"


class ConfigErrors(Exception):
    """All the problems found at once, so an operator fixes them in one go."""

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))

    def lines(self) -> list[str]:
        return [f"config error: {error}" for error in self.errors]


@dataclass
class RawConfig:
    """Merged, not yet validated values, with where each one came from."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)
    env_sources: dict[str, str] = field(default_factory=dict)
    config_path: Path | None = None
    #: ``NEXUS_*`` variables that name no setting (no ``__``), such as the ``NEXUS_PORT`` and
    #: ``NEXUS_SERVICE_HOST`` that Kubernetes injects for a Service named ``nexus``.
    ignored_env: list[str] = field(default_factory=list)

    def put(self, dotted: str, value: Any, source: str) -> None:
        node = self.values
        *parents, last = dotted.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[last] = value
        self.sources[dotted] = source

    def source_of(self, dotted: str) -> str | None:
        """Where a key (or its closest configured parent) was set."""
        key = dotted
        while key:
            if key in self.sources:
                return self.sources[key]
            key = key.rpartition(".")[0]
        # A table (``[servr]``) is known by the keys set inside it.
        return next((source for key, source in self.sources.items() if key.startswith(dotted + ".")), None)


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    raw: RawConfig


def find_config_file(explicit: str | Path | None, environ: Mapping[str, str]) -> Path | None:
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigErrors([ConfigError("config", f"file not found: {path}", "--config")])
        return path
    if environ.get("NEXUS_CONFIG"):
        path = Path(environ["NEXUS_CONFIG"])
        if not path.is_file():
            raise ConfigErrors([ConfigError("config", f"file not found: {path}", "environment variable NEXUS_CONFIG")])
        return path
    for name in DEFAULT_CONFIG_FILES:
        if Path(name).is_file():
            return Path(name)
    return None


def read_toml(path: Path, raw: RawConfig) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigErrors([ConfigError("config", f"invalid TOML: {exc}", str(path))]) from None
    except OSError as exc:
        raise ConfigErrors([ConfigError("config", f"cannot read the file: {exc.strerror}", str(path))]) from None

    def walk(prefix: str, node: Mapping[str, Any]) -> None:
        for key, value in node.items():
            dotted = f"{prefix}.{key}" if prefix else key
            # Channel instances and sections are tables; everything else is a leaf value.
            if isinstance(value, dict) and (not prefix or prefix == "channels"):
                walk(dotted, value)
                if not value:
                    raw.put(dotted, {}, str(path))
            else:
                raw.put(dotted, value, str(path))

    walk("", data)


def read_environment(environ: Mapping[str, str], env_file: Mapping[str, str], raw: RawConfig) -> None:
    """Apply ``NEXUS_SECTION__KEY`` variables and the classic names."""
    merged: dict[str, str] = {}
    origin: dict[str, str] = {}
    for name, value in env_file.items():
        if value is not None:
            merged[name] = value
            origin[name] = f".env: {name}"
    for name, value in environ.items():
        merged[name] = value
        origin[name] = f"environment variable {name}"
    raw.environ = merged
    raw.env_sources = origin

    # Classic names first, so that the more specific NEXUS_* names override them.
    if not merged.get("REDIS_URL") and (merged.get("REDIS_HOST") or merged.get("REDIS_PORT")):
        host = merged.get("REDIS_HOST") or "127.0.0.1"
        port = merged.get("REDIS_PORT") or "6379"
        source = "environment variables REDIS_HOST/REDIS_PORT"
        if not port.isdigit():
            raise ConfigErrors([ConfigError("redis.url", f"REDIS_PORT must be a number, not {port!r}", origin.get("REDIS_PORT"))])
        password = merged.get("REDIS_PASSWORD")
        auth = f":{password}@" if password else ""
        raw.put("redis.url", f"redis://{auth}{host}:{port}/{merged.get('REDIS_DB', '0')}", source)
    for name, dotted in CLASSIC_ENV.items():
        if merged.get(name):
            raw.put(dotted, merged[name], origin[name])

    top_level = _top_level_settings()
    for name in sorted(merged):
        if not name.startswith(ENV_PREFIX) or name in RESERVED_ENV:
            continue
        if name.startswith(IGNORED_ENV_PREFIXES):
            continue
        rest = name[len(ENV_PREFIX):]
        if "__" not in rest and rest.lower() not in top_level:
            # Not NEXUS_<SECTION>__<KEY>: someone else's variable (Kubernetes injects
            # NEXUS_PORT=tcp://... for a Service named "nexus"), not a setting.
            raw.ignored_env.append(name)
            if name not in _LOGGED_IGNORED:
                _LOGGED_IGNORED.add(name)
                logger.debug("ignoring %s: not a setting (settings are NEXUS_<SECTION>__<KEY>)", origin[name])
            continue
        dotted = ".".join(part.lower() for part in rest.split("__"))
        raw.put(dotted, merged[name], origin[name])


def load_settings(
    config_path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    env_file: str | Path | None = None,
) -> LoadedSettings:
    """Read and validate the host's settings. Raises :class:`ConfigErrors`."""
    environ = dict(os.environ if environ is None else environ)
    raw = RawConfig()
    raw.config_path = find_config_file(config_path, environ)
    if raw.config_path:
        read_toml(raw.config_path, raw)

    dotenv_path = Path(env_file or environ.get("NEXUS_ENV_FILE") or ".env")
    if env_file is not None and not dotenv_path.is_file():
        raise ConfigErrors([ConfigError("env_file", f"file not found: {dotenv_path}")])
    env_values = dotenv_values(dotenv_path) if dotenv_path.is_file() else {}
    read_environment(environ, {k: v for k, v in env_values.items() if v is not None}, raw)

    try:
        settings = Settings.model_validate(raw.values)
    except ValidationError as exc:
        raise ConfigErrors(errors_from_validation(exc, raw)) from None
    return LoadedSettings(settings, raw)


def errors_from_validation(exc: ValidationError, raw: RawConfig, prefix: str = "") -> list[ConfigError]:
    """Turn pydantic's errors into one operator-friendly line per problem."""
    errors = []
    for error in exc.errors():
        dotted = ".".join(str(part) for part in (prefix.split(".") if prefix else []) + list(error["loc"]))
        kind = error["type"]
        if kind == "extra_forbidden":
            problem = "unknown setting"
            closest = suggestion(dotted)
            if closest:
                problem += f"; did you mean {closest}?"
        elif kind == "missing":
            problem = "is required"
        elif kind == "value_error":
            problem = str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
        else:
            given = error.get("input")
            problem = error["msg"][0].lower() + error["msg"][1:]
            if isinstance(given, (str, int, float, bool)) and kind not in ("literal_error",):
                problem = f"{problem}, got {given!r}"
            elif kind == "literal_error":
                problem = f"{problem}, got {given!r}"
        errors.append(ConfigError(dotted, problem, raw.source_of(dotted)))
    return errors
